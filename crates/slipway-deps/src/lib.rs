//! Dependency intelligence over what runs: the version matrix of packages per service and
//! environment from their SBOMs ([`matrix`]), conflicts and a pinning policy, end of support
//! against endoflife.date data ([`check_support`]), and release classification
//! ([`classify`]). Pure: SBOMs, databases, policies and "today" come in as values.

pub mod classify;
pub mod eol;
pub mod matrix;

pub use classify::{
    Classification, ClassifyError, Migration, ReleaseClass, ReleaseFacts, classify,
};
pub use eol::{Declared, EolDatabase, EolError, SupportFinding, SupportStatus, check_support};
pub use matrix::{
    Conflict, Installed, Matrix, PackageKey, PinPolicyError, PinRule, PinViolation, check_pins,
    conflicts, installed_from_sbom, lenient_version, matrix, validate_pins,
};
