//! Entry points for the fuzz targets (`fuzz/`, docs/fuzzing.md) and for the replay of the inputs
//! that once crashed them (`tests/fuzz_regressions.rs`): each takes arbitrary bytes and runs one
//! of the parsers of what outsiders send (key proofs, DPoP proofs, presented SD-JWT VCs, JWS, JWE,
//! a login provider's answers, claim paths) the way the issuer runs it. Not an API: hidden from
//! the documentation, and nothing here changes what the issuer does.
//!
//! Most entry points read the first byte as a mode: raw, the rest of the bytes is the token as
//! sent; signed, the rest is JSON (header and claims split at a NUL byte) that a fixed key signs
//! here, so that the fuzzer reaches the checks after the signature, which it could never forge.

use std::sync::{Arc, LazyLock, Mutex};

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::SecretKey;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use trustc_artifact::{ClientAuthentication, Environment, IssuerConfig, LoginProvider};
use url::Url;

use crate::domain::fetch::{Fetch, FetchError, Fetched, Request};
use crate::domain::login::provider::{Callback, Expected, Providers};
use crate::keys::IssuerKey;
use crate::{dpop, jose, jwe, presented, proof};

/// The time every entry point takes as now.
pub const NOW: i64 = 1_750_000_000;
/// The issuer (and audience) the entry points verify for.
pub const AUDIENCE: &str = "https://issuer.example";
/// The nonce the entry points expect, where one is expected.
pub const NONCE: &str = "fuzz-nonce";

/// The signing keys: one stands for the holder (key proofs, DPoP, key binding), one for the
/// issuer of presented credentials and the login provider.
static HOLDER: LazyLock<IssuerKey> = LazyLock::new(IssuerKey::generate);
static SIGNER: LazyLock<IssuerKey> = LazyLock::new(IssuerKey::generate);

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// Splits `data` at its NUL bytes into at most `N` parts (missing parts are empty).
fn parts<const N: usize>(data: &[u8]) -> [&[u8]; N] {
    let mut out = [&[][..]; N];
    let mut rest = data;
    for (i, slot) in out.iter_mut().enumerate() {
        if i + 1 == N {
            *slot = rest;
            break;
        }
        match rest.iter().position(|b| *b == 0) {
            Some(at) => {
                *slot = &rest[..at];
                rest = &rest[at + 1..];
            }
            None => {
                *slot = rest;
                rest = &[];
            }
        }
    }
    out
}

