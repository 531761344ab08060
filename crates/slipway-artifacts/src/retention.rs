//! Retention: which artifact versions to keep and which to delete, as a pure function of the
//! policy, the artifacts with their build times, what is deployed, and the legal holds.
//!
//! A legal hold, a deployment (now or within the rollback window), being among the newest of its
//! service, or being newer than the age limit each keep a version; only a version that none of
//! them keeps is deleted. Every decision carries all the reasons that led to it. Applying a plan
//! is the store's job ([`crate::ArtifactStore::apply_retention`]).
//!
//! In YAML (defaults shown; durations are a number and a unit: `s`, `m`, `h`, `d`, `w`):
//!
//! ```yaml
//! keepLastPerService: 10
//! keepNewerThan: 30d
//! keepDeployed: true      # cannot be false: a deployed artifact is never deleted
//! rollbackWindow: 30d     # the caller lists what was deployed within this window
//! ```

use crate::holds::{ArtifactRef, Hold};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use time::OffsetDateTime;

/// The retention rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct RetentionPolicy {
    /// The newest N versions of every service are kept.
    pub keep_last_per_service: usize,
    /// Versions built less than this long ago are kept.
    #[serde(with = "duration_text")]
    pub keep_newer_than: Duration,
    /// Deployed versions are kept; must be true (it is here so a policy file can say so).
    pub keep_deployed: bool,
    /// How far back a deployment keeps a version (for rollback); the caller uses it to list the
    /// versions deployed within the window.
    #[serde(with = "duration_text")]
    pub rollback_window: Duration,
}

const DAY: u64 = 86_400;

impl Default for RetentionPolicy {
    fn default() -> RetentionPolicy {
        RetentionPolicy {
            keep_last_per_service: 10,
            keep_newer_than: Duration::from_secs(30 * DAY),
            keep_deployed: true,
            rollback_window: Duration::from_secs(30 * DAY),
        }
    }
}

/// A retention policy that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetentionPolicyError {
    #[error("retention policy: {0}")]
    Parse(String),
    #[error("retention policy: keepDeployed cannot be false: a deployed artifact is never deleted")]
    DeployedNotKept,
}

impl RetentionPolicy {
    /// Parses a policy from YAML (or JSON) and checks it.
    pub fn from_yaml(text: &str) -> Result<RetentionPolicy, RetentionPolicyError> {
        let policy: RetentionPolicy =
            yaml_serde::from_str(text).map_err(|e| RetentionPolicyError::Parse(e.to_string()))?;
        if !policy.keep_deployed {
            return Err(RetentionPolicyError::DeployedNotKept);
        }
        Ok(policy)
    }
}

/// An artifact version and when it was built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionCandidate {
    pub reference: ArtifactRef,
    pub created: OffsetDateTime,
}

/// What retention decides about, besides the policy.
#[derive(Debug, Clone, Copy)]
pub struct RetentionInputs<'a> {
    pub now: OffsetDateTime,
    pub artifacts: &'a [RetentionCandidate],
    /// Versions deployed in any environment now.
    pub deployed_now: &'a BTreeSet<ArtifactRef>,
    /// Versions deployed anywhere within the policy's rollback window.
    pub deployed_in_rollback_window: &'a BTreeSet<ArtifactRef>,
    pub holds: &'a [Hold],
}

/// Keep or delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Decision {
    Keep,
    Delete,
}

/// The decision about one artifact version, with every reason for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetentionDecision {
    pub service: String,
    pub version: String,
    pub decision: Decision,
    pub reasons: Vec<String>,
}

impl RetentionDecision {
    pub fn reference(&self) -> ArtifactRef {
        ArtifactRef::new(&self.service, &self.version)
    }
}

