//! Diagnostics: what every stage reports, and how reports are printed.
//!
//! A stage never stops at the first problem: it pushes [`Diagnostic`]s into a [`FileDiagnostics`]
//! (one per file, which turns byte spans into lines and columns while the text is at hand) and
//! carries on. [`render`] prints the collected report as miette graphics, JSON for CI tools, or
//! GitHub workflow annotations.

mod codes;
pub mod render;

use std::sync::Arc;

pub use codes::Code;

use crate::source::{SourceFile, SourcePath};
use crate::syntax::Span;

/// How serious a diagnostic is. Errors fail `trustc check`; warnings fail it only with
/// `--deny-warnings`; advice never does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
    Advice,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Advice => "advice",
        }
    }
}

/// A position in a file, computed once from a byte span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    /// 1-based line of the span's start.
    pub line: u32,
    /// 1-based column (in characters) of the span's start.
    pub column: u32,
    pub message: Option<String>,
}

/// One problem found in the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    /// The file the problem is in; `None` for problems with no file (such as an unreadable folder
    /// given on the command line).
    pub file: Option<Arc<SourcePath>>,
    /// Where to point: the first label is the primary one.
    pub labels: Vec<Label>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.default_severity(),
            message: message.into(),
            file: None,
            labels: Vec::new(),
            help: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn in_file(mut self, file: Arc<SourcePath>) -> Diagnostic {
        self.file = Some(file);
        self
    }

    /// Line and column of the primary label (1, 1 when the diagnostic has no label).
    pub fn line_column(&self) -> (u32, u32) {
        self.labels.first().map_or((1, 1), |l| (l.line, l.column))
    }

    /// Ordering used for all output: by file, position, then code.
    pub fn sort_key(&self) -> (Option<&str>, u32, u32, Code, &str) {
        let (line, column) = self.line_column();
        (
            self.file.as_deref().map(|f| f.display.as_str()),
            line,
            column,
            self.code,
            &self.message,
        )
    }
}

/// A diagnostic being built for a file: labels are added by span and resolved to lines there.
pub struct Builder<'a> {
    file: &'a SourceFile,
    diagnostic: Diagnostic,
}

impl Builder<'_> {
    /// The primary label (the first one added) says where the problem is; later ones add context.
    pub fn label(mut self, span: Span, message: impl Into<String>) -> Self {
        let (line, column) = self.file.line_column(span.start);
        let message = message.into();
        self.diagnostic.labels.push(Label {
            span,
            line,
            column,
            message: (!message.is_empty()).then_some(message),
        });
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.diagnostic.help = Some(help.into());
        self
    }

    pub fn build(self) -> Diagnostic {
        self.diagnostic
    }
}

/// Collects the diagnostics of one file.
pub struct FileDiagnostics<'a> {
    pub file: &'a SourceFile,
    pub diagnostics: Vec<Diagnostic>,
}

impl<'a> FileDiagnostics<'a> {
    pub fn new(file: &'a SourceFile) -> FileDiagnostics<'a> {
        FileDiagnostics {
            file,
            diagnostics: Vec::new(),
        }
    }

    /// Starts a diagnostic in this file; finish it with [`Builder::build`] and [`Self::push`], or
    /// use [`Self::report`].
    pub fn diagnostic(&self, code: Code, message: impl Into<String>) -> Builder<'a> {
        Builder {
            file: self.file,
            diagnostic: Diagnostic::new(code, message).in_file(self.file.path.clone()),
        }
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// The common case: one label at `span`, and a help line.
    pub fn report(
        &mut self,
        code: Code,
        span: Span,
        message: impl Into<String>,
        label: impl Into<String>,
        help: impl Into<String>,
    ) {
        let diagnostic = self
            .diagnostic(code, message)
            .label(span, label)
            .help(help)
            .build();
        self.push(diagnostic);
    }
}

/// How the user adjusted severities on the command line.
#[derive(Clone, Debug, Default)]
pub struct SeverityOverrides {
    /// Codes not reported at all.
    pub allow: Vec<Code>,
    /// Codes reported as errors.
    pub deny: Vec<Code>,
    /// Codes reported as warnings.
    pub warn: Vec<Code>,
}

impl SeverityOverrides {
    /// Applies the overrides; `None` means the diagnostic is suppressed.
    pub fn apply(&self, mut diagnostic: Diagnostic) -> Option<Diagnostic> {
        if self.allow.contains(&diagnostic.code) {
            return None;
        }
        if self.deny.contains(&diagnostic.code) {
            diagnostic.severity = Severity::Error;
        } else if self.warn.contains(&diagnostic.code) {
            diagnostic.severity = Severity::Warning;
        }
        Some(diagnostic)
    }
}
