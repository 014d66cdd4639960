//! The way into a login: the wallet's authorization request (pushed, RFC 9126, or in the query of
//! `/authorize`), the authorization challenge's `redirect_to_web`, and the web journey's sign-in
//! buttons. Each stores an [`Authorization`] and ends in a redirect to the provider with this
//! authorization's own state, nonce and PKCE challenge.

use serde_json::{Map, Value, json};
use trustc_artifact::{AuthenticationMethod, Source};

use super::{
    AUTHORIZE_PATH, LOGIN_LIFETIME, REQUEST_URI_LIFETIME, REQUEST_URI_PREFIX, provider::StartLogin,
};
use crate::compiled::Credential;
use crate::domain::{Internal, Issuer};
use crate::secrets::random_token;
use crate::store::{
    Authorization, AuthorizationAdvance, AuthorizationKind, AuthorizationState, Offer, OfferState,
    StoreError,
};

/// A wallet's authorization request: the body of a pushed authorization request, or the query
/// of `/authorize` (which may instead name a pushed one by `request_uri`).
#[derive(Debug, Clone, Default)]
pub struct AuthorizationParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub issuer_state: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub resource: Option<String>,
    /// RFC 9396 `authorization_details` (JSON text): `openid_credential` entries name the
    /// credential by `credential_configuration_id`, as `scope` does.
    pub authorization_details: Option<String>,
    pub request_uri: Option<String>,
    /// The thumbprint of the wallet's DPoP key (`dpop_jkt`, or a verified DPoP proof's key): the
    /// access token will be bound to it.
    pub dpop_jkt: Option<String>,
}

/// A pushed authorization request, stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// `urn:ietf:params:oauth:request_uri:<id>`.
    pub request_uri: String,
    /// Seconds it may be used in.
    pub expires_in: i64,
}

/// Why an authorization request was refused before anything was stored (RFC 6749 §4.1.2.1 and
/// RFC 9126 §2.3 error codes).
#[derive(Debug)]
pub enum RequestError {
    /// `invalid_request`.
    InvalidRequest(String),
    /// `unsupported_response_type`.
    UnsupportedResponseType(String),
    /// `invalid_scope`: no credential this issuer issues after a login, or more than one.
    InvalidScope(String),
    Internal(Internal),
}

impl RequestError {
    /// The OAuth error code.
    pub fn code(&self) -> &'static str {
        match self {
            RequestError::InvalidRequest(_) => "invalid_request",
            RequestError::UnsupportedResponseType(_) => "unsupported_response_type",
            RequestError::InvalidScope(_) => "invalid_scope",
            RequestError::Internal(cause) if cause.is_unavailable() => "temporarily_unavailable",
            RequestError::Internal(_) => "server_error",
        }
    }
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RequestError::InvalidRequest(why)
            | RequestError::UnsupportedResponseType(why)
            | RequestError::InvalidScope(why) => f.write_str(why),
            RequestError::Internal(cause) => cause.fmt(f),
        }
    }
}

impl From<StoreError> for RequestError {
    fn from(e: StoreError) -> RequestError {
        RequestError::Internal(e.into())
    }
}

/// Where the browser goes to sign in, and the binding it keeps meanwhile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRedirect {
    /// The provider's authorization endpoint with this login's parameters.
    pub provider_url: String,
    /// `<authorization id>.<MAC>`, for the login cookie.
    pub binding: String,
    /// Until when the binding is of use, Unix seconds.
    pub binding_expires_at: i64,
}

/// Why `/authorize` or a sign-in button did not send the browser to the provider.
#[derive(Debug)]
pub enum AuthorizeError {
    /// Nothing trustworthy to redirect to (an unknown, used or expired request URI, no or a
    /// malformed redirect URI): a page says why.
    Page(String),
    /// The wallet's request was checked and refused: the wallet's redirect with the error.
    Redirect(String),
    /// The provider could not be reached (discovery failed): a page with a way to try again.
    ProviderUnavailable(String),
    /// An unknown credential type or offer for a sign-in button.
    NotFound,
    Internal(Internal),
}

impl std::fmt::Display for AuthorizeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthorizeError::Page(why)
            | AuthorizeError::Redirect(why)
            | AuthorizeError::ProviderUnavailable(why) => f.write_str(why),
            AuthorizeError::NotFound => f.write_str("not found"),
            AuthorizeError::Internal(cause) => cause.fmt(f),
        }
    }
}

