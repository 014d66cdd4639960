//! Generate stage: handlebars templates (the built-in set and a repository's overrides), rendered
//! with diagnostics that point into the template.
//!
//! Every output except `issuer/config.json` is a template under `templates/`. The path of a
//! template is the path of its output with `.hbs` added; a path with a `[credential]` segment is
//! rendered once per credential type (`vct/[credential].json.hbs` → `vct/lawyer.json`), and
//! `[oca]` stands for the folder of the credential's OCA bundle. Templates under `partials/` are
//! partials (`{{> name}}`), not outputs. A repository's own `templates/` folder overrides built-in
//! templates of the same path and adds outputs of its own.
//!
//! Rendering is strict: a variable the context does not have is an error at the template's line and
//! column, never an empty string. Output is written without HTML escaping; JSON outputs put values
//! through the `json` helper (`{{json credential.vct}}`), which writes a JSON literal.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use handlebars::{
    Context, Handlebars, Helper, HelperResult, Output, RenderContext, RenderError,
    RenderErrorReason, TemplateError,
};

use crate::diag::{Code, Diagnostic, FileDiagnostics};
use crate::source::{SourceFile, SourcePath, read_source, slash_path};
use crate::syntax::Span;

/// The folder of a repository that holds its templates.
pub const TEMPLATES_DIR: &str = "templates";

/// The built-in templates: `(path under templates/, text)`.
pub const BUILT_IN: &[(&str, &str)] = &[
    (
        ".well-known/openid-credential-issuer.hbs",
        include_str!("../../templates/.well-known/openid-credential-issuer.hbs"),
    ),
    (
        ".well-known/oauth-authorization-server.hbs",
        include_str!("../../templates/.well-known/oauth-authorization-server.hbs"),
    ),
    (
        "partials/oid4vci-configuration-1.0.hbs",
        include_str!("../../templates/partials/oid4vci-configuration-1.0.hbs"),
    ),
    (
        "partials/oid4vci-configuration-draft-13.hbs",
        include_str!("../../templates/partials/oid4vci-configuration-draft-13.hbs"),
    ),
    (
        "partials/oid4vci-display.hbs",
        include_str!("../../templates/partials/oid4vci-display.hbs"),
    ),
    (
        "partials/oid4vci-image.hbs",
        include_str!("../../templates/partials/oid4vci-image.hbs"),
    ),
    (
        "vct/[credential].json.hbs",
        include_str!("../../templates/vct/[credential].json.hbs"),
    ),
    (
        "schemas/[credential].schema.json.hbs",
        include_str!("../../templates/schemas/[credential].schema.json.hbs"),
    ),
    (
        "anoncreds/[credential].json.hbs",
        include_str!("../../templates/anoncreds/[credential].json.hbs"),
    ),
    (
        "oca/[oca]/OCABundle.json.hbs",
        include_str!("../../templates/oca/[oca]/OCABundle.json.hbs"),
    ),
    (
        "oca/ocabundles.json.hbs",
        include_str!("../../templates/oca/ocabundles.json.hbs"),
    ),
    (
        "oca/ocabundleslist.json.hbs",
        include_str!("../../templates/oca/ocabundleslist.json.hbs"),
    ),
    (
        "trust/registry.json.hbs",
        include_str!("../../templates/trust/registry.json.hbs"),
    ),
    (
        "integrations/credo/issuer.json.hbs",
        include_str!("../../templates/integrations/credo/issuer.json.hbs"),
    ),
    (
        "integrations/acapy/supported-credentials.json.hbs",
        include_str!("../../templates/integrations/acapy/supported-credentials.json.hbs"),
    ),
    (
        "docs/[credential].md.hbs",
        include_str!("../../templates/docs/[credential].md.hbs"),
    ),
];

/// The placeholder of per-credential templates.
pub const CREDENTIAL_PLACEHOLDER: &str = "[credential]";
/// The placeholder for the folder of the credential's OCA bundle.
pub const OCA_PLACEHOLDER: &str = "[oca]";
const PARTIALS_DIR: &str = "partials/";

