//! The vocabulary of routing: the two versions a service runs during a rollout, the instances
//! that serve each version, and the canary weight that splits traffic between them.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use crate::error::RouterError;

/// One of the two versions a service runs while a rollout is in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    /// The version currently trusted with production traffic.
    Stable,
    /// The version being rolled out.
    Canary,
}

impl Version {
    /// Both versions, stable first.
    pub const ALL: [Version; 2] = [Version::Stable, Version::Canary];

    /// The lower-case name used in headers and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Stable => "stable",
            Version::Canary => "canary",
        }
    }

    /// The other version.
    pub fn other(self) -> Version {
        match self {
            Version::Stable => Version::Canary,
            Version::Canary => Version::Stable,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Version {
    type Err = RouterError;

    /// Parses `stable` or `canary`, ignoring ASCII case and surrounding whitespace.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Version::from_bytes(s.as_bytes()).ok_or_else(|| RouterError::ParseVersion(s.to_owned()))
    }
}

impl Version {
    /// Parses a header value: `stable` or `canary`, ASCII case-insensitive, trimmed.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Version> {
        let bytes = bytes.trim_ascii();
        if bytes.eq_ignore_ascii_case(b"stable") {
            Some(Version::Stable)
        } else if bytes.eq_ignore_ascii_case(b"canary") {
            Some(Version::Canary)
        } else {
            None
        }
    }
}

/// A name for one running instance, unique across all services of one router (for example
/// `checkout/v2/0`); readiness is set by this name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceId(String);

impl InstanceId {
    /// Wraps a name.
    pub fn new(name: impl Into<String>) -> Self {
        InstanceId(name.into())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for InstanceId {
    fn from(s: &str) -> Self {
        InstanceId(s.to_owned())
    }
}

impl From<String> for InstanceId {
    fn from(s: String) -> Self {
        InstanceId(s)
    }
}

/// One instance of a version: where it listens and whether it may receive traffic when the
/// router first learns of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// Unique name of the instance.
    pub id: InstanceId,
    /// Plain-HTTP address the instance listens on.
    pub addr: SocketAddr,
    /// Readiness the instance starts with when a router first sees its id. For an id the router
    /// already knows, the current readiness (as last set by `set_ready`) is kept, so moving an
    /// instance from canary to stable on promotion does not flap its readiness.
    pub ready: bool,
}

impl Instance {
    /// An instance that starts ready.
    pub fn ready(id: impl Into<InstanceId>, addr: SocketAddr) -> Self {
        Instance {
            id: id.into(),
            addr,
            ready: true,
        }
    }

    /// An instance that starts not ready (it gets traffic only after `set_ready(id, true)`).
    pub fn not_ready(id: impl Into<InstanceId>, addr: SocketAddr) -> Self {
        Instance {
            id: id.into(),
            addr,
            ready: false,
        }
    }
}

/// The share of unpinned requests sent to the canary, in per mille (0 to 1000).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct CanaryWeight(u16);

impl CanaryWeight {
    /// Everything to stable.
    pub const ZERO: CanaryWeight = CanaryWeight(0);
    /// Everything to canary.
    pub const FULL: CanaryWeight = CanaryWeight(1000);

    /// A weight in percent, 0 to 100.
    pub fn from_percent(percent: u32) -> Result<Self, RouterError> {
        if percent > 100 {
            return Err(RouterError::WeightOutOfRange(percent.saturating_mul(10)));
        }
        Self::from_per_mille(percent * 10)
    }

    /// A weight in per mille, 0 to 1000.
    pub fn from_per_mille(per_mille: u32) -> Result<Self, RouterError> {
        u16::try_from(per_mille)
            .ok()
            .filter(|w| *w <= 1000)
            .map(CanaryWeight)
            .ok_or(RouterError::WeightOutOfRange(per_mille))
    }

    /// The weight in per mille.
    pub fn per_mille(self) -> u32 {
        u32::from(self.0)
    }

    /// The weight as a fraction from 0.0 to 1.0.
    pub fn fraction(self) -> f64 {
        f64::from(self.0) / 1000.0
    }
}

impl fmt::Display for CanaryWeight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, tenth) = (self.0 / 10, self.0 % 10);
        if tenth == 0 {
            write!(f, "{whole}%")
        } else {
            write!(f, "{whole}.{tenth}%")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_case_insensitively_and_reject_others() {
        assert_eq!("stable".parse::<Version>().ok(), Some(Version::Stable));
        assert_eq!(" Canary ".parse::<Version>().ok(), Some(Version::Canary));
        let err = "blue".parse::<Version>().err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("\"blue\" is not a version: expected \"stable\" or \"canary\"")
        );
        assert_eq!(Version::Stable.other(), Version::Canary);
    }

    #[test]
    fn weights_accept_their_range_only() {
        assert_eq!(
            CanaryWeight::from_percent(20)
                .ok()
                .map(CanaryWeight::per_mille),
            Some(200)
        );
        assert_eq!(
            CanaryWeight::from_per_mille(1000).ok(),
            Some(CanaryWeight::FULL)
        );
        assert!(CanaryWeight::from_percent(101).is_err());
        assert!(CanaryWeight::from_per_mille(1001).is_err());
        assert!(CanaryWeight::from_per_mille(u32::MAX).is_err());
        assert_eq!(
            CanaryWeight::from_per_mille(205)
                .ok()
                .map(|w| w.to_string()),
            Some("20.5%".into())
        );
        assert_eq!(CanaryWeight::FULL.to_string(), "100%");
    }
}
