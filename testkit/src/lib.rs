//! What trustc's tests and benchmarks need beside the code they test, kept out of the shipped
//! crates: the wallet's side of key binding ([`holder`]), the verifier's check of an issued SD-JWT
//! VC ([`sdjwt`]), throwaway PostgreSQL clusters ([`postgres`]) and SQLite files ([`SqliteFile`]),
//! and the shipped example with its credentials offered by the back end ([`example`]).
//! A dev-dependency of `trustc` and `trustc-runtime`; the issuer never links it.

pub mod example;
pub mod holder;
pub mod postgres;
pub mod sdjwt;

use std::path::PathBuf;

pub use holder::HolderKey;

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
