//! Colours written `#RRGGBB`: the branding colours of governance files and OCA bundles (checked in
//! step 5), the `#RRGGBB` that other spellings stand for (which `trustc import` writes), and the
//! WCAG contrast from which the build chooses a text colour (step 7).

use super::{describe_char, strip_prefix_ignore_case};

/// Parses a colour written `#RRGGBB` (hex digits in either case).
pub fn parse_colour(s: &str) -> Result<[u8; 3], String> {
    s.strip_prefix('#')
        .and_then(parse_hex)
        .ok_or_else(|| colour_error(s))
}

/// The colour of `hex` when it is exactly six hex digits.
fn parse_hex(hex: &str) -> Option<[u8; 3]> {
    let expanded = expand_hex(hex)?;
    (hex.len() == 6).then_some(expanded)
}

/// `RRGGBB`, `RGB`, `RRGGBBAA` or `RGBA` hex digits as a colour without alpha.
fn expand_hex(hex: &str) -> Option<[u8; 3]> {
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let channel = |i: usize, width: usize| {
        let n = u8::from_str_radix(&hex[i * width..(i + 1) * width], 16).ok()?;
        Some(if width == 1 { n * 17 } else { n })
    };
    let width = match hex.len() {
        3 | 4 => 1,
        6 | 8 => 2,
        _ => return None,
    };
    Some([channel(0, width)?, channel(1, width)?, channel(2, width)?])
}

/// `#RRGGBB` in uppercase hex.
fn to_hex(rgb: [u8; 3]) -> String {
    format!("#{:02X}{:02X}{:02X}", rgb[0], rgb[1], rgb[2])
}

/// The colour `s` stands for when it is written in another form with one meaning (`rgb(0, 51,
/// 102)`, `#036`, `003366`, `navy`, with spaces around it…), without alpha: the `#RRGGBB` value the
/// `invalid-colour` help suggests. `None` when `s` is not a colour.
pub fn equivalent_colour(s: &str) -> Option<[u8; 3]> {
    match written(s.trim())? {
        Written::Hash(hex) => expand_hex(hex),
        Written::Bare(rgb) | Written::ZeroX(rgb) | Written::Named(rgb) => Some(rgb),
        Written::Function(result) => result.ok().map(|(rgb, _)| rgb),
    }
}

/// A colour written in one of the forms trustc recognises; what [`written`] found.
enum Written<'a> {
    /// `#` and what follows it (a colour when it is 3, 4, 6 or 8 hex digits).
    Hash(&'a str),
    /// Six hex digits without the `#`.
    Bare([u8; 3]),
    /// `0x` and six hex digits.
    ZeroX([u8; 3]),
    /// CSS `rgb(…)` or `rgba(…)`: the colour and whether it had alpha, or why it is not one.
    Function(Result<([u8; 3], bool), String>),
    /// A CSS colour name.
    Named([u8; 3]),
}

/// The form `t` (trimmed) is written in, when it is one trustc recognises.
fn written(t: &str) -> Option<Written<'_>> {
    if let Some(hex) = t.strip_prefix('#') {
        return Some(Written::Hash(hex));
    }
    if let Some(rgb) = parse_hex(t) {
        return Some(Written::Bare(rgb));
    }
    if let Some(rgb) = strip_prefix_ignore_case(t, "0x").and_then(parse_hex) {
        return Some(Written::ZeroX(rgb));
    }
    if let Some(result) = parse_rgb_function(t) {
        return Some(Written::Function(result));
    }
    NAMED_COLOURS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(t))
        .map(|&(_, rgb)| Written::Named(rgb))
}

/// Why `s` is not `#RRGGBB`, with the `#RRGGBB` to write when it can be worked out.
fn colour_error(s: &str) -> String {
    let write = |rgb: [u8; 3]| {
        format!(
            "`{s}` is not #RRGGBB; wallets compute the text colour only from #RRGGBB: write `{}`",
            to_hex(rgb)
        )
    };
    let drop_alpha = |rgb: [u8; 3]| {
        format!(
            "`{s}` has an alpha channel; wallets compute the text colour only from #RRGGBB, \
             without alpha: write `{}`",
            to_hex(rgb)
        )
    };
    let not_colour = format!("`{s}` is not a colour in the form #RRGGBB");
    if s.is_empty() {
        return "empty colour: write a colour as #RRGGBB, such as `#003366`".to_owned();
    }
    let t = s.trim();
    if t != s && parse_colour(t).is_ok() {
        return format!("`{s}` has whitespace around it: write `{t}`");
    }
    match written(t) {
        Some(Written::Hash(hex)) => {
            if let Some(c) = hex.chars().find(|c| !c.is_ascii_hexdigit()) {
                return format!("{not_colour}: {} is not a hex digit", describe_char(c));
            }
            match (hex.len(), expand_hex(hex)) {
                (3, Some(rgb)) => write(rgb),
                (4 | 8, Some(rgb)) => drop_alpha(rgb),
                (n, _) => format!("{not_colour}: it has {n} hex digits after `#`, not 6"),
            }
        }
        Some(Written::Bare(rgb)) => format!("`{s}` is missing the `#`: write `{}`", to_hex(rgb)),
        Some(Written::ZeroX(rgb) | Written::Named(rgb) | Written::Function(Ok((rgb, false)))) => {
            write(rgb)
        }
        Some(Written::Function(Ok((rgb, true)))) => drop_alpha(rgb),
        Some(Written::Function(Err(why))) => format!("{not_colour}: {why}"),
        None => not_colour,
    }
}

