//! Test support shared by the runtime's integration tests (`mod support;` in each test file).
//! Not every test file uses every item.
#![allow(dead_code)]

pub mod postgres;

use std::path::PathBuf;

/// A throwaway SQLite database file (removed with the `TempDir`).
pub struct SqliteFile {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
    /// `sqlite:<path>` (the store creates the file).
    pub url: String,
}

impl SqliteFile {
    pub fn new(name: &str) -> SqliteFile {
        let dir = tempfile::Builder::new()
            .prefix("trustc-sqlite-")
            .tempdir()
            .expect("cannot create a temporary directory");
        let path = dir.path().join(format!("{name}.db"));
        let url = format!("sqlite:{}", path.display());
        SqliteFile { dir, path, url }
    }
}
