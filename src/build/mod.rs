//! `trustc build`: check → resolve → generate → emit.
//!
//! The build runs every check first and stops there when any error is found. It then resolves the
//! governance into the compiled issuer configuration ([`resolve`]), renders every template with it
//! ([`templates`]), gives generated OCA bundles their digests ([`oca`]), and only when all of that
//! succeeded writes the output folder in one step ([`emit`]). Everything is ordered by name and
//! nothing depends on time or the machine, so two builds of the same input are byte-identical.

pub mod emit;
pub mod oca;
pub mod resolve;
pub mod templates;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};
use trustc_artifact::{CredentialFormat, Environment, IssuerConfig};

use crate::check::{Analysis, CheckOptions, Report, RunError, analyse};
use crate::diag::{Code, Diagnostic, FileDiagnostics};
use crate::source::{SourceFile, SourcePath};
use resolve::{CredentialExtras, Resolved};
use templates::{Engine, Template};

/// The path of the compiled issuer configuration in the output.
pub const CONFIG_PATH: &str = "issuer/config.json";

/// The path of a credential's DCQL query in the output: the OpenID4VP 1.0 query the issuer's
/// verifier sends for the credential's prerequisites, as in the configuration, for verifiers and
/// auditors to read.
pub fn dcql_query_path(credential: &str) -> String {
    format!("verifier/{credential}.dcql.json")
}

/// Which OpenID4VCI metadata shape to emit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Profile {
    /// OpenID4VCI 1.0 (final).
    #[default]
    V1,
    /// OpenID4VCI draft 13, for wallets that have not moved to 1.0.
    Draft13,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::V1 => "1.0",
            Profile::Draft13 => "draft-13",
        }
    }
}

/// Options of a build run.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    pub check: CheckOptions,
    pub environment: Environment,
    pub profile: Profile,
    /// The credential issuer identifier the metadata names.
    pub credential_issuer: String,
}

/// One file of the output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// `/`-separated path under the output folder.
    pub path: String,
    pub bytes: Vec<u8>,
    /// What produced it (a template's path), for messages.
    pub source: String,
    /// The template that rendered it, if a template did.
    pub template: Option<Arc<SourcePath>>,
}

/// The outcome of a build: the diagnostics, and the files when there was no error.
pub struct Build {
    pub report: Report,
    /// Sorted by path; empty when the report has errors.
    pub outputs: Vec<Output>,
    pub config: Option<IssuerConfig>,
}

/// Checks and compiles the repository at `path`. Nothing is written here (see [`emit::write`]).
pub fn build(path: &Path, options: &BuildOptions) -> Result<Build, RunError> {
    let analysis = analyse(path, &options.check)?;
    if !analysis.root.join(crate::discover::GOVERNANCE_DIR).is_dir() {
        return Err(RunError(format!(
            "nothing to build in `{}`: it has no `governance/` folder (`trustc build` compiles a \
             governance repository; `trustc check` checks a folder of OCA bundles)",
            path.display()
        )));
    }
    if analysis.report.summary.errors > 0 {
        return Ok(Build {
            report: analysis.report,
            outputs: Vec::new(),
            config: None,
        });
    }
    let mut diagnostics = Vec::new();
    let generated = generate(&analysis, options, &mut diagnostics);
    let Analysis { mut report, .. } = analysis;
    let new: Vec<Diagnostic> = diagnostics
        .into_iter()
        .filter_map(|d| options.check.overrides.apply(d))
        .collect();
    report.diagnostics.extend(new);
    report.settle();
    let failed = report.summary.errors > 0;
    Ok(match (failed, generated) {
        (false, Some((outputs, config))) => Build {
            report,
            outputs,
            config: Some(config),
        },
        _ => Build {
            report,
            outputs: Vec::new(),
            config: None,
        },
    })
}

