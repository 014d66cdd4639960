//! `trustc import oca FILE`: an Aries OCA 1.0 bundle as a governance file.
//!
//! Issuers who adopt trustc usually have bundles already (bcgov's aries-oca-bundles holds dozens).
//! Writing the governance for them by hand means retyping every label, text and colour, and
//! getting one wrong changes what wallets show. This module reads a bundle with the same loader,
//! schema and model `trustc check` uses and writes the governance from which `trustc build`
//! generates an equivalent bundle: the same attributes and types, personal-information flags,
//! labels, attribute information, meta texts, branding, formats, standards and character
//! encodings, with digests the build computes.
//!
//! A bundle says nothing about governance (who governs the credential, the issuer's identifiers,
//! how it is issued), so those parts are plain defaults for the user to review: one framework, one
//! participant (the issuer) and one AnonCreds credential whose attributes all come with the offer.
//! Where the governance model cannot say what the bundle says (an `issuer_url` that differs per
//! language, text given in only some languages, colours that are not `#RRGGBB`), the file says in
//! a comment what was done, and [`Imported::notes`] repeats it for the terminal.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use crate::check::{Report, load};
use crate::diag::{Code, Diagnostic, FileDiagnostics};
use crate::images::{normalize, path_inside};
use crate::oca::{self, Bundle, Meta, Overlay, OverlayBody, OverlayKind};
use crate::source::slash_path;
use crate::syntax::{Node, Value};

/// What `trustc import oca` was asked for.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// The framework id (default: from the bundle's folders).
    pub framework: Option<String>,
    /// The credential id (default: from the bundle's folder).
    pub credential: Option<String>,
    /// Where the governance file will be written; `None` for standard output, which is taken to
    /// be saved in `governance/` of the current folder (image paths are written for that place).
    pub out: Option<PathBuf>,
}

/// Why nothing was imported.
#[derive(Debug)]
pub enum ImportError {
    /// trustc could not run: the file cannot be read, or an option is wrong (exit status 2).
    Run(String),
    /// The file is not a bundle trustc can read; the diagnostics say why (exit status 1).
    Invalid(Report),
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImportError::Run(message) => f.write_str(message),
            ImportError::Invalid(report) => write!(
                f,
                "the bundle cannot be imported ({} errors)",
                report.summary.errors
            ),
        }
    }
}

impl std::error::Error for ImportError {}

/// An imported bundle.
#[derive(Debug)]
pub struct Imported {
    /// The governance file.
    pub yaml: String,
    /// Local images to copy next to the governance file (with `--out`): from, to.
    pub copies: Vec<(PathBuf, PathBuf)>,
    /// What the user should know about the import, one sentence each.
    pub notes: Vec<String>,
}

/// Reads the bundle at `path` and writes its governance.
pub fn import_oca(path: &Path, options: &ImportOptions) -> Result<Imported, ImportError> {
    for (what, id) in [
        ("--framework", &options.framework),
        ("--credential", &options.credential),
    ] {
        if let Some(id) = id
            && !is_id(id)
        {
            return Err(ImportError::Run(format!(
                "{what} `{id}` is not an id: use lowercase letters, digits and `-`, starting with a letter (for example `lawyer`)"
            )));
        }
    }
    let cwd = std::env::current_dir()
        .map_err(|e| ImportError::Run(format!("cannot read the current folder: {e}")))?;
    let absolute = normalize(&cwd.join(path));
    match std::fs::metadata(&absolute) {
        Err(e) => {
            return Err(ImportError::Run(format!(
                "cannot read `{}`: {e}",
                path.display()
            )));
        }
        Ok(meta) if meta.is_dir() => {
            let hint = if absolute.join(oca::BUNDLE_FILE_NAME).is_file() {
                format!(
                    "; give the bundle file, `{}`",
                    path.join(oca::BUNDLE_FILE_NAME).display()
                )
            } else {
                String::new()
            };
            return Err(ImportError::Run(format!(
                "cannot import `{}`: it is a folder, not an OCA bundle file{hint}",
                path.display()
            )));
        }
        Ok(_) => {}
    }
    let (bundle, node) = read(&cwd, &absolute)?;
    let ids = match (&options.framework, &options.credential) {
        (Some(f), Some(c)) => (f.clone(), c.clone()),
        _ => {
            let (framework, credential) = default_ids(&absolute);
            (
                options.framework.clone().unwrap_or(framework),
                options.credential.clone().unwrap_or(credential),
            )
        }
    };
    let places = Places::new(&cwd, options.out.as_deref());
    let importer = Importer {
        bundle: &bundle,
        node: &node,
        source: if path.is_absolute() {
            path.to_string_lossy().into_owned()
        } else {
            slash_path(path)
        },
        bundle_dir: absolute.parent().unwrap_or(&cwd).to_path_buf(),
        framework_id: ids.0,
        credential_id: ids.1,
        locales: languages(&bundle),
        places,
        cwd: cwd.clone(),
        index: find_index(&absolute, &cwd),
    };
    Ok(importer.run())
}

