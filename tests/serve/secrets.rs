//! The issuer's secrets: its key file is created for its owner only and refused when others may
//! read it (and so is every other secret file trustc reads: a login client secret, the admin
//! token file); the admin tokens of `--admin-token-file` rotate without a restart (a new token
//! at once, the old one during the grace period, on the issuer's clock); and nothing secret
//! reaches the log: a live `trustc serve` at `RUST_LOG=trace` runs the whole pre-authorised flow
//! and its log is searched for every secret value seen on the wire.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use trustc_runtime::admin_tokens::AdminTokenFile;
use trustc_runtime::{Clock, IssuerKey};
use trustc_testkit::HolderKey;

use super::login::{RawAnswer, dechunk, raw};
use super::{Instance, PUBLIC_URL, person_claims, url_encode};
use crate::common::{copy_dir, repo, stderr};

const ADMIN_TOKEN: &str = "secrets-test-admin-token-env-7f3a9c2e";
const OLD_TOKEN: &str = "secrets-test-admin-token-old-41d0b8e6";
const NEW_TOKEN: &str = "secrets-test-admin-token-new-c95e27a4";

/// Writes `text` to `path` with the Unix permissions `mode`.
fn write_with_mode(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    #[cfg(not(unix))]
    let _ = mode;
}

/// `trustc serve ARGS` on `governance` in `dir` that must refuse to start: its stderr.
fn refused(dir: &Path, governance: &Path, args: &[&str]) -> String {
    let output: Output = Command::new(env!("CARGO_BIN_EXE_trustc"))
        .arg("serve")
        .arg(governance)
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("TRUSTC_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("TRUSTC_DEV_LOGIN_SECRET", "trustc-dev-secret")
        .output()
        .expect("the trustc binary runs");
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{message}");
    message
}

/// A key file, a login client secret file and an admin token file that their group or others
/// may read are each refused at start, the message naming the file and `chmod 600 <file>`;
/// owner-only, the same files are taken.
#[cfg(unix)]
#[test]
fn secret_files_others_may_read_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let governance = trustc_testkit::example::pre_authorized(&repo());

    let key = dir.path().join("issuer-key.pem");
    write_with_mode(&key, &IssuerKey::generate().to_pkcs8_pem(), 0o644);
    let message = refused(dir.path(), governance, &["--key", key.to_str().unwrap()]);
    assert!(
        message.contains(&format!(
            "issuer key `{0}` can be read or changed by users other than its owner (mode \
             0644): a secret file must be the owner's only; run `chmod 600 {0}`",
            key.display()
        )),
        "{message}"
    );

    let tokens = dir.path().join("admin-tokens");
    write_with_mode(&tokens, &format!("{NEW_TOKEN}\n"), 0o640);
    let message = refused(
        dir.path(),
        governance,
        &["--admin-token-file", tokens.to_str().unwrap()],
    );
    assert!(
        message.contains(&format!(
            "the admin token file `{0}` can be read or changed by users other than its owner \
             (mode 0640): a secret file must be the owner's only; run `chmod 600 {0}`",
            tokens.display()
        )),
        "{message}"
    );
    assert!(!message.contains(NEW_TOKEN), "{message}");

    // The shipped example (its credentials issued after a login) with the development
    // provider's client secret in a file.
    let example = dir.path().join("example");
    for folder in ["governance", "oca-bundles", "templates"] {
        if repo().join(folder).is_dir() {
            copy_dir(&repo().join(folder), &example.join(folder));
        }
    }
    let secret = dir.path().join("login-secret");
    write_with_mode(&secret, "trustc-dev-secret\n", 0o604);
    let file = example.join("governance/bc-digital-identity.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    let from_env = "client_secret: { env: TRUSTC_DEV_LOGIN_SECRET }";
    assert!(text.contains(from_env), "the example reads the dev secret");
    std::fs::write(
        &file,
        text.replace(
            from_env,
            &format!("client_secret: {{ file: {} }}", secret.display()),
        ),
    )
    .unwrap();
    let message = refused(dir.path(), &example, &["--key", "login-test-key.pem"]);
    assert!(
        message.contains(&format!(
            "login provider `bc-digital-identity/bc-services-card`: the file `{0}` can be read or changed by users \
             other than its owner (mode 0604): a secret file must be the owner's only; run \
             `chmod 600 {0}`",
            secret.display()
        )),
        "{message}"
    );

    // Owner-only, the key file and the token file are taken: the server starts.
    write_with_mode(&key, &std::fs::read_to_string(&key).unwrap(), 0o600);
    write_with_mode(&tokens, &format!("{NEW_TOKEN}\n"), 0o600);
    let server = LiveServer::start(
        dir.path(),
        governance,
        &[
            "--key",
            key.to_str().unwrap(),
            "--admin-token-file",
            tokens.to_str().unwrap(),
        ],
        "info",
    );
    let (status, _) = server.call("GET", "/admin/offers/none", Some(NEW_TOKEN), None);
    assert_eq!(status, 404, "the file's token opens the admin API");
    let (status, _) = server.call("GET", "/admin/offers/none", Some(ADMIN_TOKEN), None);
    assert_eq!(status, 404, "and so does TRUSTC_ADMIN_TOKEN");
    let (status, _) = server.call("GET", "/admin/offers/none", Some(OLD_TOKEN), None);
    assert_eq!(status, 401, "no other token does");
    server.stop();
}

/// The key file trustc generates is its owner's only (0600) even under a umask of 000: the mode
/// is given to the call that creates the file. (Here the start then fails, on an address that is
/// taken, after the key was made.)
#[cfg(unix)]
#[test]
fn a_generated_key_file_is_its_owners_only_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = taken.local_addr().unwrap().to_string();
    let mut command = Command::new(env!("CARGO_BIN_EXE_trustc"));
    command
        .arg("serve")
        .arg(trustc_testkit::example::pre_authorized(&repo()))
        .args(["--listen", &listen, "--key", "keys/issuer-key.pem"])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .env("TRUSTC_ADMIN_TOKEN", ADMIN_TOKEN);
    // SAFETY: `umask` is async-signal-safe and touches nothing but the child's mask.
    unsafe {
        command.pre_exec(|| {
            libc::umask(0);
            Ok(())
        });
    }
    let output = command.output().expect("the trustc binary runs");
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{message}");
    assert!(message.contains("cannot listen"), "{message}");
    let key = dir.path().join("keys/issuer-key.pem");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{message}");
    // The certificate beside it is public.
    let certificate = dir.path().join("keys/issuer-certificate.pem");
    let mode = std::fs::metadata(&certificate)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o644);
}

