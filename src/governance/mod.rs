//! Governance frameworks: the typed model ([`model`]), and the resolve and semantic-check stages
//! ([`check`]) that run on all frameworks of a repository together, since frameworks refer to each
//! other's participants and credentials (`framework-id/id`).

pub mod check;
pub mod model;
pub mod values;

pub use model::Governance;
