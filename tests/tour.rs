//! The README's five-minute tour, run as a newcomer runs it: check bcgov's bundles and the example,
//! build, start the development OpenID Provider and serve, offer a credential for a person, sign
//! that person in and collect the credential with curl, jq and openssl, revoke it.
//!
//! **Which blocks.** The tour is the part of `README.md` under the heading `## A five-minute tour`,
//! up to the next `## ` heading. Its commands are its code blocks fenced as `sh`, in order. The
//! first of them is the setup (`cargo install` puts trustc on the PATH, `git clone` fetches bcgov's
//! bundles to `../aries-oca-bundles`) and is not run: this test provides both itself, its own
//! `trustc` binary and the corpus the other tests read. The test checks that the block it leaves
//! out is that one (it also installs the development provider's npm packages, which the test
//! provides as the interop tests install them, as `tests/interop`). Every other `sh` block runs, joined in one bash script, so that variables carry
//! from block to block as they do in the reader's shell.
//!
//! **Where.** A temporary folder holds `trustc/`, a copy of the repository's `governance/`,
//! `oca-bundles/` and `templates/` and the script's current folder, and `aries-oca-bundles`, a
//! symbolic link to the corpus (`../shared/corpus/aries-oca-bundles` next to the repository, or
//! `TRUSTC_CORPUS`). PATH starts with a folder holding only the test's `trustc`
//! (`CARGO_BIN_EXE_trustc`); `TRUSTC_ADMIN_TOKEN` is removed from the environment, as the tour
//! runs `--dev` with the admin API open.
//!
//! **Substitutions**, the only changes to the README's text, so that the tour never meets another
//! server on port 8080 (a developer's own tour, say):
//! - `trustc serve --dev` becomes `trustc serve --dev --listen 127.0.0.1:<port> --login-issuer
//!   bc-services-card=http://localhost:<provider>`;
//! - `127.0.0.1:8080` becomes `127.0.0.1:<port>`;
//! - `node tests/interop/op.mjs` becomes `OP_PORT=<provider> node tests/interop/op.mjs`, and
//!   `http://localhost:8700` becomes `http://localhost:<provider>`;
//!
//! where `<port>` and `<provider>` are free loopback ports. Each must apply at least once. Before
//! the blocks the script has `set -euo pipefail`, so any command that fails fails the test (the
//! README's one expected failure, checking bcgov's bundles, is followed by `|| echo`), and a trap
//! that kills the shell's background jobs when it exits.
//!
//! **Asserted**: the script exits with status 0, and its output shows every step's outcome: the
//! corpus check's diagnostics and exit status 1, the example checked clean, the explanation, the
//! 22 files built, the server healthy, the offer that needs a login, the browser's way back from
//! the provider, the decoded credential (issuer, type, holder key, the login's claims and the
//! governance's constant) and the revocation. The sample output the
//! README shows (its `text` blocks in the tour) must be real: each of its lines, other than `…`,
//! is a line of the output (with the same port substitution; for `"iat":` and `"exp":` lines only
//! the key, as their values are the time of the run).
//!
//! **Never left running, never hanging**: the script runs in its own process group with a deadline
//! of [`DEADLINE`]; when it ends or times out, the test sends the whole group SIGTERM, then SIGKILL,
//! so the background server never outlives the test, whatever failed.
//!
//! **Skipped** (a `SKIPPED:` line, and the test passes) when bash, curl, jq, OpenSSL 3, node or
//! npm is missing, unless `TRUSTC_REQUIRE_INTEROP=1` (as in CI), which makes that a failure; and, like
//! the corpus tests, when the corpus is absent.
//!
//! Compiled with the `serve` feature only (the default): without it there is no `trustc serve`.

#![cfg(feature = "serve")]

use std::fs::{self, File};
use std::io::ErrorKind;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::{copy_dir, corpus, repo, stdout};
use crate::interop::skip;

