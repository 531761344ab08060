//! Release classification: patch, minor, major or emergency, from the semver step between the
//! running and the new version, the API contract diff, database migrations and declared
//! downtime. The class picks the change model; every reason that raised it is listed.

use crate::matrix::lenient_version;
use serde::{Deserialize, Serialize};

/// The class of a release, ordered by how much control it needs (`Emergency` aside, which
/// takes the emergency path whatever else is true).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReleaseClass {
    Patch,
    Minor,
    Major,
    Emergency,
}

/// What a database migration does to the schema older code reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Migration {
    #[default]
    None,
    /// Additive: older code keeps working.
    Compatible,
    /// Older code breaks (a dropped or renamed column, a changed type).
    Breaking,
}

/// What is known about a release when it is planned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseFacts {
    /// The version running now (`None` for a first release).
    #[serde(default)]
    pub from_version: Option<String>,
    pub to_version: String,
    /// ERR (breaking) findings of the API contract diff against what consumers use.
    #[serde(default)]
    pub breaking_api_changes: usize,
    /// Any other API contract finding (the change log).
    #[serde(default)]
    pub other_api_changes: usize,
    #[serde(default)]
    pub migration: Migration,
    /// Declared downtime, in minutes.
    #[serde(default)]
    pub downtime_minutes: u32,
    /// Declared an emergency (an incident fix that cannot wait).
    #[serde(default)]
    pub emergency: bool,
}

/// The class and every reason for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Classification {
    pub class: ReleaseClass,
    pub reasons: Vec<String>,
    /// Set when the version step is smaller than what the release does (breaking changes
    /// released as a minor or patch version).
    pub version_mismatch: bool,
}

/// Why the facts could not be classified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ClassifyError {
    pub field: &'static str,
    pub reason: String,
}

