#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors

//! Approvals: separation of duties, digests, expiry, N of M, "all of", one person counted once.

use jiff::Timestamp;
use proptest::prelude::*;
use serde_json::{Value, json};
use slipway_change::approval::{
    Approval, ApprovalRuleSpec, ApprovalStatus, Decision, SodContext, evaluate_approvals,
};
use slipway_spec::validate_typed;
use std::collections::BTreeMap;

const NOW: &str = "2025-06-02T12:00:00Z";
const DIGEST: &str = "sha256:current";

fn rules(specs: &[(&str, Value)]) -> BTreeMap<String, ApprovalRuleSpec> {
    specs
        .iter()
        .map(|(n, s)| (n.to_string(), serde_json::from_value(s.clone()).unwrap()))
        .collect()
}

/// `who` in `groups` approved (`+`) or rejected (`-`) `hours_ago`, on `digest`.
fn approval(who: &str, groups: &[&str], hours_ago: i64, digest: &str, decision: char) -> Approval {
    let now: Timestamp = NOW.parse().unwrap();
    Approval {
        approver: who.into(),
        groups_of_approver: groups.iter().map(|g| g.to_string()).collect(),
        at: now - jiff::SignedDuration::from_hours(hours_ago),
        content_digest: digest.into(),
        decision: if decision == '+' {
            Decision::Approve
        } else {
            Decision::Reject
        },
    }
}

fn sod() -> SodContext {
    SodContext {
        requester: "alice".into(),
        authors: vec!["bob".into()],
        deployer: Some("dan".into()),
    }
}

struct Expect<'a> {
    satisfied: bool,
    /// (requirement, counted approvers)
    counted: &'a [(&'a str, &'a [&'a str])],
    /// (approver, start of the reason)
    ignored: &'a [(&'a str, &'a str)],
    rejected_by: &'a [&'a str],
}

fn check(
    name: &str,
    rules: &BTreeMap<String, ApprovalRuleSpec>,
    approvals: &[Approval],
    expect: Expect,
) -> ApprovalStatus {
    let status = evaluate_approvals(rules, approvals, &sod(), NOW.parse().unwrap(), DIGEST);
    assert_eq!(
        status.satisfied,
        expect.satisfied,
        "{name}: {}",
        status.summary()
    );
    let counted: Vec<(String, Vec<String>)> = status
        .per_requirement
        .iter()
        .map(|r| (r.requirement.clone(), r.counted.clone()))
        .collect();
    let want: Vec<(String, Vec<String>)> = expect
        .counted
        .iter()
        .map(|(r, c)| (r.to_string(), c.iter().map(|s| s.to_string()).collect()))
        .collect();
    assert_eq!(counted, want, "{name}");
    assert_eq!(
        status.ignored.len(),
        expect.ignored.len(),
        "{name}: {:?}",
        status.ignored
    );
    for (got, (who, why)) in status.ignored.iter().zip(expect.ignored) {
        assert_eq!(got.approver, *who, "{name}");
        assert!(
            got.reason.starts_with(why),
            "{name}: {:?} should start with {why:?}",
            got.reason
        );
    }
    assert_eq!(status.rejected_by, expect.rejected_by, "{name}");
    status
}

