//! The command line: `trustc check`, `trustc build`, `trustc import`, `trustc explain`,
//! `trustc schema`.
//!
//! Raw flags (clap) are turned into settings here and nowhere else. Exit statuses
//! ([`crate::exit`]) are a contract with CI: 0 no errors (warnings allowed unless
//! `--deny-warnings`), 1 the input has errors, 2 trustc could not run (bad arguments, unreadable
//! folder). The report is printed by [`crate::report`], which `trustc serve` uses too.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::build::{BuildOptions, Profile, build, emit};
use crate::check::{CheckOptions, Report, check};
use crate::diag::{Code, Severity, SeverityOverrides};
use crate::exit::{EXIT_ERROR, EXIT_FAILED, EXIT_OK, fail};
use crate::formats::check_issuer_url;
use crate::report::{self, ColorChoice, OutputFormat, write_stderr, write_stdout};

#[derive(Debug, Parser)]
#[command(
    name = "trustc",
    version,
    about = "Governance-driven issuer configuration compiler for digital credentials",
    long_about = "trustc reads governance frameworks (governance/*.yaml) and Aries OCA bundles \
                  (oca-bundles/**) and reports every problem with file, line and column."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a governance repository, or any folder of OCA bundles.
    Check(CheckArgs),
    /// Check a governance repository and generate issuer configuration, wallet branding, schemas,
    /// trust lists and docs from it.
    Build(BuildArgs),
    /// Write governance from something that exists already.
    Import {
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// Explain a diagnostic code, with an example and the fix (no code: list all codes).
    Explain {
        /// The code, as printed in diagnostics (for example `digest-mismatch`).
        code: Option<String>,
    },
    /// Print a JSON Schema: of governance files (for editors running yaml-language-server), or of
    /// the compiled issuer configuration.
    Schema {
        /// Which schema.
        #[arg(value_enum, default_value_t = SchemaKind::Governance)]
        kind: SchemaKind,
        /// Write the schema to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Run the OpenID4VCI issuer: compile the governance (or load `--config DIR`) and issue
    /// exactly the SD-JWT VCs it allows, through pre-authorised offers created by the admin API.
    #[cfg(feature = "serve")]
    Serve(Box<crate::serve::ServeArgs>),
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// Turn an Aries OCA 1.0 bundle (OCABundle.json) into a governance file from which
    /// `trustc build` generates the same bundle again.
    Oca(ImportOcaArgs),
}

#[derive(Debug, clap::Args)]
struct ImportOcaArgs {
    /// The bundle: an OCABundle.json (`[{"capture_base": …, "overlays": […]}]` or the bare object).
    file: PathBuf,
    /// The framework id (default: from the bundle's folders).
    #[arg(long, value_name = "ID")]
    framework: Option<String>,
    /// The credential id (default: from the bundle's folder).
    #[arg(long, value_name = "ID")]
    credential: Option<String>,
    /// Write the governance to this file (for example `governance/lawyer.yaml`) instead of
    /// standard output; images outside its repository are copied next to it.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Colours in diagnostics.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SchemaKind {
    /// Governance files (`governance/*.yaml`).
    Governance,
    /// The compiled issuer configuration (`issuer/config.json` of a build).
    IssuerConfig,
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// The folder to check: a governance repository (with `governance/`) or a folder of OCA bundles.
    #[arg(default_value = ".")]
    path: PathBuf,
    #[command(flatten)]
    report: ReportArgs,
}

#[derive(Debug, clap::Args)]
struct BuildArgs {
    /// The governance repository to build.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// The output folder. It is replaced as a whole, so it must be new, empty or an earlier output.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// The environment whose participant identifiers the outputs use.
    #[arg(long = "env", value_enum, default_value_t = EnvArg::Dev)]
    environment: EnvArg,
    /// The OpenID4VCI metadata shape: `1.0` (final), or `draft-13` for wallets that still need it.
    #[arg(long, value_enum, default_value_t = ProfileArg::V1)]
    profile: ProfileArg,
    /// The credential issuer identifier the metadata names: an https URL (http only for loopback
    /// addresses). The default matches `trustc serve` on its default address.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080")]
    issuer_url: String,
    #[command(flatten)]
    report: ReportArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum EnvArg {
    Dev,
    Test,
    Prod,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ProfileArg {
    #[value(name = "1.0")]
    V1,
    #[value(name = "draft-13")]
    Draft13,
}

#[derive(Debug, clap::Args)]
struct ReportArgs {
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
    format: OutputFormat,
    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    deny_warnings: bool,
    /// Do not report diagnostics with this code (repeatable).
    #[arg(long, value_name = "CODE")]
    allow: Vec<String>,
    /// Report diagnostics with this code as warnings (repeatable).
    #[arg(long, value_name = "CODE")]
    warn: Vec<String>,
    /// Report diagnostics with this code as errors (repeatable).
    #[arg(long, value_name = "CODE")]
    deny: Vec<String>,
    /// Colours in human output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Worker threads for OCA bundles (default: one per core).
    #[arg(long, value_name = "N", default_value_t = 0)]
    jobs: usize,
}

/// Runs the command line and returns the exit status.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            #[cfg(feature = "serve")]
            if error.use_stderr() && crate::serve::wants_json_logs(std::env::args_os()) {
                return ExitCode::from(crate::serve::refuse_usage(&error));
            }
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() {
                EXIT_ERROR
            } else {
                EXIT_OK
            });
        }
    };
    let status = match cli.command {
        Command::Check(args) => run_check(args),
        Command::Build(args) => run_build(args),
        Command::Import {
            what: ImportCommand::Oca(args),
        } => run_import(args),
        Command::Explain { code } => explain(code.as_deref()),
        Command::Schema { kind, out } => print_schema(kind, out),
        #[cfg(feature = "serve")]
        Command::Serve(args) => crate::serve::run(*args),
    };
    ExitCode::from(status)
}

