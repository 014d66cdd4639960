//! Whether a presented credential's issuer is trusted, and what it takes to believe it.
//!
//! A prerequisite (`lawyer` needs a `person` credential) names the participants it trusts, with
//! their identifiers in the build's environment; each participant's framework lists what it may
//! issue. [`admit`] decides on the governance alone, with nothing fetched: the presented `iss`
//! must be one of those identifiers, and the participant must be authorised for that credential
//! type. Only then does anything leave the machine: [`Trust`] fetches the admitted issuer's
//! public keys ([`Trust::keys`]: SD-JWT VC issuer metadata for an https identifier, the DID
//! document for `did:web`, nothing for `did:jwk`) and its status lists ([`Trust::status`], only
//! from the issuer's own origin), and caches both. Its methods take a [`TrustedIssuer`], which
//! only [`admit`] makes, so an issuer the governance does not trust cannot make the verifier
//! fetch anything.
//!
//! For development and tests, a [`ResolveOverride`] sends the fetches for a governance host to a
//! local address (like curl's `--resolve`); the decision is still made on the governance
//! identifier.
//!
//! The decision is this module's; fetching and caching are the private `fetched` module's.

mod fetched;

pub use fetched::{
    DEFAULT_KEY_LIFETIME, KeyProblem, REFETCH_INTERVAL, StatusProblem, Trust, unverified_kid,
};

use std::fmt;
use std::str::FromStr;

use trustc_artifact::values::quoted_list;
use trustc_artifact::{IssuerConfig, Prerequisite};
use url::{Host, Url};

use crate::domain::fetch::is_loopback;
use crate::jose::show;

// -------------------------------------------------------------------------------------------
// Overrides
// -------------------------------------------------------------------------------------------

/// Maps a governance identifier's host to a local address, for development and tests (like
/// curl's `--resolve`): written `HOST=URL`, such as
/// `dev.credentials.gov.bc.example=http://127.0.0.1:8081`.
///
/// Every fetch for `HOST` (issuer metadata, DID document, key set, status list) goes to `URL`'s
/// scheme, host and port instead, with its path and query kept. `URL` must be http(s) on a
/// loopback address, so an override can only point at this machine. The trust decision is still
/// made on the governance identifier ([`admit`]); only where the bytes come from changes. The
/// serve command refuses overrides with `--env prod`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveOverride {
    host: String,
    base: Url,
}

impl ResolveOverride {
    /// The governance host whose fetches are redirected (lowercase, or an IP address).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The local origin they go to (`http://127.0.0.1:8081/`).
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// `url` with its scheme, host and port replaced by the base's.
    fn rewrite(&self, url: &Url) -> Url {
        let mut target = self.base.clone();
        target.set_path(url.path());
        target.set_query(url.query());
        target
    }
}

impl FromStr for ResolveOverride {
    type Err = String;

    fn from_str(text: &str) -> Result<ResolveOverride, String> {
        let example = "such as `dev.credentials.gov.bc.example=http://127.0.0.1:8081`";
        let Some((host, target)) = text.split_once('=') else {
            return Err(format!("`{text}` is not HOST=URL, {example}"));
        };
        if host.is_empty() {
            return Err(format!("`{text}` has no host before `=`, {example}"));
        }
        let host = Host::parse(host)
            .map_err(|e| format!("`{host}` is not a host name ({e}); write HOST=URL, {example}"))?
            .to_string();
        let base = Url::parse(target)
            .map_err(|e| format!("`{target}` is not a URL ({e}); write HOST=URL, {example}"))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(format!(
                "`{target}` must be an http or https URL, {example}"
            ));
        }
        if !is_loopback(&base) {
            return Err(format!(
                "`{target}` is not a loopback address (127.0.0.0/8, [::1], localhost): an \
                 override may only send fetches to this machine"
            ));
        }
        if base.path() != "/"
            || base.query().is_some()
            || base.fragment().is_some()
            || !base.username().is_empty()
            || base.password().is_some()
        {
            return Err(format!(
                "`{target}` must be an origin alone (scheme, host and port), {example}: the \
                 fetched URL's path is kept"
            ));
        }
        Ok(ResolveOverride { host, base })
    }
}