/// One template: its path under `templates/` and its text.
pub struct Template {
    /// `/`-separated path under `templates/`, with `.hbs`.
    pub relative: String,
    pub file: SourceFile,
    /// Whether it comes from the repository (an override or an addition).
    pub from_repository: bool,
}

impl Template {
    /// The output path pattern (the template path without `.hbs`).
    pub fn output_pattern(&self) -> &str {
        self.relative.trim_end_matches(".hbs")
    }

    pub fn is_partial(&self) -> bool {
        self.relative.starts_with(PARTIALS_DIR)
    }

    pub fn is_per_credential(&self) -> bool {
        self.relative.contains(CREDENTIAL_PLACEHOLDER) || self.relative.contains(OCA_PLACEHOLDER)
    }

    /// The partial's name: its path under `partials/` without `.hbs`.
    fn partial_name(&self) -> &str {
        self.output_pattern().trim_start_matches(PARTIALS_DIR)
    }
}

/// The built-in templates, overridden and extended by `root/templates/**/*.hbs`.
pub fn load(root: &Path, diagnostics: &mut Vec<Diagnostic>) -> Vec<Template> {
    let mut templates: BTreeMap<String, Template> = BTreeMap::new();
    for (relative, text) in BUILT_IN {
        let path = Arc::new(SourcePath {
            display: format!("{TEMPLATES_DIR}/{relative} (built in)"),
            absolute: Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(TEMPLATES_DIR)
                .join(relative),
        });
        templates.insert(
            relative.to_string(),
            Template {
                relative: relative.to_string(),
                file: SourceFile::new(path, text.to_string()),
                from_repository: false,
            },
        );
    }
    let dir = root.join(TEMPLATES_DIR);
    if dir.is_dir() {
        let walker = walkdir::WalkDir::new(&dir)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                e.depth() == 0
                    || !e.file_name().to_string_lossy().starts_with('.')
                    || e.file_name() == ".well-known"
            });
        for entry in walker {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    diagnostics.push(
                        Diagnostic::new(
                            Code::IoError,
                            format!("cannot read the templates: {error}"),
                        )
                        .with_help("check that the templates folder is readable"),
                    );
                    continue;
                }
            };
            let path = entry.path();
            if !entry.file_type().is_file() || path.extension().is_none_or(|e| e != "hbs") {
                continue;
            }
            let relative = slash_path(path.strip_prefix(&dir).unwrap_or(path));
            let source_path = SourcePath::new(root, path);
            match read_source(path) {
                Ok(text) => {
                    templates.insert(
                        relative.clone(),
                        Template {
                            relative,
                            file: SourceFile::new(source_path, text),
                            from_repository: true,
                        },
                    );
                }
                Err(error) => diagnostics.push(
                    Diagnostic::new(
                        Code::IoError,
                        format!("the template `{source_path}` could not be read: {error:?}"),
                    )
                    .in_file(source_path)
                    .with_help("templates are UTF-8 text files of at most 8 MiB"),
                ),
            }
        }
    }
    templates.into_values().collect()
}

/// The registered templates, ready to render.
pub struct Engine<'a> {
    handlebars: Handlebars<'a>,
    /// Template or partial name → its file, for diagnostics.
    files: BTreeMap<String, &'a SourceFile>,
}

