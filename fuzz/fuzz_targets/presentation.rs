#![no_main]
//! A presented SD-JWT VC and its key-binding JWT (`presented`), raw or made and signed here.
libfuzzer_sys::fuzz_target!(|data: &[u8]| trustc_runtime::fuzzing::presentation(data));
