//! Semantic checks of one OCA bundle: digests, attribute references, languages, colours, images.
//!
//! bcgov's CI validates bundles with a JSON Schema that accepts a colour of `"not-a-color"`, a
//! primary attribute that does not exist and digests that were never computed. These checks are
//! what that schema cannot express.

use std::collections::{BTreeMap, BTreeSet};

use trustc_artifact::values::quoted_list;

use crate::diag::{Code, FileDiagnostics};
use crate::formats;
use crate::images::{ImageContext, ImageRole, check_image};
use crate::syntax::{Node, Span, Spanned};

use super::digest::{self, RFC_0755_EXAMPLE_DIGEST};
use super::{Branding, Bundle, Overlay, OverlayBody, OverlayKind};

/// Runs every check on a bundle read from `root` (the file's tree).
pub fn check_bundle(
    root: &Node,
    bundle: &Bundle,
    images: &ImageContext,
    sink: &mut FileDiagnostics,
) {
    check_digests(root, bundle, sink);
    check_attribute_references(bundle, sink);
    check_languages(bundle, sink);
    check_branding(bundle, images, sink);
    for overlay in bundle.overlays_of(OverlayKind::Unknown) {
        sink.report(
            Code::UnknownOverlay,
            overlay.type_name.span,
            format!("overlay type `{}` is not an Aries OCA 1.0 overlay", overlay.type_name.value),
            "wallets ignore this overlay",
            "RFC 0755 consumers skip overlay types they do not know; bcgov's CI schema rejects them. \
             Check the spelling against `spec/overlays/<kind>/1.0` or `aries/overlays/branding/1.0`",
        );
    }
}

fn check_digests(root: &Node, bundle: &Bundle, sink: &mut FileDiagnostics) {
    let Some(bundle_node) = root.as_array().and_then(|a| a.first()) else {
        return;
    };
    let capture_base_key = bundle_node
        .member("capture_base")
        .map_or(bundle.capture_base_span, |m| m.key_span);
    let stored_base = bundle
        .capture_base
        .digest
        .as_ref()
        .filter(|d| !d.value.is_empty());
    if let Some(base_node) = bundle_node.get("capture_base") {
        match stored_base {
            None => sink.report(
                Code::DigestMissing,
                bundle
                    .capture_base
                    .digest
                    .as_ref()
                    .map_or(capture_base_key, |d| d.span),
                "the capture base has no digest",
                "no digest",
                format!(
                    "add `\"digest\": \"{}\"`; overlays name their capture base by this digest",
                    digest::compute(base_node)
                ),
            ),
            Some(stored) => {
                let computed = digest::compute(base_node);
                if stored.value != computed {
                    sink.report(
                        Code::DigestMismatch,
                        stored.span,
                        "the capture base digest does not match its content",
                        format!("computed `{computed}`"),
                        "the content changed after the digest was computed, or the digest was copied from elsewhere; \
                         write the computed digest, then update every overlay's `capture_base` (their digests change too); \
                         `trustc build` writes bundles with every digest computed",
                    );
                }
            }
        }
    }

    let overlay_nodes = bundle_node
        .get("overlays")
        .and_then(Node::as_array)
        .unwrap_or(&[]);
    for (overlay, node) in bundle.overlays.iter().zip(overlay_nodes) {
        check_overlay_digest(overlay, node, sink);
        if let Some(base) = stored_base
            && overlay.capture_base.value != base.value
        {
            let found = if overlay.capture_base.value.is_empty() {
                "is empty".to_string()
            } else {
                format!("is `{}`", overlay.capture_base.value)
            };
            let diagnostic = sink
                .diagnostic(
                    Code::CaptureBaseMismatch,
                    format!(
                        "the {} overlay's `capture_base` {found}, not the capture base digest",
                        overlay.kind.name()
                    ),
                )
                .label(overlay.capture_base.span, format!("expected `{}`", base.value))
                .label(base.span, "the capture base digest")
                .help("an overlay describes the capture base whose digest it names; an overlay copied from another bundle keeps that bundle's digest")
                .build();
            sink.push(diagnostic);
        }
    }
}