/// An instance whose admin tokens come from the file `path`, with a grace period of `grace`
/// seconds, on the test's clock.
async fn instance_with_token_file(path: &Path, grace: i64) -> Instance {
    let file = AdminTokenFile::open(path, grace, Clock::System.now()).expect("the token file");
    Instance::start_with(
        "sqlite::memory:",
        IssuerKey::generate(),
        PUBLIC_URL,
        move |settings| {
            settings.admin_token = None;
            settings.admin_token_file = Some(Arc::new(file));
        },
    )
    .await
}

/// `POST /admin/offers` with `token`: the status.
async fn create_offer(instance: &Instance, token: &str) -> StatusCode {
    instance
        .send(
            Request::post("/admin/offers")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    json!({"credential": "person", "claims": person_claims()}).to_string(),
                ))
                .unwrap(),
        )
        .await
        .status
}

/// Rotating the admin token as docs/serve.md says: add the new token to the file (both work),
/// switch the back end, remove the old one: the old one still works during the grace period
/// (ten minutes here) and is refused after it; the new one works throughout.
#[tokio::test]
async fn admin_tokens_rotate_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("admin-tokens");
    write_with_mode(&path, &format!("{OLD_TOKEN}\n"), 0o600);
    let instance = instance_with_token_file(&path, 600).await;
    assert_eq!(
        create_offer(&instance, OLD_TOKEN).await,
        StatusCode::CREATED
    );
    assert_eq!(
        create_offer(&instance, NEW_TOKEN).await,
        StatusCode::UNAUTHORIZED
    );

    // Step 1: the new token is added. It works once the file is read again (within a second).
    write_with_mode(&path, &format!("{OLD_TOKEN}\n{NEW_TOKEN}\n"), 0o600);
    instance.advance(1);
    assert_eq!(
        create_offer(&instance, NEW_TOKEN).await,
        StatusCode::CREATED
    );
    assert_eq!(
        create_offer(&instance, OLD_TOKEN).await,
        StatusCode::CREATED
    );

    // Step 2: the old token is removed: it stays accepted for the grace period.
    write_with_mode(&path, &format!("# rotated\n{NEW_TOKEN}\n"), 0o600);
    instance.advance(1);
    assert_eq!(
        create_offer(&instance, OLD_TOKEN).await,
        StatusCode::CREATED
    );
    instance.advance(599);
    assert_eq!(
        create_offer(&instance, OLD_TOKEN).await,
        StatusCode::CREATED
    );
    assert_eq!(
        create_offer(&instance, NEW_TOKEN).await,
        StatusCode::CREATED
    );
    instance.advance(1);
    assert_eq!(
        create_offer(&instance, OLD_TOKEN).await,
        StatusCode::UNAUTHORIZED,
        "the grace period is over"
    );
    assert_eq!(
        create_offer(&instance, NEW_TOKEN).await,
        StatusCode::CREATED
    );
    // Nothing but the file's tokens opens it.
    for other in ["", "Bearer", &NEW_TOKEN[..NEW_TOKEN.len() - 1]] {
        assert_eq!(
            create_offer(&instance, other).await,
            StatusCode::UNAUTHORIZED,
            "{other}"
        );
    }
}

