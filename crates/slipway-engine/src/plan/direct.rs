//! Direct: the new version's instances start, and once all are healthy they take all the
//! traffic at once; the old version stops. First deployments of every strategy go this way.

use super::{Action, Build, Desired, Edit, Group, Next, Observed, Phase, Plan, healthy, record};

/// Where a direct rollout stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// The new instances start.
    Starting,
}

/// Starts the new version's instances.
pub fn begin(desired: &Desired<'_>) -> Plan {
    start_new(desired, super::Stage::Direct(Stage::Starting))
}

/// Plans a direct rollout.
pub fn plan(desired: &Desired<'_>, stage: &Stage, observed: &Observed) -> Plan {
    match stage {
        Stage::Starting => match healthy(desired, observed) {
            Ok(mut actions) => {
                actions.extend(promote(desired, observed));
                Plan::finish(actions)
            }
            Err(plan) => plan,
        },
    }
}

/// Starts the new version's instances; the rollout then stands at `stage`.
pub(crate) fn start_new(desired: &Desired<'_>, stage: super::Stage) -> Plan {
    Plan {
        actions: vec![Action::Start {
            group: Group::Canary,
            build: Build::New,
            first: 0,
            count: desired.spec.instances,
        }],
        stage,
        next: Next::Now,
    }
}

/// Promotion: the new instances take all the traffic and become stable; the old ones stop.
pub(crate) fn promote(desired: &Desired<'_>, observed: &Observed) -> Vec<Action> {
    let replaced = observed
        .stable
        .as_ref()
        .map(|s| format!(", replacing {}", s.version))
        .unwrap_or_default();
    vec![
        Action::Route {
            stable: vec![Group::Canary],
            canary: vec![],
        },
        Action::Weight(0),
        Action::Stop(Group::Stable),
        Action::Adopt {
            build: Build::New,
            groups: vec![Group::Canary],
        },
        Action::Status(Edit::Phase(Phase::Promoted)),
        Action::Status(Edit::Weight(100)),
        record(format!("promoted {}{replaced}", desired.version)),
        Action::Save,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Started;
    use crate::plan::testing::{self, at, spec, stable};

    struct Row {
        name: &'static str,
        observed: Observed,
        expect: Plan,
    }

    fn check(row: Row) {
        let spec = spec(serde_json::json!({"direct": {}}));
        let desired = Desired {
            spec: &spec,
            version: "2.0.0",
        };
        assert_eq!(
            plan(&desired, &Stage::Starting, &row.observed),
            row.expect,
            "{}",
            row.name
        );
    }

    fn promoted(line: &str) -> Vec<Action> {
        let mut actions = vec![
            Action::AwaitRecords,
            record("2 instance(s) of 2.0.0 healthy"),
            Action::Save,
        ];
        actions.extend(testing::promoted(line));
        actions
    }

    #[test]
    fn direct_promotes_healthy_instances_and_fails_unhealthy_ones() {
        let rows = vec![
            Row {
                name: "healthy over a stable version: promoted, replacing it",
                observed: Observed {
                    started: Some(Started::Ready(2)),
                    stable: Some(stable()),
                    ..at(1_000)
                },
                expect: Plan::finish(promoted("promoted 2.0.0, replacing 1.0.0")),
            },
            Row {
                name: "healthy, first deployment",
                observed: Observed {
                    started: Some(Started::Ready(2)),
                    ..at(1_000)
                },
                expect: Plan::finish(promoted("promoted 2.0.0")),
            },
            Row {
                name: "failed health: the records are awaited, then the rollout fails",
                observed: Observed {
                    started: Some(Started::Failed("instance web#0: not healthy".into())),
                    ..at(1_000)
                },
                expect: Plan::fail(vec![Action::AwaitRecords], "instance web#0: not healthy"),
            },
        ];
        for row in rows {
            check(row);
        }
    }
}
