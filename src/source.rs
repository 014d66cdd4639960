//! Load stage: reading input files safely, and turning byte offsets into lines and columns.
//!
//! Every file trustc reads goes through [`read_source`], which refuses files over [`MAX_FILE_SIZE`]
//! before reading them and reports invalid UTF-8 at the first bad byte, so later stages only ever
//! see bounded, valid text.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// Largest governance or OCA file trustc reads. The largest real OCA bundle (with two inlined
/// images) is about 200 KB; governance files are a few KB.
pub const MAX_FILE_SIZE: u64 = 8 * 1024 * 1024;

/// Where a file is: the path shown to users (relative to the checked folder, `/`-separated) and the
/// path to open.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourcePath {
    pub display: String,
    pub absolute: PathBuf,
}

impl SourcePath {
    /// `path` inside `root`; the display form is relative to `root` when it can be.
    pub fn new(root: &Path, path: &Path) -> Arc<SourcePath> {
        let display = match path.strip_prefix(root) {
            Ok(rel) if rel.as_os_str().is_empty() => ".".to_string(),
            Ok(rel) => slash_path(rel),
            Err(_) => path.to_string_lossy().replace('\\', "/"),
        };
        Arc::new(SourcePath {
            display,
            absolute: path.to_path_buf(),
        })
    }
}

impl fmt::Display for SourcePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

/// A path with `/` separators on every platform (diagnostics and reports are compared across
/// machines).
pub fn slash_path(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// A file's text, read and checked.
pub struct SourceFile {
    pub path: Arc<SourcePath>,
    pub text: String,
    /// Built on the first diagnostic: most files have none.
    lines: OnceLock<LineIndex>,
}

impl SourceFile {
    pub fn new(path: Arc<SourcePath>, text: String) -> SourceFile {
        SourceFile {
            path,
            text,
            lines: OnceLock::new(),
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_column(&self, offset: u32) -> (u32, u32) {
        self.lines
            .get_or_init(|| LineIndex::new(&self.text))
            .line_column(&self.text, offset)
    }
}

/// Why a file could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    Io(std::io::Error),
    TooLarge {
        size: u64,
    },
    /// Not UTF-8; `text` holds the valid prefix so the position can be shown.
    InvalidUtf8 {
        valid_up_to: usize,
        text: String,
    },
}

/// Reads a whole text file, refusing oversized files and invalid UTF-8.
pub fn read_source(path: &Path) -> Result<String, LoadError> {
    let file = std::fs::File::open(path).map_err(LoadError::Io)?;
    let size = file.metadata().map_err(LoadError::Io)?.len();
    if size > MAX_FILE_SIZE {
        return Err(LoadError::TooLarge { size });
    }
    let mut bytes = Vec::with_capacity(size as usize);
    // `take` guards against a file that grows while it is read.
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(LoadError::Io)?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(LoadError::TooLarge {
            size: bytes.len() as u64,
        });
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid_up_to = e.utf8_error().valid_up_to();
        let mut bytes = e.into_bytes();
        bytes.truncate(valid_up_to);
        LoadError::InvalidUtf8 {
            valid_up_to,
            text: String::from_utf8(bytes).unwrap_or_default(),
        }
    })
}

/// Byte offsets of line starts, for offset → line/column conversion by binary search.
#[derive(Clone, Debug, Default)]
pub struct LineIndex {
    starts: Vec<u32>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        // `match_indices` with a `char` searches with memchr: bundles with inlined images are
        // hundreds of kilobytes on a few lines.
        starts.extend(text.match_indices('\n').map(|(i, _)| (i + 1) as u32));
        LineIndex { starts }
    }

    /// 1-based line and 1-based column counted in characters.
    pub fn line_column(&self, text: &str, offset: u32) -> (u32, u32) {
        let offset = (offset as usize).min(text.len());
        let line = self.starts.partition_point(|&s| s as usize <= offset) - 1;
        let start = self.starts[line] as usize;
        let column = text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line as u32 + 1, column as u32 + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_columns_count_characters() {
        let text = "ab\nçd\n\nx";
        let index = LineIndex::new(text);
        assert_eq!(index.line_column(text, 0), (1, 1));
        assert_eq!(index.line_column(text, 3), (2, 1));
        assert_eq!(index.line_column(text, 5), (2, 2)); // after the two-byte `ç`
        assert_eq!(index.line_column(text, 7), (3, 1));
        assert_eq!(index.line_column(text, 8), (4, 1));
        assert_eq!(index.line_column(text, 99), (4, 2));
    }

    #[test]
    fn invalid_utf8_keeps_the_valid_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.json");
        std::fs::write(&path, b"{\"a\": \"\xff\"}").unwrap();
        match read_source(&path) {
            Err(LoadError::InvalidUtf8 { valid_up_to, text }) => {
                assert_eq!(valid_up_to, 7);
                assert_eq!(text, "{\"a\": \"");
            }
            other => panic!("unexpected {:?}", other.map(|_| ())),
        }
    }

    #[test]
    fn oversized_files_are_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.json");
        let file = std::fs::File::create(&path).unwrap();
        file.set_len(MAX_FILE_SIZE + 1).unwrap();
        assert!(matches!(
            read_source(&path),
            Err(LoadError::TooLarge { .. })
        ));
    }
}
