//! What the benchmarks share: running the release binary as CI does and measuring it, and
//! printing durations. Included by `benches/check.rs` and `benches/build.rs` as `mod support;`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

pub fn format_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{:.1} ms", d.as_secs_f64() * 1000.0)
    } else {
        format!("{:.2} s", d.as_secs_f64())
    }
}

/// Runs `trustc ARGS` in `dir` once: its exit status, wall time and peak resident set size (KiB).
// Each benchmark includes this module and uses part of it.
#[allow(dead_code)]
pub fn run_trustc(dir: &Path, args: &[&std::ffi::OsStr]) -> (i32, Duration, i64) {
    run_program(Path::new(env!("CARGO_BIN_EXE_trustc")), dir, args)
}

/// Runs `program ARGS` in `dir` once: its exit status, wall time and peak resident set size (KiB).
// The child is reaped by `wait4`, which also reports its resource usage; `Child::wait` cannot.
#[allow(clippy::zombie_processes)]
pub fn run_program(program: &Path, dir: &Path, args: &[&std::ffi::OsStr]) -> (i32, Duration, i64) {
    let started = Instant::now();
    let child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{} does not start: {e}", program.display()));
    let mut status = 0;
    // SAFETY: an all-zero `rusage` is a valid value, and `wait4` writes into the two pointers,
    // which live for the call. The child is reaped here, so `Child` never waits for it again.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let elapsed = started.elapsed();
    assert_eq!(pid, child.id() as libc::pid_t, "wait4 failed");
    assert!(
        libc::WIFEXITED(status),
        "{} was killed: status {status}",
        program.display()
    );
    (libc::WEXITSTATUS(status), elapsed, usage.ru_maxrss)
}

/// What a benchmark run was asked for: the scenarios named on the command line (`cargo bench`
/// passes `--bench`; any other argument selects scenarios by name), runs per scenario
/// (`TRUSTC_BENCH_RUNS`, default 20), and where generated inputs go (`TRUSTC_BENCH_DIR` keeps
/// them; otherwise a temporary folder, removed at the end).
pub struct Settings {
    filter: Vec<String>,
    pub runs: usize,
    pub work: std::path::PathBuf,
    _temporary: tempfile::TempDir,
}

impl Settings {
    pub fn from_env() -> Settings {
        let temporary = tempfile::tempdir().expect("a temporary folder");
        Settings {
            filter: std::env::args()
                .skip(1)
                .filter(|a| !a.starts_with("--"))
                .collect(),
            runs: std::env::var("TRUSTC_BENCH_RUNS")
                .ok()
                .and_then(|r| r.parse().ok())
                .unwrap_or(20),
            work: std::env::var_os("TRUSTC_BENCH_DIR")
                .map_or_else(|| temporary.path().to_path_buf(), std::path::PathBuf::from),
            _temporary: temporary,
        }
    }

    /// Whether the scenario called `name` runs.
    pub fn selected(&self, name: &str) -> bool {
        self.filter.is_empty() || self.filter.iter().any(|f| name.contains(f.as_str()))
    }
}