impl fmt::Display for ResolveOverride {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}={}",
            self.host,
            self.base.as_str().trim_end_matches('/')
        )
    }
}

// -------------------------------------------------------------------------------------------
// The trust decision
// -------------------------------------------------------------------------------------------

/// An issuer [`admit`] found trusted for a prerequisite. Only [`admit`] makes one, so whatever
/// takes it ([`Trust::keys`], [`Trust::status`]) acts for a trusted issuer only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedIssuer {
    identifier: String,
    participant: String,
    credential: String,
    source: Source,
}

impl TrustedIssuer {
    /// The governance identifier, equal to the credential's `iss`.
    pub fn identifier(&self) -> &str {
        &self.identifier
    }

    /// The participant it belongs to, `<framework>/<participant>`.
    pub fn participant(&self) -> &str {
        &self.participant
    }

    /// The credential type it was admitted for, `<framework>/<credential>`.
    pub fn credential(&self) -> &str {
        &self.credential
    }
}

/// Where an issuer's keys are published, worked out from its identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    /// An https identifier: its SD-JWT VC issuer metadata at `metadata`; `origin` is the
    /// identifier's.
    Metadata { metadata: Url, origin: Url },
    /// `did:web`: the DID document at `document`, on `https://<host>`.
    DidWeb { document: Url, origin: Url },
    /// `did:jwk`: the key is the identifier.
    DidJwk,
    /// An identifier whose keys this verifier cannot find, and why.
    Unsupported(String),
}

impl Source {
    fn of(identifier: &str) -> Source {
        if let Some(id) = identifier.strip_prefix("did:web:") {
            return did_web(identifier, id);
        }
        if identifier.starts_with("did:jwk:") {
            return Source::DidJwk;
        }
        if identifier.starts_with("https://") {
            return match Url::parse(identifier) {
                Ok(url)
                    if url.query().is_none()
                        && url.fragment().is_none()
                        && url.username().is_empty()
                        && url.password().is_none()
                        && url.host().is_some() =>
                {
                    let origin = origin_url(&url);
                    let path = url.path().trim_end_matches('/');
                    match origin.join(&format!("/.well-known/jwt-vc-issuer{path}")) {
                        Ok(metadata) => Source::Metadata { metadata, origin },
                        Err(e) => Source::Unsupported(format!("its metadata URL is invalid ({e})")),
                    }
                }
                Ok(_) => Source::Unsupported(
                    "an https identifier with a query, fragment or user name has no SD-JWT VC \
                     issuer metadata"
                        .to_owned(),
                ),
                Err(e) => Source::Unsupported(format!("it is not a valid URL ({e})")),
            };
        }
        Source::Unsupported(
            "keys are found for https identifiers (SD-JWT VC issuer metadata), did:web and \
             did:jwk only"
                .to_owned(),
        )
    }

    /// The web origin the issuer serves from, when it has one.
    fn origin(&self) -> Option<&Url> {
        match self {
            Source::Metadata { origin, .. } | Source::DidWeb { origin, .. } => Some(origin),
            Source::DidJwk | Source::Unsupported(_) => None,
        }
    }
}

