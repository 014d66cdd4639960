//! The compiled issuer configuration: the contract between `trustc build` and the issuer runtime.
//!
//! `trustc build` writes `issuer/config.json` from these types and the runtime reads it back with
//! them, so the two cannot disagree about the file's shape; [`values`] holds the rules for what
//! value fits an attribute, used by both. The crate has no I/O and depends on serde, `sha2` (the
//! content hash), `regex` and `base64` (value rules) only, which keeps the runtime free of the
//! compiler's dependencies. With the `schema` feature the types also derive a JSON Schema,
//! published as `schemas/issuer-config.schema.json` in the trustc repository.
//!
//! Everything the runtime needs to issue exactly what the governance allows is here: attribute
//! types and constraints, where each claim's value comes from, which claims are selectively
//! disclosable, validity, revocation, prerequisites and their trusted issuers, the transaction-code
//! policy and the wallet display per locale.

pub mod claim_path;
pub mod values;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The value of [`IssuerConfig::format`] this crate reads and writes.
pub const FORMAT: &str = "trustc/issuer-config/v1";

/// Text per locale (`{"en": "Lawyer", "fr": "Avocat"}`), ordered by locale.
pub type Localized = BTreeMap<String, String>;

/// The compiled configuration of one build.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// Always `trustc/issuer-config/v1` ([`FORMAT`]).
    pub format: String,
    /// `sha256:<hex>` of this file's canonical JSON with `content_hash` set to `""`; see
    /// `IssuerConfig::compute_content_hash`. Two builds of the same governance have the same hash.
    pub content_hash: String,
    /// The environment whose identifiers the build selected.
    pub environment: Environment,
    /// The credential issuer identifier (an https URL, or a loopback http URL for development)
    /// that the generated OpenID4VCI metadata names. A runtime serving under another public URL
    /// replaces it.
    pub credential_issuer: String,
    /// Every governance framework of the repository.
    pub frameworks: Vec<Framework>,
    /// Every credential type, ordered by id.
    pub credentials: Vec<CredentialType>,
    /// The OpenID Connect providers credentials of `login` authentication sign the holder in
    /// with, with their settings for the build's environment, ordered by id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub login_providers: Vec<LoginProvider>,
}

impl IssuerConfig {
    /// The login provider whose qualified id is `id`.
    pub fn login_provider(&self, id: &str) -> Option<&LoginProvider> {
        self.login_providers.iter().find(|p| p.id == id)
    }
}

/// An OpenID Connect provider the issuer signs holders in with (the issuer is its relying
/// party), as the governance declares it for the build's environment. Secrets are never here:
/// only where the running issuer reads them from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginProvider {
    /// `<framework>/<provider>`.
    pub id: String,
    /// The framework that declares it.
    pub framework: String,
    pub name: Localized,
    /// The provider's issuer identifier, exactly as its discovery document says it (an https URL,
    /// or a loopback http URL for development).
    pub issuer: String,
    /// The client id the provider registered for this issuer.
    pub client_id: String,
    /// How the issuer authenticates to the provider's token endpoint.
    pub client_authentication: ClientAuthentication,
    /// Where the running issuer reads the client secret (`client_secret_*`) or its private key
    /// (`private_key_jwt`, a PEM P-256 key); absent for `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretSource>,
    /// The scopes requested, `openid` first.
    pub scopes: Vec<String>,
}

/// OAuth 2.0 client authentication at the provider's token endpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthentication {
    /// HTTP Basic with the client secret (the OpenID Connect default).
    #[default]
    ClientSecretBasic,
    /// The client secret in the form body.
    ClientSecretPost,
    /// A JWT signed with the issuer's private key for this provider (RFC 7523).
    PrivateKeyJwt,
    /// No client authentication (a public client; PKCE only).
    None,
}

/// Where a secret is read when the issuer starts: never from the governance or this file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum SecretSource {
    /// An environment variable of the issuer's process.
    Env(String),
    /// A file (its whole content, a trailing newline removed).
    File(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Dev,
    Test,
    Prod,
}

impl Environment {
    pub const ALL: [Environment; 3] = [Environment::Dev, Environment::Test, Environment::Prod];

    pub fn name(self) -> &'static str {
        match self {
            Environment::Dev => "dev",
            Environment::Test => "test",
            Environment::Prod => "prod",
        }
    }
}

