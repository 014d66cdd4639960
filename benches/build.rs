//! Benchmark of `trustc build` as a deployment pipeline runs it: the release binary, started once
//! per run, writing every output (issuer metadata, type metadata, schemas, OCA bundles, docs, …)
//! into an output folder, on
//! - the shipped example (2 frameworks, 2 credential types),
//! - generated governance repositories of 100 and 1,000 credential types (1 and 10 frameworks of
//!   100), each credential with 8 attributes labelled in English and French, issued by the
//!   framework's participant; 9 in 10 carry inline labels and branding colours, 1 in 10 takes its
//!   labels and branding from its own OCA bundle under `oca-bundles/` (with valid digests). Both
//!   sizes are measured to show how the build time grows with the number of credentials.
//!
//! `trustc check` has its own benchmark (benches/check.rs); this one measures what the build adds:
//! resolving, rendering every template per credential, sealing the generated OCA bundles and
//! writing the files. The generated repositories must pass `trustc check --deny-warnings`, and every
//! build must exit 0. For each input it reports wall time (median, fastest and slowest of the runs),
//! the peak resident memory of the process (from `wait4`) and the number of files written. Run with
//! `cargo bench --bench build`; `TRUSTC_BENCH_RUNS` sets the number of runs (default 20, and 5 for
//! the generated repositories); `TRUSTC_BENCH_DIR` keeps the generated repositories and the outputs
//! in that folder. Arguments select inputs by name (`cargo bench --bench build -- example`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Map, Value, json};

mod support;
use support::{Settings, cores, format_duration, run_trustc};

/// Credentials per framework in the generated repositories.
const CREDENTIALS_PER_FRAMEWORK: usize = 100;
/// Every `OCA_EVERY`th credential takes its labels and branding from an OCA bundle.
const OCA_EVERY: usize = 10;

fn main() {
    let settings = Settings::from_env();
    let (runs, work) = (settings.runs, &settings.work);
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));

    println!("trustc build, release build, {} cores available", cores());
    println!(
        "{:<34} {:>6} {:>11} {:>11} {:>11} {:>12} {:>8}",
        "input", "runs", "median", "fastest", "slowest", "peak RSS", "files"
    );
    let selected = |name: &str| settings.selected(name);

    if selected("shipped example") {
        report(
            "shipped example (2 credentials)",
            &repo,
            &work.join("out-example"),
            runs,
        );
    }
    // 100 credentials (one framework) as well as 1,000 (ten), to show how the time grows.
    for frameworks in [1, 10] {
        let count = frameworks * CREDENTIALS_PER_FRAMEWORK;
        let name = format!("generated ({count} credentials)");
        if selected(&name) || selected("generated") {
            let dir = work.join(format!("generated-{count}"));
            generate(&dir, frameworks);
            assert_checks_clean(&dir);
            report(
                &name,
                &dir,
                &work.join(format!("out-generated-{count}")),
                runs.clamp(3, 5),
            );
        }
    }
}

/// The generated repository must be valid: `trustc check --deny-warnings` passes on it.
fn assert_checks_clean(dir: &Path) {
    let output = Command::new(env!("CARGO_BIN_EXE_trustc"))
        .args(["check", ".", "--deny-warnings", "--color", "never"])
        .current_dir(dir)
        .output()
        .expect("trustc starts");
    assert!(
        output.status.success(),
        "the generated repository {} does not check clean:\n{}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs `trustc build DIR --out OUT` `runs` times (after one warm-up run, which also checks that
/// the build succeeds) and prints a row.
fn report(name: &str, dir: &Path, out: &Path, runs: usize) {
    // A fresh output folder: `--out` must be new, empty or an earlier output, which every later
    // run's folder is.
    let _ = std::fs::remove_dir_all(out);
    run_once(dir, out);
    let mut times = Vec::new();
    let mut peak = 0;
    for _ in 0..runs {
        let (time, rss) = run_once(dir, out);
        times.push(time);
        peak = peak.max(rss);
    }
    times.sort();
    println!(
        "{:<34} {:>6} {:>11} {:>11} {:>11} {:>8.1} MiB {:>8}",
        name,
        runs,
        format_duration(times[times.len() / 2]),
        format_duration(times[0]),
        format_duration(*times.last().unwrap()),
        peak as f64 / 1024.0,
        count_files(out)
    );
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                count_files(&entry.path())
            } else {
                1
            }
        })
        .sum()
}

