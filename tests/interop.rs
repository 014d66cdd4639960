//! Interoperability: third-party clients read what `trustc build` generates.
//!
//! Our own tests can only show that the metadata has the shape we think the specifications
//! describe. These tests hand it to a real OpenID4VCI client, the npm package
//! `@openid4vc/openid4vci` 0.4.6 (the engine of Credo's OpenID4VC module), pinned with its
//! dependencies in `tests/interop/package-lock.json`. For each profile the shipped example is built
//! with the real binary, `tests/interop/metadata.mjs` serves the output folder over HTTP on
//! 127.0.0.1 and resolves it with the library's own `resolveIssuerMetadata`, and the test compares
//! what the library parsed with the compiled issuer configuration (`issuer/config.json`).
//!
//! The test installs the client itself (`npm ci`) into `target/tmp/interop-node/`, once per lock
//! file. Without `node` or `npm` it prints `SKIPPED` and passes (fails instead when
//! `TRUSTC_REQUIRE_INTEROP=1`, as CI should set); when npm cannot install (no network), it fails,
//! so a run that could not check interoperability never looks green.
//!
//! `interop_serve.rs` runs the same installed libraries as a wallet against `trustc serve`.

use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::common::{repo, status, stderr, stdout, trustc};

/// The files of `tests/interop/` the client folder needs.
const CLIENT_FILES: [&str; 18] = [
    "package.json",
    "package-lock.json",
    "callbacks.mjs",
    "steps.mjs",
    "wallet.mjs",
    "metadata.mjs",
    "issuance.mjs",
    "batch.mjs",
    "jwe.mjs",
    "presentation.mjs",
    "page_view.mjs",
    "journey.mjs",
    "browser.mjs",
    "op.mjs",
    "op_accounts.mjs",
    "op_check.mjs",
    "login.mjs",
    "journey_login.mjs",
];

/// The shipped example's credential types and their vct (from `governance/*.yaml`).
const CREDENTIALS: [(&str, &str); 2] = [
    (
        "lawyer",
        "https://credentials.lawsociety.bc.example/lawyer/v1",
    ),
    ("person", "https://credentials.gov.bc.example/person/v1"),
];

#[test]
fn openid4vci_client_resolves_1_0_metadata() {
    let Some(client) = node_client("openid4vci_client_resolves_1_0_metadata") else {
        return;
    };
    let (summary, config, issuer) = resolve(&client, &[]);

    assert_eq!(
        summary["version"], "V1",
        "the library detects OpenID4VCI 1.0: {summary:#}"
    );
    assert_eq!(summary["credential_issuer"], issuer.as_str());
    assert_eq!(
        summary["credential_endpoint"],
        format!("{issuer}/credential")
    );
    assert_eq!(summary["nonce_endpoint"], format!("{issuer}/nonce"));
    assert_eq!(summary["authorization_servers"], json!([issuer]));
    // The authorization server metadata is the build's own document (RFC 8414).
    assert_eq!(
        summary["token_endpoints"],
        json!([format!("{issuer}/token")])
    );
    assert_eq!(
        summary["requests"],
        json!([
            "/.well-known/openid-credential-issuer",
            "/.well-known/oauth-authorization-server"
        ]),
        "both documents are read from their well-known locations"
    );
    assert_configurations(&summary, &config, "dc+sd-jwt");
    for (id, _) in CREDENTIALS {
        let configuration = &summary["configurations"][id];
        assert_eq!(configuration["in_credential_metadata"], true, "{id}");
        assert_eq!(configuration["claims_shape"], "array", "{id}");
        assert_eq!(
            configuration["order"],
            Value::Null,
            "{id}: no `order` in 1.0"
        );
    }
}

