//! Emit stage: writing a build's output folder in one step.
//!
//! The files are written to a fresh folder next to the target and swapped in only when all of them
//! were written, so a failed build leaves the previous output untouched and a finished one never
//! mixes with stale files. An existing folder is only ever replaced when trustc wrote it (it holds
//! the marker file), so `--out` pointed at the wrong folder cannot delete anyone's work.

use std::io;
use std::path::{Path, PathBuf};

use super::Output;

/// The marker file trustc leaves in every output folder it writes.
pub const MARKER: &str = ".trustc-build";

/// Why the output could not be written.
#[derive(Debug)]
pub struct EmitError(pub String);

impl std::fmt::Display for EmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Replaces the folder `out` with exactly `outputs`.
pub fn write(out: &Path, outputs: &[Output]) -> Result<(), EmitError> {
    let context = |what: &str, path: &Path, e: io::Error| {
        EmitError(format!("cannot {what} `{}`: {e}", path.display()))
    };
    if out.exists() {
        if !out.is_dir() {
            return Err(EmitError(format!(
                "`{}` exists and is not a folder; give a folder for the build output",
                out.display()
            )));
        }
        let empty = std::fs::read_dir(out)
            .map_err(|e| context("read", out, e))?
            .next()
            .is_none();
        if !empty && !out.join(MARKER).is_file() {
            return Err(EmitError(format!(
                "`{}` is not empty and was not written by `trustc build`; give a new or empty \
                 folder (trustc replaces the whole output folder on each build)",
                out.display()
            )));
        }
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| context("create", &parent, e))?;
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let staging = parent.join(format!(".{name}.trustc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let result = write_all(&staging, outputs);
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    if out.exists() {
        let old = parent.join(format!(".{name}.trustc-old-{}", std::process::id()));
        std::fs::rename(out, &old).map_err(|e| context("replace", out, e))?;
        if let Err(e) = std::fs::rename(&staging, out) {
            let _ = std::fs::rename(&old, out);
            let _ = std::fs::remove_dir_all(&staging);
            return Err(context("replace", out, e));
        }
        let _ = std::fs::remove_dir_all(&old);
    } else {
        std::fs::rename(&staging, out).map_err(|e| context("create", out, e))?;
    }
    Ok(())
}

fn write_all(staging: &Path, outputs: &[Output]) -> Result<(), EmitError> {
    std::fs::create_dir_all(staging)
        .map_err(|e| EmitError(format!("cannot create `{}`: {e}", staging.display())))?;
    std::fs::write(
        staging.join(MARKER),
        "This folder is written by `trustc build` and replaced on every build.\n",
    )
    .map_err(|e| EmitError(format!("cannot write in `{}`: {e}", staging.display())))?;
    for output in outputs {
        // Output paths come from template paths and governance values: never let one leave the
        // output folder.
        let relative = Path::new(&output.path);
        let safe = relative
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !safe {
            return Err(EmitError(format!(
                "refusing to write `{}` ({}): output paths must stay inside the output folder",
                output.path, output.source
            )));
        }
        let path = staging.join(relative);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| EmitError(format!("cannot create `{}`: {e}", dir.display())))?;
        }
        std::fs::write(&path, &output.bytes)
            .map_err(|e| EmitError(format!("cannot write `{}`: {e}", path.display())))?;
    }
    Ok(())
}
