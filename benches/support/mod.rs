//! What both benchmarks share: running the release binary as CI does and measuring it, and
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
// The child is reaped by `wait4`, which also reports its resource usage; `Child::wait` cannot.
#[allow(clippy::zombie_processes)]
pub fn run_trustc(dir: &Path, args: &[&std::ffi::OsStr]) -> (i32, Duration, i64) {
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_trustc"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("trustc starts");
    let mut status = 0;
    // SAFETY: an all-zero `rusage` is a valid value, and `wait4` writes into the two pointers,
    // which live for the call. The child is reaped here, so `Child` never waits for it again.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let elapsed = started.elapsed();
    assert_eq!(pid, child.id() as libc::pid_t, "wait4 failed");
    assert!(
        libc::WIFEXITED(status),
        "trustc was killed: status {status}"
    );
    (libc::WEXITSTATUS(status), elapsed, usage.ru_maxrss)
}