/// Parses CSS `rgb(r, g, b)`, `rgb(r g b)`, `rgba(r, g, b, a)` or `rgb(r g b / a)` with channels
/// written as whole numbers: the colour, and whether it had an alpha value. `None` when `s` is
/// not an `rgb(…)` or `rgba(…)` function at all.
fn parse_rgb_function(s: &str) -> Option<Result<([u8; 3], bool), String>> {
    let args = strip_prefix_ignore_case(s, "rgba(")
        .or_else(|| strip_prefix_ignore_case(s, "rgb("))?
        .trim_end();
    let Some(args) = args.strip_suffix(')') else {
        return Some(Err("`)` is missing at the end".to_owned()));
    };
    let values: Vec<&str> = args
        .split([',', '/'])
        .flat_map(str::split_whitespace)
        .collect();
    if !(3..=4).contains(&values.len()) {
        return Some(Err(format!(
            "it has {} values, and `rgb()` needs 3 (red, green and blue)",
            values.len()
        )));
    }
    let mut rgb = [0; 3];
    for (channel, value) in rgb.iter_mut().zip(&values) {
        *channel = match value.parse::<u16>() {
            Ok(n) => match u8::try_from(n) {
                Ok(n) => n,
                Err(_) => return Some(Err(format!("`{value}` is more than 255"))),
            },
            Err(_) => {
                return Some(Err(format!(
                    "`{value}` is not a whole number from 0 to 255"
                )));
            }
        };
    }
    Some(Ok((rgb, values.len() == 4)))
}

/// The 16 basic CSS colours, with `grey` for `gray` and the common aliases `cyan`, `magenta` and
/// `orange`.
const NAMED_COLOURS: &[(&str, [u8; 3])] = &[
    ("aqua", [0x00, 0xFF, 0xFF]),
    ("black", [0x00, 0x00, 0x00]),
    ("blue", [0x00, 0x00, 0xFF]),
    ("cyan", [0x00, 0xFF, 0xFF]),
    ("fuchsia", [0xFF, 0x00, 0xFF]),
    ("gray", [0x80, 0x80, 0x80]),
    ("green", [0x00, 0x80, 0x00]),
    ("grey", [0x80, 0x80, 0x80]),
    ("lime", [0x00, 0xFF, 0x00]),
    ("magenta", [0xFF, 0x00, 0xFF]),
    ("maroon", [0x80, 0x00, 0x00]),
    ("navy", [0x00, 0x00, 0x80]),
    ("olive", [0x80, 0x80, 0x00]),
    ("orange", [0xFF, 0xA5, 0x00]),
    ("purple", [0x80, 0x00, 0x80]),
    ("red", [0xFF, 0x00, 0x00]),
    ("silver", [0xC0, 0xC0, 0xC0]),
    ("teal", [0x00, 0x80, 0x80]),
    ("white", [0xFF, 0xFF, 0xFF]),
    ("yellow", [0xFF, 0xFF, 0x00]),
];

