//! Every input that once crashed a fuzz target (`fuzz/regressions/<target>/`, minimised by
//! libFuzzer) replayed through the same entry point the target calls, so that `cargo test` keeps
//! each fix without cargo-fuzz (docs/fuzzing.md says how to add one).

use std::path::{Path, PathBuf};

use crate::common::repo;

#[cfg(feature = "serve")]
#[path = "../fuzz/src/router.rs"]
mod router;

/// The targets of `fuzz/Cargo.toml`, each with the entry point its regressions replay through.
const TARGETS: &[&str] = &[
    "yaml",
    "json",
    "oca_bundle",
    "governance",
    "template",
    "claim_path",
    "key_proof",
    "dpop",
    "jws",
    "presentation",
    "jwe",
    "login",
    "router",
];

fn regressions(target: &str) -> Vec<PathBuf> {
    let dir = repo().join("fuzz/regressions").join(target);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .map(|e| e.expect("a directory entry").path())
            .collect(),
        Err(_) => Vec::new(),
    };
    files.retain(|path| path.is_file());
    files.sort();
    files
}

/// Runs `entry` on each regression of `target`; a panic names the file.
fn replay(target: &str, entry: impl Fn(&[u8])) {
    for path in regressions(target) {
        let data = std::fs::read(&path).expect("a regression input");
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| entry(&data)));
        assert!(
            outcome.is_ok(),
            "fuzz regression {} panics again (reproduce: cd fuzz && cargo fuzz run -s none \
             {target} {})",
            path.display(),
            Path::new("..")
                .join(path.strip_prefix(repo()).unwrap())
                .display()
        );
    }
}

#[test]
fn every_fuzz_target_has_its_replay_and_every_regression_folder_a_target() {
    let manifest = std::fs::read_to_string(repo().join("fuzz/Cargo.toml")).unwrap();
    let declared: Vec<&str> = manifest
        .lines()
        .filter_map(|line| line.strip_prefix("name = \""))
        .filter_map(|rest| rest.strip_suffix('"'))
        .filter(|name| *name != "trustc-fuzz")
        .collect();
    assert_eq!(
        declared, TARGETS,
        "fuzz/Cargo.toml's targets and the replays of tests/fuzz_regressions.rs differ"
    );
    if let Ok(entries) = std::fs::read_dir(repo().join("fuzz/regressions")) {
        for entry in entries {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                TARGETS.contains(&name.as_str()),
                "fuzz/regressions/{name}/ names no fuzz target: its inputs would never replay"
            );
        }
    }
}

#[test]
fn yaml() {
    replay("yaml", trustc::fuzzing::yaml);
}

#[test]
fn json() {
    replay("json", trustc::fuzzing::json_text);
}

#[test]
fn oca_bundle() {
    replay("oca_bundle", trustc::fuzzing::oca_bundle);
}

#[test]
fn governance() {
    let dir = tempfile::tempdir().unwrap();
    trustc::fuzzing::governance_repository(dir.path());
    replay("governance", |data| {
        trustc::fuzzing::governance(dir.path(), data)
    });
}

#[test]
fn template() {
    replay("template", trustc::fuzzing::template);
}

#[cfg(feature = "serve")]
mod runtime {
    use super::replay;
    use trustc_runtime::fuzzing;

    #[test]
    fn claim_path() {
        replay("claim_path", fuzzing::claim_path);
    }

    #[test]
    fn key_proof() {
        replay("key_proof", fuzzing::key_proof);
    }

    #[test]
    fn dpop() {
        replay("dpop", fuzzing::dpop_proof);
    }

    #[test]
    fn jws() {
        replay("jws", fuzzing::jws);
    }

    #[test]
    fn presentation() {
        replay("presentation", fuzzing::presentation);
    }

    #[test]
    fn jwe() {
        replay("jwe", fuzzing::jwe_compact);
    }

    #[test]
    fn login() {
        replay("login", fuzzing::login);
    }

    #[test]
    fn router() {
        replay("router", |data| {
            let _ = super::router::harness(&crate::common::repo()).run(data);
        });
    }
}

