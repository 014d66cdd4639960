//! Login through OpenID Connect: the issuer signs a holder in with a provider the governance
//! names, as its relying party ([`provider`]).

pub mod provider;
