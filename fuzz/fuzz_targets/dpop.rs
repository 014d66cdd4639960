#![no_main]
//! DPoP proofs (`dpop::verify_proof`), raw or signed by the holder's key.
libfuzzer_sys::fuzz_target!(|data: &[u8]| trustc_runtime::fuzzing::dpop_proof(data));
