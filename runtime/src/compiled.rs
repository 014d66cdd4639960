//! The compiled governance the runtime enforces: `issuer/config.json` and the OpenID4VCI metadata
//! that `trustc build` wrote, read from an output folder or handed over in memory, checked to agree
//! with the routes this runtime answers on, and moved to the public URL wallets see.
//!
//! Everything the request handlers need per credential (compiled patterns, which claims are
//! disclosable, the proof algorithms the metadata advertises) is prepared once here, so the hot
//! path does no parsing.

use std::collections::HashMap;
use std::path::Path;

use regex::Regex;
use serde_json::Value;
use trustc_artifact::{CredentialFormat, CredentialType, IssuerConfig};

/// Where `trustc build` writes the files the runtime reads, relative to the output folder.
pub const CONFIG_PATH: &str = "issuer/config.json";
pub const ISSUER_METADATA_PATH: &str = ".well-known/openid-credential-issuer";
pub const AUTHORIZATION_SERVER_METADATA_PATH: &str = ".well-known/oauth-authorization-server";

/// The routes of the runtime below the credential issuer identifier; the compiled metadata must
/// name exactly these.
pub const TOKEN_PATH: &str = "/token";
pub const NONCE_PATH: &str = "/nonce";
pub const CREDENTIAL_PATH: &str = "/credential";
pub const STATUS_LISTS_PATH: &str = "/status-lists";
pub const CREDENTIAL_OFFERS_PATH: &str = "/credential-offers";
/// The OAuth 2.0 first-party apps authorization challenge endpoint, through which a wallet
/// presents a credential's prerequisites during issuance; named by the authorization server
/// metadata when a credential has prerequisites.
pub const AUTHORIZATION_CHALLENGE_PATH: &str = "/authorize-challenge";

/// The proof algorithms accepted when a configuration does not list its own.
const DEFAULT_PROOF_ALGORITHMS: [&str; 2] = ["ES256", "EdDSA"];

/// Why the compiled configuration cannot be served.
#[derive(Debug)]
pub struct LoadError(pub String);

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LoadError {}

/// One credential type the runtime issues, with what its handlers need ready to use.
#[derive(Debug)]
pub struct Credential {
    pub kind: CredentialType,
    /// Compiled `pattern` of each attribute that has one, by attribute name.
    pub patterns: HashMap<String, Regex>,
    /// The claims issued as disclosures (`_sd`); every other claim is plain.
    pub disclosable: Vec<String>,
    /// `proof_types_supported.jwt.proof_signing_alg_values_supported` of its configuration.
    pub proof_algorithms: Vec<&'static str>,
}

/// The compiled governance, moved to the public URL.
#[derive(Debug)]
pub struct Compiled {
    pub config: IssuerConfig,
    /// `/.well-known/openid-credential-issuer`, as served.
    pub issuer_metadata: Value,
    /// `/.well-known/oauth-authorization-server`, as served.
    pub authorization_server_metadata: Value,
    /// The two documents serialised once, so serving them costs no JSON work (and, being
    /// shared bytes, no copy) per request.
    pub issuer_metadata_json: bytes::Bytes,
    pub authorization_server_metadata_json: bytes::Bytes,
    credentials: HashMap<String, Credential>,
}

impl Compiled {
    /// Reads a `trustc build` output folder.
    pub fn from_dir(dir: &Path, public_url: &str) -> Result<Compiled, LoadError> {
        if !dir.join(CONFIG_PATH).is_file() {
            return Err(LoadError(format!(
                "`{}` is not a trustc build output: it has no `{CONFIG_PATH}` (build one with \
                 `trustc build --out {}`)",
                dir.display(),
                dir.display()
            )));
        }
        Compiled::from_files(
            |path| {
                std::fs::read(dir.join(path)).map_err(|e| {
                    LoadError(format!("cannot read `{}`: {e}", dir.join(path).display()))
                })
            },
            public_url,
        )
    }

