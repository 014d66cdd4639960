//! The mapping from a bundle onto a governance file: the framework, the participant and the
//! credential the bundle becomes, in the order the governance file is written, and what the
//! governance model cannot say (in comments, and as notes for the terminal).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::Imported;
use super::bundle::{
    IndexIds, Places, attribute_text, display_path, is_image_file, is_local_image, meta_text,
    relative_to, resolve, schema_name_version, semantic_version,
};
use super::localized::{Localized, ticked};
use super::yaml::{Yaml, yaml_key, yaml_scalar};
use crate::images::path_inside;
use crate::oca::{Bundle, OverlayBody, OverlayKind};
use crate::syntax::Node;

pub(super) struct Importer<'a> {
    pub(super) bundle: &'a Bundle,
    pub(super) node: &'a Node,
    /// The bundle path as given on the command line.
    pub(super) source: String,
    pub(super) bundle_dir: PathBuf,
    pub(super) framework_id: String,
    pub(super) credential_id: String,
    pub(super) locales: Vec<String>,
    pub(super) places: Places,
    pub(super) cwd: PathBuf,
    pub(super) index: Option<IndexIds>,
}

/// One attribute of the credential.
struct Attribute {
    name: String,
    kind: &'static str,
    format: Option<String>,
    standard: Option<String>,
    encoding: Option<String>,
    personal: bool,
    label: Localized,
    description: Option<Localized>,
    comment: Option<String>,
}

