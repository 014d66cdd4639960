//! Interoperability: third-party clients read what `trustc build` generates.
