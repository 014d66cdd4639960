//! Fetching and caching what a trusted issuer publishes: its keys and its status lists, only
//! for a [`TrustedIssuer`] (which only [`super::admit`] makes), only from the issuer's own
//! origins (or the `--resolve` address that stands for them), at most every
//! [`REFETCH_INTERVAL`] on the verifier's own account.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use trustc_artifact::values::quoted_list;
use url::{Origin, Url};

use crate::domain::fetch::{Fetch, Fetched};
use crate::jose::{self, KeySource, Policy, TimeRules, describe, show};
use crate::status::{STATUS_LIST_MEDIA_TYPE, STATUS_LIST_TYP, StatusList};

use super::{ResolveOverride, Source, TrustedIssuer};

/// The shortest time between two fetches of one issuer's keys (or one status list) that the
/// verifier makes on its own account: after a failure, and when a token names a `kid` the cached
/// keys lack. Bad tokens cannot make it fetch more often than this.
pub const REFETCH_INTERVAL: i64 = 30;

/// A reasonable [`Trust::new`] key lifetime: how long fetched keys are used, in seconds.
pub const DEFAULT_KEY_LIFETIME: i64 = 300;

/// The clock skew accepted on a status list token's `iat`, `exp` and `nbf`, in seconds.
const STATUS_SKEW: i64 = 60;

/// At most this many status lists are cached; beyond it the one that expires first goes.
const MAX_CACHED_LISTS: usize = 256;

const METADATA_ACCEPT: &str = "application/json";
const DID_ACCEPT: &str = "application/did+json, application/did+ld+json, application/json;q=0.9";
const JWKS_ACCEPT: &str = "application/jwk-set+json, application/json;q=0.9";

/// JWK members that carry private or symmetric key material (as [`crate::jose`] refuses them).
const PRIVATE_JWK_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

// -------------------------------------------------------------------------------------------
// Problems
// -------------------------------------------------------------------------------------------

/// Why a trusted issuer's keys could not be had. `Display` names the URL and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyProblem {
    /// The identifier is of a kind whose keys this verifier does not find (`did:key`, …).
    Unsupported {
        iss: String,
        reason: String,
    },
    /// A `did:jwk` whose key does not decode.
    BadDidJwk {
        did: String,
        reason: String,
    },
    /// Nothing usable came back (no connection, timeout, redirect, too large).
    Unreachable {
        reason: String,
    },
    NotOk {
        url: String,
        status: u16,
    },
    NotJson {
        url: String,
        reason: String,
    },
    /// The SD-JWT VC issuer metadata names another `issuer`.
    WrongIssuer {
        url: String,
        expected: String,
        found: String,
    },
    /// The DID document's `id` is another DID.
    WrongDocumentId {
        url: String,
        expected: String,
        found: String,
    },
    /// The metadata has no key set, or a malformed one.
    BadKeySet {
        url: String,
        reason: String,
    },
    /// The metadata's `jwks_uri` is not on the issuer's origin.
    KeySetElsewhere {
        url: String,
        jwks_uri: String,
        allowed: Vec<String>,
    },
    /// A published key has private members; the whole set is refused.
    PrivateKeyMaterial {
        url: String,
        key: String,
        members: Vec<String>,
    },
    /// No key trustc can verify with (EC P-256 or Ed25519, for signatures). `url` is the DID for
    /// a `did:jwk`.
    NoUsableKey {
        url: String,
        reason: String,
    },
}

