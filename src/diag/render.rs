//! Printing a report: miette graphics for people, JSON for CI tools, annotations for GitHub.
//!
//! The JSON report is a contract (documented in the README): paths relative to the checked folder,
//! 1-based lines and columns, codes that never change meaning. Human output shows a few lines of
//! the file around each problem; long lines (such as an inlined `data:` image) are cut around the
//! problem so one diagnostic never prints a whole image.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::sync::Arc;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
use serde::Serialize;

use super::{Diagnostic, Severity};
use crate::source::{SourcePath, read_source};

/// Totals printed after the diagnostics and in the JSON report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub errors: usize,
    pub warnings: usize,
    pub advice: usize,
    /// Files read (governance files, OCA bundles, indexes).
    pub files: usize,
    pub frameworks: usize,
    pub credential_types: usize,
    pub oca_bundles: usize,
    pub indexes: usize,
}

impl Summary {
    pub fn count(&mut self, diagnostics: &[Diagnostic]) {
        self.errors = 0;
        self.warnings = 0;
        self.advice = 0;
        for d in diagnostics {
            match d.severity {
                Severity::Error => self.errors += 1,
                Severity::Warning => self.warnings += 1,
                Severity::Advice => self.advice += 1,
            }
        }
    }
}

#[derive(Serialize)]
struct JsonReport<'a> {
    diagnostics: Vec<JsonDiagnostic<'a>>,
    summary: &'a Summary,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: &'static str,
    severity: &'static str,
    message: &'a str,
    file: Option<&'a str>,
    line: u32,
    column: u32,
    help: Option<&'a str>,
    label: Option<&'a str>,
}

/// The JSON report: `{"diagnostics": [...], "summary": {...}}`.
pub fn json(diagnostics: &[Diagnostic], summary: &Summary) -> String {
    let report = JsonReport {
        diagnostics: diagnostics
            .iter()
            .map(|d| {
                let (line, column) = d.line_column();
                JsonDiagnostic {
                    code: d.code.name(),
                    severity: d.severity.name(),
                    message: &d.message,
                    file: d.file.as_deref().map(|f| f.display.as_str()),
                    line,
                    column,
                    help: d.help.as_deref(),
                    label: d.labels.first().and_then(|l| l.message.as_deref()),
                }
            })
            .collect(),
        summary,
    };
    let mut out = serde_json::to_string_pretty(&report).expect("report serializes");
    out.push('\n');
    out
}

/// GitHub Actions workflow commands (`::error file=…,line=…,col=…::…`), one per diagnostic.
pub fn github(diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let command = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Advice => "notice",
        };
        let (line, column) = d.line_column();
        let mut properties = Vec::new();
        if let Some(file) = &d.file {
            properties.push(format!("file={}", escape_property(&file.display)));
            properties.push(format!("line={line}"));
            properties.push(format!("col={column}"));
        }
        properties.push(format!("title={}", escape_property(d.code.name())));
        let mut message = d.message.clone();
        if let Some(help) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        let _ = writeln!(
            out,
            "::{command} {}::{}",
            properties.join(","),
            escape_data(&message)
        );
    }
    out
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Options for human output.
#[derive(Clone, Copy, Debug)]
pub struct HumanStyle {
    /// Colours and Unicode box drawing (a terminal); otherwise plain ASCII.
    pub fancy: bool,
    pub width: usize,
}

