//! ISO 8601 durations (`P1Y`, `PT12H`): how long a credential is valid, checked by the
//! governance checks (step 5) and read again when the build resolves the configuration (step 7).

use std::fmt;

use super::{describe_char, padded};

/// An ISO 8601 duration, such as `P1Y6M` or `PT12H`, in whole numbers of each unit.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Duration {
    pub years: u32,
    pub months: u32,
    pub weeks: u32,
    pub days: u32,
    pub hours: u32,
    pub minutes: u32,
    pub seconds: u32,
}

impl Duration {
    /// The length in seconds, counting a year as 365.25 days and a month as 30.44 days.
    pub fn approx_seconds(&self) -> u64 {
        u64::from(self.years) * 31_557_600
            + u64::from(self.months) * 2_629_746
            + u64::from(self.weeks) * 604_800
            + u64::from(self.days) * 86_400
            + u64::from(self.hours) * 3_600
            + u64::from(self.minutes) * 60
            + u64::from(self.seconds)
    }

    fn from_slots(slots: [u32; 7]) -> Duration {
        let [years, months, weeks, days, hours, minutes, seconds] = slots;
        Duration {
            years,
            months,
            weeks,
            days,
            hours,
            minutes,
            seconds,
        }
    }
}

/// The canonical form: components in order, zero components left out, and `P0D` when all are
/// zero.
impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let date = [
            (self.years, 'Y'),
            (self.months, 'M'),
            (self.weeks, 'W'),
            (self.days, 'D'),
        ];
        let time = [(self.hours, 'H'), (self.minutes, 'M'), (self.seconds, 'S')];
        if date.iter().chain(&time).all(|&(n, _)| n == 0) {
            return f.write_str("P0D");
        }
        f.write_str("P")?;
        for (n, unit) in date {
            if n != 0 {
                write!(f, "{n}{unit}")?;
            }
        }
        if time.iter().any(|&(n, _)| n != 0) {
            f.write_str("T")?;
            for (n, unit) in time {
                if n != 0 {
                    write!(f, "{n}{unit}")?;
                }
            }
        }
        Ok(())
    }
}

/// How durations are written, for messages about durations written otherwise.
const DURATION_FORM: &str =
    "write it as `PnYnMnDTnHnMnS` or `PnW`, such as `P1Y`, `P2W` or `PT12H`";

/// Unit names of the duration slots, in order: years, months, weeks, days, hours, minutes,
/// seconds.
const SLOT_NAMES: [&str; 7] = [
    "years", "months", "weeks", "days", "hours", "minutes", "seconds",
];

/// One `nX` component of a duration as written.
struct Component<'a> {
    /// The number, possibly with a fraction (`1.5`, `1,5`).
    number: &'a str,
    unit: char,
    /// Whether it comes after `T`.
    after_t: bool,
}

impl Component<'_> {
    /// The slot (index into [`SLOT_NAMES`]) the component means, and whether it is in the right
    /// half of the duration. An `M` before `T` but after an hours component means minutes.
    fn slot(&self, time_seen: bool) -> (usize, bool) {
        match (self.unit, self.after_t) {
            ('Y', t) => (0, !t),
            ('W', t) => (2, !t),
            ('D', t) => (3, !t),
            ('M', false) if time_seen => (5, false),
            ('M', false) => (1, true),
            ('M', true) => (5, true),
            ('H', t) => (4, t),
            (_, t) => (6, t),
        }
    }
}