impl<'a> Engine<'a> {
    /// Registers every template and partial; syntax errors are reported and leave the template out.
    pub fn new(templates: &'a [Template], diagnostics: &mut Vec<Diagnostic>) -> Engine<'a> {
        let mut handlebars = Handlebars::new();
        handlebars.set_strict_mode(true);
        handlebars.register_escape_fn(handlebars::no_escape);
        handlebars.register_helper("json", Box::new(json_helper));
        handlebars.register_helper("json_pretty", Box::new(json_pretty_helper));
        let mut files = BTreeMap::new();
        for template in templates {
            let (name, result) = if template.is_partial() {
                let name = template.partial_name().to_string();
                let result = handlebars.register_partial(&name, &template.file.text);
                (name, result)
            } else {
                let name = template.relative.clone();
                let result = handlebars.register_template_string(&name, &template.file.text);
                (name, result)
            };
            match result {
                Ok(()) => {
                    files.insert(name, &template.file);
                }
                Err(error) => diagnostics.push(syntax_diagnostic(&template.file, &error)),
            }
        }
        Engine { handlebars, files }
    }

    pub fn has(&self, template: &Template) -> bool {
        !template.is_partial() && self.handlebars.has_template(&template.relative)
    }

    /// Renders `template` with `context`; errors point into the template (or the partial).
    ///
    /// The context is a handlebars [`Context`] the caller keeps and updates between renders:
    /// handing handlebars a value instead would copy the whole context (every credential) on each
    /// render, which makes a build quadratic in the number of credentials.
    pub fn render(&self, template: &Template, context: &Context) -> Result<String, Diagnostic> {
        self.handlebars
            .render_with_context(&template.relative, context)
            .map_err(|error| {
                let file = error
                    .template_name
                    .as_ref()
                    .and_then(|name| self.files.get(name).copied())
                    .unwrap_or(&template.file);
                render_diagnostic(file, &error)
            })
    }
}

/// `{{json value}}`: the value as a compact JSON literal.
fn json_helper(
    helper: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    write_json(helper, out, false)
}

/// `{{json_pretty value}}`: the value as indented JSON (for documentation).
fn json_pretty_helper(
    helper: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    write_json(helper, out, true)
}

fn write_json(helper: &Helper, out: &mut dyn Output, pretty: bool) -> HelperResult {
    let param = helper
        .param(0)
        .ok_or_else(|| RenderErrorReason::ParamNotFoundForIndex("json", 0))?;
    // Strict mode for helper parameters: a parameter naming a value the context does not have is
    // an error, as it is for `{{value}}` (handlebars would pass it to helpers as `null`).
    if param.is_value_missing() {
        return Err(RenderErrorReason::MissingVariable(param.relative_path().cloned()).into());
    }
    let text = if pretty {
        serde_json::to_string_pretty(param.value())
    } else {
        serde_json::to_string(param.value())
    }
    .map_err(RenderErrorReason::SerdeError)?;
    out.write(&text)?;
    Ok(())
}

/// The byte offset of a 1-based line and column (in characters) in `text`.
pub fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let mut offset = 0usize;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            let within: usize = l
                .char_indices()
                .nth(column.saturating_sub(1))
                .map_or(l.trim_end_matches('\n').len(), |(o, _)| o);
            return offset + within;
        }
        offset += l.len();
    }
    text.len()
}

fn point(file: &SourceFile, line: Option<usize>, column: Option<usize>) -> Span {
    let start = offset_of(&file.text, line.unwrap_or(1), column.unwrap_or(1));
    // Underline the `{{…}}` expression when the position is at one.
    let rest = &file.text[start..];
    let len = if rest.starts_with("{{") {
        rest.find("}}").map_or(2, |end| end + 2)
    } else {
        rest.chars().next().map_or(0, char::len_utf8)
    };
    Span::new(start, start + len)
}

fn syntax_diagnostic(file: &SourceFile, error: &TemplateError) -> Diagnostic {
    let (line, column) = error.pos().unzip();
    let mut sink = FileDiagnostics::new(file);
    sink.report(
        Code::TemplateSyntax,
        point(file, line, column),
        format!("template syntax error: {}", error.reason()),
        error.reason().to_string(),
        "fix the handlebars syntax here; see https://handlebarsjs.com/guide/ for the language",
    );
    sink.diagnostics.pop().expect("just reported")
}

fn render_diagnostic(file: &SourceFile, error: &RenderError) -> Diagnostic {
    let mut sink = FileDiagnostics::new(file);
    let span = point(file, error.line_no, error.column_no);
    let (message, label, help) = match error.reason() {
        RenderErrorReason::MissingVariable(Some(path)) => (
            format!("the template uses `{path}`, which the build context does not have"),
            "no such value".to_string(),
            "templates render in strict mode: check the name against the context described in \
             templates/README.md, or guard optional values with `{{#if …}}`"
                .to_string(),
        ),
        reason => (
            format!("the template failed to render: {reason}"),
            reason.to_string(),
            "fix the template here".to_string(),
        ),
    };
    sink.report(Code::TemplateRender, span, message, label, help);
    sink.diagnostics.pop().expect("just reported")
}
