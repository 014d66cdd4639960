//! Resolve stage: the checked governance and the OCA bundles it names, merged into one compiled view.
//!
//! Every output of `trustc build` is generated from what this stage produces: the issuer
//! configuration ([`IssuerConfig`], written as `issuer/config.json` and given to every template)
//! and, per credential, the OCA details that only the wallet branding needs ([`OcaView`]). Text
//! comes from the governance first and from the credential's OCA bundle when the governance leaves
//! it out (the check already made sure the two agree where both exist). Local images are read
//! here, once, and delivered as the governance says: inlined as data: URLs or copied.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use sha2::{Digest, Sha256};
use trustc_artifact as artifact;
use trustc_artifact::{Environment, IssuerConfig, Localized};

use crate::check::Analysis;
use crate::governance::check::{Index, LoadedBundle, bundle_path, split_reference};
use crate::governance::model::{
    ClientAuthentication, Credential, CredentialFormat, Governance, ImageDelivery, LoginProvider,
    Participant, Secret, SourceKind, Text, oca_type,
};
use crate::oca::{Bundle, OverlayKind, branding_text};

/// The compiled view of a repository.
pub struct Resolved {
    pub config: IssuerConfig,
    /// Per credential, in the order of `config.credentials`.
    pub extras: Vec<CredentialExtras>,
}

/// What the wallet outputs need beyond the issuer configuration.
pub struct CredentialExtras {
    pub oca: OcaView,
    /// Images to copy into the output (`delivery: copy`): output path and bytes.
    pub copied_images: Vec<(String, Vec<u8>)>,
    /// The AnonCreds schema name, credential definition tag and revocation registry size.
    pub schema_name: String,
    pub tag: String,
    pub revocation_registry_size: u32,
}

/// A credential as an Aries OCA 1.0 bundle sees it.
#[derive(Clone, Debug, Serialize)]
pub struct OcaView {
    /// The bundle's folder under `oca/` in the output (`lsbc/lawyer`).
    pub path: String,
    pub classification: String,
    pub attributes: Vec<OcaAttribute>,
    /// Attributes flagged as personal information.
    pub flagged_attributes: Vec<String>,
    pub default_character_encoding: String,
    /// The attributes' formats and standards, for those that have one (the format and standard
    /// overlays are written only when these are not empty).
    pub formats: Vec<NamedText>,
    pub standards: Vec<NamedText>,
    pub has_information: bool,
    pub languages: Vec<OcaLanguage>,
    pub branding: Option<OcaBranding>,
    /// The ledger identifiers the bundle is indexed under, in the build's environment.
    pub identifiers: Vec<LedgerId>,
}