/// The heading of the tour in README.md.
const HEADING: &str = "## A five-minute tour";

/// How long the whole tour may take (a run takes a few seconds).
const DEADLINE: Duration = Duration::from_secs(180);

/// The port the README's tour uses, which the test replaces.
const README_ADDRESS: &str = "127.0.0.1:8080";

/// The README's serve command, which the test gives a `--listen` of its own.
const README_SERVE: &str = "trustc serve --dev";

/// The development provider the README's tour starts, and where the example's governance has it;
/// the test gives it a free port of its own (and `trustc serve` a `--login-issuer` to match).
const README_PROVIDER: &str = "node tests/interop/op.mjs";
const README_PROVIDER_URL: &str = "http://localhost:8700";

#[test]
fn the_readme_tour_works_as_written() {
    const TEST: &str = "the_readme_tour_works_as_written";
    if !tools_present(TEST) {
        return;
    }
    let Some(corpus) = corpus(TEST) else {
        return;
    };
    let Some(node_client) = crate::interop::node_client(TEST) else {
        return;
    };
    let readme = fs::read_to_string(repo().join("README.md")).unwrap();
    let tour = Tour::parse(&readme);

    let temporary = tempfile::tempdir().unwrap();
    let work = temporary.path().join("trustc");
    for input in ["governance", "oca-bundles", "templates"] {
        copy_dir(&repo().join(input), &work.join(input));
    }
    std::os::unix::fs::symlink(&corpus, temporary.path().join("aries-oca-bundles")).unwrap();
    // `npm --prefix tests/interop ci` of the setup: the installed development provider.
    fs::create_dir_all(work.join("tests")).unwrap();
    std::os::unix::fs::symlink(&node_client, work.join("tests/interop")).unwrap();
    let bin = temporary.path().join("bin");
    fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_trustc"), bin.join("trustc")).unwrap();
    let path = match std::env::var_os("PATH") {
        Some(rest) => {
            let mut dirs = vec![bin.clone()];
            dirs.extend(std::env::split_paths(&rest));
            std::env::join_paths(dirs).unwrap()
        }
        None => bin.clone().into_os_string(),
    };

    // trustc binds the port itself: a free one is found by binding port 0 and releasing it.
    // Another process could take it in between, so a run whose server cannot listen is retried.
    let mut attempt = 0;
    let (port, provider_port, output) = loop {
        attempt += 1;
        let free = || {
            TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free loopback port")
                .port()
        };
        let (port, provider) = (free(), free());
        let script = tour.script(port, provider);
        let script_path = temporary.path().join("tour.sh");
        fs::write(&script_path, &script).unwrap();
        let log = temporary.path().join(format!("tour-{attempt}.log"));
        let (status, output) = run_script(&script_path, &work, &path, &log);
        let taken = output.contains(&format!("cannot listen on 127.0.0.1:{port}"))
            || output.contains("EADDRINUSE");
        if taken && attempt < 3 {
            continue;
        }
        assert!(
            status == Some(0),
            "the README's tour failed ({}) on port {port}; script:\n{script}\n\noutput:\n{output}",
            status.map_or("killed after the deadline".into(), |s| format!(
                "exit status {s}"
            ))
        );
        break (port, provider, output);
    };

    let issuer = format!("http://127.0.0.1:{port}");
    let lines: Vec<&str> = output.lines().collect();
    for expected in [
        // Checking bcgov's bundles: diagnostics, then the status the README announces.
        "invalid-colour",
        "exit status 1",
        // The shipped example, clean.
        "trustc: no problems found in 3 files",
        // `trustc explain invalid-colour`.
        "# invalid-colour",
        // The build and one value of what it wrote.
        "wrote 22 files to `build` (dev environment, configuration sha256:",
        "build/.well-known/openid-credential-issuer",
        "\"https://credentials.gov.bc.example/person/v1\"",
        // The server answered its health check.
        "{\"status\":\"ok\",\"database\":\"sqlite\",\"configuration\":\"sha256:",
        // The offer, which needs a login.
        &format!("  \"credential_offer_uri\": \"{issuer}/credential-offers/"),
        "  \"login_required\": true,",
        // The browser's way through the provider, back to trustc.
        &format!("{issuer}/login/callback"),
        // The decoded credential: issuer, type, key binding, claims (offered and constant).
        &format!("    \"iss\": \"{issuer}\","),
        "    \"vct\": \"https://credentials.gov.bc.example/person/v1\",",
        "        \"crv\": \"Ed25519\",",
        "    \"given_names\": \"Alice\",",
        "    \"region\": \"BC\",",
        // The revocation.
        "  \"state\": \"revoked\",",
        "      \"revoked\": true",
    ] {
        assert!(
            lines.iter().any(|line| line.starts_with(expected)),
            "the tour's output has no line starting with {expected:?}:\n{output}"
        );
    }
    for sample in &tour.samples {
        let expected = substitute(sample, port, provider_port);
        let trimmed = expected.trim_start();
        let found = if trimmed.starts_with("\"iat\": ") || trimmed.starts_with("\"exp\": ") {
            let key = &expected[..expected.find(':').unwrap() + 1];
            lines.iter().any(|line| line.starts_with(key))
        } else {
            lines.contains(&expected.as_str())
        };
        assert!(
            found,
            "README.md shows the tour printing {sample:?}, but the tour did not print it:\n{output}"
        );
    }
}

