#![no_main]
//! The issuer's whole router in process: one request (method, path, headers, body) per run
//! against the shipped example and its pre-authorised variant (`src/router.rs`).

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = trustc_fuzz::router::harness(trustc_fuzz::repository()).run(data);
});
