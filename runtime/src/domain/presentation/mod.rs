//! Presentations: the governance's prerequisites, enforced. An offer of a credential whose rules
//! name prerequisites (the Lawyer credential needs the Person credential from a trusted issuer)
//! redeems only after the holder presented them to the issuer's own OpenID4VP 1.0 verifier.
//!
//! The flow, as `@openid4vc/openid4vci` 0.4.6 and Credo implement presentation during issuance
//! (the OAuth 2.0 first-party apps authorization challenge):
//!
//! 1. [`Issuer::challenge`] without `auth_session`: the wallet names the offer (`issuer_state`)
//!    and its PKCE challenge; the issuer makes an OpenID4VP request for it and answers
//!    `insufficient_authorization` with `auth_session` and the request's URL.
//! 2. [`Issuer::request_object`]: the wallet fetches the signed request object (`x5c`, under the
//!    `x509_san_dns:` or `x509_hash:` client identifier; `redirect_uri:` requests go by value,
//!    for development only).
//! 3. [`Issuer::receive_response`]: the wallet posts its `vp_token` (`direct_post`, or encrypted
//!    to a key of this request in `direct_post.jwt`). Each presented credential is verified step
//!    by step ([`crate::presented`]): trust in its issuer first, from the governance alone,
//!    then its keys and status fetched from that issuer only, then signature, type, lifetime,
//!    disclosures, status, key binding, claims. The claims the governance copies are merged into
//!    the offer's, checked against the governance, and the presentation is answered with a
//!    `presentation_during_issuance_session`. A response is accepted once.
//! 4. [`Issuer::challenge`] with `auth_session` and that session: the authorization code.
//! 5. [`Issuer::redeem_authorization_code`]: the code, with the PKCE verifier, for an access token.
//!
//! Every verification, passed or refused, is audited with the offer ([`crate::store::Verification`]).
//!
//! Where the OpenID4VCI 1.1 draft's interactive authorization differs (the request object in
//! the challenge answer, the response posted back to the challenge endpoint as
//! `openid4vp_response`, `ia:` audiences): steps 2–3 are transport-independent here
//! (`verify_vp_token` in `response` takes the decoded `vp_token`), so that profile needs a new
//! entry point, not a new verifier.

mod challenge;
mod request;
mod response;

pub(crate) use challenge::is_pkce_value;
pub use challenge::{Challenge, ChallengeError, ChallengeRequest, CodeRequest};
pub use request::RequestObjectError;
pub use response::{Accepted, ResponseError, ResponseForm};

use std::sync::Arc;

use super::Issuer;
use super::trust::Trust;
use crate::x509::CertificateChain;

/// Where the request objects and responses of presentations are served, below the issuer.
pub const PRESENTATIONS_PATH: &str = "/presentations";
/// The most bytes of a `vp_token` (or an encrypted response) this verifier reads.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;
/// The most requests of one offer that may wait for a wallet at once (`pending`, unexpired).
/// Each visit of the holder's page from a browser without its cookie, and each authorization
/// challenge, makes a request; a holder opens the page in a browser or two. Beyond this, a new
/// request is refused (429) until the first of them expires.
pub const MAX_PENDING_PRESENTATIONS_PER_OFFER: i64 = 10;
/// The `kid` of a request's response encryption key.
const RESPONSE_KEY_ID: &str = "response-encryption";
/// The content encryptions accepted for `direct_post.jwt`.
const RESPONSE_ENCRYPTIONS: [&str; 2] = ["A128GCM", "A256GCM"];

/// How the verifier names itself to wallets (OpenID4VP 1.0 §5.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientIdPrefix {
    /// `x509_san_dns:<host>`: a signed request whose certificate names the public URL's host.
    X509SanDns,
    /// `x509_hash:<sha-256 of the certificate>`: a signed request.
    X509Hash,
    /// `redirect_uri:<response URI>`: an unsigned request (the verifier is not authenticated),
    /// for development only.
    RedirectUri,
}

impl ClientIdPrefix {
    pub fn name(self) -> &'static str {
        match self {
            ClientIdPrefix::X509SanDns => "x509_san_dns",
            ClientIdPrefix::X509Hash => "x509_hash",
            ClientIdPrefix::RedirectUri => "redirect_uri",
        }
    }
}

impl std::str::FromStr for ClientIdPrefix {
    type Err = String;
    fn from_str(s: &str) -> Result<ClientIdPrefix, String> {
        [
            ClientIdPrefix::X509SanDns,
            ClientIdPrefix::X509Hash,
            ClientIdPrefix::RedirectUri,
        ]
        .into_iter()
        .find(|p| p.name() == s)
        .ok_or_else(|| {
            format!(
                "unknown client identifier prefix `{s}` (x509_san_dns, x509_hash or redirect_uri)"
            )
        })
    }
}

/// How the wallet sends its response (OpenID4VP 1.0 §8.2, §8.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    DirectPost,
    /// Encrypted to a key of the request (ECDH-ES, A128GCM or A256GCM).
    DirectPostJwt,
}

impl ResponseMode {
    pub fn name(self) -> &'static str {
        match self {
            ResponseMode::DirectPost => "direct_post",
            ResponseMode::DirectPostJwt => "direct_post.jwt",
        }
    }
}

impl std::str::FromStr for ResponseMode {
    type Err = String;
    fn from_str(s: &str) -> Result<ResponseMode, String> {
        match s {
            "direct_post" => Ok(ResponseMode::DirectPost),
            "direct_post.jwt" => Ok(ResponseMode::DirectPostJwt),
            _ => Err(format!(
                "unknown response mode `{s}` (direct_post or direct_post.jwt)"
            )),
        }
    }
}

/// The verifier's configuration: whom it trusts and fetches from, and how it names itself.
pub struct Verifier {
    pub trust: Trust,
    /// The certificate chain of the request objects' signing key (the issuer key); required by
    /// the `x509_*` prefixes.
    pub certificate: Option<CertificateChain>,
    pub prefix: ClientIdPrefix,
    pub response_mode: ResponseMode,
}

impl Issuer {
    /// The verifier's client identifier for a request (with its prefix).
    pub fn client_id(&self, presentation_id: &str) -> String {
        match self.verifier.prefix {
            ClientIdPrefix::X509SanDns => format!("x509_san_dns:{}", self.public_host()),
            ClientIdPrefix::X509Hash => format!(
                "x509_hash:{}",
                self.verifier
                    .certificate
                    .as_ref()
                    .map(CertificateChain::x509_hash)
                    .unwrap_or_default()
            ),
            ClientIdPrefix::RedirectUri => {
                format!("redirect_uri:{}", self.response_uri(presentation_id))
            }
        }
    }

    fn public_host(&self) -> String {
        url::Url::parse(&self.settings.public_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default()
    }

    pub fn response_uri(&self, presentation_id: &str) -> String {
        self.url(&format!("{PRESENTATIONS_PATH}/{presentation_id}/response"))
    }

    pub fn request_uri(&self, presentation_id: &str) -> String {
        self.url(&format!("{PRESENTATIONS_PATH}/{presentation_id}/request"))
    }
}

/// The verifier that fetches nothing: a runtime started without outbound HTTP (tests of rules
/// that never verify a presentation).
pub fn offline_verifier() -> Verifier {
    Verifier {
        trust: Trust::new(Arc::new(super::fetch::Offline), Vec::new(), 300),
        certificate: None,
        prefix: ClientIdPrefix::RedirectUri,
        response_mode: ResponseMode::DirectPost,
    }
}
