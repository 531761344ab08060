//! The thin executor: applies a planner's actions to the world, through the target (start,
//! stop), the router (listeners, backends, weights, the experiment router), the gate, the
//! analysis sources and the status writer. It decides nothing: what to do, and in which
//! order, is the plan's.

use crate::EngineError;
use crate::observe::{WatchTarget, Watcher};
use crate::plan::{Action, Build, Edit, Group, Phase, SmokeAnswer, Started, WatchSpec};
use crate::reconcile::Rollout;
use crate::rollout::{lock, now_ms};
use crate::target::Instance;
use serde_json::Value;
use slipway_domain::guardrail::{Guardrail, parse_duration_ms};
use slipway_domain::kinds::{ArtifactSpec, MetricSourceSpec, Strategy};
use slipway_gate::{GateRequest, GateVerdict};
use slipway_router::{CanaryWeight, Instance as RoutedInstance, RouterError, Version};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The experiment router's service beside `key`'s.
pub(crate) fn experiment_key(key: &str) -> String {
    format!("{key}.experiment")
}

/// Instances as the router sees them (ready: they passed their health checks).
pub(crate) fn routed(list: &[Instance]) -> Vec<RoutedInstance> {
    list.iter()
        .map(|i| RoutedInstance::ready(i.id.clone(), i.addr))
        .collect()
}

pub(crate) fn router_error(key: &str) -> impl Fn(RouterError) -> EngineError + '_ {
    move |e| EngineError::Instance {
        instance: key.to_string(),
        reason: format!("router: {e}"),
    }
}

