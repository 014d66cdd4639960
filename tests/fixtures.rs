//! Every diagnostic code has a broken fixture under `tests/fixtures/check/<code>/` (or one built at
//! run time, for inputs that cannot be committed); the rendered diagnostics of each are
//! snapshot-tested, so any change to what users read is reviewed. Build codes have theirs under
//! `tests/fixtures/build/<code>/`: templates laid over the minimal repository (see build.rs).

use std::path::Path;

use trustc::diag::Code;

use crate::common::{check_json, codes, names_in, repo, status, stderr, trustc};

/// Codes whose fixtures are created at run time: an 8 MiB file, a symbolic link loop and a
/// dangling link are not things to commit.
const RUNTIME_FIXTURES: &[&str] = &["file-too-large", "symlink-loop", "io-error"];

fn snapshot(name: &str, dir: &Path) {
    let output = trustc(dir, &["check", ".", "--color", "never"]);
    let rendered = stderr(&output);
    let (json_status, report) = check_json(dir, &[]);
    assert_eq!(
        status(&output),
        json_status,
        "{name}: the exit status does not depend on the format"
    );
    let found = codes(&report);
    if name.starts_with("valid") {
        assert_eq!(status(&output), 0, "{name} must check clean:\n{rendered}");
        assert!(found.is_empty(), "{name} must check clean:\n{rendered}");
    } else {
        assert!(
            found.iter().any(|c| c == name),
            "fixture {name} does not report `{name}`:\n{rendered}"
        );
        let errors = report["summary"]["errors"].as_u64().unwrap();
        assert_eq!(
            status(&output),
            if errors > 0 { 1 } else { 0 },
            "{name}: exit status"
        );
    }
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(repo().join("tests/snapshots/check"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!(name.to_string(), rendered));
}

#[test]
fn committed_fixtures_render_as_snapshotted() {
    let root = repo().join("tests/fixtures/check");
    let names = names_in(&root);
    for name in names {
        snapshot(&name, &root.join(&name));
    }
}

#[test]
fn every_code_has_a_fixture() {
    let root = repo().join("tests/fixtures");
    for code in Code::ALL {
        let name = code.name();
        assert!(
            root.join("check").join(name).is_dir()
                || root.join("build").join(name).is_dir()
                || RUNTIME_FIXTURES.contains(&name),
            "no fixture for `{name}`: add tests/fixtures/check/{name}/ (or build/{name}/ for build codes)"
        );
    }
}

/// A copy of the minimal valid repository to break in a temporary folder.
fn minimal_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    crate::common::copy_dir(
        &repo().join("tests/fixtures/check/valid-minimal"),
        dir.path(),
    );
    dir
}

#[test]
fn file_too_large() {
    let dir = minimal_copy();
    let file = std::fs::File::create(dir.path().join("governance/huge.yaml")).unwrap();
    file.set_len(9 * 1024 * 1024).unwrap();
    snapshot("file-too-large", dir.path());
}

#[test]
fn symlink_loop() {
    let dir = minimal_copy();
    std::os::unix::fs::symlink("..", dir.path().join("governance/back-to-root")).unwrap();
    snapshot("symlink-loop", dir.path());
}

#[test]
fn io_error() {
    let dir = minimal_copy();
    std::os::unix::fs::symlink(
        "does-not-exist.yaml",
        dir.path().join("governance/dangling.yaml"),
    )
    .unwrap();
    snapshot("io-error", dir.path());
}