    /// Reads the compiled files through `read` (a path relative to the build output, `/`-separated).
    pub fn from_files(
        read: impl Fn(&str) -> Result<Vec<u8>, LoadError>,
        public_url: &str,
    ) -> Result<Compiled, LoadError> {
        let text = String::from_utf8(read(CONFIG_PATH)?)
            .map_err(|_| LoadError(format!("`{CONFIG_PATH}` is not UTF-8 text")))?;
        let config = IssuerConfig::from_json(&text)
            .map_err(|e| LoadError(format!("`{CONFIG_PATH}`: {e}")))?;
        let json = |path: &str| -> Result<Value, LoadError> {
            serde_json::from_slice(&read(path)?)
                .map_err(|e| LoadError(format!("`{path}` is not JSON: {e}")))
        };
        let issuer_metadata = json(ISSUER_METADATA_PATH)?;
        let authorization_server_metadata = json(AUTHORIZATION_SERVER_METADATA_PATH)?;
        Compiled::new(
            config,
            issuer_metadata,
            authorization_server_metadata,
            public_url,
        )
    }

    fn new(
        mut config: IssuerConfig,
        mut issuer_metadata: Value,
        mut authorization_server_metadata: Value,
        public_url: &str,
    ) -> Result<Compiled, LoadError> {
        let compiled_url = config.credential_issuer.clone();
        rebase(&mut issuer_metadata, &compiled_url, public_url);
        rebase(
            &mut authorization_server_metadata,
            &compiled_url,
            public_url,
        );
        config.credential_issuer = public_url.to_string();

        let expect = |metadata: &Value, file: &str, field: &str, wanted: String| {
            let found = metadata.get(field).and_then(Value::as_str);
            if found == Some(wanted.as_str()) {
                Ok(())
            } else {
                Err(LoadError(format!(
                    "`{file}` names {} as `{field}`, but trustc serve answers at `{wanted}`; \
                     remove the template override that changed it",
                    found.map_or("nothing".to_string(), |f| format!("`{f}`"))
                )))
            }
        };
        if issuer_metadata.get("nonce_endpoint").is_none()
            && issuer_metadata
                .get("credential_configurations_supported")
                .is_some()
        {
            return Err(LoadError(format!(
                "`{ISSUER_METADATA_PATH}` has no `nonce_endpoint`: it was built with \
                 `--profile draft-13`, but trustc serve speaks OpenID4VCI 1.0; build with \
                 `--profile 1.0` (the default)"
            )));
        }
        let url = |path: &str| format!("{public_url}{path}");
        expect(
            &issuer_metadata,
            ISSUER_METADATA_PATH,
            "credential_issuer",
            public_url.to_string(),
        )?;
        expect(
            &issuer_metadata,
            ISSUER_METADATA_PATH,
            "credential_endpoint",
            url(CREDENTIAL_PATH),
        )?;
        expect(
            &issuer_metadata,
            ISSUER_METADATA_PATH,
            "nonce_endpoint",
            url(NONCE_PATH),
        )?;
        expect(
            &authorization_server_metadata,
            AUTHORIZATION_SERVER_METADATA_PATH,
            "issuer",
            public_url.to_string(),
        )?;
        expect(
            &authorization_server_metadata,
            AUTHORIZATION_SERVER_METADATA_PATH,
            "token_endpoint",
            url(TOKEN_PATH),
        )?;
        // Wallets present prerequisites at the authorization challenge endpoint: the metadata
        // must name it when a credential has prerequisites, and name this runtime's route when it
        // names one at all.
        let presentation = config
            .credentials
            .iter()
            .any(|c| c.formats.contains(&CredentialFormat::SdJwtVc) && !c.prerequisites.is_empty());
        if presentation
            || authorization_server_metadata
                .get("authorization_challenge_endpoint")
                .is_some()
        {
            expect(
                &authorization_server_metadata,
                AUTHORIZATION_SERVER_METADATA_PATH,
                "authorization_challenge_endpoint",
                url(AUTHORIZATION_CHALLENGE_PATH),
            )?;
        }

        let configurations = issuer_metadata
            .get("credential_configurations_supported")
            .and_then(Value::as_object);
        let mut credentials = HashMap::new();
        for kind in &config.credentials {
            if !kind.formats.contains(&CredentialFormat::SdJwtVc) {
                continue;
            }
            let configuration = configurations
                .and_then(|c| c.get(&kind.id))
                .ok_or_else(|| {
                    LoadError(format!(
                        "`{ISSUER_METADATA_PATH}` has no credential configuration `{}` although \
                         `{CONFIG_PATH}` issues it as dc+sd-jwt",
                        kind.id
                    ))
                })?;
            credentials.insert(kind.id.clone(), Credential::new(kind, configuration)?);
        }
        Ok(Compiled {
            config,
            issuer_metadata_json: issuer_metadata.to_string().into(),
            authorization_server_metadata_json: authorization_server_metadata.to_string().into(),
            issuer_metadata,
            authorization_server_metadata,
            credentials,
        })
    }

