//! The `trustc check` pipeline: discover → load and parse → schema → read models → semantic checks.
//!
//! Every stage reports all the problems it finds and carries on with what is sound: a file that
//! fails to parse or fails its schema is left out of later stages (its typed model would be
//! meaningless), the rest are still checked. OCA bundles are checked in parallel and dropped as
//! soon as they are checked, except the few the governance names, so memory does not grow with the
//! number of bundles.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{LazyLock, OnceLock};

use crate::confine::Confined;
use crate::diag::render::Summary;
use crate::diag::{Code, Diagnostic, FileDiagnostics, SeverityOverrides};
use crate::discover::{Inventory, discover};
use crate::governance::check::{Document, LoadedBundle, bundle_path, check_all};
use crate::images::{ImageContext, LocalImages};
use crate::oca::index::{self, HashCache, INDEX_FILE_NAME, LIST_FILE_NAME};
use crate::source::{LoadError, MAX_FILE_SIZE, SourceFile, SourcePath, read_source};
use crate::syntax::json::TopLevel;
use crate::syntax::{Node, SyntaxError, Value, json, yaml};
use crate::{oca, schema};

/// Options of a check run.
#[derive(Clone, Debug, Default)]
pub struct CheckOptions {
    pub overrides: SeverityOverrides,
    /// Worker threads for OCA bundles; 0 means one per available core.
    pub jobs: usize,
}

/// The outcome of a check: every diagnostic, sorted, and the totals.
#[derive(Debug, Default)]
pub struct Report {
    pub diagnostics: Vec<Diagnostic>,
    pub summary: Summary,
}

impl Report {
    /// Sorts the diagnostics by file and position, drops exact repeats and counts them by
    /// severity: call it after adding diagnostics.
    pub fn settle(&mut self) {
        self.diagnostics
            .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        self.diagnostics.dedup();
        self.summary.count(&self.diagnostics);
    }
}

/// trustc could not check at all (exit status 2).
#[derive(Debug)]
pub struct RunError(pub String);

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RunError {}

/// A checked repository: the report, and the models later stages build from.
pub struct Analysis {
    pub report: Report,
    /// The canonical repository folder.
    pub root: PathBuf,
    /// Every governance file that passed its schema.
    pub documents: Vec<Document>,
    /// The OCA bundles the governance names, by canonical path.
    pub bundles: HashMap<PathBuf, LoadedBundle>,
}

/// Checks the folder at `path`.
pub fn check(path: &Path, options: &CheckOptions) -> Result<Report, RunError> {
    analyse(path, options).map(|analysis| analysis.report)
}