#[test]
fn openid4vci_client_resolves_draft_13_metadata() {
    let Some(client) = node_client("openid4vci_client_resolves_draft_13_metadata") else {
        return;
    };
    let (summary, config, issuer) = resolve(&client, &["--profile", "draft-13"]);

    // The library names the shape drafts 13 and 14 share (configurations with `display` and a map
    // of `claims`, no `credential_metadata`) `Draft14`; it has no separate draft 13 value.
    assert_eq!(
        summary["version"], "Draft14",
        "the library reads the draft 13 shape: {summary:#}"
    );
    assert_eq!(summary["credential_issuer"], issuer.as_str());
    assert_eq!(
        summary["credential_endpoint"],
        format!("{issuer}/credential")
    );
    assert_eq!(
        summary["nonce_endpoint"],
        Value::Null,
        "draft 13 has no nonce endpoint"
    );
    assert_configurations(&summary, &config, "vc+sd-jwt");
    for (id, _) in CREDENTIALS {
        let configuration = &summary["configurations"][id];
        assert_eq!(configuration["in_credential_metadata"], false, "{id}");
        assert_eq!(configuration["claims_shape"], "map", "{id}");
        let names: Vec<Value> = credential(&config, id)["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].clone())
            .collect();
        assert_eq!(configuration["order"], Value::Array(names), "{id}: `order`");
    }
}

/// `direct_post.jwt` responses: a JWE the npm `jose` package encrypts as the
/// `@openid4vc/openid4vp` wallet has it do (ECDH-ES to the verifier's published key, `kid`, `apu`
/// the wallet's nonce, `apv` the request's) decrypts with `trustc_runtime::jwe`, for both content
/// encryptions; and `jose` decrypts what `jwe::encrypt` makes.
#[cfg(feature = "serve")]
#[test]
fn jose_and_trustc_exchange_ecdh_es_jwes() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use trustc_runtime::jwe;

    let Some(client) = node_client("jose_and_trustc_exchange_ecdh_es_jwes") else {
        return;
    };
    let recipient = jwe::session_key(&[7; 32], "auth-session-1");
    let jwk = jwe::public_jwk(&recipient, "auth-session-1");
    let plaintext = json!({"vp_token": {"person": ["eyJhbGciOi...~"]}, "state": "s-1"}).to_string();
    for enc in jwe::SUPPORTED_ENC {
        let made = run_script(
            &client,
            "jwe.mjs",
            &json!({"op": "encrypt", "jwk": jwk, "enc": enc, "plaintext": plaintext,
                    "nonce": "request-nonce"}),
        );
        let compact = made["jwe"].as_str().unwrap();
        let decrypted = jwe::decrypt(compact, &recipient, &[enc])
            .unwrap_or_else(|e| panic!("{enc}: trustc decrypts jose's JWE: {e}"));
        assert_eq!(String::from_utf8(decrypted.plaintext).unwrap(), plaintext);
        let header = &decrypted.header;
        assert_eq!(header["alg"], "ECDH-ES", "{enc}");
        assert_eq!(header["enc"], enc);
        assert_eq!(header["kid"], "auth-session-1");
        assert_eq!(header["apu"], made["apu"]);
        assert_eq!(header["apv"], URL_SAFE_NO_PAD.encode("request-nonce"));
        assert_eq!(header["epk"]["crv"], "P-256");
        assert_eq!(jwe::protected_header(compact).unwrap(), *header);
        // Another session's key does not open it.
        let other = jwe::session_key(&[7; 32], "auth-session-2");
        assert_eq!(
            jwe::decrypt(compact, &other, &[enc]),
            Err(jwe::JweError::Decryption)
        );

        let ours = jwe::encrypt(
            plaintext.as_bytes(),
            &recipient.public_key(),
            enc,
            Some("auth-session-1"),
            b"wallet-nonce",
            b"request-nonce",
        )
        .unwrap();
        let private: Value = serde_json::from_str(&recipient.to_jwk_string()).unwrap();
        let opened = run_script(
            &client,
            "jwe.mjs",
            &json!({"op": "decrypt", "jwk": private, "jwe": ours}),
        );
        assert_eq!(
            opened["plaintext"],
            plaintext.as_str(),
            "{enc}: jose decrypts ours"
        );
        assert_eq!(opened["header"]["kid"], "auth-session-1");
        assert_eq!(
            opened["header"]["apu"],
            URL_SAFE_NO_PAD.encode("wallet-nonce")
        );
    }
}

/// Runs `script` of the client folder with `input` as JSON on stdin and parses its stdout.
#[cfg(feature = "serve")]
fn run_script(client: &Path, script: &str, input: &Value) -> Value {
    use std::process::Stdio;
    let mut child = Command::new("node")
        .arg(client.join(script))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let run = child.wait_with_output().unwrap();
    assert!(
        run.status.success(),
        "node {script} failed:\n{}",
        stderr(&run)
    );
    serde_json::from_str(&stdout(&run))
        .unwrap_or_else(|e| panic!("{script} answers JSON ({e}): {}", stdout(&run)))
}

