//! The `trustc` command. Everything happens in [`trustc::cli`]; this only maps the outcome to the
//! exit status: 0 no errors, 1 errors found, 2 trustc could not run.

use std::process::ExitCode;

fn main() -> ExitCode {
    trustc::cli::main()
}
