//! The relying party of a login: everything the issuer says to an OpenID Provider and believes
//! from it, so the orchestration (authorization requests, the callback, the store, the pages)
//! only calls [`Providers::start`] and [`Providers::finish`].
//!
//! - **Discovery** (`{issuer}/.well-known/openid-configuration`, string append so path issuers
//!   work): the document's `issuer` must be the governance's exactly; it is cached for
//!   [`DISCOVERY_LIFETIME`], a failure for [`RETRY_INTERVAL`]. The provider's keys (`jwks_uri`)
//!   are fetched when first needed, with the same lifetime, and again when a token names a `kid`
//!   they lack (at most every [`REFETCH_INTERVAL`]: bad tokens cannot make the issuer fetch more
//!   often).
//! - **The authorization request** ([`Providers::start`]): code flow, a random `state` and
//!   `nonce`, PKCE S256 (a 43-character verifier), `acr_values`, the OIDC `claims` parameter
//!   when the provider supports it, `login_hint`.
//! - **The callback** ([`Providers::finish`]): the RFC 9207 `iss` of the authorization response,
//!   the code exchanged at the token endpoint with the client authentication the governance
//!   names (`client_secret_basic`, `client_secret_post`, `private_key_jwt` with an ES256 client
//!   assertion, `none`), the ID token verified (signature by the provider's keys with an
//!   algorithm of [`ID_TOKEN_ALGORITHMS`], never `none` or a MAC; `iss` exact; `aud` has the
//!   client id, `azp` is it when there are several audiences; `exp`, `iat` with [`SKEW`];
//!   `nonce`; `at_hash` when present), then userinfo (JSON, a signed JWT, or either encrypted),
//!   whose `sub` must be the ID token's. ID tokens and userinfo may be encrypted (JWE, [`jwe`])
//!   to the issuer's login key, published by [`Providers::encryption_jwks`].
//!
//! Every refusal is a [`LoginError`] whose sentence is safe to show the person: it never quotes
//! a secret, a token or a claim's value (values from the provider go through [`show`]).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use p256::SecretKey;
use p256::ecdsa::signature::Signer;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256, Sha384, Sha512};
use trustc_artifact::{Assurance, ClientAuthentication, IssuerConfig, LoginProvider, SecretSource};
use url::Url;

use crate::domain::fetch::{Fetch, Fetched, Request, is_loopback};
use crate::jose::{self, KeySource, NO_TYP, Policy, TimeRules, describe, show};
use crate::jwe;
use crate::secrets::{constant_time_eq, random_token};

/// How long a provider's discovery document (and its keys) are used before they are fetched
/// again.
pub const DISCOVERY_LIFETIME: Duration = Duration::from_secs(3600);

/// The shortest time between two fetches of a provider's keys for a `kid` they lack.
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(30);

/// How long a failed discovery is remembered: logins in the meantime fail at once with the same
/// reason instead of each waiting for the provider.
pub const RETRY_INTERVAL: Duration = Duration::from_secs(5);

/// The clock skew accepted on an ID token's `iat`, `exp` and `nbf`, in seconds.
pub const SKEW: i64 = 120;

/// How long a `private_key_jwt` client assertion is valid, in seconds.
const ASSERTION_LIFETIME: i64 = 60;

/// The signature algorithms accepted on ID tokens and signed userinfo.
pub const ID_TOKEN_ALGORITHMS: [&str; 5] = ["RS256", "PS256", "ES256", "ES384", "EdDSA"];

/// The `typ` headers accepted on ID tokens and signed userinfo: none (OpenID Connect does not
/// type them) or `JWT`. An explicitly typed other token (`at+jwt`, `logout+jwt`) is refused.
const ID_TOKEN_TYPES: [&str; 3] = [NO_TYP, "JWT", "jwt"];

/// Claims of the ID token and userinfo that are about the token, not the person: left out of
/// [`LoggedIn::claims`].
pub const PROTOCOL_CLAIMS: [&str; 12] = [
    "iss", "aud", "azp", "exp", "iat", "nbf", "jti", "nonce", "at_hash", "c_hash", "s_hash", "sid",
];

const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
const JSON_ACCEPT: &str = "application/json";
const JWKS_ACCEPT: &str = "application/jwk-set+json, application/json;q=0.9";
const USERINFO_ACCEPT: &str = "application/json, application/jwt;q=0.9";
const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

// -------------------------------------------------------------------------------------------
// The API
// -------------------------------------------------------------------------------------------

/// What the orchestration asks of [`Providers::start`].
#[derive(Debug, Clone, Copy)]
pub struct StartLogin<'a> {
    /// Where the provider sends the person back (`<public url>/login/callback`), exactly as
    /// registered with the provider.
    pub redirect_uri: &'a str,
    /// Scopes beyond the provider's (the governance's `scopes`, `openid` always first).
    pub extra_scopes: &'a [String],
    /// Sent as `acr_values` when not empty.
    pub acr_values: &'a [String],
    /// The OpenID Connect `claims` request parameter; sent only when the provider's discovery
    /// says `claims_parameter_supported`.
    pub claims: Option<&'a Value>,
    pub login_hint: Option<&'a str>,
}

/// Where to send the person, and what to keep (server side) until the callback.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginStart {
    /// The provider's authorization endpoint with the request in its query.
    pub authorization_url: String,
    /// The `state` the callback must bring back.
    pub state: String,
    /// The `nonce` the ID token must carry.
    pub nonce: String,
    /// The PKCE verifier (43 characters) the token request sends.
    pub code_verifier: String,
}

/// The secrets are not shown.
impl fmt::Debug for LoginStart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginStart")
            .field("authorization_url", &"(hidden: it carries the state)")
            .finish_non_exhaustive()
    }
}

/// The authorization response's parameters, as the callback received them.
#[derive(Debug, Clone, Copy)]
pub struct Callback<'a> {
    pub code: &'a str,
    /// The RFC 9207 `iss` parameter, when the response had one.
    pub iss: Option<&'a str>,
}

/// What [`Providers::start`] gave for this login (kept by the orchestration).
#[derive(Clone, Copy)]
pub struct Expected<'a> {
    pub nonce: &'a str,
    pub code_verifier: &'a str,
    pub redirect_uri: &'a str,
}

impl fmt::Debug for Expected<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Expected")
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

/// A login the provider vouched for.
#[derive(Clone, PartialEq)]
pub struct LoggedIn {
    /// The ID token's `sub`: who logged in, at this provider.
    pub subject: String,
    /// The ID token's `acr`, when it has one.
    pub acr: Option<String>,
    /// The claims about the person: the ID token's, then those only userinfo has (where both
    /// have a claim, the ID token's value is kept: it is the one bound to this login by its
    /// `nonce`). `sub`, `acr`, `amr` and `auth_time` are kept; the claims about the token
    /// ([`PROTOCOL_CLAIMS`]: `iss`, `aud`, `exp`, `nonce`, …) are left out.
    pub claims: Map<String, Value>,
}

/// Claim values are personal: only their names are shown.
impl fmt::Debug for LoggedIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoggedIn")
            .field("acr", &self.acr)
            .field("claims", &self.claims.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Why a login did not succeed. `Display` is one sentence, safe to show the person: no secret,
/// token or claim value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginError {
    /// The provider could not be reached, did not answer in time, or answered with a server
    /// error: trying again later may work.
    Unreachable { provider: String, reason: String },
    /// The provider refused: an error at its token or userinfo endpoint (the code was already
    /// used, has expired, the PKCE verifier does not match, …).
    Refused { provider: String, reason: String },
    /// What the provider sent cannot be believed: the ID token's signature, issuer, audience,
    /// lifetime or nonce, the authorization response's `iss`, userinfo for another subject, ….
    Invalid { provider: String, reason: String },
    /// The issuer's settings for the provider do not work with it (unknown provider, discovery
    /// for another issuer, a client the provider does not know, …): the operator must act.
    Configuration { provider: String, reason: String },
}

impl LoginError {
    /// The provider's qualified id.
    pub fn provider(&self) -> &str {
        match self {
            LoginError::Unreachable { provider, .. }
            | LoginError::Refused { provider, .. }
            | LoginError::Invalid { provider, .. }
            | LoginError::Configuration { provider, .. } => provider,
        }
    }

    /// The reason alone, without the provider.
    pub fn reason(&self) -> &str {
        match self {
            LoginError::Unreachable { reason, .. }
            | LoginError::Refused { reason, .. }
            | LoginError::Invalid { reason, .. }
            | LoginError::Configuration { reason, .. } => reason,
        }
    }

    /// Whether trying again later may work (the provider was unreachable or slow).
    pub fn is_retryable(&self) -> bool {
        matches!(self, LoginError::Unreachable { .. })
    }
}

impl fmt::Display for LoginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoginError::Unreachable { provider, reason } => write!(
                f,
                "the login provider `{provider}` could not be reached: {reason}"
            ),
            LoginError::Refused { provider, reason } => {
                write!(
                    f,
                    "the login provider `{provider}` refused the login: {reason}"
                )
            }
            LoginError::Invalid { provider, reason } => write!(
                f,
                "the login provider `{provider}` sent what cannot be accepted: {reason}"
            ),
            LoginError::Configuration { provider, reason } => write!(
                f,
                "the login provider `{provider}` is not set up correctly: {reason}"
            ),
        }
    }
}

impl std::error::Error for LoginError {}

/// The refusal for an authorization response that carries an OAuth `error` instead of a code
/// (RFC 6749 §4.1.2.1, OpenID Connect Core §3.1.2.6): the person declined or could not sign in
/// (`access_denied`, `login_required`, … and any error not named below) is
/// [`LoginError::Refused`]; `temporarily_unavailable` and `server_error` are
/// [`LoginError::Unreachable`]; an error about the request itself (`invalid_request`,
/// `unauthorized_client`, `invalid_scope`, `unsupported_response_type`,
/// `request_not_supported`, …) is [`LoginError::Configuration`]. The provider's words are quoted
/// through [`show`].
pub fn authorization_error(provider: &str, error: &str, description: Option<&str>) -> LoginError {
    let provider = provider.to_owned();
    let said = match description {
        Some(description) if !description.is_empty() => {
            format!("`{}` ({})", show(error), show(description))
        }
        _ => format!("`{}`", show(error)),
    };
    match error {
        "temporarily_unavailable" | "server_error" => LoginError::Unreachable {
            provider,
            reason: format!("it answered the authorization request with {said}"),
        },
        "invalid_request"
        | "unauthorized_client"
        | "invalid_scope"
        | "unsupported_response_type"
        | "invalid_request_uri"
        | "invalid_request_object"
        | "request_not_supported"
        | "request_uri_not_supported"
        | "registration_not_supported" => LoginError::Configuration {
            provider,
            reason: format!("it refused the authorization request: {said}"),
        },
        _ => LoginError::Refused {
            provider,
            reason: format!("it answered the authorization request with {said}"),
        },
    }
}

/// Reads a secret where the governance says it is: an environment variable, or a file (its
/// whole content, one trailing newline removed). The error names the variable or the file, never
/// the value. An empty secret is an error, and so is a file its group or others may read
/// ([`crate::secrets::check_owner_only`]).
pub fn read_secret(source: &SecretSource) -> Result<String, String> {
    let (value, what) = match source {
        SecretSource::Env(name) => (
            std::env::var(name).map_err(|e| match e {
                std::env::VarError::NotPresent => {
                    format!("the environment variable `{name}` is not set")
                }
                std::env::VarError::NotUnicode(_) => {
                    format!("the environment variable `{name}` is not valid UTF-8")
                }
            })?,
            format!("the environment variable `{name}`"),
        ),
        SecretSource::File(path) => (
            crate::secrets::check_owner_only(std::path::Path::new(path), "the file").and_then(
                |()| {
                    std::fs::read_to_string(path)
                        .map_err(|e| format!("the file `{path}` could not be read: {e}"))
                },
            )?,
            format!("the file `{path}`"),
        ),
    };
    let value = value
        .strip_suffix("\r\n")
        .or_else(|| value.strip_suffix('\n'))
        .unwrap_or(&value)
        .to_owned();
    if value.is_empty() {
        return Err(format!("{what} is empty"));
    }
    Ok(value)
}