/// With no grace period, a removed token is refused as soon as the change is read.
#[tokio::test]
async fn without_a_grace_period_a_removed_token_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("admin-tokens");
    write_with_mode(&path, &format!("{OLD_TOKEN}\n"), 0o600);
    let instance = instance_with_token_file(&path, 0).await;
    write_with_mode(&path, &format!("{NEW_TOKEN}\n"), 0o600);
    instance.advance(1);
    assert_eq!(
        create_offer(&instance, OLD_TOKEN).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        create_offer(&instance, NEW_TOKEN).await,
        StatusCode::CREATED
    );
}

// -------------------------------------------------------------------------------------------
// Nothing secret in the log
// -------------------------------------------------------------------------------------------

/// A `trustc serve` process on a free loopback port, its stderr kept in a file.
struct LiveServer {
    child: Child,
    listen: String,
    log: std::path::PathBuf,
}

impl LiveServer {
    /// Starts `trustc serve GOVERNANCE ARGS` in `dir` with `RUST_LOG=rust_log`, the admin token
    /// set and a umask that would let anyone read the files it creates, and waits until it
    /// listens.
    fn start(dir: &Path, governance: &Path, args: &[&str], rust_log: &str) -> LiveServer {
        LiveServer::start_on(free_port(), dir, governance, args, rust_log, &[])
    }