/// Both credential types are listed, none dropped by the library's format validation, each with
/// its format, vct, display per locale (with the logo) and claims as the compiled configuration has
/// them.
fn assert_configurations(summary: &Value, config: &Value, format: &str) {
    let ids: Vec<&str> = CREDENTIALS.iter().map(|(id, _)| *id).collect();
    assert_eq!(summary["configuration_ids"], json!(ids));
    let known: Vec<&String> = summary["configurations"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        known, ids,
        "configurations the library's format-specific validation accepted"
    );
    for (id, vct) in CREDENTIALS {
        let configuration = &summary["configurations"][id];
        let credential = credential(config, id);
        assert_eq!(configuration["format"], format, "{id}");
        assert_eq!(configuration["vct"], vct, "{id}");
        // A scope only where a wallet may start issuance itself.
        let wallet_initiated = credential["authentication"]["login"]["wallet_initiated"] == true;
        let scope = if wallet_initiated {
            json!(id)
        } else {
            Value::Null
        };
        assert_eq!(configuration["scope"], scope, "{id}");

        let expected: Vec<Value> = credential["display"]
            .as_array()
            .unwrap()
            .iter()
            .map(
                |d| json!({"locale": d["locale"], "name": d["name"], "logo_uri": d["logo"]["uri"]}),
            )
            .collect();
        let display: Vec<Value> = configuration["display"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| json!({"locale": d["locale"], "name": d["name"], "logo_uri": d["logo_uri"]}))
            .collect();
        assert_eq!(display, expected, "{id}: display");
        let locales: Vec<&Value> = display.iter().map(|d| &d["locale"]).collect();
        assert_eq!(locales, ["en", "fr"], "{id}: one display per locale");
        // Inline (`data:`) for the Person credential, published (`https:`) for the Lawyer's images.
        assert!(
            display.iter().all(|d| d["logo_uri"]
                .as_str()
                .is_some_and(|uri| uri.starts_with("data:image/") || uri.starts_with("https://"))),
            "{id}: every display has its logo: {:?}",
            display
                .iter()
                .map(|d| d["logo_uri"]
                    .to_string()
                    .chars()
                    .take(60)
                    .collect::<String>())
                .collect::<Vec<_>>()
        );

        let expected: Vec<Value> = credential["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                let labels: Vec<Value> = a["display"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| json!({"locale": d["locale"], "name": d["label"]}))
                    .collect();
                json!({"path": [a["name"]], "mandatory": a["required"], "display": labels})
            })
            .collect();
        assert_eq!(
            configuration["claims"],
            Value::Array(expected),
            "{id}: claims"
        );
    }
}

fn credential<'a>(config: &'a Value, id: &str) -> &'a Value {
    config["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("`{id}` is in issuer/config.json"))
}

