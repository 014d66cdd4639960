//! Shared helpers: running the binary, locating inputs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output};
use std::time::{Duration, Instant};

/// The repository root (the shipped example).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `trustc` with `args` in `dir` (no colours, fixed width).
pub fn trustc(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trustc"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("the trustc binary runs")
}

pub fn status(output: &Output) -> i32 {
    output
        .status
        .code()
        .expect("trustc exits normally, without a signal")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("stderr is UTF-8")
}

/// `trustc check DIR --format json`, parsed.
pub fn check_json(dir: &Path, extra: &[&str]) -> (i32, serde_json::Value) {
    let mut args = vec!["check", ".", "--format", "json"];
    args.extend_from_slice(extra);
    let output = trustc(dir, &args);
    let report = serde_json::from_str(&stdout(&output)).unwrap_or_else(|e| {
        panic!(
            "the JSON report parses ({e}); stdout: {} stderr: {}",
            stdout(&output),
            stderr(&output)
        )
    });
    (status(&output), report)
}

/// The codes of a JSON report's diagnostics.
pub fn codes(report: &serde_json::Value) -> Vec<String> {
    report["diagnostics"]
        .as_array()
        .expect("diagnostics is an array")
        .iter()
        .map(|d| d["code"].as_str().expect("code is a string").to_string())
        .collect()
}

/// bcgov's aries-oca-bundles repository: `TRUSTC_CORPUS`, else `../shared/corpus/aries-oca-bundles`.
/// `None` (and a message saying the test is skipped) when it is absent.
pub fn corpus(test: &str) -> Option<PathBuf> {
    let path = std::env::var_os("TRUSTC_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/corpus/aries-oca-bundles"));
    if path.join("ocabundles.json").is_file() {
        Some(path)
    } else {
        // Written to the real stderr, past the test harness's output capture, so the skip shows.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: the aries-oca-bundles corpus is not at {} (set TRUSTC_CORPUS to its folder)",
            path.display()
        );
        None
    }
}

/// The names of the entries of `dir` (fixture folders), sorted.
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Copies a folder recursively (symbolic links as links).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            copy_dir(&entry.path(), &target);
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path()).unwrap(), &target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Stops a server process the test started: SIGTERM, so that it shuts down gracefully, then
/// SIGKILL if it has not exited within `grace`. Its exit status, `None` when it had to be killed.
pub fn stop_child(child: &mut Child, grace: Duration) -> Option<ExitStatus> {
    // SAFETY: `kill` on the id of a child the caller owns and has not reaped.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}