/// miette graphics for every diagnostic, then a summary line.
pub fn human(diagnostics: &[Diagnostic], summary: &Summary, style: HumanStyle) -> String {
    let theme = if style.fancy {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::none()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_links(false)
        .with_context_lines(1);
    // Each file is read again only to show snippets, once per file.
    let mut texts: HashMap<Arc<SourcePath>, Option<Arc<str>>> = HashMap::new();
    let mut out = String::new();
    for d in diagnostics {
        let text = d.file.as_ref().and_then(|f| {
            texts
                .entry(f.clone())
                .or_insert_with(|| snippet_text(&f.absolute))
                .clone()
        });
        let view = DiagnosticView::new(d, text.as_deref());
        let _ = handler.render_report(&mut out, &view);
        out.push('\n');
    }
    out.push_str(&summary_line(summary));
    out
}

/// A file's text for snippets. Invalid UTF-8 is replaced, which keeps byte offsets up to the first
/// invalid byte (where an `invalid-utf8` diagnostic points).
fn snippet_text(path: &std::path::Path) -> Option<Arc<str>> {
    match read_source(path) {
        Ok(text) => Some(Arc::from(text)),
        Err(crate::source::LoadError::InvalidUtf8 { .. }) => std::fs::read(path)
            .ok()
            .map(|bytes| Arc::from(String::from_utf8_lossy(&bytes).into_owned())),
        Err(_) => None,
    }
}

/// `3 errors, 1 warning in 12 files` or `no problems in 12 files`.
pub fn summary_line(summary: &Summary) -> String {
    let mut parts = Vec::new();
    for (n, word) in [
        (summary.errors, "error"),
        (summary.warnings, "warning"),
        (summary.advice, "advice"),
    ] {
        if n > 0 {
            let plural = if n == 1 || word == "advice" { "" } else { "s" };
            parts.push(format!("{n} {word}{plural}"));
        }
    }
    let files = match summary.files {
        1 => "1 file".to_string(),
        n => format!("{n} files"),
    };
    if parts.is_empty() {
        format!("trustc: no problems found in {files}\n")
    } else {
        format!("trustc: {} in {files}\n", parts.join(", "))
    }
}

/// A diagnostic as miette sees it, with its source reduced to a window around the labels.
struct DiagnosticView<'a> {
    diagnostic: &'a Diagnostic,
    source: Option<Window>,
    labels: Vec<LabeledSpan>,
}

impl<'a> DiagnosticView<'a> {
    fn new(diagnostic: &'a Diagnostic, text: Option<&str>) -> DiagnosticView<'a> {
        let name = diagnostic
            .file
            .as_ref()
            .map_or_else(String::new, |f| f.display.clone());
        match text {
            Some(text) if !diagnostic.labels.is_empty() => {
                let (source, labels) = Window::around(name, text, diagnostic);
                // A label that falls on no line of the window (at the very end of the file,
                // after its last newline): no snippet, and the message says where instead.
                let source = (!labels.is_empty()).then_some(source);
                DiagnosticView {
                    diagnostic,
                    source,
                    labels,
                }
            }
            _ => DiagnosticView {
                diagnostic,
                source: None,
                labels: Vec::new(),
            },
        }
    }
}

impl fmt::Debug for DiagnosticView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl fmt::Display for DiagnosticView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)?;
        // Without a snippet, say where the problem is in the message itself.
        if self.source.is_none()
            && let Some(file) = &self.diagnostic.file
        {
            let (line, column) = self.diagnostic.line_column();
            write!(f, " ({}:{line}:{column})", file.display)?;
        }
        Ok(())
    }
}

impl std::error::Error for DiagnosticView<'_> {}

impl miette::Diagnostic for DiagnosticView<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.diagnostic.code.name()))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Advice => miette::Severity::Advice,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }
}

/// Lines near a diagnostic's labels, with over-long lines cut around the labels. miette is given
/// only this window and the number of the window's first line.
struct Window {
    name: String,
    text: String,
    /// 0-based line number of the window's first line in the file.
    first_line: usize,
    /// The primary label's span in the window, and the diagnostic's own 0-based line and
    /// column (in characters, of the whole line): miette heads the snippet with the position
    /// it reads for this span, which it would count in the window's cut lines and in bytes.
    primary: Option<(SourceSpan, usize, usize)>,
}

/// Lines longer than this are cut around the labels.
const MAX_LINE: usize = 160;
/// How far from the primary label other labels may be and still be drawn.
const MAX_LABEL_DISTANCE: u32 = 12;