fn generate(
    analysis: &Analysis,
    options: &BuildOptions,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<(Vec<Output>, IssuerConfig)> {
    let Resolved { config, extras } =
        match resolve::resolve(analysis, options.environment, &options.credential_issuer) {
            Ok(resolved) => resolved,
            Err(error) => {
                diagnostics.push(
                    Diagnostic::new(
                        Code::IoError,
                        format!("credential `{}`: {}", error.credential, error.message),
                    )
                    .with_help(
                        "the check read this image; make sure it is still there and readable",
                    ),
                );
                return None;
            }
        };
    let templates = templates::load(&analysis.root, diagnostics);
    let engine = Engine::new(&templates, diagnostics);
    let mut outputs = vec![Output {
        path: CONFIG_PATH.to_string(),
        bytes: pretty_json(&serde_json::to_value(&config).expect("the config serialises")),
        source: "the issuer configuration".to_string(),
        template: None,
    }];
    for (credential, extra) in config.credentials.iter().zip(&extras) {
        if let Some(query) = &credential.dcql_query {
            outputs.push(Output {
                path: dcql_query_path(&credential.id),
                bytes: pretty_json(&serde_json::to_value(query).expect("the query serialises")),
                source: format!("the DCQL query of `{}`", credential.id),
                template: None,
            });
        }
        for (path, bytes) in &extra.copied_images {
            outputs.push(Output {
                path: path.clone(),
                bytes: bytes.clone(),
                source: format!("the images of `{}`", credential.id),
                template: None,
            });
        }
    }

    let credentials: Vec<Value> = config
        .credentials
        .iter()
        .zip(&extras)
        .map(|(credential, extra)| credential_context(&config, credential, extra))
        .collect();
    let mut context = handlebars::Context::from(json!({
        "environment": options.environment.name(),
        "profile": options.profile.name(),
        "draft13": options.profile == Profile::Draft13,
        "credential_issuer": config.credential_issuer,
        "endpoints": endpoints(&config.credential_issuer),
        "presentation_during_issuance": presentation_during_issuance(&config),
        "login": login_during_issuance(&config),
        "authorization_code": presentation_during_issuance(&config) || login_during_issuance(&config),
        "issuer_display": issuer_display(&config),
        "batch_size": batch_size(&config),
        "content_hash": config.content_hash,
        "frameworks": config.frameworks,
        "trust": trust_context(&config),
        "credentials": credentials,
        "oca_bundles": [],
    }));

    // Per-credential templates first: the indexes (global templates) list the bundles they made.
    let per_credential: Vec<&Template> = templates
        .iter()
        .filter(|t| engine.has(t) && t.is_per_credential())
        .collect();
    let rendered = render_per_credential(&engine, &per_credential, &mut context, &config, &extras);
    outputs.extend(rendered.outputs);
    diagnostics.extend(rendered.diagnostics);
    let mut bundles = rendered.bundles;
    if let Some(map) = context.data_mut().as_object_mut() {
        map.remove("credential");
    }
    bundles.sort_by(|a, b| a.path.cmp(&b.path));
    context.data_mut()["oca_bundles"] = serde_json::to_value(&bundles).expect("entries serialise");
    for template in templates
        .iter()
        .filter(|t| engine.has(t) && !t.is_per_credential())
    {
        let path = template.output_pattern().to_string();
        if let Some(output) = render(&engine, template, &context, path, diagnostics) {
            outputs.push(output);
        }
    }

    outputs.sort_by(|a, b| a.path.cmp(&b.path));
    check_generated_bundles(&outputs, &templates, options, diagnostics);
    for pair in outputs.windows(2) {
        if pair[0].path == pair[1].path && pair[0].bytes != pair[1].bytes {
            let diagnostic = Diagnostic::new(
                Code::OutputConflict,
                format!(
                    "`{}` would be written by {} and by {}",
                    pair[0].path, pair[0].source, pair[1].source
                ),
            )
            .with_help(
                if pair[0].template.is_none() || pair[1].template.is_none() {
                    "trustc writes this file itself; give the template another path"
                } else {
                    "two credentials or templates produce the same output path with different \
                     content; give the credentials different ids or OCA bundle folders"
                },
            );
            diagnostics.push(match conflict_template(&pair[0], &pair[1], &templates) {
                Some(file) => diagnostic.in_file(file),
                None => diagnostic,
            });
        }
    }
    outputs.dedup_by(|a, b| a.path == b.path);
    Some((outputs, config))
}

/// The template file a conflict is reported in: a repository's own template (the one the user
/// can change) before a built-in one.
fn conflict_template(a: &Output, b: &Output, templates: &[Template]) -> Option<Arc<SourcePath>> {
    let of = |output: &Output| {
        let path = output.template.as_ref()?;
        templates.iter().find(|t| &t.file.path == path)
    };
    let (a, b) = (of(a), of(b));
    [b, a]
        .into_iter()
        .flatten()
        .find(|t| t.from_repository)
        .or(b)
        .or(a)
        .map(|t| t.file.path.clone())
}

/// Checks every generated OCA bundle as `trustc check` would check it: a bundle the check rejects
/// is an error of the template that rendered it.
fn check_generated_bundles(
    outputs: &[Output],
    templates: &[Template],
    options: &BuildOptions,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let paths: BTreeSet<&str> = outputs.iter().map(|o| o.path.as_str()).collect();
    for output in outputs {
        if !(output.path.starts_with("oca/") && output.path.ends_with("/OCABundle.json")) {
            continue;
        }
        let Some(template) = output
            .template
            .as_ref()
            .and_then(|path| templates.iter().find(|t| &t.file.path == path))
        else {
            continue;
        };
        let generated = SourceFile::new(
            Arc::new(SourcePath {
                display: output.path.clone(),
                absolute: output.path.clone().into(),
            }),
            String::from_utf8_lossy(&output.bytes).into_owned(),
        );
        for found in oca::check_generated(&generated, &paths, &options.check.overrides) {
            let (line, column) = found.line_column();
            let mut sink = FileDiagnostics::new(&template.file);
            sink.report(
                Code::TemplateOutput,
                crate::syntax::Span::new(0, 0),
                format!(
                    "the template rendered `{}` as an OCA bundle that `trustc check` rejects: \
                     {} ({} at line {line}, column {column} of the output)",
                    output.path, found.message, found.code
                ),
                "this template",
                found.help.clone().unwrap_or_else(|| {
                    "generated bundles must pass `trustc check`: a JSON array holding one \
                     `{capture_base, overlays}` object, as the built-in template writes it"
                        .to_string()
                }),
            );
            diagnostics.extend(sink.diagnostics);
        }
    }
}

/// What the per-credential templates rendered.
#[derive(Default)]
struct Rendered {
    outputs: Vec<Output>,
    bundles: Vec<oca::IndexEntry>,
    diagnostics: Vec<Diagnostic>,
}

/// Renders every per-credential template for every credential. The context gets one credential at
/// a time (as `credential`): it holds every credential, so copying it per render would make builds
/// quadratic. (Rendering on several threads was measured: 8% faster on 2 cores for 70% more
/// memory, since each thread needs its own context; not worth it.)
fn render_per_credential(
    engine: &Engine,
    templates: &[&Template],
    context: &mut handlebars::Context,
    config: &IssuerConfig,
    extras: &[CredentialExtras],
) -> Rendered {
    let mut part = Rendered::default();
    for (index, (credential, extra)) in config.credentials.iter().zip(extras).enumerate() {
        let current = context.data()["credentials"][index].clone();
        context.data_mut()["credential"] = current;
        for template in templates {
            let path = template
                .output_pattern()
                .replace(templates::CREDENTIAL_PLACEHOLDER, &credential.id)
                .replace(templates::OCA_PLACEHOLDER, &extra.oca.path);
            let Some(output) = render(engine, template, context, path, &mut part.diagnostics)
            else {
                continue;
            };
            if output.path.starts_with("oca/") && output.path.ends_with("/OCABundle.json") {
                part.bundles.push(oca::index_entry(&output, extra));
            }
            part.outputs.push(output);
        }
    }
    part
}

/// Renders one template to one output; `None` when it rendered nothing or failed (reported).
fn render(
    engine: &Engine,
    template: &Template,
    context: &handlebars::Context,
    path: String,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Output> {
    let text = match engine.render(template, context) {
        Ok(text) => text,
        Err(diagnostic) => {
            diagnostics.push(diagnostic);
            return None;
        }
    };
    if text.trim().is_empty() {
        // A template that renders nothing writes no file (a vct for a credential without SD-JWT).
        return None;
    }
    let bytes = if is_json_output(&path) {
        let mut value: Value = match serde_json::from_str(&strip_trailing_commas(&text)) {
            Ok(value) => value,
            Err(error) => {
                diagnostics.push(output_diagnostic(template, &path, &text, &error));
                return None;
            }
        };
        if path.ends_with("/OCABundle.json") {
            oca::seal(&mut value);
        }
        pretty_json(&value)
    } else {
        tidy_text(&text).into_bytes()
    };
    Some(Output {
        path,
        bytes,
        source: format!("`{}`", template.file.path),
        template: Some(template.file.path.clone()),
    })
}

/// Outputs that are JSON: `*.json`, and the `.well-known` metadata documents.
pub fn is_json_output(path: &str) -> bool {
    path.ends_with(".json") || path.starts_with(".well-known/")
}

/// Pretty JSON with a final newline: the layout every JSON output has.
pub fn pretty_json(value: &Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("JSON values serialise");
    bytes.push(b'\n');
    bytes
}

/// Text outputs: no trailing spaces, at most one blank line in a row, one final newline.
fn tidy_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.trim_start_matches('\n').lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

fn output_diagnostic(
    template: &Template,
    path: &str,
    text: &str,
    error: &serde_json::Error,
) -> Diagnostic {
    let line = text
        .lines()
        .nth(error.line().saturating_sub(1))
        .unwrap_or("");
    let mut sink = FileDiagnostics::new(&template.file);
    sink.report(
        Code::TemplateOutput,
        crate::syntax::Span::new(0, 0),
        format!("the template rendered `{path}` as invalid JSON: {error}"),
        "this template",
        format!(
            "line {} of the output is `{}`; check the commas and quotes around `{{{{#each}}}}` \
             and `{{{{#if}}}}` blocks, and write values with `{{{{json …}}}}`",
            error.line(),
            line.trim()
        ),
    );
    sink.diagnostics.pop().expect("just reported")
}

/// The endpoints of the issuer service the metadata names.
fn endpoints(issuer: &str) -> Value {
    let base = issuer.trim_end_matches('/');
    json!({
        "credential": format!("{base}/credential"),
        "nonce": format!("{base}/nonce"),
        "token": format!("{base}/token"),
        "authorization_challenge": format!("{base}/authorize-challenge"),
        "authorization": format!("{base}/authorize"),
        "pushed_authorization_request": format!("{base}/par"),
        "status_lists": format!("{base}/status-lists"),
    })
}

/// Whether a credential issued over OpenID4VCI has prerequisites, so that wallets must present
/// them during issuance (the authorization challenge endpoint and the authorization code grant).
fn presentation_during_issuance(config: &IssuerConfig) -> bool {
    config
        .credentials
        .iter()
        .any(|c| c.formats.contains(&CredentialFormat::SdJwtVc) && !c.prerequisites.is_empty())
}

/// Whether a credential issued over OpenID4VCI signs the holder in with a login provider, so
/// that the authorization server offers the authorization code flow (PAR, the authorization
/// endpoint, PKCE, `iss` in the response, DPoP).
fn login_during_issuance(config: &IssuerConfig) -> bool {
    config
        .credentials
        .iter()
        .any(|c| c.formats.contains(&CredentialFormat::SdJwtVc) && c.authentication.login.is_some())
}

/// The issuer's own display (name and logo per locale) when one participant issues everything.
/// The issuer metadata's `batch_credential_issuance.batch_size`: the largest batch among the
/// credentials issued over OpenID4VCI, or null when that is 1 (OpenID4VCI 1.0 §12.2.4: the
/// parameter says the issuer takes more than one proof, and its size is at least 2). The
/// runtime recomputes it for the credentials one participant serves (`--participant`).
fn batch_size(config: &IssuerConfig) -> Value {
    config
        .credentials
        .iter()
        .filter(|c| c.formats.contains(&CredentialFormat::SdJwtVc))
        .map(|c| c.batch.size)
        .max()
        .filter(|size| *size >= 2)
        .map_or(Value::Null, Value::from)
}

fn issuer_display(config: &IssuerConfig) -> Value {
    let mut issuers: Vec<&str> = config
        .credentials
        .iter()
        .flat_map(|c| c.issuers.iter().map(|i| i.participant.as_str()))
        .collect();
    issuers.sort_unstable();
    issuers.dedup();
    let [only] = issuers[..] else {
        return json!([]);
    };
    let Some(credential) = config
        .credentials
        .iter()
        .find(|c| c.issuers.iter().any(|i| i.participant == only))
    else {
        return json!([]);
    };
    let issuer = credential
        .issuers
        .iter()
        .find(|i| i.participant == only)
        .expect("found above");
    let displays: Vec<Value> = issuer
        .name
        .iter()
        .map(|(locale, name)| {
            let logo = credential
                .display
                .iter()
                .find(|d| &d.locale == locale)
                .and_then(|d| d.logo.clone());
            json!({"locale": locale, "name": name, "logo": logo})
        })
        .collect();
    Value::Array(displays)
}

/// A credential as templates see it: its compiled configuration plus what templates need often.
fn credential_context(
    config: &IssuerConfig,
    credential: &trustc_artifact::CredentialType,
    extra: &CredentialExtras,
) -> Value {
    let mut value = serde_json::to_value(credential).expect("credentials serialise");
    let attributes: Vec<Value> = credential
        .attributes
        .iter()
        .map(|attribute| {
            let mut a = serde_json::to_value(attribute).expect("attributes serialise");
            let (json_type, json_format) = json_schema_type(attribute.kind);
            a["json_type"] = json!(json_type);
            a["json_format"] = json!(json_format);
            a["json_pattern"] = json!(attribute.pattern.as_ref().map(|p| format!("^(?:{p})$")));
            a["sd"] = json!(attribute.disclosure.name());
            a["oca_type"] = json!(
                extra
                    .oca
                    .attributes
                    .iter()
                    .find(|o| o.name == attribute.name)
                    .map(|o| o.oca_type.clone())
            );
            let first = attribute.display.first();
            a["title"] = json!(first.map_or(attribute.name.as_str(), |d| d.label.as_str()));
            a["summary"] = json!(first.and_then(|d| d.description.as_deref()));
            a["has_example"] = json!(attribute.example.is_some());
            a["example"] = json!(attribute.example);
            a["source"] = json!(
                credential
                    .claims
                    .iter()
                    .find(|c| c.claim == attribute.name)
                    .map(|c| &c.source)
            );
            a
        })
        .collect();
    value["attributes"] = Value::Array(attributes);
    value["sd_jwt"] = json!(credential.formats.contains(&CredentialFormat::SdJwtVc));
    // A wallet may start the flow itself (OpenID4VCI `scope`) only for a login credential
    // whose required claims do not wait for an offer.
    value["wallet_initiated"] = json!(
        credential
            .authentication
            .login
            .as_ref()
            .is_some_and(|l| l.wallet_initiated)
    );
    value["anoncreds"] = json!(credential.formats.contains(&CredentialFormat::AnonCreds));
    value["oca"] = serde_json::to_value(&extra.oca).expect("the OCA view serialises");
    value["anoncreds_schema"] = anoncreds_context(credential, extra);
    value["schema_id"] = json!(format!(
        "{}/schemas/{}.schema.json",
        config.credential_issuer.trim_end_matches('/'),
        credential.id
    ));
    let first = credential.display.first();
    value["title"] = json!(first.map_or(credential.id.as_str(), |d| d.name.as_str()));
    value["summary"] = json!(first.and_then(|d| d.description.as_deref()));
    value["sd_list"] = json!(
        credential
            .disclosure_frame
            .sd
            .iter()
            .map(|name| trustc_artifact::claim_pointer(name))
            .collect::<Vec<_>>()
    );
    value["required"] = json!(
        credential
            .attributes
            .iter()
            .filter(|a| a.required)
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>()
    );
    value
}

fn anoncreds_context(
    credential: &trustc_artifact::CredentialType,
    extra: &CredentialExtras,
) -> Value {
    let issuer_id = credential
        .issuers
        .iter()
        .flat_map(|i| i.identifiers.iter())
        .find(|id| id.starts_with("did:"));
    let name = extra.schema_name.clone();
    let schema_id =
        issuer_id.map(|did| resolve::anoncreds_schema_id(did, &name, &credential.version));
    json!({
        "name": name,
        "version": credential.version,
        "issuer_id": issuer_id,
        "schema_id": schema_id,
        "tag": extra.tag,
        "support_revocation": credential.revocation == trustc_artifact::Revocation::StatusList,
        "revocation_registry_size": extra.revocation_registry_size,
        "attr_names": credential.attributes.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
    })
}

/// The JSON Schema type and format of an attribute type.
fn json_schema_type(kind: trustc_artifact::AttributeType) -> (&'static str, Option<&'static str>) {
    use trustc_artifact::AttributeType as T;
    match kind {
        T::Text | T::Enum | T::Binary => ("string", None),
        T::Number => ("number", None),
        T::Integer => ("integer", None),
        T::Boolean => ("boolean", None),
        T::Date => ("string", Some("date")),
        T::Datetime => ("string", Some("date-time")),
    }
}

/// Who may issue what, as rows a trust registry can answer TRQP authorization queries from, and
/// which authorities recognise issuers of other frameworks (through prerequisites).
fn trust_context(config: &IssuerConfig) -> Value {
    let mut authorizations = Vec::new();
    for framework in &config.frameworks {
        for participant in &framework.participants {
            for issued in &participant.issues {
                let credential = config
                    .credentials
                    .iter()
                    .find(|c| format!("{}/{}", c.framework, c.id) == *issued);
                for entity in &participant.identifiers {
                    authorizations.push(json!({
                        "authority_id": framework.authority.id,
                        "entity_id": entity,
                        "action": "issue",
                        "resource": credential.and_then(|c| c.vct.clone()).unwrap_or_else(|| issued.clone()),
                        "framework": framework.id,
                        "framework_version": framework.version,
                        "participant": participant.id,
                        "credential": issued,
                    }));
                }
            }
        }
    }
    let mut recognitions = Vec::new();
    for credential in &config.credentials {
        let Some(framework) = config
            .frameworks
            .iter()
            .find(|f| f.id == credential.framework)
        else {
            continue;
        };
        for prerequisite in &credential.prerequisites {
            for issuer in &prerequisite.trusted_issuers {
                for entity in &issuer.identifiers {
                    recognitions.push(json!({
                        "authority_id": framework.authority.id,
                        "entity_id": entity,
                        "action": "recognize",
                        "resource": prerequisite.vct.clone().unwrap_or_else(|| prerequisite.credential.clone()),
                        "framework": framework.id,
                        "participant": issuer.participant,
                        "credential": prerequisite.credential,
                        "for": format!("{}/{}", credential.framework, credential.id),
                    }));
                }
            }
        }
    }
    json!({"authorizations": authorizations, "recognitions": recognitions})
}

/// Removes commas that directly precede a closing `}` or `]` (outside strings), so JSON templates
/// can end every item of an `{{#each}}` block with a comma.
pub fn strip_trailing_commas(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut last = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b',' => {
                let next = bytes[i + 1..].iter().find(|c| !c.is_ascii_whitespace());
                if matches!(next, Some(b'}' | b']')) {
                    out.push_str(&text[last..i]);
                    last = i + 1;
                }
            }
            _ => {}
        }
    }
    out.push_str(&text[last..]);
    out
}