/// Writes the seed corpora of the fuzz targets into `fuzz/seeds/<target>/` (not committed:
/// `.ci/run` runs this before fuzzing, and so can anyone, docs/fuzzing.md): the repository's own
/// governance files, OCA bundles, schemas and templates with the fixtures' broken variants, and
/// tokens and requests made as the test helpers make them (key proofs, DPoP proofs, a JWE, the
/// wallet's requests). Checks that each target gets seeds.
#[test]
#[ignore = "writes fuzz/seeds/; run by .ci/run before fuzzing"]
fn write_seed_corpora() {
    let root = repo();
    let seeds = root.join("fuzz/seeds");
    let _ = std::fs::remove_dir_all(&seeds);
    let mut written = std::collections::BTreeMap::<&str, usize>::new();
    let mut seed = |target: &'static str, bytes: &[u8]| {
        let dir = seeds.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        let name = format!("{:016x}", fnv(bytes));
        std::fs::write(dir.join(name), bytes).unwrap();
        *written.entry(target).or_default() += 1;
    };
    let files = |ext: &str| -> Vec<PathBuf> {
        let mut found = Vec::new();
        for folder in [
            "governance",
            "oca-bundles",
            "schemas",
            "templates",
            "tests/fixtures",
        ] {
            for entry in walkdir::WalkDir::new(root.join(folder)).sort_by_file_name() {
                let entry = entry.unwrap();
                if entry.file_type().is_file()
                    && entry.path().to_string_lossy().ends_with(ext)
                    && entry.metadata().unwrap().len() < 256 * 1024
                {
                    found.push(entry.path().to_path_buf());
                }
            }
        }
        found
    };
    for path in files(".yaml") {
        let text = std::fs::read(&path).unwrap();
        seed("yaml", &text);
        seed("governance", &text);
    }
    for path in files(".json") {
        let text = std::fs::read(&path).unwrap();
        seed("json", &text);
        if path.ends_with("OCABundle.json") {
            seed("oca_bundle", &text);
        }
    }
    for path in files(".hbs") {
        let mut text = std::fs::read(&path).unwrap();
        text.extend_from_slice(b"\0{\"credential\":{\"id\":\"person\",\"vct\":\"https://x/vct\"}}");
        seed("template", &text);
    }
    for path in [
        "$.address.locality",
        "$.given_name",
        "$['family name']",
        "$.address.lines[0]",
        "$[\"a\"][\"b\"]",
        "address.locality",
    ] {
        seed("claim_path", path.as_bytes());
        seed(
            "claim_path",
            format!("{path}\0{{\"given_name\":\"A\"}}").as_bytes(),
        );
    }

    #[cfg(feature = "serve")]
    runtime_seeds(&mut seed);

    for target in TARGETS {
        if cfg!(feature = "serve")
            || ["yaml", "json", "oca_bundle", "governance", "template"].contains(target)
        {
            assert!(
                written.get(target).is_some_and(|n| *n > 0),
                "no seeds for {target}"
            );
        }
    }
}

