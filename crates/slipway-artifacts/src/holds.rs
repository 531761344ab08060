//! Legal holds: an artifact version under hold is never deleted by retention or garbage
//! collection. The set of holds is a value ([`Holds`]) the store persists as `holds.json` in the
//! layout directory; the caller records each hold and release in the audit log.

use crate::timestamp::rfc3339;
use serde::{Deserialize, Serialize};
use std::fmt;
use time::OffsetDateTime;

/// An artifact version by name, `service:version`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ArtifactRef {
    pub service: String,
    pub version: String,
}

impl ArtifactRef {
    pub fn new(service: impl Into<String>, version: impl Into<String>) -> ArtifactRef {
        ArtifactRef {
            service: service.into(),
            version: version.into(),
        }
    }
}

impl fmt::Display for ArtifactRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.service, self.version)
    }
}

/// One legal hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hold {
    pub service: String,
    pub version: String,
    pub reason: String,
    pub actor: String,
    #[serde(with = "rfc3339")]
    pub since: OffsetDateTime,
}

impl Hold {
    pub fn reference(&self) -> ArtifactRef {
        ArtifactRef::new(&self.service, &self.version)
    }
}

/// Why a hold could not be placed or released.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoldError {
    #[error(
        "{service}:{version} is already under legal hold since {since} by {actor}: {reason}",
        since = crate::timestamp::format(existing.since),
        service = existing.service,
        version = existing.version,
        actor = existing.actor,
        reason = existing.reason
    )]
    AlreadyHeld { existing: Box<Hold> },
    #[error("{0} is not under legal hold")]
    NotHeld(ArtifactRef),
    #[error("a legal hold needs a reason and an actor")]
    Incomplete,
}

/// Every hold in force: the content of `holds.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holds {
    pub holds: Vec<Hold>,
}

impl Holds {
    /// The hold on `reference`, if any.
    pub fn get(&self, reference: &ArtifactRef) -> Option<&Hold> {
        self.holds
            .iter()
            .find(|h| h.service == reference.service && h.version == reference.version)
    }

    /// Adds a hold; one hold per artifact version.
    pub fn place(&mut self, hold: Hold) -> Result<(), HoldError> {
        if hold.reason.trim().is_empty() || hold.actor.trim().is_empty() {
            return Err(HoldError::Incomplete);
        }
        if let Some(existing) = self.get(&hold.reference()) {
            return Err(HoldError::AlreadyHeld {
                existing: Box::new(existing.clone()),
            });
        }
        self.holds.push(hold);
        self.holds.sort_by_key(Hold::reference);
        Ok(())
    }

    /// Removes the hold on `reference` and returns it.
    pub fn release(&mut self, reference: &ArtifactRef) -> Result<Hold, HoldError> {
        let position = self
            .holds
            .iter()
            .position(|h| h.service == reference.service && h.version == reference.version)
            .ok_or_else(|| HoldError::NotHeld(reference.clone()))?;
        Ok(self.holds.remove(position))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors
    use super::*;

    fn hold(version: &str, reason: &str) -> Hold {
        Hold {
            service: "payments".into(),
            version: version.into(),
            reason: reason.into(),
            actor: "alice".into(),
            since: time::macros::datetime!(2026-03-01 00:00 UTC),
        }
    }

    #[test]
    fn one_hold_per_version_and_release_returns_it() {
        let mut holds = Holds::default();
        holds.place(hold("1.0.0", "case 12")).unwrap();
        let err = holds.place(hold("1.0.0", "case 13")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "payments:1.0.0 is already under legal hold since 2026-03-01T00:00:00Z by alice: case 12"
        );
        assert_eq!(holds.place(hold("1.0.1", " ")), Err(HoldError::Incomplete));
        let released = holds
            .release(&ArtifactRef::new("payments", "1.0.0"))
            .unwrap();
        assert_eq!(released.reason, "case 12");
        assert!(holds.holds.is_empty());
        assert_eq!(
            holds
                .release(&ArtifactRef::new("payments", "1.0.0"))
                .unwrap_err()
                .to_string(),
            "payments:1.0.0 is not under legal hold"
        );
    }

    #[test]
    fn holds_round_trip_through_json() {
        let mut holds = Holds::default();
        holds.place(hold("2.0.0", "audit")).unwrap();
        let text = serde_json::to_string(&holds).unwrap();
        assert!(
            text.contains("\"since\":\"2026-03-01T00:00:00Z\""),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<Holds>(&text).unwrap(), holds);
    }
}
