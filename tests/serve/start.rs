//! `trustc serve`'s command line, on the binary. It refuses to start without an admin token
//! (unless `--dev`) or with settings out of range; each refusal says what is wrong, exits with
//! status 2, and comes before the server listens or writes anything (no database file, no key
//! left behind); a governance with errors is not served, its diagnostics printed (as JSON events
//! with `--log-json`). And a server started with the defaults keeps its database and key in the
//! working directory, logs JSON lines, closes idle connections and stops on SIGTERM.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::{repo, status, stderr};

/// `trustc serve` on the example with `args`, in `dir`, with `admin_token` as
/// `TRUSTC_ADMIN_TOKEN` (none: unset, whatever the test runner has).
fn serve(dir: &Path, args: &[&str], admin_token: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_trustc"));
    command
        .arg("serve")
        .arg(repo())
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("TRUSTC_ADMIN_TOKEN");
    if let Some(token) = admin_token {
        command.env("TRUSTC_ADMIN_TOKEN", token);
    }
    command.output().expect("the trustc binary runs")
}

/// The refusal `output` is, with `expected` in its message, and nothing written to `dir`.
fn assert_refused(output: &Output, dir: &Path, expected: &str) {
    let message = stderr(output);
    assert_eq!(status(output), 2, "{message}");
    assert!(message.contains(expected), "{message}");
    let left: Vec<_> = std::fs::read_dir(dir).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

const TOKEN: &str = "start-test-admin-token-0123456789";

#[test]
fn without_an_admin_token_it_refuses_unless_dev() {
    let dir = tempfile::tempdir().unwrap();
    let output = serve(dir.path(), &[], None);
    assert_refused(
        &output,
        dir.path(),
        "refusing to start without an admin token: set TRUSTC_ADMIN_TOKEN",
    );
    assert!(stderr(&output).contains("--dev"), "{}", stderr(&output));
    let output = serve(dir.path(), &[], Some("short"));
    assert_refused(
        &output,
        dir.path(),
        "TRUSTC_ADMIN_TOKEN is too short: use at least 16 random characters",
    );
}

#[test]
fn settings_out_of_range_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    assert_refused(
        &serve(dir.path(), &["--offer-lifetime", "0"], Some(TOKEN)),
        dir.path(),
        "--offer-lifetime must be a positive number of seconds",
    );
    for seconds in ["0", "86401", "18446744073709551615", "1.5"] {
        assert_refused(
            &serve(dir.path(), &["--idle-timeout", seconds], Some(TOKEN)),
            dir.path(),
            "--idle-timeout <SECONDS>': must be a whole number of seconds from 1 to 86400",
        );
    }
    assert_refused(
        &serve(
            dir.path(),
            &["--public-url", "http://issuer.example"],
            Some(TOKEN),
        ),
        dir.path(),
        "--public-url",
    );
    assert_refused(
        &serve(dir.path(), &["--config", "no-such-build"], Some(TOKEN)),
        dir.path(),
        "no-such-build",
    );
}

/// The server as a user starts it, in an empty folder with the defaults: it listens, keeps its
/// database and key in the working directory, is its own credential issuer at
/// `http://<listen address>`, logs JSON lines with `--log-json`, closes idle connections after
/// `--idle-timeout`, and stops cleanly (status 0) on SIGTERM.
#[test]
fn a_server_started_with_the_defaults() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let logs = tempfile::NamedTempFile::new().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_trustc"))
        .arg("serve")
        .arg(repo())
        .args(["--listen", &listen, "--idle-timeout", "1", "--log-json"])
        .current_dir(dir.path())
        .env("TRUSTC_ADMIN_TOKEN", TOKEN)
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(logs.reopen().unwrap())
        .spawn()
        .expect("trustc serve starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    let connect = || loop {
        match std::net::TcpStream::connect(&listen) {
            Ok(stream) => {
                stream
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .unwrap();
                break Some(stream);
            }
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(_) => break None,
        }
    };
    // The metadata, on a connection that asks to be closed after the answer.
    let metadata = connect().map(|mut stream| {
        stream
            .write_all(
                b"GET /.well-known/openid-credential-issuer HTTP/1.1\r\nhost: x\r\n\
                  connection: close\r\n\r\n",
            )
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).map(|_| answer)
    });
    // An idle connection, which the server closes after a second.
    let idle = connect().map(|mut idle| {
        let mut sent = Vec::new();
        idle.read_to_end(&mut sent).map(|_| sent)
    });
    // SAFETY: `kill` on the id of a child this test owns and has not reaped.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let stopped = (0..500).find_map(|_| {
        std::thread::sleep(Duration::from_millis(20));
        child.try_wait().unwrap()
    });
    if stopped.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let log = std::fs::read_to_string(logs.path()).unwrap();

    let metadata = metadata
        .expect("trustc serve listens")
        .expect("the metadata is read");
    assert!(metadata.starts_with("HTTP/1.1 200"), "{metadata}");
    let body: serde_json::Value =
        serde_json::from_str(metadata.split_once("\r\n\r\n").unwrap().1).unwrap();
    assert_eq!(body["credential_issuer"], format!("http://{listen}"));
    let sent = idle
        .unwrap()
        .expect("the idle connection is closed within 10 s (--idle-timeout 1)");
    assert!(sent.is_empty(), "{}", String::from_utf8_lossy(&sent));
    assert_eq!(
        stopped.map(|status| status.code()),
        Some(Some(0)),
        "SIGTERM stops it cleanly; its log: {log}"
    );
    for file in ["trustc-issuer.db", "trustc-issuer-key.pem"] {
        assert!(
            dir.path().join(file).is_file(),
            "{file} is kept in the working directory"
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("trustc-issuer-key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the key is readable by its owner only");
    }
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let ready = lines
        .iter()
        .find(|line| line["fields"]["message"] == "trustc serve is ready")
        .unwrap_or_else(|| panic!("a ready line: {log}"));
    assert_eq!(ready["fields"]["listen"], listen.as_str());
    assert_eq!(ready["level"], "INFO");
}

/// A governance with errors is not served: the diagnostics come as `trustc build` prints them,
/// or with `--log-json` as JSON log events (code, file, line, column), every stderr line JSON.
#[test]
fn a_governance_with_errors_is_not_served_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let broken = repo().join("tests/fixtures/check/duplicate-id");
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_trustc"))
            .arg("serve")
            .arg(&broken)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .env("TRUSTC_ADMIN_TOKEN", TOKEN)
            .output()
            .expect("the trustc binary runs")
    };
    let human = run(&[]);
    assert_eq!(status(&human), 1, "{}", stderr(&human));
    let text = stderr(&human);
    assert!(text.contains("duplicate-id"), "{text}");
    assert!(text.contains("governance/example.yaml:18:9"), "{text}");
    assert!(text.contains("fix the errors above first"), "{text}");

    let json = run(&["--log-json"]);
    assert_eq!(status(&json), 1, "{}", stderr(&json));
    let events: Vec<serde_json::Value> = stderr(&json)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let problem = events
        .iter()
        .find(|e| e["fields"]["code"] == "duplicate-id")
        .unwrap_or_else(|| panic!("{events:#?}"));
    assert_eq!(problem["level"], "ERROR");
    assert_eq!(problem["fields"]["file"], "governance/example.yaml");
    assert_eq!(
        (&problem["fields"]["line"], &problem["fields"]["column"]),
        (&serde_json::json!(18), &serde_json::json!(9))
    );
    assert!(
        events.iter().any(|e| e["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("fix the errors above first"))),
        "{events:#?}"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}
