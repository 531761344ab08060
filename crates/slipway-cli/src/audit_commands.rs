//! `slipway audit ...`: offline verification of a data dir or an exported document, and the
//! API's entries, checkpoints, proofs and export.

use crate::GlobalArgs;
use crate::failure::{self, CliResult, Failure};
use crate::output::{Format, print_data, table};
use anyhow::Context;
use clap::Subcommand;
use slipway_domain::audit::SignedCheckpoint;
use slipway_domain::audit::checkpoint::{VerifyingKey, parse_public_key};
use slipway_domain::audit::proof_bundle::{AuditDocument, ExportedEntry};
use slipway_domain::audit::verify::Report;
use slipway_store::data_dir::DataDir;
use slipway_store::{SqlStore, Store};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify offline: a data dir (its log, checkpoints and state) or an exported document.
    Verify {
        #[arg(long, conflicts_with = "export")]
        data_dir: Option<PathBuf>,
        /// With --data-dir: the PostgreSQL database the data dir's server uses.
        #[arg(
            long,
            requires = "data_dir",
            hide_env_values = true,
            env = "SLIPWAY_DATABASE_URL"
        )]
        database_url: Option<String>,
        /// An export, inclusion proof or consistency proof written by this CLI.
        #[arg(long)]
        export: Option<PathBuf>,
        /// The trusted public key (hex), instead of DATA_DIR/audit-signing.pub or the document's own.
        #[arg(long)]
        public_key: Option<PathBuf>,
        #[arg(short, long, value_enum, default_value_t = Format::Table)]
        output: Format,
    },
    /// Write the whole log with its checkpoints to a file.
    Export {
        #[arg(long)]
        out: PathBuf,
    },
    /// Write an inclusion proof of one entry against the latest checkpoint.
    Proof {
        #[arg(long)]
        entry: u64,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Write a consistency proof between two checkpoints (tree sizes).
    Consistency {
        #[arg(long)]
        from: u64,
        #[arg(long)]
        to: Option<u64>,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Sign a checkpoint now.
    Checkpoint,
    /// List checkpoints.
    Checkpoints {
        #[arg(short, long, value_enum, default_value_t = Format::Table)]
        output: Format,
    },
    /// List entries.
    Entries {
        #[arg(long, default_value_t = 0)]
        from: u64,
        #[arg(long, default_value_t = 100)]
        limit: u64,
        #[arg(short, long, value_enum, default_value_t = Format::Table)]
        output: Format,
    },
}

pub async fn run(g: &GlobalArgs, cmd: AuditCommand) -> CliResult {
    match cmd {
        AuditCommand::Verify {
            data_dir,
            database_url,
            export,
            public_key,
            output,
        } => {
            let pinned = match &public_key {
                Some(p) => {
                    let text = std::fs::read_to_string(p).map_err(|e| {
                        Failure::new(failure::INVALID, format!("{}: {e}", p.display()))
                    })?;
                    Some(parse_public_key(&text).map_err(|e| {
                        Failure::new(failure::INVALID, format!("{}: {e}", p.display()))
                    })?)
                }
                None => None,
            };
            match (data_dir, export) {
                (Some(dir), None) => {
                    verify_data_dir(&dir, database_url.as_deref(), pinned, output).await
                }
                (None, Some(file)) => verify_document(&file, pinned.as_ref(), output),
                _ => Err(Failure::new(
                    failure::INVALID,
                    "audit verify needs --data-dir DIR or --export FILE",
                )),
            }
        }
        AuditCommand::Export { out } => {
            let doc: AuditDocument = crate::client(g)?.get("/api/v1/audit/export").await?;
            write_json(&out, &doc)?;
            if let AuditDocument::Export {
                entries,
                checkpoints,
                ..
            } = &doc
            {
                println!(
                    "wrote {} entries and {} checkpoints to {}",
                    entries.len(),
                    checkpoints.len(),
                    out.display()
                );
            }
            Ok(())
        }
        AuditCommand::Proof { entry, out } => {
            let doc: AuditDocument = crate::client(g)?
                .get(&format!("/api/v1/audit/proofs/inclusion?entry={entry}"))
                .await?;
            emit(out, &doc)
        }
        AuditCommand::Consistency { from, to, out } => {
            let to = to.map(|t| format!("&to={t}")).unwrap_or_default();
            let doc: AuditDocument = crate::client(g)?
                .get(&format!("/api/v1/audit/proofs/consistency?from={from}{to}"))
                .await?;
            emit(out, &doc)
        }
        AuditCommand::Checkpoint => {
            let cp: SignedCheckpoint = crate::client(g)?
                .post("/api/v1/audit/checkpoints", &())
                .await?;
            println!(
                "checkpoint: {} entries, root {} at {} (key {})",
                cp.checkpoint.size, cp.checkpoint.root, cp.checkpoint.timestamp, cp.key_id
            );
            Ok(())
        }
        AuditCommand::Checkpoints { output } => {
            let cps: Vec<SignedCheckpoint> =
                crate::client(g)?.get("/api/v1/audit/checkpoints").await?;
            if output != Format::Table {
                return print_data(output, &cps);
            }
            let mut t = table(vec!["SIZE", "ROOT", "TIME", "KEY"]);
            for c in cps {
                t.add_row(vec![
                    c.checkpoint.size.to_string(),
                    c.checkpoint.root,
                    c.checkpoint.timestamp,
                    c.key_id,
                ]);
            }
            println!("{t}");
            Ok(())
        }
        AuditCommand::Entries {
            from,
            limit,
            output,
        } => {
            let entries: Vec<ExportedEntry> = crate::client(g)?
                .get(&format!("/api/v1/audit/entries?from={from}&limit={limit}"))
                .await?;
            if output != Format::Table {
                return print_data(output, &entries);
            }
            let mut t = table(vec![
                "SEQ", "TIME", "ACTOR", "ACTION", "KIND", "NAME", "REVISION", "CHANGE",
            ]);
            for e in entries {
                let e = e.entry;
                t.add_row(vec![
                    e.seq.to_string(),
                    e.timestamp,
                    e.actor,
                    e.action,
                    e.kind,
                    e.name,
                    e.revision.to_string(),
                    e.change_ref.unwrap_or_default(),
                ]);
            }
            println!("{t}");
            Ok(())
        }
    }
}

fn write_json<T: serde::Serialize>(path: &std::path::Path, value: &T) -> CliResult {
    std::fs::write(path, serde_json::to_vec_pretty(value)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn emit(out: Option<PathBuf>, doc: &AuditDocument) -> CliResult {
    match out {
        Some(path) => {
            write_json(&path, doc)?;
            println!("wrote {}", path.display());
            Ok(())
        }
        None => print_data(Format::Json, doc),
    }
}

/// Verifies a data dir's database against its public key. Reads only.
pub async fn verify_data_dir(
    dir: &std::path::Path,
    database_url: Option<&str>,
    pinned: Option<VerifyingKey>,
    output: Format,
) -> CliResult {
    let report = data_dir_report(dir, database_url, pinned).await?;
    print_report(&report, output)?;
    if report.ok() {
        Ok(())
    } else {
        Err(Failure::new(failure::VERIFY_FAILED, first_problem(&report)))
    }
}

/// The verification report of a data dir (no printing).
pub async fn data_dir_report(
    dir: &std::path::Path,
    database_url: Option<&str>,
    pinned: Option<VerifyingKey>,
) -> CliResult<Report> {
    let data = DataDir::new(dir);
    let key = match pinned {
        Some(k) => k,
        None => data.public_key().map_err(|e| {
            Failure::new(
                failure::INVALID,
                format!("{e} (is {} a data dir?)", dir.display()),
            )
        })?,
    };
    if database_url.is_none() && !data.database_path().exists() {
        return Err(Failure::new(
            failure::INVALID,
            format!("{}: no database here", data.database_path().display()),
        ));
    }
    let url = database_url
        .map(str::to_string)
        .unwrap_or_else(|| data.sqlite_url());
    let store = SqlStore::open(&url)
        .await
        .context("cannot open the database")?;
    let report = store
        .verify(&key)
        .await
        .context("cannot read the audit log")?;
    store.close().await;
    Ok(report)
}

fn first_problem(report: &Report) -> String {
    format!(
        "audit verification failed: {} ({} problem{} in all)",
        report
            .first_problem()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        report.problems.len(),
        if report.problems.len() == 1 { "" } else { "s" }
    )
}

fn print_report(report: &Report, output: Format) -> CliResult {
    if output != Format::Table {
        return print_data(output, report);
    }
    if report.ok() {
        println!(
            "audit log verified: {} entries, {} signed checkpoints (latest covers {}), {} audited objects match their latest entries; root {}",
            report.entries,
            report.checkpoints_verified,
            report
                .latest_checkpoint
                .map(|s| s.to_string())
                .unwrap_or_else(|| "none".into()),
            report.state_rows_checked,
            report.root
        );
        if report.latest_checkpoint != Some(report.entries) {
            println!(
                "note: entries after the latest checkpoint are checked against their recorded hashes and the state, not yet against a signature"
            );
        }
    } else {
        for p in &report.problems {
            println!("problem: {p}");
        }
    }
    Ok(())
}

fn verify_document(
    file: &std::path::Path,
    pinned: Option<&VerifyingKey>,
    output: Format,
) -> CliResult {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Failure::new(failure::INVALID, format!("{}: {e}", file.display())))?;
    let doc: AuditDocument = serde_json::from_str(&text).map_err(|e| {
        Failure::new(
            failure::INVALID,
            format!("{}: not a slipway audit document: {e}", file.display()),
        )
    })?;
    let verdict = doc.verify(pinned);
    if output != Format::Table {
        print_data(output, &verdict)?;
    } else if verdict.ok {
        println!("verified: {}", verdict.summary);
    } else {
        for p in &verdict.problems {
            println!("problem: {p}");
        }
    }
    if verdict.ok {
        Ok(())
    } else {
        Err(Failure::new(
            failure::VERIFY_FAILED,
            format!(
                "{}: verification failed: {}",
                file.display(),
                verdict.problems.first().cloned().unwrap_or_default()
            ),
        ))
    }
}