/// `did:web:host[%3Aport][:path…]` → `https://host[:port]/.well-known/did.json` or
/// `https://host[:port]/path…/did.json` (the did:web method specification).
fn did_web(did: &str, id: &str) -> Source {
    let unsupported = |why: &str| Source::Unsupported(format!("`{did}` is not a did:web {why}"));
    let mut parts = id.split(':');
    let authority = parts.next().unwrap_or_default();
    let path: Vec<&str> = parts.collect();
    let (host, port) = match authority
        .split_once("%3A")
        .or_else(|| authority.split_once("%3a"))
    {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    if !host_ok {
        return unsupported("whose host is a domain name");
    }
    if port.is_some_and(|p| p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit())) {
        return unsupported("whose port (after `%3A`) is a number");
    }
    let segment_ok = |s: &&str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b))
    };
    if !path.iter().all(segment_ok) {
        return unsupported("whose path segments are non-empty and URL-safe");
    }
    let origin = match port {
        Some(port) => format!("https://{host}:{port}/"),
        None => format!("https://{host}/"),
    };
    let document = match path.as_slice() {
        [] => format!("{origin}.well-known/did.json"),
        segments => format!("{origin}{}/did.json", segments.join("/")),
    };
    match (Url::parse(&origin), Url::parse(&document)) {
        (Ok(origin), Ok(document)) => Source::DidWeb { document, origin },
        (Err(e), _) | (_, Err(e)) => unsupported(&format!("that maps to a valid URL ({e})")),
    }
}

/// `https://host[:port]/` of `url`.
fn origin_url(url: &Url) -> Url {
    let mut origin = url.clone();
    origin.set_path("/");
    origin.set_query(None);
    origin.set_fragment(None);
    origin
}

/// Why a presented credential's issuer is not trusted for a prerequisite. `Display` is the
/// sentence a wallet's developer reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Untrusted {
    /// `iss` is none of the identifiers the rule's trusted issuers have in this environment.
    NotTrustedByRule {
        iss: String,
        /// The prerequisite's id.
        rule: String,
        /// Every identifier the rule trusts here.
        trusted: Vec<String>,
    },
    /// `iss` belongs to a participant the rule names, but its framework's trust list does not
    /// authorise it (with that identifier) to issue the credential type.
    NotAuthorised {
        iss: String,
        /// `<framework>/<participant>`.
        participant: String,
        /// `<framework>/<credential>`.
        credential: String,
    },
}

impl fmt::Display for Untrusted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Untrusted::NotTrustedByRule { iss, rule, trusted } if trusted.is_empty() => write!(
                f,
                "the credential's issuer `{}` is not trusted: the rule `{rule}` names no issuer \
                 with an identifier in this environment",
                show(iss)
            ),
            Untrusted::NotTrustedByRule { iss, rule, trusted } => write!(
                f,
                "the credential's issuer `{}` is not one the rule `{rule}` trusts; it trusts {}",
                show(iss),
                quoted_list(trusted)
            ),
            Untrusted::NotAuthorised {
                iss,
                participant,
                credential,
            } => write!(
                f,
                "the credential's issuer `{}` is participant `{participant}`, which the trust \
                 list of its framework does not authorise to issue `{credential}`",
                show(iss)
            ),
        }
    }
}

impl std::error::Error for Untrusted {}

