//! The OpenID4VP authorization request: its parameters (the compiled DCQL query, the response URI
//! and mode, the request's own encryption key), by value under `redirect_uri:` or as a request
//! object signed under the verifier's certificate chain.

use serde_json::{Map, Value, json};

use super::*;
use crate::domain::{Internal, Issuer};
use crate::jwe;
use crate::presented::{self};
use crate::store::{Presentation, PresentationState};

/// Why a request object cannot be served.
#[derive(Debug)]
pub enum RequestObjectError {
    /// No pending request of that id (unknown, answered, expired, or a `redirect_uri:` request
    /// that goes by value).
    NotFound,
    Internal(Internal),
}

impl Issuer {
    /// The URL a wallet opens to answer a presentation request: by reference for the `x509_*`
    /// prefixes, by value (unsigned) for `redirect_uri:`.
    pub fn authorization_request_url(
        &self,
        presentation: &Presentation,
        credential: &str,
    ) -> Result<String, Internal> {
        let client_id = self.client_id(&presentation.id);
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("client_id", &client_id);
        match self.verifier.prefix {
            ClientIdPrefix::RedirectUri => {
                for (name, value) in
                    self.request_parameters(presentation, credential, &client_id)?
                {
                    let text = match value {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    if name != "client_id" {
                        query.append_pair(&name, &text);
                    }
                }
            }
            ClientIdPrefix::X509SanDns | ClientIdPrefix::X509Hash => {
                query.append_pair("request_uri", &self.request_uri(&presentation.id));
                query.append_pair("request_uri_method", "post");
            }
        }
        Ok(format!("openid4vp://?{}", query.finish()))
    }

    /// The authorization request's parameters (OpenID4VP 1.0 §5): what the request object signs.
    fn request_parameters(
        &self,
        presentation: &Presentation,
        credential: &str,
        client_id: &str,
    ) -> Result<Map<String, Value>, Internal> {
        let query = self
            .compiled
            .credential(credential)
            .and_then(|c| c.kind.dcql_query.as_ref())
            .ok_or_else(|| Internal::new(format!("`{credential}` has no DCQL query")))?;
        let mut client_metadata = json!({
            "vp_formats_supported": {
                "dc+sd-jwt": {
                    "sd-jwt_alg_values": presented::ALGORITHMS,
                    "kb-jwt_alg_values": presented::ALGORITHMS,
                }
            }
        });
        if self.verifier.response_mode == ResponseMode::DirectPostJwt {
            let key = self.response_key(&presentation.id);
            client_metadata["jwks"] = json!({"keys": [jwe::public_jwk(&key, RESPONSE_KEY_ID)]});
            client_metadata["encrypted_response_enc_values_supported"] =
                json!(RESPONSE_ENCRYPTIONS);
        }
        let mut parameters = Map::new();
        parameters.insert("client_id".into(), client_id.into());
        parameters.insert("response_type".into(), "vp_token".into());
        parameters.insert(
            "response_mode".into(),
            self.verifier.response_mode.name().into(),
        );
        parameters.insert(
            "response_uri".into(),
            self.response_uri(&presentation.id).into(),
        );
        parameters.insert("nonce".into(), presentation.nonce.clone().into());
        parameters.insert("state".into(), presentation.id.clone().into());
        parameters.insert(
            "dcql_query".into(),
            serde_json::to_value(query).map_err(|e| Internal::new(e.to_string()))?,
        );
        parameters.insert("client_metadata".into(), client_metadata);
        Ok(parameters)
    }

    /// The signed request object of a pending request (`oauth-authz-req+jwt`, `x5c`), with the
    /// wallet's `wallet_nonce` when it sent one.
    pub async fn request_object(
        &self,
        presentation_id: &str,
        wallet_nonce: Option<&str>,
    ) -> Result<String, RequestObjectError> {
        if self.verifier.prefix == ClientIdPrefix::RedirectUri {
            return Err(RequestObjectError::NotFound);
        }
        let now = self.clock.now();
        let presentation = self
            .store
            .presentation(presentation_id)
            .await
            .map_err(|e| RequestObjectError::Internal(e.into()))?
            .filter(|p| p.state == PresentationState::Pending && p.expires_at > now)
            .ok_or(RequestObjectError::NotFound)?;
        let offer = self
            .store
            .offer(&presentation.offer_id)
            .await
            .map_err(|e| RequestObjectError::Internal(e.into()))?
            .ok_or(RequestObjectError::NotFound)?;
        let client_id = self.client_id(&presentation.id);
        let mut payload = self
            .request_parameters(&presentation, &offer.credential, &client_id)
            .map_err(RequestObjectError::Internal)?;
        payload.insert("aud".into(), "https://self-issued.me/v2".into());
        payload.insert("iat".into(), now.into());
        payload.insert("exp".into(), presentation.expires_at.into());
        if let Some(nonce) = wallet_nonce {
            payload.insert("wallet_nonce".into(), nonce.into());
        }
        let chain = self.verifier.certificate.as_ref().ok_or_else(|| {
            RequestObjectError::Internal(Internal::new("the verifier has no certificate".into()))
        })?;
        let header = json!({
            "alg": "ES256",
            "typ": "oauth-authz-req+jwt",
            "x5c": chain.x5c(),
        });
        Ok(self.key.sign_jwt_with(&header, &Value::Object(payload)))
    }

    /// This request's response decryption key: derived from the issuer key and the request id,
    /// so every instance sharing the key can read the response without storing a private key.
    pub(super) fn response_key(&self, presentation_id: &str) -> p256::SecretKey {
        jwe::session_key(
            &self.key.derive_secret("openid4vp response encryption"),
            presentation_id,
        )
    }
}
