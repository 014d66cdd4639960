//! Text in each locale of the framework: the bundle's text in every language it has, with the
//! locales it lacks filled from another, and how the governance file says so in a comment.

/// A text in every locale of the framework.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Localized {
    /// `(locale, text)` in the framework's locale order.
    pub(super) values: Vec<(String, String)>,
    /// Locales the bundle has no text for, given the text of `from`.
    pub(super) filled: Vec<String>,
    pub(super) from: String,
}

impl Localized {
    /// Per-locale text, each locale without one given the first locale's that has one (wallets
    /// fall back to another language in the same way); `None` when no locale has one.
    pub(super) fn of(
        locales: &[String],
        text: impl Fn(&str) -> Option<String>,
    ) -> Option<Localized> {
        let found: Vec<Option<String>> = locales.iter().map(|l| text(l)).collect();
        let (from, fallback) = locales
            .iter()
            .zip(&found)
            .find_map(|(l, t)| Some((l.clone(), t.clone()?)))?;
        let mut filled = Vec::new();
        let values = locales
            .iter()
            .zip(found)
            .map(|(l, t)| {
                let t = t.unwrap_or_else(|| {
                    filled.push(l.clone());
                    fallback.clone()
                });
                (l.clone(), t)
            })
            .collect();
        Some(Localized {
            values,
            filled,
            from,
        })
    }

    pub(super) fn same(&self) -> Option<&str> {
        let first = &self.values.first()?.1;
        self.values
            .iter()
            .all(|(_, t)| t == first)
            .then_some(first.as_str())
    }

    /// The comment saying which locales were filled in, if any.
    pub(super) fn fill_comment(&self, what: &str) -> Option<String> {
        (!self.filled.is_empty()).then(|| {
            format!(
                "The bundle has no {what} in {}; the `{}` text is used there.",
                ticked(&self.filled),
                self.from
            )
        })
    }
}

pub(super) fn ticked(items: &[String]) -> String {
    let ticked: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    match ticked.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_text_is_filled_from_another_language() {
        let locales = vec!["en".to_string(), "fr".to_string()];
        let text =
            Localized::of(&locales, |l| (l == "fr").then(|| "Service BC".to_string())).unwrap();
        assert_eq!(text.same(), Some("Service BC"));
        assert_eq!(text.filled, ["en"]);
        assert_eq!(text.from, "fr");
        assert!(Localized::of(&locales, |_| None).is_none());
    }
}
