//! The release driver's plan: within a stage, which services start now (each as soon as the
//! services it depends on are promoted, at most `maxParallel` at once, those heading the
//! longest chains of dependants first), what a resuming release does with services it finds
//! done or ended, and when the stage is over.

use super::recovery::Resumed;
use super::status::{Phase, ReleaseStatus};
use slipway_domain::kinds::{HealthCheck, PipelineSpec, PipelineStage, RolloutSpec, ServiceSpec};
use std::collections::{BTreeMap, BTreeSet};

/// A stage's dependency graph and its parallelism.
#[derive(Debug, Clone, Copy)]
pub struct StageGraph<'a> {
    /// What each service of the release waits for (only services of the release).
    pub needs: &'a BTreeMap<String, BTreeSet<String>>,
    /// The length of the longest chain of dependants each service heads.
    pub lengths: &'a BTreeMap<String, usize>,
    /// Rollouts running at once, at most (at least one).
    pub parallel: usize,
}

/// Where a stage's rollouts stand.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StageProgress {
    pub started: BTreeSet<String>,
    pub done: BTreeSet<String>,
    pub failed: Vec<String>,
    pub running: usize,
    /// What a resuming release found of each service's rollout.
    pub resumed: BTreeMap<String, Resumed>,
    /// A rollout was left where it stood (shutdown, lost lease): the release is too.
    pub left: bool,
}

/// What the stage does next.
#[derive(Debug, Clone, PartialEq)]
pub enum StageStep {
    /// The service was promoted before a restart: done, nothing of it runs again.
    Adopt(String),
    /// The service's rollout ended otherwise before a restart: the stage fails.
    Ended(String, Phase),
    /// Deploy these services now, in this order.
    Deploy(Vec<String>),
    /// Wait until a running rollout is promoted or ends.
    Await,
    /// The stage's rollouts were left where they stood (shutdown, lost lease): leave the
    /// release in progress, for the next run to resume.
    Leave,
    /// Every rollout of the stage is over: fine, or why the stage failed.
    Over(Result<(), String>),
}

impl StageProgress {
    /// A service found promoted before a restart.
    pub fn adopt(&mut self, service: &str) {
        self.started.insert(service.to_string());
        self.done.insert(service.to_string());
    }

    /// A service found ended before a restart.
    pub fn ended(&mut self, service: &str, rollout: &str, phase: Phase) {
        self.started.insert(service.to_string());
        self.failed.push(format!("{rollout} ended {phase:?}"));
    }

    /// A service's rollout starts.
    pub fn deploying(&mut self, service: &str) {
        self.started.insert(service.to_string());
        self.running += 1;
    }

    /// A service's promotion is queued for writing: its dependants may start.
    pub fn promoted(&mut self, service: &str) {
        self.done.insert(service.to_string());
    }

    /// A service's rollout is over, or was left in `phase` (not a terminal one).
    pub fn finished(&mut self, service: &str, rollout: &str, phase: Phase) {
        self.running = self.running.saturating_sub(1);
        if phase == Phase::Promoted {
            self.done.insert(service.to_string());
        } else if !phase.is_terminal() {
            self.left = true;
        } else {
            self.failed.push(format!("{rollout} ended {phase:?}"));
        }
    }

    /// A rollout's task failed without a phase.
    pub fn lost(&mut self, reason: &str) {
        self.running = self.running.saturating_sub(1);
        self.failed.push(format!("a rollout task failed: {reason}"));
    }
}

/// The stage's next step.
pub fn next(graph: &StageGraph<'_>, progress: &StageProgress) -> StageStep {
    if progress.left {
        return match progress.running {
            0 => StageStep::Leave,
            _ => StageStep::Await,
        };
    }
    if progress.failed.is_empty() {
        let mut deploy = Vec::new();
        let free = graph.parallel.max(1).saturating_sub(progress.running);
        for service in ready(graph, progress) {
            match progress.resumed.get(&service) {
                Some(Resumed::Promoted) => return StageStep::Adopt(service),
                Some(Resumed::Ended(phase)) => return StageStep::Ended(service, *phase),
                _ if deploy.len() < free => deploy.push(service),
                _ => {}
            }
        }
        if !deploy.is_empty() {
            return StageStep::Deploy(deploy);
        }
    }
    if progress.running > 0 {
        return StageStep::Await;
    }
    if !progress.failed.is_empty() {
        return StageStep::Over(Err(progress.failed.join("; ")));
    }
    if progress.done.len() != graph.needs.len() {
        return StageStep::Over(Err("some services could not start".into()));
    }
    StageStep::Over(Ok(()))
}