    /// [`LiveServer::start`] on `port`, with `env` set.
    fn start_on(
        port: u16,
        dir: &Path,
        governance: &Path,
        args: &[&str],
        rust_log: &str,
        env: &[(&str, &str)],
    ) -> LiveServer {
        let listen = format!("127.0.0.1:{port}");
        let log = dir.join(format!("serve-{port}.log"));
        let mut command = Command::new(env!("CARGO_BIN_EXE_trustc"));
        command
            .arg("serve")
            .arg(governance)
            .args(["--listen", &listen])
            .args(args)
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .env("RUST_LOG", rust_log)
            .env("TRUSTC_ADMIN_TOKEN", ADMIN_TOKEN)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::OpenOptions::new().append(true).open(&log).unwrap());
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            // SAFETY: `umask` is async-signal-safe and touches nothing but the child's mask.
            unsafe {
                command.pre_exec(|| {
                    libc::umask(0);
                    Ok(())
                });
            }
        }
        let mut child = command.spawn().expect("trustc serve starts");
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(&listen).is_err() {
            if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
                let _ = child.kill();
                panic!(
                    "trustc serve did not start: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        LiveServer { child, listen, log }
    }

    /// `METHOD path` with a bearer token and a body (JSON, or a form when it does not start
    /// with `{`) when given, on a connection of its own: the status and the body.
    fn call(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<&str>,
    ) -> (u16, String) {
        let mut stream = TcpStream::connect(&self.listen).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.listen
        );
        if let Some(token) = bearer {
            request.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        let body = body.unwrap_or_default();
        if !body.is_empty() {
            let content_type = if body.starts_with('{') {
                "application/json"
            } else {
                super::FORM
            };
            request.push_str(&format!("Content-Type: {content_type}\r\n"));
        }
        request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        let answer = String::from_utf8_lossy(&answer).into_owned();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let chunked = head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked");
        (
            status,
            if chunked {
                dechunk(body)
            } else {
                body.to_owned()
            },
        )
    }

    /// [`LiveServer::call`] that must answer `expected`: the body as JSON.
    fn expect(
        &self,
        expected: u16,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<&str>,
    ) -> Value {
        let (status, text) = self.call(method, path, bearer, body);
        assert_eq!(status, expected, "{method} {path}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path}: {e}: {text}"))
    }

    /// Stops it with SIGTERM (so that everything is logged) and returns its log.
    fn stop(mut self) -> String {
        crate::common::stop_child(&mut self.child, Duration::from_secs(10));
        std::fs::read_to_string(&self.log).unwrap()
    }
}

impl Drop for LiveServer {
    fn drop(&mut self) {
        crate::common::stop_child(&mut self.child, Duration::from_secs(5));
    }
}

/// A loopback port that was free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port()
}

/// Asks for the credential with a fresh nonce and a key proof of a new holder key, adds every
/// secret of the exchange to `secrets` (the nonce, the proof and its signature, the credential,
/// its issuer-signed JWT and signature, each disclosure), and returns the answer and the
/// credential's disclosures.
fn credential_with_secrets(
    server: &LiveServer,
    public_url: &str,
    access_token: &str,
    secrets: &mut Secrets,
) -> (Value, Vec<String>) {
    let nonce = server.expect(200, "POST", "/nonce", None, None)["c_nonce"]
        .as_str()
        .unwrap()
        .to_owned();
    secrets.add("the c_nonce", &nonce);
    let proof = HolderKey::es256().proof(public_url, Some(&nonce), Clock::System.now());
    secrets.add("the key proof", &proof);
    secrets.add(
        "the key proof's signature",
        proof.rsplit('.').next().unwrap(),
    );
    let issued = server.expect(
        200,
        "POST",
        "/credential",
        Some(access_token),
        Some(
            &json!({"credential_configuration_id": "person", "proofs": {"jwt": [proof]}})
                .to_string(),
        ),
    );
    let credential = issued["credentials"][0]["credential"]
        .as_str()
        .unwrap()
        .to_owned();
    secrets.add("the credential", &credential);
    let mut parts = credential.split('~');
    let jwt = parts.next().unwrap();
    secrets.add("the credential's issuer-signed JWT", jwt);
    secrets.add(
        "the credential's signature",
        jwt.rsplit('.').next().unwrap(),
    );
    let disclosures: Vec<String> = parts.filter(|p| !p.is_empty()).map(str::to_owned).collect();
    for disclosure in &disclosures {
        secrets.add("a disclosure of the credential", disclosure);
    }
    (issued, disclosures)
}

/// The secret values a test saw on the wire, each with what it is.
#[derive(Default)]
struct Secrets(Vec<(String, String)>);

impl Secrets {
    fn add(&mut self, what: impl Into<String>, value: &str) {
        assert!(!value.is_empty(), "no value for {}", what.into());
        self.0.push((what.into(), value.to_owned()));
    }

