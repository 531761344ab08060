//! Slipway's command line.
//!
//! The command line is parsed and the configuration read before any runtime starts; then one
//! tokio runtime runs the command. Most commands are clients of the API (`--server`/`--token`,
//! `SLIPWAY_SERVER`/`SLIPWAY_TOKEN`, or `slipway login`); `init`, `server`, `audit verify` and
//! `demo` work on a data dir directly. This is the only crate that knows terminals.
#![forbid(unsafe_code)]

pub mod analysis_commands;
pub mod api_commands;
pub mod artifact_commands;
pub mod audit_commands;
pub mod change_commands;
pub mod client;
pub mod config;
pub mod demo;
pub mod example_service;
pub mod failure;
pub mod identity_commands;
pub mod manifests;
pub mod output;
pub mod resource_commands;
pub mod rollout_commands;
pub mod scan_commands;
pub mod server_commands;

use clap::{Args, CommandFactory, Parser, Subcommand};
use client::ApiClient;
use failure::{CliResult, Failure};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "slipway",
    version,
    about = "Release governance and progressive delivery: from a built artifact to production, under control.",
    after_help = "Exit codes: 0 ok, 1 failure, 2 bad command line, 3 invalid input, 4 not found, 5 conflict, 6 not authenticated or not allowed, 7 audit verification failed, 8 server unreachable."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The server's URL, e.g. http://127.0.0.1:7878.
    #[arg(long, global = true, env = "SLIPWAY_SERVER")]
    pub server: Option<String>,
    /// An API token (slw_...).
    #[arg(long, global = true, env = "SLIPWAY_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Log format for the server and diagnostics.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a data dir: signing key, database, built-in roles, the first admin and its token.
    Init(server_commands::InitArgs),
    /// Run the API server.
    Server(server_commands::ServerArgs),
    /// Run the demo on a temporary data dir with the example system.
    Demo(demo::DemoArgs),
    /// Save a server URL and token for later commands.
    Login(identity_commands::LoginArgs),
    /// Show who the token belongs to.
    Whoami,
    /// Create or update resources from files (YAML or JSON, one or many documents).
    Apply(resource_commands::ApplyArgs),
    /// Show what apply would change, without changing anything.
    Diff(resource_commands::FileArgs),
    /// List resources of a kind, or show one.
    Get(resource_commands::GetArgs),
    /// Delete a resource.
    Delete(resource_commands::DeleteArgs),
    /// Follow and steer rollouts.
    #[command(subcommand)]
    Rollout(rollout_commands::RolloutCommand),
    /// Change requests: create, submit, approve, schedule, implement, close, break-glass.
    #[command(subcommand)]
    Change(change_commands::ChangeCommand),
    /// The deployment gate's recorded decisions.
    #[command(subcommand)]
    Gate(change_commands::GateCommand),
    /// Change windows and freezes: may a change happen at an instant, and when next.
    #[command(subcommand)]
    Calendar(change_commands::CalendarCommand),
    /// Verify change evidence packs offline.
    #[command(subcommand)]
    Evidence(change_commands::EvidenceCommand),
    /// Manage users.
    #[command(subcommand)]
    User(identity_commands::UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(identity_commands::TokenCommand),
    /// Inspect and verify the audit log.
    #[command(subcommand)]
    Audit(audit_commands::AuditCommand),
    /// The artifact store: push, pull, list, inspect, attach, holds, retention, export, import.
    #[command(subcommand)]
    Artifact(artifact_commands::ArtifactCommand),
    /// Scan a lockfile or an SBOM for known vulnerabilities, offline (an OSV database or the
    /// snapshot imported into a data dir).
    Scan(scan_commands::ScanArgs),
    /// The vulnerability database scans use: import OSV records.
    #[command(subcommand)]
    Vulndb(scan_commands::VulnDbCommand),
    /// Canary analysis offline: classify one metric or judge a configuration.
    #[command(subcommand)]
    Analysis(analysis_commands::AnalysisCommand),
    /// API contracts offline: compare two OpenAPI documents.
    #[command(subcommand)]
    Api(api_commands::ApiCommand),
    /// The example service the demo deploys (serves a version banner; can be told to fail).
    #[command(hide = true)]
    ExampleService(example_service::ExampleServiceArgs),
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Parses the command line, runs the command and maps failures to exit codes. `slipway
/// server` reads its configuration here and hands over to the server crate, which builds its
/// own runtime; every other command runs on one runtime built here.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli);
    let outcome = match cli.command {
        Command::Server(args) => server_commands::server(args),
        command => match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime.block_on(run(Cli {
                global: cli.global,
                command,
            })),
            Err(e) => Err(Failure::new(
                1,
                format!("cannot start the async runtime: {e}"),
            )),
        },
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {:#}", f.error);
            ExitCode::from(f.exit)
        }
    }
}

fn init_logging(cli: &Cli) {
    let default = match cli.command {
        Command::Server(_) => "info",
        _ => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match cli.global.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Runs one parsed command.
pub async fn run(cli: Cli) -> CliResult {
    let g = &cli.global;
    match cli.command {
        Command::Init(args) => server_commands::init(args).await,
        // `main` lets the server build its own runtime; here it runs on the caller's.
        Command::Server(args) => server_commands::server_here(args).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Login(args) => identity_commands::login(g, args).await,
        Command::Whoami => identity_commands::whoami(&client(g)?).await,
        Command::Apply(args) => resource_commands::apply(&client(g)?, args).await,
        Command::Diff(args) => resource_commands::diff(&client(g)?, args).await,
        Command::Get(args) => resource_commands::get(&client(g)?, args).await,
        Command::Delete(args) => resource_commands::delete(&client(g)?, args).await,
        Command::Rollout(cmd) => rollout_commands::run(&client(g)?, cmd).await,
        Command::Change(cmd) => change_commands::run(&client(g)?, cmd).await,
        Command::Gate(cmd) => change_commands::run_gate(&client(g)?, cmd).await,
        Command::Evidence(cmd) => change_commands::run_evidence(cmd),
        Command::Calendar(cmd) => change_commands::run_calendar(&client(g)?, cmd).await,
        Command::User(cmd) => identity_commands::user(&client(g)?, cmd).await,
        Command::Token(cmd) => identity_commands::token(&client(g)?, cmd).await,
        Command::Audit(cmd) => audit_commands::run(g, cmd).await,
        Command::Artifact(artifact_commands::ArtifactCommand::VerifyBundle(args)) => {
            artifact_commands::verify_bundle(&args)
        }
        Command::Artifact(cmd) => artifact_commands::run(&client(g)?, cmd).await,
        Command::Scan(args) => scan_commands::scan(&args),
        Command::Vulndb(cmd) => scan_commands::vulndb(cmd, || client(g)).await,
        Command::Analysis(cmd) => analysis_commands::run(g, cmd).await,
        Command::Api(cmd) => api_commands::run(cmd),
        Command::ExampleService(args) => example_service::run(args).await,
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "slipway",
                &mut std::io::stdout(),
            );
            Ok(())
        }
    }
}

/// The API client from flags, environment or the saved login.
pub fn client(g: &GlobalArgs) -> CliResult<ApiClient> {
    let saved = config::load()?;
    let server = g.server.clone().or(saved.server).ok_or_else(|| {
        Failure::new(
            failure::INVALID,
            "no server: pass --server URL, set SLIPWAY_SERVER, or run slipway login",
        )
    })?;
    ApiClient::new(&server, g.token.clone().or(saved.token))
}
