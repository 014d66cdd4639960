#![no_main]
//! An OCA bundle: JSON, schema, model, every bundle check and the digests.
libfuzzer_sys::fuzz_target!(|data: &[u8]| trustc::fuzzing::oca_bundle(data));