/// Services not started whose dependencies are all done, longest chains first (then by name).
fn ready(graph: &StageGraph<'_>, progress: &StageProgress) -> Vec<String> {
    let mut ready: Vec<String> = graph
        .needs
        .iter()
        .filter(|(s, deps)| !progress.started.contains(*s) && deps.is_subset(&progress.done))
        .map(|(s, _)| s.clone())
        .collect();
    ready.sort_by_key(|s| std::cmp::Reverse(graph.lengths.get(s).copied().unwrap_or(0)));
    ready
}

/// The history line that marks a stage done (a resuming release skips such stages).
pub fn stage_done(environment: &str) -> String {
    format!("{environment}: done")
}

/// Whether a release's status says the stage in `environment` is done.
pub fn is_stage_done(status: &ReleaseStatus, environment: &str) -> bool {
    let done = stage_done(environment);
    status.history.iter().any(|h| h.what == done)
}

/// A release's status as it begins: the resumed one (a restart), or a fresh plan.
pub fn begin(
    resumed: Option<ReleaseStatus>,
    waves: &[Vec<String>],
    services: usize,
    now_ms: u64,
) -> ReleaseStatus {
    match resumed {
        Some(mut status) => {
            status.record(now_ms, "resumed");
            status
        }
        None => {
            let mut status = ReleaseStatus {
                phase: Phase::Progressing,
                waves: waves.to_vec(),
                rollouts: Vec::new(),
                history: Vec::new(),
                message: None,
            };
            status.record(
                now_ms,
                format!("planned {services} services in {} waves", waves.len()),
            );
            status
        }
    }
}

/// Stage `index` of a pipeline, its string fields rendered with its environment's variables.
pub fn render_stage(
    pipeline: &PipelineSpec,
    pipeline_name: &str,
    index: usize,
) -> Result<PipelineStage, String> {
    let declared = pipeline
        .stages
        .get(index)
        .ok_or_else(|| format!("pipeline {pipeline_name} has no stage {index}"))?;
    let variables =
        slipway_domain::template::variables_for(&pipeline.variables, &declared.environment);
    let value = serde_json::to_value(declared).map_err(|e| e.to_string())?;
    let place = format!("pipeline {pipeline_name} stages[{index}]");
    let rendered = slipway_domain::template::render_strings(&value, &variables, &place)?;
    serde_json::from_value(rendered).map_err(|e| format!("{place} after templating: {e}"))
}

/// What a stage deploys: one rollout per service of the release, named after it.
pub struct StageInputs<'a> {
    pub release: &'a str,
    /// Each service's artifact (the release's builds).
    pub artifacts: &'a BTreeMap<String, String>,
    pub services: &'a BTreeMap<String, ServiceSpec>,
    pub change: Option<&'a String>,
}

/// The rollouts of `stage`, by service: their names and specs.
pub fn stage_rollouts(
    inputs: &StageInputs<'_>,
    stage: &PipelineStage,
) -> Result<BTreeMap<String, (String, RolloutSpec)>, String> {
    let mut planned = BTreeMap::new();
    for (service, artifact) in inputs.artifacts {
        let listen = inputs
            .services
            .get(service)
            .and_then(|s| s.endpoints.get(&stage.environment))
            .ok_or_else(|| format!("service {service} has no endpoint in {}", stage.environment))?
            .clone();
        let rollout = RolloutSpec {
            service: service.clone(),
            environment: stage.environment.clone(),
            artifact: artifact.clone(),
            instances: stage.instances,
            listen,
            strategy: stage.strategy.clone(),
            health_check: HealthCheck::default(),
            guardrails: stage.guardrails.clone(),
            change: inputs.change.cloned(),
        };
        let name = rollout_name(inputs.release, &stage.environment, service);
        planned.insert(service.clone(), (name, rollout));
    }
    Ok(planned)
}