impl fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyProblem::Unsupported { iss, reason } => write!(
                f,
                "the keys of the issuer `{}` cannot be found: {reason}",
                show(iss)
            ),
            KeyProblem::BadDidJwk { did, reason } => write!(
                f,
                "the issuer `{}` is not a usable did:jwk: {reason}",
                show(did)
            ),
            KeyProblem::Unreachable { reason } => {
                write!(f, "the issuer's keys could not be fetched: {reason}")
            }
            KeyProblem::NotOk { url, status } => write!(
                f,
                "{url} answered HTTP {status}, not 200, when asked for the issuer's keys"
            ),
            KeyProblem::NotJson { url, reason } => {
                write!(f, "{url} did not answer a JSON object: {reason}")
            }
            KeyProblem::WrongIssuer {
                url,
                expected,
                found,
            } => write!(
                f,
                "the SD-JWT VC issuer metadata at {url} has `issuer` {found}, not `{}`: it is \
                 not this issuer's",
                show(expected)
            ),
            KeyProblem::WrongDocumentId {
                url,
                expected,
                found,
            } => write!(
                f,
                "the DID document at {url} has `id` {found}, not `{}`: it is not this DID's",
                show(expected)
            ),
            KeyProblem::BadKeySet { url, reason } => {
                write!(f, "the issuer's keys at {url} are unusable: {reason}")
            }
            KeyProblem::KeySetElsewhere {
                url,
                jwks_uri,
                allowed,
            } => write!(
                f,
                "the SD-JWT VC issuer metadata at {url} has `jwks_uri` `{}`, which is not on the \
                 issuer's origin ({}); keys are only fetched from the issuer itself",
                show(jwks_uri),
                quoted_list(allowed)
            ),
            KeyProblem::PrivateKeyMaterial { url, key, members } => write!(
                f,
                "the key {key} at {url} contains private key material ({}): the issuer's keys \
                 are refused until it publishes public keys only",
                quoted_list(members)
            ),
            KeyProblem::NoUsableKey { url, reason } => write!(
                f,
                "{url} has no key this verifier can use (EC P-256 or Ed25519, for signatures): \
                 {reason}"
            ),
        }
    }
}

impl std::error::Error for KeyProblem {}

/// Why a status list entry could not be read. `Display` names the URL and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusProblem {
    /// The credential's `status_list.uri` is not a URL.
    NotAUrl {
        uri: String,
        reason: String,
    },
    /// The URI is not on the issuer's origin: refused before anything is fetched.
    NotOnIssuerOrigin {
        uri: String,
        issuer: String,
        allowed: Vec<String>,
    },
    /// The issuer's keys, which verify the token, could not be had.
    Keys(KeyProblem),
    /// Nothing usable came back (no connection, timeout, redirect, too large).
    Unreachable {
        reason: String,
    },
    NotOk {
        url: String,
        status: u16,
    },
    /// The token was refused: not a JWS, wrong `typ`, bad signature, expired, no `iat`, …
    Token {
        url: String,
        reason: String,
    },
    /// The token's `sub` is not the URI it was fetched for.
    WrongSubject {
        url: String,
        expected: String,
        found: String,
    },
    /// The token's `status_list` is missing or does not decode.
    BadList {
        url: String,
        reason: String,
    },
    /// The credential's index is beyond the list.
    IndexOutOfRange {
        uri: String,
        idx: u64,
        entries: usize,
    },
}

impl fmt::Display for StatusProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusProblem::NotAUrl { uri, reason } => write!(
                f,
                "the credential's status list URI `{}` is not a URL: {reason}",
                show(uri)
            ),
            StatusProblem::NotOnIssuerOrigin {
                uri,
                issuer,
                allowed,
            } => {
                if allowed.is_empty() {
                    write!(
                        f,
                        "the credential's status list URI `{}` cannot be checked: the issuer \
                         `{}` has no web origin to serve status lists from",
                        show(uri),
                        show(issuer)
                    )
                } else {
                    write!(
                        f,
                        "the credential's status list URI `{}` is not on the issuer's origin \
                         ({}); status lists are only fetched from the issuer itself",
                        show(uri),
                        quoted_list(allowed)
                    )
                }
            }
            StatusProblem::Keys(problem) => {
                write!(f, "the status list could not be verified: {problem}")
            }
            StatusProblem::Unreachable { reason } => {
                write!(f, "the status list could not be fetched: {reason}")
            }
            StatusProblem::NotOk { url, status } => write!(
                f,
                "{url} answered HTTP {status}, not 200, when asked for the status list"
            ),
            StatusProblem::Token { url, reason } => {
                write!(f, "the status list token at {url} is refused: {reason}")
            }
            StatusProblem::WrongSubject {
                url,
                expected,
                found,
            } => write!(
                f,
                "the status list token at {url} has `sub` {found}, not `{}`: it is another list",
                show(expected)
            ),
            StatusProblem::BadList { url, reason } => {
                write!(f, "the status list token at {url} is unusable: {reason}")
            }
            StatusProblem::IndexOutOfRange { uri, idx, entries } => write!(
                f,
                "the credential's status list index {idx} is beyond the {entries} entries of \
                 the list at {}",
                show(uri)
            ),
        }
    }
}

