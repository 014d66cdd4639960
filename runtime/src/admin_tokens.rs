//! The admin API's bearer tokens read from a file (`trustc serve --admin-token-file`), so that an
//! operator can rotate them without a restart: the file is re-read when an admin request comes
//! (at most once a second of the issuer's clock), a token added to it is accepted at once, and a
//! token removed from it stays accepted for a grace period, so that the back ends can switch from
//! the old token to the new one while both work. Every comparison is constant-time
//! ([`crate::secrets::constant_time_eq`]), against every accepted token, and nothing here logs a
//! token: only the file, line numbers and counts.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::secrets::{constant_time_eq, read_secret_file};

/// The shortest admin token accepted (also for `TRUSTC_ADMIN_TOKEN`).
pub const MIN_TOKEN_LENGTH: usize = 16;

/// The admin tokens of one file, re-read as it changes, with the removed ones in their grace
/// period. `Debug` shows the file and the counts, never a token.
pub struct AdminTokenFile {
    path: PathBuf,
    /// How long a token removed from the file stays accepted, in seconds.
    grace: i64,
    state: Mutex<FileState>,
}

struct FileState {
    /// The clock second of the last read: the file is read again only in a later second.
    read_at: i64,
    /// The tokens in the file at the last read.
    current: Vec<String>,
    /// Tokens removed from the file, and the second until which each is still accepted.
    retired: Vec<(String, i64)>,
    /// Why the last read failed (logged once per distinct reason), if it did.
    failing: Option<String>,
}

impl std::fmt::Debug for AdminTokenFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (current, retired) = self
            .state
            .lock()
            .map(|s| (s.current.len(), s.retired.len()))
            .unwrap_or_default();
        f.debug_struct("AdminTokenFile")
            .field("path", &self.path)
            .field("grace", &self.grace)
            .field("current", &current)
            .field("retired", &retired)
            .finish()
    }
}

impl AdminTokenFile {
    /// Reads the token file at `path` (at the clock second `now`): one token per line, blank
    /// lines and lines starting with `#` ignored, surrounding whitespace trimmed. Refused (the
    /// message names the file, and the line when one is at fault) when the file cannot be read,
    /// when its group or others may access it, when it holds no token, or when a token is
    /// shorter than [`MIN_TOKEN_LENGTH`] or has spaces inside.
    pub fn open(path: &Path, grace_seconds: i64, now: i64) -> Result<AdminTokenFile, String> {
        let current = read_tokens(path)?;
        Ok(AdminTokenFile {
            path: path.to_path_buf(),
            grace: grace_seconds.max(0),
            state: Mutex::new(FileState {
                read_at: now,
                current,
                retired: Vec::new(),
                failing: None,
            }),
        })
    }

    /// The file the tokens are read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether `given` is one of the file's tokens, or one removed from it less than the grace
    /// period ago, at the clock second `now`. Re-reads the file first when it was last read in an
    /// earlier second. `given` is compared in constant time with every accepted token (no early
    /// exit on a match).
    pub fn admits(&self, given: &str, now: i64) -> bool {
        // Nothing panics while holding the lock; were it poisoned, its state is still whole.
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if now != state.read_at {
            self.refresh(&mut state, now);
        }
        let current = state
            .current
            .iter()
            .fold(false, |found, token| found | constant_time_eq(token, given));
        let retired = state.retired.iter().fold(false, |found, (token, until)| {
            found | (constant_time_eq(token, given) & (now < *until))
        });
        current | retired
    }

    /// Reads the file again: tokens gone from it start their grace period, tokens back in it
    /// leave it, expired ones are forgotten. A file that cannot be read (or that others may read,
    /// or that has a bad line) leaves the tokens as they were, with a warning naming the file.
    fn refresh(&self, state: &mut FileState, now: i64) {
        state.read_at = now;
        state.retired.retain(|(_, until)| now < *until);
        let tokens = match read_tokens(&self.path) {
            Ok(tokens) => tokens,
            Err(reason) => {
                if state.failing.as_deref() != Some(reason.as_str()) {
                    tracing::warn!(
                        file = %self.path.display(),
                        %reason,
                        "the admin token file could not be read again: the tokens read before \
                         stay accepted"
                    );
                    state.failing = Some(reason);
                }
                return;
            }
        };
        state.failing = None;
        let removed: Vec<String> = state
            .current
            .iter()
            .filter(|old| !tokens.contains(old))
            .cloned()
            .collect();
        let added = tokens.iter().filter(|t| !state.current.contains(t)).count();
        if removed.is_empty() && added == 0 {
            return;
        }
        state.retired.retain(|(token, _)| !tokens.contains(token));
        let until = now.saturating_add(self.grace);
        let retiring = removed.len();
        state
            .retired
            .extend(removed.into_iter().map(|token| (token, until)));
        state.current = tokens;
        tracing::info!(
            file = %self.path.display(),
            added,
            removed = retiring,
            accepted = state.current.len(),
            grace_seconds = self.grace,
            "the admin tokens changed: removed tokens stay accepted for the grace period"
        );
    }
}

