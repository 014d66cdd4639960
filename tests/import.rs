//! `trustc import oca`: importing bundles into governance and building them back.
//!
//! The round trip is the contract: `trustc import oca` on a bundle, then `trustc build` on a
//! repository holding only the imported file, must give an equivalent bundle whose digests verify.
//! The comparison reads both bundles with serde_json, independently of trustc's own model. Where
//! the governance model cannot say what a bundle says, the expected value follows the import's
//! documented rules (README, "Importing OCA bundles"): text missing in a language is the first
//! language's that has it, `issuer_url` is one website for every language, colours are `#RRGGBB`,
//! local images are inlined by the build.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use base64::Engine;
use serde_json::Value;

use crate::common::{corpus, repo, status, stderr, stdout, trustc};

/// Every `OCABundle.json` under `dir`, sorted.
fn bundles_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            found.extend(bundles_under(&path));
        } else if path.file_name().is_some_and(|n| n == "OCABundle.json") {
            found.push(path);
        }
    }
    found
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The bundle object of a bundle file (`[{…}]` or `{…}`).
fn bundle_object(value: &Value) -> &Value {
    match value {
        Value::Array(items) => &items[0],
        other => other,
    }
}

fn text(value: &Value) -> Option<String> {
    value.as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

/// `#RRGGBB` in upper case, from `#rrggbb` or `rgb(r, g, b)`.
fn colour(value: &str) -> String {
    if let Some(args) = value.trim().strip_prefix("rgb(") {
        let channels: Vec<u8> = args
            .trim_end_matches(')')
            .split(',')
            .map(|c| c.trim().parse().unwrap())
            .collect();
        return format!("#{:02X}{:02X}{:02X}", channels[0], channels[1], channels[2]);
    }
    value.trim().to_ascii_uppercase()
}

/// A bundle as wallets read it: per language, the overlay in that language, else one without a
/// language; empty strings are "not given".
struct View {
    attributes: Vec<(String, String)>,
    classification: String,
    flagged: BTreeSet<String>,
    languages: Vec<String>,
    /// language → attribute → label
    labels: BTreeMap<String, BTreeMap<String, String>>,
    information: BTreeMap<String, BTreeMap<String, String>>,
    /// language → meta field → text
    meta: BTreeMap<String, BTreeMap<String, String>>,
    formats: BTreeMap<String, String>,
    standards: BTreeMap<String, String>,
    /// attribute → encoding (the default where the attribute has none)
    encodings: BTreeMap<String, String>,
    branding: BTreeMap<String, String>,
}

const META_FIELDS: &[&str] = &[
    "name",
    "description",
    "issuer",
    "issuer_url",
    "issuer_description",
    "credential_help_text",
    "credential_support_url",
    "watermark",
];

const BRANDING_FIELDS: &[&str] = &[
    "logo",
    "background_image",
    "background_image_slice",
    "primary_background_color",
    "secondary_background_color",
    "primary_attribute",
    "secondary_attribute",
    "issued_date_attribute",
    "expiry_date_attribute",
];

impl View {
    fn of(file: &Value) -> View {
        let bundle = bundle_object(file);
        let base = &bundle["capture_base"];
        let attributes: Vec<(String, String)> = base["attributes"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        let overlays = bundle["overlays"].as_array().unwrap();
        let kind = |o: &Value, k: &str| {
            o["type"]
                .as_str()
                .is_some_and(|t| t.starts_with(&format!("spec/overlays/{k}/")))
        };
        let mut languages: Vec<String> = Vec::new();
        for o in overlays {
            if let Some(l) = text(&o["language"])
                && !languages.contains(&l)
            {
                languages.push(l);
            }
        }
        let for_language = |k: &str, l: &str| -> Option<&Value> {
            overlays
                .iter()
                .find(|o| kind(o, k) && o["language"] == l)
                .or_else(|| {
                    overlays
                        .iter()
                        .find(|o| kind(o, k) && o.get("language").is_none())
                })
        };
        let per_attribute = |o: Option<&Value>, field: &str| -> BTreeMap<String, String> {
            o.and_then(|o| o[field].as_object())
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), text(v)?)))
                        .collect()
                })
                .unwrap_or_default()
        };
        let merged = |k: &str, field: &str| -> BTreeMap<String, String> {
            let mut out = BTreeMap::new();
            for o in overlays.iter().filter(|o| kind(o, k)) {
                for (name, value) in per_attribute(Some(o), field) {
                    out.entry(name).or_insert(value);
                }
            }
            out
        };
        let encoding_overlay = overlays.iter().find(|o| kind(o, "character_encoding"));
        let default_encoding = encoding_overlay
            .and_then(|o| text(&o["default_character_encoding"]))
            .unwrap_or_else(|| "utf-8".to_string());
        let explicit = merged("character_encoding", "attribute_character_encoding");
        let encodings = attributes
            .iter()
            .map(|(name, _)| {
                let e = explicit.get(name).unwrap_or(&default_encoding);
                (name.clone(), e.to_ascii_lowercase())
            })
            .collect();
        let branding = overlays
            .iter()
            .find(|o| {
                o["type"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("aries/overlays/branding/"))
            })
            .map(|o| {
                BRANDING_FIELDS
                    .iter()
                    .filter_map(|f| Some((f.to_string(), text(&o[*f])?)))
                    .collect()
            })
            .unwrap_or_default();
        View {
            classification: base["classification"].as_str().unwrap_or("").to_string(),
            flagged: base["flagged_attributes"]
                .as_array()
                .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
                .unwrap_or_default(),
            labels: languages
                .iter()
                .map(|l| {
                    (
                        l.clone(),
                        per_attribute(for_language("label", l), "attribute_labels"),
                    )
                })
                .collect(),
            information: languages
                .iter()
                .map(|l| {
                    (
                        l.clone(),
                        per_attribute(for_language("information", l), "attribute_information"),
                    )
                })
                .collect(),
            meta: languages
                .iter()
                .map(|l| {
                    let fields = for_language("meta", l)
                        .map(|o| {
                            META_FIELDS
                                .iter()
                                .filter_map(|f| Some((f.to_string(), text(&o[*f])?)))
                                .collect()
                        })
                        .unwrap_or_default();
                    (l.clone(), fields)
                })
                .collect(),
            formats: merged("format", "attribute_formats"),
            standards: merged("standard", "attribute_standards"),
            encodings,
            branding,
            attributes,
            languages,
        }
    }
}