fn check_overlay_digest(overlay: &Overlay, node: &Node, sink: &mut FileDiagnostics) {
    let stored = overlay.digest.as_ref().filter(|d| !d.value.is_empty());
    match overlay.kind {
        // RFC 0755 says branding digests will not be updated to proper SAIDs, so an absent one is
        // normal; a wrong one is still reported, as it claims an integrity it does not have.
        OverlayKind::Branding => {
            if let Some(stored) = stored {
                let computed = digest::compute(node);
                if stored.value != computed {
                    let help = if stored.value == RFC_0755_EXAMPLE_DIGEST {
                        "this is the example digest printed in Aries RFC 0755, copied into the bundle; \
                         write the computed digest, or remove the `digest` key (RFC 0755 allows branding without one)"
                            .to_string()
                    } else {
                        "write the computed digest, or remove the `digest` key (RFC 0755 allows branding without one)"
                            .to_string()
                    };
                    sink.report(
                        Code::BrandingDigestMismatch,
                        stored.span,
                        "the branding overlay digest does not match its content",
                        format!("computed `{computed}`"),
                        help,
                    );
                }
            }
        }
        OverlayKind::Unknown => {}
        kind => match stored {
            None => sink.report(
                Code::DigestMissing,
                overlay
                    .digest
                    .as_ref()
                    .map_or(overlay.type_name.span, |d| d.span),
                format!("the {} overlay has no digest", kind.name()),
                "no digest",
                format!(
                    "add `\"digest\": \"{}\"` (computed from the overlay as it is now)",
                    digest::compute(node)
                ),
            ),
            Some(stored) => {
                let computed = digest::compute(node);
                if stored.value != computed {
                    sink.report(
                        Code::DigestMismatch,
                        stored.span,
                        format!("the {} overlay digest does not match its content", kind.name()),
                        format!("computed `{computed}`"),
                        "the overlay changed after its digest was computed (or was copied from another overlay); write the computed digest \
                         (`trustc build` writes bundles with every digest computed)",
                    );
                }
            }
        },
    }
}

fn check_attribute_references(bundle: &Bundle, sink: &mut FileDiagnostics) {
    let attributes = &bundle.capture_base.attributes.value;
    let known: Vec<String> = attributes.keys().map(|k| k.value.clone()).collect();
    let unknown = |name: &Spanned<String>, what: &str, sink: &mut FileDiagnostics| {
        let help = match crate::schema::closest(&name.value, &known) {
            Some(s) => format!("did you mean `{s}`? attributes are: {}", list(&known)),
            None => format!("the capture base's attributes are: {}", list(&known)),
        };
        sink.report(
            Code::UnknownAttribute,
            name.span,
            format!(
                "{what} names `{}`, which is not an attribute of the capture base",
                name.value
            ),
            "not in the capture base",
            help,
        );
    };
    for flagged in &bundle.capture_base.flagged_attributes {
        if !attributes.contains_key(&flagged.value) {
            unknown(flagged, "`flagged_attributes`", sink);
        }
    }
    for overlay in &bundle.overlays {
        if let OverlayBody::Attributes { field, map } = &overlay.body {
            for key in map.value.keys() {
                if !attributes.contains_key(&key.value) {
                    unknown(
                        key,
                        &format!("the {} overlay's `{field}`", overlay.kind.name()),
                        sink,
                    );
                }
            }
        }
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        return "(none)".to_string();
    }
    quoted_list(items)
}

