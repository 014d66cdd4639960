//! Discovery: which files of a folder trustc reads.
//!
//! A *governance repository* has a `governance/` folder: its frameworks are `governance/**/*.yaml`,
//! its bundles and indexes live under `oca-bundles/`, and everything else (tests, build output) is
//! left alone. Any other folder is treated as a bundle repository such as bcgov's
//! `aries-oca-bundles`: every `OCABundle.json` and index file in it is read. Symbolic links are
//! followed, with loops reported rather than walked forever.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use walkdir::WalkDir;

use crate::diag::{Code, Diagnostic};
use crate::oca::BUNDLE_FILE_NAME;
use crate::oca::index::{INDEX_FILE_NAME, LIST_FILE_NAME};
use crate::source::SourcePath;

pub const GOVERNANCE_DIR: &str = "governance";
pub const OCA_BUNDLES_DIR: &str = "oca-bundles";

/// The files to check, each list sorted.
#[derive(Debug, Default)]
pub struct Inventory {
    /// The checked folder, canonical.
    pub root: PathBuf,
    /// Whether the folder is a governance repository (it has `governance/`).
    pub governance_repository: bool,
    pub governance: Vec<PathBuf>,
    pub bundles: Vec<PathBuf>,
    pub indexes: Vec<PathBuf>,
    /// Folders that could not be walked.
    pub problems: Vec<Diagnostic>,
}

/// Finds the files to check under `root` (a canonical folder).
pub fn discover(root: &Path) -> Inventory {
    let mut inventory = Inventory {
        root: root.to_path_buf(),
        ..Inventory::default()
    };
    let governance_dir = root.join(GOVERNANCE_DIR);
    if governance_dir.is_dir() {
        inventory.governance_repository = true;
        walk(root, &governance_dir, &mut inventory, |path, inventory| {
            if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            ) {
                inventory.governance.push(path.to_path_buf());
            }
        });
        let bundles_dir = root.join(OCA_BUNDLES_DIR);
        if bundles_dir.is_dir() {
            walk(root, &bundles_dir, &mut inventory, collect_oca);
        }
    } else {
        walk(root, root, &mut inventory, collect_oca);
    }
    inventory.governance.sort();
    inventory.bundles.sort();
    inventory.indexes.sort();
    inventory
}

fn collect_oca(path: &Path, inventory: &mut Inventory) {
    match path.file_name().and_then(|n| n.to_str()) {
        Some(BUNDLE_FILE_NAME) => inventory.bundles.push(path.to_path_buf()),
        Some(INDEX_FILE_NAME | LIST_FILE_NAME) => inventory.indexes.push(path.to_path_buf()),
        _ => {}
    }
}

/// Folders never searched: version control, build output and package caches.
fn is_skipped_dir(name: &str) -> bool {
    name.starts_with('.') || matches!(name, "target" | "node_modules")
}

fn walk(
    root: &Path,
    dir: &Path,
    inventory: &mut Inventory,
    mut visit: impl FnMut(&Path, &mut Inventory),
) {
    let walker = WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            e.depth() == 0
                || !e.file_type().is_dir()
                || !e.file_name().to_str().is_some_and(is_skipped_dir)
        });
    for entry in walker {
        match entry {
            Ok(entry) if entry.file_type().is_file() => visit(entry.path(), inventory),
            Ok(_) => {}
            Err(error) => inventory.problems.push(walk_problem(root, &error)),
        }
    }
}

fn walk_problem(root: &Path, error: &walkdir::Error) -> Diagnostic {
    let path = error.path().unwrap_or(root);
    let file = SourcePath::new(root, path);
    if let Some(ancestor) = error.loop_ancestor() {
        let ancestor = SourcePath::new(root, ancestor);
        return Diagnostic::new(
            Code::SymlinkLoop,
            format!(
                "`{}` is a symbolic link back to `{}`, a folder that contains the link; it was not followed",
                file.display, ancestor.display
            ),
        )
        .in_file(Arc::clone(&file))
        .with_help("remove the link or point it at a folder outside its own ancestors");
    }
    let reason = error
        .io_error()
        .map_or_else(|| error.to_string(), ToString::to_string);
    Diagnostic::new(
        Code::IoError,
        format!("`{}` could not be read: {reason}", file.display),
    )
    .in_file(file)
    .with_help("check that it exists and is readable; a symbolic link may point at something that does not exist")
}
