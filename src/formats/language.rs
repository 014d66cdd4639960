//! Language tags (`en`, `en-CA`): the locales of a framework and the languages of OCA overlays,
//! checked against ISO 639-1 and ISO 3166-1, whose code lists this module holds. Used by the
//! governance and OCA checks (step 5 of the pipeline).

use std::fmt;

use super::{describe_char, padded};

/// A language tag of the form `ll` or `ll-RR`: an ISO 639-1 language and an optional ISO 3166-1
/// alpha-2 region.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LanguageTag {
    /// Two lowercase letters, such as `en`.
    pub language: String,
    /// Two uppercase letters, such as `CA`.
    pub region: Option<String>,
}

impl fmt::Display for LanguageTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.region {
            Some(region) => write!(f, "{}-{region}", self.language),
            None => f.write_str(&self.language),
        }
    }
}

/// The tag shapes trustc accepts, for messages about tags of any other shape.
const TAG_SHAPE: &str = "trustc accepts only `ll` (a language, such as `en`) or `ll-RR` \
                         (a language and a region, such as `en-CA`)";

/// Parses a language tag `ll` or `ll-RR`, such as `en` or `en-CA`.
pub fn parse_language(tag: &str) -> Result<LanguageTag, String> {
    if tag.is_empty() {
        return Err(format!("empty language tag: {TAG_SHAPE}"));
    }
    if let Some(message) = padded(tag, |t| parse_language(t).is_ok()) {
        return Err(message);
    }
    if let Some(c) = tag.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "`{tag}` contains {}: {TAG_SHAPE}",
            describe_char(c)
        ));
    }
    let parts: Vec<&str> = tag.split(['-', '_']).collect();
    if tag.contains('_') && parts.len() == 2 && parts.iter().all(|p| !p.is_empty()) {
        return Err(format!(
            "`{tag}` uses `_`; use `-` between language and region: `{}`",
            normalise_tag(parts[0], Some(parts[1]))
        ));
    }
    match parts[..] {
        [language] => {
            check_language(tag, language, None)?;
            Ok(LanguageTag {
                language: language.to_owned(),
                region: None,
            })
        }
        [language, region] if !language.is_empty() && !region.is_empty() => {
            check_language(tag, language, Some(region))?;
            check_region(tag, language, region)?;
            Ok(LanguageTag {
                language: language.to_owned(),
                region: Some(region.to_owned()),
            })
        }
        [_, script, _] if script.len() == 4 && is_ascii_alphabetic(script) => Err(format!(
            "`{tag}` has a script subtag (`{script}`), which trustc does not accept: {TAG_SHAPE}"
        )),
        _ => Err(format!("`{tag}` is not accepted: {TAG_SHAPE}")),
    }
}

fn check_language(tag: &str, language: &str, region: Option<&str>) -> Result<(), String> {
    let lower = language.to_ascii_lowercase();
    if !is_ascii_alphabetic(language) {
        return Err(format!(
            "`{language}` is not an ISO 639-1 language code: write two lowercase letters, such as \
             `en`"
        ));
    }
    match language.len() {
        2 if ISO_639_1.binary_search(&lower.as_str()).is_ok() => {
            if language == lower {
                Ok(())
            } else if region.is_some() {
                Err(format!(
                    "in `{tag}`, the language must be lowercase: `{}`",
                    normalise_tag(&lower, region)
                ))
            } else {
                Err(format!("`{tag}` must be lowercase: write `{lower}`"))
            }
        }
        2 => Err(
            match WITHDRAWN_639_1.iter().find(|(code, _)| *code == lower) {
                Some((_, replacement)) => {
                    format!("`{language}` is a withdrawn ISO 639-1 code: {replacement}")
                }
                None => format!("`{language}` is not an ISO 639-1 language code"),
            },
        ),
        3 => Err(
            match ISO_639_2_TO_1.binary_search_by_key(&lower.as_str(), |&(three, _)| three) {
                Ok(i) => format!(
                    "`{language}` is a three-letter ISO 639-2/3 code; OCA and trustc use \
                     two-letter ISO 639-1 codes such as `en`: write `{}`",
                    normalise_tag(ISO_639_2_TO_1[i].1, region)
                ),
                Err(_) => format!(
                    "`{language}` is a three-letter code; OCA and trustc use two-letter ISO 639-1 \
                     codes such as `en`, and there is none for `{language}`"
                ),
            },
        ),
        _ => Err(format!(
            "`{language}` is not an ISO 639-1 language code: write two lowercase letters, such as \
             `en`"
        )),
    }
}

