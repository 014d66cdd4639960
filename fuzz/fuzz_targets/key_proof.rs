#![no_main]
//! The OpenID4VCI key proof (`proof::verify_proof`), raw or signed by the holder's key.
libfuzzer_sys::fuzz_target!(|data: &[u8]| trustc_runtime::fuzzing::key_proof(data));
