//! Environment tiers: what kind of environment a deployment goes to, ordered from the least
//! to the most protected.

use serde::{Deserialize, Serialize};

/// What kind of environment this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnvironmentTier {
    Development,
    Test,
    Staging,
    Production,
}
