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

use std::collections::{BTreeMap, BTreeSet};
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
    /// Templates that must not be rendered: they include themselves or nest too deeply (reported).
    blocked: BTreeSet<String>,
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
            if let Some(at) = too_deep_at(&template.file.text) {
                let mut sink = FileDiagnostics::new(&template.file);
                sink.report(
                    Code::InputTooComplex,
                    span_at(&template.file, at),
                    format!("the template nests blocks more than {MAX_NESTING} levels deep"),
                    "too deep",
                    "trustc limits how deeply templates nest blocks (`{{#if}}`, `{{#each}}`, \
                     `{{else if}}` chains) and subexpressions so that rendering cannot exhaust \
                     the stack; flatten the template",
                );
                diagnostics.extend(sink.diagnostics);
                continue;
            }
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
        let blocked = check_includes(&handlebars, &files, diagnostics);
        Engine {
            handlebars,
            files,
            blocked,
        }
    }

    pub fn has(&self, template: &Template) -> bool {
        !template.is_partial()
            && self.handlebars.has_template(&template.relative)
            && !self.blocked.contains(&template.relative)
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
    span_at(file, start)
}

/// The `{{…}}` expression at `start` (a byte offset), or the character there.
fn span_at(file: &SourceFile, start: usize) -> Span {
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

/// How deeply a template may nest blocks (`{{#if}}`, `{{#each}}`, `{{else if}}` chains,
/// subexpressions), counting the partials it includes. Rendering recurses once per level: the limit
/// keeps a hostile template from overflowing the stack. Real templates nest a handful of levels.
pub const MAX_NESTING: usize = 64;

/// Where `text` first nests deeper than [`MAX_NESTING`], by a scan of its `{{…}}` tags (before
/// handlebars parses it, which itself recurses once per level). Counts generously: comments and
/// raw blocks are skipped, every other opening tag counts.
fn too_deep_at(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    // One entry per open block: its levels (1, plus one per `{{else …}}` of a chain).
    let mut blocks: Vec<usize> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(found) = text[i..].find("{{") {
        let start = i + found;
        if start > 0 && bytes[start - 1] == b'\\' {
            i = start + 2;
            continue;
        }
        let rest = &text[start..];
        if let Some(raw) = rest.strip_prefix("{{{{") {
            // A raw block: its content is text, up to the closing `{{{{/…}}}}`.
            let close = raw.find("{{{{/").map_or(text.len(), |e| start + 4 + e);
            i = text[close..]
                .find("}}}}")
                .map_or(text.len(), |e| close + e + 4);
            continue;
        }
        let inner = rest[2..].trim_start_matches(['~', '{', '&']).trim_start();
        if inner.starts_with("!--") {
            i = rest.find("--}}").map_or(text.len(), |e| start + e + 4);
            continue;
        }
        if inner.starts_with('!') {
            i = rest.find("}}").map_or(text.len(), |e| start + e + 2);
            continue;
        }
        let end = tag_end(rest).map_or(text.len(), |e| start + e);
        let tag = &text[start..end];
        let parens = paren_depth(tag);
        let opens = if inner.starts_with('#') {
            blocks.push(1);
            depth += 1;
            true
        } else if let Some(after) = inner.strip_prefix('^') {
            let after = after.trim_start_matches('~').trim();
            if after.starts_with("}}") {
                false
            } else {
                blocks.push(1);
                depth += 1;
                true
            }
        } else if let Some(after) = inner.strip_prefix("else") {
            // `{{else if …}}` nests the rest of the chain one level deeper.
            let chained = !after.trim_start_matches('~').trim().starts_with("}}");
            if chained && let Some(top) = blocks.last_mut() {
                *top += 1;
                depth += 1;
            }
            chained
        } else {
            if inner.starts_with('/') {
                depth -= blocks.pop().unwrap_or(0);
            }
            false
        };
        if (opens || parens > 0) && depth + parens > MAX_NESTING {
            return Some(start);
        }
        i = end.max(start + 2);
    }
    None
}

/// The end of the tag `{{…}}` that `rest` starts with (after its `}}`), skipping string literals.
fn tag_end(rest: &str) -> Option<usize> {
    let mut quote = None;
    let mut chars = rest.char_indices().skip(2).peekable();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '}') if chars.peek().is_some_and(|&(_, n)| n == '}') => {
                return Some(i + 2);
            }
            _ => {}
        }
    }
    None
}

