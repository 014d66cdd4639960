//! Aries OCA 1.0 bundles, read exactly as BC Wallet reads them (Aries RFC 0755/0756).
//!
//! trustc reads and writes this format itself: the `oca-rs` crates implement OCA 1.1/2.0, cannot
//! be resolved from the registry, and are EUPL-licensed (see the project's reference notes). The
//! model keeps spans so checks can point at the exact value; digests are verified on the raw
//! objects ([`digest`]), because a digest commits to every key the file holds.

pub mod check;
pub mod digest;
pub mod index;

use serde::Deserialize;

use crate::syntax::{DeError, Node, OrderedMap, Span, Spanned, from_node};

/// The file name of a bundle in bcgov's repository layout.
pub const BUNDLE_FILE_NAME: &str = "OCABundle.json";

pub const CAPTURE_BASE_TYPE: &str = "spec/capture_base/1.0";

/// A bundle: one capture base and its overlays.
#[derive(Debug)]
pub struct Bundle {
    /// The bundle object (element 0 of the file's array).
    pub span: Span,
    pub capture_base: CaptureBase,
    pub capture_base_span: Span,
    pub overlays: Vec<Overlay>,
}

#[derive(Debug, Deserialize)]
pub struct CaptureBase {
    #[serde(rename = "type")]
    pub kind: Spanned<String>,
    pub digest: Option<Spanned<String>>,
    #[serde(default)]
    pub classification: String,
    pub attributes: Spanned<OrderedMap<Spanned<String>>>,
    #[serde(default)]
    pub flagged_attributes: Vec<Spanned<String>>,
}

/// The overlay types of Aries OCA 1.0 as used by bcgov and Bifold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OverlayKind {
    CharacterEncoding,
    Label,
    Information,
    Meta,
    Format,
    Standard,
    /// `aries/overlays/branding/1.0` or `/1.1` (1.1 changes the card layout, not the data).
    Branding,
    /// Any other type. RFC 0755: consumers ignore overlays they do not know.
    Unknown,
}

impl OverlayKind {
    pub fn from_type(type_name: &str) -> OverlayKind {
        match type_name {
            "spec/overlays/character_encoding/1.0" => OverlayKind::CharacterEncoding,
            "spec/overlays/label/1.0" => OverlayKind::Label,
            "spec/overlays/information/1.0" => OverlayKind::Information,
            "spec/overlays/meta/1.0" => OverlayKind::Meta,
            "spec/overlays/format/1.0" => OverlayKind::Format,
            "spec/overlays/standard/1.0" => OverlayKind::Standard,
            "aries/overlays/branding/1.0" | "aries/overlays/branding/1.1" => OverlayKind::Branding,
            _ => OverlayKind::Unknown,
        }
    }

    /// A short name for messages: `label overlay`.
    pub fn name(self) -> &'static str {
        match self {
            OverlayKind::CharacterEncoding => "character encoding",
            OverlayKind::Label => "label",
            OverlayKind::Information => "information",
            OverlayKind::Meta => "meta",
            OverlayKind::Format => "format",
            OverlayKind::Standard => "standard",
            OverlayKind::Branding => "branding",
            OverlayKind::Unknown => "unknown",
        }
    }
}

#[derive(Debug)]
pub struct Overlay {
    /// The overlay object.
    pub span: Span,
    pub kind: OverlayKind,
    pub type_name: Spanned<String>,
    pub capture_base: Spanned<String>,
    pub digest: Option<Spanned<String>>,
    pub language: Option<Spanned<String>>,
    pub body: OverlayBody,
}

#[derive(Debug)]
pub enum OverlayBody {
    /// An overlay whose content is a per-attribute map (character encoding, label, information,
    /// format, standard); `field` is the key holding it.
    Attributes {
        field: &'static str,
        map: Spanned<OrderedMap<Spanned<String>>>,
    },
    Meta(Meta),
    Branding(Branding),
    Unknown,
}

