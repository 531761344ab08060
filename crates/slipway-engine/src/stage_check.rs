//! A release stage's checks after its services are deployed: a wait (a soak), a command run
//! with the stage's endpoints in its environment, an HTTP request through a service's router,
//! and an explicit gate step (the gate asked about every service the release deploys).

use crate::rollout::Engine;
use slipway_domain::guardrail::parse_duration_ms;
use slipway_domain::kinds::{ReleaseSpec, ServiceSpec, StageCheck};
use slipway_gate::{GateRequest, GateVerdict};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Where a stage's checks run.
pub(crate) struct CheckContext<'a> {
    pub release: &'a str,
    pub spec: &'a ReleaseSpec,
    /// Each service's artifact.
    pub artifacts: &'a BTreeMap<String, String>,
    pub services: &'a BTreeMap<String, ServiceSpec>,
    pub environment: &'a str,
    pub shutdown: &'a CancellationToken,
}

impl Engine {
    /// Runs one check: what it found, or why it failed.
    pub(crate) async fn stage_check(
        &self,
        check: &StageCheck,
        context: &CheckContext<'_>,
    ) -> Result<String, String> {
        match check {
            StageCheck::Wait(d) => {
                let ms = parse_duration_ms(d)?;
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok(format!("waited {d}"))
            }
            StageCheck::Gate(step) => self.gate_step(step, context).await,
            StageCheck::Command { argv, timeout } => {
                run_command(argv, timeout.as_deref(), context).await
            }
            StageCheck::Http {
                service,
                path,
                expect_status,
            } => {
                self.http_check(service, path, *expect_status, context)
                    .await
            }
        }
    }

    /// A pipeline gate step: the gate is asked about every service the release deploys, in the
    /// stage's environment; it passes when all are allowed, waits while any says wait.
    async fn gate_step(&self, step: &str, context: &CheckContext<'_>) -> Result<String, String> {
        let mut summaries = Vec::new();
        for (service, artifact) in context.artifacts {
            let request = GateRequest {
                subject_kind: "Release".into(),
                subject: context.release.into(),
                service: service.clone(),
                environment: context.environment.into(),
                artifact: artifact.clone(),
                change: context.spec.change.clone(),
                step: Some(step.into()),
            };
            loop {
                match self
                    .gate()
                    .decide(&request)
                    .await
                    .map_err(|e| e.to_string())?
                {
                    GateVerdict::Allow { summary } => {
                        summaries.push(format!("{service}: {summary}"));
                        break;
                    }
                    GateVerdict::Deny { reasons } => {
                        return Err(format!(
                            "gate {step} refused {service}: {}",
                            reasons.join("; ")
                        ));
                    }
                    GateVerdict::Wait { .. } => {
                        tokio::select! {
                            () = context.shutdown.cancelled() => {
                                return Err(format!("gate {step}: the server shut down while waiting"));
                            }
                            () = tokio::time::sleep(self.gate_retry) => {}
                        }
                    }
                }
            }
        }
        Ok(format!("gate {step} passed ({})", summaries.join("; ")))
    }

    /// GET `path` through `service`'s router in the stage's environment.
    async fn http_check(
        &self,
        service: &str,
        path: &str,
        expect_status: u16,
        context: &CheckContext<'_>,
    ) -> Result<String, String> {
        let environment = context.environment;
        let addr = context
            .services
            .get(service)
            .and_then(|s| s.endpoints.get(environment))
            .ok_or_else(|| format!("service {service} has no endpoint in {environment}"))?;
        let url = format!("http://{addr}{path}");
        let answer = self
            .http()
            .get(&url)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        let got = answer.status().as_u16();
        if got == expect_status {
            Ok(format!("GET {url} answered {got}"))
        } else {
            Err(format!(
                "GET {url} answered {got}, expected {expect_status}"
            ))
        }
    }
}

/// Runs a command with `SLIPWAY_ENVIRONMENT` and every service's `SLIPWAY_ENDPOINT_<NAME>`.
async fn run_command(
    argv: &[String],
    timeout: Option<&str>,
    context: &CheckContext<'_>,
) -> Result<String, String> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| "an empty command".to_string())?;
    let limit = Duration::from_millis(parse_duration_ms(timeout.unwrap_or("60s"))?);
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .env("SLIPWAY_ENVIRONMENT", context.environment)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    for (name, service) in context.services {
        if let Some(addr) = service.endpoints.get(context.environment) {
            let var = format!(
                "SLIPWAY_ENDPOINT_{}",
                name.to_ascii_uppercase().replace('-', "_")
            );
            cmd.env(var, addr);
        }
    }
    let shown = argv.join(" ");
    let output = tokio::time::timeout(limit, cmd.output())
        .await
        .map_err(|_| format!("{shown} did not finish within {limit:?}"))?
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if output.status.success() {
        return Ok(format!("{shown} passed"));
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut tail: Vec<&str> = stderr.lines().rev().take(3).collect();
    tail.reverse();
    Err(format!(
        "{shown} failed ({}): {}",
        output.status,
        tail.join(" | ")
    ))
}
