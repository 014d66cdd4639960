//! Resolve and semantic-check stages for governance frameworks.
//!
//! Runs after every framework passed its schema. References are resolved across all frameworks of
//! the repository (`credential: person` in the same framework, `bc-digital-identity/person` in
//! another), then each framework is checked: versions, languages, identifiers, the trust list,
//! attribute values, branding, issuance rules, and agreement with the OCA bundle it names.

mod login;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use regex::Regex;
use trustc_artifact::Environment;
use trustc_artifact::values::quoted_list;

use super::model::{
    Attribute, AttributeType, Credential, CredentialFormat, Disclosure, Governance, Participant,
    SourceKind, Text, oca_type,
};
use super::values::{check_value, compile_pattern};
use crate::diag::{Code, Diagnostic, FileDiagnostics};
use crate::discover::OCA_BUNDLES_DIR;
use crate::formats;
use crate::images::{ImageContext, LocalImages};
use crate::oca::check::{CardAttributes, check_branding_content, check_language_tag};
use crate::oca::{BUNDLE_FILE_NAME, Bundle, OverlayKind};
use crate::source::SourceFile;
use crate::syntax::{Span, Spanned};

/// A governance file that passed its schema.
pub struct Document {
    pub file: SourceFile,
    pub model: Governance,
}

/// An OCA bundle named by a credential, read and checked on its own already.
pub struct LoadedBundle {
    pub file: SourceFile,
    pub bundle: Bundle,
}

/// Claims an SD-JWT VC issuer sets itself; an attribute cannot have these names.
const RESERVED_CLAIMS: &[&str] = &[
    "_sd",
    "_sd_alg",
    "...",
    "cnf",
    "vct",
    "vct#integrity",
    "aka_vcts",
    "status",
];

/// Registered claims that SD-JWT VC forbids making selectively disclosable.
const NEVER_DISCLOSABLE: &[&str] = &["iss", "nbf", "exp"];

/// Where the bundle named by `oca_bundle: value` is: `oca-bundles/<value>/OCABundle.json`, or
/// `oca-bundles/<value>` when the value names a `.json` file.
pub fn bundle_path(root: &Path, value: &str) -> PathBuf {
    let base = root.join(OCA_BUNDLES_DIR).join(value);
    if value.ends_with(".json") {
        base
    } else {
        base.join(BUNDLE_FILE_NAME)
    }
}

/// A reference resolved to `(framework id, id)`.
pub type Key<'a> = (&'a str, &'a str);

/// Everything that can be referred to, by `(framework id, id)`. The checks resolve references
/// with it, and `trustc build` compiles from it.
pub struct Index<'a> {
    /// The first credential type of each key (a second one is a `duplicate-id` error).
    pub credentials: HashMap<Key<'a>, &'a Credential>,
    /// Each participant, with the framework that defines it.
    pub participants: HashMap<Key<'a>, (&'a Participant, &'a Governance)>,
    /// Credential → the participants authorised to issue it.
    pub issuers: HashMap<Key<'a>, Vec<Key<'a>>>,
}

/// Splits a reference into framework and id; an unqualified reference is in `current`.
pub fn split_reference<'a>(current: &'a str, reference: &'a str) -> Key<'a> {
    match reference.split_once('/') {
        Some((framework, id)) => (framework, id),
        None => (current, reference),
    }
}