#[derive(Debug, Default, Deserialize)]
pub struct Meta {
    pub name: Option<Spanned<String>>,
    pub description: Option<Spanned<String>>,
    pub issuer: Option<Spanned<String>>,
    pub issuer_description: Option<Spanned<String>>,
    pub issuer_url: Option<Spanned<String>>,
    pub credential_help_text: Option<Spanned<String>>,
    pub credential_support_url: Option<Spanned<String>>,
    pub watermark: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Branding {
    pub logo: Option<Spanned<String>>,
    pub background_image: Option<Spanned<String>>,
    pub background_image_slice: Option<Spanned<String>>,
    pub primary_background_color: Option<Spanned<String>>,
    pub secondary_background_color: Option<Spanned<String>>,
    pub primary_attribute: Option<Spanned<String>>,
    pub secondary_attribute: Option<Spanned<String>>,
    pub issued_date_attribute: Option<Spanned<String>>,
    pub expiry_date_attribute: Option<Spanned<String>>,
}

/// The text of a branding field, trimmed; `None` when the field is absent or empty (an empty
/// field means none).
pub fn branding_text(field: &Option<Spanned<String>>) -> Option<String> {
    field
        .as_ref()
        .map(|s| s.value.trim().to_string())
        .filter(|s| !s.is_empty())
}

impl Bundle {
    pub fn overlays_of(&self, kind: OverlayKind) -> impl Iterator<Item = &Overlay> {
        self.overlays.iter().filter(move |o| o.kind == kind)
    }

    /// The per-attribute map of the first overlay of `kind` in `language` (or without a language).
    pub fn attribute_map(
        &self,
        kind: OverlayKind,
        language: &str,
    ) -> Option<&OrderedMap<Spanned<String>>> {
        self.overlays_of(kind)
            .find(|o| o.language.as_ref().is_none_or(|l| l.value == language))
            .and_then(|o| match &o.body {
                OverlayBody::Attributes { map, .. } => Some(&map.value),
                _ => None,
            })
    }

    /// The meta overlay in `language`.
    pub fn meta(&self, language: &str) -> Option<&Meta> {
        self.overlays_of(OverlayKind::Meta)
            .find(|o| o.language.as_ref().is_some_and(|l| l.value == language))
            .and_then(|o| match &o.body {
                OverlayBody::Meta(meta) => Some(meta),
                _ => None,
            })
    }