impl From<StoreError> for AuthorizeError {
    fn from(e: StoreError) -> AuthorizeError {
        AuthorizeError::Internal(e.into())
    }
}

impl Issuer {
    /// `POST /par`: checks the wallet's request and stores it for `/authorize`.
    pub async fn push_authorization(
        &self,
        params: AuthorizationParams,
    ) -> Result<Pushed, RequestError> {
        if params.request_uri.is_some() {
            return Err(RequestError::InvalidRequest(
                "`request_uri` may not be pushed (RFC 9126 §2.1)".into(),
            ));
        }
        let authorization = self.wallet_authorization(params).await?;
        Ok(Pushed {
            request_uri: format!("{REQUEST_URI_PREFIX}{}", authorization.id),
            expires_in: authorization.expires_at - authorization.created_at,
        })
    }

    /// Checks a wallet's authorization request and stores it (`requested`, usable for
    /// [`REQUEST_URI_LIFETIME`]): for `/par`, `/authorize` without a pushed request, and the
    /// authorization challenge of a credential that needs a login.
    pub(crate) async fn wallet_authorization(
        &self,
        params: AuthorizationParams,
    ) -> Result<Authorization, RequestError> {
        let invalid = |why: String| Err(RequestError::InvalidRequest(why));
        match params.response_type.as_deref() {
            Some("code") => {}
            Some(other) => {
                return Err(RequestError::UnsupportedResponseType(format!(
                    "`response_type` is `{}`; this authorization server answers `code` only",
                    crate::jose::show(other)
                )));
            }
            None => return invalid("`response_type` is missing; it must be `code`".into()),
        }
        let Some(client_id) = params.client_id.filter(|c| !c.is_empty()) else {
            return invalid("`client_id` is missing".into());
        };
        let Some(redirect_uri) = params.redirect_uri else {
            return invalid(
                "`redirect_uri` is missing: this authorization server has no registered \
                 clients, so the wallet names where the code goes"
                    .into(),
            );
        };
        if let Err(why) = check_redirect_uri(&redirect_uri) {
            return invalid(why);
        }
        let code_challenge = check_pkce(
            params.code_challenge.as_deref(),
            params.code_challenge_method.as_deref(),
        )
        .map_err(RequestError::InvalidRequest)?;
        if let Some(resource) = params.resource.as_deref()
            && resource.trim_end_matches('/') != self.settings.public_url
        {
            return invalid(format!(
                "`resource` is `{}`, but this credential issuer is `{}`",
                crate::jose::show(resource),
                self.settings.public_url
            ));
        }
        let now = self.clock.now();
        let (credential, offer) = self
            .requested_credential(
                params.issuer_state.as_deref(),
                params.scope.as_deref(),
                params.authorization_details.as_deref(),
                now,
            )
            .await?;
        let provider = login_provider(credential)
            .ok_or_else(|| {
                RequestError::InvalidScope(format!(
                    "`{}` is not issued after a login",
                    credential.kind.id
                ))
            })?
            .to_owned();
        let authorization = Authorization {
            client_id: Some(client_id),
            redirect_uri: Some(redirect_uri),
            code_challenge: Some(code_challenge),
            wallet_state: params.state,
            dpop_jkt: params.dpop_jkt,
            ..requested(AuthorizationKind::Wallet, credential, offer, provider, now)
        };
        self.store.create_authorization(&authorization).await?;
        tracing::info!(authorization = %authorization.id, credential = %authorization.credential, "authorization requested");
        Ok(authorization)
    }

