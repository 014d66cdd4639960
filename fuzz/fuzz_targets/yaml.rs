#![no_main]
//! The governance YAML reader (`syntax::yaml`) and the governance schema on what it reads.
libfuzzer_sys::fuzz_target!(|data: &[u8]| trustc::fuzzing::yaml(data));
