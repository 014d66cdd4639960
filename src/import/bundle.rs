//! The OCA side of `trustc import oca`: the bundle loaded with the loader, schema and model of
//! `trustc check`, its texts per language, the index (`ocabundles.json`) that lists it, the ids its
//! folders suggest, and where its images lie relative to the governance file to be written.

use std::path::{Component, Path, PathBuf};

use super::ImportError;
use crate::check::{Report, load};
use crate::confine::normalize;
use crate::diag::{Code, Diagnostic, FileDiagnostics};
use crate::oca::{self, Bundle, Meta, Overlay, OverlayBody, OverlayKind};
use crate::source::slash_path;
use crate::syntax::{Node, Value};

// ---------------------------------------------------------------------------------------------
// Reading the bundle
// ---------------------------------------------------------------------------------------------

/// Loads, parses, schema-checks and reads the bundle, as `trustc check` does.
pub(super) fn read(cwd: &Path, absolute: &Path) -> Result<(Bundle, Node), ImportError> {
    let mut diagnostics = Vec::new();
    let Some((file, node)) = load(cwd, absolute, &mut diagnostics) else {
        if let Some(d) = diagnostics.iter().find(|d| d.code == Code::IoError) {
            return Err(ImportError::Run(d.message.clone()));
        }
        return Err(invalid(diagnostics));
    };
    // The bare bundle object is accepted too: read it as the one-element array bcgov's files hold.
    let node = match node.value {
        Value::Object(_) => Node::new(node.span, Value::Array(vec![node])),
        _ => node,
    };
    let mut sink = FileDiagnostics::new(&file);
    if let Some((span, found)) = not_a_bundle(&node) {
        sink.report(
            Code::InvalidValue,
            span,
            format!("`{}` is not an OCA bundle: {found}", file.path),
            "not an OCA bundle",
            "give a credential's OCABundle.json: `[{\"capture_base\": {…}, \"overlays\": […]}]` \
             (Aries RFC 0755); ocabundles.json and ocabundleslist.json are indexes of bundles",
        );
        return Err(invalid(sink.diagnostics));
    }
    if !crate::schema::validate(&crate::schema::OCA_BUNDLE, &node, &mut sink) {
        return Err(invalid(sink.diagnostics));
    }
    match oca::read_bundle(&node) {
        Ok(bundle) => Ok((bundle, node)),
        Err(error) => {
            sink.report(
                Code::InvalidValue,
                error.span.unwrap_or(node.span),
                format!("this value cannot be read: {}", error.message),
                "unreadable value",
                "the bundle passed its schema but trustc could not read this value; please report it",
            );
            Err(invalid(sink.diagnostics))
        }
    }
}

/// Why a parsed file is not a bundle at all (rather than a bundle with errors), and where.
fn not_a_bundle(node: &Node) -> Option<(crate::syntax::Span, String)> {
    let items = node.as_array()?;
    let Some(first) = items.first() else {
        return Some((node.span, "the array is empty".to_string()));
    };
    let Some(members) = first.as_object() else {
        return Some((
            first.span,
            format!("it holds {}, not a bundle object", first.kind_name()),
        ));
    };
    if members
        .iter()
        .any(|m| m.key == "capture_base" || m.key == "overlays")
    {
        return None;
    }
    let index = members.iter().all(|m| m.value.get("sha256").is_some())
        || members.iter().any(|m| m.key == "ocabundle");
    let found = if index && !members.is_empty() {
        "it is an index of bundles".to_string()
    } else {
        "it has no `capture_base` and no `overlays`".to_string()
    };
    Some((first.span, found))
}

fn invalid(diagnostics: Vec<Diagnostic>) -> ImportError {
    let mut report = Report {
        diagnostics,
        ..Report::default()
    };
    report.summary.files = 1;
    report.summary.oca_bundles = 1;
    report.settle();
    ImportError::Invalid(report)
}

/// The bundle's languages, in the order its overlays first name them.
pub(super) fn languages(bundle: &Bundle) -> Vec<String> {
    let mut locales: Vec<String> = Vec::new();
    for overlay in &bundle.overlays {
        if let Some(language) = &overlay.language
            && !language.value.is_empty()
            && !locales.contains(&language.value)
        {
            locales.push(language.value.clone());
        }
    }
    locales
}