impl std::error::Error for StatusProblem {}

// -------------------------------------------------------------------------------------------
// Fetching and caching
// -------------------------------------------------------------------------------------------

/// A cached outcome: a success until `until`, a failure for [`REFETCH_INTERVAL`].
struct Cached<T, E> {
    result: Result<T, E>,
    fetched_at: i64,
    until: i64,
}

/// A list's cache key: the issuer it was verified for, and its URI.
type ListKey = (String, String);

/// Cached key sets, by issuer identifier.
type KeyCache = HashMap<String, Cached<Arc<Vec<Value>>, KeyProblem>>;

/// Cached status lists.
type ListCache = HashMap<ListKey, Cached<Arc<StatusList>, StatusProblem>>;

/// The trusted issuers' keys and status lists, fetched on demand through a [`Fetch`] and cached.
/// Shared by every request (`Send + Sync`); at most one fetch of a given thing is under way at a
/// time, the others wait for its outcome.
pub struct Trust {
    fetch: Arc<dyn Fetch>,
    overrides: Vec<ResolveOverride>,
    key_lifetime: i64,
    keys: Mutex<KeyCache>,
    lists: Mutex<ListCache>,
    /// One lock per thing being fetched (`keys <iss>`, `list <iss> <uri>`).
    in_flight: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl fmt::Debug for Trust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trust")
            .field("overrides", &self.overrides)
            .field("key_lifetime", &self.key_lifetime)
            .finish_non_exhaustive()
    }
}