/// Writes an import to `out`: the governance file and the images it names that must be copied.
pub fn write(imported: &Imported, out: &Path) -> Result<(), String> {
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(parent) = parent {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create `{}`: {e}", parent.display()))?;
    }
    for (from, to) in &imported.copies {
        let bytes =
            std::fs::read(from).map_err(|e| format!("cannot read `{}`: {e}", from.display()))?;
        match std::fs::read(to) {
            Ok(existing) if existing == bytes => continue,
            Ok(_) => {
                return Err(format!(
                    "`{}` exists and is another image; move it away or import with another --credential",
                    to.display()
                ));
            }
            Err(_) => {}
        }
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
        }
        std::fs::write(to, &bytes).map_err(|e| format!("cannot write `{}`: {e}", to.display()))?;
    }
    std::fs::write(out, &imported.yaml)
        .map_err(|e| format!("cannot write `{}`: {e}", out.display()))
}

// ---------------------------------------------------------------------------------------------
// Reading the bundle
// ---------------------------------------------------------------------------------------------

/// Loads, parses, schema-checks and reads the bundle, as `trustc check` does.
fn read(cwd: &Path, absolute: &Path) -> Result<(Bundle, Node), ImportError> {
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
fn languages(bundle: &Bundle) -> Vec<String> {
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

fn attribute_text(bundle: &Bundle, kind: OverlayKind, locale: &str, name: &str) -> Option<String> {
    match &overlay_for(bundle, kind, locale)?.body {
        OverlayBody::Attributes { map, .. } => map.value.get(name).map(|v| v.value.clone()),
        _ => None,
    }
    .filter(|t| !t.is_empty())
}

fn meta_text(
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
struct IndexIds {
    /// The index file, as shown to the user.
    file: String,
    ids: Vec<String>,
}

fn find_index(bundle: &Path, cwd: &Path) -> Option<IndexIds> {
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
fn schema_name_version(id: &str) -> Option<(&str, &str)> {
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
fn semantic_version(version: &str) -> Option<semver::Version> {
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
struct Places {
    /// The governance file's folder (absolute).
    governance_dir: PathBuf,
    /// The repository the file belongs to, as far as can be told: the folder holding the
    /// `governance/` folder the file is in, else the file's folder (standard output: the current
    /// folder).
    repository: PathBuf,
    /// Whether the file is written by trustc (`--out`), which may then copy images.
    written: bool,
    /// Whether the file is in a `governance/` folder, where `trustc check` looks for it.
    in_governance: bool,
}

impl Places {
    fn new(cwd: &Path, out: Option<&Path>) -> Places {
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
/// Whether the file at `path` begins like an image wallets display (PNG, JPEG, GIF, WebP).
fn is_image_file(path: &Path) -> bool {
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

fn resolve(path: &Path) -> PathBuf {
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
fn relative_to(from: &Path, to: &Path) -> String {
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
fn display_path(path: &Path, cwd: &Path) -> String {
    let cwd = resolve(cwd);
    let path = resolve(path);
    match path.strip_prefix(&cwd) {
        Ok(rel) => slash_path(rel),
        Err(_) => path.to_string_lossy().into_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// Text in each locale
// ---------------------------------------------------------------------------------------------

/// A text in every locale of the framework.
#[derive(Clone, Debug, PartialEq)]
struct Localized {
    /// `(locale, text)` in the framework's locale order.
    values: Vec<(String, String)>,
    /// Locales the bundle has no text for, given the text of `from`.
    filled: Vec<String>,
    from: String,
}

impl Localized {
    /// Per-locale text, each locale without one given the first locale's that has one (wallets
    /// fall back to another language in the same way); `None` when no locale has one.
    fn of(locales: &[String], text: impl Fn(&str) -> Option<String>) -> Option<Localized> {
        let found: Vec<Option<String>> = locales.iter().map(|l| text(l)).collect();
        let (from, fallback) = locales
            .iter()
            .zip(&found)
            .find_map(|(l, t)| Some((l.clone(), t.clone()?)))?;
        let mut filled = Vec::new();
        let values = locales
            .iter()
            .zip(found)
            .map(|(l, t)| {
                let t = t.unwrap_or_else(|| {
                    filled.push(l.clone());
                    fallback.clone()
                });
                (l.clone(), t)
            })
            .collect();
        Some(Localized {
            values,
            filled,
            from,
        })
    }

    fn same(&self) -> Option<&str> {
        let first = &self.values.first()?.1;
        self.values
            .iter()
            .all(|(_, t)| t == first)
            .then_some(first.as_str())
    }

    /// The comment saying which locales were filled in, if any.
    fn fill_comment(&self, what: &str) -> Option<String> {
        (!self.filled.is_empty()).then(|| {
            format!(
                "The bundle has no {what} in {}; the `{}` text is used there.",
                ticked(&self.filled),
                self.from
            )
        })
    }
}

fn ticked(items: &[String]) -> String {
    let ticked: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    match ticked.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

// ---------------------------------------------------------------------------------------------
// The import
// ---------------------------------------------------------------------------------------------

struct Importer<'a> {
    bundle: &'a Bundle,
    node: &'a Node,
    /// The bundle path as given on the command line.
    source: String,
    bundle_dir: PathBuf,
    framework_id: String,
    credential_id: String,
    locales: Vec<String>,
    places: Places,
    cwd: PathBuf,
    index: Option<IndexIds>,
}

/// One attribute of the credential.
struct Attribute {
    name: String,
    kind: &'static str,
    format: Option<String>,
    standard: Option<String>,
    encoding: Option<String>,
    personal: bool,
    label: Localized,
    description: Option<Localized>,
    comment: Option<String>,
}

/// The branding fields to write, in the governance's order.
type BrandingFields = Vec<(&'static str, Commented)>;

/// An image to copy: from, to.
type ImageCopy = (PathBuf, PathBuf);

/// A value and the comment to write after it.
struct Commented {
    value: String,
    comment: Option<String>,
}

impl Importer<'_> {
    fn run(mut self) -> Imported {
        let mut notes = Vec::new();
        let mut header_notes = Vec::new();
        if self.locales.is_empty() {
            self.locales.push("en".to_string());
            header_notes
                .push("The bundle's overlays name no language; `en` is assumed.".to_string());
        }
        let locales = self.locales.clone();
        let bundle = self.bundle;
        if !self.places.in_governance {
            notes.push(
                "`trustc check` and `trustc build` read governance files from the `governance/` folder of a repository; move the file there (with the images it names)"
                    .to_string(),
            );
        }

        // Who issues: the meta `issuer` (wallets show it), its website and description.
        let issuer = Localized::of(&locales, |l| meta_text(bundle, l, |m| &m.issuer));
        let issuer_name = issuer.clone().unwrap_or_else(|| Localized {
            values: locales
                .iter()
                .map(|l| (l.clone(), self.framework_id.clone()))
                .collect(),
            filled: Vec::new(),
            from: String::new(),
        });
        let (website, website_comment) = self.website(&locales, &mut notes);
        let issuer_description = Localized::of(&locales, |l| {
            meta_text(bundle, l, |m| &m.issuer_description)
        });

        // The credential's texts.
        let name = Localized::of(&locales, |l| meta_text(bundle, l, |m| &m.name));
        let description = Localized::of(&locales, |l| meta_text(bundle, l, |m| &m.description));
        let help_text = Localized::of(&locales, |l| {
            meta_text(bundle, l, |m| &m.credential_help_text)
        });
        let support_url = Localized::of(&locales, |l| {
            meta_text(bundle, l, |m| &m.credential_support_url)
        });
        let watermark = Localized::of(&locales, |l| meta_text(bundle, l, |m| &m.watermark));

        let attributes = self.attributes(&mut notes);
        let (branding, copies) = self.branding(&mut notes);
        let (version, version_comment) = self.version();

        let mut y = Yaml::default();
        self.header(&mut y, &header_notes);
        y.line(0, "format: trustc/governance/v1");
        y.blank();

        // framework
        y.line(0, "framework:");
        y.scalar(2, "id", &self.framework_id, None);
        if issuer.is_none() {
            y.comment(
                2,
                "The bundle names no issuer: replace these names with the issuer's and the authority's.",
            );
            notes.push(
                "the bundle names no issuer (meta `issuer`); the framework id stands in for it"
                    .to_string(),
            );
        }
        y.text(2, "name", &issuer_name);
        y.scalar(2, "version", "1.0.0", None);
        y.line(2, "authority:");
        y.text(4, "name", &issuer_name);
        if let Some(website) = &website {
            y.scalar(4, "website", website, None);
        }
        y.flow_list(2, "locales", &locales);
        y.blank();

        // participants
        y.line(0, "participants:");
        y.line(2, "- id: issuer");
        if let Some(comment) = issuer.as_ref().and_then(|i| i.fill_comment("issuer name")) {
            y.comment(4, &comment);
            notes.push(lowercase_first(&comment));
        }
        y.text(4, "name", &issuer_name);
        if let Some(d) = &issuer_description {
            if let Some(comment) = d.fill_comment("issuer description") {
                y.comment(4, &comment);
                notes.push(lowercase_first(&comment));
            }
            y.text(4, "description", d);
        }
        if let Some(comment) = &website_comment {
            y.comment(4, comment);
        }
        if let Some(website) = &website {
            y.scalar(4, "website", website, None);
        }
        y.comment(
            4,
            "Add `identifiers:`, the issuer's DIDs or https URLs in `dev`, `test` and `prod`.",
        );
        y.flow_list(4, "issues", std::slice::from_ref(&self.credential_id));
        y.blank();

        // credentials
        y.line(0, "credentials:");
        y.scalar_item(2, "id", &self.credential_id);
        let name = name.unwrap_or_else(|| {
            y.comment(4, "The bundle has no name for the credential: replace this one.");
            notes.push("the bundle has no credential name (meta `name`); the credential id stands in for it".to_string());
            Localized {
                values: locales
                    .iter()
                    .map(|l| (l.clone(), self.credential_id.clone()))
                    .collect(),
                filled: Vec::new(),
                from: String::new(),
            }
        });
        for (key, text, what) in [
            ("name", Some(&name), "name"),
            ("description", description.as_ref(), "description"),
            ("help_text", help_text.as_ref(), "help text"),
            ("support_url", support_url.as_ref(), "support URL"),
            ("watermark", watermark.as_ref(), "watermark"),
        ] {
            let Some(text) = text else { continue };
            if let Some(comment) = text.fill_comment(what) {
                y.comment(4, &comment);
                notes.push(lowercase_first(&comment));
            }
            y.text(4, key, text);
        }
        y.scalar(4, "version", &version, version_comment.as_deref());
        y.flow_list(4, "formats", &["anoncreds".to_string()]);
        self.write_attributes(&mut y, &attributes, &mut notes);
        if let Some(branding) = &branding {
            y.line(4, "branding:");
            for (key, value) in branding {
                y.scalar(6, key, &value.value, value.comment.as_deref());
            }
        }
        y.scalar(4, "revocation", "none", None);
        self.write_anoncreds(&mut y);
        y.line(4, "issuance:");
        y.line(6, "authentication:");
        y.scalar(8, "method", "pre-authorized-code", None);
        y.comment(
            6,
            "Every attribute comes with the offer (`from: offer`); see `trustc schema` for prerequisites and constants.",
        );
        y.line(6, "claims:");
        for attribute in &attributes {
            y.line(
                8,
                &format!("{}: {{ from: offer }}", yaml_key(&attribute.name)),
            );
        }
        Imported {
            yaml: y.out,
            copies,
            notes,
        }
    }

    fn header(&self, y: &mut Yaml, extra: &[String]) {
        y.comment(
            0,
            &format!(
                "Imported by `trustc import oca` from the Aries OCA bundle {}.",
                self.source
            ),
        );
        y.line(0, "#");
        y.comment(
            0,
            "`trustc build` generates the credential's OCA bundle from this file again: the same \
             attributes, labels, texts and branding, with digests the build computes. A bundle \
             does not say who governs the credential, the issuer's identifiers or how it is \
             issued: review the framework, the participant and `issuance` below.",
        );
        if !self.places.written && self.has_local_images() {
            y.line(0, "#");
            y.comment(
                0,
                "Local image paths are written for this file saved in `governance/` of the \
                 folder it was imported in.",
            );
        }
        for note in extra {
            y.line(0, "#");
            y.comment(0, note);
        }
        y.blank();
    }

    fn has_local_images(&self) -> bool {
        self.bundle.branding().is_some_and(|(_, b)| {
            [&b.logo, &b.background_image, &b.background_image_slice]
                .into_iter()
                .flatten()
                .any(|r| is_local_image(&r.value))
        })
    }

    /// The participant's website: the meta `issuer_url` of the first locale that has one.
    fn website(
        &self,
        locales: &[String],
        notes: &mut Vec<String>,
    ) -> (Option<String>, Option<String>) {
        let urls: Vec<(String, String)> = locales
            .iter()
            .filter_map(|l| Some((l.clone(), meta_text(self.bundle, l, |m| &m.issuer_url)?)))
            .collect();
        let Some((from, url)) = urls.first().cloned() else {
            return (None, None);
        };
        if let Err(why) = crate::formats::check_https_url(&url) {
            let comment = format!(
                "The bundle's issuer_url `{url}` is left out: a participant's website must be an https URL ({why})."
            );
            notes.push(lowercase_first(&comment));
            return (None, Some(comment));
        }
        let differs = urls.iter().any(|(_, u)| *u != url);
        let missing: Vec<String> = locales
            .iter()
            .filter(|l| !urls.iter().any(|(m, _)| m == *l))
            .cloned()
            .collect();
        let comment = if differs {
            let others: Vec<String> = urls
                .iter()
                .filter(|(_, u)| *u != url)
                .map(|(l, u)| format!("`{u}` ({l})"))
                .collect();
            Some(format!(
                "The bundle's issuer_url differs per language; a participant has one website, so the `{from}` one is used in every language (the bundle also has {}).",
                others.join(", ")
            ))
        } else if !missing.is_empty() {
            Some(format!(
                "The bundle has no issuer_url in {}; a participant has one website, used in every language.",
                ticked(&missing)
            ))
        } else {
            None
        };
        if let Some(c) = &comment {
            notes.push(lowercase_first(c));
        }
        (Some(url), comment)
    }

    fn attributes(&self, notes: &mut Vec<String>) -> Vec<Attribute> {
        let bundle = self.bundle;
        let flagged: BTreeSet<&str> = bundle
            .capture_base
            .flagged_attributes
            .iter()
            .map(|f| f.value.as_str())
            .collect();
        let default_encoding = self.default_encoding();
        bundle
            .capture_base
            .attributes
            .value
            .iter()
            .map(|(name, oca_type)| {
                let name = name.value.clone();
                let format = self.merged(OverlayKind::Format, &name);
                let standard = self.merged(OverlayKind::Standard, &name);
                let encoding = self
                    .merged(OverlayKind::CharacterEncoding, &name)
                    .or_else(|| default_encoding.clone())
                    .filter(|e| !e.eq_ignore_ascii_case("utf-8"));
                let (kind, comment) = governance_type(&oca_type.value, format.as_deref());
                if let Some(c) = &comment {
                    notes.push(format!("`{name}`: {}", lowercase_first(c)));
                }
                let label = Localized::of(&self.locales, |l| {
                    attribute_text(bundle, OverlayKind::Label, l, &name)
                })
                .unwrap_or_else(|| Localized {
                    values: self
                        .locales
                        .iter()
                        .map(|l| (l.clone(), name.clone()))
                        .collect(),
                    filled: self.locales.clone(),
                    from: String::new(),
                });
                let description = Localized::of(&self.locales, |l| {
                    attribute_text(bundle, OverlayKind::Information, l, &name)
                });
                Attribute {
                    personal: flagged.contains(name.as_str()),
                    name,
                    kind,
                    format,
                    standard,
                    encoding,
                    label,
                    description,
                    comment,
                }
            })
            .collect()
    }

    /// A language-independent per-attribute value (format, standard, encoding): the first overlay
    /// of `kind` that gives `name` a value.
    fn merged(&self, kind: OverlayKind, name: &str) -> Option<String> {
        self.bundle.overlays_of(kind).find_map(|o| match &o.body {
            OverlayBody::Attributes { map, .. } => map
                .value
                .get(name)
                .map(|v| v.value.clone())
                .filter(|v| !v.is_empty()),
            _ => None,
        })
    }

    /// The character encoding overlay's `default_character_encoding`.
    fn default_encoding(&self) -> Option<String> {
        let overlays = self.node.as_array()?.first()?.get("overlays")?.as_array()?;
        self.bundle
            .overlays
            .iter()
            .zip(overlays)
            .filter(|(o, _)| o.kind == OverlayKind::CharacterEncoding)
            .find_map(|(_, node)| {
                node.get("default_character_encoding")?
                    .as_str()
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
            })
    }

    fn write_attributes(&self, y: &mut Yaml, attributes: &[Attribute], notes: &mut Vec<String>) {
        // Text filled in from another language, by kind and locale, said once for all attributes.
        for (what, pick) in [
            (
                "label",
                (|a: &Attribute| Some(&a.label)) as fn(&Attribute) -> Option<&Localized>,
            ),
            ("attribute information", |a: &Attribute| {
                a.description.as_ref()
            }),
        ] {
            for locale in &self.locales {
                let names: Vec<String> = attributes
                    .iter()
                    .filter(|a| {
                        pick(a).is_some_and(|t| t.filled.contains(locale) && !t.from.is_empty())
                    })
                    .map(|a| a.name.clone())
                    .collect();
                if names.is_empty() {
                    continue;
                }
                let comment = format!(
                    "The bundle has no `{locale}` {what} for {}; the text of another language is used.",
                    ticked(&names)
                );
                y.comment(4, &comment);
                notes.push(lowercase_first(&comment));
            }
        }
        let unnamed: Vec<String> = attributes
            .iter()
            .filter(|a| a.label.from.is_empty())
            .map(|a| a.name.clone())
            .collect();
        if !unnamed.is_empty() {
            let comment = format!(
                "The bundle has no label for {}; the attribute name is the label, as wallets show it.",
                ticked(&unnamed)
            );
            y.comment(4, &comment);
            notes.push(lowercase_first(&comment));
        }
        y.line(4, "attributes:");
        for a in attributes {
            y.line(6, &format!("{}:", yaml_key(&a.name)));
            y.scalar(8, "type", a.kind, a.comment.as_deref());
            if let Some(format) = &a.format {
                y.scalar(8, "format", format, None);
            }
            if let Some(standard) = &a.standard {
                y.scalar(8, "standard", standard, None);
            }
            if let Some(encoding) = &a.encoding {
                y.scalar(8, "encoding", encoding, None);
            }
            if a.personal {
                y.line(8, "personal: true");
            }
            y.text(8, "label", &a.label);
            if let Some(description) = &a.description {
                y.text(8, "description", description);
            }
        }
    }

    /// The branding overlay's fields, in the governance's order; the images to copy.
    fn branding(&self, notes: &mut Vec<String>) -> (Option<BrandingFields>, Vec<ImageCopy>) {
        let Some((overlay, b)) = self.bundle.branding() else {
            return (None, Vec::new());
        };
        if overlay.type_name.value.ends_with("/1.1") {
            notes.push(
                "the branding overlay is `aries/overlays/branding/1.1`; `trustc build` writes 1.0 (the same fields; 1.1 only changes the card layout)"
                    .to_string(),
            );
        }
        let mut fields = Vec::new();
        let mut copies = Vec::new();
        let text = |v: &Option<crate::syntax::Spanned<String>>| {
            v.as_ref()
                .map(|s| s.value.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        for (key, role, what, value) in [
            ("logo", "logo", "logo", &b.logo),
            (
                "background_image",
                "background",
                "background image",
                &b.background_image,
            ),
            (
                "background_image_slice",
                "background-slice",
                "background image slice",
                &b.background_image_slice,
            ),
        ] {
            if let Some(reference) = text(value) {
                let image = self.image(role, what, &reference, &mut copies, notes);
                fields.push((key, image));
            }
        }
        for (key, value) in [
            ("primary_background_color", &b.primary_background_color),
            ("secondary_background_color", &b.secondary_background_color),
        ] {
            let Some(colour) = value
                .as_ref()
                .map(|s| s.value.clone())
                .filter(|s| !s.is_empty())
            else {
                continue;
            };
            if crate::formats::parse_colour(&colour).is_ok() {
                fields.push((
                    key,
                    Commented {
                        value: colour,
                        comment: None,
                    },
                ));
            } else if let Some([r, g, b]) = crate::formats::equivalent_colour(&colour) {
                let hex = format!("#{r:02X}{g:02X}{b:02X}");
                notes.push(format!(
                    "{key} `{colour}` is written as `{hex}`: wallets and `trustc check` read colours only as #RRGGBB"
                ));
                fields.push((
                    key,
                    Commented {
                        value: hex,
                        comment: Some(format!(
                            "`{colour}` in the bundle; trustc accepts only #RRGGBB"
                        )),
                    },
                ));
            } else {
                notes.push(format!(
                    "{key} `{colour}` is left out: it is not a colour (wallets cannot use it either)"
                ));
            }
        }
        let attributes = &self.bundle.capture_base.attributes.value;
        for (key, value) in [
            ("primary_attribute", &b.primary_attribute),
            ("secondary_attribute", &b.secondary_attribute),
            ("issued_date_attribute", &b.issued_date_attribute),
            ("expiry_date_attribute", &b.expiry_date_attribute),
        ] {
            let Some(name) = value
                .as_ref()
                .map(|s| s.value.clone())
                .filter(|s| !s.is_empty())
            else {
                continue;
            };
            if attributes.contains_key(&name) {
                fields.push((
                    key,
                    Commented {
                        value: name,
                        comment: None,
                    },
                ));
            } else {
                notes.push(format!(
                    "{key} `{name}` is left out: the bundle has no such attribute, so wallets ignore it"
                ));
            }
        }
        (Some(fields), copies)
    }

    /// An image reference as the governance file names it. https and data: URLs are kept; a path
    /// (relative to the bundle) is written relative to the governance file when the image is in
    /// the same repository, else the image is copied next to the governance file (`--out`).
    fn image(
        &self,
        role: &str,
        what: &str,
        reference: &str,
        copies: &mut Vec<(PathBuf, PathBuf)>,
        notes: &mut Vec<String>,
    ) -> Commented {
        if !is_local_image(reference) {
            return Commented {
                value: reference.to_string(),
                comment: None,
            };
        }
        let image = resolve(&self.bundle_dir.join(reference));
        let places = &self.places;
        let shown = display_path(&image, &self.cwd);
        if !image.is_file() {
            let value = relative_to(&places.governance_dir, &image);
            notes.push(format!(
                "the {what} `{reference}` is not next to the bundle (no `{shown}`); put the image at `{value}` relative to the governance file"
            ));
            return Commented {
                value,
                comment: Some("not found next to the bundle".to_string()),
            };
        }
        if image.starts_with(&places.repository) {
            return Commented {
                value: relative_to(&places.governance_dir, &image),
                comment: None,
            };
        }
        // Only an image that belongs to the bundle is copied: a hostile bundle could otherwise
        // name any local file (`/etc/passwd`, `../../.ssh/id_rsa`) and have it copied into the
        // new repository.
        let bundle_dir = resolve(&self.bundle_dir);
        let refused = if Path::new(reference).is_absolute() || !path_inside(&bundle_dir, &image) {
            Some(format!(
                "the {what} `{reference}` lies outside the bundle's folder, so it is not copied; \
                 put the image into the repository and name it relative to the governance file"
            ))
        } else if !is_image_file(&image) {
            Some(format!(
                "the {what} `{shown}` is not a PNG, JPEG, GIF or WebP image, so it is not copied"
            ))
        } else {
            None
        };
        if let Some(note) = refused {
            notes.push(note);
            return Commented {
                value: relative_to(&places.governance_dir, &image),
                comment: Some("not copied: see the import's notes".to_string()),
            };
        }
        if places.written {
            let extension = image
                .extension()
                .and_then(|e| e.to_str())
                .map_or_else(|| "png".to_string(), str::to_ascii_lowercase);
            let name = format!("images/{}-{role}.{extension}", self.credential_id);
            let target = places.governance_dir.join(&name);
            notes.push(format!(
                "the {what} `{shown}` is outside the repository; it is copied to `{}`",
                display_path(&target, &self.cwd)
            ));
            copies.push((image, target));
            return Commented {
                value: name,
                comment: Some(format!("copied from {shown}")),
            };
        }
        let value = relative_to(&places.governance_dir, &image);
        notes.push(format!(
            "the {what} `{shown}` is outside the current folder, so `trustc check` will report the path; copy it into the repository, or import with --out to have it copied"
        ));
        Commented {
            value,
            comment: Some("outside the repository: copy the image in".to_string()),
        }
    }

    /// The credential version: the highest AnonCreds schema version the index lists, else 1.0.0.
    fn version(&self) -> (String, Option<String>) {
        let Some(index) = &self.index else {
            return ("1.0.0".to_string(), None);
        };
        let versions: Vec<&str> = index
            .ids
            .iter()
            .filter_map(|id| schema_name_version(id).map(|(_, v)| v))
            .collect();
        let best = versions.iter().filter_map(|v| semantic_version(v)).max();
        match best {
            Some(version) => {
                let mut listed: Vec<&str> = versions.clone();
                listed.dedup();
                let comment = if listed.len() > 1 {
                    format!(
                        "the highest AnonCreds schema version in {} ({})",
                        index.file,
                        listed.join(", ")
                    )
                } else {
                    format!("the AnonCreds schema version in {}", index.file)
                };
                (version.to_string(), Some(comment))
            }
            None => ("1.0.0".to_string(), None),
        }
    }

    fn write_anoncreds(&self, y: &mut Yaml) {
        let Some(index) = &self.index else {
            return;
        };
        let names: BTreeSet<&str> = index
            .ids
            .iter()
            .filter_map(|id| schema_name_version(id).map(|(n, _)| n))
            .collect();
        y.line(4, "anoncreds:");
        if let [name] = names.into_iter().collect::<Vec<_>>()[..]
            && name != self.credential_id
        {
            y.scalar(6, "schema_name", name, None);
        }
        y.comment(
            6,
            &format!(
                "The ledger ids {} lists the bundle under, so the generated index lists them too. \
                 They are from every environment: move the dev and test ones under `dev:` and `test:`.",
                index.file
            ),
        );
        y.line(6, "identifiers:");
        y.line(8, "prod:");
        for id in &index.ids {
            y.line(10, &format!("- {}", yaml_scalar(id, false)));
        }
    }
}

/// Whether an image reference is a local path (not an https, data: or other URL).
fn is_local_image(reference: &str) -> bool {
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

/// The governance type of a capture-base type, and a comment when the mapping loses something.
fn governance_type(oca_type: &str, format: Option<&str>) -> (&'static str, Option<String>) {
    match oca_type {
        "Text" => ("text", None),
        "Numeric" => ("number", None),
        "Boolean" => ("boolean", None),
        "Binary" => ("binary", None),
        "DateTime" => {
            let format = format.unwrap_or("").to_ascii_lowercase();
            let time = format.contains("hh")
                || format.contains(":mm")
                || format.contains("time")
                || format.contains("ss");
            (if time { "datetime" } else { "date" }, None)
        }
        other => (
            "text",
            Some(format!(
                "`{other}` in the bundle; the governance has no such type, so the rebuilt bundle says `Text`"
            )),
        ),
    }
}

fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Writing YAML
// ---------------------------------------------------------------------------------------------

/// Lines this long or shorter are written as flow mappings (`{ en: A, fr: B }`).
const FLOW_WIDTH: usize = 80;

/// Comments are wrapped at this width.
const COMMENT_WIDTH: usize = 100;

/// A YAML document written line by line, in the governance's usual layout.
#[derive(Default)]
struct Yaml {
    out: String,
}

impl Yaml {
    fn line(&mut self, indent: usize, text: &str) {
        self.out.push_str(&" ".repeat(indent));
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn blank(&mut self) {
        self.out.push('\n');
    }

    /// A comment, wrapped at [`COMMENT_WIDTH`].
    fn comment(&mut self, indent: usize, text: &str) {
        let width = COMMENT_WIDTH.saturating_sub(indent + 2).max(40);
        let mut line = String::new();
        for word in text.split_whitespace() {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                self.line(indent, &format!("# {line}"));
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        if !line.is_empty() {
            self.line(indent, &format!("# {line}"));
        }
    }

    fn scalar(&mut self, indent: usize, key: &str, value: &str, comment: Option<&str>) {
        let mut line = format!("{}: {}", yaml_key(key), yaml_scalar(value, false));
        if let Some(comment) = comment {
            line.push_str("  # ");
            line.push_str(comment);
        }
        self.line(indent, &line);
    }

    /// The first key of a sequence item: `- key: value`.
    fn scalar_item(&mut self, indent: usize, key: &str, value: &str) {
        self.line(
            indent,
            &format!("- {}: {}", yaml_key(key), yaml_scalar(value, false)),
        );
    }

    fn flow_list(&mut self, indent: usize, key: &str, items: &[String]) {
        let items: Vec<String> = items.iter().map(|i| yaml_scalar(i, true)).collect();
        self.line(
            indent,
            &format!("{}: [{}]", yaml_key(key), items.join(", ")),
        );
    }

    /// A text: one string when it is the same in every locale, else a mapping per locale.
    fn text(&mut self, indent: usize, key: &str, text: &Localized) {
        if let Some(same) = text.same() {
            self.scalar(indent, key, same, None);
            return;
        }
        let flow = format!(
            "{}: {{ {} }}",
            yaml_key(key),
            text.values
                .iter()
                .map(|(l, t)| format!("{}: {}", yaml_scalar(l, true), yaml_scalar(t, true)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let flowable = text
            .values
            .iter()
            .all(|(l, t)| plain_ok(l, true) && plain_ok(t, true));
        if flowable && indent + flow.chars().count() <= FLOW_WIDTH {
            self.line(indent, &flow);
            return;
        }
        self.line(indent, &format!("{}:", yaml_key(key)));
        for (locale, t) in &text.values {
            self.scalar(indent + 2, locale, t, None);
        }
    }
}

/// A mapping key.
fn yaml_key(key: &str) -> String {
    yaml_scalar(key, false)
}

/// A string as a YAML scalar: plain when YAML reads it back as the same string, else
/// double-quoted. `flow` is for items of `[…]` and `{…}`.
pub fn yaml_scalar(s: &str, flow: bool) -> String {
    if plain_ok(s, flow) {
        s.to_string()
    } else {
        double_quoted(s)
    }
}

/// Whether `s` can be written as a plain scalar and read back as the same string by any YAML 1.1 or
/// 1.2 reader (conservative: anything that might be a number, a boolean or null is quoted).
fn plain_ok(s: &str, flow: bool) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if s.trim() != s || s.lines().count() > 1 {
        return false;
    }
    if "-?:,[]{}#&*!|>'\"%@`<=~".contains(first) {
        return false;
    }
    if s.chars()
        .any(|c| c.is_control() || matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}' | '\u{85}'))
    {
        return false;
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') {
        return false;
    }
    if flow && s.contains([',', '[', ']', '{', '}', ':', '#']) {
        return false;
    }
    const WORDS: &[&str] = &["null", "true", "false", "yes", "no", "on", "off", "y", "n"];
    if WORDS.iter().any(|w| w.eq_ignore_ascii_case(s)) {
        return false;
    }
    // Numbers (and YAML 1.1 dates and sexagesimals), except versions such as 1.0.0 and relative
    // paths.
    let path = s.starts_with("./") || s.starts_with("../");
    if (first.is_ascii_digit() || matches!(first, '+' | '.')) && !is_semver_like(s) && !path {
        return false;
    }
    true
}

/// `1.0.0`: three dot-separated runs of digits.
fn is_semver_like(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02X}", c as u32));
            }
            c if c.is_control() || c == '\u{feff}' => {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_back(value: &str) -> String {
        let text = format!(
            "key: {}\nlist: [{}]\n",
            yaml_scalar(value, false),
            yaml_scalar(value, true)
        );
        let node = crate::syntax::yaml::parse(&text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
        let key = node.get("key").and_then(Node::as_str).map(str::to_string);
        let item = node
            .get("list")
            .and_then(Node::as_array)
            .and_then(|a| a.first())
            .and_then(Node::as_str)
            .map(str::to_string);
        assert_eq!(key, item, "{text}");
        key.unwrap_or_else(|| panic!("{text} does not read back as a string"))
    }

    #[test]
    fn scalars_read_back_as_the_same_string() {
        for value in [
            "plain text",
            "Date d'émission",
            "Given Name",
            "",
            " padded ",
            "true",
            "No",
            "off",
            "null",
            "~",
            "1",
            "1.0",
            "1.0.0",
            "0x1F",
            "1e3",
            ".inf",
            "-1",
            "+1",
            "1990-04-17",
            "12:30",
            "#003366",
            "rgb(0, 51, 102)",
            "a: b",
            "a #b",
            "ends:",
            "- item",
            "[x]",
            "{x}",
            "*alias",
            "&anchor",
            "!tag",
            "%percent",
            "@at",
            "`tick",
            "'quoted'",
            "\"double\"",
            "line\nbreak",
            "tab\there",
            "back\\slash",
            "urn:iso:std:iso:1989",
            "https://example.org/a?b=c#d",
            "data:image/png;base64,iVBOR=",
            "<< merge",
            "? key",
            "| literal",
            "> folded",
            "a, b",
            "\u{2028}",
            "\u{1}",
        ] {
            assert_eq!(read_back(value), value, "{value:?}");
        }
    }

    #[test]
    fn versions_and_ordinary_text_stay_plain() {
        assert_eq!(yaml_scalar("1.0.0", false), "1.0.0");
        assert_eq!(yaml_scalar("Called to the bar", false), "Called to the bar");
        assert_eq!(
            yaml_scalar("urn:iso:std:iso:1989", false),
            "urn:iso:std:iso:1989"
        );
        assert_eq!(yaml_scalar("#00475A", false), "\"#00475A\"");
        assert_eq!(yaml_scalar("a, b", true), "\"a, b\"");
    }

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

    #[test]
    fn missing_text_is_filled_from_another_language() {
        let locales = vec!["en".to_string(), "fr".to_string()];
        let text =
            Localized::of(&locales, |l| (l == "fr").then(|| "Service BC".to_string())).unwrap();
        assert_eq!(text.same(), Some("Service BC"));
        assert_eq!(text.filled, ["en"]);
        assert_eq!(text.from, "fr");
        assert!(Localized::of(&locales, |_| None).is_none());
    }
}