impl<'a> Index<'a> {
    pub fn build(documents: &'a [Document]) -> Index<'a> {
        let mut index = Index {
            credentials: HashMap::new(),
            participants: HashMap::new(),
            issuers: HashMap::new(),
        };
        for document in documents {
            let framework = document.model.framework.id.value.as_str();
            for credential in &document.model.credentials {
                index
                    .credentials
                    .entry((framework, credential.id.value.as_str()))
                    .or_insert(credential);
            }
            for participant in &document.model.participants {
                let key = (framework, participant.id.value.as_str());
                index
                    .participants
                    .insert(key, (participant, &document.model));
                for issued in &participant.issues {
                    let credential = split_reference(framework, &issued.value);
                    index.issuers.entry(credential).or_default().push(key);
                }
            }
        }
        index
    }
}

/// Checks all frameworks together.
///
/// `incomplete`: some governance file of the repository could not be read (its errors are
/// reported), so references into frameworks not among `documents` are left unreported rather
/// than called unknown.
pub fn check_all(
    root: &Path,
    documents: &[Document],
    bundles: &HashMap<PathBuf, LoadedBundle>,
    incomplete: bool,
    out: &mut Vec<Diagnostic>,
) {
    let index = Index::build(documents);
    let frameworks: BTreeSet<&str> = documents
        .iter()
        .map(|d| d.model.framework.id.value.as_str())
        .collect();
    let mut framework_ids: HashMap<&str, &Document> = HashMap::new();
    let mut vcts: HashMap<&str, (&Document, Span)> = HashMap::new();
    let mut credential_ids: HashMap<&str, (&Document, Span)> = HashMap::new();
    for document in documents {
        let mut checker = Checker {
            root,
            document,
            index: &index,
            bundles,
            sink: FileDiagnostics::new(&document.file),
            frameworks: &frameworks,
            incomplete,
        };
        let framework = &document.model.framework;
        if let Some(first) = framework_ids.get(framework.id.value.as_str()) {
            checker.sink.report(
                Code::DuplicateId,
                framework.id.span,
                format!("framework id `{}` is also used by {}", framework.id.value, first.file.path),
                "duplicate framework id",
                "framework ids must be unique in the repository: other frameworks refer to this one by its id",
            );
        } else {
            framework_ids.insert(&framework.id.value, document);
        }
        for credential in &document.model.credentials {
            let id = credential.id.value.as_str();
            match credential_ids.get(id) {
                Some((first, span)) if !std::ptr::eq(*first, document) => {
                    let (line, column) = first.file.line_column(span.start);
                    checker.sink.report(
                        Code::DuplicateId,
                        credential.id.span,
                        format!(
                            "credential type id `{id}` is also used by framework `{}`",
                            first.model.framework.id.value
                        ),
                        "duplicate credential type id",
                        format!(
                            "first used at {}:{line}:{column}; `trustc build` names its outputs and \
                             OpenID4VCI credential configurations by credential id, so ids must be \
                             unique in the repository",
                            first.file.path
                        ),
                    );
                }
                Some(_) => {}
                None => {
                    credential_ids.insert(id, (document, credential.id.span));
                }
            }
            if let Some(vct) = &credential.vct {
                if let Some((first, span)) = vcts.get(vct.value.as_str()) {
                    let (line, column) = first.file.line_column(span.start);
                    checker.sink.report(
                        Code::DuplicateId,
                        vct.span,
                        format!("vct `{}` is already used by another credential type", vct.value),
                        "duplicate vct",
                        format!(
                            "first used at {}:{line}:{column}; a vct names one credential type, and a new \
                             incompatible version needs a new vct",
                            first.file.path
                        ),
                    );
                } else {
                    vcts.insert(&vct.value, (document, vct.span));
                }
            }
        }
        checker.check();
        out.extend(checker.sink.diagnostics);
    }
}

struct Checker<'a> {
    root: &'a Path,
    document: &'a Document,
    index: &'a Index<'a>,
    bundles: &'a HashMap<PathBuf, LoadedBundle>,
    sink: FileDiagnostics<'a>,
    /// The ids of the frameworks read; with `incomplete`, some governance file could not be
    /// read, and a reference into a framework not read is not reported: that framework may be
    /// the unreadable one, whose own errors are reported already.
    frameworks: &'a BTreeSet<&'a str>,
    incomplete: bool,
}