/// Locks a cache, whether or not another thread panicked holding it (the maps stay consistent:
/// each change is one insert or remove).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Trust {
    /// Fetches through `fetch`, sending a governance host's fetches where `overrides` say, and
    /// uses fetched keys for `key_lifetime_seconds` (status lists for their `ttl`, at most as
    /// long).
    pub fn new(
        fetch: Arc<dyn Fetch>,
        overrides: Vec<ResolveOverride>,
        key_lifetime_seconds: i64,
    ) -> Trust {
        Trust {
            fetch,
            overrides,
            key_lifetime: key_lifetime_seconds,
            keys: Mutex::new(HashMap::new()),
            lists: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    /// The issuer's public JWKs (each with the `kid` its tokens name), cached per issuer for the
    /// key lifetime; a failure is remembered for [`REFETCH_INTERVAL`].
    ///
    /// - an https identifier `https://host[/path]`: its SD-JWT VC issuer metadata at
    ///   `https://host/.well-known/jwt-vc-issuer[/path]`, whose `issuer` must be the identifier,
    ///   with `jwks` inline or at a `jwks_uri` on the issuer's origin;
    /// - `did:web`: the DID document (`id` must be the DID); the `publicKeyJwk`s of its
    ///   `assertionMethod`s, each with `kid` = the verification method's absolute DID URL;
    /// - `did:jwk`: the JWK in the identifier, `kid` = `<did>#0`; nothing is fetched.
    ///
    /// A set with any private key material is refused whole; keys that cannot verify ES256 or
    /// EdDSA signatures are left out.
    pub async fn keys(
        &self,
        issuer: &TrustedIssuer,
        now: i64,
    ) -> Result<Arc<Vec<Value>>, KeyProblem> {
        self.keys_for(issuer, None, now).await
    }

    /// [`Trust::keys`] for a token whose header names `kid`: when the cached keys have no such
    /// key (the issuer may have rotated), they are fetched again, unless they were fetched less
    /// than [`REFETCH_INTERVAL`] ago; then the cached keys are returned as they are, and the
    /// verifier refuses the token for its unknown `kid`.
    pub async fn keys_with_kid(
        &self,
        issuer: &TrustedIssuer,
        kid: &str,
        now: i64,
    ) -> Result<Arc<Vec<Value>>, KeyProblem> {
        self.keys_for(issuer, Some(kid), now).await
    }

    /// The status of entry `idx` of the status list at `uri` (the credential's
    /// `status.status_list`), as the issuer signed it.
    ///
    /// `uri` must be on the issuer's origin (its https origin; for `did:web`, `https://<host>`;
    /// with an override, the local base too), or it is refused before anything is fetched. The
    /// token (`application/statuslist+jwt`) must verify with the issuer's keys (`typ`
    /// `statuslist+jwt`, `iat` present, `exp` not passed), and its `sub` must be `uri`. It is
    /// cached for its `ttl`, at most the key lifetime and never past its `exp`.
    pub async fn status(
        &self,
        issuer: &TrustedIssuer,
        uri: &str,
        idx: u64,
        now: i64,
    ) -> Result<u8, StatusProblem> {
        let url = Url::parse(uri).map_err(|e| StatusProblem::NotAUrl {
            uri: uri.to_owned(),
            reason: e.to_string(),
        })?;
        let allowed = self.origins(issuer);
        if !allowed.contains(&url.origin()) {
            return Err(StatusProblem::NotOnIssuerOrigin {
                uri: uri.to_owned(),
                issuer: issuer.identifier.clone(),
                allowed: allowed.iter().map(Origin::ascii_serialization).collect(),
            });
        }
        let key = (issuer.identifier.clone(), uri.to_owned());
        let list = match self.cached_list(&key, now) {
            Some(result) => result,
            None => {
                let _turn = self
                    .one_at_a_time(format!("list {} {uri}", issuer.identifier))
                    .await;
                match self.cached_list(&key, now) {
                    Some(result) => result,
                    None => {
                        let (result, until) = self.fetch_list(issuer, uri, &url, now).await;
                        let until = if result.is_ok() {
                            until
                        } else {
                            now.saturating_add(REFETCH_INTERVAL)
                        };
                        self.remember_list(key, result.clone(), now, until);
                        result
                    }
                }
            }
        }?;
        usize::try_from(idx)
            .ok()
            .and_then(|i| list.get(i))
            .ok_or(StatusProblem::IndexOutOfRange {
                uri: uri.to_owned(),
                idx,
                entries: list.len(),
            })
    }

    // --- keys ---

    async fn keys_for(
        &self,
        issuer: &TrustedIssuer,
        kid: Option<&str>,
        now: i64,
    ) -> Result<Arc<Vec<Value>>, KeyProblem> {
        match &issuer.source {
            Source::DidJwk => return did_jwk_keys(&issuer.identifier).map(Arc::new),
            Source::Unsupported(reason) => {
                return Err(KeyProblem::Unsupported {
                    iss: issuer.identifier.clone(),
                    reason: reason.clone(),
                });
            }
            Source::Metadata { .. } | Source::DidWeb { .. } => {}
        }
        let id = &issuer.identifier;
        if let Some(result) = self.cached_keys(id, kid, now) {
            return result;
        }
        let _turn = self.one_at_a_time(format!("keys {id}")).await;
        // Another request may have fetched them while this one waited.
        if let Some(result) = self.cached_keys(id, kid, now) {
            return result;
        }
        let result = self.fetch_keys(issuer).await.map(Arc::new);
        let until = match &result {
            Ok(_) => now.saturating_add(self.key_lifetime),
            Err(_) => now.saturating_add(REFETCH_INTERVAL),
        };
        lock(&self.keys).insert(
            id.clone(),
            Cached {
                result: result.clone(),
                fetched_at: now,
                until,
            },
        );
        result
    }

    /// The cached outcome for `id`, unless it must be fetched (again).
    fn cached_keys(
        &self,
        id: &str,
        kid: Option<&str>,
        now: i64,
    ) -> Option<Result<Arc<Vec<Value>>, KeyProblem>> {
        let keys = lock(&self.keys);
        let cached = keys.get(id).filter(|c| now < c.until)?;
        if let (Ok(set), Some(kid)) = (&cached.result, kid) {
            let known = set
                .iter()
                .any(|k| k.get("kid").and_then(Value::as_str) == Some(kid));
            if !known && now.saturating_sub(cached.fetched_at) >= REFETCH_INTERVAL {
                return None;
            }
        }
        Some(cached.result.clone())
    }

    async fn fetch_keys(&self, issuer: &TrustedIssuer) -> Result<Vec<Value>, KeyProblem> {
        match &issuer.source {
            Source::Metadata { metadata, .. } => self.metadata_keys(issuer, metadata).await,
            Source::DidWeb { document, .. } => self.did_web_keys(issuer, document).await,
            Source::DidJwk => did_jwk_keys(&issuer.identifier),
            Source::Unsupported(reason) => Err(KeyProblem::Unsupported {
                iss: issuer.identifier.clone(),
                reason: reason.clone(),
            }),
        }
    }

    /// SD-JWT VC issuer metadata: `issuer`, then `jwks` or `jwks_uri`.
    async fn metadata_keys(
        &self,
        issuer: &TrustedIssuer,
        metadata_url: &Url,
    ) -> Result<Vec<Value>, KeyProblem> {
        let url = self.target(metadata_url).to_string();
        let metadata = self.get_json(metadata_url, METADATA_ACCEPT).await?;
        match metadata.get("issuer") {
            Some(Value::String(named)) if *named == issuer.identifier => {}
            other => {
                return Err(KeyProblem::WrongIssuer {
                    url,
                    expected: issuer.identifier.clone(),
                    found: other.map_or_else(|| "missing".to_owned(), describe),
                });
            }
        }
        match (metadata.get("jwks"), metadata.get("jwks_uri")) {
            (Some(jwks), None) => {
                let keys = key_set(jwks, &url)?;
                usable_keys(keys, &url)
            }
            (None, Some(Value::String(jwks_uri))) => {
                let allowed = self.origins(issuer);
                let target = Url::parse(jwks_uri)
                    .ok()
                    .filter(|u| allowed.contains(&u.origin()));
                let Some(target) = target else {
                    return Err(KeyProblem::KeySetElsewhere {
                        url,
                        jwks_uri: jwks_uri.clone(),
                        allowed: allowed.iter().map(Origin::ascii_serialization).collect(),
                    });
                };
                let jwks_url = self.target(&target).to_string();
                let jwks = self.get_json(&target, JWKS_ACCEPT).await?;
                let keys = key_set(&Value::Object(jwks), &jwks_url)?;
                usable_keys(keys, &jwks_url)
            }
            (None, Some(other)) => Err(KeyProblem::BadKeySet {
                url,
                reason: format!("`jwks_uri` is {}, not a URL string", describe(other)),
            }),
            (Some(_), Some(_)) => Err(KeyProblem::BadKeySet {
                url,
                reason: "it has both `jwks` and `jwks_uri`, which SD-JWT VC forbids".to_owned(),
            }),
            (None, None) => Err(KeyProblem::BadKeySet {
                url,
                reason: "it has neither `jwks` nor `jwks_uri`".to_owned(),
            }),
        }
    }

    /// A did:web document: `id`, then the keys of its `assertionMethod`s.
    async fn did_web_keys(
        &self,
        issuer: &TrustedIssuer,
        document_url: &Url,
    ) -> Result<Vec<Value>, KeyProblem> {
        let url = self.target(document_url).to_string();
        let did = issuer.identifier.as_str();
        let document = self.get_json(document_url, DID_ACCEPT).await?;
        match document.get("id") {
            Some(Value::String(id)) if id == did => {}
            other => {
                return Err(KeyProblem::WrongDocumentId {
                    url,
                    expected: did.to_owned(),
                    found: other.map_or_else(|| "missing".to_owned(), describe),
                });
            }
        }
        let absolute = |id: &str| match id.strip_prefix('#') {
            Some(fragment) => format!("{did}#{fragment}"),
            None => id.to_owned(),
        };
        let methods: Vec<&Map<String, Value>> = document
            .get("verificationMethod")
            .and_then(Value::as_array)
            .map(|all| all.iter().filter_map(Value::as_object).collect())
            .unwrap_or_default();
        let Some(assertion) = document.get("assertionMethod").and_then(Value::as_array) else {
            return Err(KeyProblem::NoUsableKey {
                url,
                reason: "the DID document has no `assertionMethod` array".to_owned(),
            });
        };
        let mut keys = Vec::new();
        for entry in assertion {
            let method = match entry {
                Value::String(reference) => {
                    let wanted = absolute(reference);
                    methods.iter().copied().find(|m| {
                        m.get("id").and_then(Value::as_str).map(absolute).as_deref()
                            == Some(wanted.as_str())
                    })
                }
                Value::Object(embedded) => Some(embedded),
                _ => None,
            };
            let Some(method) = method else { continue };
            let Some(id) = method.get("id").and_then(Value::as_str).map(absolute) else {
                continue;
            };
            // A method of another DID does not speak for this one.
            if !id.starts_with(&format!("{did}#")) {
                continue;
            }
            if let Some(Value::Object(jwk)) = method.get("publicKeyJwk") {
                let mut jwk = jwk.clone();
                jwk.insert("kid".to_owned(), Value::String(id));
                keys.push(Value::Object(jwk));
            }
        }
        if keys.is_empty() {
            return Err(KeyProblem::NoUsableKey {
                url,
                reason: format!(
                    "none of its {} `assertionMethod` entries is a verification method of \
                     `{}` with a `publicKeyJwk`",
                    assertion.len(),
                    show(did)
                ),
            });
        }
        usable_keys(keys, &url)
    }

    /// Fetches `url` (through the overrides) and reads a JSON object.
    async fn get_json(&self, url: &Url, accept: &str) -> Result<Map<String, Value>, KeyProblem> {
        let target = self.target(url);
        let shown = target.to_string();
        let fetched = self
            .fetch
            .get(&target, accept)
            .await
            .map_err(|e| KeyProblem::Unreachable { reason: e.0 })?;
        if fetched.status != 200 {
            return Err(KeyProblem::NotOk {
                url: shown,
                status: fetched.status,
            });
        }
        match serde_json::from_slice::<Value>(&fetched.body) {
            Ok(Value::Object(members)) => Ok(members),
            Ok(other) => Err(KeyProblem::NotJson {
                url: shown,
                reason: format!("it is {}", describe(&other)),
            }),
            Err(e) => Err(KeyProblem::NotJson {
                url: shown,
                reason: show(&e.to_string()),
            }),
        }
    }

    // --- status lists ---

    fn cached_list(
        &self,
        key: &ListKey,
        now: i64,
    ) -> Option<Result<Arc<StatusList>, StatusProblem>> {
        lock(&self.lists)
            .get(key)
            .filter(|c| now < c.until)
            .map(|c| c.result.clone())
    }

    fn remember_list(
        &self,
        key: ListKey,
        result: Result<Arc<StatusList>, StatusProblem>,
        now: i64,
        until: i64,
    ) {
        let mut lists = lock(&self.lists);
        if lists.len() >= MAX_CACHED_LISTS && !lists.contains_key(&key) {
            lists.retain(|_, c| now < c.until);
            if lists.len() >= MAX_CACHED_LISTS {
                let first = lists
                    .iter()
                    .min_by_key(|(_, c)| c.until)
                    .map(|(k, _)| k.clone());
                if let Some(first) = first {
                    lists.remove(&first);
                }
            }
        }
        lists.insert(
            key,
            Cached {
                result,
                fetched_at: now,
                until,
            },
        );
    }

    /// Fetches and verifies the token at `url` (the issuer's `uri`); the list and how long it
    /// may be cached.
    async fn fetch_list(
        &self,
        issuer: &TrustedIssuer,
        uri: &str,
        url: &Url,
        now: i64,
    ) -> (Result<Arc<StatusList>, StatusProblem>, i64) {
        let target = self.target(url);
        let shown = target.to_string();
        let fetched = match self.fetch.get(&target, STATUS_LIST_MEDIA_TYPE).await {
            Ok(fetched) if fetched.status == 200 => fetched,
            Ok(Fetched { status, .. }) => {
                return (Err(StatusProblem::NotOk { url: shown, status }), now);
            }
            Err(e) => return (Err(StatusProblem::Unreachable { reason: e.0 }), now),
        };
        let token = String::from_utf8_lossy(&fetched.body);
        let token = token.trim();
        let keys = match unverified_kid(token) {
            Some(kid) => self.keys_with_kid(issuer, &kid, now).await,
            None => self.keys(issuer, now).await,
        };
        let keys = match keys {
            Ok(keys) => keys,
            Err(problem) => return (Err(StatusProblem::Keys(problem)), now),
        };
        let policy = Policy {
            subject: "status list token",
            typ: &[STATUS_LIST_TYP],
            algorithms: &jose::VERIFIABLE,
            critical: &[],
            key: KeySource::KeySet(&keys),
            audience: None,
            time: TimeRules {
                now,
                // `iat` is required, of any age: `exp` and `ttl` say how long the list holds.
                max_age: Some(i64::MAX),
                skew: STATUS_SKEW,
            },
        };
        // A status list token grows with its list: the size of the fetch bounds it.
        let verified = match jose::verify_sized(token, &policy, usize::MAX) {
            Ok(verified) => verified,
            Err(e) => {
                return (
                    Err(StatusProblem::Token {
                        url: shown,
                        reason: e.0,
                    }),
                    now,
                );
            }
        };
        let claims = verified.claims;
        match claims.get("sub") {
            Some(Value::String(sub)) if sub == uri => {}
            other => {
                return (
                    Err(StatusProblem::WrongSubject {
                        url: shown,
                        expected: uri.to_owned(),
                        found: other.map_or_else(|| "missing".to_owned(), describe),
                    }),
                    now,
                );
            }
        }
        let list = match claims.get("status_list").map(StatusList::from_claim) {
            Some(Ok(list)) => list,
            Some(Err(reason)) => return (Err(StatusProblem::BadList { url: shown, reason }), now),
            None => {
                return (
                    Err(StatusProblem::BadList {
                        url: shown,
                        reason: "it has no `status_list` claim".to_owned(),
                    }),
                    now,
                );
            }
        };
        let ttl = claims
            .get("ttl")
            .and_then(Value::as_i64)
            .map_or(self.key_lifetime, |ttl| ttl.min(self.key_lifetime));
        let mut until = now.saturating_add(ttl.max(0));
        if let Some(exp) = claims.get("exp").and_then(Value::as_i64) {
            until = until.min(exp);
        }
        (Ok(Arc::new(list)), until)
    }

    // --- shared ---

    /// The origins the issuer serves from: its identifier's (none for `did:jwk`), and the local
    /// base an override maps that host to.
    fn origins(&self, issuer: &TrustedIssuer) -> Vec<Origin> {
        let Some(origin) = issuer.source.origin() else {
            return Vec::new();
        };
        let mut origins = vec![origin.origin()];
        if let Some(mapped) = self.override_for(origin) {
            origins.push(mapped.base.origin());
        }
        origins
    }

    fn override_for(&self, url: &Url) -> Option<&ResolveOverride> {
        let host = url.host_str()?;
        self.overrides.iter().find(|o| o.host == host)
    }

    /// Where `url` is fetched from: itself, or where an override sends its host. Problems name
    /// this URL, the one that answered.
    fn target(&self, url: &Url) -> Url {
        match self.override_for(url) {
            Some(mapped) => mapped.rewrite(url),
            None => url.clone(),
        }
    }

    /// Waits until no other fetch of `what` is under way; holding the guard, this one is.
    async fn one_at_a_time(&self, what: String) -> InFlight<'_> {
        let mutex = lock(&self.in_flight)
            .entry(what.clone())
            .or_default()
            .clone();
        let guard = mutex.lock_owned().await;
        InFlight {
            trust: self,
            what,
            guard: Some(guard),
        }
    }
}