/// One run of `trustc build DIR --out OUT`: wall time and peak resident set size in KiB. The build
/// must succeed (exit 0).
fn run_once(dir: &Path, out: &Path) -> (Duration, i64) {
    let mut args = ["build", ".", "--format", "json", "--out"]
        .map(std::ffi::OsStr::new)
        .to_vec();
    args.push(out.as_os_str());
    let (status, elapsed, rss) = run_trustc(dir, &args);
    assert!(
        status == 0,
        "trustc build failed on {} (status {status}); run `trustc build {} --out {}` to see why",
        dir.display(),
        dir.display(),
        out.display()
    );
    (elapsed, rss)
}

/// One attribute of every generated credential: name, governance type, OCA type, personal,
/// English and French labels, extra YAML (pattern, values), example.
struct Attribute {
    name: &'static str,
    kind: &'static str,
    oca_type: &'static str,
    personal: bool,
    en: &'static str,
    fr: &'static str,
    extra: &'static str,
    example: &'static str,
}

const ATTRIBUTES: [Attribute; 8] = [
    Attribute {
        name: "given_names",
        kind: "text",
        oca_type: "Text",
        personal: true,
        en: "Given names",
        fr: "Prénoms",
        extra: "",
        example: "Alex Jordan",
    },
    Attribute {
        name: "family_name",
        kind: "text",
        oca_type: "Text",
        personal: true,
        en: "Family name",
        fr: "Nom de famille",
        extra: "",
        example: "Tremblay",
    },
    Attribute {
        name: "reference",
        kind: "text",
        oca_type: "Text",
        personal: false,
        en: "Reference number",
        fr: "Numéro de référence",
        extra: "        pattern: \"[0-9]{6}\"\n        disclosure: never\n",
        example: "\"512345\"",
    },
    Attribute {
        name: "category",
        kind: "enum",
        oca_type: "Text",
        personal: false,
        en: "Category",
        fr: "Catégorie",
        extra: "        values: [general, limited, provisional]\n",
        example: "general",
    },
    Attribute {
        name: "hours",
        kind: "integer",
        oca_type: "Numeric",
        personal: false,
        en: "Hours completed",
        fr: "Heures effectuées",
        extra: "",
        example: "120",
    },
    Attribute {
        name: "in_good_standing",
        kind: "boolean",
        oca_type: "Boolean",
        personal: false,
        en: "In good standing",
        fr: "En règle",
        extra: "",
        example: "true",
    },
    Attribute {
        name: "issue_date",
        kind: "date",
        oca_type: "DateTime",
        personal: false,
        en: "Issued on",
        fr: "Délivré le",
        extra: "",
        example: "\"2026-01-15\"",
    },
    Attribute {
        name: "expiry_date",
        kind: "date",
        oca_type: "DateTime",
        personal: false,
        en: "Expires on",
        fr: "Expire le",
        extra: "",
        example: "\"2027-01-15\"",
    },
];

/// Writes a generated governance repository of `frameworks` frameworks (replacing any earlier one).
fn generate(dir: &Path, frameworks: usize) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("governance")).unwrap();
    for f in 0..frameworks {
        let yaml = framework_yaml(f);
        std::fs::write(
            dir.join("governance")
                .join(format!("framework-{f:02}.yaml")),
            yaml,
        )
        .unwrap();
        for c in (0..CREDENTIALS_PER_FRAMEWORK).step_by(OCA_EVERY) {
            let folder = dir.join(bundle_path(f, c));
            std::fs::create_dir_all(&folder).unwrap();
            let bundle = serde_json::to_vec_pretty(&oca_bundle(f, c)).unwrap();
            std::fs::write(folder.join("OCABundle.json"), bundle).unwrap();
        }
    }
}