fn check_languages(bundle: &Bundle, sink: &mut FileDiagnostics) {
    // kind → language → first overlay seen.
    let mut seen: BTreeMap<OverlayKind, BTreeMap<String, Span>> = BTreeMap::new();
    let mut checked_languages = BTreeSet::new();
    for overlay in &bundle.overlays {
        if overlay.kind == OverlayKind::Unknown {
            continue;
        }
        let language = overlay.language.as_ref();
        if let Some(language) = language
            && checked_languages.insert(language.value.as_str())
        {
            check_language_tag(language, sink);
        }
        let key = language.map_or_else(String::new, |l| l.value.clone());
        let span = language.map_or(overlay.type_name.span, |l| l.span);
        let by_language = seen.entry(overlay.kind).or_default();
        if let Some(&first) = by_language.get(&key) {
            let what = if key.is_empty() {
                format!("a second {} overlay", overlay.kind.name())
            } else {
                format!(
                    "a second {} overlay for language `{key}`",
                    overlay.kind.name()
                )
            };
            let diagnostic = sink
                .diagnostic(Code::DuplicateOverlay, what)
                .label(span, "duplicate")
                .label(first, "the first one")
                .help("wallets use the first overlay and ignore this one; merge them or remove one")
                .build();
            sink.push(diagnostic);
        } else {
            by_language.insert(key, span);
        }
    }
    // Every language that has a label, information or meta overlay must have all the kinds the
    // bundle uses, or wallets in that language show raw attribute names or a generic card.
    let languages: BTreeSet<&String> = [
        OverlayKind::Label,
        OverlayKind::Information,
        OverlayKind::Meta,
    ]
    .iter()
    .filter_map(|k| seen.get(k))
    .flat_map(|m| m.keys())
    // Invalid codes are reported on their own; asking for more overlays in them would not help.
    .filter(|l| !l.is_empty() && formats::parse_language(l).is_ok())
    .collect();
    for kind in [
        OverlayKind::Label,
        OverlayKind::Information,
        OverlayKind::Meta,
    ] {
        let Some(present) = seen.get(&kind) else {
            continue;
        };
        for language in &languages {
            if !present.contains_key(*language) {
                let (other_kind, span) = [
                    OverlayKind::Label,
                    OverlayKind::Meta,
                    OverlayKind::Information,
                ]
                .iter()
                .find_map(|k| seen.get(k)?.get(*language).map(|s| (*k, *s)))
                .expect("the language came from one of these kinds");
                let message = format!(
                    "the bundle has {} {} overlay for `{language}` but no {} overlay for it",
                    article(other_kind),
                    other_kind.name(),
                    kind.name()
                );
                let label = format!("no {} overlay in `{language}`", kind.name());
                let add = format!(
                    "add {} {} overlay with `\"language\": \"{language}\"`",
                    article(kind),
                    kind.name()
                );
                // Without labels or a name the card is unreadable in that language; without
                // attribute information the wallet still shows the card and its labels.
                if kind == OverlayKind::Information {
                    sink.report(
                        Code::MissingInformation,
                        span,
                        message,
                        label,
                        format!(
                            "{add}; until then wallets in `{language}` show the card and its \
                             labels, with the attribute descriptions of another language or none"
                        ),
                    );
                } else {
                    sink.report(Code::MissingLocale, span, message, label, add);
                }
            }
        }
    }
}

fn article(kind: OverlayKind) -> &'static str {
    match kind {
        OverlayKind::Information => "an",
        _ => "a",
    }
}

/// Reports a language code that is invalid, or valid but never matched by wallets.
pub fn check_language_tag(language: &Spanned<String>, sink: &mut FileDiagnostics) {
    match formats::parse_language(&language.value) {
        Err(message) => sink.report(
            Code::InvalidLanguage,
            language.span,
            format!("`{}` is not a valid language code", language.value),
            message,
            "use a two-letter ISO 639-1 code such as `en` or `fr`",
        ),
        Ok(tag) => {
            if let Some(region) = tag.region {
                sink.report(
                    Code::RegionalLanguage,
                    language.span,
                    format!(
                        "`{}` has a region; BC Wallet matches text to its UI language (`{}`) exactly",
                        language.value, tag.language
                    ),
                    format!("a wallet in `{}` will not pick text in `{}`", tag.language, language.value),
                    format!(
                        "write `{}` unless the text differs per region ({region})",
                        tag.language
                    ),
                );
            }
        }
    }
}

fn check_branding(bundle: &Bundle, images: &ImageContext, sink: &mut FileDiagnostics) {
    for overlay in bundle.overlays_of(OverlayKind::Branding) {
        let OverlayBody::Branding(branding) = &overlay.body else {
            continue;
        };
        check_branding_content(branding, &CardAttributes::of_bundle(bundle), images, sink);
    }
}

/// Checks what a branding says, in an OCA branding overlay or inline in the governance: its
/// colours, the attributes it names (against `card`) and its images.
pub fn check_branding_content(
    branding: &Branding,
    card: &CardAttributes,
    images: &ImageContext,
    sink: &mut FileDiagnostics,
) {
    for colour in [
        &branding.primary_background_color,
        &branding.secondary_background_color,
    ]
    .into_iter()
    .flatten()
    {
        check_colour(colour, sink);
    }
    check_branding_attributes(branding, card, sink);
    let images_of = [
        (ImageRole::Logo, &branding.logo),
        (ImageRole::Background, &branding.background_image),
        (ImageRole::Slice, &branding.background_image_slice),
    ];
    for (role, reference) in images_of {
        if let Some(reference) = reference {
            check_image(images, role, reference, sink);
        }
    }
}

