//! Support shared by the fuzz targets: the in-process issuer of the `router` target
//! (`router.rs`, which `tests/fuzz_regressions.rs` includes too, so its regressions replay
//! without cargo-fuzz).

pub mod router;

/// The repository this crate lives in (the shipped example's home).
pub fn repository() -> &'static std::path::Path {
    std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}