/// `release-environment-service`, cut to a valid resource name (63 characters at most, a
/// digest of the whole name keeping cut names apart).
pub fn rollout_name(release: &str, environment: &str, service: &str) -> String {
    let full = format!("{release}-{environment}-{service}");
    if full.len() <= 63 {
        return full;
    }
    let digest = slipway_domain::canonical::sha256_digest(full.as_bytes());
    let tail = digest
        .trim_start_matches("sha256:")
        .get(..8)
        .unwrap_or("0")
        .to_string();
    let head: String = full.chars().take(54).collect();
    format!("{}-{tail}", head.trim_end_matches('-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `a` ← `b` ← `c` (c needs b, b needs a), and `d` alone.
    fn chain() -> (BTreeMap<String, BTreeSet<String>>, BTreeMap<String, usize>) {
        let needs = BTreeMap::from([
            ("a".to_string(), BTreeSet::new()),
            ("b".to_string(), BTreeSet::from(["a".to_string()])),
            ("c".to_string(), BTreeSet::from(["b".to_string()])),
            ("d".to_string(), BTreeSet::new()),
        ]);
        let lengths = BTreeMap::from([
            ("a".to_string(), 3),
            ("b".to_string(), 2),
            ("c".to_string(), 1),
            ("d".to_string(), 1),
        ]);
        (needs, lengths)
    }

    struct Row {
        name: &'static str,
        parallel: usize,
        progress: StageProgress,
        expect: StageStep,
    }

    fn check(row: Row) {
        let (needs, lengths) = chain();
        let graph = StageGraph {
            needs: &needs,
            lengths: &lengths,
            parallel: row.parallel,
        };
        assert_eq!(next(&graph, &row.progress), row.expect, "{}", row.name);
    }

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn names(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn services_start_when_their_dependencies_are_promoted_longest_chains_first() {
        let rows = vec![
            Row {
                name: "at first, the services that wait for nothing, longest chain first",
                parallel: 10,
                progress: StageProgress::default(),
                expect: StageStep::Deploy(names(&["a", "d"])),
            },
            Row {
                name: "at most maxParallel at once: the longest chain wins the slot",
                parallel: 1,
                progress: StageProgress::default(),
                expect: StageStep::Deploy(names(&["a"])),
            },
            Row {
                name: "no free slot: wait",
                parallel: 2,
                progress: StageProgress {
                    started: set(&["a", "d"]),
                    running: 2,
                    ..StageProgress::default()
                },
                expect: StageStep::Await,
            },
            Row {
                name: "a dependency's promotion is queued: its dependant starts",
                parallel: 10,
                progress: StageProgress {
                    started: set(&["a", "d"]),
                    done: set(&["a"]),
                    running: 2,
                    ..StageProgress::default()
                },
                expect: StageStep::Deploy(names(&["b"])),
            },
            Row {
                name: "a failure stops new starts while running ones finish",
                parallel: 10,
                progress: StageProgress {
                    started: set(&["a", "d"]),
                    done: set(&["a"]),
                    failed: names(&["rel-load-d ended RolledBack"]),
                    running: 1,
                    ..StageProgress::default()
                },
                expect: StageStep::Await,
            },
            Row {
                name: "then the stage is over with what failed",
                parallel: 10,
                progress: StageProgress {
                    started: set(&["a", "d"]),
                    done: set(&["a"]),
                    failed: names(&["rel-load-d ended RolledBack"]),
                    running: 0,
                    ..StageProgress::default()
                },
                expect: StageStep::Over(Err("rel-load-d ended RolledBack".into())),
            },
            Row {
                name: "every service done: the stage is over",
                parallel: 10,
                progress: StageProgress {
                    started: set(&["a", "b", "c", "d"]),
                    done: set(&["a", "b", "c", "d"]),
                    ..StageProgress::default()
                },
                expect: StageStep::Over(Ok(())),
            },
            Row {
                name: "nothing running, nothing startable, not all done: failed",
                parallel: 10,
                progress: StageProgress {
                    started: set(&["a", "b", "d"]),
                    done: set(&["a", "d"]),
                    ..StageProgress::default()
                },
                expect: StageStep::Over(Err("some services could not start".into())),
            },
        ];
        for row in rows {
            check(row);
        }
    }

    #[test]
    fn a_resuming_release_adopts_finished_services_and_stops_at_ended_ones() {
        let rows = vec![
            Row {
                name: "resuming: a service promoted before the restart is adopted",
                parallel: 10,
                progress: StageProgress {
                    resumed: BTreeMap::from([("a".to_string(), Resumed::Promoted)]),
                    ..StageProgress::default()
                },
                expect: StageStep::Adopt("a".into()),
            },
            Row {
                name: "resuming: an adopted service unlocks its dependants",
                parallel: 10,
                progress: StageProgress {
                    started: set(&["a"]),
                    done: set(&["a"]),
                    resumed: BTreeMap::from([
                        ("a".to_string(), Resumed::Promoted),
                        ("b".to_string(), Resumed::Deploy),
                    ]),
                    ..StageProgress::default()
                },
                expect: StageStep::Deploy(names(&["b", "d"])),
            },
            Row {
                name: "resuming: a rollout that had ended stops the stage",
                parallel: 10,
                progress: StageProgress {
                    resumed: BTreeMap::from([("d".to_string(), Resumed::Ended(Phase::Failed))]),
                    ..StageProgress::default()
                },
                expect: StageStep::Ended("d".into(), Phase::Failed),
            },
        ];
        for row in rows {
            check(row);
        }
    }

    #[test]
    fn a_rollout_left_by_a_shutdown_leaves_the_release_to_resume() {
        let rows = vec![
            Row {
                name: "left while others run: wait for them, start nothing",
                parallel: 10,
                progress: StageProgress {
                    started: set(&["a", "d"]),
                    done: set(&["a"]),
                    running: 1,
                    left: true,
                    ..StageProgress::default()
                },
                expect: StageStep::Await,
            },
            Row {
                name: "left, nothing running: the release is left in progress, not failed",
                parallel: 10,
                progress: StageProgress {
                    started: set(&["a", "d"]),
                    done: set(&["a"]),
                    left: true,
                    ..StageProgress::default()
                },
                expect: StageStep::Leave,
            },
        ];
        for row in rows {
            check(row);
        }
        let mut progress = StageProgress::default();
        progress.deploying("a");
        progress.finished("a", "rel-load-a", Phase::Progressing);
        assert!(progress.left && progress.failed.is_empty(), "{progress:?}");
    }

    #[test]
    fn progress_follows_what_happens_to_the_rollouts() {
        let mut progress = StageProgress::default();
        progress.deploying("a");
        progress.deploying("d");
        assert_eq!(progress.running, 2);
        progress.promoted("a");
        assert!(progress.done.contains("a"));
        progress.finished("a", "rel-load-a", Phase::Promoted);
        progress.finished("d", "rel-load-d", Phase::RolledBack);
        progress.ended("b", "rel-load-b", Phase::Failed);
        progress.lost("panicked");
        assert_eq!(progress.running, 0);
        assert_eq!(
            progress.failed,
            names(&[
                "rel-load-d ended RolledBack",
                "rel-load-b ended Failed",
                "a rollout task failed: panicked"
            ])
        );
    }

    #[test]
    fn rollout_names_are_cut_to_a_valid_length_and_stay_apart() {
        assert_eq!(rollout_name("r1", "prod", "web"), "r1-prod-web");
        let long = "x".repeat(80);
        let a = rollout_name("r1", "prod", &long);
        let b = rollout_name("r2", "prod", &long);
        assert!(a.len() <= 63, "{a}");
        assert_ne!(a, b);
        let status = ReleaseStatus {
            phase: Phase::Progressing,
            waves: vec![],
            rollouts: vec![],
            history: vec![super::super::status::StepRecord {
                at_ms: 1,
                what: stage_done("staging"),
            }],
            message: None,
        };
        assert!(is_stage_done(&status, "staging"));
        assert!(!is_stage_done(&status, "prod"));
    }
}
