//! Paths that must stay inside the checked folder, resolved without a `realpath` per path.
//!
//! Images, index entries and bundle references name files by relative paths, and none of them
//! may lead outside the checked folder, neither by `..` nor through a symbolic link. Canonicalising
//! every such path asks the kernel to read every component of it as a link (a dozen `readlink`
//! calls per path); on a repository of 10,000 bundles that was most of the kernel's time. A
//! [`Confined`] knows the canonical root (canonicalised once, by the caller) and remembers which
//! folders under it are real folders, not links: a path whose folders are all known costs one
//! `lstat` of its last component. Whenever a symbolic link is met, the path is canonicalised as
//! before and must still end up inside the root, so the guarantee is the same.

use std::cell::RefCell;
use std::collections::HashSet;
use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};

/// Where a path inside the root leads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// Outside the root: by its components, or through a symbolic link.
    Outside,
    /// Inside the root, but nothing is there (or a link that leads nowhere, or no permission).
    Missing,
    /// A regular file inside the root; the canonical path when it differs from the given one (a
    /// symbolic link was followed).
    File(Option<PathBuf>),
    /// Something else inside the root (a folder, a device).
    Other,
}

/// The canonical checked folder and what is known about the folders under it. One per thread:
/// the cache is not shared (bundle workers each check their own folders).
#[derive(Debug)]
pub struct Confined {
    root: PathBuf,
    /// Folders under the root known to be real folders (no component a symbolic link).
    real_dirs: RefCell<HashSet<PathBuf>>,
}

/// What a folder on the way to a path turned out to be.
enum Folder {
    Real,
    Linked,
    Absent,
}

impl Confined {
    /// `root` must be canonical (`Path::canonicalize` of the checked folder).
    pub fn new(root: &Path) -> Confined {
        Confined {
            root: root.to_path_buf(),
            real_dirs: RefCell::new(HashSet::new()),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Resolves `path` (absolute, or relative to the working folder; `.` and `..` are resolved by
    /// their components first, as [`normalize`] does).
    pub fn resolve(&self, path: &Path) -> Resolved {
        let normalized;
        let path = if path
            .components()
            .any(|c| matches!(c, Component::CurDir | Component::ParentDir))
        {
            normalized = normalize(path);
            normalized.as_path()
        } else {
            path
        };
        if !path.starts_with(&self.root) {
            return Resolved::Outside;
        }
        if path == self.root {
            return Resolved::Other;
        }
        let parent = path.parent().unwrap_or(&self.root);
        match self.folder(parent) {
            Folder::Real => {}
            Folder::Linked => return self.through_link(path),
            Folder::Absent => return Resolved::Missing,
        }
        match std::fs::symlink_metadata(path) {
            Ok(metadata) if metadata.file_type().is_symlink() => self.through_link(path),
            Ok(metadata) if metadata.is_file() => Resolved::File(None),
            Ok(_) => Resolved::Other,
            Err(_) => Resolved::Missing,
        }
    }

    /// Whether `path` (absolute and normalized) leads to a place inside the root, existing or not.
    pub fn inside(&self, path: &Path) -> bool {
        self.resolve(path) != Resolved::Outside
    }

    /// What the folder `dir` (under the root, normalized) is, remembering real folders.
    fn folder(&self, dir: &Path) -> Folder {
        if dir == self.root || self.real_dirs.borrow().contains(dir) {
            return Folder::Real;
        }
        if !dir.starts_with(&self.root) {
            // Only reachable through `resolve`'s checks on a path equal to the root's parent.
            return Folder::Absent;
        }
        match self.folder(dir.parent().unwrap_or(&self.root)) {
            Folder::Real => {}
            other => return other,
        }
        match std::fs::symlink_metadata(dir) {
            Ok(metadata) if metadata.file_type().is_symlink() => Folder::Linked,
            Ok(metadata) if metadata.is_dir() => {
                self.real_dirs.borrow_mut().insert(dir.to_path_buf());
                Folder::Real
            }
            Ok(_) => Folder::Absent,
            Err(error) if error.kind() == ErrorKind::NotFound => Folder::Absent,
            Err(_) => Folder::Absent,
        }
    }

    /// A path with a symbolic link on the way: canonicalised, as every path was before.
    fn through_link(&self, path: &Path) -> Resolved {
        match path.canonicalize() {
            Ok(canonical) if !canonical.starts_with(&self.root) => Resolved::Outside,
            Ok(canonical) if canonical.is_file() => Resolved::File(Some(canonical)),
            Ok(_) => Resolved::Other,
            Err(_) => Resolved::Missing,
        }
    }
}

/// Removes `.` and resolves `..` without touching the file system.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn setup() -> (tempfile::TempDir, tempfile::TempDir, PathBuf) {
        let repo = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let root = repo.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/b/file.json"), "{}").unwrap();
        std::fs::write(outside.path().join("secret.json"), "{}").unwrap();
        (repo, outside, root)
    }

    #[test]
    fn plain_paths_inside_resolve_to_themselves() {
        let (_repo, _outside, root) = setup();
        let confined = Confined::new(&root);
        assert_eq!(
            confined.resolve(&root.join("a/b/file.json")),
            Resolved::File(None)
        );
        assert_eq!(
            confined.resolve(&root.join("a/./b/../b/file.json")),
            Resolved::File(None)
        );
        assert_eq!(confined.resolve(&root.join("a/b")), Resolved::Other);
        assert_eq!(
            confined.resolve(&root.join("a/b/none.json")),
            Resolved::Missing
        );
        assert_eq!(
            confined.resolve(&root.join("a/x/none.json")),
            Resolved::Missing
        );
        // A file used as a folder.
        assert_eq!(
            confined.resolve(&root.join("a/b/file.json/x")),
            Resolved::Missing
        );
        assert_eq!(confined.resolve(&root.join("../x")), Resolved::Outside);
        assert_eq!(confined.resolve(&root.join("a/../../x")), Resolved::Outside);
    }

    #[test]
    fn links_are_followed_and_may_not_leave_the_root() {
        let (_repo, outside, root) = setup();
        symlink(outside.path(), root.join("a/out")).unwrap();
        symlink(
            outside.path().join("secret.json"),
            root.join("a/b/secret.json"),
        )
        .unwrap();
        symlink(root.join("a/b"), root.join("a/inside")).unwrap();
        symlink("file.json", root.join("a/b/alias.json")).unwrap();
        symlink("nowhere.json", root.join("a/b/dangling.json")).unwrap();
        let confined = Confined::new(&root);
        // Twice each: the second answer comes with the folders already known.
        for _ in 0..2 {
            assert_eq!(
                confined.resolve(&root.join("a/out/secret.json")),
                Resolved::Outside,
                "a linked folder leading outside"
            );
            assert_eq!(
                confined.resolve(&root.join("a/b/secret.json")),
                Resolved::Outside,
                "a linked file leading outside"
            );
            assert_eq!(
                confined.resolve(&root.join("a/inside/file.json")),
                Resolved::File(Some(root.join("a/b/file.json")))
            );
            assert_eq!(
                confined.resolve(&root.join("a/b/alias.json")),
                Resolved::File(Some(root.join("a/b/file.json")))
            );
            assert_eq!(
                confined.resolve(&root.join("a/b/dangling.json")),
                Resolved::Missing
            );
        }
    }
}