/// The tokens of the file at `path`, or why there are none to take.
fn read_tokens(path: &Path) -> Result<Vec<String>, String> {
    let what = "the admin token file";
    let text = read_secret_file(path, what)?;
    let shown = path.display();
    let mut tokens = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let token = line.trim();
        if token.is_empty() || token.starts_with('#') {
            continue;
        }
        let line = number + 1;
        if token.contains(char::is_whitespace) {
            return Err(format!(
                "{what} `{shown}`, line {line}: a token has no spaces inside (one token per line)"
            ));
        }
        if token.chars().count() < MIN_TOKEN_LENGTH {
            return Err(format!(
                "{what} `{shown}`, line {line}: the token is too short; use at least \
                 {MIN_TOKEN_LENGTH} random characters"
            ));
        }
        if !tokens.iter().any(|t| t == token) {
            tokens.push(token.to_owned());
        }
    }
    if tokens.is_empty() {
        return Err(format!(
            "{what} `{shown}` holds no token: put one per line (blank lines and lines starting \
             with `#` are ignored)"
        ));
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "old-admin-token-0123456789abcdef";
    const NEW: &str = "new-admin-token-0123456789abcdef";

    fn write(path: &Path, text: &str) {
        std::fs::write(path, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }

    #[test]
    fn tokens_added_count_at_once_and_removed_ones_within_the_grace_period() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin-tokens");
        write(&path, &format!("# the back end's token\n{OLD}\n\n"));
        let t0 = 1_000_000;
        let file = AdminTokenFile::open(&path, 600, t0).unwrap();
        assert!(file.admits(OLD, t0));
        assert!(!file.admits(NEW, t0));
        assert!(!file.admits("", t0));
        assert!(!file.admits(&OLD[..OLD.len() - 1], t0));

        // Both during the switch, then the new one only.
        write(&path, &format!("{OLD}\n{NEW}\n"));
        // Read again in a later second only.
        assert!(!file.admits(NEW, t0));
        assert!(file.admits(NEW, t0 + 1));
        assert!(file.admits(OLD, t0 + 1));
        write(&path, &format!("{NEW}\n"));
        assert!(file.admits(NEW, t0 + 2));
        assert!(file.admits(OLD, t0 + 2), "in its grace period");
        assert!(file.admits(OLD, t0 + 2 + 599), "in its grace period");
        assert!(!file.admits(OLD, t0 + 2 + 600), "after its grace period");
        assert!(file.admits(NEW, t0 + 2 + 600));
        // Forgotten, and not accepted again when the clock goes back.
        assert!(!file.admits(OLD, t0 + 3));
        assert_eq!(
            format!("{file:?}"),
            format!("AdminTokenFile {{ path: {path:?}, grace: 600, current: 1, retired: 0 }}")
        );
    }

    #[test]
    fn a_token_put_back_leaves_its_grace_period() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin-tokens");
        write(&path, &format!("{OLD}\n"));
        let file = AdminTokenFile::open(&path, 10, 0).unwrap();
        write(&path, &format!("{NEW}\n"));
        assert!(file.admits(OLD, 1));
        write(&path, &format!("{OLD}\n{NEW}\n"));
        assert!(file.admits(OLD, 2));
        assert!(
            file.admits(OLD, 100),
            "back in the file: no grace period ends it"
        );
    }

    #[test]
    fn a_file_that_cannot_be_read_again_keeps_the_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin-tokens");
        write(&path, &format!("{OLD}\n"));
        let file = AdminTokenFile::open(&path, 0, 0).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(file.admits(OLD, 1));
        write(&path, "short\n");
        assert!(file.admits(OLD, 2));
        write(&path, "");
        assert!(
            file.admits(OLD, 3),
            "an empty file (being written) changes nothing"
        );
        write(&path, &format!("{NEW}\n"));
        assert!(file.admits(NEW, 4));
        assert!(!file.admits(OLD, 4), "no grace period");
    }

    #[test]
    fn a_bad_file_is_refused_naming_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin-tokens");
        let shown = path.display();
        write(&path, &format!("{OLD}\nshort\n"));
        assert_eq!(
            AdminTokenFile::open(&path, 600, 0).unwrap_err(),
            format!(
                "the admin token file `{shown}`, line 2: the token is too short; use at least 16 \
                 random characters"
            )
        );
        write(&path, "two tokens-0123456789abcdef\n");
        assert!(
            AdminTokenFile::open(&path, 600, 0)
                .unwrap_err()
                .ends_with("line 1: a token has no spaces inside (one token per line)")
        );
        write(&path, "# nothing yet\n\n");
        assert!(
            AdminTokenFile::open(&path, 600, 0)
                .unwrap_err()
                .contains("holds no token")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            write(&path, &format!("{OLD}\n"));
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
            assert_eq!(
                AdminTokenFile::open(&path, 600, 0).unwrap_err(),
                format!(
                    "the admin token file `{shown}` can be read or changed by users other than \
                     its owner (mode 0640): a secret file must be the owner's only; run \
                     `chmod 600 {shown}`"
                )
            );
        }
    }
}