/// The tour's parts in README.md.
struct Tour {
    /// The `sh` blocks after the setup block, in order.
    blocks: Vec<String>,
    /// The lines of its `text` blocks (sample output), except `…`.
    samples: Vec<String>,
}

impl Tour {
    fn parse(readme: &str) -> Tour {
        let start = readme
            .lines()
            .position(|line| line == HEADING)
            .unwrap_or_else(|| panic!("README.md has no heading `{HEADING}`"));
        let section: Vec<&str> = readme
            .lines()
            .skip(start + 1)
            .take_while(|line| !line.starts_with("## "))
            .collect();
        let mut blocks = Vec::new();
        let mut samples = Vec::new();
        let mut lines = section.iter();
        while let Some(line) = lines.next() {
            let Some(language) = line.strip_prefix("```") else {
                continue;
            };
            let body: Vec<&str> = lines
                .by_ref()
                .take_while(|l| **l != "```")
                .copied()
                .collect();
            match language {
                "sh" => blocks.push(body.join("\n")),
                "text" => samples.extend(
                    body.iter()
                        .filter(|l| l.trim() != "…")
                        .map(|l| l.to_string()),
                ),
                _ => {}
            }
        }
        assert!(
            !blocks.is_empty(),
            "the tour in README.md has no ```sh blocks"
        );
        let setup = blocks.remove(0);
        assert!(
            setup.contains("cargo install")
                && setup.contains("git clone")
                && setup.contains("../aries-oca-bundles"),
            "the tour's first sh block is not the setup this test replaces (installing trustc and \
             cloning bcgov's bundles to ../aries-oca-bundles); it was:\n{setup}"
        );
        assert!(
            blocks.iter().any(|b| b.contains(README_SERVE))
                && blocks.iter().any(|b| b.contains(README_ADDRESS)),
            "the tour no longer runs `{README_SERVE}` or names `{README_ADDRESS}`: update the \
             substitutions of tests/tour.rs"
        );
        assert!(
            blocks.iter().any(|b| b.contains(README_PROVIDER))
                && blocks.iter().any(|b| b.contains(README_PROVIDER_URL)),
            "the tour no longer runs `{README_PROVIDER}` or names `{README_PROVIDER_URL}`: update \
             the substitutions of tests/tour.rs"
        );
        Tour { blocks, samples }
    }