    /// Each secret found in `log` (with the timestamp that starts each line left out): what it
    /// is and the line. A value of digits only counts as a whole number, not inside a longer
    /// one (a 6-digit transaction code is in many a latency or port).
    fn leaked_in(&self, log: &str) -> Vec<String> {
        let mut leaks = Vec::new();
        for line in log.lines() {
            let text = match line.split_once(' ') {
                Some((first, rest)) if first.contains('T') && first.ends_with('Z') => rest,
                _ => line,
            };
            for (what, value) in &self.0 {
                if occurs(text, value) {
                    leaks.push(format!("{what} ({value}) in: {line}"));
                }
            }
        }
        leaks
    }
}

/// Whether `value` is in `text`; a value of digits only when it is not part of a longer number.
fn occurs(text: &str, value: &str) -> bool {
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return text.contains(value);
    }
    text.match_indices(value).any(|(at, _)| {
        let before = text[..at].bytes().next_back();
        let after = text[at + value.len()..].bytes().next();
        !before.is_some_and(|b| b.is_ascii_digit()) && !after.is_some_and(|b| b.is_ascii_digit())
    })
}

/// The percent-encoding of a form value.
fn form_encoded(value: &str) -> String {
    url_encode(&[("v", value)])
        .strip_prefix("v=")
        .unwrap()
        .to_owned()
}

/// The whole pre-authorised flow against a live `trustc serve` logging everything
/// (`RUST_LOG=trace`, every crate): an offer with distinctive personal claims, the offer fetched,
/// the code redeemed with its transaction code, a nonce, a key proof, the credential, the
/// offer shown and revoked with a token of the admin token file; and requests carrying secrets
/// in their query strings (a login callback's `code`, a pushed `request_uri`), a wrong admin
/// token and a wrong transaction code. Then no secret value seen on the wire is in the log: the
/// private key, the admin tokens, the codes, the transaction code, the access token, the nonce,
/// the proof, the credential and its disclosures, and each claim value. The offer id, the
/// operator's handle, may be.
#[test]
fn nothing_secret_reaches_the_log_at_trace_level() {
    pre_authorized_flow_logs_nothing_secret(None);
}

/// [`nothing_secret_reaches_the_log_at_trace_level`] on PostgreSQL, whose client (sqlx) logs
/// its statements at debug.
#[test]
fn nothing_secret_reaches_the_log_at_trace_level_on_postgres() {
    let Some(db) = trustc_testkit::postgres::database("serve::secrets::logs") else {
        return;
    };
    pre_authorized_flow_logs_nothing_secret(Some(&db));
}

