//! The bundle indexes: `ocabundles.json` (what wallets load) and `ocabundleslist.json` (what the
//! OCA Explorer loads).
//!
//! Wallets use an index entry's `sha256` as a cache key and never verify it, so a stale value means
//! a wallet keeps an old bundle forever. The value is the SHA-256 of the bundle file as
//! `shasum -a 256 -U` computes it (universal newlines: CR LF and CR read as LF).

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::confine::{Confined, Resolved};
use crate::diag::{Code, FileDiagnostics};
use crate::source::MAX_FILE_SIZE;
use crate::syntax::{Member, Node, Span, json};

pub const INDEX_FILE_NAME: &str = "ocabundles.json";
pub const LIST_FILE_NAME: &str = "ocabundleslist.json";

/// One entry of either index: where its credential identifier, bundle path and hash are in the
/// index's text. Entries are kept as positions (24 bytes each) rather than strings, so an index
/// of 10,000 entries costs little beyond its own text; [`Entry::id`] and the others read the
/// values back from the text.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    pub id_span: Span,
    pub path_span: Span,
    pub sha256_span: Span,
}

impl Entry {
    pub fn id<'t>(&self, text: &'t str) -> Cow<'t, str> {
        json::string_at(text, self.id_span)
    }

    pub fn path<'t>(&self, text: &'t str) -> Cow<'t, str> {
        json::string_at(text, self.path_span)
    }

    pub fn sha256<'t>(&self, text: &'t str) -> Cow<'t, str> {
        json::string_at(text, self.sha256_span)
    }
}

/// Reads one member of a schema-valid `ocabundles.json` (`id: {path, sha256}`).
pub fn index_entry(member: &Member) -> Option<Entry> {
    let item = &member.value;
    entry(member.key_span, item.get("path")?, item.get("sha256")?)
}

/// Reads one item of a schema-valid `ocabundleslist.json` (`{id, ocabundle, shasum}`).
pub fn list_entry(item: &Node) -> Option<Entry> {
    let id = item.get("id")?;
    id.as_str()?;
    entry(id.span, item.get("ocabundle")?, item.get("shasum")?)
}

/// Reads the entries of a schema-valid `ocabundles.json`: `{id: {path, sha256}}`.
pub fn index_entries(root: &Node) -> Vec<Entry> {
    root.as_object()
        .unwrap_or(&[])
        .iter()
        .filter_map(index_entry)
        .collect()
}

/// Reads the entries of a schema-valid `ocabundleslist.json`: `[{id, ocabundle, shasum}]`.
pub fn list_entries(root: &Node) -> Vec<Entry> {
    root.as_array()
        .unwrap_or(&[])
        .iter()
        .filter_map(list_entry)
        .collect()
}

fn entry(id_span: Span, path: &Node, sha256: &Node) -> Option<Entry> {
    path.as_str()?;
    sha256.as_str()?;
    Some(Entry {
        id_span,
        path_span: path.span,
        sha256_span: sha256.span,
    })
}

/// A SHA-256 value.
pub type Sha256Value = [u8; 32];

/// Hashes of bundle files, computed once per file for all indexes of a run: those of the
/// discovered bundles (by their position in the sorted list of bundles), hashed by the bundle
/// pass while it had each file in memory, and any other file an index lists, hashed when asked.
pub struct HashCache<'a> {
    bundles: &'a [PathBuf],
    seeded: Vec<Option<Sha256Value>>,
    others: HashMap<PathBuf, Result<Sha256Value, String>>,
}

