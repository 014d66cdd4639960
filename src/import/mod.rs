//! `trustc import oca FILE`: an Aries OCA 1.0 bundle as a governance file.
//!
//! Issuers who adopt trustc usually have bundles already (bcgov's aries-oca-bundles holds dozens).
//! Writing the governance for them by hand means retyping every label, text and colour, and
//! getting one wrong changes what wallets show. This module reads a bundle with the same loader,
//! schema and model `trustc check` uses and writes the governance from which `trustc build`
//! generates an equivalent bundle: the same attributes and types, personal-information flags,
//! labels, attribute information, meta texts, branding, formats, standards and character
//! encodings, with digests the build computes.
//!
//! A bundle says nothing about governance (who governs the credential, the issuer's identifiers,
//! how it is issued), so those parts are plain defaults for the user to review: one framework, one
//! participant (the issuer) and one AnonCreds credential whose attributes all come with the offer.
//! Where the governance model cannot say what the bundle says (an `issuer_url` that differs per
//! language, text given in only some languages, colours that are not `#RRGGBB`), the file says in
//! a comment what was done, and [`Imported::notes`] repeats it for the terminal.
//!
//! The import has four parts: `bundle` reads the OCA side (the bundle, its texts per language,
//! the index that lists it, ids from its folders, where its images lie), `governance` maps the
//! bundle onto the governance, `localized` holds a text in each of the framework's locales, and
//! `yaml` writes the governance file. This module checks the options and runs them.

mod bundle;
mod governance;
mod localized;
mod yaml;

use std::path::{Path, PathBuf};

use crate::check::Report;
use crate::confine::normalize;
use crate::oca;
use crate::source::slash_path;

use bundle::{Places, find_index, languages, read};
pub use bundle::{default_ids, is_id, slug};
use governance::Importer;
pub use yaml::yaml_scalar;

/// What `trustc import oca` was asked for.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// The framework id (default: from the bundle's folders).
    pub framework: Option<String>,
    /// The credential id (default: from the bundle's folder).
    pub credential: Option<String>,
    /// Where the governance file will be written; `None` for standard output, which is taken to
    /// be saved in `governance/` of the current folder (image paths are written for that place).
    pub out: Option<PathBuf>,
}

/// Why nothing was imported.
#[derive(Debug)]
pub enum ImportError {
    /// trustc could not run: the file cannot be read, or an option is wrong (exit status 2).
    Run(String),
    /// The file is not a bundle trustc can read; the diagnostics say why (exit status 1).
    Invalid(Report),
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImportError::Run(message) => f.write_str(message),
            ImportError::Invalid(report) => write!(
                f,
                "the bundle cannot be imported ({} errors)",
                report.summary.errors
            ),
        }
    }
}

impl std::error::Error for ImportError {}

/// An imported bundle.
#[derive(Debug)]
pub struct Imported {
    /// The governance file.
    pub yaml: String,
    /// Local images to copy next to the governance file (with `--out`): from, to.
    pub copies: Vec<(PathBuf, PathBuf)>,
    /// What the user should know about the import, one sentence each.
    pub notes: Vec<String>,
}

/// Reads the bundle at `path` and writes its governance.
pub fn import_oca(path: &Path, options: &ImportOptions) -> Result<Imported, ImportError> {
    for (what, id) in [
        ("--framework", &options.framework),
        ("--credential", &options.credential),
    ] {
        if let Some(id) = id
            && !is_id(id)
        {
            return Err(ImportError::Run(format!(
                "{what} `{id}` is not an id: use lowercase letters, digits and `-`, starting with a letter (for example `lawyer`)"
            )));
        }
    }
    let cwd = std::env::current_dir()
        .map_err(|e| ImportError::Run(format!("cannot read the current folder: {e}")))?;
    let absolute = normalize(&cwd.join(path));
    match std::fs::metadata(&absolute) {
        Err(e) => {
            return Err(ImportError::Run(format!(
                "cannot read `{}`: {e}",
                path.display()
            )));
        }
        Ok(meta) if meta.is_dir() => {
            let hint = if absolute.join(oca::BUNDLE_FILE_NAME).is_file() {
                format!(
                    "; give the bundle file, `{}`",
                    path.join(oca::BUNDLE_FILE_NAME).display()
                )
            } else {
                String::new()
            };
            return Err(ImportError::Run(format!(
                "cannot import `{}`: it is a folder, not an OCA bundle file{hint}",
                path.display()
            )));
        }
        Ok(_) => {}
    }
    let (bundle, node) = read(&cwd, &absolute)?;
    let ids = match (&options.framework, &options.credential) {
        (Some(f), Some(c)) => (f.clone(), c.clone()),
        _ => {
            let (framework, credential) = default_ids(&absolute);
            (
                options.framework.clone().unwrap_or(framework),
                options.credential.clone().unwrap_or(credential),
            )
        }
    };
    let places = Places::new(&cwd, options.out.as_deref());
    let importer = Importer {
        bundle: &bundle,
        node: &node,
        source: if path.is_absolute() {
            path.to_string_lossy().into_owned()
        } else {
            slash_path(path)
        },
        bundle_dir: absolute.parent().unwrap_or(&cwd).to_path_buf(),
        framework_id: ids.0,
        credential_id: ids.1,
        locales: languages(&bundle),
        places,
        cwd: cwd.clone(),
        index: find_index(&absolute, &cwd),
    };
    Ok(importer.run())
}

/// Writes an import to `out`: the governance file and the images it names that must be copied.
pub fn write(imported: &Imported, out: &Path) -> Result<(), String> {
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(parent) = parent {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create `{}`: {e}", parent.display()))?;
    }
    for (from, to) in &imported.copies {
        let bytes =
            std::fs::read(from).map_err(|e| format!("cannot read `{}`: {e}", from.display()))?;
        match std::fs::read(to) {
            Ok(existing) if existing == bytes => continue,
            Ok(_) => {
                return Err(format!(
                    "`{}` exists and is another image; move it away or import with another --credential",
                    to.display()
                ));
            }
            Err(_) => {}
        }
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
        }
        std::fs::write(to, &bytes).map_err(|e| format!("cannot write `{}`: {e}", to.display()))?;
    }
    std::fs::write(out, &imported.yaml)
        .map_err(|e| format!("cannot write `{}`: {e}", out.display()))
}