/// Whether `assurance` is met by `logged_in`: its `acr` is one of `assurance.acr` (when any is
/// named), and the claim `assurance.claim` names equals one of its values (a number and its
/// decimal string are equal). The error says which part is not met, without the claim's value.
pub fn assurance_met(assurance: &Assurance, logged_in: &LoggedIn) -> Result<(), String> {
    if !assurance.acr.is_empty() {
        let accepted = assurance
            .acr
            .iter()
            .map(|a| format!("`{}`", show(a)))
            .collect::<Vec<_>>()
            .join(", ");
        match &logged_in.acr {
            None => {
                return Err(format!(
                    "the provider did not say how the person signed in (no `acr`); one of \
                     {accepted} is required"
                ));
            }
            Some(acr) if !assurance.acr.contains(acr) => {
                return Err(format!(
                    "the login's assurance (`acr`) is `{}`; one of {accepted} is required",
                    show(acr)
                ));
            }
            Some(_) => {}
        }
    }
    if let Some(rule) = &assurance.claim {
        let accepted = rule
            .values
            .iter()
            .map(|v| match v {
                Value::String(text) => format!("`{}`", show(text)),
                other => show(&other.to_string()),
            })
            .collect::<Vec<_>>()
            .join(", ");
        match login_claim(&logged_in.claims, &rule.claim) {
            None => {
                return Err(format!(
                    "the login has no claim `{}`, which must be one of {accepted}",
                    show(&rule.claim)
                ));
            }
            Some(value) if !rule.values.iter().any(|v| same_value(v, value)) => {
                return Err(format!(
                    "the login's claim `{}` is not one of {accepted}",
                    show(&rule.claim)
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// The login claim `claim` names: a top-level claim by its name, or a nested one by a `$` path
/// (`trustc_artifact::claim_path`; a path that does not parse names nothing: the compiler
/// refuses it).
pub fn login_claim<'c>(claims: &'c Map<String, Value>, claim: &str) -> Option<&'c Value> {
    trustc_artifact::claim_path::parse(claim)
        .ok()?
        .lookup(claims)
}

/// JSON equality, with a number and a string holding its decimal notation taken as equal
/// (`3` and `"3"`, `2.5` and `"2.5"`).
fn same_value(a: &Value, b: &Value) -> bool {
    let numbers_equal = |x: &serde_json::Number, y: &serde_json::Number| match (
        x.as_i64(),
        y.as_i64(),
        x.as_u64(),
        y.as_u64(),
    ) {
        (Some(i), Some(j), _, _) => i == j,
        (_, _, Some(i), Some(j)) => i == j,
        _ => x.as_f64() == y.as_f64(),
    };
    match (a, b) {
        (Value::Number(n), Value::String(s)) | (Value::String(s), Value::Number(n)) => {
            is_decimal(s)
                && serde_json::from_str::<serde_json::Number>(s).is_ok_and(|m| numbers_equal(n, &m))
        }
        (Value::Number(x), Value::Number(y)) => numbers_equal(x, y),
        _ => a == b,
    }
}

/// `-?digits(.digits)?`: a plain decimal notation.
fn is_decimal(s: &str) -> bool {
    let unsigned = s.strip_prefix('-').unwrap_or(s);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, "0"));
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && digits(fraction)
}

// -------------------------------------------------------------------------------------------
// Providers
// -------------------------------------------------------------------------------------------

/// Every login provider of the compiled configuration, with its client credential (read at
/// start), its discovery and keys (fetched and cached), and the issuer's login encryption key.
/// Shared by every request (`Send + Sync`).
pub struct Providers {
    fetch: Arc<dyn Fetch>,
    providers: BTreeMap<String, Provider>,
    encryption_key: SecretKey,
    encryption_kid: String,
    discovery_lifetime: Duration,
    refetch_interval: Duration,
}

impl fmt::Debug for Providers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Providers")
            .field("providers", &self.providers.keys().collect::<Vec<_>>())
            .field("encryption_kid", &self.encryption_kid)
            .finish_non_exhaustive()
    }
}

/// One provider: its settings, how the issuer authenticates to it, what was discovered.
struct Provider {
    settings: LoginProvider,
    credential: Credential,
    /// The discovery (and keys) cache; locked while fetching, so one fetch is under way at a time
    /// and the other logins wait for its outcome.
    cache: tokio::sync::Mutex<Option<Cached>>,
}

/// The client credential at the token endpoint.
enum Credential {
    Secret(String),
    PrivateKey { key: SecretKey, kid: String },
    None,
}

/// A discovery outcome and when it was had.
enum Cached {
    Found(Arc<Discovered>),
    Failed { error: LoginError, at: Instant },
}

/// A provider's discovery document, as used, and its keys once fetched.
struct Discovered {
    metadata: Metadata,
    fetched_at: Instant,
    keys: Option<Keys>,
}

#[derive(Clone)]
struct Keys {
    set: Arc<Vec<Value>>,
    fetched_at: Instant,
}

/// The members of a discovery document the relying party uses.
#[derive(Debug, Clone)]
struct Metadata {
    authorization_endpoint: Url,
    token_endpoint: Url,
    userinfo_endpoint: Option<Url>,
    jwks_uri: Url,
    iss_parameter_supported: bool,
    claims_parameter_supported: bool,
}

impl Providers {
    /// The providers of `config`, each with its client credential read through `secrets` (a
    /// client secret for `client_secret_*`, a PEM P-256 private key for `private_key_jwt`;
    /// [`read_secret`] reads the environment and files), the login encryption key
    /// `encryption_key` (derived from the issuer key), fetching through `fetch`.
    ///
    /// Nothing is fetched yet. Fails, naming the provider, on an issuer that is not https (or
    /// http to loopback), a secret that cannot be read (the error of `secrets` says which
    /// variable or file), a missing secret source, or a private key that is not P-256.
    pub fn new(
        config: &IssuerConfig,
        secrets: impl Fn(&SecretSource) -> Result<String, String>,
        encryption_key: SecretKey,
        fetch: Arc<dyn Fetch>,
    ) -> Result<Providers, String> {
        let mut providers = BTreeMap::new();
        for settings in &config.login_providers {
            let id = &settings.id;
            let issuer = Url::parse(&settings.issuer).map_err(|e| {
                format!(
                    "login provider `{id}`: the issuer `{}` is not a URL ({e})",
                    settings.issuer
                )
            })?;
            if issuer.scheme() != "https" && !(issuer.scheme() == "http" && is_loopback(&issuer)) {
                return Err(format!(
                    "login provider `{id}`: the issuer `{}` must be an https URL (http only to a \
                     loopback address, for development)",
                    settings.issuer
                ));
            }
            let method = method_name(settings.client_authentication);
            let read = || -> Result<String, String> {
                let source = settings.secret.as_ref().ok_or_else(|| {
                    format!(
                        "login provider `{id}`: `{method}` needs a secret, and none is configured"
                    )
                })?;
                secrets(source).map_err(|e| format!("login provider `{id}`: {e}"))
            };
            let credential = match settings.client_authentication {
                ClientAuthentication::ClientSecretBasic
                | ClientAuthentication::ClientSecretPost => Credential::Secret(read()?),
                ClientAuthentication::PrivateKeyJwt => {
                    let pem = read()?;
                    let key = private_key(&pem).ok_or_else(|| {
                        format!(
                            "login provider `{id}`: the private key for `private_key_jwt` is not \
                             a PEM P-256 key (PKCS #8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY`)"
                        )
                    })?;
                    let kid = thumbprint(&key);
                    Credential::PrivateKey { key, kid }
                }
                ClientAuthentication::None => Credential::None,
            };
            providers.insert(
                id.clone(),
                Provider {
                    settings: settings.clone(),
                    credential,
                    cache: tokio::sync::Mutex::new(None),
                },
            );
        }
        let encryption_kid = thumbprint(&encryption_key);
        Ok(Providers {
            fetch,
            providers,
            encryption_key,
            encryption_kid,
            discovery_lifetime: DISCOVERY_LIFETIME,
            refetch_interval: REFETCH_INTERVAL,
        })
    }

    /// The same providers with other cache times: how long discovery and keys are used, and the
    /// shortest time between two fetches of keys for an unknown `kid`.
    pub fn with_cache_times(mut self, discovery_lifetime: Duration, refetch: Duration) -> Self {
        self.discovery_lifetime = discovery_lifetime;
        self.refetch_interval = refetch;
        self
    }

    /// The public JWK Set of the issuer as a client, for `GET /login/jwks` (the `jwks_uri` a
    /// provider registers for this client, or the `jwks` copied into its registration):
    ///
    /// - the login encryption key, once per key agreement it decrypts (`ECDH-ES`,
    ///   `ECDH-ES+A128KW`, `ECDH-ES+A256KW`), each with `use: enc`, its `alg` and a `kid` (the
    ///   key's RFC 7638 thumbprint, then `.` and the algorithm but for `ECDH-ES`);
    /// - the public key of each `private_key_jwt` provider's client key, `use: sig`, `alg: ES256`,
    ///   `kid` its thumbprint (the `kid` of the client assertions it signs).
    pub fn encryption_jwks(&self) -> Value {
        let mut keys: Vec<Value> = jwe::KEY_AGREEMENTS
            .iter()
            .map(|alg| {
                let kid = match *alg {
                    jwe::ALG => self.encryption_kid.clone(),
                    alg => format!("{}.{alg}", self.encryption_kid),
                };
                let mut jwk = jwe::public_jwk(&self.encryption_key, &kid);
                jwk["alg"] = json!(alg);
                jwk
            })
            .collect();
        for provider in self.providers.values() {
            if let Credential::PrivateKey { key, kid } = &provider.credential
                && !keys.iter().any(|k| k["kid"] == json!(kid))
            {
                let mut jwk = jwe::public_jwk(key, kid);
                jwk["use"] = json!("sig");
                jwk["alg"] = json!("ES256");
                keys.push(jwk);
            }
        }
        json!({ "keys": keys })
    }