/// The overlay of `kind` for `locale`: the one in that language, else one without a language.
fn overlay_for<'b>(bundle: &'b Bundle, kind: OverlayKind, locale: &str) -> Option<&'b Overlay> {
    bundle
        .overlays_of(kind)
        .find(|o| o.language.as_ref().is_some_and(|l| l.value == locale))
        .or_else(|| bundle.overlays_of(kind).find(|o| o.language.is_none()))
}

pub(super) fn attribute_text(
    bundle: &Bundle,
    kind: OverlayKind,
    locale: &str,
    name: &str,
) -> Option<String> {
    match &overlay_for(bundle, kind, locale)?.body {
        OverlayBody::Attributes { map, .. } => map.value.get(name).map(|v| v.value.clone()),
        _ => None,
    }
    .filter(|t| !t.is_empty())
}

pub(super) fn meta_text(
    bundle: &Bundle,
    locale: &str,
    field: fn(&Meta) -> &Option<crate::syntax::Spanned<String>>,
) -> Option<String> {
    match &overlay_for(bundle, OverlayKind::Meta, locale)?.body {
        OverlayBody::Meta(meta) => field(meta).as_ref().map(|v| v.value.clone()),
        _ => None,
    }
    .filter(|t| !t.is_empty())
}

// ---------------------------------------------------------------------------------------------
// Ids
// ---------------------------------------------------------------------------------------------