/// The value `get` gives `language`, else the first language's (in bundle order) that has one:
/// the import's rule for text a bundle gives in some languages only.
fn filled<'a>(
    languages: &'a [String],
    language: &str,
    get: impl Fn(&str) -> Option<&'a String>,
) -> Option<String> {
    get(language)
        .or_else(|| languages.iter().find_map(|l| get(l)))
        .cloned()
}

/// The entries of two maps that differ, one line each.
fn map_differences(
    what: &str,
    expected: &BTreeMap<String, String>,
    found: Option<&BTreeMap<String, String>>,
    out: &mut Vec<String>,
) {
    let empty = BTreeMap::new();
    let found = found.unwrap_or(&empty);
    let keys: BTreeSet<&String> = expected.keys().chain(found.keys()).collect();
    for key in keys {
        let (e, f) = (expected.get(key), found.get(key));
        if e != f {
            let shorten = |v: Option<&String>| match v {
                Some(v) if v.chars().count() > 80 => {
                    format!("{:?}…", v.chars().take(80).collect::<String>())
                }
                Some(v) => format!("{v:?}"),
                None => "nothing".to_string(),
            };
            out.push(format!(
                "{what} `{key}`: expected {}, found {}",
                shorten(e),
                shorten(f)
            ));
        }
    }
}