/// The runtime's targets: tokens as the test helpers make them, in each target's raw mode
/// (first byte 0) and made mode (first byte 1, JSON the entry point signs or encrypts).
#[cfg(feature = "serve")]
fn runtime_seeds(seed: &mut impl FnMut(&'static str, &[u8])) {
    use trustc_runtime::fuzzing::{AUDIENCE, NONCE, NOW};
    use trustc_testkit::HolderKey;
    let raw = |token: &str| [b"\0".as_slice(), token.as_bytes()].concat();
    for holder in [HolderKey::es256(), HolderKey::ed25519()] {
        let proof = holder.proof(AUDIENCE, Some(NONCE), NOW);
        seed("key_proof", &raw(&proof));
        seed("jws", proof.as_bytes());
        let url = format!("{AUDIENCE}/credential");
        let dpop = holder.dpop_proof("POST", &url, Some("fuzz-access-token"), NOW);
        seed("dpop", &raw(&dpop));
        seed("jws", dpop.as_bytes());
    }
    seed("key_proof", b"\x01{}\0{}");
    seed(
        "key_proof",
        b"\x01{\"typ\":\"openid4vci-proof+jwt\"}\0{\"nonce\":7,\"exp\":1}",
    );
    seed("dpop", b"\x01{}\0{}");
    seed(
        "dpop",
        b"\x03{}\0{\"htu\":\"https://issuer.example/credential?x#y\"}",
    );
    seed("jws", b"eyJhbGciOiJub25lIn0.e30.");
    let disclosure = |salt: &str, name: &str, value: serde_json::Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::json!([salt, name, value]).to_string())
    };
    let given = disclosure("c2FsdA", "given_name", "Alex".into());
    let address = disclosure(
        "c2FsdB",
        "address",
        serde_json::json!({"locality": "Victoria"}),
    );
    seed(
        "presentation",
        format!("\x01{{}}\0{given}~{address}\0{{}}").as_bytes(),
    );
    seed(
        "presentation",
        b"\x01{\"status\":{\"status_list\":{\"uri\":\"https://x\",\"idx\":3}}}\0\0{}",
    );
    seed(
        "presentation",
        b"\0eyJhbGciOiJFUzI1NiJ9.e30.sig~WyJzIiwiYSIsMV0~eyJhbGciOiJFUzI1NiJ9.e30.sig",
    );
    for choice in 0u8..12 {
        seed(
            "jwe",
            &[
                b"\x01".as_slice(),
                &[choice],
                b"{\"vp_token\":{\"q\":[\"x\"]}}",
            ]
            .concat(),
        );
    }
    let other = trustc_runtime::jwe::session_key(&[1; 32], "seed");
    let compact = trustc_runtime::jwe::encrypt_for(
        b"{}",
        &other.public_key(),
        "ECDH-ES+A128KW",
        "A128GCM",
        Some("k"),
        Some("JWT"),
    )
    .unwrap();
    seed("jwe", &raw(&compact));
    for mode in [1u8, 3, 5, 13, 17] {
        seed(
            "login",
            &[&[mode][..], b"{}\0{\"acr\":\"loa3\",\"at_hash\":\"x\"}\0{\"sub\":\"fuzz-subject\",\"email\":\"a@b\"}"].concat(),
        );
    }
    seed(
        "login",
        b"\0\0eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.e30.c2ln\0{}",
    );
    let router = |selector: u8, path: &str, rest: &str| {
        let index = router::PATHS.iter().position(|p| *p == path).unwrap() as u8;
        [&[selector, index][..], rest.as_bytes()].concat()
    };
    let form = "content-type: application/x-www-form-urlencoded";
    let json = "content-type: application/json";
    for request in [
        router(
            3,
            "/token",
            &format!(
                "\n{form}\n\ngrant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code={{code}}&tx_code={{tx}}"
            ),
        ),
        router(
            3,
            "/token",
            &format!(
                "\n{form}\ndpop: {{dpop}}\n\ngrant_type=authorization_code&code=x&code_verifier=y&redirect_uri=z"
            ),
        ),
        router(3, "/nonce", "\n\n"),
        router(
            3,
            "/credential",
            &format!(
                "\n{json}\nauthorization: Bearer {{token}}\n\n{{\"credential_configuration_id\":\"person\",\"proofs\":{{\"jwt\":[\"{{proof}}\"]}}}}"
            ),
        ),
        router(
            3,
            "/credential",
            &format!(
                "\n{json}\nauthorization: DPoP {{token}}\ndpop: {{dpop}}\n\n{{\"credential_configuration_id\":\"person\",\"proof\":{{\"proof_type\":\"jwt\",\"jwt\":\"{{proof}}\"}}}}"
            ),
        ),
        router(1, "/credential-offers/{offer}", "\n\n"),
        router(
            1,
            "/offers/{offer}",
            "?lang=fr\naccept-language: fr-CA,fr;q=0.9\n\n",
        ),
        router(
            3,
            "/admin/offers",
            &format!(
                "\n{json}\nauthorization: Bearer {{admin}}\n\n{{\"credential\":\"person\",\"claims\":{{\"given_names\":\"A\"}},\"tx_code\":true}}"
            ),
        ),
        router(
            1,
            "/admin/offers/{offer}",
            "\nauthorization: Bearer {admin}\n\n",
        ),
        router(
            3,
            "/admin/offers/{offer}/revoke",
            "\nauthorization: Bearer {admin}\n\n",
        ),
        router(
            3,
            "/authorize-challenge",
            &format!(
                "\n{form}\n\nclient_id=wallet&auth_session=x&presentation_during_issuance_session=y&issuer_state=s"
            ),
        ),
        router(
            2,
            "/par",
            &format!(
                "\n{form}\n\nresponse_type=code&client_id=wallet&redirect_uri=https%3A%2F%2Fwallet.example%2Fcb&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeKt8zHQEsVapNa0rQKU&code_challenge_method=S256&scope=person&state=xyz&authorization_details=%5B%7B%22type%22%3A%22openid_credential%22%2C%22credential_configuration_id%22%3A%22person%22%7D%5D"
            ),
        ),
        router(
            0,
            "/authorize",
            "?client_id=wallet&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Aabc\n\n",
        ),
        router(
            0,
            "/login/callback",
            "?code=abc&state=xyz&iss=https%3A%2F%2Flogin.example\ncookie: trustc_login=abc.def\n\n",
        ),
        router(
            0,
            "/login/callback",
            "?error=access_denied&error_description=no&state=xyz\n\n",
        ),
        router(0, "/login/retry", "\ncookie: trustc_login=x\n\n"),
        router(0, "/credentials/person", "\naccept-language: en\n\n"),
        router(0, "/credentials/person", "/login\n\n"),
        router(0, "/presentations/", "abc/request\n\n"),
        router(
            2,
            "/presentations/",
            &format!("abc/response\n{form}\n\nvp_token=%7B%7D&state=x"),
        ),
        router(
            0,
            "/status-lists/",
            "1\naccept: application/statuslist+jwt\n\n",
        ),
        router(0, "/.well-known/openid-credential-issuer", "\n\n"),
        router(0, "/.well-known/did.json", "\n\n"),
        router(0, "/openapi.json", "\n\n"),
    ] {
        seed("router", &request);
    }
}

/// FNV-1a, for the seeds' file names (stable across runs).
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x100000001b3)
    })
}