impl Rollout<'_> {
    /// Applies one action.
    pub async fn apply(&mut self, action: Action) -> Result<(), EngineError> {
        match action {
            Action::AskGate => self.ask_gate().await?,
            Action::OpenListener => self.open_listener().await?,
            Action::Start {
                group,
                build,
                first,
                count,
            } => self.start(group, build, first..first + count).await,
            Action::AwaitRecords => {
                let records = std::mem::take(&mut *lock(&self.records));
                for record in records {
                    record.await?;
                }
            }
            Action::Route { stable, canary } => {
                let (stable, canary) = (self.routed_groups(&stable), self.routed_groups(&canary));
                let router = &self.engine.router;
                router
                    .set_backends(&self.key, stable, canary)
                    .await
                    .map_err(router_error(&self.key))?;
            }
            Action::Weight(percent) => self.weigh(&self.key.clone(), percent).await?,
            Action::OpenExperiment => self.open_experiment().await?,
            Action::CloseExperiment => {
                self.experiment = None;
                let experiment = experiment_key(&self.key);
                let _ = self.engine.router.remove_service(&experiment).await;
            }
            Action::Retire { count } => {
                let stable = self.groups.entry(Group::Stable).or_default();
                let leaving: Vec<Instance> =
                    stable.drain(..(count as usize).min(stable.len())).collect();
                self.groups
                    .entry(Group::Retiring)
                    .or_default()
                    .extend(leaving);
            }
            Action::Stop(group) => {
                for i in self.groups.remove(&group).unwrap_or_default() {
                    self.engine.target.stop(&i.id).await;
                }
            }
            Action::Adopt { build, groups } => {
                let version = self.version_of(build);
                let instances = groups
                    .iter()
                    .flat_map(|g| self.groups.get(g).cloned().unwrap_or_default())
                    .collect();
                self.engine.set_stable(self.key.clone(), version, instances);
            }
            Action::Watch(spec) => self.watch(spec),
            Action::Analyse { step } => self.analyse(step).await,
            Action::Smoke { path } => self.smoke(&path).await,
            Action::Status(edit) => self.edit(edit).await,
            Action::Save => self.save().await?,
            Action::SaveQueued => {
                let durable = self.engine.enqueue(&self.name, &self.status)?;
                lock(&self.records).push(Box::pin(durable));
            }
            Action::Fail(message) => return Err(EngineError::Refused(message)),
        }
        Ok(())
    }

    /// Asks the gate. An allowing decision's record is awaited before anything is routed
    /// (`AwaitRecords`); a refusal or a wait is acted on only once it is on record.
    async fn ask_gate(&mut self) -> Result<(), EngineError> {
        let request = GateRequest {
            subject_kind: "Rollout".into(),
            subject: self.name.clone(),
            service: self.spec.service.clone(),
            environment: self.spec.environment.clone(),
            artifact: self.spec.artifact.clone(),
            change: self.spec.change.clone(),
            step: None,
        };
        let (verdict, recorded) = self.engine.gate().decide_deferred(&request).await?;
        let recorded: crate::reconcile::Durable =
            Box::pin(async move { recorded.await.map_err(EngineError::from) });
        if let GateVerdict::Allow { .. } = verdict {
            lock(&self.records).push(recorded);
        } else {
            recorded.await?;
        }
        self.outcomes.gate = Some(verdict);
        Ok(())
    }

    async fn open_listener(&self) -> Result<(), EngineError> {
        let listen: SocketAddr = self
            .spec
            .listen
            .parse()
            .map_err(|_| EngineError::Instance {
                instance: self.key.clone(),
                reason: format!("bad listen address {}", self.spec.listen),
            })?;
        self.engine
            .router
            .ensure_service(&self.key, listen)
            .await
            .map_err(router_error(&self.key))?;
        Ok(())
    }

    /// Starts instances of `build` into `group`; the outcome is observed next.
    async fn start(&mut self, group: Group, build: Build, indexes: std::ops::Range<u32>) {
        let started = match self.build_of(build).await {
            Ok((artifact, program)) => {
                self.engine
                    .start_instances(&self.spec, &artifact, &program, indexes)
                    .await
            }
            Err(e) => Err(e),
        };
        self.outcomes.started = Some(match started {
            Ok(list) => {
                let count = list.len() as u32;
                self.groups.entry(group).or_default().extend(list);
                Started::Ready(count)
            }
            Err(e) => Started::Failed(e.to_string()),
        });
    }

    /// The artifact and program of a build: the rollout's own, or the stable version's.
    async fn build_of(&self, build: Build) -> Result<(ArtifactSpec, PathBuf), EngineError> {
        match build {
            Build::New => Ok((self.artifact.clone(), self.program.clone())),
            Build::Old => {
                let version = self.version_of(Build::Old);
                self.engine
                    .restore_artifact(&self.key, &version)
                    .await
                    .ok_or_else(|| EngineError::Artifact {
                        artifact: version,
                        reason: "the stable version's artifact is gone".into(),
                    })
            }
        }
    }

    fn version_of(&self, build: Build) -> String {
        match (build, &self.previous) {
            (Build::Old, Some(previous)) => previous.version.clone(),
            _ => self.artifact.version.clone(),
        }
    }

    /// The router's view of groups' instances (the experiment: its router's entry).
    fn routed_groups(&self, groups: &[Group]) -> Vec<RoutedInstance> {
        let mut out = Vec::new();
        for group in groups {
            match (group, &self.experiment) {
                (Group::Experiment, Some(entry)) => out.push(entry.clone()),
                (Group::Experiment, None) => {}
                (group, _) => out.extend(routed(self.groups.get(group).map_or(&[][..], |v| v))),
            }
        }
        out
    }

    async fn weigh(&self, key: &str, percent: u32) -> Result<(), EngineError> {
        let weight = CanaryWeight::from_percent(percent).map_err(router_error(key))?;
        self.engine
            .router
            .set_canary_weight(key, weight)
            .await
            .map_err(router_error(key))
    }

    /// The experiment router: its own listener, the baseline and the canary at 50% each.
    async fn open_experiment(&mut self) -> Result<(), EngineError> {
        let key = experiment_key(&self.key);
        let router = &self.engine.router;
        let addr = router
            .ensure_service(&key, SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .map_err(router_error(&key))?;
        let (baseline, canary) = (
            self.routed_groups(&[Group::Baseline]),
            self.routed_groups(&[Group::Canary]),
        );
        router
            .set_backends(&key, baseline, canary)
            .await
            .map_err(router_error(&key))?;
        self.weigh(&key, 50).await?;
        self.experiment = Some(RoutedInstance::ready(
            format!("experiment:{}", self.key),
            addr,
        ));
        Ok(())
    }

    /// Begins measuring a held step.
    fn watch(&mut self, spec: WatchSpec) {
        let routed = if spec.experiment {
            experiment_key(&self.key)
        } else {
            self.key.clone()
        };
        let analysis = match (&self.spec.strategy, spec.analysis) {
            (Strategy::Canary { steps, .. }, Some(step)) => {
                steps.get(step).and_then(|s| s.analysis.clone())
            }
            _ => None,
        };
        self.watcher = Some(Watcher::new(WatchTarget {
            routed,
            side: match spec.side {
                crate::plan::Side::Canary => Version::Canary,
                crate::plan::Side::Stable => Version::Stable,
            },
            guardrails: self
                .spec
                .guardrails
                .iter()
                .filter_map(|g| g.parse::<Guardrail>().ok())
                .collect(),
            window: self.engine.guardrail_window,
            probes: spec
                .probes
                .and_then(|g| self.groups.get(&g).cloned())
                .unwrap_or_default(),
            check: self.spec.health_check.clone(),
            analysis,
            started_ms: now_ms(),
        }));
    }

    /// Judges a canary step from the samples the watcher collected, or from its source.
    async fn analyse(&mut self, step: usize) {
        let Some(watcher) = &self.watcher else {
            return;
        };
        let Some(sampling) = watcher.sampling() else {
            return;
        };
        let spec = &sampling.spec;
        let weight = match &self.spec.strategy {
            Strategy::Canary { steps, .. } => steps.get(step).map(|s| s.weight).unwrap_or(0),
            _ => 0,
        };
        let context = crate::analysis::SeriesContext {
            service: self.spec.service.clone(),
            environment: self.spec.environment.clone(),
            routed: watcher.routed.clone(),
            start_ms: watcher.started_ms,
            end_ms: now_ms(),
            step_ms: parse_duration_ms(&spec.interval).unwrap_or(1000),
        };
        let label = format!("{} step {weight}%", self.name);
        let http = self.engine.http().clone();
        let verdict = match &spec.source {
            MetricSourceSpec::Builtin => {
                crate::analysis::judge(spec, &sampling.samples, &context, &label).await
            }
            MetricSourceSpec::Prometheus { url } => {
                let source = crate::analysis::PrometheusSource {
                    url: url.clone(),
                    http,
                };
                crate::analysis::judge(spec, &source, &context, &label).await
            }
            MetricSourceSpec::Webhook { url } => {
                let source = crate::analysis::WebhookSource {
                    url: url.clone(),
                    http,
                };
                crate::analysis::judge(spec, &source, &context, &label).await
            }
        };
        self.outcomes.analysis = Some(crate::plan::AnalysisVerdict {
            passed: verdict.passed,
            score: verdict.score,
            summary: verdict.summary,
            record: verdict.record,
        });
    }

    /// GETs `path` through the router with the new colour pinned.
    async fn smoke(&mut self, path: &str) {
        let url = format!("http://{}{path}", self.spec.listen);
        let answer = self
            .engine
            .http()
            .get(&url)
            .header("x-slipway-version", "canary")
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        self.outcomes.smoke = Some(SmokeAnswer {
            ok: matches!(&answer, Ok(r) if r.status().is_success()),
            shown: match answer {
                Ok(r) => r.status().to_string(),
                Err(e) => e.to_string(),
            },
        });
    }

    /// Applies a status edit; evidence keeps the last output lines of its group's instances.
    async fn edit(&mut self, edit: Edit) {
        let mut output = Value::Null;
        if let Edit::Evidence { group, .. } = &edit {
            let mut logs = serde_json::Map::new();
            for i in self.groups.get(group).cloned().unwrap_or_default() {
                let lines = self.engine.target.last_output(&i.id).await;
                logs.insert(i.id.clone(), serde_json::json!(lines));
            }
            output = Value::Object(logs);
        }
        edit.apply(&mut self.status, &self.artifact.version, now_ms(), output);
    }

    /// Writes the status and waits until it is durable; a promotion tells its listener first.
    async fn save(&mut self) -> Result<(), EngineError> {
        if self.status.phase == Phase::Promoted {
            self.engine.write_promoted(&self.name, &self.status).await?;
        } else {
            self.engine.write(&self.name, &self.status).await?;
        }
        self.saved = Some(self.status.phase);
        Ok(())
    }
}