/// What the rebuilt bundle must say, from the original, and how it differs.
fn differences(original: &View, rebuilt: &View, bundle_dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut expect = |what: String, expected: &dyn std::fmt::Debug, found: &dyn std::fmt::Debug| {
        let (e, f) = (format!("{expected:?}"), format!("{found:?}"));
        if e != f {
            out.push(format!("{what}: expected {e}, found {f}"));
        }
    };
    expect(
        "capture-base attributes".into(),
        &original.attributes,
        &rebuilt.attributes,
    );
    expect(
        "classification".into(),
        &original.classification,
        &rebuilt.classification,
    );
    expect(
        "flagged attributes".into(),
        &original.flagged,
        &rebuilt.flagged,
    );
    expect("languages".into(), &original.languages, &rebuilt.languages);
    let languages = &original.languages;
    for language in languages {
        let labels: BTreeMap<String, String> = original
            .attributes
            .iter()
            .map(|(name, _)| {
                let label = filled(languages, language, |l| original.labels[l].get(name))
                    .unwrap_or_else(|| name.clone());
                (name.clone(), label)
            })
            .collect();
        map_differences(
            &format!("`{language}` label of"),
            &labels,
            rebuilt.labels.get(language),
            &mut out,
        );
        let information: BTreeMap<String, String> = original
            .attributes
            .iter()
            .filter_map(|(name, _)| {
                let text = filled(languages, language, |l| original.information[l].get(name))?;
                Some((name.clone(), text))
            })
            .collect();
        map_differences(
            &format!("`{language}` information of"),
            &information,
            rebuilt.information.get(language),
            &mut out,
        );
        let mut meta: BTreeMap<String, String> = BTreeMap::new();
        for field in META_FIELDS {
            let value = if *field == "issuer_url" {
                // One website for every language: the first language's that has one.
                languages
                    .iter()
                    .find_map(|l| original.meta[l].get(*field))
                    .cloned()
            } else {
                filled(languages, language, |l| original.meta[l].get(*field))
            };
            if let Some(value) = value {
                meta.insert(field.to_string(), value);
            }
        }
        map_differences(
            &format!("`{language}` meta"),
            &meta,
            rebuilt.meta.get(language),
            &mut out,
        );
    }
    map_differences(
        "format of",
        &original.formats,
        Some(&rebuilt.formats),
        &mut out,
    );
    map_differences(
        "standard of",
        &original.standards,
        Some(&rebuilt.standards),
        &mut out,
    );
    map_differences(
        "character encoding of",
        &original.encodings,
        Some(&rebuilt.encodings),
        &mut out,
    );
    // Colours are compared in one notation: the import writes non-hex colours as #RRGGBB.
    let normalised = |branding: &BTreeMap<String, String>| -> BTreeMap<String, String> {
        branding
            .iter()
            .map(|(field, value)| {
                let value = if field.ends_with("_color") {
                    colour(value)
                } else {
                    value.clone()
                };
                (field.clone(), value)
            })
            .collect()
    };
    let branding = normalised(&original.branding);
    let mut found = normalised(&rebuilt.branding);
    // A local image comes back inlined: compare its bytes with the file next to the bundle.
    for field in ["logo", "background_image", "background_image_slice"] {
        let (Some(reference), Some(rebuilt_value)) = (branding.get(field), found.get(field)) else {
            continue;
        };
        let lower = reference.to_ascii_lowercase();
        if lower.starts_with("https://") || lower.starts_with("data:") {
            continue;
        }
        let bytes = std::fs::read(bundle_dir.join(reference)).unwrap();
        let inlined = rebuilt_value.split_once(";base64,").map(|(_, data)| {
            base64::engine::general_purpose::STANDARD
                .decode(data)
                .unwrap()
        });
        if inlined.as_deref() == Some(&bytes[..]) {
            found.insert(field.to_string(), reference.clone());
        }
    }
    map_differences("branding", &branding, Some(&found), &mut out);
    out
}