/// Checks the folder at `path` and keeps the checked models.
pub fn analyse(path: &Path, options: &CheckOptions) -> Result<Analysis, RunError> {
    // Compiling the OCA schemas takes about a millisecond, as long as finding the files of a
    // small repository: do both at once. (The first bundle or index waits for it if needed.)
    std::thread::spawn(|| {
        LazyLock::force(&schema::OCA_BUNDLE);
        LazyLock::force(&schema::OCA_INDEX);
    });
    let root = path
        .canonicalize()
        .map_err(|e| RunError(format!("cannot check `{}`: {e}", path.display())))?;
    if !root.is_dir() {
        return Err(RunError(format!(
            "cannot check `{}`: it is not a folder (give the governance repository or a folder of OCA bundles)",
            path.display()
        )));
    }
    let inventory = discover(&root);
    if inventory.governance.is_empty()
        && inventory.bundles.is_empty()
        && inventory.indexes.is_empty()
        && inventory.problems.is_empty()
    {
        // Checking nothing is almost always a wrong path in a CI job; passing would hide it.
        let hint = match root.file_name().and_then(|n| n.to_str()) {
            Some(name @ ("governance" | "oca-bundles")) => {
                format!("; give the repository folder that contains `{name}/`")
            }
            _ => String::new(),
        };
        return Err(RunError(format!(
            "nothing to check in `{}`: it has no `governance/` folder and no OCABundle.json, \
             ocabundles.json or ocabundleslist.json{hint}",
            path.display()
        )));
    }
    let mut report = Report::default();
    let mut diagnostics = inventory.problems.clone();

    // Governance: parse and schema-check every file, then find the bundles it names.
    let mut documents = Vec::new();
    let mut unreadable_governance = false;
    for file in &inventory.governance {
        report.summary.files += 1;
        match load_governance(&root, file, &mut diagnostics) {
            Some(document) => documents.push(document),
            None => unreadable_governance = true,
        }
    }
    let wanted: HashSet<PathBuf> = documents
        .iter()
        .flat_map(|d| d.model.credentials.iter())
        .filter_map(|c| c.oca_bundle.as_ref())
        .map(|b| bundle_path(&root, &b.value))
        .filter_map(|p| p.canonicalize().ok())
        .collect();

    // Indexes are read before the bundles so the bundle pass can hash the files they list while
    // it has them in memory, instead of reading every bundle a second time. Which bundles are
    // listed is one flag per discovered bundle (their list is sorted).
    let indexes = read_indexes(&inventory, &mut diagnostics, &mut report.summary);
    let mut indexed = vec![false; inventory.bundles.len()];
    for read in &indexes {
        for entry in &read.entries {
            let file = index::entry_file(&read.base, &entry.path(&read.file.text));
            if let Ok(i) = inventory.bundles.binary_search(&file) {
                indexed[i] = true;
            }
        }
    }

    let pass = check_bundles(&inventory, &wanted, &indexed, options.jobs);
    diagnostics.extend(pass.diagnostics);
    report.summary.files += inventory.bundles.len();
    report.summary.oca_bundles = inventory.bundles.len();
    let kept = pass.kept;

    let confined = Confined::new(&root);
    check_indexes(
        &confined,
        &indexes,
        HashCache::seeded(&inventory.bundles, pass.hashes),
        &mut diagnostics,
    );

    report.summary.frameworks = documents.len();
    report.summary.credential_types = documents.iter().map(|d| d.model.credentials.len()).sum();
    check_all(
        &root,
        &documents,
        &kept,
        unreadable_governance,
        &mut diagnostics,
    );

    report.diagnostics = diagnostics
        .into_iter()
        .filter_map(|d| options.overrides.apply(d))
        .collect();
    report.settle();
    Ok(Analysis {
        report,
        root,
        documents,
        bundles: kept,
    })
}

/// Reads and parses a file, reporting why it cannot be used.
pub fn load(
    root: &Path,
    path: &Path,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<(SourceFile, Node)> {
    let source_path = SourcePath::new(root, path);
    let text = match read_source(path) {
        Ok(text) => text,
        Err(error) => {
            diagnostics.push(load_error(source_path, error));
            return None;
        }
    };
    let file = SourceFile::new(source_path, text);
    let is_yaml = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    );
    let parsed = if is_yaml {
        yaml::parse(&file.text)
    } else {
        json::parse(&file.text)
    };
    match parsed {
        Ok(node) => Some((file, node)),
        Err(error) => {
            diagnostics.push(syntax_diagnostic(&file, is_yaml, error));
            None
        }
    }
}

fn load_error(path: std::sync::Arc<SourcePath>, error: LoadError) -> Diagnostic {
    match error {
        LoadError::Io(error) => Diagnostic::new(Code::IoError, format!("`{path}` could not be read: {error}"))
            .in_file(path)
            .with_help("check that the file exists and is readable"),
        LoadError::TooLarge { size } => Diagnostic::new(
            Code::FileTooLarge,
            format!(
                "`{path}` is {} MiB; trustc reads files of at most {} MiB",
                size.div_ceil(1 << 20),
                MAX_FILE_SIZE >> 20
            ),
        )
        .in_file(path)
        .with_help("governance files and OCA bundles are small; a file this large is not one (inlined images belong in separate files)"),
        LoadError::InvalidUtf8 { valid_up_to, text } => {
            let file = SourceFile::new(path, text);
            let mut sink = FileDiagnostics::new(&file);
            sink.report(
                Code::InvalidUtf8,
                crate::syntax::Span::new(valid_up_to, valid_up_to),
                format!("`{}` is not valid UTF-8 text", file.path),
                "the first invalid byte is here",
                "save the file as UTF-8 (most editors have an encoding option)",
            );
            sink.diagnostics.pop().expect("just reported")
        }
    }
}

