//! The bundle indexes: `ocabundles.json` (what wallets load) and `ocabundleslist.json` (what the
//! OCA Explorer loads).
//!
//! Wallets use an index entry's `sha256` as a cache key and never verify it, so a stale value means
//! a wallet keeps an old bundle forever. The value is the SHA-256 of the bundle file as
//! `shasum -a 256 -U` computes it (universal newlines: CR LF and CR read as LF).

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::diag::{Code, FileDiagnostics};
use crate::source::MAX_FILE_SIZE;
use crate::syntax::{Node, Span};

pub const INDEX_FILE_NAME: &str = "ocabundles.json";
pub const LIST_FILE_NAME: &str = "ocabundleslist.json";

/// One entry of either index: a credential identifier, the bundle path and its hash.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: String,
    pub id_span: Span,
    pub path: String,
    pub path_span: Span,
    pub sha256: String,
    pub sha256_span: Span,
}

/// Reads the entries of a schema-valid `ocabundles.json`: `{id: {path, sha256}}`.
pub fn index_entries(root: &Node) -> Vec<Entry> {
    root.as_object()
        .unwrap_or(&[])
        .iter()
        .filter_map(|member| {
            let item = &member.value;
            entry(
                (member.key.clone(), member.key_span),
                item.get("path")?,
                item.get("sha256")?,
            )
        })
        .collect()
}

/// Reads the entries of a schema-valid `ocabundleslist.json`: `[{id, ocabundle, shasum}]`.
pub fn list_entries(root: &Node) -> Vec<Entry> {
    root.as_array()
        .unwrap_or(&[])
        .iter()
        .filter_map(|item| {
            let id = item.get("id")?;
            entry(
                (id.as_str()?.to_string(), id.span),
                item.get("ocabundle")?,
                item.get("shasum")?,
            )
        })
        .collect()
}

fn entry((id, id_span): (String, Span), path: &Node, sha256: &Node) -> Option<Entry> {
    Some(Entry {
        id,
        id_span,
        path: path.as_str()?.to_string(),
        path_span: path.span,
        sha256: sha256.as_str()?.to_string(),
        sha256_span: sha256.span,
    })
}

/// Hashes of bundle files, computed once per file for all indexes of a run.
#[derive(Default)]
pub struct HashCache {
    hashes: HashMap<PathBuf, Result<String, String>>,
}

impl HashCache {
    /// A cache holding hashes already computed (by the bundle pass), by normalized path.
    pub fn seeded(hashes: HashMap<PathBuf, String>) -> HashCache {
        HashCache {
            hashes: hashes
                .into_iter()
                .map(|(path, hash)| (path, Ok(hash)))
                .collect(),
        }
    }

    fn get(&mut self, path: &Path) -> &Result<String, String> {
        let path = crate::images::normalize(path);
        self.hashes
            .entry(path.clone())
            .or_insert_with(|| shasum_universal(&path))
    }
}

/// Lowercase hex SHA-256 of a file read with universal newlines, as `shasum -a 256 -U` prints it.
pub fn shasum_universal(path: &Path) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(format!(
            "the file is larger than {} MiB",
            MAX_FILE_SIZE >> 20
        ));
    }
    Ok(sha256_universal(&bytes))
}

/// SHA-256 of `bytes` with CR LF and lone CR read as LF.
pub fn sha256_universal(bytes: &[u8]) -> String {
    if !bytes.contains(&b'\r') {
        return hex(&Sha256::digest(bytes));
    }
    let mut hasher = Sha256::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\r' {
            hasher.update(&bytes[start..i]);
            hasher.update(b"\n");
            i += if bytes.get(i + 1) == Some(&b'\n') {
                2
            } else {
                1
            };
            start = i;
        } else {
            i += 1;
        }
    }
    hasher.update(&bytes[start..]);
    hex(&hasher.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks that every entry points at an existing bundle whose hash matches. `base` is the folder
/// the index's paths are relative to (the index's own folder); `root` the checked folder.
pub fn check_entries(
    entries: &[Entry],
    base: &Path,
    root: &Path,
    hashes: &mut HashCache,
    sink: &mut FileDiagnostics,
) {
    for entry in entries {
        let path = base.join(&entry.path);
        let inside = crate::images::path_inside(root, &path);
        if !inside {
            sink.report(
                Code::PathEscape,
                entry.path_span,
                format!(
                    "the bundle path `{}` leads outside the checked folder",
                    entry.path
                ),
                "outside the repository",
                "index paths are relative to the index file and must stay inside the repository",
            );
            continue;
        }
        if !path.is_file() {
            sink.report(
                Code::UnknownReference,
                entry.path_span,
                format!(
                    "the bundle `{}` for `{}` does not exist",
                    entry.path, entry.id
                ),
                "no such file",
                "paths are relative to the index file; fix the path or remove the entry",
            );
            continue;
        }
        match hashes.get(&path) {
            Ok(actual) if *actual == entry.sha256 => {}
            Ok(actual) => {
                let actual = actual.clone();
                sink.report(
                    Code::IndexSha256Mismatch,
                    entry.sha256_span,
                    format!("the sha256 of `{}` does not match the bundle file", entry.path),
                    format!("the file's sha256 is `{actual}`"),
                    "wallets cache bundles by this value and never re-download a bundle whose value did not change; \
                     write the value shown here, and update the index after every bundle change \
                     (`trustc build` writes the indexes of the bundles it generates)",
                );
            }
            Err(error) => {
                let error = error.clone();
                sink.report(
                    Code::IoError,
                    entry.path_span,
                    format!("the bundle `{}` could not be read: {error}", entry.path),
                    "unreadable",
                    "check the file's permissions",
                );
            }
        }
    }
}

/// Compares one index with the other index of the same folder (`other_name`): every identifier
/// of `entries` must be in `other` with the same bundle and hash. Called once in each direction.
pub fn check_consistency(
    entries: &[Entry],
    other: &[Entry],
    other_name: &str,
    sink: &mut FileDiagnostics,
) {
    let others: BTreeMap<&str, &Entry> = other.iter().map(|e| (e.id.as_str(), e)).collect();
    for entry in entries {
        match others.get(entry.id.as_str()) {
            None => sink.report(
                Code::IndexInconsistent,
                entry.id_span,
                format!("`{}` is not in {other_name}", entry.id),
                format!("missing from {other_name}"),
                "wallets read ocabundles.json and the OCA Explorer reads ocabundleslist.json; regenerate both together",
            ),
            Some(o) if o.path != entry.path || o.sha256 != entry.sha256 => sink.report(
                Code::IndexInconsistent,
                entry.id_span,
                format!("{other_name} gives `{}` a different bundle or hash", entry.id),
                format!("{other_name} says `{}` with sha256 `{}`", o.path, o.sha256),
                "regenerate both indexes from the same bundles",
            ),
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn universal_newlines_hash_like_lf() {
        let lf = sha256_universal(b"a\nb\n");
        assert_eq!(sha256_universal(b"a\r\nb\r\n"), lf);
        assert_eq!(sha256_universal(b"a\rb\r"), lf);
        assert_eq!(
            sha256_universal(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