/// Reports a branding colour that is not `#RRGGBB`, with the equivalent when it can be computed.
fn check_colour(colour: &Spanned<String>, sink: &mut FileDiagnostics) {
    if colour.value.is_empty() {
        return;
    }
    if let Err(message) = formats::parse_colour(&colour.value) {
        sink.report(
            Code::InvalidColour,
            colour.span,
            format!("`{}` is not a colour in the form #RRGGBB", colour.value),
            "not #RRGGBB",
            message,
        );
    }
}

/// What a card's branding may name: each attribute with its OCA type and whether it is personal
/// information. Built from a capture base, or from the governance's attributes.
pub struct CardAttributes<'a> {
    pub attributes: Vec<(&'a str, &'a str, bool)>,
}

impl<'a> CardAttributes<'a> {
    pub fn of_bundle(bundle: &'a Bundle) -> CardAttributes<'a> {
        let flagged = &bundle.capture_base.flagged_attributes;
        CardAttributes {
            attributes: bundle
                .capture_base
                .attributes
                .value
                .iter()
                .map(|(name, kind)| {
                    let personal = flagged.iter().any(|f| f.value == name.value);
                    (name.value.as_str(), kind.value.as_str(), personal)
                })
                .collect(),
        }
    }

    fn get(&self, name: &str) -> Option<(&'a str, bool)> {
        self.attributes
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, kind, personal)| (*kind, *personal))
    }

    fn names(&self) -> Vec<String> {
        self.attributes
            .iter()
            .map(|(n, _, _)| n.to_string())
            .collect()
    }
}

/// Checks the four branding fields that name attributes — primary, secondary, issued date and
/// expiry date, in that order. Empty values mean "none" and are not checked.
fn check_branding_attributes(
    branding: &Branding,
    card: &CardAttributes,
    sink: &mut FileDiagnostics,
) {
    let fields = [
        ("primary_attribute", &branding.primary_attribute),
        ("secondary_attribute", &branding.secondary_attribute),
        ("issued_date_attribute", &branding.issued_date_attribute),
        ("expiry_date_attribute", &branding.expiry_date_attribute),
    ];
    for (index, (field, value)) in fields.into_iter().enumerate() {
        if let Some(value) = value.as_ref().filter(|v| !v.value.is_empty()) {
            check_branding_attribute(field, value, index >= 2, card, sink);
        }
    }
}

/// Checks that a branding attribute names an attribute of a suitable type: a date for the date
/// fields; text, a number or a date, and not personal information, for the card-face fields.
fn check_branding_attribute(
    field: &str,
    value: &Spanned<String>,
    date: bool,
    card: &CardAttributes,
    sink: &mut FileDiagnostics,
) {
    let found = card.get(&value.value);
    let personal = found.is_some_and(|(_, personal)| personal);
    let oca_type = found.map(|(kind, _)| kind);
    match oca_type {
        None => {
            let known = card.names();
            let help = match crate::schema::closest(&value.value, &known) {
                Some(s) => format!("did you mean `{s}`? attributes are: {}", list(&known)),
                None => format!("name one of the attributes ({}) or leave it empty", list(&known)),
            };
            sink.report(
                Code::BrandingAttribute,
                value.span,
                format!("`{field}` names `{}`, which is not an attribute", value.value),
                "no such attribute",
                help,
            );
        }
        Some(kind) if date && kind != "DateTime" => sink.report(
            Code::BrandingAttribute,
            value.span,
            format!("`{field}` names `{}`, a {kind} attribute, not a date", value.value),
            "not a DateTime attribute",
            "wallets show this attribute as a date; name a DateTime attribute (a dateint with format YYYYMMDD, or a date)",
        ),
        Some("Binary") if !date => sink.report(
            Code::BrandingAttribute,
            value.span,
            format!("`{field}` names `{}`, a Binary attribute, which cannot be shown as text", value.value),
            "Binary attribute",
            "name a text, number or date attribute that tells credentials of this type apart",
        ),
        Some(_) if !date && personal => sink.report(
            Code::BrandingAttributePrivate,
            value.span,
            format!("`{field}` shows `{}`, which is flagged as personal information", value.value),
            "personal information on the card face",
            "RFC 0756: primary and secondary attributes are printed on the card face, which anyone near the holder's screen \
             can see; show something that tells credentials apart without private data",
        ),
        Some(_) => {}
    }
}