/// Whether `s` is a governance id (`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`).
pub fn is_id(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && !s.ends_with('-')
        && !s.contains("--")
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Folder names that say where bundles are kept, not what they are.
const GENERIC_FOLDERS: &[&str] = &[
    "schema",
    "schemas",
    "ocabundles",
    "oca-bundles",
    "oca",
    "bundles",
    "governance",
];

/// Folder names that qualify a credential rather than name it (an environment or a version).
const QUALIFIERS: &[&str] = &[
    "prod",
    "production",
    "test",
    "testing",
    "dev",
    "development",
    "dev-test",
    "devtest",
    "demo",
    "nonprod",
    "non-prod",
    "qa",
    "uat",
    "sit",
    "sandbox",
    "staging",
    "preprod",
    "pre-prod",
    "latest",
];

/// The default framework and credential ids of the bundle at `path`: the credential from the
/// bundle's folder (with the folder above it when the folder is a version or an environment, so
/// `LSBC/Lawyer/Prod` gives `lawyer-prod`), the framework from the folder above that.
pub fn default_ids(path: &Path) -> (String, String) {
    let folders: Vec<String> = path
        .parent()
        .map(|p| {
            p.components()
                .rev()
                .filter_map(|c| match c {
                    Component::Normal(name) => Some(name.to_string_lossy().into_owned()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let mut parts: Vec<String> = Vec::new();
    let mut rest = folders.iter();
    for folder in rest.by_ref() {
        let slug = slug(folder);
        if slug.is_empty() || GENERIC_FOLDERS.contains(&slug.as_str()) {
            break;
        }
        let qualifier = QUALIFIERS.contains(&slug.as_str()) || is_version(folder);
        parts.insert(0, slug);
        if !qualifier {
            break;
        }
    }
    let credential = if parts.is_empty() {
        "credential".to_string()
    } else {
        parts.join("-")
    };
    let framework = rest
        .map(|f| slug(f))
        .take_while(|s| !GENERIC_FOLDERS.contains(&s.as_str()))
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| credential.clone());
    (framework, credential)
}

/// `1`, `0.3`, `v1.1.1`, `1_0`.
fn is_version(folder: &str) -> bool {
    let digits = folder.strip_prefix(['v', 'V']).unwrap_or(folder);
    !digits.is_empty()
        && digits
            .split(['.', '_'])
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// A folder name as an id: `CityOfVancouver` → `city-of-vancouver`, `Attestation_numérique` →
/// `attestation-numerique`, `0.3` → `v0-3`; empty when nothing usable is left.
pub fn slug(name: &str) -> String {
    if is_version(name) {
        let digits = name.strip_prefix(['v', 'V']).unwrap_or(name);
        return format!("v{}", digits.replace(['.', '_'], "-"));
    }
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let previous = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1).copied();
        if c.is_uppercase()
            && let Some(p) = previous
        {
            // camelCase and `LSBCLawyer`: a word starts at an upper-case letter after a lower-case
            // letter or digit, or before a lower-case letter in a run of capitals.
            let starts_word = p.is_lowercase()
                || p.is_ascii_digit()
                || p.is_uppercase() && next.is_some_and(char::is_lowercase);
            if starts_word {
                out.push('-');
            }
        }
        match fold(c) {
            Some(folded) => out.push_str(&folded),
            None => out.push('-'),
        }
    }
    let mut slug = String::new();
    for part in out.split('-').filter(|p| !p.is_empty()) {
        if !slug.is_empty() {
            slug.push('-');
        }
        slug.push_str(part);
    }
    // An id starts with a letter.
    let start = slug
        .find(|c: char| c.is_ascii_lowercase())
        .unwrap_or(slug.len());
    slug[start..].to_string()
}

/// A character as lowercase ASCII letters or digits (accents removed); `None` for separators and
/// characters with no ASCII form.
fn fold(c: char) -> Option<String> {
    if c.is_ascii_alphanumeric() {
        return Some(c.to_ascii_lowercase().to_string());
    }
    let lower: String = c.to_lowercase().collect();
    let folded = match lower.as_str() {
        "à" | "á" | "â" | "ã" | "ä" | "å" | "ā" | "ă" | "ą" => "a",
        "æ" => "ae",
        "ç" | "ć" | "č" => "c",
        "ď" | "đ" => "d",
        "è" | "é" | "ê" | "ë" | "ē" | "ė" | "ę" | "ě" => "e",
        "ì" | "í" | "î" | "ï" | "ī" | "į" => "i",
        "ł" | "ľ" => "l",
        "ñ" | "ń" | "ň" => "n",
        "ò" | "ó" | "ô" | "õ" | "ö" | "ø" | "ō" | "ő" => "o",
        "œ" => "oe",
        "ř" => "r",
        "ś" | "š" | "ş" => "s",
        "ß" => "ss",
        "ť" | "ţ" => "t",
        "ù" | "ú" | "û" | "ü" | "ū" | "ů" | "ű" | "ų" => "u",
        "ý" | "ÿ" => "y",
        "ź" | "ż" | "ž" => "z",
        _ => return None,
    };
    Some(folded.to_string())
}

// ---------------------------------------------------------------------------------------------
// The bundle index
// ---------------------------------------------------------------------------------------------

/// The ledger identifiers an index next to the bundle (or in a folder above it) lists it under.
pub(super) struct IndexIds {
    /// The index file, as shown to the user.
    pub(super) file: String,
    pub(super) ids: Vec<String>,
}

pub(super) fn find_index(bundle: &Path, cwd: &Path) -> Option<IndexIds> {
    let target = bundle
        .canonicalize()
        .unwrap_or_else(|_| bundle.to_path_buf());
    for dir in bundle.parent()?.ancestors() {
        let mut ids: Vec<String> = Vec::new();
        let mut files = Vec::new();
        for name in [
            crate::oca::index::INDEX_FILE_NAME,
            crate::oca::index::LIST_FILE_NAME,
        ] {
            let file = dir.join(name);
            if !file.is_file() {
                continue;
            }
            let Ok(text) = crate::source::read_source(&file) else {
                continue;
            };
            let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
                continue;
            };
            let entries: Vec<(String, String)> = match &json {
                serde_json::Value::Object(map) => map
                    .iter()
                    .filter_map(|(id, v)| Some((id.clone(), v.get("path")?.as_str()?.to_string())))
                    .collect(),
                serde_json::Value::Array(items) => items
                    .iter()
                    .filter_map(|v| {
                        Some((
                            v.get("id")?.as_str()?.to_string(),
                            v.get("ocabundle")?.as_str()?.to_string(),
                        ))
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let before = ids.len();
            for (id, path) in entries {
                let listed = normalize(&dir.join(&path));
                let listed = listed.canonicalize().unwrap_or(listed);
                if listed == target && !id.is_empty() && !ids.contains(&id) {
                    ids.push(id);
                }
            }
            if ids.len() > before {
                files.push(display_path(&file, cwd));
            }
        }
        if !ids.is_empty() {
            return Some(IndexIds {
                file: files.join(" and "),
                ids,
            });
        }
    }
    None
}

/// An AnonCreds schema id's name and version: `<nym>:2:<name>:<version>`.
pub(super) fn schema_name_version(id: &str) -> Option<(&str, &str)> {
    let mut parts = id.splitn(3, ':');
    let _nym = parts.next()?;
    if parts.next()? != "2" {
        return None;
    }
    let rest = parts.next()?;
    let (name, version) = rest.rsplit_once(':')?;
    (!name.is_empty() && !version.is_empty()).then_some((name, version))
}

/// `1.0` → `1.0.0`: a schema version as a semantic version.
pub(super) fn semantic_version(version: &str) -> Option<semver::Version> {
    let parts: Vec<&str> = version.split('.').collect();
    let padded = match parts.len() {
        1 => format!("{version}.0.0"),
        2 => format!("{version}.0"),
        _ => version.to_string(),
    };
    semver::Version::parse(&padded).ok()
}

// ---------------------------------------------------------------------------------------------
// Where the governance file goes
// ---------------------------------------------------------------------------------------------

/// Where the governance file will be, so local image paths can be written relative to it.
pub(super) struct Places {
    /// The governance file's folder (absolute).
    pub(super) governance_dir: PathBuf,
    /// The repository the file belongs to, as far as can be told: the folder holding the
    /// `governance/` folder the file is in, else the file's folder (standard output: the current
    /// folder).
    pub(super) repository: PathBuf,
    /// Whether the file is written by trustc (`--out`), which may then copy images.
    pub(super) written: bool,
    /// Whether the file is in a `governance/` folder, where `trustc check` looks for it.
    pub(super) in_governance: bool,
}

impl Places {
    pub(super) fn new(cwd: &Path, out: Option<&Path>) -> Places {
        match out {
            Some(out) => {
                let file = resolve(&cwd.join(out));
                let governance_dir = file.parent().unwrap_or(cwd).to_path_buf();
                let governance = governance_dir
                    .ancestors()
                    .find(|a| a.file_name().is_some_and(|n| n == "governance"));
                let repository = governance
                    .and_then(Path::parent)
                    .unwrap_or(&governance_dir)
                    .to_path_buf();
                Places {
                    in_governance: governance.is_some(),
                    governance_dir,
                    repository,
                    written: true,
                }
            }
            None => {
                let repository = resolve(cwd);
                Places {
                    governance_dir: repository.join("governance"),
                    repository,
                    written: false,
                    in_governance: true,
                }
            }
        }
    }
}

/// An absolute path with symbolic links resolved as far as it exists (the rest normalized).
pub(super) fn resolve(path: &Path) -> PathBuf {
    let path = normalize(path);
    let mut existing = path.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(canonical) = existing.canonicalize() {
            let mut out = canonical;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return out;
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return path,
        }
    }
}

/// `to` relative to the folder `from` (both absolute), with `/` separators.
pub(super) fn relative_to(from: &Path, to: &Path) -> String {
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); from.len() - common];
    parts.extend(
        to[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

/// A path as the user sees it: relative to the current folder when inside it.
pub(super) fn display_path(path: &Path, cwd: &Path) -> String {
    let cwd = resolve(cwd);
    let path = resolve(path);
    match path.strip_prefix(&cwd) {
        Ok(rel) => slash_path(rel),
        Err(_) => path.to_string_lossy().into_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// Images
// ---------------------------------------------------------------------------------------------

/// Whether the file at `path` begins like an image wallets display (PNG, JPEG, GIF, WebP).
pub(super) fn is_image_file(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 64];
    let read = std::fs::File::open(path).and_then(|mut file| file.read(&mut head));
    read.is_ok_and(|n| {
        matches!(
            imagesize::image_type(&head[..n]),
            Ok(imagesize::ImageType::Png
                | imagesize::ImageType::Jpeg
                | imagesize::ImageType::Gif
                | imagesize::ImageType::Webp)
        )
    })
}

/// Whether an image reference is a local path (not an https, data: or other URL).
pub(super) fn is_local_image(reference: &str) -> bool {
    let lower = reference.to_ascii_lowercase();
    if lower.starts_with("data:") || lower.contains("://") {
        return false;
    }
    // `C:\logo.png` is a path; `hl:…` and `mailto:…` are not.
    match reference.split_once(':') {
        Some((scheme, _)) => {
            scheme.len() == 1
                || !scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_become_ids() {
        for (folder, id) in [
            ("CityOfVancouver", "city-of-vancouver"),
            ("LSBC", "lsbc"),
            ("LSBCLawyer", "lsbc-lawyer"),
            (
                "Attestation_numérique_didentité_gouvernemental",
                "attestation-numerique-didentite-gouvernemental",
            ),
            (
                "dev-property-rental-business-licence",
                "dev-property-rental-business-licence",
            ),
            ("property-owner-v1", "property-owner-v1"),
            ("DevTest", "dev-test"),
            ("0.3", "v0-3"),
            ("1.1.1", "v1-1-1"),
            ("2024 credentials", "credentials"),
            ("???", ""),
        ] {
            assert_eq!(slug(folder), id, "{folder}");
            assert!(id.is_empty() || is_id(id), "{id}");
        }
    }

    #[test]
    fn default_ids_skip_versions_environments_and_storage_folders() {
        for (path, framework, credential) in [
            (
                "/r/oca-bundles/lsbc/lawyer/OCABundle.json",
                "lsbc",
                "lawyer",
            ),
            (
                "/r/OCABundles/schema/bcgov-digital-trust/LSBC/Lawyer/Prod/OCABundle.json",
                "lsbc",
                "lawyer-prod",
            ),
            (
                "/r/OCABundles/schema/bcgov-digital-trust/mines-act-permit/0.3/OCABundle.json",
                "bcgov-digital-trust",
                "mines-act-permit-v0-3",
            ),
            (
                "/r/OCABundles/schema/bcgov-digital-trust/person/OCABundle.json",
                "bcgov-digital-trust",
                "person",
            ),
            (
                "/r/OCABundles/schema/person/OCABundle.json",
                "person",
                "person",
            ),
            ("/OCABundle.json", "credential", "credential"),
        ] {
            assert_eq!(
                default_ids(Path::new(path)),
                (framework.to_string(), credential.to_string()),
                "{path}"
            );
        }
    }

    #[test]
    fn schema_ids_give_names_and_versions() {
        assert_eq!(
            schema_name_version("L6ASjmDDbDH7yPL1t2yFj9:2:Person:1.2"),
            Some(("Person", "1.2"))
        );
        assert_eq!(
            schema_name_version("AcZpBDz3oxmKrpcuPcdKai:2:Digital Business Card:1.0.0"),
            Some(("Digital Business Card", "1.0.0"))
        );
        assert_eq!(
            schema_name_version("QzLYGuAebsy3MXQ6b1sFiT:3:CL:2351:lawyer"),
            None
        );
        assert_eq!(semantic_version("1.53").unwrap().to_string(), "1.53.0");
        assert_eq!(semantic_version("2").unwrap().to_string(), "2.0.0");
    }

    #[test]
    fn relative_paths_climb_to_the_common_folder() {
        assert_eq!(
            relative_to(
                Path::new("/r/governance"),
                Path::new("/r/oca-bundles/a/logo.png")
            ),
            "../oca-bundles/a/logo.png"
        );
        assert_eq!(
            relative_to(
                Path::new("/r/governance"),
                Path::new("/r/governance/images/x.png")
            ),
            "images/x.png"
        );
    }

    #[test]
    fn local_images_are_paths_and_urls_are_not() {
        for (reference, local) in [
            ("logo.png", true),
            ("../images/logo.png", true),
            ("C:\\logo.png", true),
            ("https://example.org/logo.png", false),
            ("data:image/png;base64,AA==", false),
            ("hl:zQm", false),
            ("http://example.org/logo.png", false),
        ] {
            assert_eq!(is_local_image(reference), local, "{reference}");
        }
    }
}