#[derive(Clone, Debug, Serialize)]
pub struct OcaAttribute {
    pub name: String,
    /// The capture-base type (`Text`, `Numeric`, `DateTime`, `Boolean`, `Binary`).
    #[serde(rename = "type")]
    pub oca_type: String,
    pub format: Option<String>,
    pub standard: Option<String>,
    pub encoding: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct OcaLanguage {
    pub language: String,
    pub name: String,
    pub description: String,
    pub issuer: String,
    pub issuer_url: Option<String>,
    pub issuer_description: Option<String>,
    pub credential_help_text: Option<String>,
    pub credential_support_url: Option<String>,
    pub watermark: Option<String>,
    pub labels: Vec<NamedText>,
    pub information: Vec<NamedText>,
}

#[derive(Clone, Debug, Serialize)]
pub struct NamedText {
    pub name: String,
    pub text: String,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct OcaBranding {
    pub logo: Option<String>,
    pub background_image: Option<String>,
    pub background_image_slice: Option<String>,
    pub primary_background_color: Option<String>,
    pub secondary_background_color: Option<String>,
    pub primary_attribute: Option<String>,
    pub secondary_attribute: Option<String>,
    pub issued_date_attribute: Option<String>,
    pub expiry_date_attribute: Option<String>,
}

/// A ledger identifier and its kind as bcgov's `ocabundleslist.json` names it.
#[derive(Clone, Debug, Serialize)]
pub struct LedgerId {
    pub id: String,
    /// `schema` or `credDef`.
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// An image reference could not be delivered.
#[derive(Debug)]
pub struct ImageError {
    pub credential: String,
    pub message: String,
}

/// Resolves a checked repository (no errors) for `environment`.
pub fn resolve(
    analysis: &Analysis,
    environment: Environment,
    credential_issuer: &str,
) -> Result<Resolved, ImageError> {
    let lookup = Lookup {
        environment,
        index: Index::build(&analysis.documents),
    };
    let mut frameworks = Vec::new();
    let mut credentials = Vec::new();
    let mut login_providers = Vec::new();
    for document in &analysis.documents {
        let model = &document.model;
        let framework = &model.framework;
        let locales: Vec<String> = framework.locale_names().map(str::to_string).collect();
        login_providers.extend(model.login_providers.iter().filter_map(|provider| {
            login_provider(&framework.id.value, provider, &locales, environment)
        }));
        frameworks.push(artifact::Framework {
            id: framework.id.value.clone(),
            version: framework.version.value.clone(),
            name: localized(&framework.name.value, &locales),
            description: framework
                .description
                .as_ref()
                .map(|d| localized(&d.value, &locales)),
            authority: artifact::Authority {
                id: framework.authority.id.as_ref().map(|i| i.value.clone()),
                name: localized(&framework.authority.name.value, &locales),
                website: framework
                    .authority
                    .website
                    .as_ref()
                    .map(|w| w.value.clone()),
            },
            jurisdiction: framework.jurisdiction.as_ref().map(|j| j.value.clone()),
            documentation: framework.documentation.as_ref().map(|d| d.value.clone()),
            locales: locales.clone(),
            participants: model
                .participants
                .iter()
                .map(|p| lookup.participant(&framework.id.value, p, &locales))
                .collect(),
        });
        let base_dir = document
            .file
            .path
            .absolute
            .parent()
            .unwrap_or(&analysis.root)
            .to_path_buf();
        for credential in &model.credentials {
            let bundle = credential.oca_bundle.as_ref().and_then(|reference| {
                let path = bundle_path(&analysis.root, &reference.value);
                let path = path.canonicalize().unwrap_or(path);
                analysis.bundles.get(&path)
            });
            let context = CredentialContext {
                lookup: &lookup,
                model,
                credential,
                bundle,
                locales: &locales,
                governance_dir: &base_dir,
                environment,
            };
            credentials.push(context.resolve()?);
        }
    }
    credentials.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    let (credentials, extras): (Vec<_>, Vec<_>) = credentials.into_iter().unzip();
    login_providers.sort_by(|a, b| a.id.cmp(&b.id));
    let mut config = IssuerConfig {
        format: artifact::FORMAT.to_string(),
        content_hash: String::new(),
        environment,
        credential_issuer: credential_issuer.to_string(),
        frameworks,
        credentials,
        login_providers,
    };
    config.seal();
    Ok(Resolved { config, extras })
}

/// The check's reference index (participants, credentials, who issues what), and the environment
/// whose identifiers the build selects.
struct Lookup<'a> {
    environment: Environment,
    index: Index<'a>,
}

impl<'a> Lookup<'a> {
    fn identifiers(&self, participant: &Participant) -> Vec<String> {
        participant
            .identifiers
            .as_ref()
            .map(|ids| {
                ids.value
                    .get(self.environment)
                    .iter()
                    .map(|i| i.value.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn participant(
        &self,
        framework: &str,
        participant: &Participant,
        locales: &[String],
    ) -> artifact::Participant {
        artifact::Participant {
            id: format!("{framework}/{}", participant.id.value),
            name: localized(&participant.name.value, locales),
            description: participant
                .description
                .as_ref()
                .map(|d| localized(&d.value, locales)),
            website: participant.website.as_ref().map(|w| w.value.clone()),
            identifiers: self.identifiers(participant),
            issues: participant
                .issues
                .iter()
                .map(|i| {
                    let (f, c) = split_reference(framework, &i.value);
                    format!("{f}/{c}")
                })
                .collect(),
        }
    }

    fn issuer_ref(&self, key: (&str, &str)) -> Option<artifact::IssuerRef> {
        let (participant, model) = self.index.participants.get(&key)?;
        let locales: Vec<String> = model.framework.locale_names().map(str::to_string).collect();
        Some(artifact::IssuerRef {
            participant: format!("{}/{}", key.0, key.1),
            name: localized(&participant.name.value, &locales),
            identifiers: self.identifiers(participant),
        })
    }
}

/// A login provider with its settings for `environment`; `None` when it has none there (the
/// check made sure no credential issued in that environment signs in with it).
fn login_provider(
    framework: &str,
    provider: &LoginProvider,
    locales: &[String],
    environment: Environment,
) -> Option<artifact::LoginProvider> {
    let settings = &provider.environments.value.get(environment)?.value;
    let client_authentication = settings.client_authentication();
    let secret = match client_authentication {
        ClientAuthentication::ClientSecretBasic | ClientAuthentication::ClientSecretPost => {
            settings.client_secret.as_ref()
        }
        ClientAuthentication::PrivateKeyJwt => settings.private_key.as_ref(),
        ClientAuthentication::None => None,
    };
    let mut scopes = vec!["openid".to_string()];
    for scope in settings.scopes.iter().flat_map(|s| &s.value) {
        if !scopes.contains(&scope.value) {
            scopes.push(scope.value.clone());
        }
    }
    Some(artifact::LoginProvider {
        id: format!("{framework}/{}", provider.id.value),
        framework: framework.to_string(),
        name: localized(&provider.name.value, locales),
        issuer: settings.issuer.value.clone(),
        client_id: settings.client_id.value.clone(),
        client_authentication,
        secret: secret.and_then(|s| secret_source(&s.value)),
        scopes,
    })
}

/// Where a checked secret is read: its one `env` or `file` key.
fn secret_source(secret: &Secret) -> Option<artifact::SecretSource> {
    let Secret::Source(map) = secret else {
        return None;
    };
    map.iter()
        .find_map(|(key, value)| match key.value.as_str() {
            "env" => Some(artifact::SecretSource::Env(value.value.clone())),
            "file" => Some(artifact::SecretSource::File(value.value.clone())),
            _ => None,
        })
}

/// Text in each of `locales` (the check guarantees every locale has one).
fn localized(text: &Text, locales: &[String]) -> Localized {
    locales
        .iter()
        .filter_map(|l| text.get(l).map(|t| (l.clone(), t.to_string())))
        .collect()
}

/// A text field of the OCA meta overlay.
type MetaField = fn(&crate::oca::Meta) -> &Option<crate::syntax::Spanned<String>>;

struct CredentialContext<'a> {
    lookup: &'a Lookup<'a>,
    model: &'a Governance,
    credential: &'a Credential,
    bundle: Option<&'a LoadedBundle>,
    locales: &'a [String],
    governance_dir: &'a Path,
    environment: Environment,
}

impl CredentialContext<'_> {
    fn framework(&self) -> &str {
        &self.model.framework.id.value
    }

    fn oca(&self) -> Option<&Bundle> {
        self.bundle.map(|b| &b.bundle)
    }

    /// A per-attribute value of an OCA overlay (language-independent overlays ignore `locale`).
    fn oca_attribute(&self, kind: OverlayKind, locale: &str, name: &str) -> Option<String> {
        self.oca()?
            .attribute_map(kind, locale)?
            .get(name)
            .map(|v| v.value.clone())
    }

    fn oca_meta(&self, locale: &str, field: MetaField) -> Option<String> {
        let meta = self.oca()?.meta(locale)?;
        field(meta).as_ref().map(|v| v.value.clone())
    }

    /// Text from the governance, else from the OCA meta overlay, in `locale`.
    fn text_or_meta_in(
        &self,
        text: Option<&Text>,
        field: MetaField,
        locale: &str,
    ) -> Option<String> {
        text.and_then(|t| t.get(locale).map(str::to_string))
            .or_else(|| self.oca_meta(locale, field))
    }

    /// Text from the governance, else from the OCA meta overlay, per locale.
    fn text_or_meta(&self, text: Option<&Text>, field: MetaField) -> Option<Localized> {
        let map: Localized = self
            .locales
            .iter()
            .filter_map(|l| self.text_or_meta_in(text, field, l).map(|t| (l.clone(), t)))
            .collect();
        (!map.is_empty()).then_some(map)
    }

    fn issuers(&self) -> Vec<artifact::IssuerRef> {
        let key = (self.framework(), self.credential.id.value.as_str());
        let mut refs: Vec<_> = self
            .lookup
            .index
            .issuers
            .get(&key)
            .into_iter()
            .flatten()
            .filter_map(|k| self.lookup.issuer_ref(*k))
            .collect();
        refs.sort_by(|a, b| a.participant.cmp(&b.participant));
        refs
    }

    /// The first issuing participant, whose name and website wallets show as the issuer.
    fn issuing_participant(&self) -> Option<&Participant> {
        let key = (self.framework(), self.credential.id.value.as_str());
        let mut keys = self.lookup.index.issuers.get(&key)?.clone();
        keys.sort();
        keys.first()
            .and_then(|k| self.lookup.index.participants.get(k))
            .map(|(p, _)| *p)
    }

    /// The login a credential of `method: login` requires: its provider (qualified), the
    /// assurance, and whether a wallet may start the flow itself, which it can when no required
    /// attribute waits for the offer the issuer's back end makes.
    fn login_rule(&self) -> Option<artifact::LoginRule> {
        let credential = self.credential;
        let authentication = &credential.issuance.authentication;
        if authentication.method.value != artifact::AuthenticationMethod::Login {
            return None;
        }
        let provider = authentication.provider.as_ref()?;
        let claims = &credential.issuance.claims.value;
        let wallet_initiated = !credential.attributes.iter().any(|(name, attribute)| {
            attribute.is_required()
                && claims
                    .get(&name.value)
                    .is_some_and(|s| s.value.from.value == SourceKind::Offer)
        });
        let assurance = authentication.assurance.as_ref().map(|a| {
            let a = &a.value;
            artifact::Assurance {
                acr: a.acr.iter().flatten().map(|v| v.value.clone()).collect(),
                claim: a.claim.as_ref().map(|claim| artifact::ClaimAssurance {
                    claim: claim.value.clone(),
                    values: a
                        .values
                        .iter()
                        .flatten()
                        .map(|v| v.value.to_json())
                        .collect(),
                }),
            }
        });
        Some(artifact::LoginRule {
            provider: format!("{}/{}", self.framework(), provider.value),
            assurance,
            wallet_initiated,
        })
    }

    fn resolve(&self) -> Result<(artifact::CredentialType, CredentialExtras), ImageError> {
        let credential = self.credential;
        let locales = self.locales;
        let attributes: Vec<artifact::Attribute> = credential
            .attributes
            .iter()
            .map(|(name, attribute)| artifact::Attribute {
                name: name.value.clone(),
                kind: attribute.kind.value,
                required: attribute.is_required(),
                pattern: attribute.pattern.as_ref().map(|p| p.value.clone()),
                values: attribute
                    .values
                    .as_ref()
                    .map(|v| v.value.iter().map(|s| s.value.clone()).collect()),
                disclosure: attribute.disclosure(),
                personal: attribute.is_personal(),
                example: attribute.example.as_ref().map(|e| e.value.to_json()),
                display: locales
                    .iter()
                    .filter_map(|locale| {
                        let label = attribute
                            .label
                            .as_ref()
                            .and_then(|l| l.value.get(locale).map(str::to_string))
                            .or_else(|| {
                                self.oca_attribute(OverlayKind::Label, locale, &name.value)
                            })?;
                        let description = attribute
                            .description
                            .as_ref()
                            .and_then(|d| d.value.get(locale).map(str::to_string))
                            .or_else(|| {
                                self.oca_attribute(OverlayKind::Information, locale, &name.value)
                            })
                            .filter(|d| !d.is_empty());
                        Some(artifact::ClaimDisplay {
                            locale: locale.clone(),
                            label,
                            description,
                        })
                    })
                    .collect(),
            })
            .collect();
        let claims = credential
            .attributes
            .keys()
            .filter_map(|name| {
                let source = credential.issuance.claims.value.get(&name.value)?;
                let source = &source.value;
                let source = match source.from.value {
                    SourceKind::Offer => artifact::Source::Offer,
                    SourceKind::Prerequisite => artifact::Source::Prerequisite {
                        prerequisite: source
                            .prerequisite
                            .as_ref()
                            .map(|p| p.value.clone())
                            .unwrap_or_default(),
                        claim: source
                            .claim
                            .as_ref()
                            .map_or_else(|| name.value.clone(), |c| c.value.clone()),
                    },
                    SourceKind::Login => artifact::Source::Login {
                        claim: source
                            .claim
                            .as_ref()
                            .map_or_else(|| name.value.clone(), |c| c.value.clone()),
                    },
                    SourceKind::Issuance => artifact::Source::Issuance {
                        value: match source.value.as_ref().map(|v| &v.value) {
                            Some(crate::governance::model::Scalar::String(v)) if v == "expires" => {
                                artifact::IssuanceValue::Expires
                            }
                            _ => artifact::IssuanceValue::Issued,
                        },
                    },
                    SourceKind::Constant => artifact::Source::Constant {
                        value: source
                            .value
                            .as_ref()
                            .map_or(serde_json::Value::Null, |v| v.value.to_json()),
                    },
                };
                Some(artifact::ClaimSource {
                    claim: name.value.clone(),
                    source,
                })
            })
            .collect();
        let disclosure_frame = artifact::DisclosureFrame {
            sd: attributes
                .iter()
                .filter(|a| a.disclosure.is_disclosable())
                .map(|a| a.name.clone())
                .collect(),
        };
        let mut presentable = Vec::new();
        let prerequisites: Vec<artifact::Prerequisite> = credential
            .issuance
            .prerequisites
            .iter()
            .map(|p| {
                let key = split_reference(self.framework(), &p.credential.value);
                let required = self.lookup.index.credentials.get(&key);
                presentable.push(required.is_some_and(|c| c.has_format(CredentialFormat::SdJwtVc)));
                artifact::Prerequisite {
                    id: p.id.value.clone(),
                    credential: format!("{}/{}", key.0, key.1),
                    vct: required
                        .and_then(|c| c.vct.as_ref())
                        .map(|v| v.value.clone()),
                    trusted_issuers: p
                        .trusted_issuers
                        .iter()
                        .filter_map(|t| {
                            self.lookup
                                .issuer_ref(split_reference(self.framework(), &t.value))
                        })
                        .collect(),
                    claims: p.claims.iter().map(|c| c.value.clone()).collect(),
                    purpose: p.purpose.as_ref().map(|t| localized(&t.value, locales)),
                }
            })
            .collect();
        let presented = prerequisites
            .iter()
            .zip(presentable)
            .filter_map(|(p, presentable)| presentable.then_some(p));
        let dcql_query = dcql_query(presented);
        let authentication = &credential.issuance.authentication;
        let authentication = artifact::Authentication {
            method: authentication.method.value,
            tx_code: authentication
                .transaction_code
                .as_ref()
                .map(|t| artifact::TxCode {
                    length: t.value.length,
                    input_mode: t.value.input_mode,
                    description: t.value.description.clone(),
                }),
            login: self.login_rule(),
        };
        let validity = credential.validity.as_ref().and_then(|v| {
            crate::formats::parse_duration(&v.value)
                .ok()
                .map(|d| artifact::Validity {
                    duration: v.value.clone(),
                    seconds: d.approx_seconds(),
                })
        });
        let mut images = ImageDeliverer::new(self);
        let branding = self.branding(&mut images)?;
        let name = self
            .text_or_meta(Some(&credential.name.value), |m| &m.name)
            .unwrap_or_default();
        let description = self
            .text_or_meta(credential.description.as_ref().map(|d| &d.value), |m| {
                &m.description
            });
        let participant = self.issuing_participant();
        let issuer_name = self.text_or_meta(participant.map(|p| &p.name.value), |m| &m.issuer);
        let text_color = branding
            .primary_background_color
            .as_deref()
            .and_then(|c| crate::formats::parse_colour(c).ok())
            .map(readable_text_colour);
        let display = locales
            .iter()
            .map(|locale| {
                // The logo stands for the issuer: its text alternative is the issuer's name.
                let alt = issuer_name.as_ref().and_then(|n| n.get(locale)).cloned();
                artifact::Display {
                    locale: locale.clone(),
                    name: name.get(locale).cloned().unwrap_or_default(),
                    description: description.as_ref().and_then(|d| d.get(locale).cloned()),
                    issuer: issuer_name.as_ref().and_then(|n| n.get(locale).cloned()),
                    logo: images.image(&branding.logo, alt),
                    background_color: branding.primary_background_color.clone(),
                    secondary_background_color: branding.secondary_background_color.clone(),
                    background_image: images.image(&branding.background_image, None),
                    background_image_slice: images.image(&branding.background_image_slice, None),
                    text_color: text_color.clone(),
                    primary_attribute: branding.primary_attribute.clone(),
                    secondary_attribute: branding.secondary_attribute.clone(),
                    issued_date_attribute: branding.issued_date_attribute.clone(),
                    expiry_date_attribute: branding.expiry_date_attribute.clone(),
                }
            })
            .collect();
        let resolved = artifact::CredentialType {
            id: credential.id.value.clone(),
            framework: self.framework().to_string(),
            framework_version: self.model.framework.version.value.clone(),
            version: credential.version.value.clone(),
            name: name.clone(),
            description: description.clone(),
            formats: credential.formats.iter().map(|f| f.value).collect(),
            vct: credential.vct.as_ref().map(|v| v.value.clone()),
            issuers: self.issuers(),
            attributes,
            claims,
            disclosure_frame,
            validity,
            revocation: credential
                .revocation
                .as_ref()
                .map_or(artifact::Revocation::None, |r| r.value),
            authentication,
            batch: credential.issuance.batch.as_ref().map_or_else(
                artifact::Batch::default,
                |batch| {
                    artifact::Batch::with(
                        batch.value.size.as_ref().map(|s| s.value),
                        batch.value.per_offer.as_ref().map(|p| p.value),
                    )
                },
            ),
            prerequisites,
            dcql_query,
            display,
        };
        let oca = self.oca_view(&resolved, &branding, &images, participant);
        Ok((
            resolved,
            CredentialExtras {
                oca,
                copied_images: images.copied,
                schema_name: schema_name(credential),
                tag: credential
                    .anoncreds
                    .tag
                    .clone()
                    .unwrap_or_else(|| credential.id.value.clone()),
                revocation_registry_size: credential
                    .anoncreds
                    .revocation_registry_size
                    .unwrap_or(1000),
            },
        ))
    }

    /// The card branding, from the governance or the OCA bundle, image references as written.
    fn branding(&self, images: &mut ImageDeliverer) -> Result<OcaBranding, ImageError> {
        let (source, base_dir) = if let Some(branding) = &self.credential.branding {
            (&branding.value, self.governance_dir.to_path_buf())
        } else if let Some((_, branding)) = self.oca().and_then(Bundle::branding) {
            let dir = self
                .bundle
                .and_then(|l| l.file.path.absolute.parent().map(Path::to_path_buf))
                .unwrap_or_else(|| self.governance_dir.to_path_buf());
            (branding, dir)
        } else {
            return Ok(OcaBranding::default());
        };
        let raw = OcaBranding {
            logo: branding_text(&source.logo),
            background_image: branding_text(&source.background_image),
            background_image_slice: branding_text(&source.background_image_slice),
            primary_background_color: branding_text(&source.primary_background_color),
            secondary_background_color: branding_text(&source.secondary_background_color),
            primary_attribute: branding_text(&source.primary_attribute),
            secondary_attribute: branding_text(&source.secondary_attribute),
            issued_date_attribute: branding_text(&source.issued_date_attribute),
            expiry_date_attribute: branding_text(&source.expiry_date_attribute),
        };
        let mut branding = raw;
        for (role, slot) in [
            ("logo", &mut branding.logo),
            ("background", &mut branding.background_image),
            ("background-slice", &mut branding.background_image_slice),
        ] {
            if let Some(reference) = slot.take() {
                *slot = Some(images.deliver(role, &reference, &base_dir)?);
            }
        }
        Ok(branding)
    }

    fn oca_view(
        &self,
        resolved: &artifact::CredentialType,
        branding: &OcaBranding,
        images: &ImageDeliverer,
        participant: Option<&Participant>,
    ) -> OcaView {
        let credential = self.credential;
        let first_locale = self.locales.first().map(String::as_str).unwrap_or("en");
        let attributes: Vec<OcaAttribute> = credential
            .attributes
            .iter()
            .map(|(name, attribute)| {
                let governance = |v: &Option<crate::syntax::Spanned<String>>| {
                    v.as_ref().map(|s| s.value.clone())
                };
                OcaAttribute {
                    name: name.value.clone(),
                    oca_type: oca_type(attribute.kind.value).to_string(),
                    format: governance(&attribute.format).or_else(|| {
                        self.oca_attribute(OverlayKind::Format, first_locale, &name.value)
                    }),
                    standard: governance(&attribute.standard).or_else(|| {
                        self.oca_attribute(OverlayKind::Standard, first_locale, &name.value)
                    }),
                    encoding: governance(&attribute.encoding)
                        .or_else(|| {
                            self.oca_attribute(
                                OverlayKind::CharacterEncoding,
                                first_locale,
                                &name.value,
                            )
                        })
                        .unwrap_or_else(|| "utf-8".to_string()),
                }
            })
            .collect();
        // Every bundle in use declares UTF-8 as the default; attributes say when they differ.
        let default_character_encoding = "utf-8".to_string();
        let languages = self
            .locales
            .iter()
            .map(|locale| {
                let display = resolved.display.iter().find(|d| &d.locale == locale);
                OcaLanguage {
                    language: locale.clone(),
                    name: display.map(|d| d.name.clone()).unwrap_or_default(),
                    description: display
                        .and_then(|d| d.description.clone())
                        .unwrap_or_default(),
                    issuer: display.and_then(|d| d.issuer.clone()).unwrap_or_default(),
                    issuer_url: participant
                        .and_then(|p| p.website.as_ref().map(|w| w.value.clone()))
                        .or_else(|| self.oca_meta(locale, |m| &m.issuer_url)),
                    issuer_description: self.text_or_meta_in(
                        participant.and_then(|p| p.description.as_ref().map(|d| &d.value)),
                        |m| &m.issuer_description,
                        locale,
                    ),
                    credential_help_text: self.text_or_meta_in(
                        credential.help_text.as_ref().map(|t| &t.value),
                        |m| &m.credential_help_text,
                        locale,
                    ),
                    credential_support_url: self.text_or_meta_in(
                        credential.support_url.as_ref().map(|t| &t.value),
                        |m| &m.credential_support_url,
                        locale,
                    ),
                    watermark: self.text_or_meta_in(
                        credential.watermark.as_ref().map(|t| &t.value),
                        |m| &m.watermark,
                        locale,
                    ),
                    labels: resolved
                        .attributes
                        .iter()
                        .filter_map(|a| {
                            let d = a.display.iter().find(|d| &d.locale == locale)?;
                            Some(NamedText {
                                name: a.name.clone(),
                                text: d.label.clone(),
                            })
                        })
                        .collect(),
                    information: resolved
                        .attributes
                        .iter()
                        .filter_map(|a| {
                            let d = a.display.iter().find(|d| &d.locale == locale)?;
                            Some(NamedText {
                                name: a.name.clone(),
                                text: d.description.clone()?,
                            })
                        })
                        .collect(),
                }
            })
            .collect::<Vec<_>>();
        let has_branding = [
            &branding.logo,
            &branding.background_image,
            &branding.primary_background_color,
        ]
        .iter()
        .any(|v| v.is_some());
        OcaView {
            path: images.bundle_dir.clone(),
            classification: self
                .oca()
                .map(|b| b.capture_base.classification.clone())
                .unwrap_or_default(),
            formats: attributes
                .iter()
                .filter_map(|a| {
                    Some(NamedText {
                        name: a.name.clone(),
                        text: a.format.clone()?,
                    })
                })
                .collect(),
            standards: attributes
                .iter()
                .filter_map(|a| {
                    Some(NamedText {
                        name: a.name.clone(),
                        text: a.standard.clone()?,
                    })
                })
                .collect(),
            has_information: languages.iter().any(|l| !l.information.is_empty()),
            flagged_attributes: resolved
                .attributes
                .iter()
                .filter(|a| a.personal)
                .map(|a| a.name.clone())
                .collect(),
            attributes,
            default_character_encoding,
            languages,
            branding: has_branding.then(|| branding.clone()),
            identifiers: self.ledger_identifiers(resolved),
        }
    }

    /// The ledger ids the bundle is indexed under: the governance's, else the AnonCreds schema id
    /// each issuing DID would publish.
    fn ledger_identifiers(&self, resolved: &artifact::CredentialType) -> Vec<LedgerId> {
        let credential = self.credential;
        if !credential.has_format(CredentialFormat::AnonCreds) {
            return Vec::new();
        }
        let explicit = credential.anoncreds.identifiers.get(self.environment);
        if !explicit.is_empty() {
            return explicit
                .iter()
                .map(|id| LedgerId {
                    id: id.clone(),
                    kind: ledger_kind(id),
                })
                .collect();
        }
        let name = schema_name(credential);
        let mut ids: Vec<LedgerId> = resolved
            .issuers
            .iter()
            .flat_map(|i| i.identifiers.iter())
            .filter(|id| id.starts_with("did:"))
            .map(|did| LedgerId {
                id: anoncreds_schema_id(did, &name, &credential.version.value),
                kind: "schema",
            })
            .collect();
        ids.dedup_by(|a, b| a.id == b.id);
        ids
    }
}

/// The DCQL query (OpenID4VP 1.0 section 6) that asks the holder for `prerequisites`: one
/// `dc+sd-jwt` credential query per prerequisite, under the prerequisite's id (the governance
/// schema allows only ids DCQL accepts), for its type's `vct`, with the claims in the order the
/// prerequisite lists them. `None` when there is nothing to ask for.
///
/// Only prerequisites issued as `dc+sd-jwt` can be asked for this way; `trustc check` reports any
/// other (`prerequisite-not-sd-jwt`), so the caller passes only those.
fn dcql_query<'a>(
    prerequisites: impl IntoIterator<Item = &'a artifact::Prerequisite>,
) -> Option<artifact::DcqlQuery> {
    let credentials: Vec<artifact::DcqlCredentialQuery> = prerequisites
        .into_iter()
        .filter_map(|prerequisite| {
            Some(artifact::DcqlCredentialQuery {
                id: prerequisite.id.clone(),
                format: SD_JWT_VC_FORMAT.to_string(),
                meta: artifact::DcqlMeta {
                    vct_values: vec![prerequisite.vct.clone()?],
                },
                claims: prerequisite
                    .claims
                    .iter()
                    .map(|claim| artifact::DcqlClaimQuery {
                        path: vec![claim.clone()],
                    })
                    .collect(),
            })
        })
        .collect();
    (!credentials.is_empty()).then_some(artifact::DcqlQuery { credentials })
}

/// The OpenID4VP and OpenID4VCI format identifier of SD-JWT VCs.
const SD_JWT_VC_FORMAT: &str = "dc+sd-jwt";

/// The AnonCreds schema name of a credential.
pub fn schema_name(credential: &Credential) -> String {
    credential
        .anoncreds
        .schema_name
        .clone()
        .unwrap_or_else(|| credential.id.value.clone())
}

/// The identifier a schema gets when `did` publishes it: the legacy Indy form
/// `<nym>:2:<name>:<version>` for `did:sov`, the AnonCreds object path
/// `<did>/anoncreds/v0/SCHEMA/<name>/<version>` for other methods.
pub fn anoncreds_schema_id(did: &str, name: &str, version: &str) -> String {
    match did.strip_prefix("did:sov:") {
        Some(nym) => format!("{nym}:2:{name}:{version}"),
        None => format!("{did}/anoncreds/v0/SCHEMA/{name}/{version}"),
    }
}

/// `credDef` for credential definition ids, `schema` otherwise.
fn ledger_kind(id: &str) -> &'static str {
    if id.contains(":3:CL:") || id.contains("/CLAIM_DEF/") {
        "credDef"
    } else {
        "schema"
    }
}

/// Black or white, whichever contrasts more with `background` (WCAG 2).
fn readable_text_colour(background: [u8; 3]) -> String {
    use crate::formats::contrast_ratio;
    if contrast_ratio(background, [0xFF; 3]) >= contrast_ratio(background, [0; 3]) {
        "#FFFFFF".to_string()
    } else {
        "#000000".to_string()
    }
}

/// Delivers a credential's local images (inline or copied) and remembers their integrity.
struct ImageDeliverer {
    delivery: ImageDelivery,
    base_url: Option<String>,
    credential: String,
    /// The bundle's folder under `oca/` in the output.
    bundle_dir: String,
    /// Delivered URI → integrity of the bytes (local images only).
    integrity: BTreeMap<String, String>,
    copied: Vec<(String, Vec<u8>)>,
}

impl ImageDeliverer {
    fn new(context: &CredentialContext) -> ImageDeliverer {
        let credential = context.credential;
        // The folder under `oca/` mirrors the bundle's folder under `oca-bundles/`, resolved
        // (`a/../b` is `b`); a folder outside `oca-bundles/` gets the credential's own folder.
        let own = format!("{}/{}", context.framework(), credential.id.value);
        let bundle_dir = match &credential.oca_bundle {
            Some(reference) => {
                let value = reference.value.as_str();
                // `oca_bundle` names a folder, or a `.json` bundle file in one.
                let folder = if value.ends_with(".json") {
                    value.rsplit_once('/').map_or("", |(folder, _)| folder)
                } else {
                    value
                };
                let mut segments: Vec<&str> = Vec::new();
                let mut inside = true;
                for segment in folder.split('/') {
                    match segment {
                        "" | "." => {}
                        ".." => inside &= segments.pop().is_some(),
                        other => segments.push(other),
                    }
                }
                if inside && !segments.is_empty() {
                    segments.join("/")
                } else {
                    own
                }
            }
            None => own,
        };
        let mut base_url = credential.images.base_url.as_ref().map(|u| u.value.clone());
        if let Some(url) = &mut base_url
            && !url.ends_with('/')
        {
            url.push('/');
        }
        ImageDeliverer {
            delivery: credential.images.delivery,
            base_url,
            credential: credential.id.value.clone(),
            bundle_dir,
            integrity: BTreeMap::new(),
            copied: Vec::new(),
        }
    }

