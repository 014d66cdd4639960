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
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
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

/// The payload of a `Transfer-Encoding: chunked` body.
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
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
    let dir = tempfile::tempdir().unwrap();
    let governance = trustc_testkit::example::pre_authorized(&repo());
    let tokens = dir.path().join("admin-tokens");
    write_with_mode(&tokens, &format!("{NEW_TOKEN}\n"), 0o600);
    let server = LiveServer::start(
        dir.path(),
        governance,
        &[
            "--key",
            "issuer-key.pem",
            "--admin-token-file",
            tokens.to_str().unwrap(),
        ],
        "trace",
    );
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
    let nonce = server.expect(200, "POST", "/nonce", None, None)["c_nonce"]
        .as_str()
        .unwrap()
        .to_owned();
    secrets.add("the c_nonce", &nonce);
    let holder = HolderKey::es256();
    let now = Clock::System.now();
    let proof = holder.proof(&public_url, Some(&nonce), now);
    secrets.add("the key proof", &proof);
    secrets.add(
        "the key proof's signature",
        proof.rsplit('.').next().unwrap(),
    );
    let issued = server.expect(
        200,
        "POST",
        "/credential",
        Some(&access_token),
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
    for disclosure in parts.filter(|p| !p.is_empty()) {
        secrets.add("a disclosure of the credential", disclosure);
    }

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
