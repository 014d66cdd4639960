//! trustc's issuer runtime (`trustc serve`): an OpenID4VCI 1.0 issuer of SD-JWT VCs that issues
//! exactly what the compiled governance (`issuer/config.json`) allows.
//!
//! The layers, each knowing only the one below it:
//!
//! - [`http`] is the wire: routes, extractors, the OAuth and problem-details error bodies, the
//!   connection loop ([`serve`]). Handlers read a request into a [`domain`] request and map the
//!   domain's refusals back to the codes the specifications name.
//! - [`domain`] is the rules: offers, redemption, issuance, revocation, as methods of
//!   [`Issuer`] on typed requests with typed outcomes. It names no HTTP and no SQL type.
//! - [`store`] is the state: offers, spent nonces and status entries in SQLite or PostgreSQL,
//!   each change atomic so several instances can share a database. Only it knows SQL.
//!
//! Beside them, what the rules use: [`compiled`] reads what `trustc build` wrote; [`claims`]
//! checks an offer's claims against the governance; [`jose`] verifies signed JWTs from others and
//! [`proof`] applies it to OpenID4VCI key proofs and [`dpop`] to DPoP proofs (RFC 9449); [`sdjwt`] and [`status`] produce what is issued,
//! signed with [`keys`]; [`sealed`] makes the `c_nonce`s and access tokens that prove their own
//! origin; [`secrets`] the codes and offer ids; [`limits`] the rate limits. For presentations (OpenID4VP): [`x509`] is the
//! verifier's certificate chain, sent as `x5c` with the request objects [`keys`] signs, and
//! [`jwe`] decrypts the wallets' encrypted (`direct_post.jwt`) responses.

pub mod admin_tokens;
pub mod claims;
pub mod compiled;
pub mod domain;
pub mod dpop;
/// Entry points of the fuzz targets (`fuzz/`, docs/fuzzing.md); not an API.
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod identity;
pub mod jose;
pub mod jwe;
pub mod keys;
pub mod limits;
pub mod presented;
pub mod proof;
pub mod sdjwt;
pub mod sealed;
pub mod secrets;
pub mod status;
pub mod store;
pub mod x509;

pub use compiled::Compiled;
pub use domain::{Clock, Issuer, SPENT_NONCE_GRACE, Settings};
pub use http::router;
pub use http::server::{serve, serve_until};
pub use keys::IssuerKey;
pub use store::Store;