fn check_region(tag: &str, language: &str, region: &str) -> Result<(), String> {
    let upper = region.to_ascii_uppercase();
    let alphabetic = is_ascii_alphabetic(region);
    match region.len() {
        2 if alphabetic && ISO_3166_1.binary_search(&upper.as_str()).is_ok() => {
            if region == upper {
                Ok(())
            } else {
                Err(format!(
                    "in `{tag}`, the region must be uppercase: `{language}-{upper}`"
                ))
            }
        }
        2 if upper == "UK" => Err(format!(
            "`{region}` is not an ISO 3166-1 region code: the United Kingdom is `GB`, so write \
             `{language}-GB`"
        )),
        2 if alphabetic => Err(format!("`{region}` is not an ISO 3166-1 region code")),
        3 if region.bytes().all(|b| b.is_ascii_digit()) => Err(format!(
            "`{region}` is a UN M.49 area code, not an ISO 3166-1 region code: {TAG_SHAPE}"
        )),
        3 if alphabetic => Err(format!(
            "`{region}` is not an ISO 3166-1 region code: write the two-letter (alpha-2) code, \
             such as `CA` rather than `CAN`"
        )),
        4 if alphabetic => Err(format!(
            "`{region}` in `{tag}` is a script subtag, which trustc does not accept: {TAG_SHAPE}"
        )),
        _ => Err(format!(
            "`{region}` is not an ISO 3166-1 region code: write two uppercase letters, such as `CA`"
        )),
    }
}

/// `language` in lowercase and `region` in uppercase (when it is two letters), joined by `-`.
fn normalise_tag(language: &str, region: Option<&str>) -> String {
    let mut tag = language.to_ascii_lowercase();
    if let Some(region) = region {
        tag.push('-');
        if region.len() == 2 && is_ascii_alphabetic(region) {
            tag.push_str(&region.to_ascii_uppercase());
        } else {
            tag.push_str(region);
        }
    }
    tag
}

fn is_ascii_alphabetic(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphabetic())
}

/// Two-letter codes withdrawn from ISO 639-1, with what to write instead.
const WITHDRAWN_639_1: &[(&str, &str)] = &[
    ("bh", "write the code of the specific Bihari language"),
    ("in", "write `id` (Indonesian)"),
    ("iw", "write `he` (Hebrew)"),
    ("ji", "write `yi` (Yiddish)"),
    ("jw", "write `jv` (Javanese)"),
    ("mo", "write `ro` (Romanian)"),
    ("sh", "write `sr`, `hr` or `bs`"),
];

// ---------------------------------------------------------------------------------------------
// Code lists
// ---------------------------------------------------------------------------------------------

/// The 183 ISO 639-1 language codes, sorted (ISO 639-1 as of 2021, when `bh` was withdrawn).
#[rustfmt::skip]
const ISO_639_1: &[&str] = &[
    "aa", "ab", "ae", "af", "ak", "am", "an", "ar", "as", "av", "ay", "az",
    "ba", "be", "bg", "bi", "bm", "bn", "bo", "br", "bs",
    "ca", "ce", "ch", "co", "cr", "cs", "cu", "cv", "cy",
    "da", "de", "dv", "dz",
    "ee", "el", "en", "eo", "es", "et", "eu",
    "fa", "ff", "fi", "fj", "fo", "fr", "fy",
    "ga", "gd", "gl", "gn", "gu", "gv",
    "ha", "he", "hi", "ho", "hr", "ht", "hu", "hy", "hz",
    "ia", "id", "ie", "ig", "ii", "ik", "io", "is", "it", "iu",
    "ja", "jv",
    "ka", "kg", "ki", "kj", "kk", "kl", "km", "kn", "ko", "kr", "ks", "ku", "kv", "kw",
    "ky",
    "la", "lb", "lg", "li", "ln", "lo", "lt", "lu", "lv",
    "mg", "mh", "mi", "mk", "ml", "mn", "mr", "ms", "mt", "my",
    "na", "nb", "nd", "ne", "ng", "nl", "nn", "no", "nr", "nv", "ny",
    "oc", "oj", "om", "or", "os",
    "pa", "pi", "pl", "ps", "pt",
    "qu",
    "rm", "rn", "ro", "ru", "rw",
    "sa", "sc", "sd", "se", "sg", "si", "sk", "sl", "sm", "sn", "so", "sq", "sr", "ss",
    "st", "su", "sv", "sw",
    "ta", "te", "tg", "th", "ti", "tk", "tl", "tn", "to", "tr", "ts", "tt", "tw", "ty",
    "ug", "uk", "ur", "uz",
    "ve", "vi", "vo",
    "wa", "wo",
    "xh",
    "yi", "yo",
    "za", "zh", "zu",
];