fn credential_id(f: usize, c: usize) -> String {
    format!("c-{f:02}-{c:03}")
}

fn bundle_path(f: usize, c: usize) -> String {
    format!("oca-bundles/framework-{f:02}/c-{c:03}")
}

fn names(f: usize, c: usize) -> (String, String) {
    (
        format!("Credential {f}-{c}"),
        format!("Justificatif {f}-{c}"),
    )
}

/// A colour per credential, so that every branding differs.
fn colour(f: usize, c: usize, shift: usize) -> String {
    format!(
        "#{:02X}{:02X}{:02X}",
        (f * 23) % 256,
        (c * 2 + shift) % 256,
        0x5A
    )
}

fn framework_yaml(f: usize) -> String {
    let mut y = String::new();
    let ids: Vec<String> = (0..CREDENTIALS_PER_FRAMEWORK)
        .map(|c| credential_id(f, c))
        .collect();
    write!(
        y,
        r#"# yaml-language-server: $schema=../schemas/governance.schema.json
# Generated by benches/build.rs: framework {f} of the build benchmark.

format: trustc/governance/v1

framework:
  id: framework-{f:02}
  name:
    en: Framework {f}
    fr: Cadre {f}
  description:
    en: Rules for the credentials that authority {f} issues.
    fr: Règles des justificatifs que l'autorité {f} délivre.
  version: 1.0.0
  authority:
    name:
      en: Authority {f}
      fr: Autorité {f}
    id: did:web:authority{f}.example
    website: https://authority{f}.example
  jurisdiction: CA-BC
  documentation: https://authority{f}.example/governance
  locales: [en, fr]

participants:
  - id: issuer
    name:
      en: Issuer {f}
      fr: Émetteur {f}
    website: https://issuer{f}.example
    identifiers:
      dev: did:web:dev.issuer{f}.example
      test: did:web:test.issuer{f}.example
      prod: did:web:issuer{f}.example
    issues: [{ids}]

credentials:
"#,
        ids = ids.join(", ")
    )
    .unwrap();
    for c in 0..CREDENTIALS_PER_FRAMEWORK {
        let oca = c % OCA_EVERY == 0;
        let (en, fr) = names(f, c);
        write!(
            y,
            r#"  - id: {id}
    name:
      en: {en}
      fr: {fr}
    description:
      en: Proof that the holder holds credential {c} of authority {f}.
      fr: Preuve que le titulaire détient le justificatif {c} de l'autorité {f}.
    version: 1.0.0
    formats: [dc+sd-jwt, anoncreds]
    vct: https://issuer{f}.example/credentials/{c}/v1
"#,
            id = credential_id(f, c)
        )
        .unwrap();
        if oca {
            writeln!(y, "    oca_bundle: framework-{f:02}/c-{c:03}").unwrap();
        }
        y.push_str("    attributes:\n");
        for a in &ATTRIBUTES {
            write!(
                y,
                "      {}:\n        type: {}\n        required: {}\n        personal: {}\n{}        example: {}\n",
                a.name,
                a.kind,
                a.name != "hours",
                a.personal,
                a.extra,
                a.example
            )
            .unwrap();
            if !oca {
                write!(
                    y,
                    "        label: {{ en: {}, fr: {} }}\n        description:\n          en: The {} of the holder.\n          fr: {} du titulaire.\n",
                    a.en,
                    a.fr,
                    a.en.to_lowercase(),
                    a.fr
                )
                .unwrap();
            }
        }
        if !oca {
            write!(
                y,
                r#"    branding:
      primary_background_color: "{}"
      secondary_background_color: "{}"
      primary_attribute: category
      secondary_attribute: reference
      issued_date_attribute: issue_date
      expiry_date_attribute: expiry_date
"#,
                colour(f, c, 0),
                colour(f, c, 1)
            )
            .unwrap();
        }
        y.push_str(
            r#"    validity: P1Y
    revocation: status-list
    issuance:
      authentication:
        method: pre-authorized-code
        transaction_code:
          length: 6
          input_mode: numeric
      claims:
"#,
        );
        for a in &ATTRIBUTES {
            writeln!(y, "        {}: {{ from: offer }}", a.name).unwrap();
        }
    }
    y
}