    /// The providers' qualified ids.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.providers.keys().map(String::as_str)
    }

    /// Fetches (or takes from the cache) `provider`'s discovery document: for a check at start
    /// or a health page. Logins do it themselves.
    pub async fn discover(&self, provider: &str) -> Result<(), LoginError> {
        let provider = self.provider(provider)?;
        self.discovered(provider).await.map(|_| ())
    }

    /// Starts a login at `provider`: the authorization URL to send the person to, and the
    /// `state`, `nonce` and PKCE verifier to keep for [`Providers::finish`].
    pub async fn start(
        &self,
        provider: &str,
        request: StartLogin<'_>,
    ) -> Result<LoginStart, LoginError> {
        let provider = self.provider(provider)?;
        let discovered = self.discovered(provider).await?;
        let metadata = &discovered.metadata;
        let (state, nonce, code_verifier) = (random_token(), random_token(), random_token());
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(code_verifier.as_bytes()));

        let mut scopes: Vec<&str> = vec!["openid"];
        for scope in provider.settings.scopes.iter().chain(request.extra_scopes) {
            for scope in scope.split_whitespace() {
                if !scopes.contains(&scope) {
                    scopes.push(scope);
                }
            }
        }
        let mut url = metadata.authorization_endpoint.clone();
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &provider.settings.client_id)
                .append_pair("redirect_uri", request.redirect_uri)
                .append_pair("scope", &scopes.join(" "))
                .append_pair("state", &state)
                .append_pair("nonce", &nonce)
                .append_pair("code_challenge", &challenge)
                .append_pair("code_challenge_method", "S256");
            if !request.acr_values.is_empty() {
                query.append_pair("acr_values", &request.acr_values.join(" "));
            }
            if let Some(claims) = request.claims
                && metadata.claims_parameter_supported
            {
                query.append_pair("claims", &claims.to_string());
            }
            if let Some(hint) = request.login_hint {
                query.append_pair("login_hint", hint);
            }
        }
        Ok(LoginStart {
            authorization_url: url.into(),
            state,
            nonce,
            code_verifier,
        })
    }

    /// Finishes a login at `provider` from the authorization response `callback` (whose `state`
    /// the caller has already matched to this login): checks its `iss`, exchanges the code,
    /// verifies the ID token against `expected` at `now` (Unix seconds), reads userinfo when the
    /// provider has it, and returns who logged in with their claims.
    pub async fn finish(
        &self,
        provider: &str,
        callback: Callback<'_>,
        expected: Expected<'_>,
        now: i64,
    ) -> Result<LoggedIn, LoginError> {
        let provider = self.provider(provider)?;
        let id = provider.settings.id.as_str();
        let discovered = self.discovered(provider).await?;
        let metadata = &discovered.metadata;
        let invalid = |reason: String| LoginError::Invalid {
            provider: id.to_owned(),
            reason,
        };

        // RFC 9207: who answered the authorization request.
        match callback.iss {
            Some(iss) if iss != provider.settings.issuer => {
                return Err(invalid(format!(
                    "the authorization response names the issuer `{}`, not `{}` (a response from \
                     another provider is not accepted)",
                    show(iss),
                    show(&provider.settings.issuer)
                )));
            }
            None if metadata.iss_parameter_supported => {
                return Err(invalid(
                    "the authorization response has no `iss`, which this provider always sends"
                        .to_owned(),
                ));
            }
            _ => {}
        }
        if callback.code.is_empty() {
            return Err(invalid("the authorization response has no code".to_owned()));
        }

        let tokens = self
            .exchange(provider, metadata, callback.code, &expected, now)
            .await?;
        let id_token = self
            .id_token(provider, &discovered, &tokens, &expected, now)
            .await?;
        let subject = match id_token.get("sub") {
            Some(Value::String(sub)) if !sub.is_empty() => sub.clone(),
            _ => return Err(invalid("the ID token has no `sub` string".to_owned())),
        };
        let acr = match id_token.get("acr") {
            None | Some(Value::Null) => None,
            Some(Value::String(acr)) => Some(acr.clone()),
            Some(other) => {
                return Err(invalid(format!(
                    "the ID token's `acr` is {}, not a string",
                    kind(other)
                )));
            }
        };
        let mut claims = id_token;
        claims.retain(|name, _| !PROTOCOL_CLAIMS.contains(&name.as_str()));
        if let Some(endpoint) = &metadata.userinfo_endpoint {
            let userinfo = self
                .userinfo(provider, &discovered, endpoint, &tokens, now)
                .await?;
            if userinfo.get("sub").and_then(Value::as_str) != Some(subject.as_str()) {
                return Err(invalid(
                    "userinfo is about another subject (`sub`) than the ID token".to_owned(),
                ));
            }
            for (name, value) in userinfo {
                if !PROTOCOL_CLAIMS.contains(&name.as_str()) && !claims.contains_key(&name) {
                    claims.insert(name, value);
                }
            }
        }
        Ok(LoggedIn {
            subject,
            acr,
            claims,
        })
    }

    // --- discovery and keys ---

    fn provider(&self, id: &str) -> Result<&Provider, LoginError> {
        self.providers
            .get(id)
            .ok_or_else(|| LoginError::Configuration {
                provider: id.to_owned(),
                reason: "the issuer's configuration names no such login provider".to_owned(),
            })
    }

    /// The provider's discovery, from the cache or fetched.
    async fn discovered(&self, provider: &Provider) -> Result<Arc<Discovered>, LoginError> {
        let mut cache = provider.cache.lock().await;
        match &*cache {
            Some(Cached::Found(found)) if found.fetched_at.elapsed() < self.discovery_lifetime => {
                return Ok(found.clone());
            }
            Some(Cached::Failed { error, at }) if at.elapsed() < RETRY_INTERVAL => {
                return Err(error.clone());
            }
            _ => {}
        }
        match self.fetch_metadata(provider).await {
            Ok(metadata) => {
                let found = Arc::new(Discovered {
                    metadata,
                    fetched_at: Instant::now(),
                    keys: None,
                });
                *cache = Some(Cached::Found(found.clone()));
                Ok(found)
            }
            Err(error) => {
                *cache = Some(Cached::Failed {
                    error: error.clone(),
                    at: Instant::now(),
                });
                Err(error)
            }
        }
    }

    /// The provider's keys for a token whose header names `kid` (or none): the cached ones, or
    /// fetched when there are none yet, or when they lack `kid` and were fetched at least
    /// [`Providers::with_cache_times`]'s refetch interval ago.
    async fn keys(
        &self,
        provider: &Provider,
        discovered: &Discovered,
        kid: Option<&str>,
    ) -> Result<Arc<Vec<Value>>, LoginError> {
        let mut cache = provider.cache.lock().await;
        // The cache may hold a newer discovery than the caller's; keys go with the newest.
        let current = match &*cache {
            Some(Cached::Found(found)) => found.clone(),
            _ => Arc::new(Discovered {
                metadata: discovered.metadata.clone(),
                fetched_at: discovered.fetched_at,
                keys: discovered.keys.clone(),
            }),
        };
        if let Some(keys) = &current.keys {
            let known = kid.is_none_or(|kid| {
                keys.set
                    .iter()
                    .any(|k| k.get("kid").and_then(Value::as_str) == Some(kid))
            });
            if known || keys.fetched_at.elapsed() < self.refetch_interval {
                return Ok(keys.set.clone());
            }
        }
        let set = Arc::new(self.fetch_keys(provider, &current.metadata).await?);
        *cache = Some(Cached::Found(Arc::new(Discovered {
            metadata: current.metadata.clone(),
            fetched_at: current.fetched_at,
            keys: Some(Keys {
                set: set.clone(),
                fetched_at: Instant::now(),
            }),
        })));
        Ok(set)
    }

    async fn fetch_metadata(&self, provider: &Provider) -> Result<Metadata, LoginError> {
        let id = provider.settings.id.as_str();
        let issuer = provider.settings.issuer.as_str();
        let configuration = |reason: String| LoginError::Configuration {
            provider: id.to_owned(),
            reason,
        };
        // A string append, not a URL join: a path issuer keeps its path (OpenID Connect
        // Discovery §4).
        let address = format!("{}{DISCOVERY_PATH}", issuer.trim_end_matches('/'));
        let url = Url::parse(&address)
            .map_err(|e| configuration(format!("`{address}` is not a URL ({e})")))?;
        let document = self
            .get_json(id, &url, JSON_ACCEPT, "discovery document")
            .await?;
        match document.get("issuer") {
            Some(Value::String(named)) if named == issuer => {}
            other => {
                return Err(configuration(format!(
                    "the discovery document at {url} names the issuer {}, not `{}`: the \
                     governance must spell the issuer exactly as the provider does",
                    other.map_or_else(|| "nothing".to_owned(), describe),
                    show(issuer)
                )));
            }
        }
        let endpoint = |name: &str| -> Result<Option<Url>, LoginError> {
            match document.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(text)) => {
                    let url = Url::parse(text).map_err(|_| {
                        configuration(format!(
                            "the discovery document's `{name}` `{}` is not a URL",
                            show(text)
                        ))
                    })?;
                    if url.scheme() == "https" || (url.scheme() == "http" && is_loopback(&url)) {
                        Ok(Some(url))
                    } else {
                        Err(configuration(format!(
                            "the discovery document's `{name}` `{}` is not an https URL",
                            show(text)
                        )))
                    }
                }
                Some(other) => Err(configuration(format!(
                    "the discovery document's `{name}` is {}, not a URL",
                    kind(other)
                ))),
            }
        };
        let required = |name: &str| -> Result<Url, LoginError> {
            endpoint(name)?
                .ok_or_else(|| configuration(format!("the discovery document has no `{name}`")))
        };
        let flag = |name: &str| document.get(name).and_then(Value::as_bool) == Some(true);
        Ok(Metadata {
            authorization_endpoint: required("authorization_endpoint")?,
            token_endpoint: required("token_endpoint")?,
            userinfo_endpoint: endpoint("userinfo_endpoint")?,
            jwks_uri: required("jwks_uri")?,
            iss_parameter_supported: flag("authorization_response_iss_parameter_supported"),
            claims_parameter_supported: flag("claims_parameter_supported"),
        })
    }

    async fn fetch_keys(
        &self,
        provider: &Provider,
        metadata: &Metadata,
    ) -> Result<Vec<Value>, LoginError> {
        let id = provider.settings.id.as_str();
        let url = &metadata.jwks_uri;
        let document = self.get_json(id, url, JWKS_ACCEPT, "key set").await?;
        match document.get("keys") {
            Some(Value::Array(keys)) => Ok(keys.clone()),
            _ => Err(LoginError::Configuration {
                provider: id.to_owned(),
                reason: format!("the key set at {url} has no `keys` array"),
            }),
        }
    }

    /// GETs a JSON object: a server error or no answer is [`LoginError::Unreachable`], any other
    /// status than 200 or a body that is not a JSON object a [`LoginError::Configuration`].
    async fn get_json(
        &self,
        id: &str,
        url: &Url,
        accept: &str,
        what: &str,
    ) -> Result<Map<String, Value>, LoginError> {
        let fetched = self
            .fetch
            .get(url, accept)
            .await
            .map_err(|e| LoginError::Unreachable {
                provider: id.to_owned(),
                reason: e.0,
            })?;
        if retry_later(fetched.status) {
            return Err(LoginError::Unreachable {
                provider: id.to_owned(),
                reason: format!("{url} answered HTTP {}", fetched.status),
            });
        }
        let configuration = |reason: String| LoginError::Configuration {
            provider: id.to_owned(),
            reason,
        };
        if fetched.status != 200 {
            return Err(configuration(format!(
                "{url} answered HTTP {}, not 200, when asked for the provider's {what}",
                fetched.status
            )));
        }
        json_object(&fetched.body)
            .map_err(|reason| configuration(format!("the {what} at {url} is unusable: {reason}")))
    }

    // --- the token endpoint ---

    /// Exchanges the code at the token endpoint.
    async fn exchange(
        &self,
        provider: &Provider,
        metadata: &Metadata,
        code: &str,
        expected: &Expected<'_>,
        now: i64,
    ) -> Result<Tokens, LoginError> {
        let id = provider.settings.id.as_str();
        let client_id = provider.settings.client_id.as_str();
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", expected.redirect_uri),
            ("code_verifier", expected.code_verifier),
        ];
        let basic;
        let assertion;
        let mut authorization = None;
        match (
            &provider.credential,
            provider.settings.client_authentication,
        ) {
            (Credential::Secret(secret), ClientAuthentication::ClientSecretBasic) => {
                // RFC 6749 §2.3.1: each form-urlencoded, then `id:secret` in base64.
                basic = format!(
                    "Basic {}",
                    STANDARD.encode(format!(
                        "{}:{}",
                        form_encode(client_id),
                        form_encode(secret)
                    ))
                );
                authorization = Some(basic.as_str());
            }
            (Credential::Secret(secret), _) => {
                form.push(("client_id", client_id));
                form.push(("client_secret", secret));
            }
            (Credential::PrivateKey { key, kid }, _) => {
                assertion = client_assertion(key, kid, client_id, &provider.settings.issuer, now);
                form.push(("client_id", client_id));
                form.push(("client_assertion_type", CLIENT_ASSERTION_TYPE));
                form.push(("client_assertion", &assertion));
            }
            (Credential::None, _) => form.push(("client_id", client_id)),
        }
        let request = Request {
            url: &metadata.token_endpoint,
            accept: JSON_ACCEPT,
            form: Some(&form),
            authorization,
        };
        let fetched = self.send(id, &request).await?;
        let url = &metadata.token_endpoint;
        if fetched.status != 200 {
            return Err(endpoint_error(id, "token endpoint", url, &fetched));
        }
        let invalid = |reason: String| LoginError::Invalid {
            provider: id.to_owned(),
            reason,
        };
        let body = json_object(&fetched.body)
            .map_err(|reason| invalid(format!("the token response is unusable: {reason}")))?;
        let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
        let Some(id_token) = text("id_token") else {
            return Err(invalid(
                "the token response has no ID token (is `openid` among the scopes the provider \
                 granted?)"
                    .to_owned(),
            ));
        };
        let access_token = text("access_token");
        let bearer = text("token_type").is_some_and(|t| t.eq_ignore_ascii_case("bearer"));
        Ok(Tokens {
            id_token,
            access_token: access_token.filter(|_| bearer),
        })
    }

    /// Sends `request`; no answer is [`LoginError::Unreachable`].
    async fn send(&self, id: &str, request: &Request<'_>) -> Result<Fetched, LoginError> {
        self.fetch
            .send(request)
            .await
            .map_err(|e| LoginError::Unreachable {
                provider: id.to_owned(),
                reason: e.0,
            })
    }

    // --- the ID token and userinfo ---

    /// The ID token's claims, decrypted if need be and verified.
    async fn id_token(
        &self,
        provider: &Provider,
        discovered: &Discovered,
        tokens: &Tokens,
        expected: &Expected<'_>,
        now: i64,
    ) -> Result<Map<String, Value>, LoginError> {
        let id = provider.settings.id.as_str();
        let invalid = |reason: String| LoginError::Invalid {
            provider: id.to_owned(),
            reason,
        };
        let client_id = provider.settings.client_id.as_str();
        let jws = self.decrypt_if_encrypted(id, &tokens.id_token, "ID token")?;
        let verified = self
            .verify_signed((provider, discovered), (&jws, "ID token"), true, now)
            .await?;
        let claims = verified.claims;

        match claims.get("iss") {
            Some(Value::String(iss)) if *iss == provider.settings.issuer => {}
            other => {
                return Err(invalid(format!(
                    "the ID token's issuer (`iss`) is {}, not `{}`",
                    other.map_or_else(|| "missing".to_owned(), describe),
                    show(&provider.settings.issuer)
                )));
            }
        }
        // Several audiences: the client must be the authorized party (OpenID Connect Core
        // §3.1.3.7); `azp`, whenever present, must be the client.
        let several = claims
            .get("aud")
            .and_then(Value::as_array)
            .is_some_and(|a| a.len() > 1);
        match claims.get("azp") {
            Some(Value::String(azp)) if azp == client_id => {}
            None if !several => {}
            None => {
                return Err(invalid(
                    "the ID token has several audiences and no `azp` naming this client".to_owned(),
                ));
            }
            Some(other) => {
                return Err(invalid(format!(
                    "the ID token's authorized party (`azp`) is {}, not this client `{}`",
                    describe(other),
                    show(client_id)
                )));
            }
        }
        if !claims.contains_key("exp") {
            return Err(invalid("the ID token has no expiry (`exp`)".to_owned()));
        }
        match claims.get("nonce") {
            Some(Value::String(nonce)) if constant_time_eq(nonce, expected.nonce) => {}
            Some(_) => {
                return Err(invalid(
                    "the ID token's nonce is not the one of this login".to_owned(),
                ));
            }
            None => return Err(invalid("the ID token has no nonce".to_owned())),
        }
        if let Some(at_hash) = claims.get("at_hash") {
            let Some(access_token) = &tokens.access_token else {
                return Err(invalid(
                    "the ID token has an `at_hash` but no bearer access token came with it"
                        .to_owned(),
                ));
            };
            let expected_hash = token_hash(verified.alg, access_token);
            if at_hash
                .as_str()
                .is_none_or(|h| !constant_time_eq(h, &expected_hash))
            {
                return Err(invalid(
                    "the ID token's `at_hash` does not match the access token".to_owned(),
                ));
            }
        }
        Ok(claims)
    }

    /// Userinfo's claims: JSON, or a JWT (signed, encrypted, or both) checked like the ID token's
    /// signature, issuer and audience.
    async fn userinfo(
        &self,
        provider: &Provider,
        discovered: &Discovered,
        endpoint: &Url,
        tokens: &Tokens,
        now: i64,
    ) -> Result<Map<String, Value>, LoginError> {
        let id = provider.settings.id.as_str();
        let invalid = |reason: String| LoginError::Invalid {
            provider: id.to_owned(),
            reason,
        };
        let Some(access_token) = &tokens.access_token else {
            return Err(invalid(
                "the token response has no bearer access token to ask for userinfo".to_owned(),
            ));
        };
        let authorization = format!("Bearer {access_token}");
        let request = Request {
            url: endpoint,
            accept: USERINFO_ACCEPT,
            form: None,
            authorization: Some(&authorization),
        };
        let fetched = self.send(id, &request).await?;
        if fetched.status != 200 {
            return Err(endpoint_error(id, "userinfo endpoint", endpoint, &fetched));
        }
        let media_type = fetched
            .content_type
            .as_deref()
            .and_then(|t| t.split(';').next())
            .map(|t| t.trim().to_ascii_lowercase());
        if media_type.as_deref() != Some("application/jwt") {
            return json_object(&fetched.body)
                .map_err(|reason| invalid(format!("userinfo is unusable: {reason}")));
        }
        let text = std::str::from_utf8(&fetched.body)
            .map_err(|_| invalid("the userinfo JWT is not text".to_owned()))?
            .trim();
        let encrypted = text.split('.').count() == 5;
        let inner = self.decrypt_if_encrypted(id, text, "userinfo")?;
        if encrypted && inner.split('.').count() != 3 {
            // Encrypted only: the plaintext is the claims.
            return json_object(inner.as_bytes()).map_err(|reason| {
                invalid(format!("the decrypted userinfo is unusable: {reason}"))
            });
        }
        let verified = self
            .verify_signed((provider, discovered), (&inner, "userinfo"), false, now)
            .await?;
        match verified.claims.get("iss") {
            Some(Value::String(iss)) if *iss == provider.settings.issuer => {}
            other => {
                return Err(invalid(format!(
                    "the signed userinfo's issuer (`iss`) is {}, not `{}`",
                    other.map_or_else(|| "missing".to_owned(), describe),
                    show(&provider.settings.issuer)
                )));
            }
        }
        Ok(verified.claims)
    }

    /// `token` decrypted when it is a JWE (five parts), as is otherwise.
    fn decrypt_if_encrypted(
        &self,
        id: &str,
        token: &str,
        what: &str,
    ) -> Result<String, LoginError> {
        if token.split('.').count() != 5 {
            return Ok(token.to_owned());
        }
        let decrypted = jwe::decrypt_with(
            token,
            &self.encryption_key,
            &jwe::KEY_AGREEMENTS,
            &jwe::CONTENT_ENCRYPTIONS,
        )
        .map_err(|e| LoginError::Invalid {
            provider: id.to_owned(),
            reason: format!("the encrypted {what} cannot be decrypted: {e}"),
        })?;
        String::from_utf8(decrypted.plaintext)
            .map(|text| text.trim().to_owned())
            .map_err(|_| LoginError::Invalid {
                provider: id.to_owned(),
                reason: format!("the decrypted {what} is not text"),
            })
    }

    /// Verifies a JWS (`subject` names it in refusals) the provider signed: its keys (fetched
    /// again for an unknown `kid`), an algorithm of [`ID_TOKEN_ALGORITHMS`], `aud` (the client),
    /// and the times with [`SKEW`] (`iat` required when `require_iat`; `exp` and `nbf` whenever
    /// present).
    async fn verify_signed(
        &self,
        (provider, discovered): (&Provider, &Discovered),
        (jws, subject): (&str, &str),
        require_iat: bool,
        now: i64,
    ) -> Result<jose::Verified, LoginError> {
        let id = provider.settings.id.as_str();
        let invalid = |reason: String| LoginError::Invalid {
            provider: id.to_owned(),
            reason,
        };
        let (alg, kid) = unverified_alg_and_kid(jws);
        let keys = self.keys(provider, discovered, kid.as_deref()).await?;
        // Only keys that can verify this algorithm: a provider's set often has encryption keys,
        // or keys of other types, beside the one that signed.
        let usable: Vec<Value> = keys
            .iter()
            .filter(|key| alg.as_deref().is_some_and(|alg| signs_with(key, alg)))
            .cloned()
            .collect();
        let candidates: &[Value] = if usable.is_empty() { &keys } else { &usable };
        let policy = Policy {
            subject,
            typ: &ID_TOKEN_TYPES,
            algorithms: &ID_TOKEN_ALGORITHMS,
            critical: &[],
            key: KeySource::KeySet(candidates),
            audience: Some(&provider.settings.client_id),
            time: TimeRules {
                now,
                // Required, however old: `exp` says how long the token is good for.
                max_age: require_iat.then_some(i64::MAX),
                skew: SKEW,
            },
        };
        jose::verify(jws, &policy).map_err(|e| invalid(e.0))
    }
}

