//! `slipway analysis classify|judge`: the canary judge offline, for backtesting and for people
//! checking a verdict by hand. Input formats: `crates/slipway-judge/FORMATS.md`.

use crate::failure::{self, CliResult, Failure};
use crate::output::{Format, print_data, table};
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum AnalysisCommand {
    /// Classify one metric: {"baseline": [...], "canary": [...], "params": {...}}; prints one JSON object.
    Classify {
        /// A JSON file, or - for standard input.
        #[arg(long)]
        input: PathBuf,
    },
    /// Explain, in words, every canary analysis of a rollout (from the server).
    Explain {
        rollout: String,
        #[arg(short, long, value_enum, default_value_t = Format::Table)]
        output: Format,
    },
    /// Judge a whole canary configuration: per-metric classifications, group scores, verdict.
    Judge {
        #[arg(long)]
        input: PathBuf,
        #[arg(short, long, value_enum, default_value_t = Format::Table)]
        output: Format,
    },
}

fn read_json(path: &PathBuf) -> CliResult<serde_json::Value> {
    let (name, text) = if path.as_os_str() == "-" {
        (
            "<stdin>".to_string(),
            std::io::read_to_string(std::io::stdin()),
        )
    } else {
        (path.display().to_string(), std::fs::read_to_string(path))
    };
    let text = text.map_err(|e| Failure::new(failure::INVALID, format!("{name}: {e}")))?;
    serde_json::from_str(&text).map_err(|e| {
        Failure::new(
            failure::INVALID,
            format!("{name}: line {} column {}: {e}", e.line(), e.column()),
        )
    })
}

pub async fn run(g: &crate::GlobalArgs, cmd: AnalysisCommand) -> CliResult {
    match cmd {
        AnalysisCommand::Explain { rollout, output } => {
            let r: serde_json::Value = crate::client(g)?
                .get(&format!("/api/v1/rollouts/{rollout}"))
                .await?;
            let analyses = r["status"]["analyses"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if output != Format::Table {
                return print_data(output, &analyses);
            }
            if analyses.is_empty() {
                println!("rollout {rollout} has no canary analysis (yet)");
            }
            for a in &analyses {
                let result = &a["result"];
                println!(
                    "{}: {} (score {}, pass at {}, marginal at {})",
                    a["label"].as_str().unwrap_or_default(),
                    result["verdict"].as_str().unwrap_or("error"),
                    result["score"],
                    result["scoreThresholds"]["pass"],
                    result["scoreThresholds"]["marginal"]
                );
                if let Some(e) = a["error"].as_str() {
                    println!("  the judge refused the analysis: {e}");
                }
                for line in a["explanation"].as_array().into_iter().flatten() {
                    println!("  {}", line.as_str().unwrap_or_default());
                }
            }
            Ok(())
        }
        AnalysisCommand::Classify { input } => {
            let value = read_json(&input)?;
            let out = slipway_judge::classify_json(&value)
                .map_err(|e| Failure::new(failure::INVALID, format!("{}: {e}", input.display())))?;
            println!("{}", serde_json::to_string(&out)?);
            Ok(())
        }
        AnalysisCommand::Judge { input, output } => {
            let value = read_json(&input)?;
            let parsed: slipway_judge::JudgeInput = serde_json::from_value(value)
                .map_err(|e| Failure::new(failure::INVALID, format!("{}: {e}", input.display())))?;
            let result = slipway_judge::judge(&parsed)
                .map_err(|e| Failure::new(failure::INVALID, format!("{}: {e}", input.display())))?;
            if output != Format::Table {
                return print_data(output, &result);
            }
            let mut t = table(vec![
                "METRIC",
                "GROUPS",
                "CLASSIFICATION",
                "DEVIATION",
                "REASON",
            ]);
            for m in &result.metrics {
                let r = &m.result;
                t.add_row(vec![
                    r.name.clone(),
                    m.groups.join(","),
                    format!(
                        "{:?}{}",
                        r.classification,
                        if r.critical { " (critical)" } else { "" }
                    ),
                    format!("{:.3}", r.deviation),
                    r.reason.clone(),
                ]);
            }
            println!("{t}");
            let mut g = table(vec!["GROUP", "SCORE", "WEIGHT"]);
            for group in &result.groups {
                g.add_row(vec![
                    group.name.clone(),
                    format!("{:.2}", group.score),
                    group.weight.map(|w| format!("{w:.2}")).unwrap_or_default(),
                ]);
            }
            println!("{g}");
            println!(
                "score {:.2} → {:?}: {}",
                result.score, result.verdict, result.reason
            );
            for line in &result.explanation {
                println!("  {line}");
            }
            Ok(())
        }
    }
}
