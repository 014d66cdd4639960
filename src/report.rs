//! Printing a report of diagnostics (step 6, with [`crate::diag::render`]): the formats the
//! `--format` and `--color` flags choose from, and the stream each goes to. The commands that check
//! (`trustc check`, `build`, `import`) and `trustc serve`, which compiles on start, print through
//! it.

use std::io::{IsTerminal, Write};

use clap::ValueEnum;

use crate::check::Report;
use crate::diag::render::{self, HumanStyle};
use crate::exit::fail;

/// How to print diagnostics (`--format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    /// Annotated source snippets (plain text when not writing to a terminal).
    Human,
    /// One JSON report for CI tools.
    Json,
    /// GitHub Actions workflow annotations.
    Github,
}

/// Colours in human output (`--color`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Prints the report in `format` (human: to standard error, in colour as `color` says; json
/// and github: to standard output); `Err` with the exit status when it could not be written.
pub(crate) fn print(report: &Report, format: OutputFormat, color: ColorChoice) -> Result<(), u8> {
    let written = match format {
        OutputFormat::Json => write_stdout(&render::json(&report.diagnostics, &report.summary)),
        OutputFormat::Github => write_stdout(&format!(
            "{}{}",
            render::github(&report.diagnostics),
            render::summary_line(&report.summary)
        )),
        OutputFormat::Human => {
            let fancy = match color {
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
            write_stderr(&text)
        }
    };
    // A closed pipe (`trustc check | head`) is not a failure of the check.
    match written {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(fail(format!("cannot write the report: {error}")))
        }
        _ => Ok(()),
    }
}

/// Prints a report in the human format (colours when on a terminal), as `trustc serve` does when
/// it compiles the governance on start.
#[cfg(feature = "serve")]
pub(crate) fn print_human(report: &Report) {
    let _ = print(report, OutputFormat::Human, ColorChoice::Auto);
}

/// Writes `text` to standard error at once and flushes it.
pub(crate) fn write_stderr(text: &str) -> std::io::Result<()> {
    let mut stderr = std::io::stderr().lock();
    stderr.write_all(text.as_bytes())?;
    stderr.flush()
}

/// Writes `text` to standard output at once and flushes it.
pub(crate) fn write_stdout(text: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}
