//! TEMPORARY placeholder with the contract's API, replaced by the relying party's module.
#![allow(dead_code, unused_variables)]

use std::sync::Arc;

use serde_json::{Map, Value};
use trustc_artifact::{Assurance, IssuerConfig, SecretSource};

use crate::domain::fetch::Fetch;

pub struct Providers;

pub struct StartLogin<'a> {
    pub redirect_uri: &'a str,
    pub acr_values: &'a [String],
    pub claims: Option<Value>,
    pub login_hint: Option<&'a str>,
}

pub struct LoginStart {
    pub authorization_url: String,
    pub state: String,
    pub nonce: String,
    pub code_verifier: String,
}

pub struct Callback<'a> {
    pub code: &'a str,
    pub iss: Option<&'a str>,
}

pub struct Expected<'a> {
    pub nonce: &'a str,
    pub code_verifier: &'a str,
    pub redirect_uri: &'a str,
}

pub struct LoggedIn {
    pub subject: String,
    pub acr: Option<String>,
    pub claims: Map<String, Value>,
}

#[derive(Debug)]
pub enum LoginError {
    Unreachable(String),
    Refused(String),
    Config(String),
}

impl std::fmt::Display for LoginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoginError::Unreachable(w) | LoginError::Refused(w) | LoginError::Config(w) => {
                f.write_str(w)
            }
        }
    }
}

impl Providers {
    pub fn new(
        config: &IssuerConfig,
        secrets: impl Fn(&SecretSource) -> Result<String, String>,
        encryption_key: p256::SecretKey,
        fetch: Arc<dyn Fetch>,
    ) -> Result<Providers, String> {
        Err("placeholder".into())
    }

    pub async fn start(
        &self,
        provider: &str,
        request: StartLogin<'_>,
    ) -> Result<LoginStart, LoginError> {
        Err(LoginError::Config("placeholder".into()))
    }

    pub async fn finish(
        &self,
        provider: &str,
        callback: Callback<'_>,
        expected: Expected<'_>,
        now: i64,
    ) -> Result<LoggedIn, LoginError> {
        Err(LoginError::Config("placeholder".into()))
    }

    pub fn encryption_jwks(&self) -> Value {
        Value::Null
    }
}

pub fn assurance_met(assurance: &Assurance, logged_in: &LoggedIn) -> Result<(), String> {
    Ok(())
}
