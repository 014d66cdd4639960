//! Authenticate by signing in: credentials whose governance says `method: login` are issued only
//! to someone who signed in with the OpenID Connect provider the governance names, with the
//! assurance it asks, and carry the claims it copies from that login.
//!
//! trustc is the wallet's authorization server (OpenID4VCI 1.0 authorization code flow) and the
//! provider's relying party at once. A login is an [`Authorization`] in the store, which moves
//! `requested` (a pushed authorization request, or the authorization challenge's
//! `redirect_to_web`) → `logging_in` (the browser went to the provider with this authorization's
//! state, nonce and PKCE verifier) → `logged_in` (the callback verified the provider's ID token
//! and recorded the claims on an offer) → `code_issued` → `used` (the wallet's token request), or
//! `refused`. Every step is one guarded store update, so a request URI, a provider state and an
//! authorization code each work once.
//!
//! - [`authorize`]: the wallet's pushed authorization request, `/authorize`, and the web
//!   journey's sign-in buttons, each ending in a redirect to the provider;
//! - [`callback`]: the provider's answer, and where the holder goes next (the wallet, with a
//!   code; or the holder's page of the offer, to present prerequisites or collect the offer);
//! - [`provider`]: the relying party's exchanges with the provider (discovery, token request,
//!   ID token and userinfo verification).
//!
//! Which browser started a login is bound by a cookie (`<authorization id>.<MAC>`, a MAC under a
//! key derived from the issuer key, nothing stored); the provider's `state` must match the
//! stored one as well.

pub mod authorize;
pub mod callback;
pub mod provider;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::Issuer;
use crate::secrets::constant_time_eq;
use crate::store::{Authorization, AuthorizationState, LoginAudit};

/// Where the provider sends the browser back.
pub const LOGIN_CALLBACK_PATH: &str = "/login/callback";
/// Where a login that failed on the provider's side is tried again (same authorization).
pub const LOGIN_RETRY_PATH: &str = "/login/retry";
/// The public keys providers encrypt ID tokens and userinfo to.
pub const LOGIN_JWKS_PATH: &str = "/login/jwks";
/// The wallet's pushed authorization requests (RFC 9126).
pub const PAR_PATH: &str = "/par";
/// The authorization endpoint.
pub const AUTHORIZE_PATH: &str = "/authorize";
/// The web journey's page per credential type: `/credentials/{credential}`.
pub const CREDENTIAL_PAGES_PATH: &str = "/credentials";
/// The prefix of the `request_uri`s pushed authorization requests hand out (RFC 9126 §2.2).
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// How long a pushed request URI may be used, in seconds (RFC 9126 suggests short).
pub const REQUEST_URI_LIFETIME: i64 = 90;
/// How long the holder may take at the provider, in seconds.
pub const LOGIN_LIFETIME: i64 = 600;

impl Issuer {
    /// The provider's redirect URI: `<public url>/login/callback`, as registered with it.
    pub fn login_callback_url(&self) -> String {
        self.url(LOGIN_CALLBACK_PATH)
    }

    /// The public JWK Set providers encrypt ID tokens and userinfo to (empty without providers).
    pub fn login_encryption_jwks(&self) -> serde_json::Value {
        match &self.login {
            Some(providers) => providers.encryption_jwks(),
            None => serde_json::json!({ "keys": [] }),
        }
    }

    /// `<authorization id>.<MAC of the id>`: proves the browser started that login.
    pub(crate) fn login_binding(&self, authorization_id: &str) -> String {
        format!("{authorization_id}.{}", self.login_mac(authorization_id))
    }

