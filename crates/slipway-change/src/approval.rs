//! Approvals: rules per environment, risk level and change type (kind `ApprovalRule`), and their
//! evaluation with separation of duties.
//!
//! A rule holds requirements; each requirement draws approvers from a team or an explicit user
//! list and needs `minApprovals` of them (N of M, default 1) or `all` of the listed users.
//! Evaluation:
//! - an approval bound to another content digest is void: the change was edited after it;
//! - an approval older than the rule's `expiresAfter` is void for that rule; one dated after `now`
//!   is void;
//! - a person's latest decision replaces their earlier ones;
//! - the requester, the authors and the deployer cannot approve (separation of duties, on unless a
//!   rule turns it off explicitly, which the status reports);
//! - one person counts once over all requirements of all rules: people are assigned to
//!   requirements by a maximum bipartite matching, so someone in two groups is placed where
//!   they make the rules satisfiable;
//! - any valid rejection by someone who could approve blocks.
//!
//! There is no administrator bypass: nothing but approvals satisfies a requirement.

use crate::calendar::show_duration;
use crate::request::ChangeType;
use crate::risk::RiskLevel;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use slipway_spec::Diagnostic;
use slipway_spec::SpecRules;
use std::collections::{BTreeMap, BTreeSet};

/// An approval rule (kind `ApprovalRule`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApprovalRuleSpec {
    /// The environments the rule applies to; every environment when empty.
    #[serde(default)]
    pub environments: Vec<String>,
    /// The risk levels the rule applies to; every level when empty.
    #[serde(default)]
    pub risk_levels: Vec<RiskLevel>,
    /// The change types the rule applies to; every type when empty.
    #[serde(default)]
    pub change_types: Vec<ChangeType>,
    pub requirements: Vec<Requirement>,
    /// How long an approval counts for this rule, e.g. `72h`; forever when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_after: Option<SignedDuration>,
    /// Separation of duties; on unless set to `false` explicitly.
    #[serde(default = "separation_of_duties_default")]
    pub separation_of_duties: bool,
}

fn separation_of_duties_default() -> bool {
    true
}

/// One group of approvers and how many of them must approve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Requirement {
    pub name: String,
    /// Approvers are the members of this team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Approvers are these users.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    /// N of the group must approve (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_approvals: Option<u32>,
    /// Every listed user must approve (needs `users`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all: bool,
}

impl Requirement {
    /// How many distinct approvals the requirement needs; never less than one, so a requirement
    /// that slipped past validation (`all` of nobody, zero of a team) fails closed.
    pub fn needed(&self) -> usize {
        let n = if self.all {
            self.users.len()
        } else {
            self.min_approvals.unwrap_or(1) as usize
        };
        n.max(1)
    }

    fn draws_from(&self, approver: &str, groups: &[String]) -> bool {
        match &self.team {
            Some(team) => groups.iter().any(|g| g == team),
            None => self.users.iter().any(|u| u == approver),
        }
    }
}

impl ApprovalRuleSpec {
    /// Whether the rule applies to a change of `change_type` and `level` in `environment`.
    pub fn applies_to(&self, environment: &str, level: RiskLevel, change_type: ChangeType) -> bool {
        (self.environments.is_empty() || self.environments.iter().any(|e| e == environment))
            && (self.risk_levels.is_empty() || self.risk_levels.contains(&level))
            && (self.change_types.is_empty() || self.change_types.contains(&change_type))
    }