impl Window {
    fn around(name: String, text: &str, d: &Diagnostic) -> (Window, Vec<LabeledSpan>) {
        let primary_line = d.labels[0].line;
        let labels: Vec<_> = d
            .labels
            .iter()
            .filter(|l| l.line.abs_diff(primary_line) <= MAX_LABEL_DISTANCE)
            .collect();
        let first = labels.iter().map(|l| l.line).min().unwrap_or(1) as usize;
        let last = labels.iter().map(|l| l.line).max().unwrap_or(1) as usize;
        // One line of context on each side (lines are 1-based here).
        let from = first.saturating_sub(1).max(1);
        let to = last + 1;

        let mut window = String::new();
        let spans: Vec<(usize, usize)> = labels
            .iter()
            .map(|l| (l.span.start as usize, l.span.end as usize))
            .collect();
        let mut mapped: Vec<Option<(usize, usize)>> = vec![None; spans.len()];
        let mut offset = 0;
        for (index, line) in text.split_inclusive('\n').enumerate() {
            let number = index + 1;
            let line_start = offset;
            offset += line.len();
            if number < from {
                continue;
            }
            if number > to {
                break;
            }
            let content = line.trim_end_matches(['\n', '\r']);
            let line_end = line_start + content.len();
            // The part of the line to keep, in file byte offsets.
            let (keep_start, keep_end) = if content.chars().count() <= MAX_LINE {
                (line_start, line_end)
            } else {
                let anchor = spans
                    .iter()
                    .map(|&(s, _)| s)
                    .filter(|&s| s >= line_start && s <= line_end)
                    .min()
                    .unwrap_or(line_start);
                let start = floor_char(text, anchor.saturating_sub(40).max(line_start));
                let end = floor_char(text, (start + MAX_LINE).min(line_end));
                (start, end)
            };
            let prefix = if keep_start > line_start { "…" } else { "" };
            let suffix = if keep_end < line_end { "…" } else { "" };
            let window_start = window.len() + prefix.len();
            window.push_str(prefix);
            window.push_str(&text[keep_start..keep_end]);
            window.push_str(suffix);
            window.push('\n');
            for (i, &(s, e)) in spans.iter().enumerate() {
                if mapped[i].is_none() && s >= line_start && s <= line_end {
                    let s = s.clamp(keep_start, keep_end);
                    let e = e.clamp(s, keep_end.max(s));
                    // Multi-line spans are shown as their first line.
                    mapped[i] =
                        Some((window_start + s - keep_start, window_start + e - keep_start));
                }
            }
        }
        let labeled: Vec<LabeledSpan> = labels
            .iter()
            .zip(mapped)
            .enumerate()
            .filter_map(|(i, (label, span))| {
                let (s, e) = span?;
                let span = SourceSpan::from(s..e);
                Some(if i == 0 {
                    LabeledSpan::new_primary_with_span(label.message.clone(), span)
                } else {
                    LabeledSpan::new_with_span(label.message.clone(), span)
                })
            })
            .collect();
        let (line, column) = d.line_column();
        let primary = labeled
            .first()
            .filter(|label| label.primary())
            .map(|label| {
                (
                    *label.inner(),
                    (line as usize).saturating_sub(1),
                    (column as usize).saturating_sub(1),
                )
            });
        (
            Window {
                name,
                text: window,
                first_line: from - 1,
                primary,
            },
            labeled,
        )
    }
}

fn floor_char(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl SourceCode for Window {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner =
            self.text
                .as_str()
                .read_span(span, context_lines_before, context_lines_after)?;
        let (line, column) = match self.primary {
            Some((primary, line, column))
                if primary == *span && context_lines_before == 0 && context_lines_after == 0 =>
            {
                (line, column)
            }
            _ => (inner.line() + self.first_line, inner.column()),
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            line,
            column,
            inner.line_count(),
        )))
    }
}