/// The flow and the search of the log of [`nothing_secret_reaches_the_log_at_trace_level`], on
/// the database `db` (a SQLite file in the test's folder when `None`).
fn pre_authorized_flow_logs_nothing_secret(db: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let governance = trustc_testkit::example::pre_authorized(&repo());
    let tokens = dir.path().join("admin-tokens");
    write_with_mode(&tokens, &format!("{NEW_TOKEN}\n"), 0o600);
    let mut args = vec![
        "--key",
        "issuer-key.pem",
        "--admin-token-file",
        tokens.to_str().unwrap(),
    ];
    if let Some(db) = db {
        args.extend(["--db", db]);
    }
    let server = LiveServer::start(dir.path(), governance, &args, "trace");
    let public_url = format!("http://{}", server.listen);
    let mut secrets = Secrets::default();
    secrets.add("TRUSTC_ADMIN_TOKEN", ADMIN_TOKEN);
    secrets.add("the admin token file's token", NEW_TOKEN);

    // The key file was created for its owner only, even under a umask of 000.
    let key_path = dir.path().join("issuer-key.pem");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the new key file is its owner's only");
    }
    let pem = std::fs::read_to_string(&key_path).unwrap();
    let d = {
        use p256::pkcs8::DecodePrivateKey;
        p256::SecretKey::from_pkcs8_pem(&pem).unwrap().to_bytes()
    };
    secrets.add("the issuer key's d (base64url)", &URL_SAFE_NO_PAD.encode(d));
    secrets.add("the issuer key's d (base64)", &STANDARD.encode(d));
    let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
    secrets.add("the issuer key's d (hex)", &hex);

    // Personal claims no log line has any business showing.
    let claims = json!({
        "given_names": "Zephyrine Oluwaseun",
        "family_name": "Quackenbush-Ydstebo",
        "birthdate": "1983-07-29",
        "locality": "Kwadacha Nation",
        "issue_date": "2026-01-15",
        "expiry_date": "2031-01-15"
    });
    for name in ["given_names", "family_name", "birthdate", "locality"] {
        secrets.add(format!("the claim {name}"), claims[name].as_str().unwrap());
    }

    // The back end makes an offer.
    let offer = server.expect(
        201,
        "POST",
        "/admin/offers",
        Some(ADMIN_TOKEN),
        Some(&json!({"credential": "person", "claims": claims}).to_string()),
    );
    let offer_id = offer["id"].as_str().unwrap().to_owned();
    let tx_code = offer["tx_code"]
        .as_str()
        .expect("a transaction code")
        .to_owned();
    secrets.add("the transaction code", &tx_code);

    // The wallet fetches it and redeems its code.
    let offer_uri = offer["credential_offer_uri"].as_str().unwrap();
    let offer_path = offer_uri.strip_prefix(&public_url).unwrap();
    let credential_offer = server.expect(200, "GET", offer_path, None, None);
    let code = credential_offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]
        ["pre-authorized_code"]
        .as_str()
        .unwrap()
        .to_owned();
    secrets.add("the pre-authorised code", &code);
    secrets.add(
        "the pre-authorised code's secret part",
        code.split_once('.').map_or(code.as_str(), |(_, s)| s),
    );
    secrets.add(
        "the pre-authorised code, form-encoded",
        &form_encoded(&code),
    );
    // A wrong transaction code first (refused), then the right one.
    let wrong_tx = if tx_code == "000000" {
        "000001"
    } else {
        "000000"
    };
    let form = |tx: &str| {
        url_encode(&[
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:pre-authorized_code",
            ),
            ("pre-authorized_code", &code),
            ("tx_code", tx),
        ])
    };
    let (status, _) = server.call("POST", "/token", None, Some(&form(wrong_tx)));
    assert_eq!(status, 400);
    let token = server.expect(200, "POST", "/token", None, Some(&form(&tx_code)));
    let access_token = token["access_token"].as_str().unwrap().to_owned();
    secrets.add("the access token", &access_token);
    if let Some((_, part)) = access_token.split_once('.') {
        secrets.add("the access token's secret part", part);
    }

    // A nonce, a key proof, the credential.
    credential_with_secrets(&server, &public_url, &access_token, &mut secrets);

    // The operator looks at the offer and revokes it with the token file's token; a wrong token
    // is refused.
    let shown = server.expect(
        200,
        "GET",
        &format!("/admin/offers/{offer_id}"),
        Some(NEW_TOKEN),
        None,
    );
    assert_eq!(shown["state"], "issued", "{shown}");
    let wrong_token = "secrets-test-wrong-admin-token-5b1e0d77";
    secrets.add("a wrong admin token", wrong_token);
    let (status, _) = server.call(
        "POST",
        &format!("/admin/offers/{offer_id}/revoke"),
        Some(wrong_token),
        None,
    );
    assert_eq!(status, 401);
    server.expect(
        200,
        "POST",
        &format!("/admin/offers/{offer_id}/revoke"),
        Some(NEW_TOKEN),
        None,
    );

    // Secrets in query strings: a provider's code at the login callback, a pushed request's
    // handle at the authorization endpoint (refused, but requested).
    let callback_code = "secrets-test-provider-code-9d8c7b6a";
    let callback_state = "secrets-test-login-state-1a2b3c4d";
    let request_uri = "urn:ietf:params:oauth:request_uri:secrets-test-par-e5f6a7b8";
    secrets.add("a login callback's code", callback_code);
    secrets.add("a login callback's state", callback_state);
    secrets.add("a pushed request_uri", "secrets-test-par-e5f6a7b8");
    server.call(
        "GET",
        &format!("/login/callback?code={callback_code}&state={callback_state}"),
        None,
        None,
    );
    server.call(
        "GET",
        &format!(
            "/authorize?client_id=wallet&request_uri={}",
            form_encoded(request_uri)
        ),
        None,
        None,
    );

    let log = server.stop();
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "the server logged at debug and trace: {log}"
    );
    assert!(log.contains(&offer_id), "offer ids are logged: {log}");
    let leaks = secrets.leaked_in(&log);
    assert!(
        leaks.is_empty(),
        "{} secret values reached the log:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
}