/// Decides, for every artifact version given (once each), whether to keep or delete it. The
/// result is ordered by service, then newest first.
pub fn plan_retention(
    policy: &RetentionPolicy,
    inputs: &RetentionInputs<'_>,
) -> Vec<RetentionDecision> {
    let mut by_service: BTreeMap<&str, Vec<&RetentionCandidate>> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for candidate in inputs.artifacts {
        if seen.insert(&candidate.reference) {
            by_service
                .entry(candidate.reference.service.as_str())
                .or_default()
                .push(candidate);
        }
    }
    let holds: BTreeMap<ArtifactRef, &Hold> =
        inputs.holds.iter().map(|h| (h.reference(), h)).collect();
    let window = format_duration(policy.rollback_window);
    let age_limit = format_duration(policy.keep_newer_than);
    let keep_after = inputs.now - policy.keep_newer_than;

    let mut decisions = Vec::new();
    for (service, mut versions) in by_service {
        versions.sort_by(|a, b| {
            b.created
                .cmp(&a.created)
                .then_with(|| b.reference.version.cmp(&a.reference.version))
        });
        for (index, candidate) in versions.into_iter().enumerate() {
            let rank = index + 1;
            let reference = &candidate.reference;
            let created = crate::timestamp::format(candidate.created);
            let mut keep = Vec::new();
            if let Some(hold) = holds.get(reference) {
                keep.push(format!(
                    "legal hold since {} by {}: {}",
                    crate::timestamp::format(hold.since),
                    hold.actor,
                    hold.reason
                ));
            }
            if inputs.deployed_now.contains(reference) {
                keep.push("deployed now".to_owned());
            }
            if inputs.deployed_in_rollback_window.contains(reference) {
                keep.push(format!("deployed within the rollback window ({window})"));
            }
            if rank <= policy.keep_last_per_service {
                keep.push(format!(
                    "newest #{rank} of {service} (the newest {} are kept)",
                    policy.keep_last_per_service
                ));
            }
            if candidate.created > keep_after {
                keep.push(format!("built {created}, within {age_limit}"));
            }
            let (decision, reasons) = if keep.is_empty() {
                (
                    Decision::Delete,
                    vec![
                        "no legal hold".to_owned(),
                        format!("not deployed now nor within the rollback window ({window})"),
                        format!(
                            "newest #{rank} of {service}, beyond the newest {} kept",
                            policy.keep_last_per_service
                        ),
                        format!("built {created}, older than {age_limit}"),
                    ],
                )
            } else {
                (Decision::Keep, keep)
            };
            decisions.push(RetentionDecision {
                service: reference.service.clone(),
                version: reference.version.clone(),
                decision,
                reasons,
            });
        }
    }
    decisions
}

/// Parses `30d`, `12h`, `90m`, `45s`, `2w`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let unit_at = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(unit_at);
    let number: u64 = number.parse().ok()?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => DAY,
        "w" => 7 * DAY,
        _ => return None,
    };
    number.checked_mul(seconds).map(Duration::from_secs)
}

/// Formats a duration in the largest unit that divides it (`30d`, `36h`).
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    for (unit, size) in [("w", 7 * DAY), ("d", DAY), ("h", 3_600), ("m", 60)] {
        if s > 0 && s.is_multiple_of(size) {
            return format!("{}{unit}", s / size);
        }
    }
    format!("{s}s")
}

