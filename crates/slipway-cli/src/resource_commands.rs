//! `apply`, `diff`, `get` and `delete`: resource commands, as a client of the API.

use crate::client::ApiClient;
use crate::failure::{self, CliResult, Failure};
use crate::manifests::read_documents;
use crate::output::{Format, print_data, print_resources};
use clap::Args;
use slipway_api::resource_routes::{
    ApplyRequest, ApplyResponse, ApplyResult, KindInfo, ResourceList,
};
use slipway_domain::resource::Resource;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct FileArgs {
    /// Files or directories of YAML/JSON documents (`-` for standard input).
    #[arg(short = 'f', long = "filename", required = true)]
    pub files: Vec<PathBuf>,
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    pub output: Format,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub files: FileArgs,
    /// The change request these changes are made under (recorded in the audit log).
    #[arg(long)]
    pub change_ref: Option<String>,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// Kind, by any of its names: service, services, svc, Service...
    pub kind: String,
    pub name: Option<String>,
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    pub output: Format,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    pub kind: String,
    pub name: String,
    /// Refuse unless the resource is still at this revision.
    #[arg(long)]
    pub revision: Option<i64>,
}

async fn send(
    client: &ApiClient,
    files: &FileArgs,
    dry_run: bool,
    change_ref: Option<String>,
) -> CliResult<Vec<ApplyResult>> {
    let documents = read_documents(&files.files)?;
    let request = ApplyRequest {
        documents,
        dry_run,
        change_ref,
    };
    let response: ApplyResponse = client.post("/api/v1/apply", &request).await?;
    Ok(response.results)
}

pub async fn apply(client: &ApiClient, args: ApplyArgs) -> CliResult {
    let results = send(client, &args.files, false, args.change_ref).await?;
    print_applied(args.files.output, &results)
}

/// Applies files and prints what happened (for commands that create one kind from files).
pub async fn apply_files(client: &ApiClient, files: &FileArgs) -> CliResult {
    let results = send(client, files, false, None).await?;
    print_applied(files.output, &results)
}

fn print_applied(output: Format, results: &[ApplyResult]) -> CliResult {
    if output != Format::Table {
        return print_data(output, &results);
    }
    for r in results {
        println!(
            "{} {} {} (revision {})",
            r.kind, r.name, r.action, r.revision
        );
    }
    Ok(())
}

pub async fn diff(client: &ApiClient, args: FileArgs) -> CliResult {
    let results = send(client, &args, true, None).await?;
    if args.output != Format::Table {
        return print_data(args.output, &results);
    }
    let mut changed = 0;
    for r in &results {
        match r.action.as_str() {
            "created" => {
                changed += 1;
                println!("+ {} {} would be created", r.kind, r.name);
            }
            "updated" => {
                changed += 1;
                println!(
                    "~ {} {} would be updated to revision {}",
                    r.kind, r.name, r.revision
                );
                for c in &r.changes {
                    let show = |v: &Option<serde_json::Value>| {
                        v.as_ref()
                            .map(|v| v.to_string())
                            .unwrap_or_else(|| "(absent)".into())
                    };
                    println!("    {}: {} → {}", c.path, show(&c.before), show(&c.after));
                }
            }
            _ => {}
        }
    }
    println!("{changed} of {} documents would change", results.len());
    Ok(())
}

/// Resolves a kind name through the server's discovery endpoint.
async fn resolve_kind(client: &ApiClient, name: &str) -> CliResult<KindInfo> {
    let kinds: Vec<KindInfo> = client.get("/api/v1/kinds").await?;
    let lower = name.to_ascii_lowercase();
    kinds
        .into_iter()
        .find(|k| {
            k.kind.eq_ignore_ascii_case(&lower)
                || k.singular == lower
                || k.plural == lower
                || k.short_names.contains(&lower)
        })
        .ok_or_else(|| {
            Failure::new(
                failure::NOT_FOUND,
                format!(
                    "unknown kind {name:?}: run slipway get with one of the kinds the server lists"
                ),
            )
        })
}

pub async fn get(client: &ApiClient, args: GetArgs) -> CliResult {
    let kind = resolve_kind(client, &args.kind).await?;
    let items: Vec<Resource> = match &args.name {
        Some(name) => vec![
            client
                .get(&format!("/api/v1/{}/{name}", kind.plural))
                .await?,
        ],
        None => {
            client
                .get::<ResourceList>(&format!("/api/v1/{}", kind.plural))
                .await?
                .items
        }
    };
    if args.name.is_none() && args.output != Format::Table {
        return print_data(args.output, &items);
    }
    print_resources(args.output, &kind.kind, &items)
}

pub async fn delete(client: &ApiClient, args: DeleteArgs) -> CliResult {
    let kind = resolve_kind(client, &args.kind).await?;
    let query = args
        .revision
        .map(|r| format!("?revision={r}"))
        .unwrap_or_default();
    let r: ApplyResult = client
        .delete(&format!("/api/v1/{}/{}{query}", kind.plural, args.name))
        .await?;
    println!(
        "{} {} deleted (was revision {})",
        r.kind, r.name, r.revision
    );
    Ok(())
}