/// A JSON object from bytes; `{}` when they are not one.
fn object(bytes: &[u8]) -> Map<String, Value> {
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// `claims` with `defaults` added where missing.
fn with_defaults(mut claims: Map<String, Value>, defaults: Value) -> Value {
    if let Value::Object(defaults) = defaults {
        for (name, value) in defaults {
            claims.entry(name).or_insert(value);
        }
    }
    Value::Object(claims)
}

/// A JWS signed by `key` whose header and claims come from `data` (header NUL claims), each
/// completed with `header` and `claims` where they lack a member. `alg` is always ES256.
fn signed(key: &IssuerKey, data: &[u8], header: Value, claims: Value) -> String {
    let [given_header, given_claims] = parts::<2>(data);
    let header = with_defaults(object(given_header), header);
    let claims = with_defaults(object(given_claims), claims);
    key.sign_jwt_with(&header, &claims)
}

/// The holder's public key as a proof's `jwk` header carries it.
fn holder_jwk() -> Value {
    HOLDER.public_jwk().clone()
}

/// An OpenID4VCI key proof (`proof::verify_proof`): raw (first byte even) or signed by the
/// holder's key from header NUL claims.
pub fn key_proof(data: &[u8]) {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let jwt = if mode % 2 == 0 {
        let Some(text) = text(rest) else { return };
        text.to_owned()
    } else {
        signed(
            &HOLDER,
            rest,
            json!({"typ": proof::PROOF_TYP, "jwk": holder_jwk()}),
            json!({"aud": AUDIENCE, "iat": NOW, "nonce": NONCE}),
        )
    };
    let policy = proof::ProofPolicy {
        audience: AUDIENCE,
        algorithms: &["ES256", "EdDSA"],
        now: NOW,
        max_age: 300,
        max_skew: 60,
    };
    let _ = proof::verify_proof(&jwt, &policy);
}

/// A DPoP proof (`dpop::verify_proof`) at the credential endpoint (with an access token) or the
/// token endpoint (without), raw or signed as [`key_proof`] says.
pub fn dpop_proof(data: &[u8]) {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let access_token = "fuzz-access-token";
    let jwt = if mode % 2 == 0 {
        let Some(text) = text(rest) else { return };
        text.to_owned()
    } else {
        signed(
            &HOLDER,
            rest,
            json!({"typ": dpop::DPOP_TYP, "jwk": holder_jwk()}),
            json!({"htm": "POST", "htu": format!("{AUDIENCE}/credential"), "iat": NOW,
                   "jti": "fuzz-jti", "ath": dpop::access_token_hash(access_token)}),
        )
    };
    let expected = dpop::DpopExpectation {
        method: "POST",
        url: &format!("{AUDIENCE}/credential"),
        access_token: (mode & 2 == 0).then_some(access_token),
        now: NOW,
        max_age: 300,
        max_skew: 60,
    };
    if let Ok(proof) = dpop::verify_proof(&jwt, &expected) {
        let _ = proof.replay_key();
    }
    let _ = dpop::jwk_thumbprint(&serde_json::from_slice(rest).unwrap_or(Value::Null));
}

/// Any compact JWS through [`jose::verify`] under each kind of key source the issuer uses: the
/// `jwk` header (proofs), a given key (key binding) and a key set picked by `kid` (issuers,
/// status lists, login providers, which may use RSA and P-384 too).
pub fn jws(data: &[u8]) {
    let Some(jws) = text(data) else { return };
    let key_set = [SIGNER.public_jwk().clone(), HOLDER.public_jwk().clone()];
    let holder = holder_jwk();
    let sources = [
        jose::KeySource::HeaderJwk,
        jose::KeySource::Jwk(&holder),
        jose::KeySource::KeySet(&key_set),
    ];
    for key in sources {
        let policy = jose::Policy {
            subject: "fuzzed JWS",
            typ: &["JWT", jose::NO_TYP],
            algorithms: &jose::SUPPORTED,
            critical: &["b64"],
            key,
            audience: Some(AUDIENCE),
            time: jose::TimeRules {
                now: NOW,
                max_age: Some(300),
                skew: 60,
            },
        };
        let _ = jose::verify(jws, &policy);
    }
}

/// A presented SD-JWT VC (`presented::parse`, `verify_issued`, `verify_holder`). Raw (first
/// byte even): the presentation as sent. Made (odd): issuer claims NUL disclosures (`~`-separated,
/// as sent) NUL key-binding claims; the issuer JWT is signed by the issuer key (its `_sd` the
/// digests of the disclosures given, unless the claims have `_sd`), the key-binding JWT by the
/// holder key (its `sd_hash` computed unless given).
pub fn presentation(data: &[u8]) {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let vct = "https://issuer.example/vct/person";
    let made;
    let presentation = if mode % 2 == 0 {
        let Some(text) = text(rest) else { return };
        text
    } else {
        let [issuer_claims, disclosures, kb_claims] = parts::<3>(rest);
        let Some(disclosures) = text(disclosures) else {
            return;
        };
        let digests: Vec<Value> = disclosures
            .split('~')
            .filter(|d| !d.is_empty())
            .map(|d| Value::String(URL_SAFE_NO_PAD.encode(Sha256::digest(d))))
            .collect();
        let issuer_jwt = SIGNER.sign_jwt(
            &json!({"typ": "dc+sd-jwt"}),
            &with_defaults(
                object(issuer_claims),
                json!({"iss": AUDIENCE, "vct": vct, "iat": NOW - 10, "_sd": digests,
                       "_sd_alg": "sha-256", "cnf": {"jwk": holder_jwk()}}),
            ),
        );
        let sd_jwt = if disclosures.is_empty() {
            format!("{issuer_jwt}~")
        } else {
            format!("{issuer_jwt}~{}~", disclosures.trim_end_matches('~'))
        };
        let sd_hash = URL_SAFE_NO_PAD.encode(Sha256::digest(&sd_jwt));
        let kb = HOLDER.sign_jwt_with(
            &json!({"typ": "kb+jwt"}),
            &with_defaults(
                object(kb_claims),
                json!({"aud": AUDIENCE, "nonce": NONCE, "iat": NOW, "sd_hash": sd_hash}),
            ),
        );
        made = format!("{sd_jwt}{kb}");
        &made
    };
    let Ok(presented) = presented::parse(presentation) else {
        return;
    };
    let _ = (presented.claimed_issuer(), presented.claimed_vct());
    let keys = [SIGNER.public_jwk().clone()];
    let issuer_rules = presented::IssuerRules {
        keys: &keys,
        vct,
        now: NOW,
        skew: 60,
    };
    let Ok(issued) = presented.verify_issued(&issuer_rules) else {
        return;
    };
    let _ = (issued.status(), issued.has_unreadable_status());
    let claims = ["given_name".to_owned(), "address.locality".to_owned()];
    let holder_rules = presented::HolderRules {
        audience: AUDIENCE,
        nonce: NONCE,
        now: NOW,
        max_age: 300,
        skew: 60,
        claims: &claims,
    };
    let _ = issued.verify_holder(&holder_rules);
}

/// The issuer's decryption key for JWEs (wallets' responses, providers' ID tokens).
static RECIPIENT: LazyLock<SecretKey> = LazyLock::new(|| jwe::session_key(&[7; 32], "fuzz"));

/// A compact JWE (`jwe::decrypt_with`, every key agreement and content encryption the issuer
/// allows). Raw (first byte even), or (odd) the rest encrypted to the issuer's key here with the
/// key agreement and content encryption the second byte picks, so that decryption and what
/// follows it are reached.
pub fn jwe_compact(data: &[u8]) {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let made;
    let compact = if mode % 2 == 0 {
        let Some(text) = text(rest) else { return };
        text
    } else {
        let Some((choice, plaintext)) = rest.split_first() else {
            return;
        };
        let alg = jwe::KEY_AGREEMENTS[usize::from(*choice) % jwe::KEY_AGREEMENTS.len()];
        let enc = jwe::CONTENT_ENCRYPTIONS[usize::from(*choice / 4) % 4];
        let Ok(compact) = jwe::encrypt_for(
            plaintext,
            &RECIPIENT.public_key(),
            alg,
            enc,
            Some("k1"),
            None,
        ) else {
            return;
        };
        made = compact;
        &made
    };
    let _ = jwe::protected_header(compact);
    let _ = jwe::decrypt_with(
        compact,
        &RECIPIENT,
        &jwe::KEY_AGREEMENTS,
        &jwe::CONTENT_ENCRYPTIONS,
    );
}

/// A claim path of a `from: login` claim (`trustc_artifact::claim_path`): parsed, then looked up
/// in a provider's claims. The bytes up to the first NUL are the path, the rest the claims (JSON).
pub fn claim_path(data: &[u8]) {
    let [path, claims] = parts::<2>(data);
    let Some(path) = text(path) else { return };
    let Ok(parsed) = trustc_artifact::claim_path::parse(path) else {
        return;
    };
    let _ = (parsed.segments(), parsed.claim());
    let mut claims = object(claims);
    claims
        .entry("address")
        .or_insert(json!({"locality": "Victoria", "lines": ["1 Main St", "Unit 2"]}));
    let _ = parsed.lookup(&claims);
}

/// The login provider the [`login`] entry point talks to.
const PROVIDER_ISSUER: &str = "https://login.example";
const CLIENT_ID: &str = "trustc-fuzz";
const REDIRECT_URI: &str = "https://issuer.example/login/callback";

/// A login provider answered in process: discovery and keys fixed, the token endpoint's and
/// userinfo's answers the fuzzer's.
struct FakeProvider {
    answers: Mutex<(Fetched, Fetched)>,
}

fn fetched(status: u16, content_type: &str, body: Vec<u8>) -> Fetched {
    Fetched {
        status,
        content_type: Some(content_type.to_owned()),
        body,
    }
}

#[async_trait]
impl Fetch for FakeProvider {
    async fn get(&self, url: &Url, accept: &str) -> Result<Fetched, FetchError> {
        self.send(&Request::get(url, accept)).await
    }

    async fn send(&self, request: &Request<'_>) -> Result<Fetched, FetchError> {
        let answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        Ok(match request.url.path() {
            "/.well-known/openid-configuration" => fetched(
                200,
                "application/json",
                json!({
                    "issuer": PROVIDER_ISSUER,
                    "authorization_endpoint": format!("{PROVIDER_ISSUER}/auth"),
                    "token_endpoint": format!("{PROVIDER_ISSUER}/token"),
                    "userinfo_endpoint": format!("{PROVIDER_ISSUER}/userinfo"),
                    "jwks_uri": format!("{PROVIDER_ISSUER}/jwks"),
                    "authorization_response_iss_parameter_supported": true,
                })
                .to_string()
                .into_bytes(),
            ),
            "/jwks" => fetched(
                200,
                "application/json",
                json!({"keys": [SIGNER.public_jwk()]})
                    .to_string()
                    .into_bytes(),
            ),
            "/token" => answers.0.clone(),
            "/userinfo" => answers.1.clone(),
            _ => fetched(404, "text/plain", Vec::new()),
        })
    }
}

/// The relying party of one login provider, answered by a [`FakeProvider`], and the runtime
/// that drives it.
struct Login {
    provider: Arc<FakeProvider>,
    providers: Providers,
    encryption: SecretKey,
    runtime: tokio::runtime::Runtime,
}

static LOGIN: LazyLock<Login> = LazyLock::new(|| {
    let provider = Arc::new(FakeProvider {
        answers: Mutex::new((
            fetched(500, "text/plain", Vec::new()),
            fetched(500, "text/plain", Vec::new()),
        )),
    });
    let config = IssuerConfig {
        format: trustc_artifact::FORMAT.into(),
        content_hash: String::new(),
        environment: Environment::Dev,
        credential_issuer: AUDIENCE.into(),
        frameworks: vec![],
        credentials: vec![],
        login_providers: vec![LoginProvider {
            id: "fuzz/idp".into(),
            framework: "fuzz".into(),
            name: [("en".to_owned(), "Fuzz IdP".to_owned())].into(),
            issuer: PROVIDER_ISSUER.into(),
            client_id: CLIENT_ID.into(),
            client_authentication: ClientAuthentication::None,
            secret: None,
            scopes: vec!["openid".into()],
        }],
    };
    let encryption = jwe::session_key(&[9; 32], "login");
    let providers = Providers::new(
        &config,
        |_| Err("no secrets".to_owned()),
        encryption.clone(),
        provider.clone(),
    )
    .expect("the fuzzing login provider");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    Login {
        provider,
        providers,
        encryption,
        runtime,
    }
});

/// A login provider's answers to the relying party (`Providers::finish`): the token endpoint's
/// ID token and userinfo, as JWS, JWE or JSON. The first byte's bits pick: the ID token raw
/// (bit 0 clear: the first part is the token as sent) or signed by the provider's key from its
/// header NUL claims (with the claims a good login has, where missing); encrypted to the login
/// key (bit 1); userinfo as `application/jwt` (bit 2, signed from its claims when bit 3) or
/// JSON; the authorization response's `iss` left out (bit 4). Parts: ID token header, ID token
/// claims, userinfo.
pub fn login(data: &[u8]) {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let login = &*LOGIN;
    let [header, claims, userinfo] = parts::<3>(rest);
    let id_token = if mode & 1 == 0 {
        String::from_utf8_lossy(claims).into_owned()
    } else {
        let mut both = header.to_vec();
        both.push(0);
        both.extend_from_slice(claims);
        signed(
            &SIGNER,
            &both,
            json!({"typ": "JWT", "kid": SIGNER.kid()}),
            json!({"iss": PROVIDER_ISSUER, "aud": CLIENT_ID, "sub": "fuzz-subject",
                   "nonce": NONCE, "iat": NOW, "exp": NOW + 300}),
        )
    };
    let id_token = if mode & 2 != 0 {
        match jwe::encrypt_for(
            id_token.as_bytes(),
            &login.encryption.public_key(),
            "ECDH-ES",
            "A128CBC-HS256",
            None,
            Some("JWT"),
        ) {
            Ok(encrypted) => encrypted,
            Err(_) => return,
        }
    } else {
        id_token
    };
    let userinfo = if mode & 4 == 0 {
        fetched(200, "application/json", userinfo.to_vec())
    } else if mode & 8 == 0 {
        fetched(200, "application/jwt", userinfo.to_vec())
    } else {
        let jwt = signed(
            &SIGNER,
            userinfo,
            json!({"kid": SIGNER.kid()}),
            json!({"iss": PROVIDER_ISSUER, "aud": CLIENT_ID, "sub": "fuzz-subject"}),
        );
        fetched(200, "application/jwt", jwt.into_bytes())
    };
    let token = fetched(
        200,
        "application/json",
        json!({"access_token": "fuzz-access", "token_type": "Bearer", "id_token": id_token})
            .to_string()
            .into_bytes(),
    );
    *login
        .provider
        .answers
        .lock()
        .unwrap_or_else(|e| e.into_inner()) = (token, userinfo);
    let callback = Callback {
        code: "fuzz-code",
        iss: (mode & 16 == 0).then_some(PROVIDER_ISSUER),
    };
    let expected = Expected {
        nonce: NONCE,
        code_verifier: "fuzz-verifier-0123456789abcdefghijklmnopqrstu",
        redirect_uri: REDIRECT_URI,
    };
    let _ = login
        .runtime
        .block_on(login.providers.finish("fuzz/idp", callback, expected, NOW));
}
