#![no_main]
//! A repository's own handlebars template (or partial) rendered beside the built-in ones.
libfuzzer_sys::fuzz_target!(|data: &[u8]| trustc::fuzzing::template(data));
