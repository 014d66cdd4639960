//! `trustc serve`'s command line, on the binary. It refuses to start without an admin token
//! (unless `--dev`) or with settings out of range; each refusal says what is wrong, exits with
//! status 2, and comes before the server listens or writes anything (no database file, no key
//! left behind); a governance with errors is not served, its diagnostics printed (as JSON events
//! with `--log-json`, as are command-line errors). And a server started with the defaults keeps its database and key in the
//! working directory, logs JSON lines, closes idle connections and stops on SIGTERM; `--config`
//! serves an earlier build, moved to the URL it is served at, and refuses a draft-13 build.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::common::{repo, status, stderr};

/// `trustc serve` on the example with `args`, in `dir`, with `admin_token` as
/// `TRUSTC_ADMIN_TOKEN` (none: unset, whatever the test runner has).
fn serve(dir: &Path, args: &[&str], admin_token: Option<&str>) -> Output {
    serve_governance(dir, &repo(), args, admin_token)
}

/// [`serve`] on the governance repository `governance`.
fn serve_governance(
    dir: &Path,
    governance: &Path,
    args: &[&str],
    admin_token: Option<&str>,
) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_trustc"));
    command
        .arg("serve")
        .arg(governance)
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("TRUSTC_DEV_LOGIN_SECRET", "trustc-dev-secret")
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
    // With --dev it starts, the admin API open, and says so.
    let example = repo();
    let server = Running::start_as(dir.path(), &[example.to_str().unwrap(), "--dev"], None);
    let (code, offer) = server.get("/admin/offers/no-such-offer");
    assert_eq!(code, 404, "no bearer token needed: {offer}");
    let (exit, log) = server.stop();
    assert_eq!(exit, Some(0), "{log}");
    assert!(
        log.contains("--dev without TRUSTC_ADMIN_TOKEN: the admin API is open"),
        "{log}"
    );
}

/// `trustc serve --dev` of the example (with `extra` arguments) in `dir`, without the
/// development provider's client secret in the environment.
fn serve_without_login_secret(dir: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trustc"))
        .arg("serve")
        .arg(repo())
        .args(["--listen", "127.0.0.1:0", "--dev"])
        .args(extra)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("TRUSTC_DEV_LOGIN_SECRET")
        .output()
        .expect("the trustc binary runs")
}

#[test]
fn a_login_provider_without_its_secret_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let output = serve_without_login_secret(dir.path(), &[]);
    assert_refused(
        &output,
        dir.path(),
        "login provider `bc-digital-identity/bc-services-card`: the environment variable \
         `TRUSTC_DEV_LOGIN_SECRET` is not set",
    );
    // An instance that serves only credentials of other providers needs no secret of this one:
    // the Law Society's instance is refused for its own provider's secret, which is the same
    // variable in the example, and not for the province's.
    let output = serve_without_login_secret(dir.path(), &["--participant", "lsbc-membership/lsbc"]);
    assert_refused(
        &output,
        dir.path(),
        "login provider `lsbc-membership/lsbc-member-portal`",
    );
    assert!(
        !stderr(&output).contains("bc-services-card"),
        "{}",
        stderr(&output)
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
    for flag in ["--idle-timeout", "--request-timeout"] {
        for seconds in ["0", "86401", "18446744073709551615", "1.5"] {
            assert_refused(
                &serve(dir.path(), &[flag, seconds], Some(TOKEN)),
                dir.path(),
                &format!("{flag} <SECONDS>': must be a whole number of seconds from 1 to 86400"),
            );
        }
    }
    assert_refused(
        &serve(
            dir.path(),
            &["--client-address-header", "X Forwarded For"],
            Some(TOKEN),
        ),
        dir.path(),
        "must be an HTTP header name, such as X-Forwarded-For",
    );
    assert_refused(
        &serve(
            dir.path(),
            &["--token-rate-per-address", "many"],
            Some(TOKEN),
        ),
        dir.path(),
        "--token-rate-per-address",
    );
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

/// The verifier's options: a participant of the governance, `--resolve` to loopback and never in
/// production, unsigned requests only in development.
#[test]
fn verifier_options_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    assert_refused(
        &serve(dir.path(), &["--participant", "nobody/none"], Some(TOKEN)),
        dir.path(),
        "`nobody/none` is not a participant of the governance",
    );
    assert_refused(
        &serve(
            dir.path(),
            &[
                "--env",
                "prod",
                "--resolve",
                "credentials.gov.bc.example=http://127.0.0.1:8081",
            ],
            Some(TOKEN),
        ),
        dir.path(),
        "--resolve is for development and tests",
    );
    assert_refused(
        &serve(
            dir.path(),
            &[
                "--resolve",
                "credentials.gov.bc.example=https://elsewhere.example",
            ],
            Some(TOKEN),
        ),
        dir.path(),
        "loopback",
    );
    assert_refused(
        &serve(
            dir.path(),
            &["--client-id-prefix", "redirect_uri"],
            Some(TOKEN),
        ),
        dir.path(),
        "only with --dev",
    );
    assert_refused(
        &serve(dir.path(), &["--response-mode", "fragment"], Some(TOKEN)),
        dir.path(),
        "direct_post or direct_post.jwt",
    );
}

