//! Benchmark of `trustc check` as CI runs it: the release binary, started once per run, on
//! - the shipped example,
//! - bcgov's aries-oca-bundles corpus (30 bundles; `TRUSTC_CORPUS` or ../shared/corpus), and on
//!   it, in the same alternating run, bcgov's own CI check: ajv-cli validating every bundle
//!   against the corpus's `OCABundles/validators/schema.json`, as their
//!   `.github/workflows/validate.yml` runs it (`ajv validate -s … -d 'OCABundles/**/OCABundle.json'`),
//! - generated bundle repositories of 1,000 and 10,000 valid bundles with an index, and the
//!   10,000 bundles without their index (what the index itself costs).
//!
//! For each it reports wall time (median and slowest of the runs) and the peak resident memory of
//! the process (from `wait4`). Run with `cargo bench --bench check`; `TRUSTC_BENCH_RUNS` sets the
//! number of runs (default 20, and 5 for the generated repositories); `TRUSTC_BENCH_DIR` keeps the
//! generated repositories in that folder; `TRUSTC_BENCH_BASELINE=PATH` runs another `trustc`
//! binary (an earlier build) alternately with this one, for A/B comparisons.
//!
//! ajv-cli 5.0.0 is installed with npm into `target/tmp/bench-ajv/` the first time (then reused);
//! without node and npm, or when the install fails, its rows say SKIPPED.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Map, Value};

mod support;
use support::{Settings, cores, format_duration, run_program};

/// A program run on an input: its row's name, the program and its arguments.
struct Contender {
    name: String,
    program: PathBuf,
    args: Vec<String>,
    /// Exit statuses that mean the program ran to completion (trustc: 0 or 1, findings or not).
    accepted: &'static [i32],
}

impl Contender {
    fn trustc(name: &str, program: &Path) -> Contender {
        Contender {
            name: name.to_string(),
            program: program.to_path_buf(),
            args: ["check", ".", "--format", "json"]
                .map(String::from)
                .to_vec(),
            accepted: &[0, 1],
        }
    }
}