/// Classifies a release.
///
/// # Errors
///
/// [`ClassifyError`] when a version is not a version, or the new one is lower than the old.
pub fn classify(facts: &ReleaseFacts) -> Result<Classification, ClassifyError> {
    let to = lenient_version(&facts.to_version).ok_or_else(|| ClassifyError {
        field: "toVersion",
        reason: format!("{:?} is not a version", facts.to_version),
    })?;
    let from = match &facts.from_version {
        Some(text) => Some(lenient_version(text).ok_or_else(|| ClassifyError {
            field: "fromVersion",
            reason: format!("{text:?} is not a version"),
        })?),
        None => None,
    };
    let step = match &from {
        None => ReleaseClass::Major,
        Some(from) if to < *from => {
            return Err(ClassifyError {
                field: "toVersion",
                reason: format!("{} is lower than the running {from}", facts.to_version),
            });
        }
        Some(from)
            if (from.major == 0 && to.major == 0 && to.minor > from.minor)
                || to.major > from.major =>
        {
            ReleaseClass::Major
        }
        Some(from) if to.minor > from.minor => ReleaseClass::Minor,
        Some(_) => ReleaseClass::Patch,
    };
    let mut reasons = vec![match (&from, step) {
        (None, _) => "first release".to_owned(),
        (Some(from), class) => format!(
            "version {from} → {to} is a {} step",
            format!("{class:?}").to_lowercase()
        ),
    }];
    let mut class = step;
    let mut raise = |to: ReleaseClass, reason: String, reasons: &mut Vec<String>| {
        if to > class {
            class = to;
        }
        reasons.push(reason);
    };
    if facts.breaking_api_changes > 0 {
        raise(
            ReleaseClass::Major,
            format!("{} breaking API change(s)", facts.breaking_api_changes),
            &mut reasons,
        );
    } else if facts.other_api_changes > 0 {
        raise(
            ReleaseClass::Minor,
            format!("{} non-breaking API change(s)", facts.other_api_changes),
            &mut reasons,
        );
    }
    match facts.migration {
        Migration::Breaking => raise(
            ReleaseClass::Major,
            "a migration older code cannot read".to_owned(),
            &mut reasons,
        ),
        Migration::Compatible => raise(
            ReleaseClass::Minor,
            "an additive migration".to_owned(),
            &mut reasons,
        ),
        Migration::None => {}
    }
    if facts.downtime_minutes > 0 {
        raise(
            ReleaseClass::Major,
            format!("{} minute(s) of declared downtime", facts.downtime_minutes),
            &mut reasons,
        );
    }
    let version_mismatch = class > step && from.is_some();
    if version_mismatch {
        reasons.push("the version step is smaller than the change".to_owned());
    }
    if facts.emergency {
        class = ReleaseClass::Emergency;
        reasons.push("declared an emergency".to_owned());
    }
    Ok(Classification {
        class,
        reasons,
        version_mismatch,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(facts: ReleaseFacts, expected: Result<(ReleaseClass, bool), &str>) {
        match (classify(&facts), expected) {
            (Ok(got), Ok((class, mismatch))) => {
                assert_eq!(
                    (got.class, got.version_mismatch),
                    (class, mismatch),
                    "{facts:?}: {:?}",
                    got.reasons
                );
                assert!(!got.reasons.is_empty());
            }
            (Err(got), Err(want)) => assert!(got.to_string().contains(want), "{got}"),
            (got, want) => panic!("{facts:?}: got {got:?}, want {want:?}"),
        }
    }

    fn facts(from: Option<&str>, to: &str) -> ReleaseFacts {
        ReleaseFacts {
            from_version: from.map(str::to_owned),
            to_version: to.to_owned(),
            ..ReleaseFacts::default()
        }
    }

    #[test]
    fn releases_are_classified() {
        check(
            facts(Some("1.4.2"), "1.4.3"),
            Ok((ReleaseClass::Patch, false)),
        );
        check(
            facts(Some("1.4.2"), "1.5.0"),
            Ok((ReleaseClass::Minor, false)),
        );
        check(
            facts(Some("1.4.2"), "2.0.0"),
            Ok((ReleaseClass::Major, false)),
        );
        check(
            facts(Some("0.4.2"), "0.5.0"),
            Ok((ReleaseClass::Major, false)),
        );
        check(facts(None, "1.0.0"), Ok((ReleaseClass::Major, false)));
        check(
            ReleaseFacts {
                breaking_api_changes: 2,
                ..facts(Some("1.4.2"), "1.4.3")
            },
            Ok((ReleaseClass::Major, true)),
        );
        check(
            ReleaseFacts {
                breaking_api_changes: 2,
                ..facts(Some("1.4.2"), "2.0.0")
            },
            Ok((ReleaseClass::Major, false)),
        );
        check(
            ReleaseFacts {
                other_api_changes: 3,
                ..facts(Some("1.4.2"), "1.4.3")
            },
            Ok((ReleaseClass::Minor, true)),
        );
        check(
            ReleaseFacts {
                migration: Migration::Compatible,
                ..facts(Some("1.4.2"), "1.5.0")
            },
            Ok((ReleaseClass::Minor, false)),
        );
        check(
            ReleaseFacts {
                migration: Migration::Breaking,
                ..facts(Some("1.4.2"), "1.5.0")
            },
            Ok((ReleaseClass::Major, true)),
        );
        check(
            ReleaseFacts {
                downtime_minutes: 15,
                ..facts(Some("1.4.2"), "1.4.3")
            },
            Ok((ReleaseClass::Major, true)),
        );
        check(
            ReleaseFacts {
                emergency: true,
                breaking_api_changes: 1,
                ..facts(Some("1.4.2"), "1.4.3")
            },
            Ok((ReleaseClass::Emergency, true)),
        );
        check(
            facts(Some("1.4.2"), "1.4.1"),
            Err("toVersion: 1.4.1 is lower than the running 1.4.2"),
        );
        check(
            facts(Some("1.4.2"), "next"),
            Err("toVersion: \"next\" is not a version"),
        );
    }
}