/// A `trustc serve` process on a free loopback port, its stderr kept in a file.
struct Running {
    child: std::process::Child,
    listen: String,
    logs: tempfile::NamedTempFile,
}

impl Running {
    /// Starts `trustc serve ARGS` in `dir` (the admin token set) and waits until it listens.
    fn start(dir: &Path, args: &[&str]) -> Running {
        Running::start_as(dir, args, Some(TOKEN))
    }

    /// [`Running::start`] with `admin_token` as `TRUSTC_ADMIN_TOKEN` (none: unset).
    fn start_as(dir: &Path, args: &[&str], admin_token: Option<&str>) -> Running {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let listen = format!("127.0.0.1:{port}");
        let logs = tempfile::NamedTempFile::new().unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_trustc"));
        command
            .arg("serve")
            .args(args)
            .args(["--listen", &listen])
            .current_dir(dir)
            .env_remove("TRUSTC_ADMIN_TOKEN")
            .env("TRUSTC_DEV_LOGIN_SECRET", "trustc-dev-secret")
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(logs.reopen().unwrap());
        if let Some(token) = admin_token {
            command.env("TRUSTC_ADMIN_TOKEN", token);
        }
        let child = command.spawn().expect("trustc serve starts");
        let mut running = Running {
            child,
            listen,
            logs,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(&running.listen).is_err() {
            if Instant::now() > deadline || running.child.try_wait().unwrap().is_some() {
                panic!("trustc serve did not start: {}", running.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        running
    }

    /// A new connection (reads time out after 10 s).
    fn connect(&self) -> std::net::TcpStream {
        let stream = std::net::TcpStream::connect(&self.listen).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
    }

    /// `GET path` on a connection of its own: the status code and the body as JSON.
    fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.exchange(&format!(
            "GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
        ))
    }

    /// Sends `request` as it is on a connection of its own and reads until the server closes
    /// it: the status code and the body as JSON.
    fn exchange(&self, request: &str) -> (u16, serde_json::Value) {
        let mut stream = self.connect();
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        (
            status,
            serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
        )
    }

    /// Sends SIGTERM and waits (up to 10 s) for the exit status; `None` if it had to be killed.
    fn stop(mut self) -> (Option<i32>, String) {
        let stopped = crate::common::stop_child(&mut self.child, Duration::from_secs(10));
        (stopped.and_then(|status| status.code()), self.log())
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.logs.path()).unwrap()
    }
}

/// The server as a user starts it, in an empty folder with the defaults: it listens, keeps its
/// database and key in the working directory, is its own credential issuer at
/// `http://<listen address>`, logs JSON lines with `--log-json`, closes idle connections after
/// `--idle-timeout`, answers 408 to a request still incomplete after `--request-timeout`, and
/// stops cleanly (status 0) on SIGTERM.
#[test]
fn a_server_started_with_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let example = repo();
    let server = Running::start(
        dir.path(),
        &[
            example.to_str().unwrap(),
            "--idle-timeout",
            "1",
            "--request-timeout",
            "1",
            "--log-json",
        ],
    );
    let (code, metadata) = server.get("/.well-known/openid-credential-issuer");
    assert_eq!(code, 200, "{metadata}");
    assert_eq!(
        metadata["credential_issuer"],
        format!("http://{}", server.listen)
    );
    // The admin API wants the token (which the back end has, and this request does not).
    assert_eq!(server.get("/admin/offers/no-such-offer").0, 401);
    // An idle connection, which the server closes after a second.
    let mut idle = server.connect();
    let mut sent = Vec::new();
    idle.read_to_end(&mut sent)
        .expect("the idle connection is closed within 10 s (--idle-timeout 1)");
    assert!(sent.is_empty(), "{}", String::from_utf8_lossy(&sent));
    // A body that never arrives in full: 408 after a second, with a problem body.
    let (code, problem) = server.exchange(
        "POST /token HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\
         content-type: application/x-www-form-urlencoded\r\ncontent-length: 40\r\n\r\ngrant_type=",
    );
    assert_eq!(code, 408, "{problem}");
    assert_eq!(problem["type"], "urn:trustc:problem:request-timeout");
    let listen = server.listen.clone();
    let (exit, log) = server.stop();
    assert_eq!(exit, Some(0), "SIGTERM stops it cleanly; its log: {log}");
    for file in [
        "trustc-issuer.db",
        "trustc-issuer-key.pem",
        "trustc-issuer-certificate.pem",
    ] {
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

/// `--config` serves an earlier `trustc build` output, moved to the URL it is served at; a
/// draft-13 build is refused (the runtime speaks OpenID4VCI 1.0 only).
#[test]
fn a_build_output_is_served_with_config() {
    let dir = tempfile::tempdir().unwrap();
    let build = |profile: &str, out: &str| {
        let output = crate::common::trustc(
            dir.path(),
            &[
                "build",
                repo().to_str().unwrap(),
                "--out",
                out,
                "--profile",
                profile,
                "--issuer-url",
                "https://issuer.example",
            ],
        );
        assert_eq!(status(&output), 0, "{}", stderr(&output));
    };
    build("1.0", "v1");
    build("draft-13", "draft13");

    let server = Running::start(dir.path(), &["--config", "v1"]);
    let (code, metadata) = server.get("/.well-known/openid-credential-issuer");
    assert_eq!(code, 200, "{metadata}");
    let here = format!("http://{}", server.listen);
    assert_eq!(metadata["credential_issuer"], here.as_str());
    assert_eq!(
        metadata["credential_endpoint"],
        format!("{here}/credential")
    );
    assert!(
        !metadata.to_string().contains("issuer.example"),
        "every compiled URL is moved: {metadata}"
    );
    let (exit, log) = server.stop();
    assert_eq!(exit, Some(0), "{log}");

    let refused = serve(dir.path(), &["--config", "draft13"], Some(TOKEN));
    let message = stderr(&refused);
    assert_eq!(status(&refused), 2, "{message}");
    assert!(
        message.contains("built with `--profile draft-13`, but trustc serve speaks OpenID4VCI 1.0"),
        "{message}"
    );
}

/// A governance with errors is not served: the diagnostics come as `trustc build` prints them,
/// or with `--log-json` as JSON log events (code, file, line, column), every stderr line JSON.
#[test]
fn a_governance_with_errors_is_not_served_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let broken = repo().join("tests/fixtures/check/duplicate-id");
    let run = |extra: &[&str]| serve_governance(dir.path(), &broken, extra, Some(TOKEN));
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

/// With `--log-json`, a command line clap refuses (an unknown flag, a value out of range) is one
/// JSON error event too, with clap's tip and usage as `help`: a log collector reading JSON lines
/// gets nothing else. Without it, clap's own text.
#[test]
fn usage_errors_are_json_events_with_log_json() {
    let dir = tempfile::tempdir().unwrap();
    for (args, expected) in [
        (
            &["--log-json", "--no-such-flag"][..],
            "unexpected argument '--no-such-flag' found",
        ),
        (
            &["--idle-timeout", "0", "--log-json"][..],
            "invalid value '0' for '--idle-timeout <SECONDS>'",
        ),
    ] {
        let output = serve(dir.path(), args, Some(TOKEN));
        assert_eq!(status(&output), 2, "{}", stderr(&output));
        let text = stderr(&output);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "one line: {text}");
        let event: serde_json::Value =
            serde_json::from_str(lines[0]).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(event["level"], "ERROR");
        let message = event["fields"]["message"].as_str().unwrap();
        assert!(message.starts_with(expected), "{event}");
        assert!(
            event["fields"]["help"]
                .as_str()
                .is_some_and(|help| help.contains("--help")),
            "{event}"
        );
    }
    let plain = serve(dir.path(), &["--no-such-flag"], Some(TOKEN));
    assert_eq!(status(&plain), 2);
    assert!(
        stderr(&plain).starts_with("error: unexpected argument '--no-such-flag' found"),
        "{}",
        stderr(&plain)
    );
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}