    /// The credential type with this OpenID4VCI configuration id, when the runtime issues it.
    pub fn credential(&self, id: &str) -> Option<&Credential> {
        self.credentials.get(id)
    }

    /// Keeps only the credential types `participant` (`<framework>/<participant>`) may issue:
    /// an instance that is one participant of a governance with several (the province, the Law
    /// Society) serves and advertises only its own.
    pub fn for_participant(mut self, participant: &str) -> Result<Compiled, LoadError> {
        let known: Vec<&str> = self
            .config
            .frameworks
            .iter()
            .flat_map(|f| f.participants.iter().map(|p| p.id.as_str()))
            .collect();
        if !known.contains(&participant) {
            return Err(LoadError(format!(
                "`{participant}` is not a participant of the governance (its participants are `{}`)",
                known.join("`, `")
            )));
        }
        self.credentials.retain(|_, credential| {
            credential
                .kind
                .issuers
                .iter()
                .any(|i| i.participant == participant)
        });
        if self.credentials.is_empty() {
            return Err(LoadError(format!(
                "`{participant}` issues no credential type over OpenID4VCI: nothing to serve"
            )));
        }
        if let Some(Value::Object(configurations)) = self
            .issuer_metadata
            .get_mut("credential_configurations_supported")
        {
            configurations.retain(|id, _| self.credentials.contains_key(id));
        }
        // The batch size advertised is the largest of the credentials this instance issues
        // (OpenID4VCI 1.0: present only when it is at least 2).
        let batch_size = self
            .credentials
            .values()
            .map(|c| c.kind.batch.size)
            .max()
            .filter(|size| *size >= 2);
        if let (Some(metadata), Some(size)) = (self.issuer_metadata.as_object_mut(), batch_size)
            && metadata.contains_key("batch_credential_issuance")
        {
            metadata.insert(
                "batch_credential_issuance".into(),
                serde_json::json!({"batch_size": size}),
            );
        } else if let Some(metadata) = self.issuer_metadata.as_object_mut() {
            metadata.remove("batch_credential_issuance");
        }
        self.issuer_metadata_json = self.issuer_metadata.to_string().into();
        Ok(self)
    }

    /// The ids of the credential types issued over OpenID4VCI, sorted.
    pub fn credential_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.credentials.keys().map(String::as_str).collect();
        ids.sort_unstable();
        ids
    }
}

