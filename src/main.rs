//! The `trustc` command. Everything happens in [`trustc::cli`]; this only maps the outcome to the
//! exit status: 0 no errors, 1 errors found, 2 trustc could not run.

use std::process::ExitCode;

/// `trustc serve` allocates and frees many small objects per request (HTTP heads, JSON, SQL
/// rows) on every worker thread; mimalloc's per-thread heaps do that for about 45 µs less CPU per
/// full issuance than glibc's malloc (`cargo bench --bench serve`, A/B runs in the README). The
/// compiler-only build (`--no-default-features`) keeps the system allocator.
#[cfg(feature = "serve")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    trustc::cli::main()
}
