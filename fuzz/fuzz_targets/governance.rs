#![no_main]
//! A governance file checked as `trustc check` checks a repository (schema, model, every
//! semantic check against the example's OCA bundles), its diagnostics rendered in every format.

use std::sync::LazyLock;

static REPOSITORY: LazyLock<tempfile::TempDir> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("a temporary folder");
    trustc::fuzzing::governance_repository(dir.path());
    dir
});

libfuzzer_sys::fuzz_target!(|data: &[u8]| trustc::fuzzing::governance(REPOSITORY.path(), data));