impl<'a> Checker<'a> {
    fn model(&self) -> &'a Governance {
        &self.document.model
    }

    fn framework_id(&self) -> &'a str {
        &self.document.model.framework.id.value
    }

    fn locales(&self) -> Vec<&'a str> {
        self.model().framework.locale_names().collect()
    }

    fn check(&mut self) {
        self.check_framework();
        self.check_participants();
        self.check_login_providers();
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for credential in &self.model().credentials {
            self.check_duplicate(&mut seen, &credential.id, "credential type");
            self.check_credential(credential);
        }
    }

    fn check_duplicate(
        &mut self,
        seen: &mut HashMap<&'a str, Span>,
        id: &'a Spanned<String>,
        what: &str,
    ) {
        if let Some(&first) = seen.get(id.value.as_str()) {
            let diagnostic = self
                .sink
                .diagnostic(
                    Code::DuplicateId,
                    format!("{what} id `{}` is used twice", id.value),
                )
                .label(id.span, "second use")
                .label(first, "first use")
                .help(format!(
                    "each {what} needs its own id; references would be ambiguous"
                ))
                .build();
            self.sink.push(diagnostic);
        } else {
            seen.insert(&id.value, id.span);
        }
    }

    fn check_version(&mut self, version: &Spanned<String>, what: &str) {
        if let Err(error) = semver::Version::parse(&version.value) {
            self.sink.report(
                Code::InvalidVersion,
                version.span,
                format!(
                    "{what} version `{}` is not a semantic version",
                    version.value
                ),
                error.to_string(),
                "write MAJOR.MINOR.PATCH, for example `1.0.0`",
            );
        }
    }

    fn check_framework(&mut self) {
        let framework = &self.model().framework;
        self.check_version(&framework.version, "the framework");
        let mut seen = BTreeSet::new();
        for locale in &framework.locales.value {
            check_language_tag(locale, &mut self.sink);
            seen.insert(locale.value.as_str());
        }
        self.check_text(&framework.name, "the framework's name");
        if let Some(description) = &framework.description {
            self.check_text(description, "the framework's description");
        }
        self.check_text(&framework.authority.name, "the authority's name");
        if let Some(id) = &framework.authority.id {
            self.check_identifier(id, "the authority's id");
        }
        for url in [&framework.authority.website, &framework.documentation]
            .into_iter()
            .flatten()
        {
            self.check_url(url);
        }
    }

    /// Checks per-locale text: valid locales, only the framework's, and none missing.
    fn check_text(&mut self, text: &Spanned<Text>, what: &str) {
        let locales = self.locales();
        let Text::PerLocale(map) = &text.value else {
            return;
        };
        for key in map.keys() {
            if !locales.contains(&key.value.as_str()) {
                if formats::parse_language(&key.value).is_err() {
                    check_language_tag(key, &mut self.sink);
                } else {
                    self.sink.report(
                        Code::UnknownReference,
                        key.span,
                        format!("`{}` is not one of the framework's locales", key.value),
                        "not declared in `framework.locales`",
                        format!(
                            "the framework's locales are {}; add `{}` there or remove this text",
                            quoted_list(&locales),
                            key.value
                        ),
                    );
                }
            }
        }
        let missing: Vec<&str> = locales
            .iter()
            .copied()
            .filter(|l| !map.contains_key(l))
            .collect();
        if !missing.is_empty() {
            self.sink.report(
                Code::MissingLocale,
                text.span,
                format!("{what} has no text for {}", quoted_list(&missing)),
                format!("missing {}", quoted_list(&missing)),
                "every text needs each of the framework's locales, or one string for all of them",
            );
        }
    }

    fn check_identifier(&mut self, id: &Spanned<String>, what: &str) {
        if let Err(message) = formats::check_identifier(&id.value) {
            self.sink.report(
                Code::InvalidIdentifier,
                id.span,
                format!("{what} `{}` is not a valid identifier", id.value),
                message,
                "write a DID such as `did:web:example.org` or an https URL",
            );
        }
    }

    fn check_url(&mut self, url: &Spanned<String>) {
        if let Err(message) = formats::check_https_url(&url.value) {
            self.sink.report(
                Code::InvalidIdentifier,
                url.span,
                format!("`{}` is not a valid https URL", url.value),
                message,
                "write an absolute https URL such as `https://example.org/governance`",
            );
        }
    }

    fn check_participants(&mut self) {
        let framework = self.framework_id();
        let mut seen: HashMap<&str, Span> = HashMap::new();
        let mut identifiers: HashMap<&str, &str> = HashMap::new();
        for participant in &self.model().participants {
            self.check_duplicate(&mut seen, &participant.id, "participant");
            self.check_text(&participant.name, "the participant's name");
            if let Some(description) = &participant.description {
                self.check_text(description, "the participant's description");
            }
            if let Some(website) = &participant.website {
                self.check_url(website);
            }
            for issued in &participant.issues {
                let key = split_reference(framework, &issued.value);
                if !self.index.credentials.contains_key(&key) {
                    self.unknown_reference(issued, "credential type", self.credential_candidates());
                }
            }
            let Some(ids) = &participant.identifiers else {
                if !participant.issues.is_empty() {
                    self.sink.report(
                        Code::MissingIdentifier,
                        participant.id.span,
                        format!("participant `{}` issues credentials but has no identifiers", participant.id.value),
                        "no `identifiers`",
                        "add its DID or https URL for each environment (dev, test, prod); wallets and verifiers recognise issuers by them",
                    );
                }
                continue;
            };
            for environment in Environment::ALL {
                let list = ids.value.get(environment);
                for id in list {
                    self.check_identifier(id, &format!("the {environment} identifier"));
                    if let Some(other) = identifiers.insert(&id.value, &participant.id.value)
                        && other != participant.id.value
                    {
                        self.sink.report(
                            Code::DuplicateId,
                            id.span,
                            format!("identifier `{}` is also used by participant `{other}`", id.value),
                            "shared identifier",
                            "an identifier names one organisation; a verifier could not tell the two apart",
                        );
                    }
                }
                if list.is_empty() && !participant.issues.is_empty() {
                    self.sink.report(
                        Code::MissingIdentifier,
                        ids.span,
                        format!(
                            "participant `{}` issues credentials but has no `{environment}` identifier",
                            participant.id.value
                        ),
                        format!("no `{environment}`"),
                        format!("add `{environment}:` with its DID or https URL in that environment; builds for `{environment}` would list no issuer"),
                    );
                }
            }
        }
    }

    /// How a key is written from this framework: `id` here, `framework/id` elsewhere.
    fn reference_to(&self, (framework, id): &Key) -> String {
        if *framework == self.framework_id() {
            id.to_string()
        } else {
            format!("{framework}/{id}")
        }
    }

    fn credential_candidates(&self) -> Vec<String> {
        self.index
            .credentials
            .keys()
            .map(|k| self.reference_to(k))
            .collect()
    }

    fn participant_candidates(&self) -> Vec<String> {
        self.index
            .participants
            .keys()
            .map(|k| self.reference_to(k))
            .collect()
    }

    fn unknown_reference(
        &mut self,
        reference: &Spanned<String>,
        what: &str,
        mut candidates: Vec<String>,
    ) {
        let (framework, _) = split_reference(self.framework_id(), &reference.value);
        if self.incomplete && !self.frameworks.contains(framework) {
            return;
        }
        candidates.sort();
        let help = match crate::schema::closest(&reference.value, &candidates) {
            Some(s) => format!("did you mean `{s}`?"),
            None if candidates.is_empty() => format!("no {what} is defined"),
            None => format!("known: {}", quoted_list(&candidates)),
        };
        self.sink.report(
            Code::UnknownReference,
            reference.span,
            format!("no {what} named `{}`", reference.value),
            format!("unknown {what}"),
            help,
        );
    }

    fn check_credential(&mut self, credential: &'a Credential) {
        if let Some(url) = &credential.images.base_url {
            self.check_url(url);
        }
        let framework = self.framework_id();
        self.check_text(&credential.name, "the credential's name");
        if let Some(description) = &credential.description {
            self.check_text(description, "the credential's description");
        }
        self.check_version(&credential.version, "the credential type");
        if !self
            .index
            .issuers
            .contains_key(&(framework, credential.id.value.as_str()))
        {
            self.sink.report(
                Code::UnissuedCredential,
                credential.id.span,
                format!("no participant is authorised to issue `{}`", credential.id.value),
                "not in any participant's `issues`",
                "add the credential type to the `issues` list of the participant that issues it; without it, the trust list names no issuer",
            );
        }
        if let Some(validity) = &credential.validity {
            let problem = match formats::parse_duration(&validity.value) {
                Err(message) => Some(message),
                Ok(duration) if duration.approx_seconds() == 0 => Some(
                    "a validity of zero: every credential would expire when issued".to_string(),
                ),
                Ok(_) => None,
            };
            if let Some(message) = problem {
                self.sink.report(
                    Code::InvalidDuration,
                    validity.span,
                    format!("invalid validity period `{}`", validity.value),
                    message,
                    "write an ISO 8601 duration in whole numbers, such as `P1Y` (one year), `P6M` (six months) or `P30D` (thirty days); omit `validity` for no expiry",
                );
            }
        }
        let patterns = self.check_attributes(credential);
        let bundle = self.check_oca_bundle(credential);
        self.check_branding(credential, bundle);
        self.check_issuance(credential, &patterns);
        self.check_batch(credential);
    }

    /// A batch's `per_offer` must leave room for at least one full batch: an offer that could
    /// never answer a request of `size` proofs would refuse the wallets that ask for that many.
    fn check_batch(&mut self, credential: &'a Credential) {
        let Some(batch) = &credential.issuance.batch else {
            return;
        };
        let Some(per_offer) = &batch.value.per_offer else {
            return;
        };
        let size = batch
            .value
            .size
            .as_ref()
            .map_or(trustc_artifact::Batch::DEFAULT_SIZE, |s| s.value);
        if per_offer.value < size {
            let size_is = match &batch.value.size {
                Some(_) => format!("`size` is {size}"),
                None => format!("`size` defaults to {size}"),
            };
            self.sink.report(
                Code::BatchPerOfferBelowSize,
                per_offer.span,
                format!(
                    "`{}` yields at most {} credentials per offer, fewer than one batch ({size_is})",
                    credential.id.value, per_offer.value
                ),
                "below the batch size",
                format!(
                    "raise `per_offer` to at least {size} (twice the size lets a wallet that lost \
                     an answer ask again), or lower `size`"
                ),
            );
        }
    }

    /// Checks each attribute; returns the compiled patterns by attribute name.
    fn check_attributes(&mut self, credential: &'a Credential) -> HashMap<&'a str, Regex> {
        let mut patterns = HashMap::new();
        let sd_jwt = credential
            .formats
            .iter()
            .any(|f| f.value == CredentialFormat::SdJwtVc);
        for (name, attribute) in credential.attributes.iter() {
            if RESERVED_CLAIMS.contains(&name.value.as_str()) {
                self.sink.report(
                    Code::ReservedClaim,
                    name.span,
                    format!("`{}` is a claim name SD-JWT VC reserves", name.value),
                    "reserved",
                    "the issuer sets this claim itself (or it is part of the SD-JWT encoding); rename the attribute",
                );
            }
            if sd_jwt
                && NEVER_DISCLOSABLE.contains(&name.value.as_str())
                && attribute.disclosure() != Disclosure::Never
            {
                let span = attribute.disclosure.as_ref().map_or(name.span, |d| d.span);
                self.sink.report(
                    Code::DisclosureForbidden,
                    span,
                    format!(
                        "`{}` must never be selectively disclosable, but its disclosure is `{}`",
                        name.value,
                        attribute.disclosure().name()
                    ),
                    "SD-JWT VC forbids hiding this claim",
                    "set `disclosure: never`: verifiers need this registered claim to check the credential",
                );
            }
            if let Some(pattern) = &attribute.pattern {
                if !matches!(
                    attribute.kind.value,
                    AttributeType::Text | AttributeType::Date | AttributeType::Datetime
                ) {
                    self.sink.report(
                        Code::InvalidPattern,
                        pattern.span,
                        format!(
                            "a pattern cannot apply to the {} attribute `{}`",
                            attribute.kind.value.name(),
                            name.value
                        ),
                        "patterns apply to text",
                        "remove the pattern, or make the attribute `type: text`",
                    );
                } else {
                    match compile_pattern(&pattern.value) {
                        Ok(regex) => {
                            patterns.insert(name.value.as_str(), regex);
                        }
                        Err(message) => self.sink.report(
                            Code::InvalidPattern,
                            pattern.span,
                            format!("the pattern of `{}` is not a valid regular expression", name.value),
                            message,
                            "patterns use the Rust regex syntax (no look-around or backreferences); the whole value must match",
                        ),
                    }
                }
            }
            if let Some(values) = &attribute.values
                && attribute.kind.value != AttributeType::Enum
            {
                self.sink.report(
                    Code::ValueMismatch,
                    values.span,
                    format!("`{}` lists allowed values but is not an enum", name.value),
                    "only enum attributes have `values`",
                    "make it `type: enum`, or use a `pattern` for text",
                );
            }
            match &attribute.example {
                Some(example) => {
                    if let Err(message) = check_value(attribute, patterns.get(name.value.as_str()), &example.value) {
                        self.sink.report(
                            Code::ValueMismatch,
                            example.span,
                            format!("the example of `{}` does not fit the attribute", name.value),
                            message,
                            "docs, card previews and tests use the example as a real value; fix it or the attribute",
                        );
                    }
                }
                None => self.sink.report(
                    Code::MissingExample,
                    name.span,
                    format!("`{}` has no example value", name.value),
                    "no `example`",
                    "add `example:` with a realistic value; generated docs, card previews and tests use it",
                ),
            }
            if let Some(label) = &attribute.label {
                self.check_text(label, &format!("the label of `{}`", name.value));
            }
            if let Some(description) = &attribute.description {
                self.check_text(description, &format!("the description of `{}`", name.value));
            }
        }
        patterns
    }

    /// Resolves the credential's OCA bundle and compares it with the governance.
    fn check_oca_bundle(&mut self, credential: &'a Credential) -> Option<&'a LoadedBundle> {
        let Some(reference) = &credential.oca_bundle else {
            self.check_inline_text(credential, None);
            return None;
        };
        let path = bundle_path(self.root, &reference.value);
        if !crate::images::path_inside(self.root, &path) {
            self.sink.report(
                Code::PathEscape,
                reference.span,
                format!(
                    "the OCA bundle `{}` leads outside the repository",
                    reference.value
                ),
                "outside the repository",
                format!("name a folder under `{OCA_BUNDLES_DIR}/`"),
            );
            self.check_inline_text(credential, None);
            return None;
        }
        let loaded = self
            .bundles
            .get(&path)
            .or_else(|| path.canonicalize().ok().and_then(|p| self.bundles.get(&p)));
        let Some(loaded) = loaded else {
            if path.is_file() {
                // The bundle exists but could not be read; its own diagnostics say why.
                return None;
            }
            self.sink.report(
                Code::UnknownReference,
                reference.span,
                format!("no OCA bundle `{}`", reference.value),
                format!(
                    "`{OCA_BUNDLES_DIR}/{}` has no {BUNDLE_FILE_NAME}",
                    reference.value
                ),
                format!(
                    "name a folder under `{OCA_BUNDLES_DIR}/` that holds an {BUNDLE_FILE_NAME}"
                ),
            );
            self.check_inline_text(credential, None);
            return None;
        };
        self.compare_with_bundle(credential, reference, loaded);
        self.check_inline_text(credential, Some(loaded));
        Some(loaded)
    }

    fn compare_with_bundle(
        &mut self,
        credential: &'a Credential,
        reference: &Spanned<String>,
        loaded: &'a LoadedBundle,
    ) {
        let bundle = &loaded.bundle;
        let bundle_file = &loaded.file.path.display;
        let capture_base = &bundle.capture_base.attributes.value;
        for (name, attribute) in credential.attributes.iter() {
            match capture_base.get(&name.value) {
                None => self.sink.report(
                    Code::OcaAttributeMissing,
                    name.span,
                    format!("`{}` is not in the capture base of {bundle_file}", name.value),
                    "missing from the OCA bundle",
                    "wallets drop credential attributes that the capture base does not list; add it to the bundle",
                ),
                Some(bundle_type) if bundle_type.value != oca_type(attribute.kind.value) => {
                    let (line, column) = loaded.file.line_column(bundle_type.span.start);
                    self.sink.report(
                        Code::OcaAttributeType,
                        attribute.kind.span,
                        format!(
                            "`{}` is {} here but `{}` in the OCA bundle",
                            name.value,
                            attribute.kind.value.name(),
                            bundle_type.value
                        ),
                        format!("OCA type `{}` expected", oca_type(attribute.kind.value)),
                        format!(
                            "a {} attribute is `{}` in OCA; change {bundle_file}:{line}:{column} or this type",
                            attribute.kind.value.name(),
                            oca_type(attribute.kind.value)
                        ),
                    );
                }
                Some(_) => {}
            }
            let flagged = bundle
                .capture_base
                .flagged_attributes
                .iter()
                .any(|f| f.value == name.value);
            if flagged != attribute.is_personal() {
                let (said, other) = if flagged {
                    ("flags as personal information", "does not")
                } else {
                    ("does not flag as personal information", "does")
                };
                self.sink.report(
                    Code::OcaDrift,
                    attribute.personal.as_ref().map_or(name.span, |p| p.span),
                    format!("the OCA bundle {said} `{}` but the governance {other}", name.value),
                    format!("`personal` of `{}`", name.value),
                    "set `personal:` to match `flagged_attributes` in the bundle (or change the bundle)",
                );
            }
        }
        for (name, _) in capture_base.iter() {
            if !credential.attributes.contains_key(&name.value) {
                let (line, column) = loaded.file.line_column(name.span.start);
                self.sink.report(
                    Code::OcaAttributeExtra,
                    reference.span,
                    format!("the OCA bundle has an attribute `{}` that the credential does not define", name.value),
                    format!("`{}` at {bundle_file}:{line}:{column}", name.value),
                    "wallets would show a field the credential never has; remove it from the bundle or add it to `attributes`",
                );
            }
        }
        // Labels and meta are needed in every locale; attribute information once the bundle has
        // any (bundles without information overlays are valid, wallets then show none).
        let mut required = vec![OverlayKind::Label, OverlayKind::Meta];
        if bundle
            .overlays_of(OverlayKind::Information)
            .next()
            .is_some()
        {
            required.push(OverlayKind::Information);
        }
        for locale in self.locales() {
            for &kind in &required {
                let present = bundle
                    .overlays_of(kind)
                    .any(|o| o.language.as_ref().is_some_and(|l| l.value == locale));
                if !present {
                    // A missing label or meta overlay leaves the card unreadable in that locale;
                    // missing attribute information only leaves out descriptions.
                    let code = match kind {
                        OverlayKind::Information => Code::MissingInformation,
                        _ => Code::MissingLocale,
                    };
                    self.sink.report(
                        code,
                        reference.span,
                        format!("the OCA bundle has no {} overlay for `{locale}`", kind.name()),
                        format!("no `{locale}` {} overlay in {bundle_file}", kind.name()),
                        format!("the framework's locales include `{locale}`; add the overlay to the bundle"),
                    );
                }
            }
            if let (Some(meta), Some(name)) =
                (bundle.meta(locale), credential.name.value.get(locale))
                && let Some(meta_name) = &meta.name
                && meta_name.value != name
            {
                self.sink.report(
                    Code::OcaDrift,
                    credential.name.span,
                    format!("the credential is named `{name}` here but `{}` in the OCA bundle ({locale})", meta_name.value),
                    "differs from the OCA meta overlay",
                    "use the same name in both; wallets show the bundle's",
                );
            }
        }
    }

    /// Labels must exist for every locale, inline or from the bundle; when both exist they must agree.
    fn check_inline_text(&mut self, credential: &'a Credential, loaded: Option<&'a LoadedBundle>) {
        let locales = self.locales();
        for (name, attribute) in credential.attributes.iter() {
            let mut missing = Vec::new();
            for locale in &locales {
                let inline = attribute.label.as_ref().and_then(|l| l.value.get(locale));
                let from_bundle = loaded
                    .and_then(|b| b.bundle.attribute_map(OverlayKind::Label, locale))
                    .and_then(|labels| labels.get(&name.value))
                    .map(|l| l.value.as_str());
                match (inline, from_bundle) {
                    (None, None) => missing.push(*locale),
                    (Some(inline), Some(oca)) if inline != oca => self.sink.report(
                        Code::OcaDrift,
                        attribute.label.as_ref().map_or(name.span, |l| l.span),
                        format!("the `{locale}` label of `{}` is `{inline}` here but `{oca}` in the OCA bundle", name.value),
                        "differs from the OCA label overlay",
                        "keep one source of truth: remove the inline label, or make both the same",
                    ),
                    _ => {}
                }
            }
            // Inline per-locale labels already reported missing locales in `check_text`.
            let reported = matches!(
                attribute.label.as_ref().map(|l| &l.value),
                Some(Text::PerLocale(_))
            );
            if !missing.is_empty() && !reported {
                let source = if loaded.is_some() {
                    "here or in the OCA bundle"
                } else {
                    "here"
                };
                self.sink.report(
                    Code::MissingLocale,
                    name.span,
                    format!("`{}` has no label for {} {source}", name.value, quoted_list(&missing)),
                    "no label",
                    "add `label:` with text per locale (or put the labels in the credential's OCA bundle)",
                );
            }
        }
    }

    fn check_branding(&mut self, credential: &'a Credential, loaded: Option<&'a LoadedBundle>) {
        let bundle_branding = loaded.and_then(|b| b.bundle.branding());
        let Some(branding) = &credential.branding else {
            if bundle_branding.is_none() {
                self.sink.report(
                    Code::MissingBranding,
                    credential.id.span,
                    format!("`{}` has no branding", credential.id.value),
                    "no `branding` and no OCA branding overlay",
                    "add `branding:` (logo, images, colours) or an OCA bundle with a branding overlay; otherwise wallets show a generated colour and no logo",
                );
            }
            return;
        };
        if let (Some((overlay, _)), Some(loaded)) = (bundle_branding, loaded) {
            let (line, column) = loaded.file.line_column(overlay.type_name.span.start);
            self.sink.report(
                Code::ConflictingBranding,
                branding.span,
                "branding is given here and in the credential's OCA bundle",
                "inline branding",
                format!(
                    "keep one: remove this `branding:` or the branding overlay at {}:{line}:{column}",
                    loaded.file.path
                ),
            );
        }
        let card = CardAttributes {
            attributes: credential
                .attributes
                .iter()
                .map(|(name, attribute)| {
                    let kind = oca_type(attribute.kind.value);
                    (name.value.as_str(), kind, attribute.is_personal())
                })
                .collect(),
        };
        let base_dir = self
            .document
            .file
            .path
            .absolute
            .parent()
            .unwrap_or(self.root)
            .to_path_buf();
        let files = LocalImages::new(self.root);
        let context = ImageContext {
            files: &files,
            base_dir: &base_dir,
        };
        check_branding_content(&branding.value, &card, &context, &mut self.sink);
    }

    fn check_issuance(&mut self, credential: &'a Credential, patterns: &HashMap<&'a str, Regex>) {
        let framework = self.framework_id();
        let issuance = &credential.issuance;
        let mut prerequisite_ids: HashMap<&str, Span> = HashMap::new();
        // Prerequisite id → (its credential, the claims it asks for).
        let mut prerequisites: HashMap<&str, (Option<&'a Credential>, &'a [Spanned<String>])> =
            HashMap::new();
        for prerequisite in &issuance.prerequisites {
            self.check_duplicate(&mut prerequisite_ids, &prerequisite.id, "prerequisite");
            if let Some(purpose) = &prerequisite.purpose {
                self.check_text(purpose, "the prerequisite's purpose");
            }
            let key = split_reference(framework, &prerequisite.credential.value);
            let required = self.index.credentials.get(&key).copied();
            if required.is_none() {
                self.unknown_reference(
                    &prerequisite.credential,
                    "credential type",
                    self.credential_candidates(),
                );
            }
            if let Some(required) = required
                && !required.has_format(CredentialFormat::SdJwtVc)
            {
                self.sink.report(
                    Code::PrerequisiteNotSdJwt,
                    prerequisite.credential.span,
                    format!(
                        "prerequisite `{}` asks for `{}`, which is not issued as dc+sd-jwt: the \
                         issuer requests prerequisites over OpenID4VP with a DCQL query, which \
                         only SD-JWT VCs can answer",
                        prerequisite.id.value, prerequisite.credential.value
                    ),
                    "not issued as dc+sd-jwt",
                    format!(
                        "add `dc+sd-jwt` to the `formats` of `{}` (with its `vct`), or require a \
                         credential type that is issued as dc+sd-jwt",
                        required.id.value
                    ),
                );
            }
            prerequisites.insert(&prerequisite.id.value, (required, &prerequisite.claims));
            for issuer in &prerequisite.trusted_issuers {
                let issuer_key = split_reference(framework, &issuer.value);
                if !self.index.participants.contains_key(&issuer_key) {
                    self.unknown_reference(issuer, "participant", self.participant_candidates());
                    continue;
                }
                let authorised = self
                    .index
                    .issuers
                    .get(&key)
                    .is_some_and(|list| list.contains(&issuer_key));
                if required.is_some() && !authorised {
                    self.sink.report(
                        Code::IssuerNotAuthorised,
                        issuer.span,
                        format!(
                            "`{}` is trusted for `{}`, but the trust list does not authorise it to issue that credential",
                            issuer.value, prerequisite.credential.value
                        ),
                        "not an authorised issuer",
                        format!(
                            "add `{}` to that participant's `issues`, or trust a participant that issues it",
                            prerequisite.credential.value
                        ),
                    );
                }
            }
            if let Some(required) = required {
                for claim in &prerequisite.claims {
                    if !required.attributes.contains_key(&claim.value) {
                        let known = required
                            .attributes
                            .keys()
                            .map(|k| k.value.clone())
                            .collect();
                        self.unknown_reference(
                            claim,
                            &format!("claim of `{}`", required.id.value),
                            known,
                        );
                    }
                }
            }
        }

        self.check_login_authentication(credential);
        let claims = &issuance.claims.value;
        for (name, source) in claims.iter() {
            let Some(attribute) = credential.attributes.get(&name.value) else {
                let known = credential
                    .attributes
                    .keys()
                    .map(|k| k.value.clone())
                    .collect();
                self.unknown_reference(name, "attribute", known);
                continue;
            };
            match source.value.from.value {
                SourceKind::Offer => {}
                SourceKind::Constant => {
                    if let Some(value) = &source.value.value
                        && let Err(message) =
                            check_value(attribute, patterns.get(name.value.as_str()), &value.value)
                    {
                        self.sink.report(
                            Code::ValueMismatch,
                            value.span,
                            format!("the constant for `{}` does not fit the attribute", name.value),
                            message,
                            "every credential would carry this value; make it fit the attribute's type and pattern",
                        );
                    }
                }
                SourceKind::Prerequisite => {
                    self.check_copied_claim(name, attribute, &source.value, &prerequisites)
                }
                SourceKind::Login => self.check_login_claim(credential, name, &source.value),
                SourceKind::Issuance => {
                    let value = source.value.value.as_ref();
                    if !matches!(
                        attribute.kind.value,
                        AttributeType::Date | AttributeType::Datetime
                    ) {
                        self.sink.report(
                            Code::ValueMismatch,
                            source.span,
                            format!(
                                "`{}` is a {} attribute; the issuance gives a date",
                                name.value,
                                attribute.kind.value.name()
                            ),
                            "`from: issuance` is the date (or date-time) the credential is issued or expires",
                            "make the attribute `type: date` or `type: datetime`, or take its value from elsewhere",
                        );
                    }
                    let expires = matches!(
                        value.map(|v| &v.value),
                        Some(crate::governance::model::Scalar::String(v)) if v == "expires"
                    );
                    if expires && credential.validity.is_none() {
                        self.sink.report(
                            Code::InvalidValue,
                            value.map_or(source.span, |v| v.span),
                            format!(
                                "`{}` is the expiry, but the credential has no `validity`",
                                name.value
                            ),
                            "the expiry is the issuance plus the credential's validity",
                            "give the credential a `validity` (`P5Y`), or take the value from elsewhere",
                        );
                    }
                }
            }
        }
        for (name, attribute) in credential.attributes.iter() {
            if attribute.is_required() && !claims.contains_key(&name.value) {
                self.sink.report(
                    Code::MissingSource,
                    name.span,
                    format!("the required attribute `{}` has no source", name.value),
                    "required, but nothing provides it",
                    format!(
                        "add `{}:` under `issuance.claims` with `from: offer`, `from: prerequisite`, `from: login` or `from: constant`",
                        name.value
                    ),
                );
            }
        }
    }

    fn check_copied_claim(
        &mut self,
        name: &Spanned<String>,
        attribute: &Attribute,
        source: &super::model::Source,
        prerequisites: &HashMap<&str, (Option<&'a Credential>, &'a [Spanned<String>])>,
    ) {
        let (Some(prerequisite), Some(claim)) = (&source.prerequisite, &source.claim) else {
            return;
        };
        let Some((required, asked)) = prerequisites.get(prerequisite.value.as_str()) else {
            let known = prerequisites.keys().map(|k| k.to_string()).collect();
            self.unknown_reference(prerequisite, "prerequisite", known);
            return;
        };
        let Some(required) = required else {
            return; // The unknown credential type was reported at the prerequisite.
        };
        let Some(source_attribute) = required.attributes.get(&claim.value) else {
            let known = required
                .attributes
                .keys()
                .map(|k| k.value.clone())
                .collect();
            self.unknown_reference(claim, &format!("claim of `{}`", required.id.value), known);
            return;
        };
        if !asked.iter().any(|c| c.value == claim.value) {
            self.sink.report(
                Code::ClaimNotRequested,
                claim.span,
                format!(
                    "`{}` is copied from `{}`, but prerequisite `{}` does not ask the holder to disclose it",
                    claim.value, required.id.value, prerequisite.value
                ),
                "not in the prerequisite's `claims`",
                format!("add `{}` to the `claims` of prerequisite `{}`", claim.value, prerequisite.value),
            );
        }
        if oca_type(source_attribute.kind.value) != oca_type(attribute.kind.value) {
            self.sink.report(
                Code::ValueMismatch,
                claim.span,
                format!(
                    "`{}` is {} but `{}` copies it into a {} attribute",
                    claim.value,
                    source_attribute.kind.value.name(),
                    name.value,
                    attribute.kind.value.name()
                ),
                "type differs",
                "copy a claim of the same type, or change the attribute's type",
            );
        }
    }
}
