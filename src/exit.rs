//! Exit statuses, a contract with CI that every command keeps (`trustc check`, `build`, `import`,
//! `explain`, `schema` and `serve`): 0 no errors, 1 the input has errors, 2 trustc could not run.
//! A module of its own so that the command line and `trustc serve` share it without depending on
//! each other.

/// Exit status: no errors.
pub const EXIT_OK: u8 = 0;
/// Exit status: the input has errors (or warnings, with `--deny-warnings`).
pub const EXIT_FAILED: u8 = 1;
/// Exit status: trustc could not run.
pub const EXIT_ERROR: u8 = 2;

/// Says why trustc could not run, as `error: …` on standard error, and returns exit status 2.
pub(crate) fn fail(message: impl std::fmt::Display) -> u8 {
    eprintln!("error: {message}");
    EXIT_ERROR
}
