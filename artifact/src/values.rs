//! Whether a value fits an attribute: type, allowed values and pattern. The compiler checks the
//! examples and constants written in the governance with it, and the issuer runtime checks the
//! claims of every offer with it, so the two cannot disagree about what a valid value is.

use base64::Engine;
use regex::Regex;
use serde_json::Value;

use crate::AttributeType;

/// Compiles an attribute pattern; it must match a whole value.
pub fn compile_pattern(pattern: &str) -> Result<Regex, String> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(1 << 20)
        .build()
        .map_err(|e| match e {
            regex::Error::Syntax(s) => {
                let last = s.lines().last().unwrap_or(&s).trim();
                last.strip_prefix("error: ").unwrap_or(last).to_string()
            }
            other => other.to_string(),
        })
}

/// Checks `value` against the attribute's type, allowed values and pattern. `pattern` is the
/// compiled pattern, when the attribute has a valid one.
pub fn check_value(
    kind: AttributeType,
    allowed: &[String],
    pattern: Option<&Regex>,
    value: &Value,
) -> Result<(), String> {
    match (kind, value) {
        (AttributeType::Boolean, Value::Bool(_)) => Ok(()),
        (AttributeType::Number, Value::Number(_)) => Ok(()),
        (AttributeType::Integer, Value::Number(n)) => {
            if n.is_i64() || n.is_u64() {
                Ok(())
            } else if n.as_f64().is_some_and(|f| f.fract() == 0.0) {
                // Whole, but read as a float: beyond what a 64-bit integer holds.
                Err(format!(
                    "{n} is too large for an integer (at most {} in magnitude)",
                    u64::MAX
                ))
            } else {
                Err(format!("{n} is not a whole number"))
            }
        }
        (AttributeType::Text, Value::String(s)) => check_pattern(pattern, s),
        (AttributeType::Enum, Value::String(s)) => {
            if allowed.iter().any(|v| v == s) {
                Ok(())
            } else {
                Err(format!(
                    "`{s}` is not one of the allowed values ({})",
                    quoted_list(allowed)
                ))
            }
        }
        (AttributeType::Date, Value::String(s)) => {
            check_date(s).and_then(|()| check_pattern(pattern, s))
        }
        (AttributeType::Datetime, Value::String(s)) => {
            check_datetime(s).and_then(|()| check_pattern(pattern, s))
        }
        (AttributeType::Binary, Value::String(s)) => base64::engine::general_purpose::STANDARD
            .decode(s)
            .map(|_| ())
            .map_err(|e| format!("a binary value is base64; this is not: {e}")),
        (kind, value) => Err(format!("{value} is not {}", describe(kind))),
    }
}

/// `` `a`, `b`, `c` ``: names or values as messages list them. The compiler's diagnostics and the
/// runtime's answers list names the same way.
pub fn quoted_list<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|i| format!("`{}`", i.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe(kind: AttributeType) -> &'static str {
    match kind {
        AttributeType::Text => "text (write it in quotes)",
        AttributeType::Enum => "one of the allowed values (text)",
        AttributeType::Number => "a number",
        AttributeType::Integer => "an integer",
        AttributeType::Boolean => "a boolean (true or false)",
        AttributeType::Date => "a date (YYYY-MM-DD, in quotes)",
        AttributeType::Datetime => "a date and time (RFC 3339, in quotes)",
        AttributeType::Binary => "base64 text",
    }
}

pub fn check_pattern(pattern: Option<&Regex>, value: &str) -> Result<(), String> {
    match pattern {
        Some(regex) if !regex.is_match(value) => {
            let source = regex.as_str();
            let pattern = source
                .strip_prefix("^(?:")
                .and_then(|p| p.strip_suffix(")$"))
                .unwrap_or(source);
            Err(format!("`{value}` does not match the pattern `{pattern}`"))
        }
        _ => Ok(()),
    }
}

