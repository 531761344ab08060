//! `slipway rollout status|abort|promote|pause|resume`: follow and steer a rollout.
//!
//! Steering sets the rollout's `slipway.dev/control` annotation through the API, so every
//! operator request is authorized and audited like any other change; the engine reads it on
//! its next tick (every 100 ms).

use crate::client::ApiClient;
use crate::failure::{self, CliResult, Failure};
use crate::output::{Format, print_data};
use clap::Subcommand;
use serde_json::Value;
use std::time::Duration;

#[derive(Debug, Subcommand)]
pub enum RolloutCommand {
    /// Show a rollout's phase, weight and history; `--watch` follows it to the end.
    Status {
        name: String,
        #[arg(long)]
        watch: bool,
        #[arg(short, long, value_enum, default_value_t = Format::Table)]
        output: Format,
    },
    /// Roll back now: traffic to stable, canary stopped.
    Abort { name: String },
    /// Skip the remaining steps and promote now.
    Promote { name: String },
    /// Hold the current step (guardrails keep watching).
    Pause { name: String },
    /// Continue a paused rollout.
    Resume { name: String },
}

pub async fn run(client: &ApiClient, cmd: RolloutCommand) -> CliResult {
    match cmd {
        RolloutCommand::Status {
            name,
            watch,
            output,
        } => status(client, &name, watch, output).await,
        RolloutCommand::Abort { name } => steer(client, &name, "abort").await,
        RolloutCommand::Promote { name } => steer(client, &name, "promote").await,
        RolloutCommand::Pause { name } => steer(client, &name, "pause").await,
        RolloutCommand::Resume { name } => steer(client, &name, "resume").await,
    }
}

async fn steer(client: &ApiClient, name: &str, action: &str) -> CliResult {
    let mut rollout: Value = client.get(&format!("/api/v1/rollouts/{name}")).await?;
    let phase = rollout["status"]["phase"]
        .as_str()
        .unwrap_or("Pending")
        .to_string();
    if matches!(phase.as_str(), "Promoted" | "RolledBack" | "Failed") {
        return Err(Failure::new(
            failure::CONFLICT,
            format!("rollout {name} has already ended ({phase})"),
        ));
    }
    rollout["metadata"]["annotations"]["slipway.dev/control"] = Value::String(action.to_string());
    if let Some(obj) = rollout.as_object_mut() {
        obj.remove("status");
    }
    let _: Value = client
        .put(&format!("/api/v1/rollouts/{name}"), &rollout)
        .await?;
    println!("rollout {name}: {action} requested");
    Ok(())
}

fn summary(name: &str, status: &Value) -> String {
    let last = status["history"]
        .as_array()
        .and_then(|h| h.last())
        .and_then(|h| h["what"].as_str())
        .unwrap_or("waiting for the engine");
    format!(
        "{name} {} {}: {last}",
        status["version"].as_str().unwrap_or(""),
        status["phase"].as_str().unwrap_or("Pending")
    )
}

async fn status(client: &ApiClient, name: &str, watch: bool, output: Format) -> CliResult {
    let fetch = || async {
        client
            .get::<Value>(&format!("/api/v1/rollouts/{name}"))
            .await
            .map(|r| r["status"].clone())
    };
    if !watch {
        let status = fetch().await?;
        if output != Format::Table {
            return print_data(output, &status);
        }
        println!("{}", summary(name, &status));
        for h in status["history"].as_array().into_iter().flatten() {
            println!(
                "  {}  {}",
                h["atMs"],
                h["what"].as_str().unwrap_or_default()
            );
        }
        if let Some(b) = status.get("breach").filter(|b| !b.is_null()) {
            println!(
                "breach: {} (value {})",
                b["rule"].as_str().unwrap_or_default(),
                b["shown"].as_str().unwrap_or_default()
            );
        }
        return Ok(());
    }
    let bar = indicatif::ProgressBar::new(100);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} canary weight {pos:>3}% [{bar:30}] {msg}",
        )
        .map_err(|e| Failure::new(1, e))?
        .progress_chars("=> "),
    );
    let mut seen = 0;
    loop {
        let status = fetch().await?;
        let history = status["history"].as_array().cloned().unwrap_or_default();
        for h in history.iter().skip(seen) {
            bar.println(format!("  {}", h["what"].as_str().unwrap_or_default()));
        }
        seen = history.len();
        bar.set_position(status["weight"].as_u64().unwrap_or(0));
        bar.set_message(summary(name, &status));
        bar.tick();
        let phase = status["phase"].as_str().unwrap_or("Pending");
        if matches!(phase, "Promoted" | "RolledBack" | "Failed") {
            bar.finish_with_message(summary(name, &status));
            return if phase == "Promoted" {
                Ok(())
            } else {
                Err(Failure::new(1, format!("rollout {name} ended {phase}")))
            };
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
