#![no_main]
//! A compact JWE (`jwe::decrypt_with`), raw or encrypted to the issuer here.
libfuzzer_sys::fuzz_target!(|data: &[u8]| trustc_runtime::fuzzing::jwe_compact(data));