impl Credential {
    fn new(kind: &CredentialType, configuration: &Value) -> Result<Credential, LoadError> {
        let mut patterns = HashMap::new();
        for attribute in &kind.attributes {
            if let Some(pattern) = &attribute.pattern {
                let regex = trustc_artifact::values::compile_pattern(pattern).map_err(|e| {
                    LoadError(format!(
                        "`{CONFIG_PATH}`: the pattern of `{}.{}` does not compile: {e}",
                        kind.id, attribute.name
                    ))
                })?;
                patterns.insert(attribute.name.clone(), regex);
            }
        }
        for prerequisite in &kind.prerequisites {
            let asked = kind
                .dcql_query
                .as_ref()
                .is_some_and(|query| query.credentials.iter().any(|c| c.id == prerequisite.id));
            if !asked {
                return Err(LoadError(format!(
                    "`{CONFIG_PATH}`: credential `{}` requires prerequisite `{}`, but its \
                     `dcql_query` does not ask for it, so no wallet could present it; the \
                     prerequisite's credential type must be issued as dc+sd-jwt \
                     (`prerequisite-not-sd-jwt`): fix the governance and rebuild with this trustc",
                    kind.id, prerequisite.id
                )));
            }
        }
        let listed = configuration
            .pointer("/proof_types_supported/jwt/proof_signing_alg_values_supported")
            .and_then(Value::as_array);
        let proof_algorithms: Vec<&'static str> = match listed {
            Some(algorithms) => DEFAULT_PROOF_ALGORITHMS
                .into_iter()
                .filter(|supported| algorithms.iter().any(|a| a == supported))
                .collect(),
            None => DEFAULT_PROOF_ALGORITHMS.to_vec(),
        };
        if proof_algorithms.is_empty() {
            return Err(LoadError(format!(
                "`{ISSUER_METADATA_PATH}`: configuration `{}` accepts no proof algorithm trustc \
                 serve verifies (ES256, EdDSA)",
                kind.id
            )));
        }
        Ok(Credential {
            kind: kind.clone(),
            patterns,
            disclosable: kind.disclosure_frame.sd.clone(),
            proof_algorithms,
        })
    }
}