    /// Semantic checks; paths start at `spec`.
    pub fn validate(&self) -> Vec<Diagnostic> {
        let mut d = Vec::new();
        if self.requirements.is_empty() {
            d.push(Diagnostic::new(
                "spec.requirements",
                "must hold at least one requirement",
            ));
        }
        let mut names = BTreeSet::new();
        for (i, r) in self.requirements.iter().enumerate() {
            let path = format!("spec.requirements[{i}]");
            if r.name.trim().is_empty() {
                d.push(Diagnostic::new(format!("{path}.name"), "must not be empty"));
            } else if !names.insert(r.name.as_str()) {
                d.push(Diagnostic::new(
                    format!("{path}.name"),
                    format!("{:?} is used twice", r.name),
                ));
            }
            match (&r.team, r.users.is_empty()) {
                (Some(_), false) => d.push(Diagnostic::new(
                    path.clone(),
                    "give either team or users, not both",
                )),
                (None, true) => d.push(Diagnostic::new(
                    path.clone(),
                    "must draw approvers from a team or a users list",
                )),
                _ => {}
            }
            d.extend(crate::request::duplicates(
                &format!("{path}.users"),
                &r.users,
            ));
            if r.all {
                if r.min_approvals.is_some() {
                    d.push(Diagnostic::new(
                        format!("{path}.all"),
                        "give either all or minApprovals, not both",
                    ));
                }
                if r.team.is_some() {
                    d.push(Diagnostic::new(
                        format!("{path}.all"),
                        "needs an explicit users list: a team's members are not known when approvals are counted",
                    ));
                }
            }
            if let Some(n) = r.min_approvals {
                if n == 0 {
                    d.push(Diagnostic::new(
                        format!("{path}.minApprovals"),
                        "must be at least 1",
                    ));
                } else if !r.users.is_empty() && n as usize > r.users.len() {
                    d.push(Diagnostic::new(
                        format!("{path}.minApprovals"),
                        format!("{n} is more than the {} users listed", r.users.len()),
                    ));
                } else if n > 20 {
                    d.push(Diagnostic::new(
                        format!("{path}.minApprovals"),
                        format!("{n} is more than the maximum of 20"),
                    ));
                }
            }
        }
        if let Some(e) = self.expires_after
            && e <= SignedDuration::ZERO
        {
            d.push(Diagnostic::new(
                "spec.expiresAfter",
                format!("{} is not a positive duration", show_duration(e)),
            ));
        }
        d.extend(crate::request::duplicates(
            "spec.environments",
            &self.environments,
        ));
        d
    }
}

impl SpecRules for ApprovalRuleSpec {
    fn rules(&self) -> Vec<Diagnostic> {
        self.validate()
    }
}

/// Approve or reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Approve,
    Reject,
}

/// One person's recorded decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    pub approver: String,
    /// The teams the approver belonged to when deciding.
    pub groups_of_approver: Vec<String>,
    pub at: Timestamp,
    /// The change's content digest the decision was made on.
    pub content_digest: String,
    pub decision: Decision,
}

/// Who may not approve under separation of duties.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SodContext {
    pub requester: String,
    pub authors: Vec<String>,
    /// Who triggers the deployment, when known.
    pub deployer: Option<String>,
}

impl SodContext {
    /// Why `person` may not approve, if they may not.
    fn conflict(&self, person: &str) -> Option<&'static str> {
        if person == self.requester {
            Some("the requester cannot approve their own change (separation of duties)")
        } else if self.authors.iter().any(|a| a == person) {
            Some("an author of the change cannot approve it (separation of duties)")
        } else if self.deployer.as_deref() == Some(person) {
            Some("the deployer cannot approve the change (separation of duties)")
        } else {
            None
        }
    }
}

/// How one requirement stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequirementStatus {
    pub rule: String,
    pub requirement: String,
    pub needed: usize,
    /// The approvers assigned to this requirement; each person is counted in one place only.
    pub counted: Vec<String>,
    /// Everyone whose approval could count here.
    pub eligible: Vec<String>,
    pub satisfied: bool,
}

/// A decision that does not count, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IgnoredApproval {
    pub approver: String,
    pub at: Timestamp,
    pub reason: String,
}

/// The outcome of [`evaluate_approvals`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalStatus {
    pub satisfied: bool,
    pub per_requirement: Vec<RequirementStatus>,
    /// People whose valid rejection blocks the change.
    pub rejected_by: Vec<String>,
    pub ignored: Vec<IgnoredApproval>,
    /// Rules that turned separation of duties off.
    pub separation_of_duties_off: Vec<String>,
}

