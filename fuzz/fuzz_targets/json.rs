#![no_main]
//! trustc's JSON reader with spans (`syntax::json`).
libfuzzer_sys::fuzz_target!(|data: &[u8]| trustc::fuzzing::json_text(data));