    /// The credential (and the offer, for `issuer_state`) a wallet's request is for.
    async fn requested_credential(
        &self,
        issuer_state: Option<&str>,
        scope: Option<&str>,
        authorization_details: Option<&str>,
        now: i64,
    ) -> Result<(&Credential, Option<Offer>), RequestError> {
        let mut named: Vec<String> = scope
            .unwrap_or_default()
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if let Some(details) = authorization_details {
            named.extend(credential_configuration_ids(details)?);
        }
        if let Some(offer_id) = issuer_state {
            let offer = self
                .store
                .offer(offer_id)
                .await?
                .filter(|o| o.state == OfferState::Offered && o.expires_at > now)
                .ok_or_else(|| {
                    RequestError::InvalidRequest(
                        "`issuer_state` names no offer waiting for the holder (unknown, used, \
                         withdrawn or expired); ask the issuer for a new offer"
                            .into(),
                    )
                })?;
            if let Some(other) = named.iter().find(|n| **n != offer.credential) {
                return Err(RequestError::InvalidScope(format!(
                    "the request names `{}`, but the offer is for `{}`",
                    crate::jose::show(other),
                    offer.credential
                )));
            }
            if !offer.needs_login {
                return Err(RequestError::InvalidRequest(format!(
                    "the offer for `{}` needs no login: redeem it with its pre-authorised code, \
                     or through the authorization challenge when it asks for a presentation",
                    offer.credential
                )));
            }
            let credential = self.compiled.credential(&offer.credential).ok_or_else(|| {
                RequestError::InvalidRequest("the offer's credential is no longer issued".into())
            })?;
            return Ok((credential, Some(offer)));
        }
        named.sort();
        named.dedup();
        let wallet_initiated = |id: &str| self.self_service(id).map(|(c, _)| c);
        match named.as_slice() {
            [] => Err(RequestError::InvalidScope(
                "the request names no credential: send the `scope` of a credential \
                 configuration, or the `issuer_state` of an offer"
                    .into(),
            )),
            [one] => wallet_initiated(one).map(|c| (c, None)).ok_or_else(|| {
                RequestError::InvalidScope(format!(
                    "`{}` is not a credential a wallet can ask for itself here{}",
                    crate::jose::show(one),
                    match self.compiled.credential(one) {
                        Some(_) => ": it is issued from an offer the issuer makes",
                        None => "",
                    }
                ))
            }),
            _ => Err(RequestError::InvalidScope(
                "the request names several credentials; ask for one at a time".into(),
            )),
        }
    }

    /// `GET /authorize`: the wallet's request (pushed, or in the query), then the browser goes
    /// to the provider.
    pub async fn authorization_endpoint(
        &self,
        params: AuthorizationParams,
    ) -> Result<LoginRedirect, AuthorizeError> {
        let now = self.clock.now();
        let authorization = match params.request_uri.as_deref() {
            Some(request_uri) => {
                let pushed = request_uri
                    .strip_prefix(REQUEST_URI_PREFIX)
                    .filter(|id| !id.is_empty());
                let found = match pushed {
                    Some(id) => self.store.authorization(id).await?,
                    None => None,
                };
                let Some(authorization) = found.filter(|a| {
                    a.kind == AuthorizationKind::Wallet
                        && a.state == AuthorizationState::Requested
                        && a.expires_at > now
                }) else {
                    return Err(AuthorizeError::Page(
                        "this sign-in link is unknown, was used already or has expired; go back \
                         to your wallet and start again"
                            .into(),
                    ));
                };
                if params.client_id.as_deref() != authorization.client_id.as_deref() {
                    return Err(AuthorizeError::Page(
                        "`client_id` is not the one of the pushed authorization request; go \
                         back to your wallet and start again"
                            .into(),
                    ));
                }
                if let Some(redirect_uri) = params.redirect_uri.as_deref()
                    && Some(redirect_uri) != authorization.redirect_uri.as_deref()
                {
                    return Err(AuthorizeError::Page(
                        "`redirect_uri` is not the one of the pushed authorization request".into(),
                    ));
                }
                authorization
            }
            None => {
                let redirect_uri = params.redirect_uri.clone();
                let state = params.state.clone();
                match redirect_uri.as_deref().map(check_redirect_uri) {
                    Some(Ok(())) => {}
                    Some(Err(why)) => return Err(AuthorizeError::Page(why)),
                    None => {
                        return Err(AuthorizeError::Page(
                            "the wallet's request has no `redirect_uri`; go back to your wallet \
                             and start again"
                                .into(),
                        ));
                    }
                }
                match self.wallet_authorization(params).await {
                    Ok(authorization) => authorization,
                    Err(RequestError::Internal(cause)) => {
                        return Err(AuthorizeError::Internal(cause));
                    }
                    Err(refused) => {
                        return Err(AuthorizeError::Redirect(super::wallet_redirect(
                            redirect_uri.as_deref().unwrap_or_default(),
                            &[
                                ("error", Some(refused.code())),
                                ("error_description", Some(&refused.to_string())),
                                ("state", state.as_deref()),
                                ("iss", Some(&self.settings.public_url)),
                            ],
                        )));
                    }
                }
            }
        };
        self.send_to_provider(&authorization, AuthorizationState::Requested)
            .await
    }

