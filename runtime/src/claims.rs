//! The claims of an offer, checked against the governance before anything is stored: the issuer's
//! back end may only offer what the credential type defines, with values that fit each attribute.
//! Every problem is reported (not just the first), so one 422 answer names each bad claim.

use serde::Serialize;
use serde_json::{Map, Value};
use trustc_artifact::values::{check_value, quoted_list};
use trustc_artifact::{AttributeType, IssuanceValue, Source};

use crate::compiled::Credential;

/// What is wrong with one claim.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClaimProblem {
    /// The claim's name.
    pub claim: String,
    /// `missing`, `unknown`, `fixed`, `presented` (the governance takes it from a presentation),
    /// `login` (the governance takes it from the holder's login), `issuance` (set when the
    /// credential is issued), `type`, `format`, `value` or `pattern`.
    pub problem: &'static str,
    /// A sentence for the developer of the back end.
    pub detail: String,
}

/// When claims are checked: the governance sources some claims from the holder's login
/// (`from: login`) or a presentation (`from: prerequisite`), which the back end may not supply
/// and which come later, in that order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// The back end's offer: claims sourced from a login or a presentation are refused if
    /// supplied, and not required yet.
    Offer,
    /// The offer's claims merged with the login's: claims sourced from a presentation are not
    /// required yet.
    Login,
    /// Everything the credential will carry (the offer's claims merged with the login's and the
    /// presented ones).
    Issuance,
}

/// Checks the `claims` and returns the credential's claims: the given values plus the constants
/// the governance fixes, in the order the governance lists its attributes.
pub fn check_claims(
    credential: &Credential,
    claims: &Map<String, Value>,
    stage: Stage,
) -> Result<Map<String, Value>, Vec<ClaimProblem>> {
    let kind = &credential.kind;
    let mut problems = Vec::new();
    for name in claims.keys() {
        if !kind.attributes.iter().any(|a| &a.name == name) {
            let known: Vec<&str> = kind.attributes.iter().map(|a| a.name.as_str()).collect();
            problems.push(ClaimProblem {
                claim: name.clone(),
                problem: "unknown",
                detail: format!(
                    "`{name}` is not a claim of `{}`; its claims are {}",
                    kind.id,
                    quoted_list(&known)
                ),
            });
        }
    }
    let mut issued = Map::new();
    for attribute in &kind.attributes {
        let name = &attribute.name;
        let constant = kind.claims.iter().find_map(|c| match &c.source {
            Source::Constant { value } if &c.claim == name => Some(value),
            _ => None,
        });
        let offered = claims.get(name).filter(|v| !v.is_null());
        let presented = kind.claims.iter().find_map(|c| match &c.source {
            Source::Prerequisite {
                prerequisite,
                claim,
            } if &c.claim == name => Some((prerequisite, claim)),
            _ => None,
        });
        let from_login = kind.claims.iter().find_map(|c| match &c.source {
            Source::Login { claim } if &c.claim == name => Some(claim),
            _ => None,
        });
        let at_issuance = kind
            .claims
            .iter()
            .any(|c| &c.claim == name && matches!(c.source, Source::Issuance { .. }));
        if at_issuance {
            // Set when the credential is issued ([`issuance_claims`]): never supplied, never
            // required before.
            if offered.is_some() && stage == Stage::Offer {
                problems.push(ClaimProblem {
                    claim: name.clone(),
                    problem: "issuance",
                    detail: format!(
                        "the governance of `{}` sets `{name}` when the credential is issued; \
                         leave it out of the offer",
                        kind.id
                    ),
                });
            }
            continue;
        }
        if let (Stage::Offer, Some(claim)) = (stage, from_login) {
            if offered.is_some() {
                problems.push(ClaimProblem {
                    claim: name.clone(),
                    problem: "login",
                    detail: format!(
                        "the governance of `{}` takes `{name}` from the holder's login (claim \
                         `{claim}`); leave it out of the offer",
                        kind.id
                    ),
                });
            }
            continue;
        }
        if let (Stage::Offer | Stage::Login, Some((prerequisite, claim))) = (stage, presented) {
            if offered.is_some() && stage == Stage::Offer {
                problems.push(ClaimProblem {
                    claim: name.clone(),
                    problem: "presented",
                    detail: format!(
                        "the governance of `{}` takes `{name}` from the holder's presentation \
                         (claim `{claim}` of prerequisite `{prerequisite}`); leave it out of the \
                         offer",
                        kind.id
                    ),
                });
            }
            continue;
        }
        if let Some(constant) = constant {
            match offered {
                Some(value) if value != constant => problems.push(ClaimProblem {
                    claim: name.clone(),
                    problem: "fixed",
                    detail: format!(
                        "the governance fixes `{name}` to {constant}; leave it out of the offer"
                    ),
                }),
                _ => {
                    issued.insert(name.clone(), constant.clone());
                }
            }
            continue;
        }
        let Some(value) = offered else {
            if attribute.required {
                problems.push(ClaimProblem {
                    claim: name.clone(),
                    problem: "missing",
                    detail: format!("`{name}` is required by `{}`", kind.id),
                });
            }
            continue;
        };
        let allowed = attribute.values.as_deref().unwrap_or(&[]);
        let problem = if !fits_json_type(attribute.kind, value) {
            check_value(attribute.kind, allowed, None, value)
                .err()
                .map(|detail| ("type", detail))
        } else if let Err(detail) = check_value(attribute.kind, allowed, None, value) {
            let kind = if attribute.kind == AttributeType::Enum {
                "value"
            } else {
                "format"
            };
            Some((kind, detail))
        } else {
            check_value(
                attribute.kind,
                allowed,
                credential.patterns.get(name),
                value,
            )
            .err()
            .map(|detail| ("pattern", detail))
        };
        match problem {
            Some((problem, detail)) => problems.push(ClaimProblem {
                claim: name.clone(),
                problem,
                detail: format!("`{name}`: {detail}"),
            }),
            None => {
                issued.insert(name.clone(), value.clone());
            }
        }
    }
    if problems.is_empty() {
        Ok(issued)
    } else {
        problems.sort_by(|a, b| a.claim.cmp(&b.claim));
        Err(problems)
    }
}

