//! The checks of login through OpenID Connect: the framework's `login_providers` (issuer URLs,
//! client authentication and where its secrets are read, an environment for every environment
//! the credentials using the provider are issued in) and what credentials say about the login
//! (`method: login` with a known `provider`, the assurance, `from: login` claims and their paths).
//!
//! Kept apart from the other checks because none of them depends on these: they share only the
//! checker's sink, index and text checks.

use std::net::{Ipv4Addr, Ipv6Addr};

use trustc_artifact::{Environment, claim_path};

use super::Checker;
use crate::diag::Code;
use crate::formats;
use crate::governance::model::{
    AuthenticationMethod, ClientAuthentication, Credential, LoginProvider, LoginSettings, Secret,
    Source,
};
use crate::syntax::{Span, Spanned};

/// The keys a secret's place may have.
const SECRET_SOURCES: [&str; 2] = ["env", "file"];

impl<'a> Checker<'a> {
    /// Checks each login provider of the framework.
    pub(super) fn check_login_providers(&mut self) {
        let mut seen = std::collections::HashMap::new();
        for provider in &self.model().login_providers {
            self.check_duplicate(&mut seen, &provider.id, "login provider");
            self.check_text(&provider.name, "the login provider's name");
            for environment in Environment::ALL {
                if let Some(settings) = provider.environments.value.get(environment) {
                    self.check_login_settings(provider, environment, &settings.value);
                }
            }
            self.check_login_environments(provider);
        }
    }

    fn check_login_settings(
        &mut self,
        provider: &LoginProvider,
        environment: Environment,
        settings: &LoginSettings,
    ) {
        if let Err((label, help)) = issuer_problem(&settings.issuer.value, environment) {
            self.sink.report(
                Code::LoginProviderIssuer,
                settings.issuer.span,
                format!(
                    "`{}` cannot be the `{environment}` issuer of login provider `{}`",
                    settings.issuer.value, provider.id.value
                ),
                label,
                help,
            );
        }
        for (secret, field) in [
            (&settings.client_secret, "client_secret"),
            (&settings.private_key, "private_key"),
        ] {
            if let Some(secret) = secret {
                self.check_secret(secret, field);
            }
        }
        self.check_client_authentication(provider, environment, settings);
    }

