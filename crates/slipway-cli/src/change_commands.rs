//! `slipway change ...` and `slipway gate explain`: change requests and the deployment gate, as
//! a client of the API. `change create -f FILE` applies ChangeRequest documents; every other
//! action goes through `/api/v1/changerequests/{name}/actions`, where the server checks the
//! state machine, separation of duties and the approval rules, and records the action.

use crate::client::ApiClient;
use crate::failure::{self, CliResult, Failure};
use crate::output::{Format, print_data, table};
use crate::resource_commands::{FileArgs, apply_files};
use clap::Subcommand;
use serde_json::{Value, json};

#[derive(Debug, Subcommand)]
pub enum ChangeCommand {
    /// Create or update change requests from files (kind ChangeRequest).
    Create {
        #[command(flatten)]
        files: FileArgs,
    },
    /// New → Assess (normal, emergency) or Scheduled (standard, pre-approved).
    Submit { id: String },
    /// Approve: moves Assess → Authorize, and Authorize on once the approval rules are met.
    Approve {
        id: String,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Reject: back to New.
    Reject {
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// Set the planned window (RFC 3339 times); conflicts and calendars are checked.
    Schedule {
        id: String,
        #[arg(long)]
        start: String,
        #[arg(long)]
        end: String,
    },
    /// Scheduled → Implement, inside the planned window, with the authorised content.
    Implement { id: String },
    /// Implement → Review; with --outcome, records the post-implementation review (outcome,
    /// findings, follow-up actions, a proposed patch of the change's model).
    Review {
        id: String,
        /// successful, successful-with-issues or failed.
        #[arg(long)]
        outcome: Option<String>,
        /// What the review found (required unless the outcome is successful).
        #[arg(long, requires = "outcome")]
        findings: Option<String>,
        /// A follow-up action: "DESCRIPTION; owner=NAME; due=DATE" (DATE: 2026-07-01, the end
        /// of that day UTC, or RFC 3339). Repeat for several.
        #[arg(long = "action", value_name = "ACTION", requires = "outcome")]
        actions: Vec<String>,
        /// A YAML or JSON file holding an RFC 7396 merge patch of the change's ChangeModel
        /// spec, stored with the review; someone who may update change models applies it.
        #[arg(long, value_name = "FILE", requires = "outcome")]
        propose_model_patch: Option<std::path::PathBuf>,
    },
    /// Mark follow-up action NUMBER of the change's review done.
    CompleteAction { id: String, number: u32 },
    /// What changes owe past its deadline: retrospective approvals and reviews after
    /// break-glass, follow-up actions of reviews; with the teams owning the services.
    Overdue {
        #[arg(short, long, value_enum, default_value_t = Format::Table)]
        output: Format,
    },
    /// The ChangeModel document the change's review proposes, ready for `slipway apply -f`
    /// (with the revision it was written against, so a model changed since is not overwritten).
    ProposedModel {
        id: String,
        #[arg(short, long, value_enum, default_value_t = Format::Yaml)]
        output: Format,
    },
    /// Close with a code (Successful, SuccessfulWithIssues, Unsuccessful) and notes.
    Close {
        id: String,
        #[arg(long)]
        code: String,
        #[arg(long, default_value = "")]
        notes: String,
    },
    /// Cancel a change that has not been implemented.
    Cancel { id: String },
    /// Emergency: implement now for a limited time; leaves a retrospective approval and a
    /// review due.
    BreakGlass {
        id: String,
        #[arg(long)]
        reason: String,
        /// E.g. 2h (at most the policy's limit, 4h by default).
        #[arg(long, default_value = "2h")]
        duration: String,
    },
    /// Grant the change an exception to windows and freezes (not to a lockdown), as someone
    /// who may approve it; an edit of the change voids it.
    ApproveException {
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// A change request with its state, risk, approvals and history.
    Get {
        id: String,
        #[arg(short, long, value_enum, default_value_t = Format::Table)]
        output: Format,
    },
    /// Every change request and its state.
    List {
        #[arg(short, long, value_enum, default_value_t = Format::Table)]
        output: Format,
    },
    /// Write the change's signed evidence pack (change, approvals, gate decisions,
    /// deployments, each with its audit inclusion proof) to a file.
    Evidence {
        id: String,
        #[arg(long, short = 'o')]
        out: std::path::PathBuf,
    },
    /// The review queue of unauthorised changes: deployments the gate let through without an
    /// authorised change where the environment did not require one.
    Unauthorised {
        #[arg(short, long, value_enum, default_value_t = Format::Table)]
        output: Format,
    },
    /// Change success and failure rates by team and by service.
    Rates {
        #[arg(short, long, value_enum, default_value_t = Format::Json)]
        output: Format,
    },
}

#[derive(Debug, Subcommand)]
pub enum CalendarCommand {
    /// May a change to SERVICE in ENVIRONMENT happen at an instant? Lists the window, the
    /// freezes and the reasons; `--slot 90m` also finds the next allowed slot of that length.
    Check {
        #[arg(long)]
        service: String,
        #[arg(long)]
        environment: String,
        /// RFC 3339 instant (default: now).
        #[arg(long)]
        at: Option<String>,
        #[arg(long)]
        slot: Option<String>,
        #[arg(short, long, value_enum, default_value_t = Format::Table)]
        output: Format,
    },
}

#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Verify an evidence pack offline: its signature, the checkpoint, every document against
    /// its audit entry, and every inclusion proof. Exits 7 when anything is wrong.
    Verify {
        file: std::path::PathBuf,
        /// The server's public key (hex or base64) to trust instead of the one in the pack.
        #[arg(long)]
        public_key: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum GateCommand {
    /// Every recorded gate decision for a rollout (or `release/NAME`), with each rule's
    /// outcome and the inputs.
    Explain {
        /// `NAME` (a rollout) or `release/NAME`.
        subject: String,
        #[arg(short, long, value_enum, default_value_t = Format::Table)]
        output: Format,
    },
}

pub async fn run(client: &ApiClient, cmd: ChangeCommand) -> CliResult {
    let action = |id: &str, body: Value| (id.to_string(), body);
    let (id, body) = match cmd {
        ChangeCommand::Create { files } => return apply_files(client, &files).await,
        ChangeCommand::Get { id, output } => return get(client, &id, output).await,
        ChangeCommand::List { output } => return list(client, output).await,
        ChangeCommand::Evidence { id, out } => {
            let pack: slipway_domain::audit::evidence::EvidencePack = client
                .get(&format!("/api/v1/changerequests/{id}/evidence"))
                .await?;
            let items = pack.body.items.len();
            let bytes = pack.to_file_bytes().map_err(|e| Failure::new(1, e))?;
            std::fs::write(&out, bytes)
                .map_err(|e| Failure::new(1, format!("cannot write {}: {e}", out.display())))?;
            println!(
                "evidence for change {id}: {items} item(s) with inclusion proofs, signed; written to {}",
                out.display()
            );
            return Ok(());
        }
        ChangeCommand::Unauthorised { output } => {
            let queue: Value = client.get("/api/v1/unauthorised-changes").await?;
            if output != Format::Table {
                return print_data(output, &queue);
            }
            let mut t = table(vec![
                "AT",
                "SUBJECT",
                "SERVICE",
                "ENVIRONMENT",
                "ARTIFACT",
                "DEPLOYER",
                "CHANGE",
            ]);
            let empty = Vec::new();
            let items = queue["unauthorisedChanges"].as_array().unwrap_or(&empty);
            for item in items {
                let text = |v: &Value| v.as_str().unwrap_or("-").to_string();
                t.add_row(vec![
                    text(&item["at"]),
                    format!(
                        "{}/{}",
                        text(&item["subject"]["kind"]),
                        text(&item["subject"]["name"])
                    ),
                    text(&item["service"]),
                    text(&item["environment"]),
                    text(&item["artifact"]),
                    text(&item["deployer"]),
                    text(&item["change"]),
                ]);
            }
            println!("{t}");
            println!("{} unauthorised change(s) to review", items.len());
            return Ok(());
        }
        ChangeCommand::Overdue { output } => return overdue(client, output).await,
        ChangeCommand::ProposedModel { id, output } => {
            return proposed_model(client, &id, output).await;
        }
        ChangeCommand::Rates { output } => {
            let rates: Value = client.get("/api/v1/change-rates").await?;
            return print_data(output, &rates);
        }
        ChangeCommand::Submit { id } => action(&id, json!({"action": "submit"})),
        ChangeCommand::Approve { id, comment } => {
            action(&id, json!({"action": "approve", "comment": comment}))
        }
        ChangeCommand::Reject { id, reason } => {
            action(&id, json!({"action": "reject", "reason": reason}))
        }
        ChangeCommand::Schedule { id, start, end } => action(
            &id,
            json!({"action": "schedule", "start": start, "end": end}),
        ),
        ChangeCommand::Implement { id } => action(&id, json!({"action": "implement"})),
        ChangeCommand::Review {
            id,
            outcome,
            findings,
            actions,
            propose_model_patch,
        } => action(
            &id,
            review_body(outcome, findings, &actions, propose_model_patch.as_deref())?,
        ),
        ChangeCommand::CompleteAction { id, number } => {
            action(&id, json!({"action": "complete-action", "number": number}))
        }
        ChangeCommand::Close { id, code, notes } => action(
            &id,
            json!({"action": "close", "code": code, "notes": notes}),
        ),
        ChangeCommand::Cancel { id } => action(&id, json!({"action": "cancel"})),
        ChangeCommand::ApproveException { id, reason } => action(
            &id,
            json!({"action": "approve-exception", "reason": reason}),
        ),
        ChangeCommand::BreakGlass {
            id,
            reason,
            duration,
        } => action(
            &id,
            json!({"action": "break-glass", "reason": reason, "duration": duration}),
        ),
    };
    let verb = body["action"].as_str().unwrap_or_default().to_string();
    let view: Value = client
        .post(&format!("/api/v1/changerequests/{id}/actions"), &body)
        .await?;
    println!(
        "change {id}: {verb} recorded; state {}; approvals: {}",
        view["record"]["state"].as_str().unwrap_or("?"),
        approvals_line(&view)
    );
    Ok(())
}

/// The body of a `review` action: just the move to Review, or the review itself.
fn review_body(
    outcome: Option<String>,
    findings: Option<String>,
    actions: &[String],
    patch_file: Option<&std::path::Path>,
) -> CliResult<Value> {
    // (clap refuses --findings, --action and --propose-model-patch without --outcome.)
    let Some(outcome) = outcome else {
        return Ok(json!({"action": "review"}));
    };
    let follow_ups = actions
        .iter()
        .enumerate()
        .map(|(i, text)| {
            slipway_change::review::FollowUpDraft::parse(text)
                .map_err(|e| Failure::new(failure::INVALID, format!("--action #{}: {e}", i + 1)))
        })
        .collect::<CliResult<Vec<_>>>()?;
    let patch = match patch_file {
        Some(path) => {
            let mut documents = crate::manifests::read_documents(&[path.to_path_buf()])?;
            if documents.len() != 1 {
                return Err(Failure::new(
                    failure::INVALID,
                    format!(
                        "{}: expected one document (a merge patch of the model's spec), found {}",
                        path.display(),
                        documents.len()
                    ),
                ));
            }
            Some(documents.remove(0).document)
        }
        None => None,
    };
    Ok(
        json!({"action": "review", "outcome": outcome, "findings": findings,
              "followUps": follow_ups, "proposedModelPatch": patch}),
    )
}

/// `slipway change overdue`.
async fn overdue(client: &ApiClient, output: Format) -> CliResult {
    let answer: Value = client.get("/api/v1/overdue-changes").await?;
    if output != Format::Table {
        return print_data(output, &answer);
    }
    let mut t = table(vec![
        "CHANGE",
        "SERVICES",
        "DUE",
        "DEADLINE",
        "OVERDUE BY",
        "TEAMS",
        "ESCALATED",
    ]);
    let empty = Vec::new();
    let items = answer["overdue"].as_array().unwrap_or(&empty);
    let list = |v: &Value| {
        v.as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    for item in items {
        let text = |v: &Value| v.as_str().unwrap_or("-").to_string();
        t.add_row(vec![
            text(&item["change"]),
            list(&item["services"]),
            text(&item["what"]),
            text(&item["deadline"]),
            text(&item["overdueBy"]),
            list(&item["teams"]),
            text(&item["escalatedAt"]),
        ]);
    }
    println!("{t}");
    println!("{} overdue item(s)", items.len());
    Ok(())
}

/// `slipway change proposed-model`: the ChangeModel document the review proposes.
async fn proposed_model(client: &ApiClient, id: &str, output: Format) -> CliResult {
    let view: Value = client
        .get(&format!("/api/v1/changerequests/{id}/view"))
        .await?;
    let proposal = &view["record"]["review"]["proposedModelPatch"];
    if !proposal.is_object() {
        return Err(Failure::new(
            failure::NOT_FOUND,
            format!("change {id} has no review proposing a change-model patch"),
        ));
    }
    let document = json!({
        "apiVersion": "slipway.dev/v1alpha1",
        "kind": "ChangeModel",
        "metadata": {"name": proposal["model"], "revision": proposal["baseRevision"]},
        "spec": proposal["proposedSpec"],
    });
    print_data(
        if output == Format::Table {
            Format::Yaml
        } else {
            output
        },
        &document,
    )
}

fn approvals_line(view: &Value) -> String {
    let requirements = view["approvals"]["perRequirement"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if requirements.is_empty() {
        return if view["approvals"]["satisfied"].as_bool() == Some(true) {
            "no rule applies".into()
        } else {
            "not satisfied".into()
        };
    }
    requirements
        .iter()
        .map(|r| {
            format!(
                "{}/{}: {} of {}",
                r["rule"].as_str().unwrap_or("?"),
                r["requirement"].as_str().unwrap_or("?"),
                r["counted"].as_array().map_or(0, Vec::len),
                r["needed"]
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn get(client: &ApiClient, id: &str, output: Format) -> CliResult {
    let view: Value = client
        .get(&format!("/api/v1/changerequests/{id}/view"))
        .await?;
    if output != Format::Table {
        return print_data(output, &view);
    }
    let record = &view["record"];
    println!(
        "change {id}: {}",
        record["spec"]["title"].as_str().unwrap_or("")
    );
    println!("  state:      {}", record["state"].as_str().unwrap_or("?"));
    println!(
        "  risk:       {} (score {})",
        record["risk"]["level"].as_str().unwrap_or("not assessed"),
        record["risk"]["score"]
    );
    for factor in record["risk"]["factors"].as_array().into_iter().flatten() {
        println!(
            "    {:>4}  {}: {}",
            factor["contribution"],
            factor["name"].as_str().unwrap_or(""),
            factor["reason"].as_str().unwrap_or("")
        );
    }
    println!(
        "  digest:     {}",
        view["contentDigest"].as_str().unwrap_or("")
    );
    println!(
        "  authorised: {}",
        record["authorisedDigest"].as_str().unwrap_or("no")
    );
    println!("  approvals:  {}", approvals_line(&view));
    for ignored in view["approvals"]["ignored"]
        .as_array()
        .into_iter()
        .flatten()
    {
        println!(
            "    ignored {}: {}",
            ignored["approver"].as_str().unwrap_or("?"),
            ignored["reason"].as_str().unwrap_or("")
        );
    }
    print_review(&record["review"]);
    println!("  history:");
    for event in view["events"].as_array().into_iter().flatten() {
        println!(
            "    {} {} by {}: {} → {}",
            event["at"].as_str().unwrap_or(""),
            event["action"].as_str().unwrap_or(""),
            event["actor"].as_str().unwrap_or(""),
            event["fromState"].as_str().unwrap_or(""),
            event["toState"].as_str().unwrap_or("")
        );
    }
    Ok(())
}

/// The review part of `change get`.
fn print_review(review: &Value) {
    if !review.is_object() {
        return;
    }
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    println!(
        "  review:     {} by {} at {}",
        text(&review["outcome"]),
        text(&review["reviewer"]),
        text(&review["at"])
    );
    if let Some(findings) = review["findings"].as_str().filter(|f| !f.is_empty()) {
        println!("    findings: {findings}");
    }
    for action in review["followUps"].as_array().into_iter().flatten() {
        println!(
            "    action {} [{}] {} (owner {}, due {}){}",
            action["number"],
            text(&action["state"]),
            text(&action["description"]),
            text(&action["owner"]),
            text(&action["due"]),
            action["doneBy"]
                .as_str()
                .map(|by| format!(", done by {by} at {}", text(&action["doneAt"])))
                .unwrap_or_default()
        );
    }
    let proposal = &review["proposedModelPatch"];
    if proposal.is_object() {
        println!(
            "    proposed patch of ChangeModel {} (revision {}): {}",
            text(&proposal["model"]),
            proposal["baseRevision"],
            proposal["patch"]
        );
    }
}

async fn list(client: &ApiClient, output: Format) -> CliResult {
    let list: Value = client.get("/api/v1/changerequests").await?;
    if output != Format::Table {
        return print_data(output, &list);
    }
    for item in list["items"].as_array().into_iter().flatten() {
        println!(
            "{:<24} {:<10} {:<12} {}",
            item["metadata"]["name"].as_str().unwrap_or(""),
            item["spec"]["type"].as_str().unwrap_or(""),
            item["status"]["state"].as_str().unwrap_or("New"),
            item["spec"]["title"].as_str().unwrap_or("")
        );
    }
    Ok(())
}

pub async fn run_gate(client: &ApiClient, cmd: GateCommand) -> CliResult {
    let GateCommand::Explain { subject, output } = cmd;
    let (kind, name) = match subject.split_once('/') {
        Some((kind, name)) => (kind.to_string(), name.to_string()),
        None => ("rollout".to_string(), subject.clone()),
    };
    let explained: Value = client.get(&format!("/api/v1/gate/{kind}/{name}")).await?;
    if output != Format::Table {
        return print_data(output, &explained);
    }
    let decisions = explained["decisions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if decisions.is_empty() {
        return Err(Failure::new(
            failure::NOT_FOUND,
            format!("the gate has recorded no decision for {kind} {name}"),
        ));
    }
    for item in &decisions {
        let d = &item["decision"];
        println!(
            "{} {} {} in {}{}: {}",
            d["at"].as_str().unwrap_or(""),
            d["subjectKind"].as_str().unwrap_or(""),
            d["service"].as_str().unwrap_or(""),
            d["environment"].as_str().unwrap_or(""),
            d["step"]
                .as_str()
                .map(|s| format!(" (step {s})"))
                .unwrap_or_default(),
            d["verdict"].as_str().unwrap_or("?").to_uppercase()
        );
        for rule in d["rules"].as_array().into_iter().flatten() {
            println!(
                "  {} {:<22} {}",
                if rule["passed"].as_bool() == Some(true) {
                    "✓"
                } else {
                    "✗"
                },
                rule["rule"].as_str().unwrap_or(""),
                rule["detail"].as_str().unwrap_or("")
            );
        }
    }
    Ok(())
}

/// `slipway evidence verify`: offline, no server.
pub fn run_evidence(cmd: EvidenceCommand) -> CliResult {
    let EvidenceCommand::Verify { file, public_key } = cmd;
    let bytes = std::fs::read(&file).map_err(|e| {
        Failure::new(
            failure::INVALID,
            format!("cannot read {}: {e}", file.display()),
        )
    })?;
    let pack: slipway_domain::audit::evidence::EvidencePack = serde_json::from_slice(&bytes)
        .map_err(|e| {
            Failure::new(
                failure::INVALID,
                format!("{}: not an evidence pack: {e}", file.display()),
            )
        })?;
    let trusted = match public_key {
        Some(k) => Some(
            slipway_domain::audit::checkpoint::parse_public_key(&k)
                .map_err(|e| Failure::new(failure::INVALID, format!("--public-key: {e}")))?,
        ),
        None => None,
    };
    let verdict =
        slipway_domain::audit::evidence::EvidencePack::verify_file_bytes(&bytes, trusted.as_ref());
    if verdict.ok {
        println!(
            "evidence for change {}: verified ({} item(s), checkpoint of {} entries)",
            pack.body.change, verdict.items, pack.body.checkpoint.checkpoint.size
        );
        Ok(())
    } else {
        Err(Failure::new(
            failure::VERIFY_FAILED,
            format!(
                "evidence for change {} does not verify:\n  {}",
                pack.body.change,
                verdict.problems.join("\n  ")
            ),
        ))
    }
}

/// `slipway calendar check`.
pub async fn run_calendar(client: &ApiClient, cmd: CalendarCommand) -> CliResult {
    let CalendarCommand::Check {
        service,
        environment,
        at,
        slot,
        output,
    } = cmd;
    let mut path = format!(
        "/api/v1/calendar/decision?service={}&environment={}",
        query_value(&service),
        query_value(&environment)
    );
    if let Some(at) = &at {
        path.push_str(&format!("&at={}", query_value(at)));
    }
    if let Some(slot) = &slot {
        path.push_str(&format!("&slot={}", query_value(slot)));
    }
    let answer: Value = client.get(&path).await?;
    if output != Format::Table {
        return print_data(output, &answer);
    }
    let d = &answer["decision"];
    println!(
        "{service} in {environment} at {}: {}",
        answer["at"].as_str().unwrap_or(""),
        if d["allowed"].as_bool() == Some(true) {
            "allowed"
        } else {
            "not allowed"
        }
    );
    if let Some(window) = d["insideWindow"].as_str() {
        println!("  inside window {window}");
    }
    for reason in d["reasons"].as_array().into_iter().flatten() {
        println!("  {}", reason.as_str().unwrap_or(""));
    }
    if slot.is_some() {
        match answer["nextSlot"].as_object() {
            Some(next) => println!(
                "  next allowed slot: {} to {}",
                next.get("start").and_then(Value::as_str).unwrap_or(""),
                next.get("end").and_then(Value::as_str).unwrap_or("")
            ),
            None => println!("  no allowed slot within 90 days"),
        }
    }
    Ok(())
}

/// Percent-encodes a query parameter value.
fn query_value(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