/// Imports `bundle` into a new repository, builds it and compares. `Err` lists what went wrong.
fn round_trip(bundle: &Path) -> Result<(), Vec<String>> {
    let dir = tempfile::tempdir().unwrap();
    let repo_dir = dir.path().join("repo");
    std::fs::create_dir(&repo_dir).unwrap();
    let bundle_arg = bundle.to_str().unwrap();
    let imported = trustc(
        &repo_dir,
        &["import", "oca", bundle_arg, "--out", "governance/x.yaml"],
    );
    if status(&imported) != 0 {
        return Err(vec![format!(
            "import exited {}: {}",
            status(&imported),
            stderr(&imported)
        )]);
    }
    let out = dir.path().join("out");
    let built = trustc(
        &repo_dir,
        &[
            "build",
            ".",
            "--out",
            out.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    if status(&built) != 0 {
        let governance = std::fs::read_to_string(repo_dir.join("governance/x.yaml")).unwrap();
        return Err(vec![format!(
            "build exited {}: {}{}\n{governance}",
            status(&built),
            stdout(&built),
            stderr(&built)
        )]);
    }
    let generated = bundles_under(&out.join("oca"));
    let [generated] = &generated[..] else {
        return Err(vec![format!("the build wrote {} bundles", generated.len())]);
    };
    let mut problems = differences(
        &View::of(&read_json(bundle)),
        &View::of(&read_json(generated)),
        bundle.parent().unwrap(),
    );

    // The generated bundle's digests (and the generated indexes) verify.
    let checked = trustc(
        dir.path(),
        &[
            "check",
            out.join("oca").to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let report: Value = serde_json::from_str(&stdout(&checked)).unwrap();
    let errors: Vec<&Value> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .collect();
    if status(&checked) != 0 || !errors.is_empty() {
        problems.push(format!("`trustc check` of the output: {errors:#?}"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Round-trips every bundle and reports all failures at once, by bundle.
fn round_trip_all(root: &Path, bundles: &[PathBuf]) {
    let mut failures = Vec::new();
    for bundle in bundles {
        if let Err(problems) = round_trip(bundle) {
            let name = bundle.strip_prefix(root).unwrap_or(bundle).display();
            failures.push(format!("{name}:\n  - {}", problems.join("\n  - ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} bundles do not round-trip:\n{}",
        failures.len(),
        bundles.len(),
        failures.join("\n")
    );
}

#[test]
fn corpus_bundles_round_trip_through_governance() {
    let Some(root) = corpus("corpus_bundles_round_trip_through_governance") else {
        return;
    };
    let bundles = bundles_under(&root);
    assert_eq!(bundles.len(), 30, "the corpus has 30 bundles");
    round_trip_all(&root, &bundles);
}

#[test]
fn the_shipped_bundle_round_trips_with_its_local_images() {
    let root = repo();
    round_trip_all(
        &root,
        &[root.join("oca-bundles/lsbc/lawyer/OCABundle.json")],
    );
}

/// The ledger ids of the bundle's index become the credential's, so a prod build lists them.
#[test]
fn index_identifiers_are_kept() {
    let Some(root) = corpus("index_identifiers_are_kept") else {
        return;
    };
    let bundle =
        root.join("OCABundles/schema/bcgov-digital-trust/showcase/student-card/OCABundle.json");
    let index = read_json(&root.join("ocabundles.json"));
    let expected: BTreeSet<String> = index
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, v)| {
            v["path"]
                == "OCABundles/schema/bcgov-digital-trust/showcase/student-card/OCABundle.json"
        })
        .map(|(k, _)| k.clone())
        .collect();
    assert!(!expected.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let output = trustc(
        dir.path(),
        &[
            "import",
            "oca",
            bundle.to_str().unwrap(),
            "--out",
            "governance/student-card.yaml",
        ],
    );
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    let yaml = std::fs::read_to_string(dir.path().join("governance/student-card.yaml")).unwrap();
    // The highest AnonCreds schema version of the ids (3.0), and their one schema name.
    assert!(yaml.contains("    version: 3.0.0"), "{yaml}");
    assert!(yaml.contains("schema_name: student_card"), "{yaml}");
    let output = trustc(dir.path(), &["build", ".", "--out", "out", "--env", "prod"]);
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    let generated = read_json(&dir.path().join("out/oca/ocabundles.json"));
    let listed: BTreeSet<String> = generated.as_object().unwrap().keys().cloned().collect();
    assert_eq!(listed, expected);
}

#[test]
fn the_shipped_bundle_imports_as_snapshotted() {
    let output = trustc(
        &repo(),
        &["import", "oca", "oca-bundles/lsbc/lawyer/OCABundle.json"],
    );
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    assert_eq!(stderr(&output), "", "a clean bundle imports without notes");
    let yaml = stdout(&output);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(repo().join("tests/snapshots/import"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!("lsbc-lawyer", yaml));

    // Saved where its image paths say (`governance/` of the folder it was imported in), it checks
    // without errors.
    let dir = tempfile::tempdir().unwrap();
    crate::common::copy_dir(&repo().join("oca-bundles"), &dir.path().join("oca-bundles"));
    std::fs::create_dir(dir.path().join("governance")).unwrap();
    std::fs::write(dir.path().join("governance/lawyer.yaml"), &yaml).unwrap();
    let (status, report) = crate::common::check_json(dir.path(), &[]);
    assert_eq!(status, 0, "{report:#}");
    assert_eq!(report["summary"]["errors"], 0, "{report:#}");
}

#[test]
fn a_bare_bundle_object_is_accepted_and_ids_can_be_chosen() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = read_json(&repo().join("oca-bundles/lsbc/lawyer/OCABundle.json"));
    std::fs::write(
        dir.path().join("bundle.json"),
        serde_json::to_string(&bundle[0]).unwrap(),
    )
    .unwrap();
    let output = trustc(
        dir.path(),
        &[
            "import",
            "oca",
            "bundle.json",
            "--framework",
            "law-society",
            "--credential",
            "member",
        ],
    );
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    let yaml = stdout(&output);
    assert!(yaml.contains("\n  id: law-society\n"), "{yaml}");
    assert!(yaml.contains("\n  - id: member\n"), "{yaml}");
    assert!(yaml.contains("issues: [member]"), "{yaml}");
}

#[test]
fn a_file_that_is_not_json_is_a_syntax_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("OCABundle.json"), "not json\n").unwrap();
    let output = trustc(
        dir.path(),
        &["import", "oca", "OCABundle.json", "--color", "never"],
    );
    assert_eq!(status(&output), 1);
    assert_eq!(stdout(&output), "", "nothing is printed as governance");
    let err = stderr(&output);
    assert!(err.contains("json-syntax"), "{err}");
    assert!(err.contains("OCABundle.json:1:1"), "{err}");
    assert!(
        err.contains("nothing imported: `OCABundle.json` is not an OCA bundle"),
        "{err}"
    );
}

#[test]
fn json_that_is_not_a_bundle_says_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.json"), "{\"hello\": 1}\n").unwrap();
    std::fs::write(
        dir.path().join("ocabundles.json"),
        "{\"a:2:b:1.0\": {\"path\": \"x/OCABundle.json\", \"sha256\": \"00\"}}\n",
    )
    .unwrap();
    for (file, why) in [
        ("hello.json", "it has no `capture_base` and no `overlays`"),
        ("ocabundles.json", "it is an index of bundles"),
    ] {
        let output = trustc(dir.path(), &["import", "oca", file, "--color", "never"]);
        assert_eq!(status(&output), 1, "{file}");
        assert_eq!(stdout(&output), "");
        let err = stderr(&output);
        assert!(
            err.contains(&format!("`{file}` is not an OCA bundle: {why}")),
            "{err}"
        );
    }
}

#[test]
fn a_bundle_failing_its_schema_is_reported_like_check_does() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("OCABundle.json"),
        r#"[{"capture_base": {"type": "spec/capture_base/1.0", "attributes": {"a": "Texte"}}, "overlays": []}]"#,
    )
    .unwrap();
    let output = trustc(
        dir.path(),
        &["import", "oca", "OCABundle.json", "--color", "never"],
    );
    assert_eq!(status(&output), 1);
    let err = stderr(&output);
    assert!(err.contains("invalid-value"), "{err}");
    assert!(err.contains("`Texte`"), "{err}");
}

#[test]
fn a_file_that_cannot_be_read_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let output = trustc(dir.path(), &["import", "oca", "missing.json"]);
    assert_eq!(status(&output), 2);
    assert!(
        stderr(&output).starts_with("error: cannot read `missing.json`"),
        "{}",
        stderr(&output)
    );
    let output = trustc(&repo(), &["import", "oca", "oca-bundles/lsbc/lawyer"]);
    assert_eq!(status(&output), 2);
    assert!(
        stderr(&output).contains("it is a folder, not an OCA bundle file; give the bundle file"),
        "{}",
        stderr(&output)
    );
    let output = trustc(
        &repo(),
        &[
            "import",
            "oca",
            "oca-bundles/lsbc/lawyer/OCABundle.json",
            "--credential",
            "Lawyer",
        ],
    );
    assert_eq!(status(&output), 2);
    assert!(stderr(&output).contains("--credential `Lawyer` is not an id"));
}

/// What the governance model cannot say is mapped as the README documents, and the result still
/// checks and builds without errors.
#[test]
fn awkward_bundles_import_to_governance_that_checks_clean() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("OCABundle.json"),
        r##"[{"capture_base": {"type": "spec/capture_base/1.0", "digest": "", "classification": "",
              "attributes": {"name": "Text", "tags": "Array[Text]", "issued": "DateTime",
                             "photo": "Binary", "true": "Text", "1.5": "Numeric", "a: b #c": "Text"},
              "flagged_attributes": ["name"]},
             "overlays": [
              {"type": "spec/overlays/character_encoding/1.0", "capture_base": "",
               "default_character_encoding": "utf-8", "attribute_character_encoding": {"photo": "base64"}},
              {"type": "spec/overlays/format/1.0", "capture_base": "",
               "attribute_formats": {"issued": "YYYY-MM-DDThh:mm:ssZ", "photo": "image/png"}},
              {"type": "spec/overlays/label/1.0", "capture_base": "", "language": "en",
               "attribute_labels": {"name": "Name", "tags": "Tags", "issued": "Issued",
                                    "true": "Yes: \"quoted\" #1"}},
              {"type": "spec/overlays/meta/1.0", "capture_base": "", "language": "en", "name": "Edge",
               "issuer": "", "issuer_url": "http://insecure.example"},
              {"type": "spec/overlays/meta/1.0", "capture_base": "", "language": "fr", "name": "Bord",
               "watermark": "ESSAI"},
              {"type": "aries/overlays/branding/1.1", "capture_base": "",
               "primary_background_color": "#036", "secondary_background_color": "not-a-colour",
               "primary_attribute": "missing", "secondary_attribute": "tags"}
             ]}]"##,
    )
    .unwrap();
    let output = trustc(
        dir.path(),
        &[
            "import",
            "oca",
            "OCABundle.json",
            "--out",
            "governance/edge.yaml",
        ],
    );
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    let notes = stderr(&output);
    for expected in [
        "the bundle names no issuer",
        "issuer_url `http://insecure.example` is left out",
        "`tags`: `Array[Text]` in the bundle",
        "primary_background_color `#036` is written as `#003366`",
        "secondary_background_color `not-a-colour` is left out",
        "primary_attribute `missing` is left out",
        "the bundle has no `fr` label for `name`, `tags`, `issued` and `true`",
        "the bundle has no label for `photo`, `1.5` and `a: b #c`",
        "the bundle has no watermark in `en`",
        "aries/overlays/branding/1.1",
    ] {
        assert!(
            notes.contains(expected),
            "no note `{expected}` in:\n{notes}"
        );
    }
    let yaml = std::fs::read_to_string(dir.path().join("governance/edge.yaml")).unwrap();
    for expected in [
        "      \"true\":\n",
        "      \"1.5\":\n",
        "      \"a: b #c\":\n",
        "        type: datetime\n",
        "        encoding: base64\n",
        "        label: \"Yes: \\\"quoted\\\" #1\"\n",
    ] {
        assert!(yaml.contains(expected), "no `{expected}` in:\n{yaml}");
    }
    let (status_code, report) = crate::common::check_json(dir.path(), &[]);
    assert_eq!(report["summary"]["errors"], 0, "{report:#}\n{yaml}");
    assert_eq!(status_code, 0);
    let output = trustc(dir.path(), &["build", ".", "--out", "out"]);
    assert_eq!(status(&output), 0, "{}", stderr(&output));
}