impl std::fmt::Display for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Environment {
    type Err = String;
    fn from_str(s: &str) -> Result<Environment, String> {
        Environment::ALL
            .into_iter()
            .find(|e| e.name() == s)
            .ok_or_else(|| format!("unknown environment `{s}` (expected dev, test or prod)"))
    }
}

/// A governance framework: who governs, and which version of the rules a build compiled.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Framework {
    pub id: String,
    pub version: String,
    pub name: Localized,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Localized>,
    pub authority: Authority,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jurisdiction: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation: Option<String>,
    /// The locales every text of the framework is given in, in the framework's order.
    pub locales: Vec<String>,
    pub participants: Vec<Participant>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Authority {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: Localized,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
}

/// An organisation of a framework and what it is authorised to issue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Participant {
    /// `<framework>/<participant>`.
    pub id: String,
    pub name: Localized,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Localized>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// The participant's identifiers (DIDs, https URLs) in the build's environment.
    pub identifiers: Vec<String>,
    /// The credential types it may issue, as `<framework>/<credential>`.
    pub issues: Vec<String>,
}

/// One credential type, everything an issuer needs to issue it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CredentialType {
    /// The credential type id; also its OpenID4VCI credential configuration id. Unique in a build.
    pub id: String,
    /// The framework that defines it.
    pub framework: String,
    /// The framework's version.
    pub framework_version: String,
    /// The credential type's version.
    pub version: String,
    pub name: Localized,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Localized>,
    pub formats: Vec<CredentialFormat>,
    /// The SD-JWT VC type, when the credential is issued as `dc+sd-jwt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vct: Option<String>,
    /// The participants that may issue it (`<framework>/<participant>`), with their identifiers.
    pub issuers: Vec<IssuerRef>,
    /// The attributes, in display order.
    pub attributes: Vec<Attribute>,
    /// Where each attribute's value comes from at issuance, in attribute order.
    pub claims: Vec<ClaimSource>,
    /// The SD-JWT disclosure frame: the claims issued as disclosures (`_sd`), in attribute order.
    /// Every other claim is issued in plain text.
    pub disclosure_frame: DisclosureFrame,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validity: Option<Validity>,
    pub revocation: Revocation,
    pub authentication: Authentication,
    /// How many credentials one request may ask for and one offer may yield (OpenID4VCI 1.0
    /// batch issuance). Absent from configurations built before batches: the defaults.
    #[serde(default)]
    pub batch: Batch,
    /// Credentials the holder presents before this one is issued.
    pub prerequisites: Vec<Prerequisite>,
    /// The OpenID4VP 1.0 DCQL query the issuer sends the holder for this credential's
    /// prerequisites: one credential query per prerequisite, with the prerequisite's id; absent
    /// when the credential has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dcql_query: Option<DcqlQuery>,
    /// Wallet display, one entry per locale.
    pub display: Vec<Display>,
}