#[test]
fn separation_of_duties_refuses_requester_authors_and_deployer() {
    let r = rules(&[(
        "cab",
        json!({"requirements": [{"name": "leads", "team": "leads", "minApprovals": 1}]}),
    )]);
    check(
        "self-approval",
        &r,
        &[approval("alice", &["leads"], 1, DIGEST, '+')],
        Expect {
            satisfied: false,
            counted: &[("leads", &[])],
            ignored: &[("alice", "the requester cannot approve their own change")],
            rejected_by: &[],
        },
    );
    check(
        "author and deployer",
        &r,
        &[
            approval("bob", &["leads"], 1, DIGEST, '+'),
            approval("dan", &["leads"], 1, DIGEST, '+'),
        ],
        Expect {
            satisfied: false,
            counted: &[("leads", &[])],
            ignored: &[
                ("bob", "an author of the change cannot approve it"),
                ("dan", "the deployer cannot approve"),
            ],
            rejected_by: &[],
        },
    );
    check(
        "a colleague",
        &r,
        &[
            approval("alice", &["leads"], 1, DIGEST, '+'),
            approval("carol", &["leads"], 1, DIGEST, '+'),
        ],
        Expect {
            satisfied: true,
            counted: &[("leads", &["carol"])],
            ignored: &[("alice", "the requester cannot approve")],
            rejected_by: &[],
        },
    );
    // Turned off explicitly, and the status says so.
    let off = rules(&[(
        "solo-team",
        json!({"separationOfDuties": false, "requirements": [{"name": "leads", "team": "leads"}]}),
    )]);
    let status = check(
        "separation of duties off",
        &off,
        &[approval("alice", &["leads"], 1, DIGEST, '+')],
        Expect {
            satisfied: true,
            counted: &[("leads", &["alice"])],
            ignored: &[],
            rejected_by: &[],
        },
    );
    assert_eq!(status.separation_of_duties_off, vec!["solo-team"]);
}

#[test]
fn an_edit_after_approval_voids_it_and_expiry_voids_it() {
    let r = rules(&[(
        "cab",
        json!({"expiresAfter": "24h", "requirements": [{"name": "leads", "team": "leads"}]}),
    )]);
    check(
        "edited",
        &r,
        &[approval(
            "carol",
            &["leads"],
            1,
            "sha256:before-the-edit",
            '+',
        )],
        Expect {
            satisfied: false,
            counted: &[("leads", &[])],
            ignored: &[("carol", "the change was edited after this decision")],
            rejected_by: &[],
        },
    );
    check(
        "expired",
        &r,
        &[approval("carol", &["leads"], 25, DIGEST, '+')],
        Expect {
            satisfied: false,
            counted: &[("leads", &[])],
            ignored: &[("carol", "expired")],
            rejected_by: &[],
        },
    );
    check(
        "fresh",
        &r,
        &[approval("carol", &["leads"], 23, DIGEST, '+')],
        Expect {
            satisfied: true,
            counted: &[("leads", &["carol"])],
            ignored: &[],
            rejected_by: &[],
        },
    );
}

#[test]
fn n_of_m_all_of_and_several_requirements() {
    let high = rules(&[(
        "high-impact",
        json!({"requirements": [
            {"name": "security", "team": "security"},
            {"name": "dba", "team": "dba"},
            {"name": "infrastructure", "users": ["erin", "frank", "gina"], "minApprovals": 2},
        ]}),
    )]);
    check(
        "two of three infrastructure, security and dba",
        &high,
        &[
            approval("sam", &["security"], 1, DIGEST, '+'),
            approval("dora", &["dba"], 1, DIGEST, '+'),
            approval("erin", &[], 1, DIGEST, '+'),
            approval("gina", &[], 1, DIGEST, '+'),
        ],
        Expect {
            satisfied: true,
            counted: &[
                ("security", &["sam"]),
                ("dba", &["dora"]),
                ("infrastructure", &["erin", "gina"]),
            ],
            ignored: &[],
            rejected_by: &[],
        },
    );
    check(
        "one of three is not two",
        &high,
        &[
            approval("sam", &["security"], 1, DIGEST, '+'),
            approval("dora", &["dba"], 1, DIGEST, '+'),
            approval("erin", &[], 1, DIGEST, '+'),
            approval("zed", &["marketing"], 1, DIGEST, '+'),
        ],
        Expect {
            satisfied: false,
            counted: &[
                ("security", &["sam"]),
                ("dba", &["dora"]),
                ("infrastructure", &["erin"]),
            ],
            ignored: &[("zed", "not in any group a requirement draws from")],
            rejected_by: &[],
        },
    );
    let owners = rules(&[(
        "owners",
        json!({"requirements": [{"name": "owners", "users": ["frank", "grace"], "all": true}]}),
    )]);
    check(
        "all of: one missing",
        &owners,
        &[approval("frank", &[], 1, DIGEST, '+')],
        Expect {
            satisfied: false,
            counted: &[("owners", &["frank"])],
            ignored: &[],
            rejected_by: &[],
        },
    );
    check(
        "all of: both",
        &owners,
        &[
            approval("frank", &[], 1, DIGEST, '+'),
            approval("grace", &[], 2, DIGEST, '+'),
        ],
        Expect {
            satisfied: true,
            counted: &[("owners", &["frank", "grace"])],
            ignored: &[],
            rejected_by: &[],
        },
    );
}