/// The 249 officially assigned ISO 3166-1 alpha-2 region codes, sorted.
#[rustfmt::skip]
const ISO_3166_1: &[&str] = &[
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW",
    "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ",
    "BR", "BS", "BT", "BV", "BW", "BY", "BZ",
    "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU",
    "CV", "CW", "CX", "CY", "CZ",
    "DE", "DJ", "DK", "DM", "DO", "DZ",
    "EC", "EE", "EG", "EH", "ER", "ES", "ET",
    "FI", "FJ", "FK", "FM", "FO", "FR",
    "GA", "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR",
    "GS", "GT", "GU", "GW", "GY",
    "HK", "HM", "HN", "HR", "HT", "HU",
    "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT",
    "JE", "JM", "JO", "JP",
    "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ",
    "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY",
    "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ",
    "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ",
    "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ",
    "OM",
    "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY",
    "QA",
    "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO",
    "SR", "SS", "ST", "SV", "SX", "SY", "SZ",
    "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV",
    "TW", "TZ",
    "UA", "UG", "UM", "US", "UY", "UZ",
    "VA", "VC", "VE", "VG", "VI", "VN", "VU",
    "WF", "WS",
    "YE", "YT",
    "ZA", "ZM", "ZW",
];

/// Every ISO 639-2 code (terminological and bibliographic) that has an ISO 639-1 equivalent, with
/// that equivalent, sorted by the three-letter code. ISO 639-3 uses the terminological codes.
#[rustfmt::skip]
const ISO_639_2_TO_1: &[(&str, &str)] = &[
    ("aar", "aa"), ("abk", "ab"), ("afr", "af"), ("aka", "ak"), ("alb", "sq"), ("amh", "am"),
    ("ara", "ar"), ("arg", "an"), ("arm", "hy"), ("asm", "as"), ("ava", "av"), ("ave", "ae"),
    ("aym", "ay"), ("aze", "az"),
    ("bak", "ba"), ("bam", "bm"), ("baq", "eu"), ("bel", "be"), ("ben", "bn"), ("bis", "bi"),
    ("bod", "bo"), ("bos", "bs"), ("bre", "br"), ("bul", "bg"), ("bur", "my"),
    ("cat", "ca"), ("ces", "cs"), ("cha", "ch"), ("che", "ce"), ("chi", "zh"), ("chu", "cu"),
    ("chv", "cv"), ("cor", "kw"), ("cos", "co"), ("cre", "cr"), ("cym", "cy"), ("cze", "cs"),
    ("dan", "da"), ("deu", "de"), ("div", "dv"), ("dut", "nl"), ("dzo", "dz"),
    ("ell", "el"), ("eng", "en"), ("epo", "eo"), ("est", "et"), ("eus", "eu"), ("ewe", "ee"),
    ("fao", "fo"), ("fas", "fa"), ("fij", "fj"), ("fin", "fi"), ("fra", "fr"), ("fre", "fr"),
    ("fry", "fy"), ("ful", "ff"),
    ("geo", "ka"), ("ger", "de"), ("gla", "gd"), ("gle", "ga"), ("glg", "gl"), ("glv", "gv"),
    ("gre", "el"), ("grn", "gn"), ("guj", "gu"),
    ("hat", "ht"), ("hau", "ha"), ("heb", "he"), ("her", "hz"), ("hin", "hi"), ("hmo", "ho"),
    ("hrv", "hr"), ("hun", "hu"), ("hye", "hy"),
    ("ibo", "ig"), ("ice", "is"), ("ido", "io"), ("iii", "ii"), ("iku", "iu"), ("ile", "ie"),
    ("ina", "ia"), ("ind", "id"), ("ipk", "ik"), ("isl", "is"), ("ita", "it"),
    ("jav", "jv"), ("jpn", "ja"),
    ("kal", "kl"), ("kan", "kn"), ("kas", "ks"), ("kat", "ka"), ("kau", "kr"), ("kaz", "kk"),
    ("khm", "km"), ("kik", "ki"), ("kin", "rw"), ("kir", "ky"), ("kom", "kv"), ("kon", "kg"),
    ("kor", "ko"), ("kua", "kj"), ("kur", "ku"),
    ("lao", "lo"), ("lat", "la"), ("lav", "lv"), ("lim", "li"), ("lin", "ln"), ("lit", "lt"),
    ("ltz", "lb"), ("lub", "lu"), ("lug", "lg"),
    ("mac", "mk"), ("mah", "mh"), ("mal", "ml"), ("mao", "mi"), ("mar", "mr"), ("may", "ms"),
    ("mkd", "mk"), ("mlg", "mg"), ("mlt", "mt"), ("mon", "mn"), ("mri", "mi"), ("msa", "ms"),
    ("mya", "my"),
    ("nau", "na"), ("nav", "nv"), ("nbl", "nr"), ("nde", "nd"), ("ndo", "ng"), ("nep", "ne"),
    ("nld", "nl"), ("nno", "nn"), ("nob", "nb"), ("nor", "no"), ("nya", "ny"),
    ("oci", "oc"), ("oji", "oj"), ("ori", "or"), ("orm", "om"), ("oss", "os"),
    ("pan", "pa"), ("per", "fa"), ("pli", "pi"), ("pol", "pl"), ("por", "pt"), ("pus", "ps"),
    ("que", "qu"),
    ("roh", "rm"), ("ron", "ro"), ("rum", "ro"), ("run", "rn"), ("rus", "ru"),
    ("sag", "sg"), ("san", "sa"), ("sin", "si"), ("slk", "sk"), ("slo", "sk"), ("slv", "sl"),
    ("sme", "se"), ("smo", "sm"), ("sna", "sn"), ("snd", "sd"), ("som", "so"), ("sot", "st"),
    ("spa", "es"), ("sqi", "sq"), ("srd", "sc"), ("srp", "sr"), ("ssw", "ss"), ("sun", "su"),
    ("swa", "sw"), ("swe", "sv"),
    ("tah", "ty"), ("tam", "ta"), ("tat", "tt"), ("tel", "te"), ("tgk", "tg"), ("tgl", "tl"),
    ("tha", "th"), ("tib", "bo"), ("tir", "ti"), ("ton", "to"), ("tsn", "tn"), ("tso", "ts"),
    ("tuk", "tk"), ("tur", "tr"), ("twi", "tw"),
    ("uig", "ug"), ("ukr", "uk"), ("urd", "ur"), ("uzb", "uz"),
    ("ven", "ve"), ("vie", "vi"), ("vol", "vo"),
    ("wel", "cy"), ("wln", "wa"), ("wol", "wo"),
    ("xho", "xh"),
    ("yid", "yi"), ("yor", "yo"),
    ("zha", "za"), ("zho", "zh"), ("zul", "zu"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::err;

    // --- code lists ---

    #[test]
    fn code_lists_are_complete_sorted_and_well_formed() {
        assert_eq!(ISO_639_1.len(), 183);
        assert_eq!(ISO_3166_1.len(), 249);
        assert!(ISO_639_1.windows(2).all(|w| w[0] < w[1]));
        assert!(ISO_3166_1.windows(2).all(|w| w[0] < w[1]));
        assert!(ISO_639_2_TO_1.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(
            ISO_639_1
                .iter()
                .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_lowercase()))
        );
        assert!(
            ISO_3166_1
                .iter()
                .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
        );
        for (three, two) in ISO_639_2_TO_1 {
            assert_eq!(three.len(), 3);
            assert!(ISO_639_1.binary_search(two).is_ok(), "{three} -> {two}");
        }
        // Every ISO 639-1 code has a three-letter equivalent.
        for two in ISO_639_1 {
            assert!(ISO_639_2_TO_1.iter().any(|(_, t)| t == two), "{two}");
        }
        for (code, _) in WITHDRAWN_639_1 {
            assert!(ISO_639_1.binary_search(code).is_err(), "{code}");
        }
    }

    // --- language tags ---

    #[test]
    fn language_tags_valid() {
        assert_eq!(
            parse_language("en"),
            Ok(LanguageTag {
                language: "en".into(),
                region: None
            })
        );
        assert_eq!(
            parse_language("en-CA"),
            Ok(LanguageTag {
                language: "en".into(),
                region: Some("CA".into())
            })
        );
        for tag in [
            "fr", "fr-CA", "de-DE", "zh-TW", "aa", "zu", "pt-BR", "nb-NO", "en-AX",
        ] {
            let parsed = parse_language(tag).unwrap();
            assert_eq!(parsed.to_string(), tag);
        }
    }

    #[test]
    fn language_tag_case() {
        assert_eq!(
            err(parse_language("EN")),
            "`EN` must be lowercase: write `en`"
        );
        assert_eq!(
            err(parse_language("En")),
            "`En` must be lowercase: write `en`"
        );
        assert_eq!(
            err(parse_language("EN-CA")),
            "in `EN-CA`, the language must be lowercase: `en-CA`"
        );
        assert_eq!(
            err(parse_language("en-ca")),
            "in `en-ca`, the region must be uppercase: `en-CA`"
        );
        assert_eq!(
            err(parse_language("en-Ca")),
            "in `en-Ca`, the region must be uppercase: `en-CA`"
        );
    }

    #[test]
    fn language_tag_three_letter_codes() {
        assert_eq!(
            err(parse_language("eng")),
            "`eng` is a three-letter ISO 639-2/3 code; OCA and trustc use two-letter ISO 639-1 \
             codes such as `en`: write `en`"
        );
        for (three, fix) in [
            ("fra", "fr"),
            ("fre", "fr"),
            ("deu", "de"),
            ("ger", "de"),
            ("spa", "es"),
            ("zho", "zh"),
            ("chi", "zh"),
            ("nld", "nl"),
            ("dut", "nl"),
            ("FRA", "fr"),
            ("fra-CA", "fr-CA"),
            ("fra-ca", "fr-CA"),
        ] {
            let message = err(parse_language(three));
            assert!(message.ends_with(&format!(": write `{fix}`")), "{message}");
        }
        let message = err(parse_language("haw"));
        assert!(
            message.starts_with("`haw` is a three-letter code"),
            "{message}"
        );
        assert!(message.contains("there is none for `haw`"), "{message}");
    }

    #[test]
    fn language_tag_separator_and_shape() {
        assert_eq!(
            err(parse_language("en_CA")),
            "`en_CA` uses `_`; use `-` between language and region: `en-CA`"
        );
        assert!(err(parse_language("en_ca")).ends_with("language and region: `en-CA`"));
        for tag in ["en-Latn-CA", "en-", "-CA", "en--CA", "en-CA-x", ""] {
            let message = err(parse_language(tag));
            assert!(
                message.contains("trustc accepts only `ll`") && message.contains("`ll-RR`"),
                "{tag}: {message}"
            );
        }
        assert!(err(parse_language("")).starts_with("empty language tag"));
        assert!(err(parse_language("en-Latn-CA")).contains("script subtag (`Latn`)"));
        assert!(err(parse_language("zh-Hant")).contains("`Hant` in `zh-Hant` is a script subtag"));
        assert!(err(parse_language("es-419")).contains("UN M.49"));
        assert!(err(parse_language("en CA")).contains("contains a space"));
        assert_eq!(
            err(parse_language(" en-CA ")),
            "` en-CA ` has whitespace around it: write `en-CA`"
        );
    }

    #[test]
    fn language_tag_unknown_codes() {
        assert_eq!(
            err(parse_language("xx")),
            "`xx` is not an ISO 639-1 language code"
        );
        assert_eq!(
            err(parse_language("XX")),
            "`XX` is not an ISO 639-1 language code"
        );
        assert_eq!(
            err(parse_language("en-XX")),
            "`XX` is not an ISO 3166-1 region code"
        );
        assert!(err(parse_language("english")).contains("not an ISO 639-1 language code"));
        assert!(err(parse_language("e1")).contains("not an ISO 639-1 language code"));
        assert!(err(parse_language("en-CAN")).contains("such as `CA` rather than `CAN`"));
        assert!(err(parse_language("en-UK")).ends_with("write `en-GB`"));
        assert_eq!(
            err(parse_language("iw")),
            "`iw` is a withdrawn ISO 639-1 code: write `he` (Hebrew)"
        );
        assert!(err(parse_language("bh")).contains("withdrawn"));
    }
}