impl CredentialType {
    /// The attribute called `name`.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum CredentialFormat {
    /// SD-JWT VC, issued over OpenID4VCI.
    #[serde(rename = "dc+sd-jwt")]
    SdJwtVc,
    /// AnonCreds, issued by an Aries agent (ACA-Py, Credo).
    #[serde(rename = "anoncreds")]
    AnonCreds,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct IssuerRef {
    /// `<framework>/<participant>`.
    pub participant: String,
    pub name: Localized,
    /// Its identifiers in the build's environment.
    pub identifiers: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum AttributeType {
    /// A string.
    Text,
    /// A JSON number.
    Number,
    /// A JSON number without a fraction.
    Integer,
    Boolean,
    /// `YYYY-MM-DD`.
    Date,
    /// RFC 3339 date and time.
    Datetime,
    /// Base64 text.
    Binary,
    /// One of the attribute's `values`.
    Enum,
}

impl AttributeType {
    /// The type as governance files and this file write it (`text`, `datetime`…).
    pub fn name(self) -> &'static str {
        match self {
            AttributeType::Text => "text",
            AttributeType::Number => "number",
            AttributeType::Integer => "integer",
            AttributeType::Boolean => "boolean",
            AttributeType::Date => "date",
            AttributeType::Datetime => "datetime",
            AttributeType::Binary => "binary",
            AttributeType::Enum => "enum",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Disclosure {
    /// Always selectively disclosable (SD-JWT VC `sd: always`).
    Always,
    /// Disclosable; the issuer's choice (trustc makes it disclosable).
    Allowed,
    /// Never selectively disclosable: always in plain text (`sd: never`).
    Never,
}

impl Disclosure {
    /// Whether the claim is issued as a disclosure.
    pub fn is_disclosable(self) -> bool {
        self != Disclosure::Never
    }

    /// The value as governance files and this file write it (`always`, `allowed`, `never`).
    pub fn name(self) -> &'static str {
        match self {
            Disclosure::Always => "always",
            Disclosure::Allowed => "allowed",
            Disclosure::Never => "never",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Attribute {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: AttributeType,
    pub required: bool,
    /// A regular expression a text value must match in full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// The allowed values of an enum attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    pub disclosure: Disclosure,
    /// Personal information (flagged in the OCA bundle).
    pub personal: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<serde_json::Value>,
    /// Label and description per locale.
    pub display: Vec<ClaimDisplay>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ClaimDisplay {
    pub locale: String,
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Where a claim's value comes from at issuance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ClaimSource {
    pub claim: String,
    pub source: Source,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "from", rename_all = "lowercase")]
pub enum Source {
    /// Supplied by the issuer's back end when it creates the offer.
    Offer,
    /// Copied from a claim of a prerequisite credential the holder presented.
    Prerequisite { prerequisite: String, claim: String },
    /// The same value in every credential.
    Constant { value: serde_json::Value },
    /// Copied from the login: a claim of the ID token or userinfo, by name or by a `$` JSON path
    /// (`$.address.locality`, `$['https://example.com/claims/x']`, `$.roles[0]`).
    Login { claim: String },
    /// Set by the issuer when it issues the credential: the date (or date-time, for a `datetime`
    /// attribute) it is issued, or it expires (issuance plus the credential's validity), in UTC.
    Issuance { value: IssuanceValue },
}

/// Which moment of the issuance a claim carries ([`Source::Issuance`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum IssuanceValue {
    /// When the credential is issued.
    Issued,
    /// When it expires: issuance plus the credential's validity.
    Expires,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct DisclosureFrame {
    #[serde(rename = "_sd")]
    pub sd: Vec<String>,
}

/// The JSON Pointer (RFC 6901) of the top-level claim `name`, as SD-JWT tools name the claims of
/// a disclosure frame: `/` and the name with `~` escaped as `~0` and `/` as `~1`.
pub fn claim_pointer(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 1);
    out.push('/');
    for c in name.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            _ => out.push(c),
        }
    }
    out
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Validity {
    /// The ISO 8601 duration the governance gives (`P1Y`).
    pub duration: String,
    /// The same duration in seconds (years of 365.25 days, months of 30.44 days).
    pub seconds: u64,
}

/// Batch issuance (OpenID4VCI 1.0 §8.2, `batch_credential_issuance`): a credential request
/// carries up to `size` key proofs and gets one credential per key, so that the holder can
/// present a fresh credential to each verifier and presentations cannot be linked by the
/// credential; an offer yields at most `per_offer` credentials over all the requests its access
/// token makes (a wallet that lost an answer asks again).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// The most key proofs (credentials) in one credential request, at least 1.
    pub size: u32,
    /// The most credentials one offer yields across all its requests, at least `size`.
    pub per_offer: u32,
}

impl Batch {
    /// The default batch size: enough credentials for a holder to show a fresh one to each of
    /// several verifiers.
    pub const DEFAULT_SIZE: u32 = 10;

    /// The governance's settings, each defaulted: `size` to [`Batch::DEFAULT_SIZE`], `per_offer`
    /// to twice the size (one lost answer's worth of retries).
    pub fn with(size: Option<u32>, per_offer: Option<u32>) -> Batch {
        let size = size.unwrap_or(Batch::DEFAULT_SIZE);
        Batch {
            size,
            per_offer: per_offer.unwrap_or(size.saturating_mul(2)),
        }
    }
}

impl Default for Batch {
    fn default() -> Batch {
        Batch::with(None, None)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Revocation {
    /// IETF Token Status List.
    StatusList,
    None,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Authentication {
    pub method: AuthenticationMethod,
    /// The transaction code the holder enters; absent when the offer carries none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_code: Option<TxCode>,
    /// How the holder signs in, for [`AuthenticationMethod::Login`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<LoginRule>,
}

/// The login a credential of [`AuthenticationMethod::Login`] requires.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginRule {
    /// The provider, `<framework>/<provider>` ([`IssuerConfig::login_providers`]).
    pub provider: String,
    /// The assurance the login must have; absent when any login will do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assurance: Option<Assurance>,
    /// Whether a wallet may start the flow itself (OpenID4VCI `scope`): true when no required
    /// claim comes from an offer the issuer's back end makes.
    pub wallet_initiated: bool,
}

/// The assurance of a login: the ID token's `acr` is one of `acr`, and/or the claim `claim`
/// equals one of its `values`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Assurance {
    /// Acceptable Authentication Context Class References, sent as `acr_values`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acr: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<ClaimAssurance>,
}

/// A claim of the login and the values it must take (compared as JSON values, with a number and
/// its decimal string taken as equal).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ClaimAssurance {
    /// A claim name, or a `$` JSON path ([`Source::Login`]).
    pub claim: String,
    pub values: Vec<serde_json::Value>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum AuthenticationMethod {
    /// OpenID4VCI pre-authorised code flow.
    PreAuthorizedCode,
    /// The holder signs in with an OpenID Connect provider (OpenID4VCI authorization code flow,
    /// or the web journey that ends in a pre-authorised offer).
    Login,
}

/// OpenID4VCI `tx_code`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct TxCode {
    pub length: u32,
    pub input_mode: InputMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

// OpenID4VCI `input_mode`; `numeric` when not given, as in OpenID4VCI. (Not a doc comment: it
// would become the schema's description.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum InputMode {
    #[default]
    Numeric,
    Text,
}

impl InputMode {
    /// The mode as the governance and OpenID4VCI's `tx_code.input_mode` write it.
    pub fn name(self) -> &'static str {
        match self {
            InputMode::Numeric => "numeric",
            InputMode::Text => "text",
        }
    }
}

/// A credential the holder presents before this one is issued.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Prerequisite {
    pub id: String,
    /// The credential type, as `<framework>/<credential>`.
    pub credential: String,
    /// Its SD-JWT VC type, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vct: Option<String>,
    /// Who must have issued it, with their identifiers in the build's environment.
    pub trusted_issuers: Vec<IssuerRef>,
    /// The claims the holder must disclose.
    pub claims: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<Localized>,
}

/// An OpenID4VP 1.0 DCQL query (section 6): the credentials a verifier asks the holder to present.
/// Members DCQL defines with a default (`multiple`: false, `require_cryptographic_holder_binding`:
/// true) are left out, so they keep it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct DcqlQuery {
    pub credentials: Vec<DcqlCredentialQuery>,
}

