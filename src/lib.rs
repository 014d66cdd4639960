//! trustc: a governance-driven issuer configuration compiler for digital credentials.
//!
//! Governance frameworks (`governance/*.yaml`) and Aries OCA bundles (`oca-bundles/**`) are the
//! single source of truth for who may issue which credential, what it contains, how it looks in a
//! wallet and how it is issued. trustc reads them exactly and reports every problem like a
//! compiler, with file, line, column and a fix.
//!
//! # Steps
//! 1. [`discover`]: which files of a folder are read.
//! 2. [`source`] and [`syntax`]: load each file safely and parse it (YAML or JSON) into a tree that
//!    keeps the byte range of every key and value.
//! 3. [`schema`]: validate each tree against its embedded JSON Schema.
//! 4. [`governance::model`] and [`oca`]: read typed models, with spans, from the valid trees.
//! 5. [`governance::check`] and [`oca::check`]: resolve references across files and run the
//!    semantic checks.
//! 6. [`diag`] and [`report`]: render the diagnostics for people, CI tools or GitHub, and print
//!    them.
//!
//! [`check::check`] runs steps 1 to 5. [`build::build`] continues when they found no error:
//! 7. [`build::resolve`]: the checked governance and its OCA bundles become the compiled issuer
//!    configuration (the `trustc-artifact` types) and a view of each credential's OCA bundle.
//! 8. [`build::templates`] and [`build::oca`]: render every output from its handlebars template and
//!    give generated bundles their digests.
//! 9. [`build::emit`]: write the output folder in one step.
//!
//! [`import`] goes the other way: an OCA bundle becomes governance YAML.
//!
//! [`formats`] holds the value formats (language tags, identifiers, durations, colours) that the
//! checks, the build and the import share. [`cli`] is the `trustc` command and `serve` (with the
//! `serve` feature) runs the issuer; both exit with the statuses of [`exit`]. The dependencies
//! run one way: `cli` uses `serve`, `serve` uses the modules above, and no module uses `cli`.

pub mod build;
pub mod check;
pub mod cli;
pub mod confine;
pub mod diag;
pub mod discover;
pub mod exit;
pub mod formats;
/// Entry points of the fuzz targets (`fuzz/`, docs/fuzzing.md); not an API.
#[doc(hidden)]
pub mod fuzzing;
pub mod governance;
pub mod images;
pub mod import;
pub mod oca;
pub mod report;
pub mod schema;
#[cfg(feature = "serve")]
pub mod serve;
pub mod source;
pub mod syntax;
