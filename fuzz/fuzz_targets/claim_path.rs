#![no_main]
//! The `$` claim paths of `from: login` claims (`trustc_artifact::claim_path`).
libfuzzer_sys::fuzz_target!(|data: &[u8]| trustc_runtime::fuzzing::claim_path(data));