    /// The web journey's "Sign in" of a credential type (`/credentials/{credential}/login`): the
    /// offer is made after the login, from its claims.
    pub async fn start_credential_login(
        &self,
        credential: &str,
    ) -> Result<LoginRedirect, AuthorizeError> {
        let (credential, _) = self
            .self_service(credential)
            .ok_or(AuthorizeError::NotFound)?;
        self.start_page_login(credential, None).await
    }

    /// The holder page's "Sign in" of an offer (`/offers/{id}/login`).
    pub async fn start_offer_login(&self, offer_id: &str) -> Result<LoginRedirect, AuthorizeError> {
        let now = self.clock.now();
        let offer = self
            .store
            .offer(offer_id)
            .await?
            .ok_or(AuthorizeError::NotFound)?;
        if offer.state != OfferState::Offered || offer.expires_at <= now || !offer.needs_login {
            return Err(AuthorizeError::Page(
                "this offer is not waiting for a sign-in (used, withdrawn or expired); ask the \
                 issuer for a new one"
                    .into(),
            ));
        }
        let credential = self
            .compiled
            .credential(&offer.credential)
            .ok_or(AuthorizeError::NotFound)?;
        self.start_page_login(credential, Some(offer)).await
    }

    async fn start_page_login(
        &self,
        credential: &Credential,
        offer: Option<Offer>,
    ) -> Result<LoginRedirect, AuthorizeError> {
        let provider = login_provider(credential).ok_or(AuthorizeError::NotFound)?;
        let now = self.clock.now();
        let authorization = requested(
            AuthorizationKind::Page,
            credential,
            offer,
            provider.to_owned(),
            now,
        );
        self.store.create_authorization(&authorization).await?;
        self.send_to_provider(&authorization, AuthorizationState::Requested)
            .await
    }

    /// `GET /login/retry`: the login this browser started failed on the provider's side (it
    /// could not be reached, or was too slow); a new attempt with new state, nonce and verifier.
    pub async fn retry_login(
        &self,
        binding: Option<&str>,
    ) -> Result<LoginRedirect, AuthorizeError> {
        let now = self.clock.now();
        let authorization = self
            .browser_login(binding)
            .await?
            .filter(|a| a.state == AuthorizationState::LoggingIn && a.expires_at > now)
            .ok_or_else(|| {
                AuthorizeError::Page(
                    "there is no sign-in of this browser to try again (it finished, or expired); \
                     start again from your wallet or the issuer's page"
                        .into(),
                )
            })?;
        self.send_to_provider(&authorization, AuthorizationState::LoggingIn)
            .await
    }

    /// Starts the login at the provider and moves the authorization from `from` to
    /// `logging_in` with the login's state, nonce and verifier (once: a request URI that
    /// another request took is refused).
    async fn send_to_provider(
        &self,
        authorization: &Authorization,
        from: AuthorizationState,
    ) -> Result<LoginRedirect, AuthorizeError> {
        let providers = self.providers().map_err(AuthorizeError::Internal)?;
        let credential = self
            .compiled
            .credential(&authorization.credential)
            .ok_or(AuthorizeError::NotFound)?;
        let rule = credential.kind.authentication.login.as_ref();
        let acr: Vec<String> = rule
            .and_then(|r| r.assurance.as_ref())
            .map(|a| a.acr.clone())
            .unwrap_or_default();
        let claims = requested_claims(credential);
        let start = providers
            .start(
                &authorization.provider,
                StartLogin {
                    redirect_uri: &self.login_callback_url(),
                    extra_scopes: &[],
                    acr_values: &acr,
                    claims: Some(&claims),
                    login_hint: None,
                },
            )
            .await
            .map_err(|e| AuthorizeError::ProviderUnavailable(e.to_string()))?;
        let now = self.clock.now();
        let expires_at = now + LOGIN_LIFETIME;
        let moved = self
            .store
            .advance_authorization(&AuthorizationAdvance {
                id: &authorization.id,
                from,
                to: AuthorizationState::LoggingIn,
                unexpired_at: Some(now),
                expires_at: Some(expires_at),
                login: Some((&start.state, &start.nonce, &start.code_verifier)),
                offer_id: None,
                code: None,
            })
            .await?;
        if !moved {
            return Err(AuthorizeError::Page(
                "this sign-in link was used already or has expired; go back to your wallet and \
                 start again"
                    .into(),
            ));
        }
        tracing::info!(authorization = %authorization.id, provider = %authorization.provider, "login started");
        Ok(LoginRedirect {
            provider_url: start.authorization_url,
            binding: self.login_binding(&authorization.id),
            binding_expires_at: expires_at,
        })
    }