mod duration_text {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        parse_duration(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{text:?} is not a duration (a number and one of s, m, h, d, w, e.g. 30d)"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-06-01 00:00 UTC);

    struct Case {
        /// (service:version, age in days)
        artifacts: &'static [(&'static str, i64)],
        deployed_now: &'static [&'static str],
        deployed_in_window: &'static [&'static str],
        held: &'static [&'static str],
        /// (service:version, decision, substrings of its reasons)
        expected: &'static [(&'static str, Decision, &'static [&'static str])],
    }

    fn reference(text: &str) -> ArtifactRef {
        let (s, v) = text.split_once(':').unwrap();
        ArtifactRef::new(s, v)
    }

    fn check(policy: &RetentionPolicy, case: &Case) {
        let artifacts: Vec<_> = case
            .artifacts
            .iter()
            .map(|(r, days)| RetentionCandidate {
                reference: reference(r),
                created: NOW - time::Duration::days(*days),
            })
            .collect();
        let set = |list: &[&str]| list.iter().map(|r| reference(r)).collect::<BTreeSet<_>>();
        let holds: Vec<Hold> = case
            .held
            .iter()
            .map(|r| Hold {
                service: reference(r).service,
                version: reference(r).version,
                reason: "case 7".into(),
                actor: "legal".into(),
                since: NOW,
            })
            .collect();
        let plan = plan_retention(
            policy,
            &RetentionInputs {
                now: NOW,
                artifacts: &artifacts,
                deployed_now: &set(case.deployed_now),
                deployed_in_rollback_window: &set(case.deployed_in_window),
                holds: &holds,
            },
        );
        let got: Vec<_> = plan
            .iter()
            .map(|d| (d.reference().to_string(), d.decision))
            .collect();
        let want: Vec<_> = case
            .expected
            .iter()
            .map(|(r, d, _)| ((*r).to_owned(), *d))
            .collect();
        assert_eq!(got, want);
        for (decision, (_, _, reasons)) in plan.iter().zip(case.expected) {
            assert_eq!(
                decision.reasons.len(),
                reasons.len(),
                "{:?}",
                decision.reasons
            );
            for (got, want) in decision.reasons.iter().zip(*reasons) {
                assert!(got.contains(want), "{got:?} should contain {want:?}");
            }
        }
    }

    fn policy(keep_last: usize, newer_than_days: u64) -> RetentionPolicy {
        RetentionPolicy {
            keep_last_per_service: keep_last,
            keep_newer_than: Duration::from_secs(newer_than_days * DAY),
            keep_deployed: true,
            rollback_window: Duration::from_secs(14 * DAY),
        }
    }

    use Decision::{Delete, Keep};

    #[test]
    fn decisions_follow_the_rules_and_say_why() {
        check(
            &policy(2, 30),
            &Case {
                artifacts: &[
                    ("api:1.0.0", 100),
                    ("api:1.1.0", 90),
                    ("api:1.2.0", 80),
                    ("api:1.3.0", 70),
                    ("api:1.4.0", 60),
                    ("api:1.5.0", 10),
                    ("api:1.6.0", 5),
                    ("web:3.0.0", 400),
                ],
                deployed_now: &["api:1.1.0"],
                deployed_in_window: &["api:1.2.0"],
                held: &["api:1.0.0"],
                expected: &[
                    ("api:1.6.0", Keep, &["newest #1 of api", "within 30d"]),
                    ("api:1.5.0", Keep, &["newest #2 of api", "within 30d"]),
                    (
                        "api:1.4.0",
                        Delete,
                        &[
                            "no legal hold",
                            "not deployed now nor within the rollback window (2w)",
                            "newest #3 of api, beyond the newest 2 kept",
                            "built 2026-04-02T00:00:00Z, older than 30d",
                        ],
                    ),
                    (
                        "api:1.3.0",
                        Delete,
                        &["no legal hold", "not deployed", "#4", "older"],
                    ),
                    (
                        "api:1.2.0",
                        Keep,
                        &["deployed within the rollback window (2w)"],
                    ),
                    ("api:1.1.0", Keep, &["deployed now"]),
                    (
                        "api:1.0.0",
                        Keep,
                        &["legal hold since 2026-06-01T00:00:00Z by legal: case 7"],
                    ),
                    (
                        "web:3.0.0",
                        Keep,
                        &["newest #1 of web (the newest 2 are kept)"],
                    ),
                ],
            },
        );
    }

    #[test]
    fn every_keeping_reason_is_listed_and_duplicates_are_decided_once() {
        check(
            &policy(0, 0),
            &Case {
                artifacts: &[("api:1.0.0", 1), ("api:1.0.0", 1), ("api:0.9.0", 2)],
                deployed_now: &["api:1.0.0"],
                deployed_in_window: &["api:1.0.0"],
                held: &["api:1.0.0"],
                expected: &[
                    (
                        "api:1.0.0",
                        Keep,
                        &[
                            "legal hold",
                            "deployed now",
                            "deployed within the rollback window",
                        ],
                    ),
                    (
                        "api:0.9.0",
                        Delete,
                        &["no legal hold", "not deployed", "#2", "older than 0s"],
                    ),
                ],
            },
        );
    }

    #[test]
    fn durations_parse_and_print() {
        for (text, secs) in [
            ("30d", 30 * DAY),
            ("12h", 43_200),
            ("2w", 14 * DAY),
            ("90m", 5_400),
            ("45s", 45),
        ] {
            assert_eq!(
                parse_duration(text),
                Some(Duration::from_secs(secs)),
                "{text}"
            );
        }
        for bad in ["", "d", "30", "30y", "-1d", "1.5d"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
        assert_eq!(format_duration(Duration::from_secs(36 * 3600)), "36h");
        assert_eq!(format_duration(Duration::from_secs(0)), "0s");
    }

    #[test]
    fn policies_load_from_yaml_and_deployed_cannot_be_given_up() {
        let p = RetentionPolicy::from_yaml("keepLastPerService: 3\nkeepNewerThan: 7d\n").unwrap();
        assert_eq!(
            p,
            RetentionPolicy {
                keep_last_per_service: 3,
                keep_newer_than: Duration::from_secs(7 * DAY),
                ..RetentionPolicy::default()
            }
        );
        assert_eq!(
            RetentionPolicy::from_yaml("keepDeployed: false"),
            Err(RetentionPolicyError::DeployedNotKept)
        );
        let err = RetentionPolicy::from_yaml("keepNewerThan: soon").unwrap_err();
        assert!(
            err.to_string().contains("\"soon\" is not a duration"),
            "{err}"
        );
    }

    proptest! {
        #[test]
        fn retention_never_deletes_what_a_rule_keeps(
            artifacts in proptest::collection::vec((0u8..3, 0u8..12, 0i64..400), 0..40),
            held in proptest::collection::vec((0u8..3, 0u8..12), 0..6),
            deployed in proptest::collection::vec((0u8..3, 0u8..12), 0..6),
            in_window in proptest::collection::vec((0u8..3, 0u8..12), 0..6),
            keep_last in 0usize..5,
            newer_than_days in 0u64..200,
        ) {
            let r = |(s, v): (u8, u8)| ArtifactRef::new(format!("svc{s}"), format!("1.{v}.0"));
            let candidates: Vec<_> = artifacts.iter().map(|&(s, v, age)| RetentionCandidate {
                reference: r((s, v)),
                created: NOW - time::Duration::days(age),
            }).collect();
            let holds: Vec<_> = held.iter().map(|&h| Hold {
                service: r(h).service, version: r(h).version,
                reason: "r".into(), actor: "a".into(), since: NOW,
            }).collect();
            let deployed: BTreeSet<_> = deployed.into_iter().map(r).collect();
            let in_window: BTreeSet<_> = in_window.into_iter().map(r).collect();
            let policy = policy(keep_last, newer_than_days);
            let plan = plan_retention(&policy, &RetentionInputs {
                now: NOW, artifacts: &candidates, deployed_now: &deployed,
                deployed_in_rollback_window: &in_window, holds: &holds,
            });
            let distinct: BTreeSet<_> = candidates.iter().map(|c| c.reference.clone()).collect();
            prop_assert_eq!(plan.len(), distinct.len());
            for decision in &plan {
                prop_assert!(!decision.reasons.is_empty());
                if decision.decision != Delete { continue; }
                let reference = decision.reference();
                prop_assert!(!holds.iter().any(|h| h.reference() == reference));
                prop_assert!(!deployed.contains(&reference));
                prop_assert!(!in_window.contains(&reference));
                let created = candidates.iter().find(|c| c.reference == reference).unwrap().created;
                prop_assert!(created <= NOW - policy.keep_newer_than);
                // Newer, or as new and ranked first (equal build times are ordered by version).
                let created_of = |d: &ArtifactRef| candidates.iter().find(|c| &c.reference == d).unwrap().created;
                let newer = distinct.iter()
                    .filter(|d| d.service == reference.service)
                    .filter(|d| (created_of(d), &d.version) > (created, &reference.version))
                    .count();
                prop_assert!(newer >= keep_last, "deleted one of the {} newest", keep_last);
            }
        }
    }
}