fn syntax_diagnostic(file: &SourceFile, is_yaml: bool, error: SyntaxError) -> Diagnostic {
    let (code, help) = match (error.limit, is_yaml) {
        (true, _) => (
            Code::InputTooComplex,
            "trustc limits nesting depth and alias expansion so hostile input cannot exhaust memory; real governance files and bundles stay far below the limits",
        ),
        (false, true) => (Code::YamlSyntax, "fix the YAML syntax at this position"),
        (false, false) => (Code::JsonSyntax, "fix the JSON syntax at this position"),
    };
    let mut sink = FileDiagnostics::new(file);
    let what = if is_yaml { "YAML" } else { "JSON" };
    let label = if error.limit {
        "limit reached here".to_string()
    } else {
        error.message.clone()
    };
    sink.report(
        code,
        error.span,
        format!("invalid {what}: {}", error.message),
        label,
        help,
    );
    sink.diagnostics.pop().expect("just reported")
}

/// A file passed its schema but its typed model could not be read from it: the schema and the
/// model disagree, which is a trustc bug, still reported at the value.
fn report_unreadable(sink: &mut FileDiagnostics, error: &crate::syntax::DeError) {
    sink.report(
        Code::InvalidValue,
        error.span.unwrap_or_default(),
        format!("this value cannot be read: {}", error.message),
        "unreadable value",
        "the file passed its schema but trustc could not read this value; please report it",
    );
}

