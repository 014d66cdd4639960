//! The diagnostic codes: stable names users put in CI configuration, each with a default severity,
//! a one-line summary and a long explanation (`docs/diagnostics/<code>.md`, shown by
//! `trustc explain <code>`).
//!
//! Renaming or removing a code breaks users' `--allow`/`--deny` flags and their CI tooling, so the
//! list is snapshot-tested: such a change shows up in review.

use super::Severity;

macro_rules! codes {
    ($($variant:ident = $name:literal, $severity:ident, $summary:literal;)*) => {
        /// A diagnostic code. Its name (kebab-case) is the stable identifier.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $($variant,)*
        }

        impl Code {
            /// Every code, in documentation order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The stable name, as printed and as accepted on the command line.
            pub fn name(self) -> &'static str {
                match self {
                    $(Code::$variant => $name,)*
                }
            }

            /// The severity a diagnostic with this code has unless the user overrides it.
            pub fn default_severity(self) -> Severity {
                match self {
                    $(Code::$variant => Severity::$severity,)*
                }
            }

            /// One line saying what the code means.
            pub fn summary(self) -> &'static str {
                match self {
                    $(Code::$variant => $summary,)*
                }
            }

            /// The long explanation, with an example and the fix (Markdown).
            pub fn explanation(self) -> &'static str {
                match self {
                    $(Code::$variant => include_str!(concat!(
                        env!("CARGO_MANIFEST_DIR"), "/docs/diagnostics/", $name, ".md"
                    )),)*
                }
            }
        }
    };
}