#[test]
fn one_person_in_two_groups_counts_once_and_where_needed() {
    // abe is in dba and security; zoe only in dba. Approvers are taken in name order, so a
    // greedy pass would seat abe on dba and leave security empty; the matching moves abe to
    // security and seats zoe on dba.
    let r = rules(&[(
        "high-impact",
        json!({"requirements": [
            {"name": "dba", "team": "dba"},
            {"name": "security", "team": "security"},
        ]}),
    )]);
    check(
        "matching",
        &r,
        &[
            approval("abe", &["dba", "security"], 1, DIGEST, '+'),
            approval("zoe", &["dba"], 1, DIGEST, '+'),
        ],
        Expect {
            satisfied: true,
            counted: &[("dba", &["zoe"]), ("security", &["abe"])],
            ignored: &[],
            rejected_by: &[],
        },
    );
    check(
        "alone in two groups",
        &r,
        &[approval("sam", &["dba", "security"], 1, DIGEST, '+')],
        Expect {
            satisfied: false,
            counted: &[("dba", &["sam"]), ("security", &[])],
            ignored: &[],
            rejected_by: &[],
        },
    );
    // Across rules too.
    let two = rules(&[
        (
            "a",
            json!({"requirements": [{"name": "dba", "team": "dba"}]}),
        ),
        (
            "b",
            json!({"requirements": [{"name": "security", "team": "security"}]}),
        ),
    ]);
    check(
        "across rules",
        &two,
        &[approval("sam", &["dba", "security"], 1, DIGEST, '+')],
        Expect {
            satisfied: false,
            counted: &[("dba", &["sam"]), ("security", &[])],
            ignored: &[],
            rejected_by: &[],
        },
    );
}

#[test]
fn a_rejection_blocks_and_the_latest_decision_counts() {
    let r = rules(&[(
        "cab",
        json!({"requirements": [{"name": "leads", "team": "leads", "minApprovals": 1}]}),
    )]);
    check(
        "reject blocks",
        &r,
        &[
            approval("carol", &["leads"], 2, DIGEST, '+'),
            approval("erin", &["leads"], 1, DIGEST, '-'),
        ],
        Expect {
            satisfied: false,
            counted: &[("leads", &["carol"])],
            ignored: &[],
            rejected_by: &["erin"],
        },
    );
    check(
        "a later approval replaces a rejection",
        &r,
        &[
            approval("erin", &["leads"], 2, DIGEST, '-'),
            approval("erin", &["leads"], 1, DIGEST, '+'),
        ],
        Expect {
            satisfied: true,
            counted: &[("leads", &["erin"])],
            ignored: &[("erin", "superseded by their decision at")],
            rejected_by: &[],
        },
    );
    check(
        "a rejection of old content is void",
        &r,
        &[
            approval("erin", &["leads"], 2, "sha256:old", '-'),
            approval("carol", &["leads"], 1, DIGEST, '+'),
        ],
        Expect {
            satisfied: true,
            counted: &[("leads", &["carol"])],
            ignored: &[("erin", "the change was edited after this decision")],
            rejected_by: &[],
        },
    );
}

#[test]
fn requirements_that_skipped_validation_fail_closed() {
    for spec in [
        json!({"requirements": [{"name": "owners", "team": "leads", "all": true}]}),
        json!({"requirements": [{"name": "owners", "team": "leads", "minApprovals": 0}]}),
    ] {
        let r = rules(&[("bad", spec.clone())]);
        let status = evaluate_approvals(&r, &[], &sod(), NOW.parse().unwrap(), DIGEST);
        assert!(!status.satisfied, "{spec}");
    }
}