/// Parses an ISO 8601 duration: `PnYnMnWnDTnHnMnS` with any non-empty subset of the components,
/// in that order, in whole numbers.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    if s.is_empty() {
        return Err(format!("empty duration: {DURATION_FORM}"));
    }
    if let Some(message) = padded(s, |t| parse_duration(t).is_ok()) {
        return Err(message);
    }
    if s.bytes().any(|b| b.is_ascii_lowercase()) {
        let upper = s.to_ascii_uppercase();
        return Err(match parse_duration(&upper) {
            Ok(_) => format!("write `{upper}`: ISO 8601 durations are uppercase"),
            // Uppercasing does not help (`1 year`): say what a duration looks like instead.
            Err(_) => format!("`{s}` is not an ISO 8601 duration: {DURATION_FORM}"),
        });
    }
    if s.starts_with('-') {
        return Err(format!("`{s}` is negative: durations cannot be negative"));
    }
    let Some(body) = s.strip_prefix('P') else {
        let with_p = format!("P{s}");
        return Err(if parse_duration(&with_p).is_ok() {
            format!("`{s}` must start with `P`: write `{with_p}`")
        } else {
            format!("`{s}` is not an ISO 8601 duration: {DURATION_FORM}")
        });
    };
    if body.is_empty() {
        return Err(
            "`P` has no components: write at least one, such as `P1D` or `PT1H`".to_owned(),
        );
    }
    let components = lex_duration(s, body)?;

    let suggestion = suggest_duration(&components).map(|d| d.to_string());
    let write_suggestion = || match &suggestion {
        Some(d) if d != s => format!(": write `{d}`"),
        _ => String::new(),
    };
    let mut slots = [0; 7];
    let mut last: Option<usize> = None;
    let mut time_seen = false;
    for component in &components {
        let (slot, placed) = component.slot(time_seen);
        time_seen |= slot >= 4;
        if !component.number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "`{s}` has a fraction (`{}`), and trustc accepts only whole numbers{}",
                component.number,
                match write_suggestion() {
                    w if w.is_empty() => ": use a smaller unit".to_owned(),
                    w => w,
                }
            ));
        }
        if !placed {
            let half = if slot >= 4 {
                "a time component and must come after `T`"
            } else {
                "a date component and must come before `T`"
            };
            return Err(format!(
                "`{}` ({}) in `{s}` is {half}{}",
                component.unit,
                SLOT_NAMES[slot],
                write_suggestion()
            ));
        }
        if last == Some(slot) {
            return Err(format!(
                "`{s}` has {} (`{}`) twice: write each component once",
                SLOT_NAMES[slot], component.unit
            ));
        }
        if last.is_some_and(|last| last > slot) {
            return Err(format!(
                "the components of `{s}` are out of order (years, months, weeks, days, then `T` \
                 and hours, minutes, seconds){}",
                write_suggestion()
            ));
        }
        last = Some(slot);
        slots[slot] = component.number.parse().map_err(|_| {
            format!(
                "`{}` in `{s}` is too large: the largest number trustc accepts is {}",
                component.number,
                u32::MAX
            )
        })?;
    }
    if s.contains('T') && !time_seen {
        return Err(if components.is_empty() {
            format!(
                "`{s}` has `T` but no hours, minutes or seconds after it: write at least one, \
                 such as `PT1H`"
            )
        } else {
            format!(
                "`{s}` has `T` but no hours, minutes or seconds after it: write `{}`",
                s.trim_end_matches('T')
            )
        });
    }
    Ok(Duration::from_slots(slots))
}

/// Splits the part of duration `s` after `P` into components.
fn lex_duration<'a>(s: &str, body: &'a str) -> Result<Vec<Component<'a>>, String> {
    let mut components = Vec::new();
    let mut after_t = false;
    let mut rest = body;
    while let Some(c) = rest.chars().next() {
        if c == 'T' {
            if after_t {
                return Err(format!(
                    "`{s}` has `T` twice: write it once, before the hours"
                ));
            }
            after_t = true;
            rest = &rest[1..];
            continue;
        }
        if c == '-' {
            return Err(format!(
                "`{s}` has a negative number: durations cannot be negative"
            ));
        }
        let number_len = number_prefix_len(rest);
        if number_len == 0 {
            return Err(if "YMWDHS".contains(c) {
                format!("`{c}` in `{s}` has no number before it, as in `1{c}`")
            } else {
                format!(
                    "`{s}` contains {}, which is not allowed in a duration: {DURATION_FORM}",
                    describe_char(c)
                )
            });
        }
        let (number, after) = rest.split_at(number_len);
        let Some(unit) = after.chars().next() else {
            return Err(format!(
                "`{s}` ends with `{number}` without a unit: add `Y`, `M`, `W` or `D`, or after \
                 `T` `H`, `M` or `S`"
            ));
        };
        if !"YMWDHS".contains(unit) {
            return Err(format!(
                "`{s}` has {} after `{number}`, which is not a unit: use `Y`, `M`, `W` or `D`, or \
                 after `T` `H`, `M` or `S`",
                describe_char(unit)
            ));
        }
        components.push(Component {
            number,
            unit,
            after_t,
        });
        rest = &after[unit.len_utf8()..];
    }
    Ok(components)
}

/// The length of the number at the start of `s`: digits, optionally followed by `.` or `,` and
/// more digits.
fn number_prefix_len(s: &str) -> usize {
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let whole = digits(s);
    if whole > 0 && matches!(s.as_bytes().get(whole), Some(b'.' | b',')) {
        whole + 1 + digits(&s[whole + 1..])
    } else {
        whole
    }
}