/// Builds the shipped example for an issuer on a free loopback port and resolves it with the
/// client: the library's summary, the compiled configuration, and the issuer URL.
fn resolve(client: &Path, build_args: &[&str]) -> (Value, Value, String) {
    // The socket is bound here and handed to node, so the port the metadata names is the one
    // served, with no window for another process to take it.
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let issuer = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let temporary = tempfile::tempdir().unwrap();
    let out = temporary.path().join("site");
    let mut args = vec![
        "build",
        ".",
        "--out",
        out.to_str().unwrap(),
        "--issuer-url",
        &issuer,
    ];
    args.extend_from_slice(build_args);
    let build = trustc(&repo(), &args);
    assert_eq!(status(&build), 0, "trustc build failed: {}", stderr(&build));
    let config: Value =
        serde_json::from_slice(&fs::read(out.join("issuer/config.json")).unwrap()).unwrap();

    let fd = listener.as_raw_fd();
    let mut node = Command::new("node");
    node.arg(client.join("metadata.mjs"))
        .arg(&out)
        .arg(&issuer)
        .env("LISTEN_FD", "3");
    // SAFETY: the closure runs in the child between fork and exec and only calls `dup2` and
    // `fcntl`, which are async-signal-safe. It gives the child the listening socket as fd 3
    // without the close-on-exec flag.
    unsafe {
        node.pre_exec(move || {
            let result = if fd == 3 {
                libc::fcntl(3, libc::F_SETFD, 0)
            } else {
                libc::dup2(fd, 3)
            };
            if result == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let run = node.output().expect("node runs");
    drop(listener);
    assert!(
        run.status.success(),
        "the OpenID4VCI client did not accept the metadata `trustc build {}` wrote:\n{}",
        build_args.join(" "),
        stderr(&run)
    );
    let summary = serde_json::from_str(&stdout(&run)).unwrap_or_else(|e| {
        panic!(
            "the client's summary parses ({e}): {}\n{}",
            stdout(&run),
            stderr(&run)
        )
    });
    (summary, config, issuer)
}

/// Whether a missing interpreter (node, npm, python3) fails the interoperability tests instead of
/// skipping them: `TRUSTC_REQUIRE_INTEROP=1`.
fn interop_required() -> bool {
    std::env::var("TRUSTC_REQUIRE_INTEROP").is_ok_and(|value| value == "1")
}

/// Reports a test (or part of one) skipped because `tool` is missing, or fails it when
/// `TRUSTC_REQUIRE_INTEROP=1`.
pub(crate) fn skip(test: &str, tool: &str, why: &str) {
    assert!(
        !interop_required(),
        "{test}: {tool} not found, and TRUSTC_REQUIRE_INTEROP=1 requires the interoperability \
         tests to run ({why})"
    );
    // Written to the real stderr, past the test harness's output capture.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {test}: {tool} not found ({why}; set TRUSTC_REQUIRE_INTEROP=1 to fail instead)"
    );
}

/// The folder with the installed client libraries and scripts, or `None` (with a `SKIPPED` line)
/// when node or npm is not installed.
pub(crate) fn node_client(test: &str) -> Option<PathBuf> {
    for tool in ["node", "npm"] {
        match Command::new(tool).arg("--version").output() {
            Ok(output) if output.status.success() => {}
            Ok(output) => panic!("`{tool} --version` failed: {}", stderr(&output)),
            Err(error) if error.kind() == ErrorKind::NotFound => {
                skip(
                    test,
                    tool,
                    "node 20 and npm run the third-party OpenID4VCI and SD-JWT VC clients",
                );
                return None;
            }
            Err(error) => panic!("`{tool}` could not be started: {error}"),
        }
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("interop-node");
    install(&dir);
    Some(dir)
}

/// Copies the client files into `dir` and runs `npm ci` there, unless `node_modules` was already
/// installed from the same lock file. A file lock serialises the tests and concurrent test runs.
fn install(dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    let lock = File::create(dir.with_extension("lock")).unwrap();
    // SAFETY: `flock` on a descriptor this function owns; the lock is released when `lock` closes.
    let locked = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
    assert_eq!(locked, 0, "{}", std::io::Error::last_os_error());

    let source = repo().join("tests/interop");
    let lockfile = fs::read(source.join("package-lock.json")).unwrap();
    // Written after a successful install; `npm ci` removes `node_modules`, and with it this file.
    let installed = dir.join("node_modules/.trustc-package-lock.json");
    for file in CLIENT_FILES {
        let bytes = fs::read(source.join(file)).unwrap();
        if fs::read(dir.join(file)).ok().as_ref() != Some(&bytes) {
            // Replaced in one step: another test run may be reading the script.
            let partial = dir.join(format!("{file}.partial"));
            fs::write(&partial, &bytes).unwrap();
            fs::rename(&partial, dir.join(file)).unwrap();
        }
    }
    if fs::read(&installed).ok().as_ref() == Some(&lockfile) {
        return;
    }
    let npm = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .output()
        .expect("npm runs");
    assert!(
        npm.status.success(),
        "`npm ci` could not install the third-party clients (@openid4vc/openid4vci 0.4.6, oidc-provider 9.13.3, \
         @sd-jwt/* 0.19.0, jose 6, pinned in tests/interop/package-lock.json) into {}. This test \
         needs the npm registry the first time (then the install is reused); check the network or \
         npm's registry and proxy settings.\n\
         npm said:\n{}{}",
        dir.display(),
        stdout(&npm),
        stderr(&npm)
    );
    fs::write(&installed, &lockfile).unwrap();
}