/// The turn of one fetch; dropping it lets the next waiter go and forgets the lock when no one
/// waits for it.
struct InFlight<'a> {
    trust: &'a Trust,
    what: String,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.guard = None;
        let mut in_flight = lock(&self.trust.in_flight);
        if in_flight
            .get(&self.what)
            .is_some_and(|mutex| Arc::strong_count(mutex) == 1)
        {
            in_flight.remove(&self.what);
        }
    }
}

/// The `kid` a compact JWS's header names, read without verifying anything: which key to ask
/// [`Trust::keys_with_kid`] for, never a reason to believe the token.
pub fn unverified_kid(jws: &str) -> Option<String> {
    let header = jws.split('.').next()?;
    let bytes = URL_SAFE_NO_PAD.decode(header).ok()?;
    let header: Value = serde_json::from_slice(&bytes).ok()?;
    header.get("kid")?.as_str().map(str::to_owned)
}

/// `{"keys": [...]}` → its keys.
fn key_set(jwks: &Value, url: &str) -> Result<Vec<Value>, KeyProblem> {
    match jwks.get("keys") {
        Some(Value::Array(keys)) => Ok(keys.clone()),
        _ => Err(KeyProblem::BadKeySet {
            url: url.to_owned(),
            reason: "the key set is not a JSON object with a `keys` array".to_owned(),
        }),
    }
}

