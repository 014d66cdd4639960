#![no_main]
//! Any compact JWS through `jose::verify` with each kind of key source.
libfuzzer_sys::fuzz_target!(|data: &[u8]| trustc_runtime::fuzzing::jws(data));