    /// A secret is read from the environment or a file; written here, it is public.
    fn check_secret(&mut self, secret: &Spanned<Secret>, field: &str) {
        let map = match &secret.value {
            Secret::Written(_) => {
                // The message never repeats the value: it is a secret.
                self.sink.report(
                    Code::SecretInGovernance,
                    secret.span,
                    format!("`{field}` is written into the governance"),
                    "a secret in a file anyone with the repository reads",
                    format!(
                        "read it from the environment: `{field}: {{ env: NAME }}` or \
                         `{{ file: PATH }}`; then have the provider issue a new one, since this \
                         one is in the repository's history"
                    ),
                );
                return;
            }
            Secret::Source(map) => map,
        };
        if map.0.is_empty() {
            self.sink.report(
                Code::MissingKey,
                secret.span,
                format!("`{field}` does not say where the secret is read"),
                "no `env` or `file`",
                format!("write `{field}: {{ env: NAME }}` or `{field}: {{ file: PATH }}`"),
            );
            return;
        }
        let mut sources = 0;
        for (key, value) in map.iter() {
            match key.value.as_str() {
                "env" => {
                    sources += 1;
                    if !is_environment_variable(&value.value) {
                        self.sink.report(
                            Code::InvalidValue,
                            value.span,
                            format!("`{}` is not an environment variable name", value.value),
                            "not a variable name",
                            "name the variable with letters, digits and `_`, not starting with a \
                             digit, such as `LOGIN_CLIENT_SECRET`",
                        );
                    }
                }
                "file" => sources += 1,
                other => {
                    let candidates: Vec<String> =
                        SECRET_SOURCES.iter().map(|s| s.to_string()).collect();
                    let help = match crate::schema::closest(other, &candidates) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => "a secret is read from `env` (an environment variable) or \
                         `file` (a file's content)"
                            .to_string(),
                    };
                    self.sink.report(
                        Code::UnknownKey,
                        key.span,
                        format!("unknown key `{other}` in `{field}`"),
                        "not `env` or `file`",
                        help,
                    );
                }
            }
        }
        if sources > 1 {
            self.sink.report(
                Code::InvalidValue,
                secret.span,
                format!("`{field}` names both an environment variable and a file"),
                "two places",
                "keep one: the issuer reads the secret from exactly one place",
            );
        }
    }

    /// The secret the client authentication needs is named, and no other.
    fn check_client_authentication(
        &mut self,
        provider: &LoginProvider,
        environment: Environment,
        settings: &LoginSettings,
    ) {
        let method = settings.client_authentication();
        let method_name = client_authentication_name(method);
        let (needed, unused): (Option<&str>, &[&str]) = match method {
            ClientAuthentication::ClientSecretBasic | ClientAuthentication::ClientSecretPost => {
                (Some("client_secret"), &["private_key"])
            }
            ClientAuthentication::PrivateKeyJwt => (Some("private_key"), &["client_secret"]),
            ClientAuthentication::None => (None, &["client_secret", "private_key"]),
        };
        let method_span = settings
            .client_authentication
            .as_ref()
            .map_or(settings.client_id.span, |c| c.span);
        let defaulted = settings.client_authentication.is_none();
        if let Some(needed) = needed
            && secret_named(settings, needed).is_none()
        {
            let what = if needed == "private_key" {
                "its private key (a PEM P-256 key)"
            } else {
                "the client secret"
            };
            self.sink.report(
                Code::LoginClientAuthentication,
                method_span,
                format!(
                    "login provider `{}` authenticates with `{method_name}` in \
                     `{environment}`{}, but names no `{needed}`",
                    provider.id.value,
                    if defaulted { " (the default)" } else { "" }
                ),
                if defaulted {
                    format!("`{method_name}` by default")
                } else {
                    format!("needs `{needed}`")
                },
                format!(
                    "add `{needed}: {{ env: NAME }}` (or `{{ file: PATH }}`): where the \
                     issuer reads {what} when it starts; or set `client_authentication: \
                     none` if the provider registered the issuer as a public client"
                ),
            );
        }
        for &field in unused {
            if let Some(secret) = secret_named(settings, field) {
                let help = match method {
                    ClientAuthentication::None => format!(
                        "remove `{field}`, or set the `client_authentication` the provider \
                         registered the issuer with"
                    ),
                    _ if field == "private_key" => {
                        "remove `private_key`, or set `client_authentication: private_key_jwt`"
                            .to_string()
                    }
                    _ => "remove `client_secret`, or set `client_authentication: \
                     client_secret_basic` (or `client_secret_post`)"
                        .to_string(),
                };
                self.sink.report(
                    Code::LoginClientAuthentication,
                    secret_span(secret),
                    format!(
                        "login provider `{}` authenticates with `{method_name}` in \
                         `{environment}`, which does not use `{field}`",
                        provider.id.value
                    ),
                    "not used",
                    help,
                );
            }
        }
    }

    /// Every environment in which a participant issues a credential that signs in with the
    /// provider needs the provider's settings there.
    fn check_login_environments(&mut self, provider: &'a LoginProvider) {
        let framework = self.framework_id();
        let mut missing: Vec<(Environment, String)> = Vec::new();
        for credential in &self.model().credentials {
            let authentication = &credential.issuance.authentication;
            if authentication.method.value != AuthenticationMethod::Login
                || authentication.provider.as_ref().map(|p| p.value.as_str())
                    != Some(provider.id.value.as_str())
            {
                continue;
            }
            let key = (framework, credential.id.value.as_str());
            let mut issuers = self.index.issuers.get(&key).cloned().unwrap_or_default();
            issuers.sort();
            for environment in Environment::ALL {
                if provider.environments.value.get(environment).is_some()
                    || missing.iter().any(|(e, _)| *e == environment)
                {
                    continue;
                }
                let issuer = issuers.iter().find(|participant| {
                    self.index
                        .participants
                        .get(participant)
                        .and_then(|(p, _)| p.identifiers.as_ref())
                        .is_some_and(|ids| !ids.value.get(environment).is_empty())
                });
                if let Some(issuer) = issuer {
                    missing.push((
                        environment,
                        format!(
                            "`{}` issues `{}` in `{environment}`",
                            self.reference_to(issuer),
                            credential.id.value
                        ),
                    ));
                }
            }
        }
        for (environment, reason) in missing {
            self.sink.report(
                Code::LoginEnvironmentMissing,
                provider.id.span,
                format!(
                    "login provider `{}` has no `{environment}` settings, but {reason}",
                    provider.id.value
                ),
                format!("no `{environment}` settings"),
                format!(
                    "add `{environment}:` with the provider's `issuer` and the `client_id` it \
                     registered for the issuer in `{environment}`; a build for `{environment}` \
                     could not send holders anywhere to sign in"
                ),
            );
        }
    }

    /// What a credential's authentication says about the login.
    pub(super) fn check_login_authentication(&mut self, credential: &'a Credential) {
        let authentication = &credential.issuance.authentication;
        if authentication.method.value == AuthenticationMethod::Login {
            if let Some(provider) = &authentication.provider {
                let known = self
                    .model()
                    .login_providers
                    .iter()
                    .any(|p| p.id.value == provider.value);
                if !known {
                    let candidates = self
                        .model()
                        .login_providers
                        .iter()
                        .map(|p| p.id.value.clone())
                        .collect();
                    self.unknown_reference(
                        provider,
                        "login provider in this framework's `login_providers`",
                        candidates,
                    );
                }
            }
        } else {
            for (span, field) in [
                (authentication.provider.as_ref().map(|p| p.span), "provider"),
                (
                    authentication.assurance.as_ref().map(|a| a.span),
                    "assurance",
                ),
            ] {
                if let Some(span) = span {
                    self.sink.report(
                        Code::LoginMethodMissing,
                        span,
                        format!(
                            "`{field}` is for `method: login`, but `{}` is issued with `{}`",
                            credential.id.value,
                            method_name(authentication.method.value)
                        ),
                        "used only with `method: login`",
                        format!(
                            "set `method: login` to have the holder sign in, or remove `{field}`"
                        ),
                    );
                }
            }
        }
        if let Some(claim) = authentication
            .assurance
            .as_ref()
            .and_then(|a| a.value.claim.as_ref())
        {
            self.check_claim_path(claim);
        }
    }

    /// A `from: login` source: the credential signs the holder in, and its path parses.
    pub(super) fn check_login_claim(
        &mut self,
        credential: &'a Credential,
        name: &Spanned<String>,
        source: &Source,
    ) {
        let method = credential.issuance.authentication.method.value;
        if method != AuthenticationMethod::Login {
            self.sink.report(
                Code::LoginMethodMissing,
                source.from.span,
                format!(
                    "`{}` is copied from the login, but `{}` is issued with `{}`: the holder \
                     never signs in",
                    name.value,
                    credential.id.value,
                    method_name(method)
                ),
                "no login to copy from",
                "set `authentication.method: login` with a `provider`, or take the value from \
                 elsewhere (`from: offer`)",
            );
        }
        if let Some(claim) = &source.claim {
            self.check_claim_path(claim);
        }
    }

    fn check_claim_path(&mut self, claim: &Spanned<String>) {
        if let Err(message) = claim_path::parse(&claim.value) {
            self.sink.report(
                Code::LoginClaimPathInvalid,
                claim.span,
                format!("`{}` is not a claim name or `$` path", claim.value),
                message,
                "write a top-level claim name (`given_name`) or a `$` path of `.name`, \
                 `['name']` and `[index]` steps (`$.address.locality`, `$.roles[0]`)",
            );
        }
    }
}