    /// The script that runs the tour's blocks against a server on `port` and a provider on
    /// `provider`.
    fn script(&self, port: u16, provider: u16) -> String {
        let mut script =
            String::from("set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n");
        for block in &self.blocks {
            script.push_str(&substitute(block, port, provider));
            script.push('\n');
        }
        script
    }
}

/// The README's text with the tour's port replaced by `port` and the provider's by `provider`.
fn substitute(text: &str, port: u16, provider: u16) -> String {
    let provider_url = format!("http://localhost:{provider}");
    text.replace(
        README_SERVE,
        &format!(
            "{README_SERVE} --listen 127.0.0.1:{port} --login-issuer bc-services-card={provider_url}"
        ),
    )
    .replace(README_ADDRESS, &format!("127.0.0.1:{port}"))
    .replace(README_PROVIDER, &format!("OP_PORT={provider} {README_PROVIDER}"))
    .replace(README_PROVIDER_URL, &provider_url)
}

/// Runs `script` with bash in `dir`, stdout and stderr together into `log`, in a process group of
/// its own that is killed afterwards. The exit status (`None`: killed at the deadline) and the
/// output.
fn run_script(
    script: &Path,
    dir: &Path,
    path: &std::ffi::OsStr,
    log: &Path,
) -> (Option<i32>, String) {
    let file = File::create(log).unwrap();
    let mut child = Command::new("bash")
        .arg(script)
        .current_dir(dir)
        .env("PATH", path)
        .env_remove("TRUSTC_ADMIN_TOKEN")
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .process_group(0)
        .spawn()
        .expect("bash starts");
    let group = child.id() as libc::pid_t;
    let deadline = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if Instant::now() >= deadline {
            break None;
        }
        thread::sleep(Duration::from_millis(50));
    };
    kill_group(group);
    let _ = child.kill();
    let _ = child.wait();
    (status, fs::read_to_string(log).unwrap_or_default())
}

/// Stops every process of `group`: SIGTERM (the server stops gracefully), SIGKILL to whatever
/// is left after five seconds.
fn kill_group(group: libc::pid_t) {
    // SAFETY: signals to the process group this test created for the script (`process_group(0)`
    // makes the script's pid its id); nothing else is in it.
    let alive = || unsafe { libc::kill(-group, 0) } == 0;
    unsafe { libc::kill(-group, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    if alive() {
        unsafe { libc::kill(-group, libc::SIGKILL) };
    }
}

/// Whether bash, curl, jq and OpenSSL 3 are all there; a `SKIPPED` line (or, with
/// `TRUSTC_REQUIRE_INTEROP=1`, a failure) for the first that is not.
fn tools_present(test: &str) -> bool {
    const WHY: &str =
        "the README's tour runs in bash and plays the wallet with curl, jq and openssl";
    for (tool, flag) in [
        ("bash", "--version"),
        ("curl", "--version"),
        ("jq", "--version"),
        ("openssl", "version"),
    ] {
        let output = match Command::new(tool).arg(flag).output() {
            Ok(output) if output.status.success() => output,
            Ok(output) => panic!("`{tool} {flag}` failed: {output:?}"),
            Err(error) if error.kind() == ErrorKind::NotFound => {
                skip(test, tool, WHY);
                return false;
            }
            Err(error) => panic!("`{tool}` could not be started: {error}"),
        };
        if tool == "openssl" && !is_openssl_3_or_later(&stdout(&output)) {
            skip(
                test,
                "OpenSSL 3",
                &format!(
                    "`openssl version` says {:?}; the tour's Ed25519 key proof needs OpenSSL 3",
                    stdout(&output).trim()
                ),
            );
            return false;
        }
    }
    true
}

/// Whether `openssl version` names OpenSSL 3 or later (not 1.1, not LibreSSL).
fn is_openssl_3_or_later(version: &str) -> bool {
    version
        .strip_prefix("OpenSSL ")
        .and_then(|rest| rest.split('.').next())
        .and_then(|major| major.parse::<u32>().ok())
        .is_some_and(|major| major >= 3)
}