    /// The first branding overlay (the one wallets use).
    pub fn branding(&self) -> Option<(&Overlay, &Branding)> {
        self.overlays_of(OverlayKind::Branding)
            .find_map(|o| match &o.body {
                OverlayBody::Branding(b) => Some((o, b)),
                _ => None,
            })
    }
}

/// Reads a bundle file's tree (already schema-valid: an array of one bundle object).
pub fn read_bundle(root: &Node) -> Result<Bundle, DeError> {
    let bundle = root
        .as_array()
        .and_then(|items| items.first())
        .ok_or_else(|| DeError {
            span: Some(root.span),
            message: "an OCA bundle file must be an array holding one bundle".to_string(),
        })?;
    let missing = |what: &str| DeError {
        span: Some(bundle.span),
        message: format!("the bundle has no `{what}`"),
    };
    let capture_base_node = bundle
        .get("capture_base")
        .ok_or_else(|| missing("capture_base"))?;
    let capture_base: CaptureBase = from_node(capture_base_node)?;
    let overlays = bundle
        .get("overlays")
        .and_then(Node::as_array)
        .ok_or_else(|| missing("overlays"))?
        .iter()
        .map(read_overlay)
        .collect::<Result<_, _>>()?;
    Ok(Bundle {
        span: bundle.span,
        capture_base,
        capture_base_span: capture_base_node.span,
        overlays,
    })
}

fn read_overlay(node: &Node) -> Result<Overlay, DeError> {
    let text = |key: &str| {
        node.get(key)
            .and_then(|n| n.as_str().map(|s| Spanned::new(n.span, s.to_string())))
    };
    let type_name = text("type").ok_or_else(|| DeError {
        span: Some(node.span),
        message: "an overlay has no `type`".to_string(),
    })?;
    let kind = OverlayKind::from_type(&type_name);
    let attributes = |field: &'static str| -> Result<OverlayBody, DeError> {
        let map = match node.member(field) {
            Some(member) => Spanned::new(member.key_span, from_node(&member.value)?),
            None => Spanned::new(node.span, OrderedMap::default()),
        };
        Ok(OverlayBody::Attributes { field, map })
    };
    let body = match kind {
        OverlayKind::CharacterEncoding => attributes("attribute_character_encoding")?,
        OverlayKind::Label => attributes("attribute_labels")?,
        OverlayKind::Information => attributes("attribute_information")?,
        OverlayKind::Format => attributes("attribute_formats")?,
        OverlayKind::Standard => attributes("attribute_standards")?,
        OverlayKind::Meta => OverlayBody::Meta(from_node(node)?),
        OverlayKind::Branding => OverlayBody::Branding(from_node(node)?),
        OverlayKind::Unknown => OverlayBody::Unknown,
    };
    Ok(Overlay {
        span: node.span,
        kind,
        capture_base: text("capture_base")
            .unwrap_or_else(|| Spanned::new(node.span, String::new())),
        digest: text("digest"),
        language: text("language"),
        type_name,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::json;

    #[test]
    fn branding_1_0_and_1_1_read_the_same_fields() {
        for version in ["1.0", "1.1"] {
            let text = format!(
                r##"[{{"capture_base": {{"type": "spec/capture_base/1.0", "digest": "E1",
                    "attributes": {{"status": "Text"}}}},
                  "overlays": [{{"type": "aries/overlays/branding/{version}", "capture_base": "E1",
                    "primary_background_color": "#003366", "primary_attribute": "status"}}]}}]"##
            );
            let bundle = read_bundle(&json::parse(&text).unwrap()).unwrap();
            let (overlay, branding) = bundle.branding().expect("a branding overlay");
            assert_eq!(overlay.kind, OverlayKind::Branding);
            assert_eq!(
                branding.primary_background_color.as_ref().unwrap().value,
                "#003366"
            );
            assert_eq!(branding.primary_attribute.as_ref().unwrap().value, "status");
        }
    }

    #[test]
    fn every_overlay_type_is_read() {
        let text = r#"[{"capture_base": {"type": "spec/capture_base/1.0", "digest": "E1",
              "attributes": {"a": "Text"}, "flagged_attributes": ["a"]},
            "overlays": [
              {"type": "spec/overlays/character_encoding/1.0", "capture_base": "E1",
               "default_character_encoding": "utf-8", "attribute_character_encoding": {"a": "utf-8"}},
              {"type": "spec/overlays/label/1.0", "capture_base": "E1", "language": "en",
               "attribute_labels": {"a": "A"}, "attribute_categories": [], "category_labels": {}},
              {"type": "spec/overlays/information/1.0", "capture_base": "E1", "language": "en",
               "attribute_information": {"a": "About A"}},
              {"type": "spec/overlays/meta/1.0", "capture_base": "E1", "language": "en", "name": "N",
               "issuer": "I", "watermark": "DEMO"},
              {"type": "spec/overlays/format/1.0", "capture_base": "E1", "attribute_formats": {"a": "x"}},
              {"type": "spec/overlays/standard/1.0", "capture_base": "E1", "attribute_standards": {"a": "s"}},
              {"type": "spec/overlays/unit/1.0", "capture_base": "E1"}
            ]}]"#;
        let bundle = read_bundle(&json::parse(text).unwrap()).unwrap();
        let kinds: Vec<OverlayKind> = bundle.overlays.iter().map(|o| o.kind).collect();
        assert_eq!(
            kinds,
            [
                OverlayKind::CharacterEncoding,
                OverlayKind::Label,
                OverlayKind::Information,
                OverlayKind::Meta,
                OverlayKind::Format,
                OverlayKind::Standard,
                OverlayKind::Unknown
            ]
        );
        assert_eq!(
            bundle
                .attribute_map(OverlayKind::Label, "en")
                .unwrap()
                .get("a")
                .unwrap()
                .value,
            "A"
        );
        assert_eq!(
            bundle
                .attribute_map(OverlayKind::Format, "en")
                .unwrap()
                .get("a")
                .unwrap()
                .value,
            "x"
        );
        let meta = bundle.meta("en").unwrap();
        assert_eq!(meta.watermark.as_ref().unwrap().value, "DEMO");
        assert_eq!(bundle.capture_base.flagged_attributes[0].value, "a");
    }
}