    /// The authorization a login binding names, when its MAC is right.
    pub(crate) fn bound_login<'b>(&self, binding: &'b str) -> Option<&'b str> {
        let (id, mac) = binding.split_once('.')?;
        (!id.is_empty() && constant_time_eq(&self.login_mac(id), mac)).then_some(id)
    }

    fn login_mac(&self, authorization_id: &str) -> String {
        let secret = self.key.derive_secret("login browser binding");
        let mut mac = Hmac::<Sha256>::new_from_slice(&secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(authorization_id.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// The authorization this browser's login binding names, if the binding is genuine and the
    /// authorization exists.
    pub(crate) async fn browser_login(
        &self,
        binding: Option<&str>,
    ) -> Result<Option<Authorization>, crate::store::StoreError> {
        match binding.and_then(|b| self.bound_login(b)) {
            Some(id) => self.store.authorization(id).await,
            None => Ok(None),
        }
    }

    /// The credential type of the login this browser's binding names, for the branding of a page
    /// that says why it could not go on (read on that path only).
    pub async fn login_credential(&self, binding: Option<&str>) -> Option<String> {
        match self.browser_login(binding).await {
            Ok(authorization) => authorization.map(|a| a.credential),
            Err(_) => None,
        }
    }

    /// Records one login outcome for the audit. A failure to write it is logged, not returned:
    /// the holder's answer does not wait on the audit.
    pub(crate) async fn audit_login(&self, audit: LoginAudit) {
        if let Err(error) = self.store.audit_login(&audit).await {
            tracing::error!(%error, authorization = %audit.authorization_id, "the login audit could not be written");
        }
    }

    /// Hands out the authorization code of a logged-in wallet authorization and returns the
    /// wallet's redirect with it (`code`, `state`, `iss`), or `None` when the authorization is
    /// not waiting for one (used, refused, or another request took it).
    pub(crate) async fn issue_login_code(
        &self,
        authorization: &Authorization,
    ) -> Result<Option<String>, crate::store::StoreError> {
        let Some(redirect_uri) = authorization.redirect_uri.as_deref() else {
            return Ok(None);
        };
        let now = self.clock.now();
        let code = format!("{}.{}", authorization.id, crate::secrets::random_token());
        let moved = self
            .store
            .advance_authorization(&crate::store::AuthorizationAdvance {
                id: &authorization.id,
                from: AuthorizationState::LoggedIn,
                to: AuthorizationState::CodeIssued,
                unexpired_at: None,
                expires_at: None,
                login: None,
                offer_id: None,
                code: Some((&code, now + self.settings.authorization_code_lifetime)),
            })
            .await?;
        if !moved {
            return Ok(None);
        }
        tracing::info!(authorization = %authorization.id, "authorization code issued after login");
        Ok(Some(wallet_redirect(
            redirect_uri,
            &[
                ("code", Some(code.as_str())),
                ("state", authorization.wallet_state.as_deref()),
                ("iss", Some(&self.settings.public_url)),
            ],
        )))
    }
}

impl Issuer {
    /// Redeems the authorization code of a login (the token endpoint's `authorization_code`
    /// grant): once, before it expires, for the client and redirect URI of the authorization,
    /// with the PKCE verifier of its challenge; `None` when no login authorization has this code
    /// (it may be a presentation's).
    pub(crate) async fn redeem_login_code(
        &self,
        request: &crate::domain::presentation::CodeRequest<'_>,
    ) -> Option<
        Result<crate::domain::redemption::AccessToken, crate::domain::redemption::RedeemError>,
    > {
        use crate::domain::redemption::RedeemError;
        let now = self.clock.now();
        let id = request.code.split_once('.').map_or("", |(id, _)| id);
        let authorization = match self.store.authorization(id).await {
            Ok(found) => found?,
            Err(e) => return Some(Err(RedeemError::Internal(e.into()))),
        };
        if !authorization
            .code
            .as_deref()
            .is_some_and(|c| constant_time_eq(c, request.code))
        {
            return None;
        }
        Some(self.redeem_login(&authorization, request, now).await)
    }

    async fn redeem_login(
        &self,
        authorization: &Authorization,
        request: &crate::domain::presentation::CodeRequest<'_>,
        now: i64,
    ) -> Result<crate::domain::redemption::AccessToken, crate::domain::redemption::RedeemError>
    {
        use crate::domain::redemption::RedeemError;
        if authorization.state != AuthorizationState::CodeIssued {
            return Err(RedeemError::AlreadyUsed);
        }
        if authorization.code_expires_at.is_none_or(|t| t <= now) {
            return Err(RedeemError::Expired);
        }
        let Some(verifier) = request.code_verifier else {
            return Err(RedeemError::Pkce("`code_verifier` is missing".into()));
        };
        if !authorization
            .code_challenge
            .as_deref()
            .is_some_and(|challenge| pkce_matches(verifier, challenge))
        {
            return Err(RedeemError::Pkce(
                "`code_verifier` does not match the `code_challenge` of the authorization".into(),
            ));
        }
        if request.client_id.is_some() && request.client_id != authorization.client_id.as_deref() {
            return Err(RedeemError::Pkce(
                "`client_id` is not the one the code was issued to".into(),
            ));
        }
        if request.redirect_uri != authorization.redirect_uri.as_deref() {
            return Err(RedeemError::Pkce(
                "`redirect_uri` is not exactly the one of the authorization request".into(),
            ));
        }
        // A request that named a DPoP key (`dpop_jkt`, or a proof at PAR) binds the token to it:
        // checked before the code is spent.
        let binding = crate::domain::redemption::AccessTokenBinding {
            proven_jkt: request.dpop_jkt,
            expected_jkt: authorization.dpop_jkt.as_deref(),
        };
        binding.jkt()?;
        let used = self
            .store
            .advance_authorization(&crate::store::AuthorizationAdvance {
                id: &authorization.id,
                from: AuthorizationState::CodeIssued,
                to: AuthorizationState::Used,
                unexpired_at: None,
                expires_at: None,
                login: None,
                offer_id: None,
                code: None,
            })
            .await
            .map_err(|e| RedeemError::Internal(e.into()))?;
        if !used {
            return Err(RedeemError::AlreadyUsed);
        }
        let offer_id = authorization
            .offer_id
            .as_deref()
            .ok_or(RedeemError::UnknownCode)?;
        let offer = self
            .store
            .offer(offer_id)
            .await
            .map_err(|e| RedeemError::Internal(e.into()))?
            .ok_or(RedeemError::UnknownCode)?;
        // The login (and the presentation, when the governance asks for one) and PKCE stand in
        // for the transaction code of the pre-authorised flow: the offer redeems with its own
        // code, once.
        self.redeem_offer_bound(
            &offer.pre_authorized_code,
            offer.tx_code.as_deref(),
            binding,
        )
        .await
    }
}

/// Points a login provider at a local address instead of the issuer URL the governance gives it,
/// for development and tests with a local OpenID Provider: written `PROVIDER=URL`
/// (`bc-services-card=http://127.0.0.1:8700`), the provider by its id or qualified id, the URL
/// http(s) on a loopback address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginIssuerOverride {
    provider: String,
    issuer: String,
}

impl std::str::FromStr for LoginIssuerOverride {
    type Err = String;
    fn from_str(value: &str) -> Result<LoginIssuerOverride, String> {
        let (provider, issuer) = value
            .split_once('=')
            .ok_or_else(|| format!("`{value}` is not PROVIDER=URL"))?;
        let parsed =
            url::Url::parse(issuer).map_err(|e| format!("`{issuer}` is not a URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https")
            || !crate::domain::fetch::is_loopback(&parsed)
        {
            return Err(format!(
                "`{issuer}` is not an http(s) URL on a loopback address: a login issuer override \
                 is for a local development provider"
            ));
        }
        Ok(LoginIssuerOverride {
            provider: provider.to_owned(),
            issuer: issuer.trim_end_matches('/').to_owned(),
        })
    }
}

impl LoginIssuerOverride {
    /// Points the providers `overrides` name at their local addresses in `config`.
    pub fn apply(
        overrides: &[LoginIssuerOverride],
        config: &mut trustc_artifact::IssuerConfig,
    ) -> Result<(), String> {
        for o in overrides {
            let name = o.provider.as_str();
            let matches = |p: &trustc_artifact::LoginProvider| {
                p.id == name || p.id.rsplit('/').next() == Some(name)
            };
            match config.login_providers.iter().filter(|p| matches(p)).count() {
                1 => {
                    for provider in config.login_providers.iter_mut().filter(|p| matches(p)) {
                        provider.issuer = o.issuer.clone();
                    }
                }
                0 => {
                    let known: Vec<&str> = config
                        .login_providers
                        .iter()
                        .map(|p| p.id.as_str())
                        .collect();
                    return Err(format!(
                        "the login issuer override names `{name}`, but the governance has no such \
                         login provider (it has {})",
                        trustc_artifact::values::quoted_list(&known)
                    ));
                }
                _ => {
                    return Err(format!(
                        "the login issuer override names `{name}`, which several frameworks \
                         declare: write it as `<framework>/{name}`"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// `redirect_uri` with `parameters` (those with a value) added to its query, keeping what it
/// already has (RFC 6749 §3.1.2).
pub fn wallet_redirect(redirect_uri: &str, parameters: &[(&str, Option<&str>)]) -> String {
    let mut url = match url::Url::parse(redirect_uri) {
        Ok(url) => url,
        Err(_) => return redirect_uri.to_owned(),
    };
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in parameters {
            if let Some(value) = value {
                query.append_pair(name, value);
            }
        }
    }
    url.to_string()
}

/// The PKCE S256 check: `BASE64URL(SHA-256(verifier)) == challenge`, in constant time.
pub(crate) fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    constant_time_eq(&computed, challenge)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wallet_redirect_keeps_its_query_and_adds_only_given_parameters() {
        assert_eq!(
            wallet_redirect(
                "https://wallet.example/cb?app=1",
                &[
                    ("code", Some("a.b")),
                    ("state", None),
                    ("iss", Some("https://i.example"))
                ]
            ),
            "https://wallet.example/cb?app=1&code=a.b&iss=https%3A%2F%2Fi.example"
        );
        assert_eq!(
            wallet_redirect("wallet://cb", &[("code", Some("x"))]),
            "wallet://cb?code=x"
        );
    }

    #[test]
    fn pkce_is_s256() {
        // RFC 7636 appendix B.
        assert!(pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
    }
}