/// The settings' `client_secret` or `private_key`.
fn secret_named<'s>(settings: &'s LoginSettings, field: &str) -> Option<&'s Spanned<Secret>> {
    match field {
        "client_secret" => settings.client_secret.as_ref(),
        _ => settings.private_key.as_ref(),
    }
}

/// Where a secret's place is written: the whole `{ env: … }` mapping (a mapping's own span is
/// where it starts).
fn secret_span(secret: &Spanned<Secret>) -> Span {
    match &secret.value {
        Secret::Source(map) => match (map.0.first(), map.0.last()) {
            (Some((first, _)), Some((_, last))) => Span::new(
                first.span.start as usize,
                last.span.end.max(first.span.end) as usize,
            ),
            _ => secret.span,
        },
        Secret::Written(_) => secret.span,
    }
}

/// A method as the governance writes it.
fn method_name(method: AuthenticationMethod) -> &'static str {
    match method {
        AuthenticationMethod::PreAuthorizedCode => "pre-authorized-code",
        AuthenticationMethod::Login => "login",
    }
}

fn client_authentication_name(method: ClientAuthentication) -> &'static str {
    match method {
        ClientAuthentication::ClientSecretBasic => "client_secret_basic",
        ClientAuthentication::ClientSecretPost => "client_secret_post",
        ClientAuthentication::PrivateKeyJwt => "private_key_jwt",
        ClientAuthentication::None => "none",
    }
}