/// How deeply the subexpressions (`(lookup (…))`) of a tag nest.
fn paren_depth(tag: &str) -> usize {
    let (mut depth, mut max, mut quote) = (0usize, 0usize, None);
    for c in tag.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(') => {
                depth += 1;
                max = max.max(depth);
            }
            (None, ')') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// A partial a template includes: its name and where (a 1-based line and column, and how deeply
/// the inclusion is nested there).
struct Include {
    name: String,
    line: usize,
    column: usize,
    depth: usize,
}

/// What the walk of one template (or inline partial) found.
#[derive(Default)]
struct Walk {
    includes: Vec<Include>,
    /// The deepest nesting of the template's own blocks.
    depth: usize,
    /// `{{#*inline "name"}}` definitions: name and body.
    inline: Vec<(String, Vec<Include>, usize)>,
    /// Partials included by a computed name: `(line, column)`.
    dynamic: Vec<(usize, usize)>,
}

fn walk(template: &handlebars::template::Template, depth: usize, found: &mut Walk) {
    use handlebars::template::{Parameter, TemplateElement};
    found.depth = found.depth.max(depth);
    for (index, element) in template.elements.iter().enumerate() {
        let (line, column) = template.mapping.get(index).map_or((1, 1), |m| (m.0, m.1));
        match element {
            TemplateElement::HelperBlock(helper) => {
                for inner in [&helper.template, &helper.inverse].into_iter().flatten() {
                    walk(inner, depth + 1, found);
                }
            }
            TemplateElement::DecoratorBlock(decorator)
                if decorator.name.as_name() == Some("inline") =>
            {
                let name = match decorator.params.first() {
                    Some(Parameter::Literal(serde_json::Value::String(name))) => name.clone(),
                    Some(other) => other.as_name().unwrap_or_default().to_string(),
                    None => String::new(),
                };
                let mut body = Walk::default();
                if let Some(inner) = &decorator.template {
                    walk(inner, 0, &mut body);
                }
                found.inline.push((name, body.includes, body.depth));
                found.inline.extend(body.inline);
                found.dynamic.extend(body.dynamic);
            }
            TemplateElement::DecoratorBlock(decorator) => {
                if let Some(inner) = &decorator.template {
                    walk(inner, depth + 1, found);
                }
            }
            TemplateElement::PartialExpression(partial)
            | TemplateElement::PartialBlock(partial) => {
                let mut inner_depth = depth + 1;
                if let Some(inner) = &partial.template {
                    let before = std::mem::take(&mut found.depth);
                    walk(inner, depth + 1, found);
                    inner_depth = inner_depth.max(found.depth);
                    found.depth = found.depth.max(before);
                }
                let name = match &partial.name {
                    Parameter::Subexpression(_) => None,
                    Parameter::Literal(serde_json::Value::String(name)) => Some(name.clone()),
                    other => other.as_name().map(str::to_string),
                };
                match name {
                    Some(name) if name == "@partial-block" => {}
                    Some(name) => found.includes.push(Include {
                        name,
                        line,
                        column,
                        depth: inner_depth,
                    }),
                    None => found.dynamic.push((line, column)),
                }
            }
            _ => {}
        }
    }
}

/// A node of the inclusion graph: a registered template or partial, or an inline partial.
struct Node<'a> {
    /// How messages name it: `pa`, or `x` (inline in `templates/y.txt.hbs`).
    label: String,
    file: &'a SourceFile,
    includes: Vec<Include>,
    depth: usize,
    /// Whether it includes a partial by a computed name (reported).
    dynamic: bool,
    /// Indexes of the nodes each include can render.
    targets: Vec<Vec<usize>>,
}