/// A calendar date `YYYY-MM-DD` (ISO 8601 / RFC 3339 full-date).
pub fn check_date(s: &str) -> Result<(), String> {
    let invalid = || format!("`{s}` is not a date in the form YYYY-MM-DD");
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(invalid());
    }
    let number = |range: std::ops::Range<usize>| -> Result<u32, String> {
        let part = &s[range];
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().map_err(|_| invalid())
        } else {
            Err(invalid())
        }
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    if !(1..=12).contains(&month) {
        return Err(format!("`{s}`: month {month} does not exist"));
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day == 0 || day > days {
        return Err(format!("`{s}`: day {day} does not exist in that month"));
    }
    Ok(())
}

/// An RFC 3339 date-time: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
pub fn check_datetime(s: &str) -> Result<(), String> {
    let invalid =
        || format!("`{s}` is not an RFC 3339 date and time such as `2025-01-31T09:30:00Z`");
    if s.len() < 19 || !s.is_char_boundary(10) {
        return Err(invalid());
    }
    check_date(&s[..10])?;
    let rest = &s[10..];
    let rest = rest
        .strip_prefix('T')
        .or_else(|| rest.strip_prefix('t'))
        .or_else(|| rest.strip_prefix(' '))
        .ok_or_else(invalid)?;
    let b = rest.as_bytes();
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return Err(invalid());
    }
    let two = |i: usize| -> Option<u32> {
        let part = rest.get(i..i + 2)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (hour, minute, second) = (
        two(0).ok_or_else(invalid)?,
        two(3).ok_or_else(invalid)?,
        two(6).ok_or_else(invalid)?,
    );
    if hour > 23 || minute > 59 || second > 60 {
        return Err(format!("`{s}`: the time is out of range"));
    }
    let mut zone = &rest[8..];
    if let Some(fraction) = zone.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid());
        }
        zone = &fraction[digits..];
    }
    match zone {
        "Z" | "z" => Ok(()),
        offset if offset.len() == 6 && (offset.starts_with('+') || offset.starts_with('-')) => {
            let ob = offset.as_bytes();
            let digits = |r: std::ops::Range<usize>| offset[r].bytes().all(|c| c.is_ascii_digit());
            if ob[3] == b':' && digits(1..3) && digits(4..6) {
                Ok(())
            } else {
                Err(invalid())
            }
        }
        _ => Err(format!(
            "`{s}` has no time zone: end it with `Z` or an offset such as `-08:00`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        let check = |v: serde_json::Value| check_value(AttributeType::Integer, &[], None, &v);
        assert!(check(serde_json::json!(-12)).is_ok());
        assert!(check(serde_json::json!(u64::MAX)).is_ok());
        assert!(
            check(serde_json::json!(1.5))
                .unwrap_err()
                .contains("not a whole number")
        );
        let huge: serde_json::Value =
            serde_json::from_str("123456789012345678901234567890").unwrap();
        assert!(
            check(huge)
                .unwrap_err()
                .contains("too large for an integer")
        );
    }

    #[test]
    fn dates() {
        assert!(check_date("2024-02-29").is_ok());
        assert!(check_date("2023-02-29").unwrap_err().contains("day 29"));
        assert!(check_date("2023-13-01").unwrap_err().contains("month 13"));
        assert!(check_date("20230101").is_err());
        assert!(check_date("2023-1-01").is_err());
    }

    #[test]
    fn datetimes() {
        assert!(check_datetime("2025-01-31T09:30:00Z").is_ok());
        assert!(check_datetime("2025-01-31T09:30:00.123-08:00").is_ok());
        assert!(
            check_datetime("2025-01-31T09:30:00")
                .unwrap_err()
                .contains("time zone")
        );
        assert!(
            check_datetime("2025-01-31T25:30:00Z")
                .unwrap_err()
                .contains("out of range")
        );
        assert!(check_datetime("2025-01-31").is_err());
        assert!(check_datetime("2025-01-31Tééé").is_err());
    }

    #[test]
    fn patterns_match_whole_values() {
        let re = compile_pattern("[0-9]{6}").unwrap();
        assert!(check_pattern(Some(&re), "123456").is_ok());
        let err = check_pattern(Some(&re), "1234567").unwrap_err();
        assert_eq!(err, "`1234567` does not match the pattern `[0-9]{6}`");
        assert!(compile_pattern("[unclosed").is_err());
    }
}
