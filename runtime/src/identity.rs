//! Who the issuer is in the credentials it signs: an `iss` its governance names for the build's
//! environment, so that a verifier following the same governance trusts it.
//!
//! For each credential type, among the identifiers of `--participant` (the participant this
//! instance is): an https identifier equal to the public URL (its keys at
//! `/.well-known/jwt-vc-issuer`), else a `did:web` (its DID document served here, the header's
//! `kid` a DID URL of it), else the public URL itself — which a verifier following the governance
//! will not trust, so the runtime says so when it starts.
//!
//! A `did:web` names a host (`did:web:dev.credentials.gov.bc.example`); where that host is served
//! is the deployment's business (DNS, a reverse proxy). On a development machine or in a test a
//! verifier maps it to a loopback address with `--resolve HOST=URL`; the trust decision still
//! uses the governance identifier.

use serde_json::{Value, json};
use trustc_artifact::CredentialType;

use crate::keys::IssuerKey;

/// The `iss` and header `kid` of one credential type's credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub iss: String,
    /// The header's `kid`: the key's id, or for a DID the DID URL of its verification method.
    pub kid: String,
    /// Whether the governance names `iss` (else it is the public URL, untrusted by others).
    pub named_by_governance: bool,
}

/// The identity of `credential`'s credentials issued at `public_url` (no trailing `/`) by
/// `participant`. Without one (an instance serving every participant of a governance, as in a
/// quick local trial) the instance is none of them in particular: its credentials name the
/// public URL.
pub fn choose(
    credential: &CredentialType,
    participant: Option<&str>,
    public_url: &str,
    key: &IssuerKey,
) -> Identity {
    let Some(participant) = participant else {
        return Identity {
            iss: public_url.to_owned(),
            kid: key.kid().to_owned(),
            named_by_governance: false,
        };
    };
    let identifiers: Vec<&str> = credential
        .issuers
        .iter()
        .filter(|i| i.participant == participant)
        .flat_map(|i| i.identifiers.iter().map(String::as_str))
        .collect();
    if let Some(url) = identifiers
        .iter()
        .find(|id| id.trim_end_matches('/') == public_url)
    {
        return Identity {
            iss: (*url).to_owned(),
            kid: key.kid().to_owned(),
            named_by_governance: true,
        };
    }
    if let Some(did) = identifiers.iter().find(|id| id.starts_with("did:web:")) {
        return Identity {
            iss: (*did).to_owned(),
            kid: format!("{did}#{}", key.kid()),
            named_by_governance: true,
        };
    }
    Identity {
        iss: public_url.to_owned(),
        kid: key.kid().to_owned(),
        named_by_governance: false,
    }
}

/// Where the document of a `did:web` without a path is served.
pub const ROOT_DID_PATH: &str = "/.well-known/did.json";

/// Where a `did:web` DID's document is served, as a path on its host: `/.well-known/did.json`,
/// or `/<path>/did.json` for `did:web:host:path…`. `None` for anything else.
pub fn did_web_path(did: &str) -> Option<String> {
    let rest = did.strip_prefix("did:web:")?;
    let mut parts = rest.split(':');
    parts.next().filter(|host| !host.is_empty())?;
    let path: Vec<&str> = parts.collect();
    if path.is_empty() {
        Some(ROOT_DID_PATH.to_owned())
    } else if path.iter().all(|p| !p.is_empty() && !p.contains('/')) {
        Some(format!("/{}/did.json", path.join("/")))
    } else {
        None
    }
}

/// The DID document of a `did:web` issuer: its signing key as a JsonWebKey2020 verification
/// method, for assertions (credentials).
pub fn did_document(did: &str, key: &IssuerKey) -> Value {
    let method = format!("{did}#{}", key.kid());
    json!({
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"],
        "id": did,
        "verificationMethod": [{
            "id": method,
            "type": "JsonWebKey2020",
            "controller": did,
            "publicKeyJwk": key.public_jwk(),
        }],
        "assertionMethod": [method],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use trustc_artifact::IssuerConfig;

    /// The shipped example's Person credential (dev), as the build's golden snapshot holds it.
    fn person() -> CredentialType {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/snapshots/build/example/issuer__config.json.snap"
        );
        let snapshot = std::fs::read_to_string(path).unwrap();
        let config: IssuerConfig =
            serde_json::from_str(snapshot.splitn(3, "---\n").nth(2).unwrap()).unwrap();
        config.credential("person").unwrap().clone()
    }

    #[test]
    fn the_participant_signs_as_an_identifier_its_governance_names() {
        let key = IssuerKey::generate();
        let mut person = person();
        let province = "bc-digital-identity/bc-gov";
        // dev: a did:web, with the key named by its DID URL.
        let chosen = choose(&person, Some(province), "http://127.0.0.1:8080", &key);
        let did = "did:web:dev.credentials.gov.bc.example";
        assert_eq!(chosen.iss, did);
        assert_eq!(chosen.kid, format!("{did}#{}", key.kid()));
        assert!(chosen.named_by_governance);
        // An https identifier equal to the public URL wins over a did:web.
        person.issuers[0].identifiers = vec![
            did.to_owned(),
            "https://credentials.gov.bc.example".to_owned(),
        ];
        let chosen = choose(
            &person,
            Some(province),
            "https://credentials.gov.bc.example",
            &key,
        );
        assert_eq!(chosen.iss, "https://credentials.gov.bc.example");
        assert_eq!(chosen.kid, key.kid());
        // No usable identifier, another participant, or none named: the public URL, untrusted.
        person.issuers[0].identifiers = vec!["https://elsewhere.example".to_owned()];
        for participant in [Some(province), Some("lsbc-membership/lsbc"), None] {
            let chosen = choose(&person, participant, "https://issuer.example", &key);
            assert_eq!(chosen.iss, "https://issuer.example");
            assert!(!chosen.named_by_governance);
        }
    }

    #[test]
    fn did_web_paths() {
        assert_eq!(
            did_web_path("did:web:dev.credentials.gov.bc.example").as_deref(),
            Some("/.well-known/did.json")
        );
        assert_eq!(
            did_web_path("did:web:example.com:issuers:bc").as_deref(),
            Some("/issuers/bc/did.json")
        );
        assert_eq!(did_web_path("did:web:"), None);
        assert_eq!(did_web_path("https://example.com"), None);
    }
}