/// A bundle names its images by path; only images that belong to it are copied into the new
/// repository. A hostile bundle naming any other local file (absolute, or `../` out of its
/// folder), or a file that is not an image, has nothing copied and a note saying why.
#[test]
fn only_the_bundles_own_images_are_copied() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "not for the repository\n").unwrap();
    let bundle_dir = dir.path().join("bundle");
    std::fs::create_dir(&bundle_dir).unwrap();
    std::fs::write(
        bundle_dir.join("notes.png"),
        "a text file named like an image\n",
    )
    .unwrap();
    let original = read_json(&repo().join("oca-bundles/lsbc/lawyer/OCABundle.json"));
    for (case, logo, note) in [
        (
            "absolute",
            secret.to_str().unwrap(),
            "lies outside the bundle's folder",
        ),
        (
            "escaping",
            "../secret.txt",
            "lies outside the bundle's folder",
        ),
        (
            "not-an-image",
            "notes.png",
            "is not a PNG, JPEG, GIF or WebP image",
        ),
    ] {
        let mut bundle = original.clone();
        for overlay in bundle[0]["overlays"].as_array_mut().unwrap() {
            if overlay["type"].as_str().unwrap().contains("branding") {
                overlay["logo"] = Value::from(logo);
                overlay.as_object_mut().unwrap().remove("background_image");
                overlay
                    .as_object_mut()
                    .unwrap()
                    .remove("background_image_slice");
            }
        }
        std::fs::write(
            bundle_dir.join("OCABundle.json"),
            serde_json::to_string(&bundle).unwrap(),
        )
        .unwrap();
        let out = format!("{case}/governance/lawyer.yaml");
        let output = trustc(
            dir.path(),
            &["import", "oca", "bundle/OCABundle.json", "--out", &out],
        );
        assert_eq!(status(&output), 0, "{case}: {}", stderr(&output));
        assert!(
            stderr(&output).contains(note),
            "{case}: {}",
            stderr(&output)
        );
        let images = dir.path().join(case).join("governance/images");
        let copied: Vec<_> = std::fs::read_dir(&images)
            .map(|entries| entries.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        assert!(copied.is_empty(), "{case}: copied {copied:?}");
    }
}