/// Refuses a set with private key material; keeps the keys that can verify ES256 (EC P-256) or
/// EdDSA (Ed25519) signatures.
fn usable_keys(keys: Vec<Value>, url: &str) -> Result<Vec<Value>, KeyProblem> {
    for (index, key) in keys.iter().enumerate() {
        let private: Vec<String> = PRIVATE_JWK_MEMBERS
            .into_iter()
            .filter(|m| key.get(*m).is_some())
            .map(str::to_owned)
            .collect();
        if !private.is_empty() {
            let key = match key.get("kid").and_then(Value::as_str) {
                Some(kid) => format!("`{}`", show(kid)),
                None => format!("#{}", index + 1),
            };
            return Err(KeyProblem::PrivateKeyMaterial {
                url: url.to_owned(),
                key,
                members: private,
            });
        }
    }
    let total = keys.len();
    let usable: Vec<Value> = keys.into_iter().filter(verifiable).collect();
    if usable.is_empty() {
        return Err(KeyProblem::NoUsableKey {
            url: url.to_owned(),
            reason: format!("it has {total} key(s), none of them one"),
        });
    }
    Ok(usable)
}

/// An EC P-256 or OKP Ed25519 JWK, not restricted to another use or algorithm.
fn verifiable(key: &Value) -> bool {
    let text = |name: &str| key.get(name).and_then(Value::as_str);
    let kind = matches!(
        (text("kty"), text("crv")),
        (Some("EC"), Some("P-256")) | (Some("OKP"), Some("Ed25519"))
    );
    let for_signing = text("use").is_none_or(|u| u == "sig");
    let algorithm = text("alg").is_none_or(|a| jose::VERIFIABLE.contains(&a));
    kind && for_signing && algorithm
}

/// `did:jwk:<base64url JWK>` → the JWK, with `kid` `<did>#0`.
pub(super) fn did_jwk_keys(did: &str) -> Result<Vec<Value>, KeyProblem> {
    let bad = |reason: String| KeyProblem::BadDidJwk {
        did: did.to_owned(),
        reason,
    };
    let encoded = did.strip_prefix("did:jwk:").unwrap_or_default();
    let bytes = URL_SAFE_NO_PAD
        .decode(encoded.trim_end_matches('='))
        .map_err(|e| bad(format!("its identifier is not base64url ({e})")))?;
    let Ok(Value::Object(mut jwk)) = serde_json::from_slice::<Value>(&bytes) else {
        return Err(bad(
            "its identifier does not decode to a JSON object".to_owned()
        ));
    };
    jwk.insert("kid".to_owned(), Value::String(format!("{did}#0")));
    usable_keys(vec![Value::Object(jwk)], did)
}
