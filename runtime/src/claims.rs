//! The claims of an offer, checked against the governance before anything is stored: the issuer's
//! back end may only offer what the credential type defines, with values that fit each attribute.
//! Every problem is reported (not just the first), so one 422 answer names each bad claim.

use serde::Serialize;
use serde_json::{Map, Value};
use trustc_artifact::values::{check_value, quoted_list};
use trustc_artifact::{AttributeType, Source};

use crate::compiled::Credential;

/// What is wrong with one claim.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClaimProblem {
    /// The claim's name.
    pub claim: String,
    /// `missing`, `unknown`, `fixed`, `presented` (the governance takes it from a presentation),
    /// `login` (the governance takes it from the holder's login), `type`, `format`, `value` or
    /// `pattern`.
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