/// POSIX-portable environment variable names (what every shell and service manager accepts).
fn is_environment_variable(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Why `issuer` cannot be a provider's issuer in `environment`: the label and the help.
///
/// An issuer is an https URL without query or fragment (OpenID Connect Discovery 1.0 section
/// 3); trustc also accepts http to a loopback host in `dev`, where the provider runs on the
/// developer's machine and nothing crosses a network.
fn issuer_problem(issuer: &str, environment: Environment) -> Result<(), (String, String)> {
    for (mark, what) in [('?', "a query"), ('#', "a fragment")] {
        if let Some(at) = issuer.find(mark) {
            return Err((
                what.to_string(),
                format!(
                    "an OpenID Connect issuer has no query or fragment; write `{}` as the \
                     provider's discovery document says it",
                    &issuer[..at]
                ),
            ));
        }
    }
    let https = match issuer.strip_prefix("http://") {
        Some(rest) => {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
            if !is_loopback(authority) {
                return Err((
                    "http to a host on the network".to_string(),
                    format!(
                        "use the provider's https issuer (`https://{rest}`): over http, the \
                         authorization code and tokens cross the network readable by anyone on \
                         the way; http is accepted only to a loopback host in `dev`"
                    ),
                ));
            }
            if environment != Environment::Dev {
                return Err((
                    format!("http in `{environment}`"),
                    format!(
                        "a loopback http provider is for development on one machine; in \
                         `{environment}` use the provider's https issuer"
                    ),
                ));
            }
            format!("https://{rest}")
        }
        None => issuer.to_string(),
    };
    if let Err(message) = formats::check_https_url(&https) {
        let message = if https == issuer {
            message
        } else {
            message.replace(&https, issuer)
        };
        return Err((
            "not an https URL".to_string(),
            format!(
                "{message}; write the issuer exactly as the provider's \
                 `/.well-known/openid-configuration` says it"
            ),
        ));
    }
    Ok(())
}

/// `localhost`, `127.0.0.0/8` or `[::1]`, with or without a port: the hosts `trustc serve`
/// reaches over plain http (`domain::fetch::is_loopback` in the runtime). A `*.localhost` name is
/// not one: the issuer would refuse it at start.
fn is_loopback(authority: &str) -> bool {
    let host = if let Some(bracketed) = authority.strip_prefix('[') {
        return bracketed
            .split_once(']')
            .and_then(|(address, _)| address.parse::<Ipv6Addr>().ok())
            .is_some_and(|a| a.is_loopback());
    } else {
        authority
            .rsplit_once(':')
            .map_or(authority, |(host, _)| host)
    };
    let host = host.to_ascii_lowercase();
    host == "localhost" || host.parse::<Ipv4Addr>().is_ok_and(|a| a.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_are_https_or_loopback_http_in_dev() {
        for ok in [
            "https://idp.example",
            "https://idp.example/realms/bc",
            "http://localhost:8700",
            "http://127.0.0.1:8700/",
            "http://[::1]:8700",
        ] {
            assert_eq!(issuer_problem(ok, Environment::Dev), Ok(()), "{ok}");
        }
        assert!(issuer_problem("https://idp.example", Environment::Prod).is_ok());
        let refused =
            |issuer: &str, environment| issuer_problem(issuer, environment).expect_err(issuer).0;
        assert_eq!(
            refused("http://localhost:8700", Environment::Test),
            "http in `test`"
        );
        assert_eq!(
            refused("http://idp.example", Environment::Dev),
            "http to a host on the network"
        );
        assert_eq!(
            refused("http://127.0.0.1.example", Environment::Dev),
            "http to a host on the network"
        );
        // The runtime reaches only `localhost` and loopback addresses over http.
        assert_eq!(
            refused("http://op.localhost", Environment::Dev),
            "http to a host on the network"
        );
        assert_eq!(
            refused("https://idp.example/?tenant=x", Environment::Prod),
            "a query"
        );
        assert_eq!(
            refused("https://idp.example/#x", Environment::Prod),
            "a fragment"
        );
        assert_eq!(
            refused("idp.example", Environment::Prod),
            "not an https URL"
        );
        assert_eq!(
            refused("ftp://idp.example", Environment::Prod),
            "not an https URL"
        );
    }

    #[test]
    fn environment_variable_names_are_portable_names() {
        for ok in ["X", "_X", "LOGIN_CLIENT_SECRET", "a1"] {
            assert!(is_environment_variable(ok), "{ok}");
        }
        for bad in ["", "1X", "MY-SECRET", "A B", "$X"] {
            assert!(!is_environment_variable(bad), "{bad}");
        }
    }
}