impl ApprovalStatus {
    /// One line: each requirement's count and who rejected.
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = self
            .per_requirement
            .iter()
            .map(|r| {
                format!(
                    "{}/{}: {} of {}{}",
                    r.rule,
                    r.requirement,
                    r.counted.len(),
                    r.needed,
                    if r.counted.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", r.counted.join(", "))
                    }
                )
            })
            .collect();
        if parts.is_empty() {
            parts.push("no approval rules apply".into());
        }
        if !self.rejected_by.is_empty() {
            parts.push(format!("rejected by {}", self.rejected_by.join(", ")));
        }
        parts.join("; ")
    }
}

/// One place an approver can be counted: a requirement's seat.
struct Seat<'a> {
    rule: &'a str,
    spec: &'a ApprovalRuleSpec,
    requirement: usize,
    /// For an `all` requirement, the one user this seat is for.
    only: Option<&'a str>,
}

/// Evaluates `approvals` against `rules` (by name) for a change whose content digest is
/// `current_digest`, at `now`.
pub fn evaluate_approvals(
    rules: &BTreeMap<String, ApprovalRuleSpec>,
    approvals: &[Approval],
    sod: &SodContext,
    now: Timestamp,
    current_digest: &str,
) -> ApprovalStatus {
    let mut ignored = Vec::new();
    let mut ignore = |a: &Approval, reason: String| {
        ignored.push(IgnoredApproval {
            approver: a.approver.clone(),
            at: a.at,
            reason,
        })
    };

    // Each person's latest valid decision.
    let mut latest: BTreeMap<&str, &Approval> = BTreeMap::new();
    for a in approvals {
        if a.content_digest != current_digest {
            ignore(
                a,
                format!(
                    "the change was edited after this decision (made on {}, now {current_digest})",
                    a.content_digest
                ),
            );
            continue;
        }
        if a.at > now {
            ignore(a, format!("dated {} which is after now ({now})", a.at));
            continue;
        }
        match latest.get(a.approver.as_str()) {
            Some(prev) if prev.at > a.at => {
                ignore(a, format!("superseded by their decision at {}", prev.at));
            }
            Some(prev) => {
                let prev = *prev;
                ignore(prev, format!("superseded by their decision at {}", a.at));
                latest.insert(&a.approver, a);
            }
            None => {
                latest.insert(&a.approver, a);
            }
        }
    }

    let seats: Vec<Seat> = rules
        .iter()
        .flat_map(|(name, spec)| {
            spec.requirements
                .iter()
                .enumerate()
                .flat_map(move |(i, r)| {
                    let seats: Vec<Seat> = if r.all {
                        r.users
                            .iter()
                            .map(|u| Seat {
                                rule: name,
                                spec,
                                requirement: i,
                                only: Some(u.as_str()),
                            })
                            .collect()
                    } else {
                        // More seats than decisions can never fill; this bounds the work.
                        (0..r.needed().min(approvals.len() + 1))
                            .map(|_| Seat {
                                rule: name,
                                spec,
                                requirement: i,
                                only: None,
                            })
                            .collect()
                    };
                    seats
                })
        })
        .collect();

    // Why `a` cannot count for rule `spec`'s requirement `i`, if it cannot.
    let bar = |a: &Approval, spec: &ApprovalRuleSpec, i: usize| -> Option<String> {
        let r = spec.requirements.get(i)?;
        if !r.draws_from(&a.approver, &a.groups_of_approver) {
            return Some("not in any group a requirement draws from".into());
        }
        if spec.separation_of_duties
            && let Some(why) = sod.conflict(&a.approver)
        {
            return Some(why.into());
        }
        if let Some(limit) = spec.expires_after
            && a.at.checked_add(limit).map_or(true, |end| end <= now)
        {
            return Some(format!(
                "expired: approvals count for {}",
                show_duration(limit)
            ));
        }
        None
    };
    let can_sit = |a: &Approval, seat: &Seat| {
        seat.only.is_none_or(|u| u == a.approver) && bar(a, seat.spec, seat.requirement).is_none()
    };

    let mut rejected_by = Vec::new();
    let mut approvers: Vec<&Approval> = Vec::new();
    for a in latest.values() {
        let reasons: Vec<String> = rules
            .values()
            .flat_map(|spec| (0..spec.requirements.len()).map(move |i| (spec, i)))
            .filter_map(|(spec, i)| bar(a, spec, i))
            .collect();
        let could_sit = seats.iter().any(|s| can_sit(a, s));
        match (a.decision, could_sit) {
            (Decision::Reject, true) => rejected_by.push(a.approver.clone()),
            (Decision::Approve, true) => approvers.push(a),
            (_, false) => {
                let reason = reasons
                    .iter()
                    .find(|r| !r.starts_with("not in any group"))
                    .or(reasons.first())
                    .cloned()
                    .unwrap_or_else(|| "no approval rules apply".into());
                ignore(a, reason);
            }
        }
    }

    // Maximum matching of approvers to seats (augmenting paths).
    let mut seat_of: Vec<Option<usize>> = vec![None; seats.len()];
    for person in 0..approvers.len() {
        let mut visited = vec![false; seats.len()];
        augment(
            person,
            &approvers,
            &seats,
            &can_sit,
            &mut seat_of,
            &mut visited,
        );
    }

    let mut per_requirement = Vec::new();
    for (name, spec) in rules {
        for (i, r) in spec.requirements.iter().enumerate() {
            let mut counted: Vec<String> = seats
                .iter()
                .zip(&seat_of)
                .filter(|(s, _)| s.rule == name && s.requirement == i)
                .filter_map(|(_, p)| p.and_then(|p| approvers.get(p)))
                .map(|a| a.approver.clone())
                .collect();
            counted.sort();
            let eligible: Vec<String> = approvers
                .iter()
                .filter(|a| bar(a, spec, i).is_none())
                .filter(|a| !r.all || r.users.contains(&a.approver))
                .map(|a| a.approver.clone())
                .collect();
            per_requirement.push(RequirementStatus {
                rule: name.clone(),
                requirement: r.name.clone(),
                needed: r.needed(),
                satisfied: counted.len() >= r.needed(),
                counted,
                eligible,
            });
        }
    }
    ApprovalStatus {
        satisfied: rejected_by.is_empty() && per_requirement.iter().all(|r| r.satisfied),
        per_requirement,
        rejected_by,
        ignored,
        separation_of_duties_off: rules
            .iter()
            .filter(|(_, s)| !s.separation_of_duties)
            .map(|(n, _)| n.clone())
            .collect(),
    }
}