/// The tokens the token endpoint gave.
struct Tokens {
    id_token: String,
    /// The access token, when it is a bearer token (for userinfo and `at_hash`).
    access_token: Option<String>,
}

/// The `alg` and `kid` of a JWS's header, not yet verified: to pick and refresh keys only.
fn unverified_alg_and_kid(jws: &str) -> (Option<String>, Option<String>) {
    let header = jws
        .split('.')
        .next()
        .and_then(|h| URL_SAFE_NO_PAD.decode(h).ok())
        .and_then(|bytes| serde_json::from_slice::<Map<String, Value>>(&bytes).ok())
        .unwrap_or_default();
    let text = |name: &str| header.get(name).and_then(Value::as_str).map(str::to_owned);
    (text("alg"), text("kid"))
}

/// Whether `key` is one that can verify `alg` signatures: not for encryption, not for another
/// algorithm, of the right type and curve.
fn signs_with(key: &Value, alg: &str) -> bool {
    let text = |name: &str| key.get(name).and_then(Value::as_str);
    if text("use").is_some_and(|u| u != "sig") || text("alg").is_some_and(|a| a != alg) {
        return false;
    }
    match alg {
        "RS256" | "PS256" => text("kty") == Some("RSA"),
        "ES256" => text("kty") == Some("EC") && text("crv") == Some("P-256"),
        "ES384" => text("kty") == Some("EC") && text("crv") == Some("P-384"),
        "EdDSA" => text("kty") == Some("OKP") && text("crv") == Some("Ed25519"),
        _ => false,
    }
}

/// The `at_hash` of an access token (OpenID Connect Core §3.1.3.6): the left half of its hash
/// with the ID token's algorithm's hash (SHA-512 for EdDSA on Ed25519), base64url.
fn token_hash(alg: &str, token: &str) -> String {
    let digest = match alg {
        "ES384" => Sha384::digest(token.as_bytes()).to_vec(),
        "EdDSA" => Sha512::digest(token.as_bytes()).to_vec(),
        _ => Sha256::digest(token.as_bytes()).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

/// An RFC 7523 client assertion: `iss` and `sub` the client, `aud` the provider's issuer
/// identifier, a random `jti`, valid for a minute, ES256.
fn client_assertion(key: &SecretKey, kid: &str, client_id: &str, issuer: &str, now: i64) -> String {
    let header = json!({"alg": "ES256", "typ": "JWT", "kid": kid});
    let claims = json!({
        "iss": client_id,
        "sub": client_id,
        "aud": issuer,
        "jti": random_token(),
        "iat": now,
        "exp": now + ASSERTION_LIFETIME,
    });
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature: p256::ecdsa::Signature =
        p256::ecdsa::SigningKey::from(key).sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

/// A PEM P-256 private key, PKCS #8 or SEC1.
fn private_key(pem: &str) -> Option<SecretKey> {
    use p256::pkcs8::DecodePrivateKey;
    SecretKey::from_pkcs8_pem(pem.trim())
        .ok()
        .or_else(|| SecretKey::from_sec1_pem(pem.trim()).ok())
}

/// The RFC 7638 thumbprint (SHA-256, base64url) of a P-256 key's public part.
fn thumbprint(key: &SecretKey) -> String {
    let point = key.public_key().to_encoded_point(false);
    let coordinate = |c: Option<&p256::FieldBytes>| {
        URL_SAFE_NO_PAD.encode(c.map(|c| c.as_slice()).unwrap_or_default())
    };
    let canonical = format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        coordinate(point.x()),
        coordinate(point.y())
    );
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

fn form_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn method_name(method: ClientAuthentication) -> &'static str {
    match method {
        ClientAuthentication::ClientSecretBasic => "client_secret_basic",
        ClientAuthentication::ClientSecretPost => "client_secret_post",
        ClientAuthentication::PrivateKeyJwt => "private_key_jwt",
        ClientAuthentication::None => "none",
    }
}

/// Statuses that say "not now": a server error, or too many requests.
fn retry_later(status: u16) -> bool {
    status >= 500 || status == 429 || status == 408
}

/// The refusal for an endpoint's answer other than 200: a server error is
/// [`LoginError::Unreachable`]; an OAuth error naming the client (`invalid_client`,
/// `unauthorized_client`) is [`LoginError::Configuration`]; any other is [`LoginError::Refused`],
/// with the OAuth `error` and its description.
fn endpoint_error(id: &str, what: &str, url: &Url, fetched: &Fetched) -> LoginError {
    let provider = id.to_owned();
    if retry_later(fetched.status) {
        return LoginError::Unreachable {
            provider,
            reason: format!("its {what} answered HTTP {}", fetched.status),
        };
    }
    let body = json_object(&fetched.body).unwrap_or_default();
    let error = body.get("error").and_then(Value::as_str);
    let description = body
        .get("error_description")
        .and_then(Value::as_str)
        .map(|d| format!(" ({})", show(d)))
        .unwrap_or_default();
    let said = match error {
        Some(error) => format!("`{}`{description}", show(error)),
        None => format!("HTTP {}", fetched.status),
    };
    match error {
        Some("invalid_client" | "unauthorized_client") => LoginError::Configuration {
            provider,
            reason: format!("its {what} ({url}) does not accept this issuer as its client: {said}"),
        },
        _ => LoginError::Refused {
            provider,
            reason: format!("its {what} answered {said}"),
        },
    }
}

/// A body that must be a JSON object; the error says what it is instead.
fn json_object(body: &[u8]) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(members)) => Ok(members),
        Ok(other) => Err(format!("it is {}, not a JSON object", kind(&other))),
        Err(e) => Err(format!("it is not JSON ({})", show(&e.to_string()))),
    }
}

