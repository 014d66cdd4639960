//! `trustc serve`'s command line, on the binary. It refuses to start without an admin token
//! (unless `--dev`) or with settings out of range; each refusal says what is wrong, exits with
//! status 2, and comes before the server listens or writes anything (no database file, no key
//! left behind). And `--idle-timeout` reaches the running server.

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

#[test]
fn the_idle_timeout_closes_idle_connections_of_the_running_server() {
    use std::io::Read;
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_trustc"))
        .arg("serve")
        .arg(repo())
        .args(["--dev", "--idle-timeout", "1", "--listen", &listen])
        .current_dir(dir.path())
        .env_remove("TRUSTC_ADMIN_TOKEN")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("trustc serve starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    let connected = loop {
        match std::net::TcpStream::connect(&listen) {
            Ok(stream) => break Some(stream),
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(_) => break None,
        }
    };
    let closed = connected.map(|mut idle| {
        idle.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut sent = Vec::new();
        idle.read_to_end(&mut sent).map(|_| sent)
    });
    let _ = child.kill();
    let _ = child.wait();
    let sent = closed
        .expect("trustc serve listens")
        .expect("the idle connection is closed within 10 s");
    assert!(sent.is_empty(), "{}", String::from_utf8_lossy(&sent));
}