/// Tries to seat `person`, moving others along an augmenting path. The recursion is as deep as
/// the number of approvers, at most.
fn augment(
    person: usize,
    approvers: &[&Approval],
    seats: &[Seat],
    can_sit: &dyn Fn(&Approval, &Seat) -> bool,
    seat_of: &mut [Option<usize>],
    visited: &mut [bool],
) -> bool {
    let Some(a) = approvers.get(person) else {
        return false;
    };
    for (s, seat) in seats.iter().enumerate() {
        if visited[s] || !can_sit(a, seat) {
            continue;
        }
        visited[s] = true;
        let free = match seat_of[s] {
            None => true,
            Some(other) => augment(other, approvers, seats, can_sit, seat_of, visited),
        };
        if free {
            seat_of[s] = Some(person);
            return true;
        }
    }
    false
}

/// The rules (by name) that apply to a change of `change_type` and `level` in `environment`.
pub fn applicable_rules(
    rules: &BTreeMap<String, ApprovalRuleSpec>,
    environment: &str,
    level: RiskLevel,
    change_type: ChangeType,
) -> BTreeMap<String, ApprovalRuleSpec> {
    rules
        .iter()
        .filter(|(_, r)| r.applies_to(environment, level, change_type))
        .map(|(n, r)| (n.clone(), r.clone()))
        .collect()
}
