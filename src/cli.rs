//! The command line: `trustc check`, `trustc explain`, `trustc schema`.
//!
//! Raw flags (clap) are turned into settings here and nowhere else. Exit statuses are a contract
//! with CI: 0 no errors (warnings allowed unless `--deny-warnings`), 1 the input has errors, 2
//! trustc could not run (bad arguments, unreadable folder).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::check::{CheckOptions, check};
use crate::diag::render::{self, HumanStyle};
use crate::diag::{Code, Severity, SeverityOverrides};

/// Exit status: no errors.
pub const EXIT_OK: u8 = 0;
/// Exit status: the input has errors (or warnings, with `--deny-warnings`).
pub const EXIT_FAILED: u8 = 1;
/// Exit status: trustc could not run.
pub const EXIT_ERROR: u8 = 2;

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
    /// Explain a diagnostic code, with an example and the fix (no code: list all codes).
    Explain {
        /// The code, as printed in diagnostics (for example `digest-mismatch`).
        code: Option<String>,
    },
    /// Print the JSON Schema of governance files (for editors running yaml-language-server).
    Schema {
        /// Write the schema to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// The folder to check: a governance repository (with `governance/`) or a folder of OCA bundles.
    #[arg(default_value = ".")]
    path: PathBuf,
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    /// Annotated source snippets (plain text when not writing to a terminal).
    Human,
    /// One JSON report for CI tools.
    Json,
    /// GitHub Actions workflow annotations.
    Github,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Runs the command line and returns the exit status.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
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
        Command::Explain { code } => explain(code.as_deref()),
        Command::Schema { out } => print_schema(out),
    };
    ExitCode::from(status)
}

fn fail(message: impl std::fmt::Display) -> u8 {
    eprintln!("error: {message}");
    EXIT_ERROR
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

fn run_check(args: CheckArgs) -> u8 {
    let overrides = match (|| -> Result<SeverityOverrides, String> {
        Ok(SeverityOverrides {
            allow: parse_codes(&args.allow, "allow")?,
            warn: parse_codes(&args.warn, "warn")?,
            deny: parse_codes(&args.deny, "deny")?,
        })
    })() {
        Ok(overrides) => overrides,
        Err(message) => return fail(message),
    };
    let options = CheckOptions {
        overrides,
        jobs: args.jobs,
    };
    let report = match check(&args.path, &options) {
        Ok(report) => report,
        Err(error) => return fail(error),
    };
    let written = match args.format {
        OutputFormat::Json => write_stdout(&render::json(&report.diagnostics, &report.summary)),
        OutputFormat::Github => write_stdout(&format!(
            "{}{}",
            render::github(&report.diagnostics),
            render::summary_line(&report.summary)
        )),
        OutputFormat::Human => {
            let fancy = match args.color {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => {
                    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
                }
            };
            let text = render::human(
                &report.diagnostics,
                &report.summary,
                HumanStyle { fancy, width: 100 },
            );
            let mut stderr = std::io::stderr().lock();
            stderr
                .write_all(text.as_bytes())
                .and_then(|()| stderr.flush())
        }
    };
    // A closed pipe (`trustc check | head`) is not a failure of the check.
    if let Err(error) = written
        && error.kind() != std::io::ErrorKind::BrokenPipe
    {
        return fail(format!("cannot write the report: {error}"));
    }
    let failing = report.diagnostics.iter().any(|d| {
        d.severity == Severity::Error || (args.deny_warnings && d.severity == Severity::Warning)
    });
    if failing { EXIT_FAILED } else { EXIT_OK }
}

fn write_stdout(text: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
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

fn print_schema(out: Option<PathBuf>) -> u8 {
    let text = crate::schema::GOVERNANCE_SCHEMA_TEXT;
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