/// The claims the governance sets when the credential is issued (`from: issuance`): the date
/// (`YYYY-MM-DD`, or an RFC 3339 date-time in UTC for a `datetime` attribute) of `now`, or of
/// `now` plus the credential's validity.
pub fn issuance_claims(credential: &Credential, now: i64) -> Map<String, Value> {
    let kind = &credential.kind;
    let mut claims = Map::new();
    for source in &kind.claims {
        let Source::Issuance { value } = &source.source else {
            continue;
        };
        let at = match value {
            IssuanceValue::Issued => now,
            IssuanceValue::Expires => match &kind.validity {
                Some(validity) => now.saturating_add(validity.seconds as i64),
                None => continue,
            },
        };
        let text = match kind.attribute(&source.claim).map(|a| a.kind) {
            Some(AttributeType::Datetime) => utc_datetime(at),
            _ => utc_date(at),
        };
        claims.insert(source.claim.clone(), Value::String(text));
    }
    claims
}

/// `YYYY-MM-DD` of Unix time `at`, in UTC (the proleptic Gregorian calendar; H. Hinnant's
/// `civil_from_days`).
fn utc_date(at: i64) -> String {
    let (year, month, day) = civil_from_days(at.div_euclid(86_400));
    format!("{year:04}-{month:02}-{day:02}")
}

/// `YYYY-MM-DDTHH:MM:SSZ` of Unix time `at`.
fn utc_datetime(at: i64) -> String {
    let seconds = at.rem_euclid(86_400);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        utc_date(at),
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60
    )
}

fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Whether the value has the JSON type the attribute type needs (strings for text, dates, enums…).
fn fits_json_type(kind: AttributeType, value: &Value) -> bool {
    match kind {
        AttributeType::Number | AttributeType::Integer => value.is_number(),
        AttributeType::Boolean => value.is_boolean(),
        AttributeType::Text
        | AttributeType::Date
        | AttributeType::Datetime
        | AttributeType::Binary
        | AttributeType::Enum => value.is_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuance_dates_are_utc_calendar_dates() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(-86_400), "1969-12-31");
        assert_eq!(utc_date(1_796_659_680), "2026-12-07");
        assert_eq!(utc_datetime(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_datetime(951_868_799), "2000-02-29T23:59:59Z");
        assert_eq!(utc_date(951_868_800), "2000-03-01");
        // Each date is the one `date -u` gives, for every day of four centuries.
        for day in (-146_097..146_097).step_by(97) {
            let (year, month, day_of_month) = civil_from_days(day);
            assert!((1..=12).contains(&month) && (1..=31).contains(&day_of_month));
            assert!((1569..=2370).contains(&year), "{day}");
        }
    }
}
