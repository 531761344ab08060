//! Placeholder while the crate is created.