/// Checks what rendering can never finish or would overflow the stack: partials that include
/// themselves through other partials (handlebars only refuses direct self-inclusion), partials
/// named by a computed value (which could do the same unseen), and nesting through partials deeper
/// than [`MAX_NESTING`]. Returns the templates that must not be rendered.
fn check_includes(
    handlebars: &Handlebars,
    files: &BTreeMap<String, &SourceFile>,
    diagnostics: &mut Vec<Diagnostic>,
) -> BTreeSet<String> {
    let mut nodes: Vec<Node> = Vec::new();
    let mut by_name: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut inline_by_name: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut registered: BTreeMap<&str, usize> = BTreeMap::new();
    for (name, file) in files {
        let Some(template) = handlebars.get_template(name) else {
            continue;
        };
        let mut found = Walk::default();
        walk(template, 0, &mut found);
        let dynamic = !found.dynamic.is_empty();
        for (line, column) in found.dynamic {
            let span = point(file, Some(line), Some(column));
            let mut sink = FileDiagnostics::new(file);
            sink.report(
                Code::TemplateRender,
                span,
                "this partial is named by a computed value".to_string(),
                "computed partial name",
                "write the partial's name out (`{{> oid4vci-display}}`): trustc checks before \
                 rendering that no partial includes itself, which it cannot do for computed names",
            );
            diagnostics.extend(sink.diagnostics);
        }
        registered.insert(name.as_str(), nodes.len());
        by_name.entry(name.clone()).or_default().push(nodes.len());
        nodes.push(Node {
            label: format!("`{name}`"),
            file,
            includes: found.includes,
            depth: found.depth,
            dynamic,
            targets: Vec::new(),
        });
        for (inline, includes, depth) in found.inline {
            inline_by_name
                .entry(inline.clone())
                .or_default()
                .push(nodes.len());
            nodes.push(Node {
                label: format!("`{inline}` (inline in `{}`)", file.path),
                file,
                includes,
                depth,
                dynamic: false,
                targets: Vec::new(),
            });
        }
    }
    // An include renders the registered partial of its name or an inline partial of that name
    // (inline partials are visible in the partials a template includes): assume any of them.
    for node in &mut nodes {
        node.targets = node
            .includes
            .iter()
            .map(|include| {
                let mut targets: Vec<usize> = by_name
                    .get(&include.name)
                    .into_iter()
                    .chain(inline_by_name.get(&include.name))
                    .flatten()
                    .copied()
                    .collect();
                targets.sort_unstable();
                targets.dedup();
                targets
            })
            .collect();
    }

    // Depth-first, with an explicit stack: the graph comes from user input.
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        New,
        Open,
        Done,
    }
    let mut state = vec![State::New; nodes.len()];
    // The deepest nesting a node renders with everything it includes; `None` when it is bad (a
    // cycle or too deep, already reported).
    let mut total: Vec<Option<usize>> = vec![Some(0); nodes.len()];
    let mut bad: Vec<bool> = nodes.iter().map(|n| n.dynamic).collect();
    for start in 0..nodes.len() {
        if state[start] != State::New {
            continue;
        }
        // (node, next include, next target of that include)
        let mut stack: Vec<(usize, usize, usize)> = vec![(start, 0, 0)];
        state[start] = State::Open;
        while let Some(&(node, include, target)) = stack.last() {
            let top = stack.len() - 1;
            let Some(targets) = nodes[node].targets.get(include) else {
                // Every include seen: the node's total depth.
                stack.pop();
                state[node] = State::Done;
                let mut deepest = (!bad[node]).then_some(nodes[node].depth);
                for (index, targets) in nodes[node].targets.iter().enumerate() {
                    let at = nodes[node].includes[index].depth;
                    for &t in targets {
                        deepest = match (deepest, total[t]) {
                            (Some(d), Some(inner)) => Some(d.max(at + inner)),
                            _ => None,
                        };
                    }
                }
                if let Some(d) = deepest
                    && d > MAX_NESTING
                {
                    let file = nodes[node].file;
                    let (span, at) = nodes[node]
                        .includes
                        .iter()
                        .zip(&nodes[node].targets)
                        .find(|(include, targets)| {
                            targets
                                .iter()
                                .any(|&t| total[t].is_some_and(|x| include.depth + x > MAX_NESTING))
                        })
                        .map_or((Span::new(0, 0), None), |(include, _)| {
                            (
                                point(file, Some(include.line), Some(include.column)),
                                Some(include.name.as_str()),
                            )
                        });
                    let mut sink = FileDiagnostics::new(file);
                    sink.report(
                        Code::InputTooComplex,
                        span,
                        format!(
                            "{} nests {d} levels deep with the partials it includes{}; the limit \
                             is {MAX_NESTING}",
                            nodes[node].label,
                            at.map_or(String::new(), |name| format!(" (through `{name}`)")),
                        ),
                        "too deep",
                        "trustc limits how deeply templates nest blocks and partials so that \
                         rendering cannot exhaust the stack; flatten the template",
                    );
                    diagnostics.extend(sink.diagnostics);
                    deepest = None;
                }
                bad[node] |= deepest.is_none();
                total[node] = deepest;
                continue;
            };
            let Some(&next) = targets.get(target) else {
                stack[top] = (node, include + 1, 0);
                continue;
            };
            stack[top] = (node, include, target + 1);
            match state[next] {
                State::New => {
                    state[next] = State::Open;
                    stack.push((next, 0, 0));
                }
                State::Done => {}
                State::Open => {
                    // A cycle: `next` is on the stack. Report it at the include closing it.
                    let include = &nodes[node].includes[include];
                    let from = stack.iter().position(|&(n, _, _)| n == next).unwrap_or(0);
                    let mut chain: Vec<&str> = stack[from..]
                        .iter()
                        .map(|&(n, _, _)| nodes[n].label.as_str())
                        .collect();
                    chain.push(nodes[next].label.as_str());
                    let file = nodes[node].file;
                    let mut sink = FileDiagnostics::new(file);
                    sink.report(
                        Code::TemplateRender,
                        point(file, Some(include.line), Some(include.column)),
                        format!(
                            "the partial {} includes itself: {}",
                            nodes[next].label,
                            chain.join(" → ")
                        ),
                        "includes itself",
                        "a partial cannot include itself, directly or through other partials: \
                         rendering it would never end; break the cycle",
                    );
                    diagnostics.extend(sink.diagnostics);
                    for &(n, _, _) in &stack[from..] {
                        bad[n] = true;
                    }
                }
            }
        }
    }
    // A node that can render a bad one is bad (the fold above misses nodes finished before a
    // cycle below them was found): propagate to a fixed point.
    let mut changed = true;
    while changed {
        changed = false;
        for node in 0..nodes.len() {
            if !bad[node] && nodes[node].targets.iter().flatten().any(|&t| bad[t]) {
                bad[node] = true;
                changed = true;
            }
        }
    }
    registered
        .into_iter()
        .filter(|&(_, node)| bad[node])
        .map(|(name, _)| name.to_string())
        .collect()
}