fn parse_codes(names: &[String], flag: &str) -> Result<Vec<Code>, String> {
    names
        .iter()
        .map(|name| {
            Code::from_name(name).ok_or_else(|| {
                let known: Vec<String> = Code::ALL.iter().map(|c| c.name().to_string()).collect();
                match crate::schema::closest(name, &known) {
                    Some(s) => format!("unknown code `{name}` in --{flag}; did you mean `{s}`?"),
                    None => format!(
                        "unknown code `{name}` in --{flag}; `trustc explain` lists the codes"
                    ),
                }
            })
        })
        .collect()
}

impl ReportArgs {
    fn check_options(&self) -> Result<CheckOptions, String> {
        Ok(CheckOptions {
            overrides: SeverityOverrides {
                allow: parse_codes(&self.allow, "allow")?,
                warn: parse_codes(&self.warn, "warn")?,
                deny: parse_codes(&self.deny, "deny")?,
            },
            jobs: self.jobs,
        })
    }

    /// Prints the report as asked; `Err` with the exit status when it could not be written.
    fn print(&self, report: &Report) -> Result<(), u8> {
        report::print(report, self.format, self.color)
    }

    /// Whether the report fails the run (errors, or warnings with `--deny-warnings`).
    fn failing(&self, report: &Report) -> bool {
        report.diagnostics.iter().any(|d| {
            d.severity == Severity::Error || (self.deny_warnings && d.severity == Severity::Warning)
        })
    }
}

fn run_check(args: CheckArgs) -> u8 {
    let options = match args.report.check_options() {
        Ok(options) => options,
        Err(message) => return fail(message),
    };
    let report = match check(&args.path, &options) {
        Ok(report) => report,
        Err(error) => return fail(error),
    };
    if let Err(status) = args.report.print(&report) {
        return status;
    }
    if args.report.failing(&report) {
        EXIT_FAILED
    } else {
        EXIT_OK
    }
}

fn run_build(args: BuildArgs) -> u8 {
    let check = match args.report.check_options() {
        Ok(options) => options,
        Err(message) => return fail(message),
    };
    if let Err(message) = check_issuer_url(&args.issuer_url, "--issuer-url") {
        return fail(message);
    }
    let options = BuildOptions {
        check,
        environment: match args.environment {
            EnvArg::Dev => trustc_artifact::Environment::Dev,
            EnvArg::Test => trustc_artifact::Environment::Test,
            EnvArg::Prod => trustc_artifact::Environment::Prod,
        },
        profile: match args.profile {
            ProfileArg::V1 => Profile::V1,
            ProfileArg::Draft13 => Profile::Draft13,
        },
        credential_issuer: args.issuer_url.trim_end_matches('/').to_string(),
    };
    let outcome = match build(&args.path, &options) {
        Ok(outcome) => outcome,
        Err(error) => return fail(error),
    };
    if let Err(status) = args.report.print(&outcome.report) {
        return status;
    }
    if args.report.failing(&outcome.report) || outcome.outputs.is_empty() {
        let _ = write_stderr(&format!(
            "nothing written to `{}`: fix the errors above first\n",
            args.out.display()
        ));
        return EXIT_FAILED;
    }
    if let Err(error) = emit::write(&args.out, &outcome.outputs) {
        return fail(error);
    }
    let hash = outcome.config.map(|c| c.content_hash).unwrap_or_default();
    let _ = write_stderr(&format!(
        "wrote {} files to `{}` ({} environment, configuration {hash})\n",
        outcome.outputs.len(),
        args.out.display(),
        options.environment
    ));
    EXIT_OK
}