fn load_governance(
    root: &Path,
    path: &Path,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Document> {
    let (file, node) = load(root, path, diagnostics)?;
    let mut sink = FileDiagnostics::new(&file);
    let valid = schema::validate(&schema::GOVERNANCE, &node, &mut sink);
    let model = if valid {
        match crate::syntax::from_node(&node) {
            Ok(model) => Some(model),
            Err(error) => {
                report_unreadable(&mut sink, &error);
                None
            }
        }
    } else {
        None
    };
    diagnostics.extend(sink.diagnostics);
    drop(node);
    model.map(|model| Document { file, model })
}

/// What the bundle pass keeps: its diagnostics, the bundles the governance names (read), and the
/// hashes of the bundles the indexes list (by position in the inventory's sorted bundles).
#[derive(Default)]
struct BundlePass {
    diagnostics: Vec<Diagnostic>,
    kept: HashMap<PathBuf, LoadedBundle>,
    hashes: Vec<Option<index::Sha256Value>>,
}

/// Checks every bundle, on `jobs` threads.
fn check_bundles(
    inventory: &Inventory,
    wanted: &HashSet<PathBuf>,
    indexed: &[bool],
    jobs: usize,
) -> BundlePass {
    let jobs = match jobs {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .min(inventory.bundles.len().max(1));
    let next = AtomicUsize::new(0);
    // Each worker writes the hashes of the bundles it checked into their places.
    let hashes: Vec<OnceLock<index::Sha256Value>> = (0..inventory.bundles.len())
        .map(|_| OnceLock::new())
        .collect();
    let passes: Vec<BundlePass> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs)
            .map(|_| {
                scope.spawn(|| {
                    let mut pass = BundlePass::default();
                    // Per thread: what is known of the folders and images of the repository.
                    let images = LocalImages::new(&inventory.root);
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(path) = inventory.bundles.get(i) else {
                            break;
                        };
                        let Some((file, bundle)) =
                            check_bundle(&images, path, &mut pass.diagnostics)
                        else {
                            continue;
                        };
                        if indexed[i] {
                            let hash = index::sha256_universal_bytes(file.text.as_bytes());
                            hashes[i].get_or_init(|| hash);
                        }
                        if let Some(bundle) = bundle
                            && !wanted.is_empty()
                            && wanted.contains(path)
                        {
                            pass.kept
                                .insert(path.clone(), LoadedBundle { file, bundle });
                        }
                    }
                    pass
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a bundle worker panicked"))
            .collect()
    });
    let mut all = BundlePass {
        hashes: hashes.into_iter().map(OnceLock::into_inner).collect(),
        ..BundlePass::default()
    };
    for pass in passes {
        all.diagnostics.extend(pass.diagnostics);
        all.kept.extend(pass.kept);
    }
    all
}

/// Loads, schema-checks, reads and checks one bundle. Returns the file when it could be read, and
/// the bundle when it passed its schema.
fn check_bundle(
    images: &LocalImages,
    path: &Path,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<(SourceFile, Option<oca::Bundle>)> {
    let root = images.root();
    let (file, node) = load(root, path, diagnostics)?;
    let mut sink = FileDiagnostics::new(&file);
    let mut result = None;
    if schema::validate(&schema::OCA_BUNDLE, &node, &mut sink) {
        match oca::read_bundle(&node) {
            Ok(bundle) => {
                let base_dir = path.parent().unwrap_or(root);
                let context = ImageContext {
                    files: images,
                    base_dir,
                };
                oca::check::check_bundle(&node, &bundle, &context, &mut sink);
                result = Some(bundle);
            }
            Err(error) => report_unreadable(&mut sink, &error),
        }
    }
    diagnostics.extend(sink.diagnostics);
    drop(node);
    Some((file, result))
}

/// An index file that passed its schema, and its entries.
struct ReadIndex {
    file: SourceFile,
    entries: Vec<index::Entry>,
    /// `ocabundles.json` or `ocabundleslist.json`.
    name: &'static str,
    /// The folder its paths are relative to.
    base: PathBuf,
}

/// Reads every index. An index is read entry by entry: each is parsed, checked against the
/// index's schema and kept as the positions of its three values, so memory does not grow with
/// a tree of the whole index.
fn read_indexes(
    inventory: &Inventory,
    diagnostics: &mut Vec<Diagnostic>,
    summary: &mut Summary,
) -> Vec<ReadIndex> {
    let mut indexes = Vec::new();
    for path in &inventory.indexes {
        summary.files += 1;
        summary.indexes += 1;
        let source_path = SourcePath::new(&inventory.root, path);
        let text = match read_source(path) {
            Ok(text) => text,
            Err(error) => {
                diagnostics.push(load_error(source_path, error));
                continue;
            }
        };
        let file = SourceFile::new(source_path, text);
        let is_list = path.file_name().and_then(|n| n.to_str()) == Some(LIST_FILE_NAME);
        let (schema, name) = if is_list {
            (&*schema::OCA_INDEX_LIST, LIST_FILE_NAME)
        } else {
            (&*schema::OCA_INDEX, INDEX_FILE_NAME)
        };
        let mut sink = FileDiagnostics::new(&file);
        let mut entries = Vec::new();
        let mut valid = true;
        let parsed = json::parse_entries(&file.text, |entry| {
            let (skeleton, index) = match entry {
                TopLevel::Member(member) => (
                    Node::new(member.value.span, Value::Object(vec![member])),
                    None,
                ),
                TopLevel::Item(index, item) => {
                    (Node::new(item.span, Value::Array(vec![item])), Some(index))
                }
            };
            if !schema::validate_entry(schema, &skeleton, index, &mut sink) {
                valid = false;
                return;
            }
            let entry = match &skeleton.value {
                Value::Object(members) => members.first().and_then(index::index_entry),
                Value::Array(items) => items.first().and_then(index::list_entry),
                _ => None,
            };
            entries.extend(entry);
        });
        match parsed {
            Ok(Some(_)) => {}
            // Neither an object nor an array: the whole (wrong) document, checked as one.
            Ok(None) => match json::parse(&file.text) {
                Ok(node) => valid &= schema::validate(schema, &node, &mut sink),
                Err(error) => {
                    valid = false;
                    sink.diagnostics
                        .push(syntax_diagnostic(&file, false, error));
                }
            },
            Err(error) => {
                valid = false;
                // Diagnostics of the entries before the syntax error would be noise.
                sink.diagnostics.clear();
                sink.diagnostics
                    .push(syntax_diagnostic(&file, false, error));
            }
        }
        diagnostics.extend(sink.diagnostics);
        if valid {
            entries.shrink_to_fit();
            indexes.push(ReadIndex {
                file,
                entries,
                name,
                base: path.parent().unwrap_or(&inventory.root).to_path_buf(),
            });
        }
    }
    indexes
}

fn check_indexes(
    confined: &Confined,
    indexes: &[ReadIndex],
    mut hashes: HashCache,
    diagnostics: &mut Vec<Diagnostic>,
) {
    for read in indexes {
        let mut sink = FileDiagnostics::new(&read.file);
        index::check_entries(&read.entries, &read.base, confined, &mut hashes, &mut sink);
        // The index and the list of the same folder must agree.
        if let Some(other) = indexes
            .iter()
            .find(|o| o.base == read.base && o.name != read.name)
        {
            index::check_consistency(
                &read.entries,
                &other.entries,
                &other.file.text,
                other.name,
                &mut sink,
            );
        }
        diagnostics.extend(sink.diagnostics);
    }
}