/// The OCA bundle of credential `c` of framework `f`: capture base, labels, information and meta
/// in both locales, date formats and branding colours, with their digests.
fn oca_bundle(f: usize, c: usize) -> Value {
    let attributes: Map<String, Value> = ATTRIBUTES
        .iter()
        .map(|a| (a.name.to_string(), json!(a.oca_type)))
        .collect();
    let flagged: Vec<&str> = ATTRIBUTES
        .iter()
        .filter(|a| a.personal)
        .map(|a| a.name)
        .collect();
    let per_attribute = |value: &dyn Fn(&Attribute) -> String| -> Map<String, Value> {
        ATTRIBUTES
            .iter()
            .map(|a| (a.name.to_string(), json!(value(a))))
            .collect()
    };
    let dates: Map<String, Value> = ATTRIBUTES
        .iter()
        .filter(|a| a.oca_type == "DateTime")
        .map(|a| (a.name.to_string(), json!("YYYYMMDD")))
        .collect();
    let standards: Map<String, Value> = dates
        .keys()
        .map(|name| (name.clone(), json!("urn:iso:std:iso:1989")))
        .collect();
    let (name_en, name_fr) = names(f, c);
    let meta = |language: &str, name: &str, description: String| {
        json!({
            "type": "spec/overlays/meta/1.0",
            "language": language,
            "name": name,
            "description": description,
            "issuer": format!("Issuer {f}"),
            "issuer_url": format!("https://issuer{f}.example"),
        })
    };
    let mut bundle = json!([{
        "capture_base": {
            "type": "spec/capture_base/1.0",
            "digest": "",
            "classification": "",
            "attributes": attributes,
            "flagged_attributes": flagged,
        },
        "overlays": [
            {
                "type": "spec/overlays/character_encoding/1.0",
                "default_character_encoding": "utf-8",
                "attribute_character_encoding": per_attribute(&|_| "utf-8".to_string()),
            },
            {
                "type": "spec/overlays/label/1.0",
                "language": "en",
                "attribute_labels": per_attribute(&|a| a.en.to_string()),
                "attribute_categories": [],
                "category_labels": {},
            },
            {
                "type": "spec/overlays/label/1.0",
                "language": "fr",
                "attribute_labels": per_attribute(&|a| a.fr.to_string()),
                "attribute_categories": [],
                "category_labels": {},
            },
            {
                "type": "spec/overlays/information/1.0",
                "language": "en",
                "attribute_information": per_attribute(&|a| format!("The {} of the holder.", a.en.to_lowercase())),
            },
            {
                "type": "spec/overlays/information/1.0",
                "language": "fr",
                "attribute_information": per_attribute(&|a| format!("{} du titulaire.", a.fr)),
            },
            meta("en", &name_en, format!("Proof that the holder holds credential {c} of authority {f}.")),
            meta("fr", &name_fr, format!("Preuve que le titulaire détient le justificatif {c} de l'autorité {f}.")),
            {
                "type": "spec/overlays/format/1.0",
                "attribute_formats": dates,
            },
            {
                "type": "spec/overlays/standard/1.0",
                "attribute_standards": standards,
            },
            {
                "type": "aries/overlays/branding/1.0",
                "primary_background_color": colour(f, c, 0),
                "secondary_background_color": colour(f, c, 1),
                "primary_attribute": "category",
                "secondary_attribute": "reference",
                "issued_date_attribute": "issue_date",
                "expiry_date_attribute": "expiry_date",
            },
        ],
    }]);
    trustc::build::oca::seal(&mut bundle);
    bundle
}