/// `trustc import oca`: prints or writes the governance of a bundle. Exit 1 when the file is not a
/// bundle trustc can read (with the diagnostics), 2 when it cannot be read at all.
fn run_import(args: ImportOcaArgs) -> u8 {
    use crate::import::{ImportError, ImportOptions, import_oca, write};
    let options = ImportOptions {
        framework: args.framework,
        credential: args.credential,
        out: args.out.clone(),
    };
    let imported = match import_oca(&args.file, &options) {
        Ok(imported) => imported,
        Err(ImportError::Run(message)) => return fail(message),
        Err(ImportError::Invalid(report)) => {
            if let Err(status) = report::print(&report, OutputFormat::Human, args.color) {
                return status;
            }
            let _ = write_stderr(&format!(
                "nothing imported: `{}` is not an OCA bundle trustc can read\n",
                args.file.display()
            ));
            return EXIT_FAILED;
        }
    };
    let mut notes = String::new();
    for note in &imported.notes {
        notes.push_str(&format!("note: {note}\n"));
    }
    match &args.out {
        None => {
            let _ = write_stderr(&notes);
            match write_stdout(&imported.yaml) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    fail(format!("cannot write the governance: {e}"))
                }
                _ => EXIT_OK,
            }
        }
        Some(out) => {
            if let Err(message) = write(&imported, out) {
                return fail(message);
            }
            let extension = out.extension().and_then(|e| e.to_str());
            if !matches!(extension, Some("yaml" | "yml")) {
                notes.push_str(
                    "note: trustc reads governance files named `governance/**/*.yaml`; rename the file to be checked and built\n",
                );
            }
            let _ = write_stderr(&format!(
                "{notes}wrote `{}` from `{}`; `trustc check` it, then review the framework, the participant and `issuance`\n",
                out.display(),
                args.file.display()
            ));
            EXIT_OK
        }
    }
}

fn explain(code: Option<&str>) -> u8 {
    let Some(name) = code else {
        let mut out = String::from("Diagnostic codes (`trustc explain CODE` for details):\n\n");
        for code in Code::ALL {
            out.push_str(&format!(
                "  {:<28} {:<8} {}\n",
                code.name(),
                code.default_severity().name(),
                code.summary()
            ));
        }
        let _ = write_stdout(&out);
        return EXIT_OK;
    };
    match Code::from_name(name.trim()) {
        Some(code) => {
            let _ = write_stdout(code.explanation());
            EXIT_OK
        }
        None => {
            let known: Vec<String> = Code::ALL.iter().map(|c| c.name().to_string()).collect();
            match crate::schema::closest(name, &known) {
                Some(s) => fail(format!("no diagnostic code `{name}`; did you mean `{s}`?")),
                None => fail(format!(
                    "no diagnostic code `{name}`; `trustc explain` lists them all"
                )),
            }
        }
    }
}

fn print_schema(kind: SchemaKind, out: Option<PathBuf>) -> u8 {
    let text = match kind {
        SchemaKind::Governance => crate::schema::GOVERNANCE_SCHEMA_TEXT,
        SchemaKind::IssuerConfig => crate::schema::ISSUER_CONFIG_SCHEMA_TEXT,
    };
    match out {
        None => match write_stdout(text) {
            Ok(()) => EXIT_OK,
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => EXIT_OK,
            Err(e) => fail(format!("cannot write the schema: {e}")),
        },
        Some(path) => match std::fs::write(&path, text) {
            Ok(()) => EXIT_OK,
            Err(e) => fail(format!("cannot write `{}`: {e}", path.display())),
        },
    }
}