impl<'a> HashCache<'a> {
    /// `bundles` is the sorted list of discovered bundle files; `seeded[i]` the hash of
    /// `bundles[i]` when it was computed.
    pub fn seeded(bundles: &'a [PathBuf], seeded: Vec<Option<Sha256Value>>) -> HashCache<'a> {
        HashCache {
            bundles,
            seeded,
            others: HashMap::new(),
        }
    }

    /// The hash of the file at `path` (normalized).
    fn get(&mut self, path: &Path) -> Result<Sha256Value, String> {
        if let Ok(i) = self.bundles.binary_search_by(|b| b.as_path().cmp(path))
            && let Some(Some(hash)) = self.seeded.get(i)
        {
            return Ok(*hash);
        }
        self.others
            .entry(path.to_path_buf())
            .or_insert_with(|| shasum_universal_bytes(path))
            .clone()
    }
}

/// Lowercase hex SHA-256 of a file read with universal newlines, as `shasum -a 256 -U` prints it.
pub fn shasum_universal(path: &Path) -> Result<String, String> {
    shasum_universal_bytes(path).map(|hash| hex(&hash))
}

fn shasum_universal_bytes(path: &Path) -> Result<Sha256Value, String> {
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
    Ok(sha256_universal_bytes(&bytes))
}

/// SHA-256 of `bytes` with CR LF and lone CR read as LF, in lowercase hex.
pub fn sha256_universal(bytes: &[u8]) -> String {
    hex(&sha256_universal_bytes(bytes))
}

/// SHA-256 of `bytes` with CR LF and lone CR read as LF.
pub fn sha256_universal_bytes(bytes: &[u8]) -> Sha256Value {
    if !bytes.contains(&b'\r') {
        return Sha256::digest(bytes).into();
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
    hasher.finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Whether `written` is the lowercase hex form of `hash`.
fn is_hex_of(written: &str, hash: &Sha256Value) -> bool {
    written.len() == 64
        && written.as_bytes().chunks(2).zip(hash).all(|(pair, b)| {
            pair[0] == HEX[usize::from(b >> 4)] && pair[1] == HEX[usize::from(b & 15)]
        })
}

/// The file an entry names: `base` joined with its path, `.` and `..` resolved.
pub fn entry_file(base: &Path, path: &str) -> PathBuf {
    crate::confine::normalize(&base.join(path))
}

/// Checks that every entry points at an existing bundle whose hash matches. `base` is the folder
/// the index's paths are relative to (the index's own folder); `confined` knows the checked
/// folder.
pub fn check_entries(
    entries: &[Entry],
    base: &Path,
    confined: &Confined,
    hashes: &mut HashCache,
    sink: &mut FileDiagnostics,
) {
    let file = sink.file;
    let text = file.text.as_str();
    for entry in entries {
        let path_text = entry.path(text);
        let path = entry_file(base, &path_text);
        match confined.resolve(&path) {
            Resolved::Outside => {
                sink.report(
                    Code::PathEscape,
                    entry.path_span,
                    format!("the bundle path `{path_text}` leads outside the checked folder"),
                    "outside the repository",
                    "index paths are relative to the index file and must stay inside the repository",
                );
                continue;
            }
            Resolved::Missing | Resolved::Other => {
                sink.report(
                    Code::UnknownReference,
                    entry.path_span,
                    format!(
                        "the bundle `{path_text}` for `{}` does not exist",
                        entry.id(text)
                    ),
                    "no such file",
                    "paths are relative to the index file; fix the path or remove the entry",
                );
                continue;
            }
            Resolved::File(_) => {}
        }
        match hashes.get(&path) {
            Ok(actual) if is_hex_of(&entry.sha256(text), &actual) => {}
            Ok(actual) => sink.report(
                Code::IndexSha256Mismatch,
                entry.sha256_span,
                format!("the sha256 of `{path_text}` does not match the bundle file"),
                format!("the file's sha256 is `{}`", hex(&actual)),
                "wallets cache bundles by this value and never re-download a bundle whose value did not change; \
                 write the value shown here, and update the index after every bundle change \
                 (`trustc build` writes the indexes of the bundles it generates)",
            ),
            Err(error) => sink.report(
                Code::IoError,
                entry.path_span,
                format!("the bundle `{path_text}` could not be read: {error}"),
                "unreadable",
                "check the file's permissions",
            ),
        }
    }
}

/// Compares one index with the other index of the same folder (`other_name`, whose text is
/// `other_text`): every identifier of `entries` must be in `other` with the same bundle and hash.
/// Called once in each direction.
pub fn check_consistency(
    entries: &[Entry],
    other: &[Entry],
    other_text: &str,
    other_name: &str,
    sink: &mut FileDiagnostics,
) {
    let file = sink.file;
    let text = file.text.as_str();
    let others: HashMap<Cow<str>, &Entry> = other.iter().map(|e| (e.id(other_text), e)).collect();
    for entry in entries {
        let id = entry.id(text);
        match others.get(&id) {
            None => sink.report(
                Code::IndexInconsistent,
                entry.id_span,
                format!("`{id}` is not in {other_name}"),
                format!("missing from {other_name}"),
                "wallets read ocabundles.json and the OCA Explorer reads ocabundleslist.json; regenerate both together",
            ),
            Some(o) => {
                let (path, sha256) = (o.path(other_text), o.sha256(other_text));
                if path != entry.path(text) || sha256 != entry.sha256(text) {
                    sink.report(
                        Code::IndexInconsistent,
                        entry.id_span,
                        format!("{other_name} gives `{id}` a different bundle or hash"),
                        format!("{other_name} says `{path}` with sha256 `{sha256}`"),
                        "regenerate both indexes from the same bundles",
                    );
                }
            }
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
