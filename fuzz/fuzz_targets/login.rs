#![no_main]
//! A login provider's ID token and userinfo (JWS, JWE, JSON) through `Providers::finish`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| trustc_runtime::fuzzing::login(data));
