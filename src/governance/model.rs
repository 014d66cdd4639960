//! The typed governance framework (format `trustc/governance/v1`), read after the file passed its
//! JSON Schema (`schemas/governance.schema.json`).
//!
//! Fields that checks point at are [`Spanned`]; the schema has already checked shapes and enums, so
//! reading this model only fails if the schema and the model disagree.
//!
//! Values the compiled configuration has too (attribute types, disclosure, formats, revocation,
//! the authentication method, the transaction code's input mode, environments) are read straight
//! into the `trustc_artifact` types, so the governance and the configuration share one vocabulary.

use serde::Deserialize;

use trustc_artifact::Environment;

use crate::syntax::{OrderedMap, Spanned};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Governance {
    pub format: Spanned<String>,
    pub framework: Framework,
    #[serde(default)]
    pub participants: Vec<Participant>,
    #[serde(default)]
    pub login_providers: Vec<LoginProvider>,
    pub credentials: Vec<Credential>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Framework {
    pub id: Spanned<String>,
    pub name: Spanned<Text>,
    pub description: Option<Spanned<Text>>,
    pub version: Spanned<String>,
    pub authority: Authority,
    pub jurisdiction: Option<Spanned<String>>,
    pub documentation: Option<Spanned<String>>,
    pub locales: Spanned<Vec<Spanned<String>>>,
}

impl Framework {
    /// The locales every text of the framework is given in, in the framework's order.
    pub fn locale_names(&self) -> impl Iterator<Item = &str> {
        self.locales.value.iter().map(|l| l.value.as_str())
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authority {
    pub name: Spanned<Text>,
    pub id: Option<Spanned<String>>,
    pub website: Option<Spanned<String>>,
}

/// Text shown to people: the same in every locale, or given per locale.
#[derive(Clone, Debug, PartialEq)]
pub enum Text {
    Same(String),
    PerLocale(OrderedMap<String>),
}

impl Text {
    /// The text for `locale`, if there is one.
    pub fn get(&self, locale: &str) -> Option<&str> {
        match self {
            Text::Same(s) => Some(s),
            Text::PerLocale(map) => map.get(locale).map(String::as_str),
        }
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> serde::de::Visitor<'de> for TextVisitor {
            type Value = Text;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or a mapping from locale to string")
            }
            fn visit_str<E>(self, v: &str) -> Result<Text, E> {
                Ok(Text::Same(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Text, A::Error> {
                OrderedMap::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(Text::PerLocale)
            }
        }
        deserializer.deserialize_any(TextVisitor)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Participant {
    pub id: Spanned<String>,
    pub name: Spanned<Text>,
    pub description: Option<Spanned<Text>>,
    pub website: Option<Spanned<String>>,
    pub identifiers: Option<Spanned<Identifiers>>,
    #[serde(default)]
    pub issues: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identifiers {
    pub dev: Option<OneOrMany>,
    pub test: Option<OneOrMany>,
    pub prod: Option<OneOrMany>,
}

impl Identifiers {
    /// The identifiers in `environment` (none when it has no entry).
    pub fn get(&self, environment: Environment) -> &[Spanned<String>] {
        let list = match environment {
            Environment::Dev => &self.dev,
            Environment::Test => &self.test,
            Environment::Prod => &self.prod,
        };
        list.as_ref().map_or(&[][..], OneOrMany::as_slice)
    }
}

/// One value or a list of values (`dev: did:web:a` or `dev: [did:web:a, https://b]`).
#[derive(Debug)]
pub struct OneOrMany(pub Vec<Spanned<String>>);

impl OneOrMany {
    pub fn as_slice(&self) -> &[Spanned<String>] {
        &self.0
    }
}

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::syntax::de::one_or_many(deserializer).map(OneOrMany)
    }
}

/// An OpenID Connect provider holders sign in with, declared once per framework and named by the
/// credentials of `method: login`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginProvider {
    pub id: Spanned<String>,
    pub name: Spanned<Text>,
    pub environments: Spanned<LoginEnvironments>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginEnvironments {
    pub dev: Option<Spanned<LoginSettings>>,
    pub test: Option<Spanned<LoginSettings>>,
    pub prod: Option<Spanned<LoginSettings>>,
}

impl LoginEnvironments {
    /// The settings for `environment`, when the provider has some there.
    pub fn get(&self, environment: Environment) -> Option<&Spanned<LoginSettings>> {
        match environment {
            Environment::Dev => self.dev.as_ref(),
            Environment::Test => self.test.as_ref(),
            Environment::Prod => self.prod.as_ref(),
        }
    }
}

/// How the issuer reaches a login provider in one environment.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginSettings {
    pub issuer: Spanned<String>,
    pub client_id: Spanned<String>,
    pub client_authentication: Option<Spanned<ClientAuthentication>>,
    pub client_secret: Option<Spanned<Secret>>,
    pub private_key: Option<Spanned<Secret>>,
    pub scopes: Option<Spanned<Vec<Spanned<String>>>>,
}

impl LoginSettings {
    /// The client authentication, `client_secret_basic` when the governance does not say.
    pub fn client_authentication(&self) -> ClientAuthentication {
        self.client_authentication
            .as_ref()
            .map_or_else(ClientAuthentication::default, |c| c.value)
    }
}

/// How the issuer authenticates to a login provider: the compiled configuration's methods.
pub use trustc_artifact::ClientAuthentication;

/// A secret's place as written: `{ env: NAME }` or `{ file: PATH }` (one key, checked after the
/// schema, which lets any mapping of strings and any string through so that the check can say
/// exactly what is wrong), or the secret itself as a string, which is an error.
#[derive(Debug)]
pub enum Secret {
    Written(String),
    Source(OrderedMap<Spanned<String>>),
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SecretVisitor;
        impl<'de> serde::de::Visitor<'de> for SecretVisitor {
            type Value = Secret;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("`{ env: NAME }` or `{ file: PATH }`")
            }
            fn visit_str<E>(self, v: &str) -> Result<Secret, E> {
                Ok(Secret::Written(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Secret, A::Error> {
                OrderedMap::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(Secret::Source)
            }
        }
        deserializer.deserialize_any(SecretVisitor)
    }
}

/// A credential format: the compiled configuration's formats.
pub use trustc_artifact::CredentialFormat;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    pub id: Spanned<String>,
    pub name: Spanned<Text>,
    pub description: Option<Spanned<Text>>,
    pub help_text: Option<Spanned<Text>>,
    pub support_url: Option<Spanned<Text>>,
    pub watermark: Option<Spanned<Text>>,
    pub version: Spanned<String>,
    pub formats: Vec<Spanned<CredentialFormat>>,
    pub vct: Option<Spanned<String>>,
    pub oca_bundle: Option<Spanned<String>>,
    pub attributes: OrderedMap<Attribute>,
    pub branding: Option<Spanned<Branding>>,
    #[serde(default)]
    pub images: Images,
    pub validity: Option<Spanned<String>>,
    pub revocation: Option<Spanned<Revocation>>,
    #[serde(default)]
    pub anoncreds: AnonCreds,
    pub issuance: Issuance,
}

impl Credential {
    pub fn has_format(&self, format: CredentialFormat) -> bool {
        self.formats.iter().any(|f| f.value == format)
    }
}

/// How `trustc build` delivers local images.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Images {
    #[serde(default)]
    pub delivery: ImageDelivery,
    pub base_url: Option<Spanned<String>>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageDelivery {
    /// As data: URLs inside the generated files.
    #[default]
    Inline,
    /// Copied next to the generated OCA bundle and referenced at `base_url`.
    Copy,
}

/// AnonCreds details for Aries agents.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnonCreds {
    pub schema_name: Option<String>,
    pub tag: Option<String>,
    pub revocation_registry_size: Option<u32>,
    #[serde(default)]
    pub identifiers: LedgerIdentifiers,
}

/// Ledger identifiers (schema or credential definition ids) per environment.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerIdentifiers {
    #[serde(default)]
    pub dev: Vec<String>,
    #[serde(default)]
    pub test: Vec<String>,
    #[serde(default)]
    pub prod: Vec<String>,
}

impl LedgerIdentifiers {
    pub fn get(&self, environment: Environment) -> &[String] {
        match environment {
            Environment::Dev => &self.dev,
            Environment::Test => &self.test,
            Environment::Prod => &self.prod,
        }
    }
}

/// An attribute's type: the compiled configuration's type, read from the governance as written.
pub use trustc_artifact::AttributeType;

/// The OCA capture-base type that represents `kind`.
pub fn oca_type(kind: AttributeType) -> &'static str {
    match kind {
        AttributeType::Text | AttributeType::Enum => "Text",
        AttributeType::Number | AttributeType::Integer => "Numeric",
        AttributeType::Boolean => "Boolean",
        AttributeType::Date | AttributeType::Datetime => "DateTime",
        AttributeType::Binary => "Binary",
    }
}

/// Whether an attribute is selectively disclosable: the compiled configuration's values.
pub use trustc_artifact::Disclosure;

/// A scalar value written in the governance (an example or a constant).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    Bool(bool),
    Number(serde_json::Number),
    String(String),
}