    /// The login providers, or why there are none.
    pub(crate) fn providers(&self) -> Result<&super::provider::Providers, Internal> {
        self.login.as_ref().ok_or_else(|| {
            Internal::new(
                "the governance asks for a login, but this issuer was started without its \
                 login providers"
                    .into(),
            )
        })
    }

    /// A credential a holder may get by signing in, without an offer from the issuer's back end
    /// (a wallet's `scope`, the web journey's page), and its login provider.
    pub fn self_service(&self, id: &str) -> Option<(&Credential, &str)> {
        let credential = self.compiled.credential(id)?;
        let login = credential.kind.authentication.login.as_ref()?;
        login
            .wallet_initiated
            .then_some((credential, login.provider.as_str()))
    }

    /// The authorization URL a wallet follows after the challenge's `redirect_to_web`.
    pub fn authorize_url(&self) -> String {
        self.url(AUTHORIZE_PATH)
    }
}

/// A new authorization request (`requested`, usable for [`REQUEST_URI_LIFETIME`]) of `kind` for
/// `credential`, signing in with `provider`, for `offer` when issuer-initiated; a wallet's adds
/// its client, redirect URI, PKCE challenge, state and DPoP key.
fn requested(
    kind: AuthorizationKind,
    credential: &Credential,
    offer: Option<Offer>,
    provider: String,
    now: i64,
) -> Authorization {
    Authorization {
        id: random_token(),
        kind,
        state: AuthorizationState::Requested,
        credential: credential.kind.id.clone(),
        offer_id: offer.map(|o| o.id),
        client_id: None,
        redirect_uri: None,
        code_challenge: None,
        wallet_state: None,
        dpop_jkt: None,
        provider,
        login_state: None,
        login_nonce: None,
        login_verifier: None,
        code: None,
        code_expires_at: None,
        created_at: now,
        expires_at: now + REQUEST_URI_LIFETIME,
    }
}

/// The provider of a credential of `login` authentication.
pub(crate) fn login_provider(credential: &Credential) -> Option<&str> {
    let authentication = &credential.kind.authentication;
    (authentication.method == AuthenticationMethod::Login)
        .then_some(())
        .and(authentication.login.as_ref())
        .map(|l| l.provider.as_str())
}

/// The OpenID Connect `claims` request parameter for `credential`: every top-level claim the
/// governance copies from the login (and the assurance claim), in the ID token and at userinfo,
/// essential when the attribute is required.
fn requested_claims(credential: &Credential) -> Value {
    let kind = &credential.kind;
    let mut wanted: Map<String, Value> = Map::new();
    for source in &kind.claims {
        if let Source::Login { claim } = &source.source {
            let required = kind
                .attribute(&source.claim)
                .is_some_and(|attribute| attribute.required);
            let Some(name) = top_level(claim) else {
                continue;
            };
            let entry = if required {
                json!({ "essential": true })
            } else {
                Value::Null
            };
            if wanted.get(&name).is_none_or(|v| v.is_null()) {
                wanted.insert(name, entry);
            }
        }
    }
    if let Some(name) = kind
        .authentication
        .login
        .as_ref()
        .and_then(|l| l.assurance.as_ref())
        .and_then(|a| a.claim.as_ref())
        .and_then(|claim| top_level(&claim.claim))
    {
        wanted.insert(name, json!({ "essential": true }));
    }
    json!({ "id_token": wanted.clone(), "userinfo": wanted })
}

/// The top-level claim a claim name or `$` path starts at (`address` for
/// `$.address.locality`): what the provider is asked for. A path that does not parse (the
/// compiler refuses it) asks for nothing.
fn top_level(claim: &str) -> Option<String> {
    trustc_artifact::claim_path::parse(claim)
        .ok()
        .map(|path| path.claim().to_owned())
}

