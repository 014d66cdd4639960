//! Benchmark of `trustc check` as CI runs it: the release binary, started once per run, on
//! - the shipped example,
//! - bcgov's aries-oca-bundles corpus (30 bundles; `TRUSTC_CORPUS` or ../shared/corpus),
//! - generated bundle repositories of 1,000 and 10,000 valid bundles with an index.
//!
//! For each it reports wall time (median and slowest of the runs) and the peak resident memory of
//! the process (from `wait4`). Run with `cargo bench --bench check`; `TRUSTC_BENCH_RUNS` sets the
//! number of runs (default 20, and 5 for the generated repositories); `TRUSTC_BENCH_DIR` keeps the
//! generated repositories in that folder.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};

mod support;
use support::{Settings, cores, format_duration, run_trustc};

fn main() {
    let settings = Settings::from_env();
    let (runs, generated) = (settings.runs, &settings.work);
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let corpus = std::env::var_os("TRUSTC_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join("../shared/corpus/aries-oca-bundles"));

    println!("trustc check, release build, {} cores available", cores());
    println!(
        "{:<34} {:>6} {:>11} {:>11} {:>12}",
        "input", "runs", "median", "slowest", "peak RSS"
    );
    let selected = |name: &str| settings.selected(name);

    if selected("example") {
        report("shipped example (2 frameworks)", &repo, runs);
    }
    if selected("corpus") {
        if corpus.join("ocabundles.json").is_file() {
            report("aries-oca-bundles (30 bundles)", &corpus, runs);
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
            report(&name, &dir, runs.clamp(3, 5));
        }
    }
}

/// Runs `trustc check DIR --format json` `runs` times (after one warm-up run) and prints a row.
fn report(name: &str, dir: &Path, runs: usize) {
    run_once(dir);
    let mut times = Vec::new();
    let mut peak = 0;
    for _ in 0..runs {
        let (time, rss) = run_once(dir);
        times.push(time);
        peak = peak.max(rss);
    }
    times.sort();
    println!(
        "{:<34} {:>6} {:>11} {:>11} {:>9.1} MiB",
        name,
        runs,
        format_duration(times[times.len() / 2]),
        format_duration(*times.last().unwrap()),
        peak as f64 / 1024.0
    );
}

/// One run of `trustc check DIR --format json`: wall time and peak resident set size in KiB.
fn run_once(dir: &Path) -> (Duration, i64) {
    let args = ["check", ".", "--format", "json"].map(std::ffi::OsStr::new);
    let (status, elapsed, rss) = run_trustc(dir, &args);
    assert!(status <= 1, "trustc failed: exit status {status}");
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