/// The branding fields to write, in the governance's order.
type BrandingFields = Vec<(&'static str, Commented)>;

/// An image to copy: from, to.
type ImageCopy = (PathBuf, PathBuf);

/// A value and the comment to write after it.
struct Commented {
    value: String,
    comment: Option<String>,
}

impl Importer<'_> {
    pub(super) fn run(mut self) -> Imported {
        let mut notes = Vec::new();
        let mut header_notes = Vec::new();
        if self.locales.is_empty() {
            self.locales.push("en".to_string());
            header_notes
                .push("The bundle's overlays name no language; `en` is assumed.".to_string());
        }
        let locales = self.locales.clone();
        let bundle = self.bundle;
        if !self.places.in_governance {
            notes.push(
                "`trustc check` and `trustc build` read governance files from the `governance/` folder of a repository; move the file there (with the images it names)"
                    .to_string(),
            );
        }

        // Who issues: the meta `issuer` (wallets show it), its website and description.
        let issuer = Localized::of(&locales, |l| meta_text(bundle, l, |m| &m.issuer));
        let issuer_name = issuer.clone().unwrap_or_else(|| Localized {
            values: locales
                .iter()
                .map(|l| (l.clone(), self.framework_id.clone()))
                .collect(),
            filled: Vec::new(),
            from: String::new(),
        });
        let (website, website_comment) = self.website(&locales, &mut notes);
        let issuer_description = Localized::of(&locales, |l| {
            meta_text(bundle, l, |m| &m.issuer_description)
        });

        // The credential's texts.
        let name = Localized::of(&locales, |l| meta_text(bundle, l, |m| &m.name));
        let description = Localized::of(&locales, |l| meta_text(bundle, l, |m| &m.description));
        let help_text = Localized::of(&locales, |l| {
            meta_text(bundle, l, |m| &m.credential_help_text)
        });
        let support_url = Localized::of(&locales, |l| {
            meta_text(bundle, l, |m| &m.credential_support_url)
        });
        let watermark = Localized::of(&locales, |l| meta_text(bundle, l, |m| &m.watermark));

        let attributes = self.attributes(&mut notes);
        let (branding, copies) = self.branding(&mut notes);
        let (version, version_comment) = self.version();

        let mut y = Yaml::default();
        self.header(&mut y, &header_notes);
        y.line(0, "format: trustc/governance/v1");
        y.blank();

        // framework
        y.line(0, "framework:");
        y.scalar(2, "id", &self.framework_id, None);
        if issuer.is_none() {
            y.comment(
                2,
                "The bundle names no issuer: replace these names with the issuer's and the authority's.",
            );
            notes.push(
                "the bundle names no issuer (meta `issuer`); the framework id stands in for it"
                    .to_string(),
            );
        }
        y.text(2, "name", &issuer_name);
        y.scalar(2, "version", "1.0.0", None);
        y.line(2, "authority:");
        y.text(4, "name", &issuer_name);
        if let Some(website) = &website {
            y.scalar(4, "website", website, None);
        }
        y.flow_list(2, "locales", &locales);
        y.blank();

        // participants
        y.line(0, "participants:");
        y.line(2, "- id: issuer");
        if let Some(comment) = issuer.as_ref().and_then(|i| i.fill_comment("issuer name")) {
            y.comment(4, &comment);
            notes.push(lowercase_first(&comment));
        }
        y.text(4, "name", &issuer_name);
        if let Some(d) = &issuer_description {
            if let Some(comment) = d.fill_comment("issuer description") {
                y.comment(4, &comment);
                notes.push(lowercase_first(&comment));
            }
            y.text(4, "description", d);
        }
        if let Some(comment) = &website_comment {
            y.comment(4, comment);
        }
        if let Some(website) = &website {
            y.scalar(4, "website", website, None);
        }
        y.comment(
            4,
            "Add `identifiers:`, the issuer's DIDs or https URLs in `dev`, `test` and `prod`.",
        );
        y.flow_list(4, "issues", std::slice::from_ref(&self.credential_id));
        y.blank();

        // credentials
        y.line(0, "credentials:");
        y.scalar_item(2, "id", &self.credential_id);
        let name = name.unwrap_or_else(|| {
            y.comment(4, "The bundle has no name for the credential: replace this one.");
            notes.push("the bundle has no credential name (meta `name`); the credential id stands in for it".to_string());
            Localized {
                values: locales
                    .iter()
                    .map(|l| (l.clone(), self.credential_id.clone()))
                    .collect(),
                filled: Vec::new(),
                from: String::new(),
            }
        });
        for (key, text, what) in [
            ("name", Some(&name), "name"),
            ("description", description.as_ref(), "description"),
            ("help_text", help_text.as_ref(), "help text"),
            ("support_url", support_url.as_ref(), "support URL"),
            ("watermark", watermark.as_ref(), "watermark"),
        ] {
            let Some(text) = text else { continue };
            if let Some(comment) = text.fill_comment(what) {
                y.comment(4, &comment);
                notes.push(lowercase_first(&comment));
            }
            y.text(4, key, text);
        }
        y.scalar(4, "version", &version, version_comment.as_deref());
        y.flow_list(4, "formats", &["anoncreds".to_string()]);
        self.write_attributes(&mut y, &attributes, &mut notes);
        if let Some(branding) = &branding {
            y.line(4, "branding:");
            for (key, value) in branding {
                y.scalar(6, key, &value.value, value.comment.as_deref());
            }
        }
        y.scalar(4, "revocation", "none", None);
        self.write_anoncreds(&mut y);
        y.line(4, "issuance:");
        y.line(6, "authentication:");
        y.scalar(8, "method", "pre-authorized-code", None);
        y.comment(
            6,
            "Every attribute comes with the offer (`from: offer`); see `trustc schema` for prerequisites and constants.",
        );
        y.line(6, "claims:");
        for attribute in &attributes {
            y.line(
                8,
                &format!("{}: {{ from: offer }}", yaml_key(&attribute.name)),
            );
        }
        Imported {
            yaml: y.out,
            copies,
            notes,
        }
    }

    fn header(&self, y: &mut Yaml, extra: &[String]) {
        y.comment(
            0,
            &format!(
                "Imported by `trustc import oca` from the Aries OCA bundle {}.",
                self.source
            ),
        );
        y.line(0, "#");
        y.comment(
            0,
            "`trustc build` generates the credential's OCA bundle from this file again: the same \
             attributes, labels, texts and branding, with digests the build computes. A bundle \
             does not say who governs the credential, the issuer's identifiers or how it is \
             issued: review the framework, the participant and `issuance` below.",
        );
        if !self.places.written && self.has_local_images() {
            y.line(0, "#");
            y.comment(
                0,
                "Local image paths are written for this file saved in `governance/` of the \
                 folder it was imported in.",
            );
        }
        for note in extra {
            y.line(0, "#");
            y.comment(0, note);
        }
        y.blank();
    }

    fn has_local_images(&self) -> bool {
        self.bundle.branding().is_some_and(|(_, b)| {
            [&b.logo, &b.background_image, &b.background_image_slice]
                .into_iter()
                .flatten()
                .any(|r| is_local_image(&r.value))
        })
    }

    /// The participant's website: the meta `issuer_url` of the first locale that has one.
    fn website(
        &self,
        locales: &[String],
        notes: &mut Vec<String>,
    ) -> (Option<String>, Option<String>) {
        let urls: Vec<(String, String)> = locales
            .iter()
            .filter_map(|l| Some((l.clone(), meta_text(self.bundle, l, |m| &m.issuer_url)?)))
            .collect();
        let Some((from, url)) = urls.first().cloned() else {
            return (None, None);
        };
        if let Err(why) = crate::formats::check_https_url(&url) {
            let comment = format!(
                "The bundle's issuer_url `{url}` is left out: a participant's website must be an https URL ({why})."
            );
            notes.push(lowercase_first(&comment));
            return (None, Some(comment));
        }
        let differs = urls.iter().any(|(_, u)| *u != url);
        let missing: Vec<String> = locales
            .iter()
            .filter(|l| !urls.iter().any(|(m, _)| m == *l))
            .cloned()
            .collect();
        let comment = if differs {
            let others: Vec<String> = urls
                .iter()
                .filter(|(_, u)| *u != url)
                .map(|(l, u)| format!("`{u}` ({l})"))
                .collect();
            Some(format!(
                "The bundle's issuer_url differs per language; a participant has one website, so the `{from}` one is used in every language (the bundle also has {}).",
                others.join(", ")
            ))
        } else if !missing.is_empty() {
            Some(format!(
                "The bundle has no issuer_url in {}; a participant has one website, used in every language.",
                ticked(&missing)
            ))
        } else {
            None
        };
        if let Some(c) = &comment {
            notes.push(lowercase_first(c));
        }
        (Some(url), comment)
    }

    fn attributes(&self, notes: &mut Vec<String>) -> Vec<Attribute> {
        let bundle = self.bundle;
        let flagged: BTreeSet<&str> = bundle
            .capture_base
            .flagged_attributes
            .iter()
            .map(|f| f.value.as_str())
            .collect();
        let default_encoding = self.default_encoding();
        bundle
            .capture_base
            .attributes
            .value
            .iter()
            .map(|(name, oca_type)| {
                let name = name.value.clone();
                let format = self.merged(OverlayKind::Format, &name);
                let standard = self.merged(OverlayKind::Standard, &name);
                let encoding = self
                    .merged(OverlayKind::CharacterEncoding, &name)
                    .or_else(|| default_encoding.clone())
                    .filter(|e| !e.eq_ignore_ascii_case("utf-8"));
                let (kind, comment) = governance_type(&oca_type.value, format.as_deref());
                if let Some(c) = &comment {
                    notes.push(format!("`{name}`: {}", lowercase_first(c)));
                }
                let label = Localized::of(&self.locales, |l| {
                    attribute_text(bundle, OverlayKind::Label, l, &name)
                })
                .unwrap_or_else(|| Localized {
                    values: self
                        .locales
                        .iter()
                        .map(|l| (l.clone(), name.clone()))
                        .collect(),
                    filled: self.locales.clone(),
                    from: String::new(),
                });
                let description = Localized::of(&self.locales, |l| {
                    attribute_text(bundle, OverlayKind::Information, l, &name)
                });
                Attribute {
                    personal: flagged.contains(name.as_str()),
                    name,
                    kind,
                    format,
                    standard,
                    encoding,
                    label,
                    description,
                    comment,
                }
            })
            .collect()
    }

    /// A language-independent per-attribute value (format, standard, encoding): the first overlay
    /// of `kind` that gives `name` a value.
    fn merged(&self, kind: OverlayKind, name: &str) -> Option<String> {
        self.bundle.overlays_of(kind).find_map(|o| match &o.body {
            OverlayBody::Attributes { map, .. } => map
                .value
                .get(name)
                .map(|v| v.value.clone())
                .filter(|v| !v.is_empty()),
            _ => None,
        })
    }

    /// The character encoding overlay's `default_character_encoding`.
    fn default_encoding(&self) -> Option<String> {
        let overlays = self.node.as_array()?.first()?.get("overlays")?.as_array()?;
        self.bundle
            .overlays
            .iter()
            .zip(overlays)
            .filter(|(o, _)| o.kind == OverlayKind::CharacterEncoding)
            .find_map(|(_, node)| {
                node.get("default_character_encoding")?
                    .as_str()
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
            })
    }

    fn write_attributes(&self, y: &mut Yaml, attributes: &[Attribute], notes: &mut Vec<String>) {
        // Text filled in from another language, by kind and locale, said once for all attributes.
        for (what, pick) in [
            (
                "label",
                (|a: &Attribute| Some(&a.label)) as fn(&Attribute) -> Option<&Localized>,
            ),
            ("attribute information", |a: &Attribute| {
                a.description.as_ref()
            }),
        ] {
            for locale in &self.locales {
                let names: Vec<String> = attributes
                    .iter()
                    .filter(|a| {
                        pick(a).is_some_and(|t| t.filled.contains(locale) && !t.from.is_empty())
                    })
                    .map(|a| a.name.clone())
                    .collect();
                if names.is_empty() {
                    continue;
                }
                let comment = format!(
                    "The bundle has no `{locale}` {what} for {}; the text of another language is used.",
                    ticked(&names)
                );
                y.comment(4, &comment);
                notes.push(lowercase_first(&comment));
            }
        }
        let unnamed: Vec<String> = attributes
            .iter()
            .filter(|a| a.label.from.is_empty())
            .map(|a| a.name.clone())
            .collect();
        if !unnamed.is_empty() {
            let comment = format!(
                "The bundle has no label for {}; the attribute name is the label, as wallets show it.",
                ticked(&unnamed)
            );
            y.comment(4, &comment);
            notes.push(lowercase_first(&comment));
        }
        y.line(4, "attributes:");
        for a in attributes {
            y.line(6, &format!("{}:", yaml_key(&a.name)));
            y.scalar(8, "type", a.kind, a.comment.as_deref());
            if let Some(format) = &a.format {
                y.scalar(8, "format", format, None);
            }
            if let Some(standard) = &a.standard {
                y.scalar(8, "standard", standard, None);
            }
            if let Some(encoding) = &a.encoding {
                y.scalar(8, "encoding", encoding, None);
            }
            if a.personal {
                y.line(8, "personal: true");
            }
            y.text(8, "label", &a.label);
            if let Some(description) = &a.description {
                y.text(8, "description", description);
            }
        }
    }

    /// The branding overlay's fields, in the governance's order; the images to copy.
    fn branding(&self, notes: &mut Vec<String>) -> (Option<BrandingFields>, Vec<ImageCopy>) {
        let Some((overlay, b)) = self.bundle.branding() else {
            return (None, Vec::new());
        };
        if overlay.type_name.value.ends_with("/1.1") {
            notes.push(
                "the branding overlay is `aries/overlays/branding/1.1`; `trustc build` writes 1.0 (the same fields; 1.1 only changes the card layout)"
                    .to_string(),
            );
        }
        let mut fields = Vec::new();
        let mut copies = Vec::new();
        // Colours and attribute names are read as written (not trimmed), so that a colour with
        // spaces around it gets a note.
        let given = |v: &Option<crate::syntax::Spanned<String>>| {
            v.as_ref()
                .map(|s| s.value.clone())
                .filter(|s| !s.is_empty())
        };
        for (key, role, what, value) in [
            ("logo", "logo", "logo", &b.logo),
            (
                "background_image",
                "background",
                "background image",
                &b.background_image,
            ),
            (
                "background_image_slice",
                "background-slice",
                "background image slice",
                &b.background_image_slice,
            ),
        ] {
            if let Some(reference) = crate::oca::branding_text(value) {
                let image = self.image(role, what, &reference, &mut copies, notes);
                fields.push((key, image));
            }
        }
        for (key, value) in [
            ("primary_background_color", &b.primary_background_color),
            ("secondary_background_color", &b.secondary_background_color),
        ] {
            let Some(colour) = given(value) else {
                continue;
            };
            if crate::formats::parse_colour(&colour).is_ok() {
                fields.push((
                    key,
                    Commented {
                        value: colour,
                        comment: None,
                    },
                ));
            } else if let Some([r, g, b]) = crate::formats::equivalent_colour(&colour) {
                let hex = format!("#{r:02X}{g:02X}{b:02X}");
                notes.push(format!(
                    "{key} `{colour}` is written as `{hex}`: wallets and `trustc check` read colours only as #RRGGBB"
                ));
                fields.push((
                    key,
                    Commented {
                        value: hex,
                        comment: Some(format!(
                            "`{colour}` in the bundle; trustc accepts only #RRGGBB"
                        )),
                    },
                ));
            } else {
                notes.push(format!(
                    "{key} `{colour}` is left out: it is not a colour (wallets cannot use it either)"
                ));
            }
        }
        let attributes = &self.bundle.capture_base.attributes.value;
        for (key, value) in [
            ("primary_attribute", &b.primary_attribute),
            ("secondary_attribute", &b.secondary_attribute),
            ("issued_date_attribute", &b.issued_date_attribute),
            ("expiry_date_attribute", &b.expiry_date_attribute),
        ] {
            let Some(name) = given(value) else {
                continue;
            };
            if attributes.contains_key(&name) {
                fields.push((
                    key,
                    Commented {
                        value: name,
                        comment: None,
                    },
                ));
            } else {
                notes.push(format!(
                    "{key} `{name}` is left out: the bundle has no such attribute, so wallets ignore it"
                ));
            }
        }
        (Some(fields), copies)
    }

    /// An image reference as the governance file names it. https and data: URLs are kept; a path
    /// (relative to the bundle) is written relative to the governance file when the image is in
    /// the same repository, else the image is copied next to the governance file (`--out`).
    fn image(
        &self,
        role: &str,
        what: &str,
        reference: &str,
        copies: &mut Vec<(PathBuf, PathBuf)>,
        notes: &mut Vec<String>,
    ) -> Commented {
        if !is_local_image(reference) {
            return Commented {
                value: reference.to_string(),
                comment: None,
            };
        }
        let image = resolve(&self.bundle_dir.join(reference));
        let places = &self.places;
        let shown = display_path(&image, &self.cwd);
        if !image.is_file() {
            let value = relative_to(&places.governance_dir, &image);
            notes.push(format!(
                "the {what} `{reference}` is not next to the bundle (no `{shown}`); put the image at `{value}` relative to the governance file"
            ));
            return Commented {
                value,
                comment: Some("not found next to the bundle".to_string()),
            };
        }
        if image.starts_with(&places.repository) {
            return Commented {
                value: relative_to(&places.governance_dir, &image),
                comment: None,
            };
        }
        // Only an image that belongs to the bundle is copied: a hostile bundle could otherwise
        // name any local file (`/etc/passwd`, `../../.ssh/id_rsa`) and have it copied into the
        // new repository.
        let bundle_dir = resolve(&self.bundle_dir);
        let refused = if Path::new(reference).is_absolute() || !path_inside(&bundle_dir, &image) {
            Some(format!(
                "the {what} `{reference}` lies outside the bundle's folder, so it is not copied; \
                 put the image into the repository and name it relative to the governance file"
            ))
        } else if !is_image_file(&image) {
            Some(format!(
                "the {what} `{shown}` is not a PNG, JPEG, GIF or WebP image, so it is not copied"
            ))
        } else {
            None
        };
        if let Some(note) = refused {
            notes.push(note);
            return Commented {
                value: relative_to(&places.governance_dir, &image),
                comment: Some("not copied: see the import's notes".to_string()),
            };
        }
        if places.written {
            let extension = image
                .extension()
                .and_then(|e| e.to_str())
                .map_or_else(|| "png".to_string(), str::to_ascii_lowercase);
            let name = format!("images/{}-{role}.{extension}", self.credential_id);
            let target = places.governance_dir.join(&name);
            notes.push(format!(
                "the {what} `{shown}` is outside the repository; it is copied to `{}`",
                display_path(&target, &self.cwd)
            ));
            copies.push((image, target));
            return Commented {
                value: name,
                comment: Some(format!("copied from {shown}")),
            };
        }
        let value = relative_to(&places.governance_dir, &image);
        notes.push(format!(
            "the {what} `{shown}` is outside the current folder, so `trustc check` will report the path; copy it into the repository, or import with --out to have it copied"
        ));
        Commented {
            value,
            comment: Some("outside the repository: copy the image in".to_string()),
        }
    }

    /// The credential version: the highest AnonCreds schema version the index lists, else 1.0.0.
    fn version(&self) -> (String, Option<String>) {
        let Some(index) = &self.index else {
            return ("1.0.0".to_string(), None);
        };
        let versions: Vec<&str> = index
            .ids
            .iter()
            .filter_map(|id| schema_name_version(id).map(|(_, v)| v))
            .collect();
        let best = versions.iter().filter_map(|v| semantic_version(v)).max();
        match best {
            Some(version) => {
                let mut listed: Vec<&str> = versions.clone();
                listed.dedup();
                let comment = if listed.len() > 1 {
                    format!(
                        "the highest AnonCreds schema version in {} ({})",
                        index.file,
                        listed.join(", ")
                    )
                } else {
                    format!("the AnonCreds schema version in {}", index.file)
                };
                (version.to_string(), Some(comment))
            }
            None => ("1.0.0".to_string(), None),
        }
    }

    fn write_anoncreds(&self, y: &mut Yaml) {
        let Some(index) = &self.index else {
            return;
        };
        let names: BTreeSet<&str> = index
            .ids
            .iter()
            .filter_map(|id| schema_name_version(id).map(|(n, _)| n))
            .collect();
        y.line(4, "anoncreds:");
        if let [name] = names.into_iter().collect::<Vec<_>>()[..]
            && name != self.credential_id
        {
            y.scalar(6, "schema_name", name, None);
        }
        y.comment(
            6,
            &format!(
                "The ledger ids {} lists the bundle under, so the generated index lists them too. \
                 They are from every environment: move the dev and test ones under `dev:` and `test:`.",
                index.file
            ),
        );
        y.line(6, "identifiers:");
        y.line(8, "prod:");
        for id in &index.ids {
            y.line(10, &format!("- {}", yaml_scalar(id, false)));
        }
    }
}

/// The governance type of a capture-base type, and a comment when the mapping loses something.
fn governance_type(oca_type: &str, format: Option<&str>) -> (&'static str, Option<String>) {
    match oca_type {
        "Text" => ("text", None),
        "Numeric" => ("number", None),
        "Boolean" => ("boolean", None),
        "Binary" => ("binary", None),
        "DateTime" => {
            let format = format.unwrap_or("").to_ascii_lowercase();
            let time = format.contains("hh")
                || format.contains(":mm")
                || format.contains("time")
                || format.contains("ss");
            (if time { "datetime" } else { "date" }, None)
        }
        other => (
            "text",
            Some(format!(
                "`{other}` in the bundle; the governance has no such type, so the rebuilt bundle says `Text`"
            )),
        ),
    }
}

fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}