#[test]
fn rule_errors_name_the_field() {
    let cases: &[(Value, &[&str])] = &[
        (json!({"requirements": [{"name": "x", "team": "t"}]}), &[]),
        (
            json!({"requirements": []}),
            &["spec.requirements: must hold at least one requirement"],
        ),
        (
            json!({"requirements": [{"name": "x", "team": "t", "all": true}]}),
            &[
                "spec.requirements[0].all: needs an explicit users list: a team's members are not known when approvals are counted",
            ],
        ),
        (
            json!({"requirements": [{"name": "x", "users": ["a", "b"], "minApprovals": 3}]}),
            &["spec.requirements[0].minApprovals: 3 is more than the 2 users listed"],
        ),
        (
            json!({"requirements": [{"name": "x", "team": "t", "users": ["a"]}]}),
            &["spec.requirements[0]: give either team or users, not both"],
        ),
        (
            json!({"riskLevels": ["extreme"], "requirements": [{"name": "x", "team": "t"}]}),
            &[
                "spec.riskLevels[0]: unknown variant `extreme`, expected one of `low`, `moderate`, `high`, `very_high`",
            ],
        ),
        (
            json!({"expiresAfter": "-1h", "requirements": [{"name": "x", "team": "t"}]}),
            &["spec.expiresAfter: -1h is not a positive duration"],
        ),
    ];
    for (spec, expected) in cases {
        let got: Vec<String> = validate_typed::<ApprovalRuleSpec>(spec)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(got, *expected, "{spec}");
    }
}

/// Whether distinct approvers can fill every seat (brute force).
fn assignable(seats: &[Vec<usize>], used: &mut Vec<bool>, i: usize) -> bool {
    let Some(options) = seats.get(i) else {
        return true;
    };
    for &p in options {
        if !used[p] {
            used[p] = true;
            if assignable(seats, used, i + 1) {
                return true;
            }
            used[p] = false;
        }
    }
    false
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Nobody is counted twice, everyone counted is a member, and the rules are satisfied exactly
    /// when some assignment of distinct people fills every requirement.
    #[test]
    fn one_person_never_counts_twice(
        needs in proptest::collection::vec((0usize..3, 1u32..3), 1..4),
        memberships in proptest::collection::vec(proptest::collection::vec(any::<bool>(), 3), 0..6),
    ) {
        let teams = ["dba", "security", "infra"];
        let requirements: Vec<Value> = needs
            .iter()
            .enumerate()
            .map(|(i, (team, n))| json!({"name": format!("r{i}"), "team": teams[*team], "minApprovals": n}))
            .collect();
        let r = rules(&[("rule", json!({"requirements": requirements}))]);
        let people: Vec<String> = (0..memberships.len()).map(|i| format!("p{i}")).collect();
        let approvals: Vec<Approval> = memberships
            .iter()
            .zip(&people)
            .map(|(m, who)| {
                let groups: Vec<&str> = teams.iter().zip(m).filter(|(_, b)| **b).map(|(t, _)| *t).collect();
                approval(who, &groups, 1, DIGEST, '+')
            })
            .collect();
        let status = evaluate_approvals(&r, &approvals, &sod(), NOW.parse().unwrap(), DIGEST);

        let mut counted: Vec<&String> = status.per_requirement.iter().flat_map(|r| &r.counted).collect();
        let total = counted.len();
        counted.sort();
        counted.dedup();
        prop_assert_eq!(counted.len(), total, "someone counted twice: {}", status.summary());
        for (req, (team, _)) in status.per_requirement.iter().zip(&needs) {
            for who in &req.counted {
                let i: usize = who[1..].parse().unwrap();
                prop_assert!(memberships[i][*team], "{} is not in {}", who, teams[*team]);
            }
        }
        let seats: Vec<Vec<usize>> = needs
            .iter()
            .flat_map(|(team, n)| {
                let members: Vec<usize> = (0..memberships.len()).filter(|p| memberships[*p][*team]).collect();
                std::iter::repeat_n(members, *n as usize)
            })
            .collect();
        let possible = assignable(&seats, &mut vec![false; memberships.len()], 0);
        prop_assert_eq!(status.satisfied, possible, "{}", status.summary());
    }
}