/// A JSON value's kind, without its content (which may be personal).
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    //! Against an OpenID Provider made of in-process answers ([`FakeProvider`]): tokens signed in
    //! the test with each algorithm a provider uses, and each thing a provider could get wrong.
    use super::*;
    use crate::domain::fetch::FetchError;
    use async_trait::async_trait;
    use rsa::signature::{RandomizedSigner, SignatureEncoding};
    use std::sync::Mutex;
    use trustc_artifact::{ClaimAssurance, Environment};
    use trustc_testkit::HolderKey;

    const ISSUER: &str = "https://login.example/realms/people";
    const CLIENT: &str = "trustc-test";
    const SECRET: &str = "s3cret:with/odd&chars";
    const REDIRECT: &str = "https://issuer.example/login/callback";
    const NOW: i64 = 1_750_000_000;
    const ACCESS_TOKEN: &str = "at-0123456789";

    /// A 2048-bit RSA key made for these tests (`openssl genpkey -algorithm RSA`).
    const RSA_PEM: &str = include_str!("test_rsa_key.pem");

    /// A signing key as a provider has one.
    enum TestKey {
        Holder(HolderKey),
        Rsa(rsa::RsaPrivateKey, &'static str),
        Es384(p384::ecdsa::SigningKey),
    }

    impl TestKey {
        fn es256() -> TestKey {
            TestKey::Holder(HolderKey::es256())
        }
        fn rsa(alg: &'static str) -> TestKey {
            use rsa::pkcs8::DecodePrivateKey;
            TestKey::Rsa(rsa::RsaPrivateKey::from_pkcs8_pem(RSA_PEM).unwrap(), alg)
        }
        fn alg(&self) -> &'static str {
            match self {
                TestKey::Holder(key) => key.alg(),
                TestKey::Rsa(_, alg) => alg,
                TestKey::Es384(_) => "ES384",
            }
        }
        /// The public JWK, with `kid` `kid` and `use: sig`.
        fn jwk(&self, kid: &str) -> Value {
            let mut jwk = match self {
                TestKey::Holder(key) => key.public_jwk(),
                TestKey::Rsa(key, _) => {
                    use rsa::traits::PublicKeyParts;
                    json!({"kty": "RSA", "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
                           "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be())})
                }
                TestKey::Es384(key) => {
                    let point = key.verifying_key().to_encoded_point(false);
                    json!({"kty": "EC", "crv": "P-384",
                           "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
                           "y": URL_SAFE_NO_PAD.encode(point.y().unwrap())})
                }
            };
            jwk["kid"] = json!(kid);
            jwk["use"] = json!("sig");
            jwk
        }
        /// A compact JWS of `claims` under `header` (whose `alg` is taken as given).
        fn sign(&self, header: &Value, claims: &Value) -> String {
            let input = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            );
            let signature = match self {
                TestKey::Holder(key) => return format!("{input}.{}", key.sign(input.as_bytes())),
                TestKey::Rsa(key, "PS256") => {
                    rsa::pss::BlindedSigningKey::<Sha256>::new(key.clone())
                        .sign_with_rng(&mut rand::rngs::OsRng, input.as_bytes())
                        .to_vec()
                }
                TestKey::Rsa(key, _) => rsa::pkcs1v15::SigningKey::<Sha256>::new(key.clone())
                    .sign(input.as_bytes())
                    .to_vec(),
                TestKey::Es384(key) => {
                    let signature: p384::ecdsa::Signature = key.sign(input.as_bytes());
                    signature.to_bytes().to_vec()
                }
            };
            format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
        }
    }

    /// A request the provider received.
    #[derive(Debug, Clone)]
    struct Seen {
        method: &'static str,
        path: String,
        form: Vec<(String, String)>,
        authorization: Option<String>,
    }

    /// An answer: status, content type, body.
    type Answer = (u16, &'static str, Vec<u8>);

    fn json_answer(status: u16, body: Value) -> Answer {
        (status, "application/json", body.to_string().into_bytes())
    }

    /// An OpenID Provider's endpoints, answered in process.
    struct FakeProvider {
        discovery: Mutex<Answer>,
        jwks: Mutex<Answer>,
        token: Mutex<Answer>,
        userinfo: Mutex<Answer>,
        /// `Some(reason)`: every request fails as if the provider were down.
        down: Mutex<Option<String>>,
        seen: Mutex<Vec<Seen>>,
    }

    impl FakeProvider {
        fn new(discovery: Value, jwks: Value) -> FakeProvider {
            FakeProvider {
                discovery: Mutex::new(json_answer(200, discovery)),
                jwks: Mutex::new(json_answer(200, jwks)),
                token: Mutex::new(json_answer(500, json!({}))),
                userinfo: Mutex::new(json_answer(500, json!({}))),
                down: Mutex::new(None),
                seen: Mutex::new(Vec::new()),
            }
        }
        fn seen(&self, path: &str) -> Vec<Seen> {
            let seen = self.seen.lock().unwrap();
            seen.iter().filter(|s| s.path == path).cloned().collect()
        }
    }

    #[async_trait]
    impl Fetch for FakeProvider {
        async fn get(&self, url: &Url, accept: &str) -> Result<Fetched, FetchError> {
            self.send(&Request::get(url, accept)).await
        }

        async fn send(&self, request: &Request<'_>) -> Result<Fetched, FetchError> {
            let path = request.url.path().to_owned();
            self.seen.lock().unwrap().push(Seen {
                method: request.method(),
                path: path.clone(),
                form: request
                    .form
                    .unwrap_or_default()
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                authorization: request.authorization.map(str::to_owned),
            });
            if let Some(reason) = self.down.lock().unwrap().clone() {
                return Err(FetchError(reason));
            }
            let answer = match path.as_str() {
                "/realms/people/.well-known/openid-configuration" => &self.discovery,
                "/jwks" => &self.jwks,
                "/token" => &self.token,
                "/userinfo" => &self.userinfo,
                _ => {
                    return Ok(Fetched {
                        status: 404,
                        content_type: None,
                        body: vec![],
                    });
                }
            };
            let (status, content_type, body) = answer.lock().unwrap().clone();
            Ok(Fetched {
                status,
                content_type: Some(content_type.to_owned()),
                body,
            })
        }
    }

    fn discovery() -> Value {
        json!({
            "issuer": ISSUER,
            "authorization_endpoint": "https://login.example/auth?tenant=people",
            "token_endpoint": "https://login.example/token",
            "userinfo_endpoint": "https://login.example/userinfo",
            "jwks_uri": "https://login.example/jwks",
            "authorization_response_iss_parameter_supported": true,
            "claims_parameter_supported": true,
        })
    }

    fn settings(method: ClientAuthentication, secret: Option<SecretSource>) -> LoginProvider {
        LoginProvider {
            id: "people/idp".into(),
            framework: "people".into(),
            name: [("en".to_owned(), "People's IdP".to_owned())].into(),
            issuer: ISSUER.into(),
            client_id: CLIENT.into(),
            client_authentication: method,
            secret,
            scopes: vec!["openid".into(), "profile".into()],
        }
    }

    fn config(providers: Vec<LoginProvider>) -> IssuerConfig {
        IssuerConfig {
            format: trustc_artifact::FORMAT.into(),
            content_hash: String::new(),
            environment: Environment::Dev,
            credential_issuer: "https://issuer.example".into(),
            frameworks: vec![],
            credentials: vec![],
            login_providers: providers,
        }
    }

    fn encryption_key() -> SecretKey {
        jwe::session_key(&[42; 32], "login")
    }

    /// The secrets the tests' "environment" holds.
    fn test_secrets(source: &SecretSource) -> Result<String, String> {
        match source {
            SecretSource::Env(name) if name == "IDP_SECRET" => Ok(SECRET.into()),
            SecretSource::Env(name) if name == "IDP_KEY" => Ok(CLIENT_KEY_PEM.into()),
            SecretSource::Env(name) => Err(format!("the environment variable `{name}` is not set")),
            SecretSource::File(path) => Err(format!("the file `{path}` could not be read")),
        }
    }

    /// A P-256 client key for `private_key_jwt` (PKCS #8).
    const CLIENT_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgMugl8J+p6/ppoLDn
B84O+r3UqXAw2pcqWHp2EbSL0FuhRANCAAQwtKv7p9uusnQeJfLn6X6pk/PFE2ud
2nZqohdV4HqMRz2QgxVl2N0va3rezUF3T4ZvShHEvOLJGRtyYE+MI22g
-----END PRIVATE KEY-----";

    /// A login world: the provider, its signing key (`kid` `k1`), and the relying party.
    struct World {
        op: Arc<FakeProvider>,
        key: TestKey,
        providers: Providers,
    }

    fn world_with(key: TestKey, method: ClientAuthentication) -> World {
        let secret = match method {
            ClientAuthentication::None => None,
            ClientAuthentication::PrivateKeyJwt => Some(SecretSource::Env("IDP_KEY".into())),
            _ => Some(SecretSource::Env("IDP_SECRET".into())),
        };
        let op = Arc::new(FakeProvider::new(
            discovery(),
            json!({"keys": [
                // An encryption key and a key of another type beside the signing key.
                {"kty": "EC", "crv": "P-256", "use": "enc", "kid": "e1",
                 "x": "gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0",
                 "y": "SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps"},
                key.jwk("k1"),
            ]}),
        ));
        let providers = Providers::new(
            &config(vec![settings(method, secret)]),
            test_secrets,
            encryption_key(),
            op.clone(),
        )
        .unwrap();
        World { op, key, providers }
    }

    fn world() -> World {
        world_with(TestKey::es256(), ClientAuthentication::ClientSecretBasic)
    }

    const NONCE: &str = "n-0S6_WzA2Mj";
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    fn expected() -> Expected<'static> {
        Expected {
            nonce: NONCE,
            code_verifier: VERIFIER,
            redirect_uri: REDIRECT,
        }
    }

    fn callback() -> Callback<'static> {
        Callback {
            code: "code-1",
            iss: Some(ISSUER),
        }
    }

    /// Good ID token claims for this login.
    fn id_claims() -> Value {
        json!({
            "iss": ISSUER, "aud": CLIENT, "sub": "248289761001", "nonce": NONCE,
            "iat": NOW - 5, "exp": NOW + 300, "auth_time": NOW - 30, "acr": "loa3",
            "given_name": "Alice", "sid": "session-9",
        })
    }

    impl World {
        fn id_token(&self, claims: &Value) -> String {
            self.key.sign(
                &json!({"alg": self.key.alg(), "kid": "k1", "typ": "JWT"}),
                claims,
            )
        }
        /// The token endpoint answers `id_token` with a bearer access token.
        fn token_answer(&self, id_token: &str) {
            *self.op.token.lock().unwrap() = json_answer(
                200,
                json!({"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 300,
                       "id_token": id_token}),
            );
        }
        fn userinfo_answer(&self, answer: Answer) {
            *self.op.userinfo.lock().unwrap() = answer;
        }
        fn no_userinfo(&self) {
            let mut document = discovery();
            document
                .as_object_mut()
                .unwrap()
                .remove("userinfo_endpoint");
            self.discovery_answer(200, document);
        }
        fn discovery_answer(&self, status: u16, document: Value) {
            *self.op.discovery.lock().unwrap() = json_answer(status, document);
        }
        /// The discovery document with its `member` set to `value`.
        fn discovery_with(&self, member: &str, value: Value) {
            let mut document = discovery();
            document[member] = value;
            self.discovery_answer(200, document);
        }
        /// A good ID token from the token endpoint, and no userinfo endpoint.
        fn good_id_token_only(&self) {
            self.no_userinfo();
            self.token_answer(&self.id_token(&id_claims()));
        }
        /// `claims` signed by the provider's key without a `typ`.
        fn sign_untyped(&self, claims: &Value) -> String {
            self.key
                .sign(&json!({"alg": self.key.alg(), "kid": "k1"}), claims)
        }
        /// Why starting a login at `provider` fails.
        async fn start_error(&self, provider: &str) -> LoginError {
            self.providers
                .start(provider, plain_start())
                .await
                .unwrap_err()
        }
        async fn finish(&self) -> Result<LoggedIn, LoginError> {
            self.finish_with(callback()).await
        }
        /// Finishes the login with the authorization response `callback`.
        async fn finish_with(&self, callback: Callback<'_>) -> Result<LoggedIn, LoginError> {
            self.providers
                .finish("people/idp", callback, expected(), NOW)
                .await
        }
        /// Why finishing the login fails.
        async fn finish_error(&self) -> LoginError {
            self.finish().await.unwrap_err()
        }
        /// The reason the login with `claims` in its ID token (no userinfo) is refused.
        async fn refused(&self, claims: Value) -> String {
            self.token_answer(&self.id_token(&claims));
            match self.finish().await {
                Err(LoginError::Invalid { reason, .. }) => reason,
                other => panic!("expected an invalid ID token, got {other:?}"),
            }
        }
    }

    fn with(mut claims: Value, edit: impl FnOnce(&mut Map<String, Value>)) -> Value {
        edit(claims.as_object_mut().unwrap());
        claims
    }

    /// `plaintext` encrypted to `recipient` (no `kid`).
    fn encrypt(
        plaintext: &[u8],
        recipient: &p256::PublicKey,
        alg: &str,
        enc: &str,
        cty: Option<&str>,
    ) -> String {
        jwe::encrypt_for(plaintext, recipient, alg, enc, None, cty).unwrap()
    }

    // --- start ---

    #[tokio::test]
    async fn start_builds_the_authorization_request() {
        let world = world();
        let claims = json!({"id_token": {"given_name": {"essential": true}}});
        let extra = ["member".to_owned(), "profile openid".to_owned()];
        let acr = ["loa3".to_owned(), "loa4".to_owned()];
        let request = StartLogin {
            redirect_uri: REDIRECT,
            extra_scopes: &extra,
            acr_values: &acr,
            claims: Some(&claims),
            login_hint: Some("alice@example.org"),
        };
        let started = world.providers.start("people/idp", request).await.unwrap();
        let url = Url::parse(&started.authorization_url).unwrap();
        assert_eq!(url.path(), "/auth");
        let query: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
        // The endpoint's own query is kept.
        assert_eq!(query["tenant"], "people");
        assert_eq!(query["response_type"], "code");
        assert_eq!(query["client_id"], CLIENT);
        assert_eq!(query["redirect_uri"], REDIRECT);
        assert_eq!(query["scope"], "openid profile member");
        assert_eq!(query["state"], started.state);
        assert_eq!(query["nonce"], started.nonce);
        assert_eq!(query["code_challenge_method"], "S256");
        assert_eq!(
            query["code_challenge"],
            URL_SAFE_NO_PAD.encode(Sha256::digest(started.code_verifier.as_bytes()))
        );
        assert_eq!(query["acr_values"], "loa3 loa4");
        assert_eq!(
            serde_json::from_str::<Value>(&query["claims"]).unwrap(),
            claims
        );
        assert_eq!(query["login_hint"], "alice@example.org");
        assert_eq!(started.code_verifier.len(), 43);
        assert!(!query.contains_key("code_verifier"));
        // Fresh values each time.
        let again = world.providers.start("people/idp", request).await.unwrap();
        assert_ne!(again.state, started.state);
        assert_ne!(again.nonce, started.nonce);
        assert_ne!(again.code_verifier, started.code_verifier);
        // Discovery was fetched once, at the path issuer's own path.
        assert_eq!(
            world
                .op
                .seen("/realms/people/.well-known/openid-configuration")
                .len(),
            1
        );
        // No secret in the debug output.
        assert!(!format!("{started:?}").contains(&started.state));
    }

    #[tokio::test]
    async fn the_claims_parameter_goes_only_to_a_provider_that_supports_it() {
        let world = world();
        world.discovery_with("claims_parameter_supported", json!(false));
        let claims = json!({"userinfo": {"email": null}});
        let started = world
            .providers
            .start(
                "people/idp",
                StartLogin {
                    redirect_uri: REDIRECT,
                    extra_scopes: &[],
                    acr_values: &[],
                    claims: Some(&claims),
                    login_hint: None,
                },
            )
            .await
            .unwrap();
        let url = Url::parse(&started.authorization_url).unwrap();
        let names: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
        assert!(!names.contains(&"claims".to_owned()), "{names:?}");
        assert!(!names.contains(&"acr_values".to_owned()), "{names:?}");
        assert!(!names.contains(&"login_hint".to_owned()), "{names:?}");
    }

    fn plain_start() -> StartLogin<'static> {
        StartLogin {
            redirect_uri: REDIRECT,
            extra_scopes: &[],
            acr_values: &[],
            claims: None,
            login_hint: None,
        }
    }

    #[tokio::test]
    async fn discovery_must_name_the_issuer_exactly() {
        for named in [
            json!("https://login.example/realms/people/"),
            json!("https://LOGIN.example/realms/people"),
            json!(null),
        ] {
            let world = world();
            world.discovery_with("issuer", named.clone());
            let error = world.start_error("people/idp").await;
            let LoginError::Configuration { reason, .. } = &error else {
                panic!("{error:?}");
            };
            assert!(
                reason.ends_with(&format!(
                    "not `{ISSUER}`: the governance must spell the issuer exactly as the \
                     provider does"
                )),
                "{reason}"
            );
        }
    }

    #[tokio::test]
    async fn discovery_failures_are_told_apart_and_remembered_briefly() {
        let down = world();
        *down.op.down.lock().unwrap() = Some("GET https://login.example/…: no answer".into());
        let error = down.start_error("people/idp").await;
        assert!(error.is_retryable(), "{error:?}");
        assert_eq!(
            error.to_string(),
            "the login provider `people/idp` could not be reached: GET https://login.example/…: \
             no answer"
        );
        // The provider is back, but the failure is remembered for a few seconds: no new fetch.
        *down.op.down.lock().unwrap() = None;
        let again = down.start_error("people/idp").await;
        assert_eq!(again, error);
        let path = "/realms/people/.well-known/openid-configuration";
        assert_eq!(down.op.seen(path).len(), 1);

        // A server error is worth a retry; a 404 is a configuration problem.
        for (status, retryable) in [(503, true), (404, false)] {
            let world = world_with(TestKey::es256(), ClientAuthentication::ClientSecretBasic);
            world.discovery_answer(status, json!({}));
            let error = world.start_error("people/idp").await;
            assert_eq!(error.is_retryable(), retryable, "{error:?}");
        }
        // Missing or non-https endpoints.
        for (member, value, reason) in [
            (
                "token_endpoint",
                Value::Null,
                "the discovery document has no `token_endpoint`",
            ),
            (
                "authorization_endpoint",
                json!("http://login.example/auth"),
                "the discovery document's `authorization_endpoint` `http://login.example/auth` \
                 is not an https URL",
            ),
        ] {
            let world = world();
            world.discovery_with(member, value);
            let error = world.start_error("people/idp").await;
            assert_eq!(error.reason(), reason);
        }
        let error = down.start_error("people/other").await;
        assert!(
            matches!(error, LoginError::Configuration { .. }),
            "{error:?}"
        );
    }

    // --- finish: the happy paths ---

    #[tokio::test]
    async fn a_login_with_client_secret_basic_and_json_userinfo() {
        let world = world();
        world.token_answer(&world.id_token(&id_claims()));
        world.userinfo_answer(json_answer(
            200,
            json!({"sub": "248289761001", "given_name": "Alicia", "family_name": "Anderson",
                   "address": {"locality": "Victoria"}}),
        ));
        let logged_in = world.finish().await.unwrap();
        assert_eq!(logged_in.subject, "248289761001");
        assert_eq!(logged_in.acr.as_deref(), Some("loa3"));
        // ID token claims first (the ID token's `given_name` wins), then userinfo's others;
        // nothing about the token itself.
        assert_eq!(
            Value::Object(logged_in.claims.clone()),
            json!({"sub": "248289761001", "auth_time": NOW - 30, "acr": "loa3",
                   "given_name": "Alice", "family_name": "Anderson",
                   "address": {"locality": "Victoria"}})
        );
        assert!(!format!("{logged_in:?}").contains("Alice"));

        let token = world.op.seen("/token");
        assert_eq!(token.len(), 1);
        assert_eq!(token[0].method, "POST");
        let form: BTreeMap<&str, &str> = token[0]
            .form
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            form,
            BTreeMap::from([
                ("grant_type", "authorization_code"),
                ("code", "code-1"),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ])
        );
        // RFC 6749 §2.3.1: the id and secret form-urlencoded before base64.
        let basic = token[0].authorization.as_deref().unwrap();
        let decoded = STANDARD
            .decode(basic.strip_prefix("Basic ").unwrap())
            .unwrap();
        assert_eq!(
            String::from_utf8(decoded).unwrap(),
            "trustc-test:s3cret%3Awith%2Fodd%26chars"
        );
        let userinfo = world.op.seen("/userinfo");
        assert_eq!(userinfo[0].method, "GET");
        assert_eq!(
            userinfo[0].authorization.as_deref(),
            Some(format!("Bearer {ACCESS_TOKEN}").as_str())
        );
    }

    #[tokio::test]
    async fn every_signature_algorithm_a_provider_uses_verifies() {
        let keys = [
            TestKey::es256(),
            TestKey::Holder(HolderKey::ed25519()),
            TestKey::rsa("RS256"),
            TestKey::rsa("PS256"),
            TestKey::Es384(p384::ecdsa::SigningKey::random(&mut rand::rngs::OsRng)),
        ];
        for key in keys {
            let alg = key.alg();
            let world = world_with(key, ClientAuthentication::ClientSecretBasic);
            world.no_userinfo();
            // With `at_hash`, whose hash follows the algorithm.
            let claims = with(id_claims(), |c| {
                c.insert("at_hash".into(), json!(token_hash(alg, ACCESS_TOKEN)));
            });
            world.token_answer(&world.id_token(&claims));
            let logged_in = world
                .finish()
                .await
                .unwrap_or_else(|e| panic!("{alg}: {e}"));
            assert_eq!(logged_in.subject, "248289761001", "{alg}");
            // Signed by another key of the same kind, under the same `kid`: refused.
            let impostor = match alg {
                "EdDSA" => TestKey::Holder(HolderKey::ed25519()),
                "ES384" => TestKey::Es384(p384::ecdsa::SigningKey::random(&mut rand::rngs::OsRng)),
                "ES256" => TestKey::es256(),
                _ => continue,
            };
            let forged = impostor.sign(&json!({"alg": alg, "kid": "k1"}), &id_claims());
            world.token_answer(&forged);
            let error = world.finish_error().await;
            assert_eq!(
                error.reason(),
                format!("ID token signature does not verify with the signer's key ({alg})")
            );
        }
        // The at_hash sizes: half of SHA-256, SHA-384, SHA-512.
        assert_eq!(token_hash("RS256", "x").len(), 22);
        assert_eq!(token_hash("ES384", "x").len(), 32);
        assert_eq!(token_hash("EdDSA", "x").len(), 43);
    }

    // --- finish: the ID token's refusals ---

    #[tokio::test]
    async fn an_id_token_is_refused_for_each_thing_wrong_with_it() {
        let world = world();
        world.no_userinfo();
        let cases: Vec<(Value, &str)> = vec![
            (
                with(id_claims(), |c| {
                    c.insert("iss".into(), json!("https://evil.example"));
                }),
                "the ID token's issuer (`iss`) is `https://evil.example`, not \
                 `https://login.example/realms/people`",
            ),
            (
                with(id_claims(), |c| {
                    c.insert("aud".into(), json!("another-client"));
                }),
                "ID token `aud` is `another-client`, expected `trustc-test`",
            ),
            (
                with(id_claims(), |c| {
                    c.insert("aud".into(), json!([CLIENT, "another-client"]));
                }),
                "the ID token has several audiences and no `azp` naming this client",
            ),
            (
                with(id_claims(), |c| {
                    c.insert("aud".into(), json!([CLIENT, "another-client"]));
                    c.insert("azp".into(), json!("another-client"));
                }),
                "the ID token's authorized party (`azp`) is `another-client`, not this client \
                 `trustc-test`",
            ),
            (
                with(id_claims(), |c| {
                    c.insert("nonce".into(), json!("another login's nonce"));
                }),
                "the ID token's nonce is not the one of this login",
            ),
            (
                with(id_claims(), |c| {
                    c.remove("nonce");
                }),
                "the ID token has no nonce",
            ),
            (
                with(id_claims(), |c| {
                    c.insert("exp".into(), json!(NOW - SKEW - 1));
                }),
                "ID token expired 121 s ago (`exp`)",
            ),
            (
                with(id_claims(), |c| {
                    c.remove("exp");
                }),
                "the ID token has no expiry (`exp`)",
            ),
            (
                with(id_claims(), |c| {
                    c.remove("iat");
                }),
                "ID token has no `iat` claim",
            ),
            (
                with(id_claims(), |c| {
                    c.insert("iat".into(), json!(NOW + SKEW + 1));
                }),
                "ID token `iat` is 121 s in the future; at most 120 s of clock skew is accepted",
            ),
            (
                with(id_claims(), |c| {
                    c.insert(
                        "at_hash".into(),
                        json!(token_hash("ES256", "another token")),
                    );
                }),
                "the ID token's `at_hash` does not match the access token",
            ),
            (
                with(id_claims(), |c| {
                    c.remove("sub");
                }),
                "the ID token has no `sub` string",
            ),
        ];
        for (claims, reason) in cases {
            assert_eq!(world.refused(claims).await, reason);
        }
        // The exact limits pass: expired SKEW seconds ago, issued SKEW seconds ahead.
        let edge = with(id_claims(), |c| {
            c.insert("exp".into(), json!(NOW - SKEW));
            c.insert("iat".into(), json!(NOW + SKEW));
        });
        world.token_answer(&world.id_token(&edge));
        world.finish().await.unwrap();
    }

    #[tokio::test]
    async fn unsigned_mac_and_mistyped_id_tokens_are_refused() {
        let world = world();
        world.no_userinfo();
        let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let unsigned = format!("{}.{}.", b64(&json!({"alg": "none"})), b64(&id_claims()));
        world.token_answer(&unsigned);
        assert_eq!(
            world.finish_error().await.reason(),
            "ID token `alg` is `none`: an unsigned ID token is not accepted"
        );
        // HS256 "signed" with the client secret: a MAC proves nothing about the provider.
        let mac = world
            .key
            .sign(&json!({"alg": "HS256", "kid": "k1"}), &id_claims());
        world.token_answer(&mac);
        assert!(
            world
                .finish_error()
                .await
                .reason()
                .starts_with("ID token `alg` is `HS256`, a MAC algorithm")
        );
        // An access token (typed `at+jwt`) signed by the same key is not an ID token.
        let access = world.key.sign(
            &json!({"alg": "ES256", "kid": "k1", "typ": "at+jwt"}),
            &id_claims(),
        );
        world.token_answer(&access);
        assert_eq!(
            world.finish_error().await.reason(),
            "ID token `typ` is `at+jwt`, expected none or `JWT` or `jwt`"
        );
        // Without `typ` it is fine.
        let untyped = world.sign_untyped(&id_claims());
        world.token_answer(&untyped);
        world.finish().await.unwrap();
    }

    #[tokio::test]
    async fn the_authorization_response_iss_is_checked() {
        let world = world();
        world.good_id_token_only();
        let mix_up = Callback {
            code: "code-1",
            iss: Some("https://evil.example"),
        };
        let error = world.finish_with(mix_up).await.unwrap_err();
        assert_eq!(
            error.reason(),
            "the authorization response names the issuer `https://evil.example`, not \
             `https://login.example/realms/people` (a response from another provider is not \
             accepted)"
        );
        let missing = Callback {
            code: "code-1",
            iss: None,
        };
        let error = world.finish_with(missing).await.unwrap_err();
        assert_eq!(
            error.reason(),
            "the authorization response has no `iss`, which this provider always sends"
        );
        // Nothing was sent to the token endpoint for either.
        assert!(world.op.seen("/token").is_empty());

        // A provider that does not send `iss`: its absence is fine.
        let world = world_with(TestKey::es256(), ClientAuthentication::ClientSecretBasic);
        let mut document = discovery();
        document
            .as_object_mut()
            .unwrap()
            .remove("userinfo_endpoint");
        document["authorization_response_iss_parameter_supported"] = json!(false);
        world.discovery_answer(200, document);
        world.token_answer(&world.id_token(&id_claims()));
        world.finish_with(missing).await.unwrap();
    }

    #[tokio::test]
    async fn encrypted_id_tokens_decrypt_with_the_login_key() {
        let world = world();
        world.no_userinfo();
        let recipient = encryption_key().public_key();
        for (alg, enc) in [
            ("ECDH-ES", "A128CBC-HS256"),
            ("ECDH-ES", "A256GCM"),
            ("ECDH-ES+A128KW", "A128CBC-HS256"),
            ("ECDH-ES+A256KW", "A256CBC-HS512"),
        ] {
            let signed = world.id_token(&id_claims());
            let encrypted = encrypt(signed.as_bytes(), &recipient, alg, enc, Some("JWT"));
            world.token_answer(&encrypted);
            let logged_in = world
                .finish()
                .await
                .unwrap_or_else(|e| panic!("{alg} {enc}: {e}"));
            assert_eq!(logged_in.subject, "248289761001");
        }
        // Encrypted to another key.
        let stranger = jwe::session_key(&[1; 32], "another issuer").public_key();
        let signed = world.id_token(&id_claims());
        let encrypted = encrypt(signed.as_bytes(), &stranger, "ECDH-ES", "A128GCM", None);
        world.token_answer(&encrypted);
        assert_eq!(
            world.finish_error().await.reason(),
            "the encrypted ID token cannot be decrypted: the JWE does not decrypt: it was \
             encrypted to another key, or altered"
        );
        // Encrypted but not signed: refused (an ID token is always signed).
        let claims = id_claims().to_string();
        let unsigned = encrypt(claims.as_bytes(), &recipient, "ECDH-ES", "A128GCM", None);
        world.token_answer(&unsigned);
        assert!(
            world
                .finish_error()
                .await
                .reason()
                .starts_with("ID token is not a compact JWS")
        );
    }

    // --- finish: userinfo ---

    #[tokio::test]
    async fn userinfo_as_a_signed_or_encrypted_jwt() {
        let world = world();
        world.token_answer(&world.id_token(&id_claims()));
        let userinfo = json!({"sub": "248289761001", "iss": ISSUER, "aud": CLIENT,
                              "family_name": "Anderson"});
        let signed = world.sign_untyped(&userinfo);
        let jwt = |body: &str| {
            (
                200,
                "application/jwt; charset=utf-8",
                body.as_bytes().to_vec(),
            )
        };
        world.userinfo_answer(jwt(&signed));
        let logged_in = world.finish().await.unwrap();
        assert_eq!(logged_in.claims["family_name"], "Anderson");
        assert!(!logged_in.claims.contains_key("aud"));

        // Signed, then encrypted.
        let recipient = encryption_key().public_key();
        let nested = encrypt(
            signed.as_bytes(),
            &recipient,
            "ECDH-ES+A128KW",
            "A128CBC-HS256",
            Some("JWT"),
        );
        world.userinfo_answer(jwt(&nested));
        assert_eq!(
            world.finish().await.unwrap().claims["family_name"],
            "Anderson"
        );

        // Encrypted only: the plaintext is the claims.
        let plain = json!({"sub": "248289761001", "family_name": "Brown"});
        let plain = plain.to_string();
        let encrypted = encrypt(
            plain.as_bytes(),
            &recipient,
            "ECDH-ES",
            "A128CBC-HS256",
            None,
        );
        world.userinfo_answer(jwt(&encrypted));
        assert_eq!(world.finish().await.unwrap().claims["family_name"], "Brown");

        // Signed for another client, or by another issuer: refused.
        let for_other = world.sign_untyped(&with(userinfo.clone(), |c| {
            c.insert("aud".into(), json!("another-client"));
        }));
        world.userinfo_answer(jwt(&for_other));
        assert_eq!(
            world.finish_error().await.reason(),
            "userinfo `aud` is `another-client`, expected `trustc-test`"
        );
        let other_issuer = world.sign_untyped(&with(userinfo, |c| {
            c.remove("iss");
        }));
        world.userinfo_answer(jwt(&other_issuer));
        assert_eq!(
            world.finish_error().await.reason(),
            "the signed userinfo's issuer (`iss`) is missing, not \
             `https://login.example/realms/people`"
        );
    }

    #[tokio::test]
    async fn userinfo_about_someone_else_or_failing_is_refused() {
        let world = world();
        world.token_answer(&world.id_token(&id_claims()));
        world.userinfo_answer(json_answer(
            200,
            json!({"sub": "someone-else", "name": "Eve"}),
        ));
        assert_eq!(
            world.finish_error().await.reason(),
            "userinfo is about another subject (`sub`) than the ID token"
        );
        world.userinfo_answer(json_answer(200, json!({"name": "Eve"})));
        assert!(matches!(
            world.finish().await,
            Err(LoginError::Invalid { .. })
        ));
        world.userinfo_answer(json_answer(
            401,
            json!({"error": "invalid_token", "error_description": "expired"}),
        ));
        let error = world.finish_error().await;
        assert!(matches!(error, LoginError::Refused { .. }), "{error:?}");
        assert_eq!(
            error.reason(),
            "its userinfo endpoint answered `invalid_token` (expired)"
        );
        world.userinfo_answer(json_answer(502, json!({})));
        assert!(world.finish_error().await.is_retryable());
    }

    // --- finish: the token endpoint ---

    #[tokio::test]
    async fn the_token_endpoints_refusals() {
        let world = world();
        *world.op.token.lock().unwrap() = json_answer(
            400,
            json!({"error": "invalid_grant", "error_description": "grant request is invalid"}),
        );
        let error = world.finish_error().await;
        assert_eq!(
            error.to_string(),
            "the login provider `people/idp` refused the login: its token endpoint answered \
             `invalid_grant` (grant request is invalid)"
        );
        *world.op.token.lock().unwrap() = json_answer(401, json!({"error": "invalid_client"}));
        let error = world.finish_error().await;
        assert!(
            matches!(error, LoginError::Configuration { .. }),
            "{error:?}"
        );
        assert_eq!(
            error.reason(),
            "its token endpoint (https://login.example/token) does not accept this issuer as \
             its client: `invalid_client`"
        );
        *world.op.token.lock().unwrap() = json_answer(503, json!({}));
        assert!(world.finish_error().await.is_retryable());
        *world.op.token.lock().unwrap() =
            json_answer(200, json!({"access_token": "x", "token_type": "Bearer"}));
        assert!(
            world
                .finish_error()
                .await
                .reason()
                .starts_with("the token response has no ID token")
        );
        // No secret in any of these sentences.
        assert!(!error.to_string().contains("s3cret"));
    }

    #[tokio::test]
    async fn client_secret_post_private_key_jwt_and_none() {
        /// The form and `Authorization` header of the token request of a good login with `method`.
        async fn token_request(
            method: ClientAuthentication,
        ) -> (BTreeMap<String, String>, Option<String>) {
            let world = world_with(TestKey::es256(), method);
            world.good_id_token_only();
            world.finish().await.unwrap();
            let request = world.op.seen("/token").remove(0);
            (request.form.into_iter().collect(), request.authorization)
        }
        let (form, authorization) = token_request(ClientAuthentication::ClientSecretPost).await;
        assert_eq!(form["client_id"], CLIENT);
        assert_eq!(form["client_secret"], SECRET);
        assert_eq!(authorization, None);

        let (form, _) = token_request(ClientAuthentication::None).await;
        assert_eq!(form["client_id"], CLIENT);
        assert!(!form.contains_key("client_secret"));

        let (form, _) = token_request(ClientAuthentication::PrivateKeyJwt).await;
        assert_eq!(form["client_assertion_type"], CLIENT_ASSERTION_TYPE);
        // The assertion verifies with the client's public key, and says what RFC 7523 asks.
        let key = private_key(CLIENT_KEY_PEM).unwrap();
        let mut jwk = jwe::public_jwk(&key, &thumbprint(&key));
        jwk.as_object_mut().unwrap().remove("use");
        jwk.as_object_mut().unwrap().remove("alg");
        let keys = [jwk];
        let verified = jose::verify(
            &form["client_assertion"],
            &Policy {
                subject: "client assertion",
                typ: &["JWT"],
                algorithms: &["ES256"],
                critical: &[],
                key: KeySource::KeySet(&keys),
                audience: Some(ISSUER),
                time: TimeRules {
                    now: NOW,
                    max_age: Some(0),
                    skew: 0,
                },
            },
        )
        .unwrap();
        assert_eq!(verified.claims["iss"], CLIENT);
        assert_eq!(verified.claims["sub"], CLIENT);
        assert_eq!(verified.claims["exp"], NOW + ASSERTION_LIFETIME);
        assert_eq!(verified.claims["jti"].as_str().unwrap().len(), 43);
    }

    // --- keys ---

    #[tokio::test]
    async fn an_unknown_kid_fetches_the_keys_again_at_most_every_interval() {
        let world = world();
        world.good_id_token_only();
        world.finish().await.unwrap();
        assert_eq!(world.op.seen("/jwks").len(), 1);
        // Cached: a second login fetches nothing.
        world.finish().await.unwrap();
        assert_eq!(world.op.seen("/jwks").len(), 1);
        // A token naming a key the cached set lacks, right after the keys were fetched: not
        // fetched again (bad tokens cannot make the issuer fetch more often).
        let rotated = TestKey::es256();
        *world.op.jwks.lock().unwrap() = json_answer(200, json!({"keys": [rotated.jwk("k2")]}));
        let by_new = rotated.sign(&json!({"alg": "ES256", "kid": "k2"}), &id_claims());
        world.token_answer(&by_new);
        assert_eq!(
            world.finish_error().await.reason(),
            "ID token `kid` `k2` names none of the signer's 1 key(s)"
        );
        assert_eq!(world.op.seen("/jwks").len(), 1);

        // Once the interval has passed (here: none), the provider's rotation is picked up, once.
        let mut world = world_with(TestKey::es256(), ClientAuthentication::ClientSecretBasic);
        world.providers = world
            .providers
            .with_cache_times(DISCOVERY_LIFETIME, Duration::ZERO);
        world.good_id_token_only();
        world.finish().await.unwrap();
        *world.op.jwks.lock().unwrap() = json_answer(200, json!({"keys": [rotated.jwk("k2")]}));
        world.token_answer(&by_new);
        world.finish().await.unwrap();
        world.finish().await.unwrap();
        assert_eq!(world.op.seen("/jwks").len(), 2);
        // The discovery document was fetched once for all of it.
        let path = "/realms/people/.well-known/openid-configuration";
        assert_eq!(world.op.seen(path).len(), 1);
    }

    // --- start-up, secrets, keys ---

    #[test]
    fn start_up_errors_name_the_provider_and_the_source() {
        let new = |provider: LoginProvider| {
            Providers::new(
                &config(vec![provider]),
                test_secrets,
                encryption_key(),
                Arc::new(crate::domain::fetch::Offline),
            )
            .map(|_| ())
            .unwrap_err()
        };
        assert_eq!(
            new(settings(
                ClientAuthentication::ClientSecretBasic,
                Some(SecretSource::Env("MISSING_SECRET".into()))
            )),
            "login provider `people/idp`: the environment variable `MISSING_SECRET` is not set"
        );
        assert_eq!(
            new(settings(ClientAuthentication::ClientSecretPost, None)),
            "login provider `people/idp`: `client_secret_post` needs a secret, and none is \
             configured"
        );
        assert_eq!(
            new(settings(
                ClientAuthentication::PrivateKeyJwt,
                Some(SecretSource::Env("IDP_SECRET".into()))
            )),
            "login provider `people/idp`: the private key for `private_key_jwt` is not a PEM \
             P-256 key (PKCS #8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY`)"
        );
        let mut plain_http = settings(ClientAuthentication::None, None);
        plain_http.issuer = "http://login.example".into();
        assert!(new(plain_http).contains("must be an https URL"));
        // http to loopback is fine (a development provider).
        let mut local = settings(ClientAuthentication::None, None);
        local.issuer = "http://127.0.0.1:8700".into();
        Providers::new(
            &config(vec![local]),
            test_secrets,
            encryption_key(),
            Arc::new(crate::domain::fetch::Offline),
        )
        .unwrap();
    }

    #[test]
    fn secrets_are_read_from_files_and_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "s3cret\n").unwrap();
        let file = SecretSource::File(path.display().to_string());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let error = read_secret(&file).unwrap_err();
            assert!(
                error.contains("(mode 0644)")
                    && error.ends_with(&format!("run `chmod 600 {}`", path.display())),
                "{error}"
            );
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert_eq!(read_secret(&file).unwrap(), "s3cret");
        std::fs::write(&path, "\n").unwrap();
        assert_eq!(
            read_secret(&file).unwrap_err(),
            format!("the file `{}` is empty", path.display())
        );
        let missing = SecretSource::File(dir.path().join("nope").display().to_string());
        assert!(read_secret(&missing).unwrap_err().starts_with(&format!(
            "the file `{}` could not be read: ",
            dir.path().join("nope").display()
        )));
        let unset = SecretSource::Env("TRUSTC_LOGIN_TEST_UNSET_VARIABLE".into());
        assert_eq!(
            read_secret(&unset).unwrap_err(),
            "the environment variable `TRUSTC_LOGIN_TEST_UNSET_VARIABLE` is not set"
        );
        // PATH is set in any test environment.
        assert!(read_secret(&SecretSource::Env("PATH".into())).is_ok());
    }

    #[test]
    fn the_encryption_jwks_publishes_public_keys_for_each_key_agreement() {
        let world = world();
        let jwks = world.providers.encryption_jwks();
        let keys = jwks["keys"].as_array().unwrap();
        let algs: Vec<&str> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
        assert_eq!(algs, ["ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A256KW"]);
        let public = encryption_key().public_key();
        for key in keys {
            assert_eq!(key["use"], "enc");
            assert_eq!(key["kty"], "EC");
            assert!(key.get("d").is_none());
            let point = json!({"kty": "EC", "crv": "P-256", "x": key["x"], "y": key["y"]});
            assert_eq!(
                p256::PublicKey::from_jwk_str(&point.to_string()).unwrap(),
                public
            );
        }
        let kids: std::collections::BTreeSet<&str> =
            keys.iter().map(|k| k["kid"].as_str().unwrap()).collect();
        assert_eq!(kids.len(), 3);

        // With private_key_jwt, the client key's public part too, named as its assertions are.
        let world = world_with(TestKey::es256(), ClientAuthentication::PrivateKeyJwt);
        let jwks = world.providers.encryption_jwks();
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 4);
        let client = private_key(CLIENT_KEY_PEM).unwrap();
        let signing = &keys[3];
        assert_eq!(
            (&signing["use"], &signing["alg"], &signing["kid"]),
            (&json!("sig"), &json!("ES256"), &json!(thumbprint(&client)))
        );
        assert!(signing.get("d").is_none());
        let point = json!({"kty": "EC", "crv": "P-256", "x": signing["x"], "y": signing["y"]});
        assert_eq!(
            p256::PublicKey::from_jwk_str(&point.to_string()).unwrap(),
            client.public_key()
        );
    }

    #[test]
    fn authorization_errors_are_told_apart() {
        let declined = authorization_error("people/idp", "access_denied", Some("User cancelled"));
        assert_eq!(
            declined.to_string(),
            "the login provider `people/idp` refused the login: it answered the authorization \
             request with `access_denied` (User cancelled)"
        );
        assert!(authorization_error("p", "temporarily_unavailable", None).is_retryable());
        assert!(matches!(
            authorization_error("p", "invalid_scope", Some("")),
            LoginError::Configuration { .. }
        ));
        // The provider's words are quoted within an error description's characters.
        let odd = authorization_error("p", "login_required", Some("\"quoted\"\n<b>"));
        assert_eq!(
            odd.reason(),
            "it answered the authorization request with `login_required` (?quoted??<b>)"
        );
    }

    #[test]
    fn providers_are_shared_between_requests() {
        fn send_sync<T: Send + Sync>(_: &T) {}
        fn send<T: Send>(_: T) {}
        let world = world();
        send_sync(&world.providers);
        send(world.providers.start("people/idp", plain_start()));
        send(
            world
                .providers
                .finish("people/idp", callback(), expected(), NOW),
        );
    }

    // --- assurance ---

    fn logged_in(acr: Option<&str>, claims: Value) -> LoggedIn {
        LoggedIn {
            subject: "s".into(),
            acr: acr.map(str::to_owned),
            claims: claims.as_object().unwrap().clone(),
        }
    }

    #[test]
    fn assurance_by_acr_and_by_claim() {
        let by_acr = Assurance {
            acr: vec!["loa3".into(), "loa4".into()],
            claim: None,
        };
        assert_eq!(
            assurance_met(&by_acr, &logged_in(Some("loa4"), json!({}))),
            Ok(())
        );
        assert_eq!(
            assurance_met(&by_acr, &logged_in(Some("loa2"), json!({}))).unwrap_err(),
            "the login's assurance (`acr`) is `loa2`; one of `loa3`, `loa4` is required"
        );
        assert_eq!(
            assurance_met(&by_acr, &logged_in(None, json!({}))).unwrap_err(),
            "the provider did not say how the person signed in (no `acr`); one of `loa3`, \
             `loa4` is required"
        );

        let by_claim = Assurance {
            acr: vec![],
            claim: Some(ClaimAssurance {
                claim: "identity_assurance_level".into(),
                values: vec![json!(3), json!("high")],
            }),
        };
        for good in [
            json!(3),
            json!("3"),
            json!(3.0),
            json!("3.0"),
            json!("high"),
        ] {
            let person = logged_in(None, json!({"identity_assurance_level": good}));
            assert_eq!(assurance_met(&by_claim, &person), Ok(()), "{good}");
        }
        for bad in [
            json!(2),
            json!("03"),
            json!(" 3"),
            json!("3."),
            json!(true),
            json!([3]),
        ] {
            let person = logged_in(None, json!({"identity_assurance_level": bad}));
            assert_eq!(
                assurance_met(&by_claim, &person).unwrap_err(),
                "the login's claim `identity_assurance_level` is not one of 3, `high`",
                "{bad}"
            );
        }
        assert_eq!(
            assurance_met(&by_claim, &logged_in(None, json!({}))).unwrap_err(),
            "the login has no claim `identity_assurance_level`, which must be one of 3, `high`"
        );
        // A nested claim, by its `$` path.
        let nested = Assurance {
            acr: vec![],
            claim: Some(ClaimAssurance {
                claim: "$.verified_claims.verification.level".into(),
                values: vec![json!("ial3")],
            }),
        };
        let person = logged_in(
            None,
            json!({"verified_claims": {"verification": {"level": "ial3"}}}),
        );
        assert_eq!(assurance_met(&nested, &person), Ok(()));
        let person = logged_in(None, json!({"verified_claims": {"verification": {}}}));
        assert!(assurance_met(&nested, &person).is_err());
        // Both parts must hold.
        let both = Assurance {
            acr: vec!["loa3".into()],
            claim: by_claim.claim.clone(),
        };
        let person = logged_in(Some("loa3"), json!({"identity_assurance_level": "2"}));
        assert!(assurance_met(&both, &person).is_err());
        assert!(assurance_met(&Assurance::default(), &logged_in(None, json!({}))).is_ok());
    }
}