fn main() {
    let settings = Settings::from_env();
    let (runs, generated) = (settings.runs, &settings.work);
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let corpus = std::env::var_os("TRUSTC_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join("../shared/corpus/aries-oca-bundles"));
    let trustc = PathBuf::from(env!("CARGO_BIN_EXE_trustc"));
    let baseline = std::env::var_os("TRUSTC_BENCH_BASELINE").map(PathBuf::from);
    let contenders = |what: &str| {
        let mut all = vec![Contender::trustc(&format!("trustc {what}"), &trustc)];
        if let Some(baseline) = &baseline {
            all.push(Contender::trustc(&format!("baseline {what}"), baseline));
        }
        all
    };

    println!("trustc check, release build, {} cores available", cores());
    println!(
        "{:<44} {:>5} {:>11} {:>11} {:>12}",
        "input", "runs", "median", "slowest", "peak RSS"
    );
    let selected = |name: &str| settings.selected(name);

    if selected("example") {
        report(&repo, &contenders("shipped example (2 frameworks)"), runs);
    }
    if selected("corpus") {
        if corpus.join("ocabundles.json").is_file() {
            let mut all = contenders("aries-oca-bundles (30 bundles)");
            match ajv_cli() {
                Ok(ajv) => all.push(Contender {
                    name: "ajv-cli (bcgov's CI), the same corpus".to_string(),
                    program: ajv,
                    args: [
                        "validate",
                        "-s",
                        "OCABundles/validators/schema.json",
                        "-d",
                        "OCABundles/**/OCABundle.json",
                    ]
                    .map(String::from)
                    .to_vec(),
                    accepted: &[0],
                }),
                Err(why) => println!("ajv-cli: SKIPPED, {why}"),
            }
            let ajv_row = all.iter().position(|c| c.name.starts_with("ajv-cli"));
            let medians = report(&corpus, &all, runs);
            if let Some(ajv) = ajv_row {
                println!(
                    "{:<44} ajv-cli's median / trustc's, same run: {:.1}×",
                    "",
                    medians[ajv].as_secs_f64() / medians[0].as_secs_f64()
                );
            }
        } else {
            println!(
                "aries-oca-bundles: SKIPPED, corpus not found at {}",
                corpus.display()
            );
        }
    }
    for count in [1_000, 10_000] {
        let name = format!("generated ({count} bundles)");
        if selected(&name) || selected("generated") {
            let dir = generated.join(count.to_string());
            generate(&repo.join("oca-bundles/lsbc/lawyer"), &dir, count);
            let runs = runs.clamp(3, 5);
            report(&dir, &contenders(&name), runs);
            if count == 10_000 {
                // The same bundles without their index: what the index itself costs.
                let index = dir.join("ocabundles.json");
                let aside = dir.join("ocabundles.json.aside");
                std::fs::rename(&index, &aside).unwrap();
                report(
                    &dir,
                    &contenders(&format!("generated ({count} bundles), no index")),
                    runs,
                );
                std::fs::rename(&aside, &index).unwrap();
            }
        }
    }
}

/// ajv-cli, installed with npm into `target/tmp/bench-ajv/` unless it already is there; why not
/// when it cannot be.
fn ajv_cli() -> Result<PathBuf, String> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-ajv");
    let ajv = dir.join("node_modules/.bin/ajv");
    match Command::new("node").arg("--version").output() {
        Ok(output) if output.status.success() => {}
        _ => return Err("node not found (bcgov's CI runs ajv-cli on node)".to_string()),
    }
    if ajv.is_file() {
        return Ok(ajv);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    std::fs::write(
        dir.join("package.json"),
        "{\n  \"private\": true,\n  \"description\": \"ajv-cli, the validator bcgov/aries-oca-bundles' CI runs, for benches/check.rs\",\n  \"dependencies\": { \"ajv-cli\": \"5.0.0\" }\n}\n",
    )
    .map_err(|e| e.to_string())?;
    let npm = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .output()
        .map_err(|e| format!("npm not found ({e})"))?;
    if !npm.status.success() || !ajv.is_file() {
        return Err(format!(
            "`npm install ajv-cli@5.0.0` failed in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&npm.stderr).trim()
        ));
    }
    Ok(ajv)
}

/// Runs each contender in `dir` `runs` times, alternating between them (after one warm-up run
/// each), and prints a row for each. Returns their medians, in order.
fn report(dir: &Path, contenders: &[Contender], runs: usize) -> Vec<Duration> {
    for contender in contenders {
        run_once(dir, contender);
    }
    let mut times = vec![Vec::new(); contenders.len()];
    let mut peaks = vec![0; contenders.len()];
    // ABBA order: every other round runs the contenders in reverse, so that none always runs
    // right after the same other one (a process runs slower after node's exit, for one).
    for round in 0..runs {
        let mut order: Vec<usize> = (0..contenders.len()).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for i in order {
            let contender = &contenders[i];
            let (time, rss) = run_once(dir, contender);
            times[i].push(time);
            peaks[i] = peaks[i].max(rss);
        }
    }
    let mut medians = Vec::new();
    for ((contender, mut times), peak) in contenders.iter().zip(times).zip(peaks) {
        times.sort();
        let median = times[times.len() / 2];
        medians.push(median);
        println!(
            "{:<44} {:>5} {:>11} {:>11} {:>8.1} MiB",
            contender.name,
            runs,
            format_duration(median),
            format_duration(*times.last().unwrap()),
            peak as f64 / 1024.0
        );
    }
    medians
}

/// One run of a contender in `dir`: wall time and peak resident set size in KiB.
fn run_once(dir: &Path, contender: &Contender) -> (Duration, i64) {
    let args: Vec<&OsStr> = contender.args.iter().map(OsStr::new).collect();
    let (status, elapsed, rss) = run_program(&contender.program, dir, &args);
    assert!(
        contender.accepted.contains(&status),
        "{} failed: exit status {status}",
        contender.name
    );
    (elapsed, rss)
}

/// Writes `count` valid bundles (each a variant of the bundle in `template`, with its own digests),
/// shared images, and an `ocabundles.json` index of them all.
fn generate(template: &Path, dir: &Path, count: usize) {
    std::fs::create_dir_all(dir.join("images")).unwrap();
    for image in ["logo.png", "background.png", "background-slice.png"] {
        std::fs::copy(template.join(image), dir.join("images").join(image)).unwrap();
    }
    let text = std::fs::read_to_string(template.join("OCABundle.json")).unwrap();
    let base: Value = serde_json::from_str(&text).unwrap();
    let mut index = Map::new();
    for i in 0..count {
        let mut bundle = base.clone();
        let bundle_object = &mut bundle[0];
        // A distinct attribute per bundle makes every capture base, and so every digest, distinct.
        bundle_object["capture_base"]["attributes"][format!("field_{i}")] = Value::from("Text");
        for overlay in bundle_object["overlays"].as_array_mut().unwrap() {
            match overlay["type"].as_str().unwrap() {
                "spec/overlays/meta/1.0" => {
                    overlay["name"] = Value::from(format!("Credential {i}"));
                }
                "spec/overlays/label/1.0" => {
                    overlay["attribute_labels"][format!("field_{i}")] =
                        Value::from(format!("Field {i}"));
                }
                "aries/overlays/branding/1.0" => {
                    for key in ["logo", "background_image", "background_image_slice"] {
                        let file = overlay[key].as_str().unwrap().to_string();
                        overlay[key] = Value::from(format!("../../../images/{file}"));
                    }
                }
                _ => {}
            }
        }
        trustc::build::oca::seal(&mut bundle);
        let folder = format!("bundles/{:03}/{i}", i % 100);
        std::fs::create_dir_all(dir.join(&folder)).unwrap();
        let bytes = serde_json::to_vec_pretty(&bundle).unwrap();
        let sha = trustc::oca::index::sha256_universal(&bytes);
        std::fs::write(dir.join(&folder).join("OCABundle.json"), bytes).unwrap();
        index.insert(
            format!("did:web:issuer{i}.example:2:Credential {i}:1.0"),
            serde_json::json!({"path": format!("{folder}/OCABundle.json"), "sha256": sha}),
        );
    }
    std::fs::write(
        dir.join("ocabundles.json"),
        serde_json::to_vec_pretty(&index).unwrap(),
    )
    .unwrap();
}