codes! {
    // Loading and parsing.
    IoError = "io-error", Error, "A file or folder could not be read";
    InvalidUtf8 = "invalid-utf8", Error, "A file is not valid UTF-8 text";
    FileTooLarge = "file-too-large", Error, "A file is larger than trustc reads";
    SymlinkLoop = "symlink-loop", Error, "A symbolic link leads back into a folder that contains it";
    YamlSyntax = "yaml-syntax", Error, "A YAML file could not be parsed";
    JsonSyntax = "json-syntax", Error, "A JSON file could not be parsed";
    InputTooComplex = "input-too-complex", Error, "A file nests too deeply or expands to too much data";

    // Schema validation (governance files and OCA bundles).
    UnknownKey = "unknown-key", Error, "A key the format does not define";
    MissingKey = "missing-key", Error, "A required key is absent";
    WrongType = "wrong-type", Error, "A value has the wrong type";
    InvalidValue = "invalid-value", Error, "A value is not one the format allows";

    // Governance semantics.
    DuplicateId = "duplicate-id", Error, "Two things that must be unique share an identifier";
    UnknownReference = "unknown-reference", Error, "A reference names something that does not exist";
    InvalidVersion = "invalid-version", Error, "A version is not a semantic version";
    InvalidLanguage = "invalid-language", Error, "A language code is not ISO 639-1 (with an optional ISO 3166-1 region)";
    RegionalLanguage = "regional-language", Warning, "A language code with a region, which wallets will not match to their UI language";
    MissingLocale = "missing-locale", Error, "Text is missing for a declared locale";
    MissingInformation = "missing-information", Warning, "An OCA bundle has attribute information in some languages but not in another";
    InvalidDuration = "invalid-duration", Error, "A validity period is not an ISO 8601 duration";
    InvalidPattern = "invalid-pattern", Error, "An attribute pattern is not a valid regular expression";
    InvalidIdentifier = "invalid-identifier", Error, "An identifier is neither a DID nor an https URL";
    ValueMismatch = "value-mismatch", Error, "An example, constant or allowed value does not fit its attribute";
    MissingExample = "missing-example", Advice, "An attribute has no example value";
    MissingSource = "missing-source", Error, "A required attribute has no source at issuance";
    ClaimNotRequested = "claim-not-requested", Error, "A claim is copied from a prerequisite that does not ask for it";
    SecretInGovernance = "secret-in-governance", Error, "A secret (a client secret or private key) is written into the governance";
    LoginProviderIssuer = "login-provider-issuer", Error, "A login provider's issuer is not an https URL without query or fragment (or loopback http in dev)";
    LoginEnvironmentMissing = "login-environment-missing", Error, "A login provider has no settings for an environment its credentials are issued in";
    LoginClientAuthentication = "login-client-authentication", Error, "A login provider's client authentication lacks its secret, or names one it does not use";
    LoginMethodMissing = "login-method-missing", Error, "A credential uses a login (a provider, an assurance or a claim from the login) without `method: login`";
    LoginClaimPathInvalid = "login-claim-path-invalid", Error, "A claim of the login is neither a claim name nor a valid `$` path";
    BatchPerOfferBelowSize = "batch-per-offer-below-size", Error, "A credential's `per_offer` is below its batch `size`, so an offer could never answer a full batch";
    PrerequisiteNotSdJwt = "prerequisite-not-sd-jwt", Error, "A prerequisite's credential type is not issued as dc+sd-jwt, so the issuer cannot request it over OpenID4VP";
    DisclosureForbidden = "disclosure-forbidden", Error, "A claim that must never be selectively disclosable is marked otherwise";
    ReservedClaim = "reserved-claim", Error, "An attribute name is reserved by SD-JWT VC";
    IssuerNotAuthorised = "issuer-not-authorised", Error, "A trusted issuer is not authorised by the trust list to issue that credential";
    UnissuedCredential = "unissued-credential", Warning, "No participant is authorised to issue a credential type";
    MissingIdentifier = "missing-identifier", Warning, "An issuer has no identifier for an environment";
    MissingBranding = "missing-branding", Warning, "A credential type has no branding";
    ConflictingBranding = "conflicting-branding", Error, "Branding is given both inline and by the OCA bundle";
    OcaAttributeMissing = "oca-attribute-missing", Error, "A governance attribute is missing from the OCA capture base";
    OcaAttributeExtra = "oca-attribute-extra", Error, "The OCA capture base has an attribute the governance does not define";
    OcaAttributeType = "oca-attribute-type", Error, "An attribute's OCA type does not match its governance type";
    OcaDrift = "oca-drift", Warning, "The governance and its OCA bundle say different things";

    // OCA bundles and indexes.
    DigestMismatch = "digest-mismatch", Error, "A capture base or overlay digest does not verify";
    BrandingDigestMismatch = "branding-digest-mismatch", Warning, "A branding overlay digest does not verify";
    DigestMissing = "digest-missing", Warning, "A capture base or overlay has no digest";
    CaptureBaseMismatch = "capture-base-mismatch", Error, "An overlay names a different capture base";
    IndexSha256Mismatch = "index-sha256-mismatch", Error, "An index sha256 value does not match the bundle file";
    IndexInconsistent = "index-inconsistent", Warning, "ocabundles.json and ocabundleslist.json disagree";
    UnknownAttribute = "unknown-attribute", Error, "An overlay or flag names an attribute the capture base does not have";
    DuplicateOverlay = "duplicate-overlay", Error, "Two overlays of the same type have the same language";
    UnknownOverlay = "unknown-overlay", Advice, "An overlay type wallets do not know, which they ignore";
    InvalidColour = "invalid-colour", Error, "A branding colour is not #RRGGBB";
    BrandingAttribute = "branding-attribute", Error, "A branding attribute does not exist or has the wrong type";
    BrandingAttributePrivate = "branding-attribute-private", Warning, "A card shows personal information as a primary or secondary attribute";

    // Images.
    ImageScheme = "image-scheme", Error, "An image reference is neither https, data: nor a local path";
    ImageMissing = "image-missing", Error, "A local image does not exist";
    ImageUnreadable = "image-unreadable", Error, "An image is not a PNG, JPEG, GIF or WebP file that wallets can display";
    ImageGeometry = "image-geometry", Warning, "An image has the wrong aspect ratio or size for its role";
    ImageTooLarge = "image-too-large", Warning, "An image is over the size budget for its role";
    RemoteImage = "remote-image", Warning, "An image is loaded from a remote server, which can track holders";
    PathEscape = "path-escape", Error, "A path leads outside the repository";

    // Build.
    TemplateSyntax = "template-syntax", Error, "A build template is not valid handlebars";
    TemplateRender = "template-render", Error, "A build template uses a value the build does not have";
    TemplateOutput = "template-output", Error, "A build template rendered invalid JSON, or an OCA bundle trustc check rejects";
    OutputConflict = "output-conflict", Error, "Two build outputs would be written to the same file";
}

impl Code {
    /// Looks a code up by its name.
    pub fn from_name(name: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.name() == name)
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_kebab_case() {
        let mut names: Vec<_> = Code::ALL.iter().map(|c| c.name()).collect();
        for name in &names {
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{name} is not kebab-case"
            );
            assert_eq!(Code::from_name(name).map(Code::name), Some(*name));
        }
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Code::ALL.len());
    }

    #[test]
    fn every_explanation_has_an_example_and_a_fix() {
        for code in Code::ALL {
            let text = code.explanation();
            assert!(
                text.starts_with(&format!("# {}\n", code.name())),
                "{code}: explanation must start with `# {code}`"
            );
            assert!(
                text.contains("## Example"),
                "{code}: explanation has no `## Example`"
            );
            assert!(
                text.contains("## Fix"),
                "{code}: explanation has no `## Fix`"
            );
        }
    }
}