/// Decides, on the compiled governance alone, whether `iss` may have issued the credential
/// `prerequisite` asks for: `iss` is exactly one of the identifiers of a participant in
/// `prerequisite.trusted_issuers` (the build environment's), and that participant's framework
/// in `config` lists it, with that identifier, as issuing `prerequisite.credential`.
///
/// Nothing is fetched. The [`TrustedIssuer`] it returns is what [`Trust`] fetches for.
pub fn admit(
    config: &IssuerConfig,
    prerequisite: &Prerequisite,
    iss: &str,
) -> Result<TrustedIssuer, Untrusted> {
    let mut candidates = prerequisite
        .trusted_issuers
        .iter()
        .filter(|trusted| trusted.identifiers.iter().any(|id| id == iss))
        .peekable();
    let Some(first) = candidates.peek().map(|c| c.participant.clone()) else {
        return Err(Untrusted::NotTrustedByRule {
            iss: iss.to_owned(),
            rule: prerequisite.id.clone(),
            trusted: prerequisite
                .trusted_issuers
                .iter()
                .flat_map(|t| t.identifiers.iter().cloned())
                .collect(),
        });
    };
    let authorised = |participant: &str| {
        let framework = participant.split_once('/').map(|(f, _)| f);
        config
            .frameworks
            .iter()
            .filter(|f| Some(f.id.as_str()) == framework)
            .flat_map(|f| &f.participants)
            .any(|p| {
                p.id == participant
                    && p.identifiers.iter().any(|id| id == iss)
                    && p.issues.contains(&prerequisite.credential)
            })
    };
    match candidates.find(|c| authorised(&c.participant)) {
        Some(trusted) => Ok(TrustedIssuer {
            identifier: iss.to_owned(),
            participant: trusted.participant.clone(),
            credential: prerequisite.credential.clone(),
            source: Source::of(iss),
        }),
        None => Err(Untrusted::NotAuthorised {
            iss: iss.to_owned(),
            participant: first,
            credential: prerequisite.credential.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    //! The decision on the shipped example's compiled configuration, override parsing and where
    //! each identifier's keys are looked for. Fetching and caching against a real server:
    //! `runtime/tests/trust.rs`.
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;

    use super::fetched::did_jwk_keys;
    use super::*;
    use trustc_artifact::Environment;

    /// The shipped example's compiled configuration (dev), as its golden snapshot holds it.
    fn example() -> IssuerConfig {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/snapshots/build/example/issuer__config.json.snap"
        );
        let snapshot = std::fs::read_to_string(path).unwrap();
        // insta's header: `---`, metadata, `---`, then the file.
        let body = snapshot.splitn(3, "---\n").nth(2).unwrap();
        serde_json::from_str(body).unwrap()
    }

    fn person_rule(config: &IssuerConfig) -> Prerequisite {
        let lawyer = config
            .credentials
            .iter()
            .find(|c| c.id == "lawyer")
            .unwrap();
        lawyer.prerequisites[0].clone()
    }

    const PROVINCE: &str = "did:web:dev.credentials.gov.bc.example";
    const LAW_SOCIETY: &str = "did:web:dev.credentials.lawsociety.bc.example";

    #[test]
    fn the_example_trusts_the_province_for_the_person_credential() {
        let config = example();
        assert_eq!(config.environment, Environment::Dev);
        let rule = person_rule(&config);
        let trusted = admit(&config, &rule, PROVINCE).unwrap();
        assert_eq!(trusted.identifier(), PROVINCE);
        assert_eq!(trusted.participant(), "bc-digital-identity/bc-gov");
        assert_eq!(trusted.credential(), "bc-digital-identity/person");
        assert_eq!(
            trusted.source,
            Source::DidWeb {
                document: Url::parse("https://dev.credentials.gov.bc.example/.well-known/did.json")
                    .unwrap(),
                origin: Url::parse("https://dev.credentials.gov.bc.example/").unwrap(),
            }
        );
    }

    #[test]
    fn an_issuer_the_rule_does_not_name_is_untrusted() {
        let config = example();
        let rule = person_rule(&config);
        for iss in [
            // The Law Society is a participant, but not one this rule trusts.
            LAW_SOCIETY,
            // The province's production identifiers are not trusted in a dev build.
            "did:web:credentials.gov.bc.example",
            "https://credentials.gov.bc.example",
            // Exactly the identifier: no case folding, no trailing characters.
            "did:web:DEV.credentials.gov.bc.example",
            "did:web:dev.credentials.gov.bc.example:x",
            "",
        ] {
            let refused = admit(&config, &rule, iss).unwrap_err();
            assert_eq!(
                refused,
                Untrusted::NotTrustedByRule {
                    iss: iss.to_owned(),
                    rule: "person".to_owned(),
                    trusted: vec![PROVINCE.to_owned()],
                }
            );
        }
        assert_eq!(
            admit(&config, &rule, LAW_SOCIETY).unwrap_err().to_string(),
            "the credential's issuer `did:web:dev.credentials.lawsociety.bc.example` is not one \
             the rule `person` trusts; it trusts `did:web:dev.credentials.gov.bc.example`"
        );
        let mut nobody = rule.clone();
        nobody.trusted_issuers[0].identifiers.clear();
        assert_eq!(
            admit(&config, &nobody, PROVINCE).unwrap_err().to_string(),
            "the credential's issuer `did:web:dev.credentials.gov.bc.example` is not trusted: \
             the rule `person` names no issuer with an identifier in this environment"
        );
    }

    #[test]
    fn a_participant_its_framework_does_not_authorise_is_untrusted() {
        let config = example();
        let rule = person_rule(&config);

        // The framework's trust list no longer lists the province as issuing Person.
        let mut withdrawn = config.clone();
        withdrawn.frameworks[0].participants[0].issues.clear();
        let expected = Untrusted::NotAuthorised {
            iss: PROVINCE.to_owned(),
            participant: "bc-digital-identity/bc-gov".to_owned(),
            credential: "bc-digital-identity/person".to_owned(),
        };
        assert_eq!(admit(&withdrawn, &rule, PROVINCE).unwrap_err(), expected);
        assert_eq!(
            expected.to_string(),
            "the credential's issuer `did:web:dev.credentials.gov.bc.example` is participant \
             `bc-digital-identity/bc-gov`, which the trust list of its framework does not \
             authorise to issue `bc-digital-identity/person`"
        );

        // A rule that trusts the Law Society for Person: the Law Society issues Lawyers only.
        let mut misplaced = rule.clone();
        misplaced.trusted_issuers[0].participant = "lsbc-membership/lsbc".to_owned();
        misplaced.trusted_issuers[0].identifiers = vec![LAW_SOCIETY.to_owned()];
        assert_eq!(
            admit(&config, &misplaced, LAW_SOCIETY).unwrap_err(),
            Untrusted::NotAuthorised {
                iss: LAW_SOCIETY.to_owned(),
                participant: "lsbc-membership/lsbc".to_owned(),
                credential: "bc-digital-identity/person".to_owned(),
            }
        );

        // The rule lists an identifier the framework's trust list does not have.
        let mut stray = rule.clone();
        stray.trusted_issuers[0]
            .identifiers
            .push("did:web:stray.example".to_owned());
        assert!(matches!(
            admit(&config, &stray, "did:web:stray.example").unwrap_err(),
            Untrusted::NotAuthorised { .. }
        ));
        admit(&config, &stray, PROVINCE).unwrap();
    }

    #[test]
    fn overrides_are_loopback_origins() {
        let parsed: ResolveOverride = "Dev.Credentials.gov.bc.example=http://127.0.0.1:8081"
            .parse()
            .unwrap();
        assert_eq!(parsed.host(), "dev.credentials.gov.bc.example");
        assert_eq!(parsed.base().as_str(), "http://127.0.0.1:8081/");
        assert_eq!(
            parsed.to_string(),
            "dev.credentials.gov.bc.example=http://127.0.0.1:8081"
        );
        assert_eq!(
            parsed
                .rewrite(&Url::parse("https://dev.credentials.gov.bc.example/a/b?c=d").unwrap())
                .as_str(),
            "http://127.0.0.1:8081/a/b?c=d"
        );
        for fine in [
            "issuer.example=https://localhost:8443/",
            "issuer.example=http://[::1]:9",
            "10.1.2.3=http://127.0.0.2",
        ] {
            fine.parse::<ResolveOverride>().unwrap();
        }
        for (text, reason) in [
            ("issuer.example", "is not HOST=URL"),
            ("=http://127.0.0.1:1", "has no host before `=`"),
            (
                "issuer.example:443=http://127.0.0.1:1",
                "is not a host name",
            ),
            ("issuer.example=127.0.0.1:8081", "is not a URL"),
            (
                "issuer.example=ftp://127.0.0.1/",
                "must be an http or https URL",
            ),
            (
                "issuer.example=http://192.168.1.2:8081",
                "is not a loopback address",
            ),
            (
                "issuer.example=https://evil.example",
                "is not a loopback address",
            ),
            (
                "issuer.example=http://localhost.evil.example",
                "is not a loopback address",
            ),
            (
                "issuer.example=http://127.0.0.1:8081/base",
                "must be an origin alone",
            ),
            (
                "issuer.example=http://u:p@127.0.0.1:8081",
                "must be an origin alone",
            ),
        ] {
            let refused = text.parse::<ResolveOverride>().unwrap_err();
            assert!(refused.contains(reason), "{text}: {refused}");
        }
    }

    #[test]
    fn where_each_identifier_publishes_its_keys() {
        let metadata = |m: &str, o: &str| Source::Metadata {
            metadata: Url::parse(m).unwrap(),
            origin: Url::parse(o).unwrap(),
        };
        let did_web = |d: &str, o: &str| Source::DidWeb {
            document: Url::parse(d).unwrap(),
            origin: Url::parse(o).unwrap(),
        };
        assert_eq!(
            Source::of("https://credentials.gov.bc.example"),
            metadata(
                "https://credentials.gov.bc.example/.well-known/jwt-vc-issuer",
                "https://credentials.gov.bc.example/"
            )
        );
        assert_eq!(
            Source::of("https://issuer.example:8443/tenants/bc/"),
            metadata(
                "https://issuer.example:8443/.well-known/jwt-vc-issuer/tenants/bc",
                "https://issuer.example:8443/"
            )
        );
        assert_eq!(
            Source::of("did:web:dev.credentials.gov.bc.example"),
            did_web(
                "https://dev.credentials.gov.bc.example/.well-known/did.json",
                "https://dev.credentials.gov.bc.example/"
            )
        );
        assert_eq!(
            Source::of("did:web:issuer.example%3A8443:users:alice"),
            did_web(
                "https://issuer.example:8443/users/alice/did.json",
                "https://issuer.example:8443/"
            )
        );
        assert_eq!(Source::of("did:jwk:eyJ9"), Source::DidJwk);
        for unsupported in [
            "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
            "http://issuer.example",
            "https://issuer.example/?q",
            "did:web:",
            "did:web:evil.example@issuer.example",
            "did:web:issuer.example%3Ax",
            "did:web:issuer.example::x",
            "did:web:issuer.example:a/b",
        ] {
            assert!(
                matches!(Source::of(unsupported), Source::Unsupported(_)),
                "{unsupported}: {:?}",
                Source::of(unsupported)
            );
        }
    }

    #[test]
    fn a_did_jwk_is_its_own_key() {
        let jwk = json!({"kty": "OKP", "crv": "Ed25519",
                         "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        let did = format!("did:jwk:{}", URL_SAFE_NO_PAD.encode(jwk.to_string()));
        let keys = did_jwk_keys(&did).unwrap();
        assert_eq!(keys[0]["kid"], format!("{did}#0"));
        assert_eq!(keys[0]["x"], jwk["x"]);

        let private = json!({"kty": "EC", "crv": "P-256", "x": "a", "y": "b", "d": "c"});
        let did = format!("did:jwk:{}", URL_SAFE_NO_PAD.encode(private.to_string()));
        assert!(matches!(
            did_jwk_keys(&did).unwrap_err(),
            KeyProblem::PrivateKeyMaterial { members, .. } if members == ["d"]
        ));
        let rsa = json!({"kty": "RSA", "n": "a", "e": "AQAB"});
        let did = format!("did:jwk:{}", URL_SAFE_NO_PAD.encode(rsa.to_string()));
        assert!(matches!(
            did_jwk_keys(&did).unwrap_err(),
            KeyProblem::NoUsableKey { .. }
        ));
        assert!(matches!(
            did_jwk_keys("did:jwk:***").unwrap_err(),
            KeyProblem::BadDidJwk { .. }
        ));
    }

    #[test]
    fn the_kid_of_a_token_is_read_without_trusting_it() {
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256","kid":"did:web:x#k1"}"#);
        assert_eq!(
            unverified_kid(&format!("{header}.e30.sig")).as_deref(),
            Some("did:web:x#k1")
        );
        assert_eq!(unverified_kid("not a token"), None);
        let no_kid = URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256"}"#);
        assert_eq!(unverified_kid(&format!("{no_kid}.e30.sig")), None);
    }
}
