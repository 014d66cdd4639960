//! `trustc import oca`: importing bundles into governance and building them back.