/// A wallet's redirect URI: absolute, without a fragment (RFC 6749 §3.1.2), and not a script.
fn check_redirect_uri(redirect_uri: &str) -> Result<(), String> {
    let url = url::Url::parse(redirect_uri).map_err(|_| {
        format!(
            "`redirect_uri` `{}` is not an absolute URI",
            crate::jose::show(redirect_uri)
        )
    })?;
    if url.fragment().is_some() {
        return Err("`redirect_uri` may not have a fragment (RFC 6749 §3.1.2)".into());
    }
    if matches!(url.scheme(), "javascript" | "data" | "file" | "vbscript") {
        return Err(format!(
            "`redirect_uri` may not use the `{}:` scheme",
            url.scheme()
        ));
    }
    Ok(())
}

/// PKCE, S256 only (required): the challenge.
fn check_pkce(challenge: Option<&str>, method: Option<&str>) -> Result<String, String> {
    match (challenge, method) {
        (Some(challenge), Some("S256"))
            if crate::domain::presentation::is_pkce_value(challenge) =>
        {
            Ok(challenge.to_owned())
        }
        (Some(_), Some("S256")) => {
            Err("`code_challenge` is not a base64url SHA-256 (43 characters)".into())
        }
        (Some(_), method) => Err(format!(
            "`code_challenge_method` is {}; this authorization server requires S256",
            method.map_or("missing".into(), |m| format!("`{}`", crate::jose::show(m)))
        )),
        (None, _) => Err("`code_challenge` is missing: PKCE (S256) is required".into()),
    }
}

/// The `credential_configuration_id`s of RFC 9396 `authorization_details` of type
/// `openid_credential`.
fn credential_configuration_ids(details: &str) -> Result<Vec<String>, RequestError> {
    let invalid = |why: &str| RequestError::InvalidRequest(why.to_owned());
    let parsed: Value = serde_json::from_str(details)
        .map_err(|_| invalid("`authorization_details` is not JSON"))?;
    let entries = parsed
        .as_array()
        .ok_or_else(|| invalid("`authorization_details` is not a JSON array"))?;
    let mut ids = Vec::new();
    for entry in entries {
        if entry.get("type").and_then(Value::as_str) != Some("openid_credential") {
            return Err(invalid(
                "`authorization_details` has an entry whose `type` is not `openid_credential`",
            ));
        }
        let id = entry
            .get("credential_configuration_id")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                invalid("an `authorization_details` entry has no `credential_configuration_id`")
            })?;
        ids.push(id.to_owned());
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_top_level_claim_of_a_path() {
        let top = |claim| top_level(claim).unwrap_or_default();
        assert_eq!(top("given_name"), "given_name");
        assert_eq!(top("$.address.locality"), "address");
        assert_eq!(top("$.roles[0]"), "roles");
        assert_eq!(top("$['https://x.example/c'].a"), "https://x.example/c");
        assert_eq!(top_level("$..x"), None);
    }

    #[test]
    fn redirect_uris_are_absolute_without_fragment_or_script() {
        assert!(check_redirect_uri("https://wallet.example/cb").is_ok());
        assert!(check_redirect_uri("bcwallet://callback").is_ok());
        assert!(check_redirect_uri("/cb").is_err());
        assert!(check_redirect_uri("https://wallet.example/cb#x").is_err());
        assert!(check_redirect_uri("javascript:alert(1)").is_err());
    }

    #[test]
    fn pkce_is_required_and_s256() {
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(check_pkce(Some(challenge), Some("S256")).is_ok());
        assert!(check_pkce(Some(challenge), Some("plain")).is_err());
        assert!(check_pkce(Some(challenge), None).is_err());
        assert!(check_pkce(None, None).is_err());
        assert!(check_pkce(Some("short"), Some("S256")).is_err());
    }

    #[test]
    fn authorization_details_name_credential_configurations() {
        assert_eq!(
            credential_configuration_ids(
                r#"[{"type":"openid_credential","credential_configuration_id":"person"}]"#
            )
            .unwrap(),
            vec!["person".to_owned()]
        );
        assert!(credential_configuration_ids(r#"[{"type":"payment"}]"#).is_err());
        assert!(credential_configuration_ids("{").is_err());
    }
}