impl Scalar {
    /// The same value as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Scalar::Bool(b) => serde_json::Value::Bool(*b),
            Scalar::Number(n) => serde_json::Value::Number(n.clone()),
            Scalar::String(s) => serde_json::Value::String(s.clone()),
        }
    }
}

impl std::fmt::Display for Scalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Number(n) => write!(f, "{n}"),
            Scalar::String(s) => write!(f, "{s:?}"),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attribute {
    #[serde(rename = "type")]
    pub kind: Spanned<AttributeType>,
    pub required: Option<Spanned<bool>>,
    pub pattern: Option<Spanned<String>>,
    pub values: Option<Spanned<Vec<Spanned<String>>>>,
    pub format: Option<Spanned<String>>,
    pub standard: Option<Spanned<String>>,
    pub encoding: Option<Spanned<String>>,
    pub disclosure: Option<Spanned<Disclosure>>,
    pub personal: Option<Spanned<bool>>,
    pub example: Option<Spanned<Scalar>>,
    pub label: Option<Spanned<Text>>,
    pub description: Option<Spanned<Text>>,
}

impl Attribute {
    pub fn is_required(&self) -> bool {
        self.required.as_ref().is_some_and(|r| r.value)
    }

    pub fn is_personal(&self) -> bool {
        self.personal.as_ref().is_some_and(|p| p.value)
    }

