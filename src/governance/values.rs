//! Whether a value written in the governance (an example, a constant, an allowed value) fits its
//! attribute: type, pattern and allowed values. Issuers rely on the examples in generated docs and
//! tests, so an example that the attribute itself would reject is an error. The rules themselves
//! live in `trustc_artifact::values`, shared with the issuer runtime that checks offered claims.

use regex::Regex;

pub use trustc_artifact::values::compile_pattern;

use super::model::{Attribute, Scalar};

/// Checks `value` against the attribute's type, allowed values and pattern. `pattern` is the
/// compiled pattern, when the attribute has a valid one.
pub fn check_value(
    attribute: &Attribute,
    pattern: Option<&Regex>,
    value: &Scalar,
) -> Result<(), String> {
    let allowed: Vec<String> = attribute
        .values
        .as_ref()
        .map(|values| values.value.iter().map(|v| v.value.clone()).collect())
        .unwrap_or_default();
    trustc_artifact::values::check_value(attribute.kind.value, &allowed, pattern, &value.to_json())
}