/// The relative luminance of an sRGB colour, from 0 (black) to 1 (white), as WCAG 2 defines it.
pub fn relative_luminance(rgb: [u8; 3]) -> f64 {
    let linear = |channel: u8| {
        let c = f64::from(channel) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * linear(rgb[0]) + 0.7152 * linear(rgb[1]) + 0.0722 * linear(rgb[2])
}

/// The WCAG 2 contrast ratio of two colours, from 1 (the same) to 21 (black on white), in either
/// order.
pub fn contrast_ratio(a: [u8; 3], b: [u8; 3]) -> f64 {
    let (la, lb) = (relative_luminance(a), relative_luminance(b));
    let (lighter, darker) = if la >= lb { (la, lb) } else { (lb, la) };
    (lighter + 0.05) / (darker + 0.05)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::err;

    // --- colours ---

    #[test]
    fn colours_valid() {
        assert_eq!(parse_colour("#003366"), Ok([0x00, 0x33, 0x66]));
        assert_eq!(parse_colour("#38598a"), Ok([0x38, 0x59, 0x8A]));
        assert_eq!(parse_colour("#38598A"), Ok([0x38, 0x59, 0x8A]));
        assert_eq!(parse_colour("#FFFFFF"), Ok([255, 255, 255]));
    }

    #[test]
    fn colours_with_a_suggested_fix() {
        let write = |s: &str, fix: &str| {
            format!(
                "`{s}` is not #RRGGBB; wallets compute the text colour only from #RRGGBB: write \
                 `{fix}`"
            )
        };
        for (input, fix) in [
            ("rgb(0, 51, 102)", "#003366"),
            ("rgb(0,51,102)", "#003366"),
            ("rgb( 0 , 51 , 102 )", "#003366"),
            ("rgb(0 51 102)", "#003366"),
            ("RGB(0, 51, 102)", "#003366"),
            ("rgb(56, 89, 138)", "#38598A"),
            ("#036", "#003366"),
            ("#abc", "#AABBCC"),
            ("0x003366", "#003366"),
            ("black", "#000000"),
            ("white", "#FFFFFF"),
            ("red", "#FF0000"),
            ("green", "#008000"),
            ("blue", "#0000FF"),
            ("navy", "#000080"),
            ("gray", "#808080"),
            ("grey", "#808080"),
            ("Silver", "#C0C0C0"),
            ("teal", "#008080"),
        ] {
            assert_eq!(err(parse_colour(input)), write(input, fix));
        }
    }

    #[test]
    fn colours_with_alpha() {
        for (input, fix) in [
            ("#003366FF", "#003366"),
            ("#38598a80", "#38598A"),
            ("#0369", "#003366"),
            ("rgba(0, 51, 102, 0.5)", "#003366"),
            ("rgb(0 51 102 / 50%)", "#003366"),
        ] {
            assert_eq!(
                err(parse_colour(input)),
                format!(
                    "`{input}` has an alpha channel; wallets compute the text colour only from \
                     #RRGGBB, without alpha: write `{fix}`"
                )
            );
        }
    }

    #[test]
    fn colours_invalid() {
        assert!(err(parse_colour("")).starts_with("empty colour"));
        assert_eq!(
            err(parse_colour("003366")),
            "`003366` is missing the `#`: write `#003366`"
        );
        assert_eq!(
            err(parse_colour(" #003366")),
            "` #003366` has whitespace around it: write `#003366`"
        );
        assert_eq!(
            err(parse_colour("hsl(210, 100%, 20%)")),
            "`hsl(210, 100%, 20%)` is not a colour in the form #RRGGBB"
        );
        assert_eq!(
            err(parse_colour("transparent")),
            "`transparent` is not a colour in the form #RRGGBB"
        );
        assert!(err(parse_colour("#12345")).ends_with("it has 5 hex digits after `#`, not 6"));
        assert!(err(parse_colour("#")).ends_with("it has 0 hex digits after `#`, not 6"));
        assert!(err(parse_colour("#00336G")).ends_with("`G` is not a hex digit"));
        assert!(err(parse_colour("#00336é")).ends_with("`é` is not a hex digit"));
        assert!(err(parse_colour("rgb(300, 0, 0)")).ends_with("`300` is more than 255"));
        assert!(err(parse_colour("rgb(-1, 0, 0)")).contains("not a whole number"));
        assert!(err(parse_colour("rgb(0%, 0%, 0%)")).contains("not a whole number"));
        assert!(err(parse_colour("rgb(1, 2)")).contains("it has 2 values"));
        assert!(err(parse_colour("rgb(1, 2, 3")).contains("`)` is missing"));
    }

    // --- contrast ---

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn luminance_and_contrast() {
        assert!(close(relative_luminance([0, 0, 0]), 0.0));
        assert!(close(relative_luminance([255, 255, 255]), 1.0));
        assert!(close(relative_luminance([255, 0, 0]), 0.2126));
        assert!(close(relative_luminance([0, 255, 0]), 0.7152));
        assert!(close(relative_luminance([0, 0, 255]), 0.0722));
        // Mid grey: ((128/255 + 0.055) / 1.055)^2.4.
        assert!((relative_luminance([128, 128, 128]) - 0.215_860_5).abs() < 1e-6);
        assert!(close(contrast_ratio([0, 0, 0], [255, 255, 255]), 21.0));
        assert!(close(contrast_ratio([255, 255, 255], [0, 0, 0]), 21.0));
        assert!(close(
            contrast_ratio([0x38, 0x59, 0x8A], [0x38, 0x59, 0x8A]),
            1.0
        ));
        let navy = [0x00, 0x33, 0x66];
        let (white, black) = ([255; 3], [0; 3]);
        assert!(contrast_ratio(navy, white) > contrast_ratio(navy, black));
        assert!((contrast_ratio(navy, white) - 12.61).abs() < 0.01);
        let yellow = [0xFF, 0xFF, 0x00];
        assert!(contrast_ratio(yellow, black) > contrast_ratio(yellow, white));
    }

    #[test]
    fn colours_in_other_forms_become_rrggbb() {
        assert_eq!(equivalent_colour("rgb(0, 51, 102)"), Some([0, 51, 102]));
        assert_eq!(equivalent_colour("#036"), Some([0, 0x33, 0x66]));
        assert_eq!(equivalent_colour(" #00336680 "), Some([0, 0x33, 0x66]));
        assert_eq!(equivalent_colour("navy"), Some([0, 0, 0x80]));
        assert_eq!(equivalent_colour("not-a-colour"), None);
    }
}