    /// The attribute's disclosure; `allowed` when the governance does not say.
    pub fn disclosure(&self) -> Disclosure {
        self.disclosure
            .as_ref()
            .map_or(Disclosure::Allowed, |d| d.value)
    }
}

/// A credential's inline branding: the fields of the Aries OCA branding overlay (the schema
/// allows exactly those).
pub type Branding = crate::oca::Branding;

/// How a credential is revoked: the compiled configuration's methods.
pub use trustc_artifact::Revocation;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Issuance {
    pub authentication: Authentication,
    #[serde(default)]
    pub prerequisites: Vec<Prerequisite>,
    pub batch: Option<Spanned<Batch>>,
    pub claims: Spanned<OrderedMap<Spanned<Source>>>,
}

/// Batch issuance: the most credentials one request asks for and one offer yields (defaults in
/// [`trustc_artifact::Batch::with`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    pub size: Option<Spanned<u32>>,
    pub per_offer: Option<Spanned<u32>>,
}

/// How the holder authenticates: the compiled configuration's methods.
pub use trustc_artifact::AuthenticationMethod;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authentication {
    pub method: Spanned<AuthenticationMethod>,
    pub provider: Option<Spanned<String>>,
    pub assurance: Option<Spanned<Assurance>>,
    pub transaction_code: Option<Spanned<TransactionCode>>,
}

/// The assurance a login must have: `acr` values and/or a claim and the values it may take.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assurance {
    pub acr: Option<Vec<Spanned<String>>>,
    pub claim: Option<Spanned<String>>,
    pub values: Option<Vec<Spanned<Scalar>>>,
}

/// What the holder types a transaction code with: the compiled configuration's modes.
pub use trustc_artifact::InputMode;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransactionCode {
    pub length: u32,
    #[serde(default)]
    pub input_mode: InputMode,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prerequisite {
    pub id: Spanned<String>,
    pub credential: Spanned<String>,
    pub trusted_issuers: Vec<Spanned<String>>,
    #[serde(default)]
    pub claims: Vec<Spanned<String>>,
    pub purpose: Option<Spanned<Text>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Offer,
    Prerequisite,
    Login,
    Issuance,
    Constant,
}

/// Where an attribute's value comes from at issuance.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub from: Spanned<SourceKind>,
    pub prerequisite: Option<Spanned<String>>,
    pub claim: Option<Spanned<String>>,
    pub value: Option<Spanned<Scalar>>,
}