    /// The URI wallets load `reference` from.
    fn deliver(
        &mut self,
        role: &str,
        reference: &str,
        base_dir: &Path,
    ) -> Result<String, ImageError> {
        let lower = reference.to_ascii_lowercase();
        if lower.starts_with("data:") || lower.contains("://") {
            return Ok(reference.to_string());
        }
        let path: PathBuf = base_dir.join(reference);
        let bytes = std::fs::read(&path).map_err(|e| ImageError {
            credential: self.credential.clone(),
            message: format!("cannot read the image `{}`: {e}", path.display()),
        })?;
        let integrity = format!("sha256-{}", STANDARD.encode(Sha256::digest(&bytes)));
        let uri = match self.delivery {
            ImageDelivery::Inline => {
                format!(
                    "data:{};base64,{}",
                    media_type(&path),
                    STANDARD.encode(&bytes)
                )
            }
            ImageDelivery::Copy => {
                let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("png");
                let name = format!("{role}.{}", extension.to_ascii_lowercase());
                let base = self.base_url.clone().unwrap_or_default();
                self.copied
                    .push((format!("oca/{}/{name}", self.bundle_dir), bytes));
                format!("{base}{name}")
            }
        };
        self.integrity.insert(uri.clone(), integrity);
        Ok(uri)
    }

    fn image(&self, uri: &Option<String>, alt_text: Option<String>) -> Option<artifact::Image> {
        let uri = uri.as_ref()?;
        Some(artifact::Image {
            uri: uri.clone(),
            alt_text,
            integrity: self.integrity.get(uri).cloned(),
        })
    }
}

fn media_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("svg") => "image/svg+xml",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        _ => "image/png",
    }
}