/// The login flow against a live `trustc serve` at `RUST_LOG=trace` and the development OpenID
/// Provider (`tests/interop/op.mjs`, auto mode, signing Alice in): the wallet's pushed request,
/// a browser following the redirects through the provider and back (the provider's code and
/// state in the callback's query string), the authorization code redeemed with its PKCE
/// verifier, a nonce, a key proof, the credential with Alice's claims. Then none of the secrets
/// seen on the wire is in trustc's log: the provider's code, the login state, the cookies, the
/// pushed `request_uri`, trustc's authorization code, the PKCE verifier, the login client
/// secret, the access token, the nonce, the proof, the credential and Alice's claim values.
#[test]
fn nothing_secret_reaches_the_log_in_a_login_at_trace_level() {
    const TEST: &str = "serve::secrets::login_logs";
    const LOGIN_SECRET: &str = "secrets-test-login-client-secret-3e8f";
    const WALLET_REDIRECT: &str = "https://wallet.example/callback";
    const VERIFIER: &str = "secrets-test-pkce-verifier-0123456789abcdefghijklmnop";
    let Some(client) = crate::interop::node_client(TEST) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let public_url = format!("http://127.0.0.1:{port}");

    // The provider, redirecting to trustc's callback.
    let mut op = Command::new("node")
        .arg("op.mjs")
        .current_dir(&client)
        .env("OP_PORT", "0")
        .env("OP_MODE", "auto")
        .env("RP_REDIRECT_URI", format!("{public_url}/login/callback"))
        .env("TRUSTC_DEV_LOGIN_SECRET", LOGIN_SECRET)
        .env_remove("OP_ISSUER")
        .env_remove("RP_JWKS_URI")
        .env_remove("OP_CLIENT_AUTH")
        .env_remove("OP_ENCRYPT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node starts op.mjs");
    let stdout = op.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(issuer) = line.strip_prefix("OP_READY ") {
                let _ = sender.send(issuer.to_owned());
            }
        }
    });
    let Ok(op_issuer) = receiver.recv_timeout(Duration::from_secs(30)) else {
        crate::common::stop_child(&mut op, Duration::from_secs(5));
        panic!("op.mjs did not print OP_READY within 30 s");
    };

    let server = LiveServer::start_on(
        port,
        dir.path(),
        &repo(),
        &[
            "--login-issuer",
            &format!("bc-digital-identity/bc-services-card={op_issuer}"),
        ],
        "trace",
        &[("TRUSTC_DEV_LOGIN_SECRET", LOGIN_SECRET)],
    );
    let mut secrets = Secrets::default();
    secrets.add("the login client secret", LOGIN_SECRET);
    secrets.add(
        "the login client's Basic credentials",
        &STANDARD.encode(format!("trustc-dev:{LOGIN_SECRET}")),
    );
    secrets.add("TRUSTC_ADMIN_TOKEN", ADMIN_TOKEN);
    secrets.add("the PKCE verifier", VERIFIER);

    // The wallet pushes its request.
    let challenge = URL_SAFE_NO_PAD.encode(<sha2::Sha256 as sha2::Digest>::digest(VERIFIER));
    let wallet_state = "secrets-test-wallet-state-77c1";
    secrets.add("the wallet's state", wallet_state);
    let RawAnswer { status, body, .. } = raw(
        "POST",
        &format!("{public_url}/par"),
        &[("Content-Type", super::FORM)],
        &url_encode(&[
            ("response_type", "code"),
            ("client_id", "wallet-test"),
            ("redirect_uri", WALLET_REDIRECT),
            ("scope", "person"),
            ("state", wallet_state),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("resource", &public_url),
        ]),
    );
    assert_eq!(status, 201, "{body}");
    let request_uri = serde_json::from_str::<Value>(&body).unwrap()["request_uri"]
        .as_str()
        .unwrap()
        .to_owned();
    secrets.add("the pushed request_uri", &request_uri);
    secrets.add(
        "the pushed request_uri, form-encoded",
        &form_encoded(&request_uri),
    );

    // The browser: redirects followed with a cookie jar per host, up to the wallet.
    let mut cookies: Vec<(String, String, String)> = Vec::new();
    let mut url = format!(
        "{public_url}/authorize?{}",
        url_encode(&[("client_id", "wallet-test"), ("request_uri", &request_uri)])
    );
    let mut back = None;
    for _ in 0..20 {
        let parsed = url::Url::parse(&url).unwrap();
        let host = parsed.host_str().unwrap().to_owned();
        if parsed.port() == Some(port) {
            for (name, value) in parsed.query_pairs() {
                if value.len() >= 16 && name != "client_id" && name != "request_uri" {
                    secrets.add(
                        format!("the query parameter `{name}` of {}", parsed.path()),
                        &value,
                    );
                }
            }
        }
        let jar = cookies
            .iter()
            .filter(|(h, _, _)| *h == host)
            .map(|(_, n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let headers: Vec<(&str, &str)> = if jar.is_empty() {
            vec![]
        } else {
            vec![("Cookie", jar.as_str())]
        };
        let RawAnswer {
            status,
            headers,
            body,
        } = raw("GET", &url, &headers, "");
        for (name, value) in &headers {
            if name == "set-cookie" {
                let pair = value.split(';').next().unwrap_or_default();
                if let Some((cookie, value)) = pair.split_once('=') {
                    cookies.retain(|(h, n, _)| !(*h == host && n == cookie));
                    if !value.is_empty() {
                        if parsed.port() == Some(port) && value.len() >= 16 {
                            secrets.add(format!("trustc's cookie `{cookie}`"), value);
                        }
                        cookies.push((host.clone(), cookie.to_owned(), value.to_owned()));
                    }
                }
            }
        }
        let Some(location) = headers.iter().find(|(n, _)| n == "location") else {
            panic!("the login ends at the wallet, not at {status} {url}: {body}");
        };
        let next = parsed.join(&location.1).unwrap().to_string();
        if next.starts_with(WALLET_REDIRECT) {
            back = Some(next);
            break;
        }
        url = next;
    }
    let back = back.expect("the browser reaches the wallet");
    let code = url::Url::parse(&back)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code");
    secrets.add("trustc's authorization code", &code);
    secrets.add(
        "trustc's authorization code, form-encoded",
        &form_encoded(&code),
    );

    // The wallet redeems the code and collects the credential.
    let token = server.expect(
        200,
        "POST",
        "/token",
        None,
        Some(&url_encode(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", VERIFIER),
            ("redirect_uri", WALLET_REDIRECT),
            ("client_id", "wallet-test"),
        ])),
    );
    let access_token = token["access_token"].as_str().unwrap().to_owned();
    secrets.add("the access token", &access_token);
    let (issued, disclosures) =
        credential_with_secrets(&server, &public_url, &access_token, &mut secrets);
    // A value the governance itself has (the example of an attribute, whose compile on start
    // is logged at debug) is public, not personal.
    let governance: String = std::fs::read_dir(repo().join("governance"))
        .unwrap()
        .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default())
        .collect();
    let mut claims = 0;
    for disclosure in &disclosures {
        let decoded: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(disclosure).unwrap()).unwrap();
        if let Some(Value::String(value)) = decoded.get(2)
            && value.len() >= 5
            && !governance.contains(value.as_str())
        {
            secrets.add(format!("the claim {}", decoded[1]), value);
            claims += 1;
        }
    }
    assert!(
        issued.to_string().len() > 100 && claims >= 3,
        "the credential has Alice's claims: {issued}"
    );

    let log = server.stop();
    crate::common::stop_child(&mut op, Duration::from_secs(5));
    assert!(log.contains("logged in"), "the login is logged: {log}");
    let leaks = secrets.leaked_in(&log);
    assert!(
        leaks.is_empty(),
        "{} secret values reached the log:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
}