/// Replaces the compiled credential issuer identifier by the public one in every string that is
/// that URL or starts with it followed by `/`, so endpoints follow the issuer.
fn rebase(value: &mut Value, from: &str, to: &str) {
    if from == to {
        return;
    }
    match value {
        Value::String(s) => {
            if s == from {
                *s = to.to_string();
            } else if let Some(rest) = s.strip_prefix(from)
                && rest.starts_with('/')
            {
                *s = format!("{to}{rest}");
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rebase(v, from, to)),
        Value::Object(map) => map.values_mut().for_each(|v| rebase(v, from, to)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const BUILT_AT: &str = "http://127.0.0.1:8080";
    const PUBLIC: &str = "https://issuer.example";

    /// A `dc+sd-jwt` credential type with `prerequisites` and `dcql_query` (JSON or null).
    fn credential(id: &str, prerequisites: Value, dcql_query: Value) -> CredentialType {
        let mut kind = json!({
            "id": id, "framework": "example", "framework_version": "1.0.0", "version": "1.0.0",
            "name": {"en": id}, "formats": ["dc+sd-jwt"], "vct": format!("https://x.example/{id}"),
            "issuers": [], "attributes": [], "claims": [], "disclosure_frame": {"_sd": []},
            "revocation": "none", "authentication": {"method": "pre-authorized-code"},
            "prerequisites": prerequisites, "display": []
        });
        if !dcql_query.is_null() {
            kind["dcql_query"] = dcql_query;
        }
        serde_json::from_value(kind).expect("a credential type")
    }

    fn person_prerequisite() -> Value {
        json!([{
            "id": "person", "credential": "ids/person", "vct": "https://x.example/person",
            "trusted_issuers": [], "claims": ["given_names"]
        }])
    }

    fn person_query() -> Value {
        json!({"credentials": [{
            "id": "person", "format": "dc+sd-jwt",
            "meta": {"vct_values": ["https://x.example/person"]},
            "claims": [{"path": ["given_names"]}]
        }]})
    }

    /// Loads a build of `credentials` made at [`BUILT_AT`], served at [`PUBLIC`], whose
    /// authorization server metadata has `challenge` as `authorization_challenge_endpoint`.
    fn load(
        credentials: Vec<CredentialType>,
        challenge: Option<&str>,
    ) -> Result<Compiled, LoadError> {
        let configurations: serde_json::Map<String, Value> = credentials
            .iter()
            .map(|c| (c.id.clone(), json!({})))
            .collect();
        let mut config = IssuerConfig {
            format: trustc_artifact::FORMAT.into(),
            content_hash: String::new(),
            environment: trustc_artifact::Environment::Dev,
            credential_issuer: BUILT_AT.into(),
            frameworks: vec![],
            credentials,
            login_providers: vec![],
        };
        config.seal();
        let issuer_metadata = json!({
            "credential_issuer": BUILT_AT,
            "credential_endpoint": format!("{BUILT_AT}/credential"),
            "nonce_endpoint": format!("{BUILT_AT}/nonce"),
            "credential_configurations_supported": configurations,
        });
        let mut authorization_server_metadata = json!({
            "issuer": BUILT_AT,
            "token_endpoint": format!("{BUILT_AT}/token"),
        });
        if let Some(endpoint) = challenge {
            authorization_server_metadata["authorization_challenge_endpoint"] = json!(endpoint);
        }
        Compiled::new(
            config,
            issuer_metadata,
            authorization_server_metadata,
            PUBLIC,
        )
    }

    #[test]
    fn the_authorization_challenge_endpoint_moves_to_the_public_url() {
        let lawyer = credential("lawyer", person_prerequisite(), person_query());
        let compiled = load(
            vec![lawyer],
            Some("http://127.0.0.1:8080/authorize-challenge"),
        )
        .expect("loads");
        assert_eq!(
            compiled.authorization_server_metadata["authorization_challenge_endpoint"],
            "https://issuer.example/authorize-challenge"
        );
        let served: Value =
            serde_json::from_slice(&compiled.authorization_server_metadata_json).unwrap();
        assert_eq!(served, compiled.authorization_server_metadata);
    }

    #[test]
    fn prerequisites_need_the_authorization_challenge_endpoint_at_its_route() {
        let lawyer = || credential("lawyer", person_prerequisite(), person_query());
        let missing = load(vec![lawyer()], None).unwrap_err().to_string();
        assert!(
            missing.contains("names nothing as `authorization_challenge_endpoint`")
                && missing.contains("https://issuer.example/authorize-challenge"),
            "{missing}"
        );
        let elsewhere = load(vec![lawyer()], Some("http://127.0.0.1:8080/challenge"))
            .unwrap_err()
            .to_string();
        assert!(
            elsewhere.contains("`https://issuer.example/challenge`"),
            "{elsewhere}"
        );
        // Without prerequisites it may be absent, but a named one must still be the route.
        let person = || credential("person", json!([]), Value::Null);
        assert!(load(vec![person()], None).is_ok());
        assert!(load(vec![person()], Some("http://127.0.0.1:8080/elsewhere")).is_err());
    }

    #[test]
    fn a_prerequisite_the_dcql_query_does_not_ask_for_is_refused() {
        let endpoint = Some("http://127.0.0.1:8080/authorize-challenge");
        let without = credential("lawyer", person_prerequisite(), Value::Null);
        let message = load(vec![without], endpoint).unwrap_err().to_string();
        assert!(
            message.contains("credential `lawyer` requires prerequisite `person`")
                && message.contains("prerequisite-not-sd-jwt"),
            "{message}"
        );
        let mut other = person_query();
        other["credentials"][0]["id"] = json!("identity");
        let mismatched = credential("lawyer", person_prerequisite(), other);
        assert!(load(vec![mismatched], endpoint).is_err());
    }

    #[test]
    fn rebase_moves_the_issuer_and_its_endpoints_only() {
        let mut metadata = json!({
            "credential_issuer": "http://127.0.0.1:8080",
            "credential_endpoint": "http://127.0.0.1:8080/credential",
            "logo": {"uri": "https://cdn.example/http://127.0.0.1:8080/x"},
            "other": "http://127.0.0.1:80800/credential",
            "list": ["http://127.0.0.1:8080/nonce"]
        });
        rebase(
            &mut metadata,
            "http://127.0.0.1:8080",
            "https://issuer.example/lsbc",
        );
        assert_eq!(
            metadata,
            json!({
                "credential_issuer": "https://issuer.example/lsbc",
                "credential_endpoint": "https://issuer.example/lsbc/credential",
                "logo": {"uri": "https://cdn.example/http://127.0.0.1:8080/x"},
                "other": "http://127.0.0.1:80800/credential",
                "list": ["https://issuer.example/lsbc/nonce"]
            })
        );
    }
}
