//! `trustc import oca FILE`: an Aries OCA 1.0 bundle as governance YAML (in progress).
