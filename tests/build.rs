//! `trustc build`: golden outputs of the shipped example, determinism, and build diagnostics.