/// One credential a DCQL query asks for (OpenID4VP 1.0 section 6.1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct DcqlCredentialQuery {
    /// The id the presentation comes back under in the `vp_token` (`[A-Za-z0-9_-]+`): the
    /// prerequisite's id.
    pub id: String,
    /// The credential format identifier; `dc+sd-jwt` for SD-JWT VCs.
    pub format: String,
    pub meta: DcqlMeta,
    /// The claims the holder must disclose, in the order the prerequisite lists them.
    pub claims: Vec<DcqlClaimQuery>,
}

/// The format-specific constraints of a DCQL credential query (for `dc+sd-jwt`, OpenID4VP 1.0's
/// SD-JWT VC appendix defines `vct_values`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct DcqlMeta {
    /// The SD-JWT VC types (`vct`) accepted.
    pub vct_values: Vec<String>,
}

/// One claim a DCQL credential query asks for (OpenID4VP 1.0 section 6.3).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct DcqlClaimQuery {
    /// The claims path pointer (section 7): the claim's name, for a top-level claim.
    pub path: Vec<String>,
}

/// How a wallet shows the credential in one locale.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Display {
    pub locale: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The issuer's name in this locale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<Image>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary_background_color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_image: Option<Image>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_image_slice: Option<Image>,
    /// A text colour readable on `background_color` (black or white, by WCAG contrast).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_attribute: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary_attribute: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_date_attribute: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_date_attribute: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Image {
    /// An https URL or a `data:` URL.
    pub uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt_text: Option<String>,
    /// Subresource integrity (`sha256-<base64>`) of the image bytes, for images the build read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrity: Option<String>,
}

/// Why a configuration file cannot be used.
#[derive(Debug)]
pub enum LoadError {
    Json(serde_json::Error),
    Format(String),
    ContentHash { expected: String, found: String },
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Json(e) => write!(f, "not a trustc issuer configuration: {e}"),
            LoadError::Format(found) => write!(
                f,
                "format `{found}` is not `{FORMAT}`; rebuild the configuration with this trustc"
            ),
            LoadError::ContentHash { expected, found } => write!(
                f,
                "content hash {found} does not match the content ({expected}): the file was edited after `trustc build`"
            ),
        }
    }
}

