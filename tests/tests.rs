//! Integration tests, in one binary: they run the real `trustc` executable on real input.

mod architecture;
mod bad_input;
mod build;
mod cli;
mod common;
mod corpus;
mod docs;
mod fixtures;
mod fuzz_regressions;
mod import;
mod interop;
mod interop_batch;
mod interop_journey;
mod interop_login;
mod interop_presentation;
mod interop_serve;
#[cfg(feature = "serve")]
mod serve;
mod tour;
