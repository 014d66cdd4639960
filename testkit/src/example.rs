//! The shipped example as the tests of the back end's offers need it.
//!
//! The example's credentials are issued after a login (the province's Person credential after a
//! BC Services Card login, the Law Society's Lawyer credential after a member-portal login and a
//! presentation). The tests of everything else the issuer does (the pre-authorised flow, the
//! presentation verifier, revocation, several instances, the benchmark) need credentials the
//! issuer's back end offers itself, with the claims it vouches for. [`pre_authorized`] makes
//! that variant from the example at run time, so there is one example to keep: the same
//! frameworks, attributes, bundles and images, with each `method: login` replaced by
//! `method: pre-authorized-code` and a 6-digit transaction code, and each claim taken
//! `from: login` (or set `from: issuance`) taken `from: offer` instead: the back end supplies it. Every rewrite must apply, so a change to the
//! example that this no longer fits fails loudly here rather than testing something else.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The transaction code the variant's credentials ask for.
const TRANSACTION_CODE: &str = "        transaction_code:
          length: 6
          input_mode: numeric
          description: Enter the 6-digit code the issuer sent to you.
";

/// A copy of the repository `repo`'s example (`governance/`, `oca-bundles/`, `templates/` when
/// present) whose credentials are issued from the back end's pre-authorised offers, made once
/// per process in a temporary folder that lives as long as the process.
pub fn pre_authorized(repo: &Path) -> &'static Path {
    static COPY: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = COPY.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let root = dir.path().join("example");
        for folder in ["governance", "oca-bundles", "templates"] {
            let from = repo.join(folder);
            if from.is_dir() {
                copy_dir(&from, &root.join(folder));
            }
        }
        let mut rewritten = 0;
        for entry in fs::read_dir(root.join("governance")).expect("governance/") {
            let path = entry.expect("a directory entry").path();
            if path.extension().is_some_and(|e| e == "yaml") {
                let text = fs::read_to_string(&path).expect("a governance file");
                let (variant, logins) = without_login(&text);
                rewritten += logins;
                fs::write(&path, variant).expect("the rewritten governance file");
            }
        }
        assert!(
            rewritten > 0,
            "the example has no `method: login` left to rewrite: update testkit/src/example.rs"
        );
        (dir, root)
    });
    path
}

/// `text` with every `method: login` authentication (its provider and assurance) replaced by the
/// pre-authorised code and a transaction code, and every `from: login` or `from: issuance` claim
/// taken from the offer; and how many authentications it rewrote.
pub fn without_login(text: &str) -> (String, usize) {
    let mut out = String::with_capacity(text.len());
    let mut lines = text.lines().peekable();
    let mut rewritten = 0;
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed == "method: login" {
            let indent = line.len() - trimmed.len();
            out.push_str(&format!(
                "{}method: pre-authorized-code\n",
                " ".repeat(indent)
            ));
            // The login's own settings (`provider`, `assurance` and what is nested below it)
            // go; the next key at this indent or less (`claims:` of `issuance`) stays.
            while let Some(next) = lines.peek() {
                let next_indent = next.len() - next.trim_start().len();
                let setting = next.trim_start();
                let belongs = next_indent > indent
                    || (next_indent == indent
                        && (setting.starts_with("provider:") || setting.starts_with("assurance:")));
                if !belongs || next.trim().is_empty() {
                    break;
                }
                lines.next();
            }
            out.push_str(&TRANSACTION_CODE.replace("        ", &" ".repeat(indent)));
            rewritten += 1;
            continue;
        }
        let computed = line
            .find("{ from: login")
            .or_else(|| line.find("{ from: issuance"));
        match (computed, line.rfind('}')) {
            (Some(start), Some(end)) if end > start => {
                out.push_str(&line[..start]);
                out.push_str("{ from: offer }");
                out.push_str(&line[end + 1..]);
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    (out, rewritten)
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("a folder of the copy");
    for entry in fs::read_dir(from).expect("a folder of the example") {
        let entry = entry.expect("a directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("a file of the example");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_becomes_a_pre_authorised_offer_with_a_transaction_code() {
        let text = "\
    issuance:
      authentication:
        method: login
        provider: bc-services-card
        assurance:
          claim: identity_assurance_level
          values: [3]
      claims:
        given_names: { from: login, claim: given_name }
        locality: { from: login, claim: $.address.locality }   # nested
        region: { from: constant, value: BC }
        issue_date: { from: issuance, value: issued }
";
        let (variant, count) = without_login(text);
        assert_eq!(count, 1);
        assert_eq!(
            variant,
            "\
    issuance:
      authentication:
        method: pre-authorized-code
        transaction_code:
          length: 6
          input_mode: numeric
          description: Enter the 6-digit code the issuer sent to you.
      claims:
        given_names: { from: offer }
        locality: { from: offer }   # nested
        region: { from: constant, value: BC }
        issue_date: { from: offer }
"
        );
    }
}