/// What the components most likely mean, as whole numbers: each component goes in the slot its
/// unit names, and fractions carry into the next smaller unit when that is exact (a year is 12
/// months, a week 7 days, a day 24 hours, an hour 60 minutes, a minute 60 seconds). `None` when
/// a unit repeats, a fraction does not come out whole, or a number is too large.
fn suggest_duration(components: &[Component<'_>]) -> Option<Duration> {
    const MAX_DIGITS: usize = 12;
    // The slot a fraction carries into, and how many of that unit make one of this.
    const CARRY: [Option<(usize, u128)>; 7] = [
        Some((1, 12)),
        None,
        Some((3, 7)),
        Some((4, 24)),
        Some((5, 60)),
        Some((6, 60)),
        None,
    ];
    // Values are numerators over 10^scale.
    let scale = components
        .iter()
        .map(|c| c.number.len() - c.number.bytes().take_while(u8::is_ascii_digit).count())
        .max()
        .unwrap_or(0)
        .saturating_sub(1);
    let denominator = 10u128.checked_pow(u32::try_from(scale).ok()?)?;
    let mut values = [None::<u128>; 7];
    let mut time_seen = false;
    for component in components {
        let (slot, _) = component.slot(time_seen);
        time_seen |= slot >= 4;
        if values[slot].is_some() || component.number.len() > MAX_DIGITS + 1 {
            return None;
        }
        let (whole, fraction) = component
            .number
            .split_once(['.', ','])
            .unwrap_or((component.number, ""));
        let padded_fraction = format!("{fraction:0<scale$}");
        let whole: u128 = whole.parse().ok()?;
        let fraction: u128 = if scale == 0 {
            0
        } else {
            padded_fraction.parse().ok()?
        };
        values[slot] = Some(whole.checked_mul(denominator)? + fraction);
    }
    let mut values = values.map(Option::unwrap_or_default);
    let mut slots = [0u32; 7];
    for slot in 0..7 {
        let (whole, fraction) = (values[slot] / denominator, values[slot] % denominator);
        if fraction != 0 {
            let (next, factor) = CARRY[slot]?;
            values[next] = values[next].checked_add(fraction.checked_mul(factor)?)?;
        }
        slots[slot] = u32::try_from(whole).ok()?;
    }
    Some(Duration::from_slots(slots))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::err;

    // --- durations ---

    fn duration(s: &str) -> Duration {
        parse_duration(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn durations_valid() {
        assert_eq!(
            duration("P1Y2M3DT4H5M6S"),
            Duration {
                years: 1,
                months: 2,
                weeks: 0,
                days: 3,
                hours: 4,
                minutes: 5,
                seconds: 6
            }
        );
        assert_eq!(
            duration("P2W"),
            Duration {
                weeks: 2,
                ..Duration::default()
            }
        );
        assert_eq!(
            duration("P1M"),
            Duration {
                months: 1,
                ..Duration::default()
            }
        );
        assert_eq!(
            duration("PT1M"),
            Duration {
                minutes: 1,
                ..Duration::default()
            }
        );
        assert_eq!(
            duration("P1Y2W3D").to_string(),
            "P1Y2W3D",
            "weeks combine with other components"
        );
        assert_eq!(duration("P0D"), Duration::default());
        assert_eq!(duration("P01Y").years, 1);
        assert_eq!(duration("P4294967295D").days, u32::MAX);
    }

    #[test]
    fn durations_display_canonically() {
        for (input, canonical) in [
            ("P1Y6M", "P1Y6M"),
            ("PT12H", "PT12H"),
            ("P1DT12H", "P1DT12H"),
            ("P0Y", "P0D"),
            ("PT0S", "P0D"),
            ("P1Y0M", "P1Y"),
            ("P0YT30M", "PT30M"),
            ("PT36H", "PT36H"),
            ("P1Y2M1W3DT4H5M6S", "P1Y2M1W3DT4H5M6S"),
        ] {
            assert_eq!(duration(input).to_string(), canonical, "{input}");
        }
        assert_eq!(Duration::default().to_string(), "P0D");
    }

    #[test]
    fn durations_approx_seconds() {
        assert_eq!(duration("P1Y").approx_seconds(), 31_557_600);
        assert_eq!(duration("P1M").approx_seconds(), 2_629_746);
        assert_eq!(duration("P1W").approx_seconds(), 604_800);
        assert_eq!(duration("P1D").approx_seconds(), 86_400);
        assert_eq!(duration("PT1H1M1S").approx_seconds(), 3_661);
        assert_eq!(
            duration("P1Y6M").approx_seconds(),
            31_557_600 + 6 * 2_629_746
        );
        let max = Duration {
            years: u32::MAX,
            months: u32::MAX,
            weeks: u32::MAX,
            days: u32::MAX,
            hours: u32::MAX,
            minutes: u32::MAX,
            seconds: u32::MAX,
        };
        assert!(max.approx_seconds() > 0, "does not overflow");
    }

    #[test]
    fn durations_invalid() {
        assert_eq!(
            err(parse_duration("p1y")),
            "write `P1Y`: ISO 8601 durations are uppercase"
        );
        assert_eq!(
            err(parse_duration("pt12h")),
            "write `PT12H`: ISO 8601 durations are uppercase"
        );
        assert!(err(parse_duration("p1m1y")).starts_with("`p1m1y` is not an ISO 8601 duration"));
        assert!(err(parse_duration("1 year")).starts_with("`1 year` is not an ISO 8601 duration"));
        assert_eq!(
            err(parse_duration("1Y")),
            "`1Y` must start with `P`: write `P1Y`"
        );
        assert_eq!(
            err(parse_duration("T12H")),
            "`T12H` must start with `P`: write `PT12H`"
        );
        assert!(err(parse_duration("1 year")).contains("is not an ISO 8601 duration"));
        assert!(err(parse_duration("")).starts_with("empty duration"));
        assert!(err(parse_duration("P")).starts_with("`P` has no components"));
        assert!(
            err(parse_duration("PT")).starts_with("`PT` has `T` but no hours, minutes or seconds")
        );
        assert!(err(parse_duration("P1DT")).ends_with("write `P1D`"));
        assert_eq!(
            err(parse_duration("P1M1Y")),
            "the components of `P1M1Y` are out of order (years, months, weeks, days, then `T` \
             and hours, minutes, seconds): write `P1Y1M`"
        );
        assert!(err(parse_duration("P1D1W")).ends_with("write `P1W1D`"));
        assert!(err(parse_duration("PT1S1H")).ends_with("write `PT1H1S`"));
        assert!(err(parse_duration("P1Y2Y")).contains("years (`Y`) twice"));
        assert!(err(parse_duration("P-1Y")).contains("cannot be negative"));
        assert!(err(parse_duration("-P1Y")).contains("cannot be negative"));
        assert!(err(parse_duration("P+1Y")).contains("`+`"));
        assert!(err(parse_duration("PY")).contains("no number before it"));
        assert!(err(parse_duration("P1")).contains("without a unit"));
        assert!(err(parse_duration("P1X")).contains("`X` after `1`, which is not a unit"));
        assert!(err(parse_duration("P1DTT1H")).contains("`T` twice"));
        assert!(err(parse_duration("P4294967296D")).contains("too large"));
        assert_eq!(
            err(parse_duration(" P1D")),
            "` P1D` has whitespace around it: write `P1D`"
        );
        assert!(err(parse_duration("P1D T1H")).contains("a space"));
    }

    #[test]
    fn durations_with_components_on_the_wrong_side_of_t() {
        assert_eq!(
            err(parse_duration("P1H")),
            "`H` (hours) in `P1H` is a time component and must come after `T`: write `PT1H`"
        );
        assert!(err(parse_duration("P1H30M")).ends_with("write `PT1H30M`"));
        // Days twice: no suggestion, since adding them up is a guess.
        assert_eq!(
            err(parse_duration("P1DT1H2D")),
            "`D` (days) in `P1DT1H2D` is a date component and must come before `T`"
        );
        assert_eq!(
            err(parse_duration("PT1D")),
            "`D` (days) in `PT1D` is a date component and must come before `T`: write `P1D`"
        );
        assert!(err(parse_duration("PT1W")).ends_with("write `P1W`"));
        assert!(err(parse_duration("PT1H1D")).ends_with("write `P1DT1H`"));
    }

    #[test]
    fn durations_with_fractions() {
        for (input, fraction, fix) in [
            ("P1.5Y", "1.5", "P1Y6M"),
            ("P1,5Y", "1,5", "P1Y6M"),
            ("P0.5D", "0.5", "PT12H"),
            ("PT1.5H", "1.5", "PT1H30M"),
            ("PT0.25H", "0.25", "PT15M"),
            ("P1.5W", "1.5", "P1W3DT12H"),
            ("PT2.5M", "2.5", "PT2M30S"),
            ("P1DT0.5H", "0.5", "P1DT30M"),
            ("P1Y0.5D", "0.5", "P1YT12H"),
        ] {
            assert_eq!(
                err(parse_duration(input)),
                format!(
                    "`{input}` has a fraction (`{fraction}`), and trustc accepts only whole \
                     numbers: write `{fix}`"
                )
            );
        }
        for input in ["P1.5M", "PT1.5S", "P0.1Y"] {
            assert!(
                err(parse_duration(input)).ends_with("use a smaller unit"),
                "{input}"
            );
        }
    }
}