impl std::error::Error for LoadError {}

impl IssuerConfig {
    /// The content hash of this configuration: SHA-256 of its compact JSON with `content_hash`
    /// empty. Field order is the struct order and maps are ordered, so the JSON is canonical.
    pub fn compute_content_hash(&self) -> String {
        let mut unhashed = self.clone();
        unhashed.content_hash = String::new();
        let bytes = serde_json::to_vec(&unhashed).expect("the configuration serialises");
        let digest = Sha256::digest(&bytes);
        let mut hex = String::with_capacity(64);
        for byte in digest {
            hex.push_str(&format!("{byte:02x}"));
        }
        format!("sha256:{hex}")
    }

    /// Sets [`IssuerConfig::content_hash`] from the content.
    pub fn seal(&mut self) {
        self.content_hash = self.compute_content_hash();
    }

    /// Reads a configuration, refusing another format or a content hash that does not match.
    pub fn from_json(text: &str) -> Result<IssuerConfig, LoadError> {
        let config: IssuerConfig = serde_json::from_str(text).map_err(LoadError::Json)?;
        if config.format != FORMAT {
            return Err(LoadError::Format(config.format));
        }
        let expected = config.compute_content_hash();
        if expected != config.content_hash {
            return Err(LoadError::ContentHash {
                expected,
                found: config.content_hash,
            });
        }
        Ok(config)
    }

    /// The credential type with configuration id `id`.
    pub fn credential(&self, id: &str) -> Option<&CredentialType> {
        self.credentials.iter().find(|c| c.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal() -> IssuerConfig {
        IssuerConfig {
            format: FORMAT.into(),
            content_hash: String::new(),
            environment: Environment::Dev,
            credential_issuer: "https://issuer.example".into(),
            frameworks: vec![],
            credentials: vec![],
            login_providers: vec![],
        }
    }

    #[test]
    fn a_sealed_configuration_reads_back() {
        let mut config = minimal();
        config.seal();
        assert!(config.content_hash.starts_with("sha256:"));
        let text = serde_json::to_string_pretty(&config).unwrap();
        assert_eq!(IssuerConfig::from_json(&text).unwrap(), config);
    }

    #[test]
    fn an_edited_configuration_is_refused() {
        let mut config = minimal();
        config.seal();
        config.credential_issuer = "https://elsewhere.example".into();
        let text = serde_json::to_string(&config).unwrap();
        assert!(matches!(
            IssuerConfig::from_json(&text),
            Err(LoadError::ContentHash { .. })
        ));
    }

    #[test]
    fn claim_pointers_escape_tilde_and_slash() {
        assert_eq!(claim_pointer("given_names"), "/given_names");
        assert_eq!(claim_pointer("Given Name"), "/Given Name");
        assert_eq!(claim_pointer("a/b"), "/a~1b");
        assert_eq!(claim_pointer("t~x"), "/t~0x");
        assert_eq!(claim_pointer("~1"), "/~01");
        assert_eq!(claim_pointer(""), "/");
    }

    #[test]
    fn a_dcql_query_has_the_shape_openid4vp_defines() {
        let text = r#"{"credentials":[{"id":"person","format":"dc+sd-jwt","meta":{"vct_values":["https://credentials.gov.bc.example/person/v1"]},"claims":[{"path":["given_names"]},{"path":["family_name"]}]}]}"#;
        let query: DcqlQuery = serde_json::from_str(text).unwrap();
        assert_eq!(query.credentials[0].id, "person");
        assert_eq!(query.credentials[0].claims[1].path, ["family_name"]);
        assert_eq!(serde_json::to_string(&query).unwrap(), text);
    }

    #[test]
    fn batch_settings_default_to_ten_and_twice_the_size() {
        assert_eq!(
            Batch::default(),
            Batch {
                size: 10,
                per_offer: 20
            }
        );
        assert_eq!(Batch::with(Some(3), None).per_offer, 6);
        assert_eq!(Batch::with(None, Some(50)).size, 10);
        assert_eq!(Batch::with(Some(u32::MAX), None).per_offer, u32::MAX);
    }

    #[test]
    fn another_format_is_refused() {
        let mut config = minimal();
        config.format = "trustc/issuer-config/v0".into();
        config.seal();
        let text = serde_json::to_string(&config).unwrap();
        assert!(matches!(
            IssuerConfig::from_json(&text),
            Err(LoadError::Format(_))
        ));
    }
}
