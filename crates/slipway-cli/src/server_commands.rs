//! `init` and `server`: the commands that own a data dir. Both hand over to the server crate,
//! the composition root; this module only turns arguments into its configuration and its
//! errors into exit codes.

use crate::failure::{self, CliResult, Failure};
use clap::Args;
use slipway_api::auth::parse_duration;
use slipway_server::{Config, ServerError};
use slipway_store::data_dir::DataDir;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct InitArgs {
    #[arg(long, env = "SLIPWAY_DATA_DIR")]
    pub data_dir: PathBuf,
    /// PostgreSQL instead of the data dir's SQLite file: postgres://USER@HOST:PORT/DB.
    #[arg(long, env = "SLIPWAY_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Name of the first administrator.
    #[arg(long, default_value = "admin")]
    pub admin: String,
}

pub async fn init(args: InitArgs) -> CliResult {
    let dir = DataDir::new(&args.data_dir);
    let done = slipway_server::bootstrap::init(&dir, args.database_url.as_deref(), &args.admin)
        .await
        .map_err(|e| Failure::new(1, format!("cannot initialise {}: {e}", dir.root.display())))?;
    println!(
        "initialised {} (database: {})",
        dir.root.display(),
        done.database
    );
    println!("audit signing key: {}", dir.signing_key_path().display());
    println!(
        "admin token for {}: {} (mode 0600)",
        args.admin,
        dir.admin_token_path().display()
    );
    Ok(())
}

#[derive(Debug, Args)]
pub struct ServerArgs {
    #[arg(long, env = "SLIPWAY_DATA_DIR")]
    pub data_dir: PathBuf,
    #[arg(long, default_value = "127.0.0.1:7878", env = "SLIPWAY_LISTEN")]
    pub listen: String,
    /// PostgreSQL instead of the data dir's SQLite file.
    #[arg(long, env = "SLIPWAY_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// How often to sign an audit checkpoint while the log grows.
    #[arg(long, default_value = "60s", value_parser = duration)]
    pub checkpoint_interval: std::time::Duration,
    /// How long in-flight requests may take to finish at shutdown.
    #[arg(long, default_value = "10s", value_parser = duration)]
    pub drain_timeout: std::time::Duration,
    /// The naming-convention policy every artifact push must meet (YAML or JSON; default: a
    /// semantic version, a full git SHA when one is given, nothing else required).
    #[arg(long, value_name = "FILE")]
    pub artifact_naming_policy: Option<PathBuf>,
}

fn duration(text: &str) -> Result<std::time::Duration, String> {
    parse_duration(text)
}

impl From<ServerArgs> for Config {
    fn from(args: ServerArgs) -> Config {
        Config {
            data_dir: args.data_dir,
            listen: args.listen,
            database_url: args.database_url,
            checkpoint_interval: args.checkpoint_interval,
            drain_timeout: args.drain_timeout,
            artifact_naming_policy: args.artifact_naming_policy,
        }
    }
}

/// `slipway server`: the configuration is read before any runtime starts; the server crate
/// then builds its own runtime and serves until SIGINT or SIGTERM.
pub fn server(args: ServerArgs) -> CliResult {
    let config = Config::from(args).read().map_err(server_failure)?;
    slipway_server::run(config).map_err(server_failure)
}

/// `slipway server` on the caller's runtime.
pub async fn server_here(args: ServerArgs) -> CliResult {
    let config = Config::from(args).read().map_err(server_failure)?;
    slipway_server::serve_until_signalled(config)
        .await
        .map_err(server_failure)
}

/// The exit code of a server error: a refused configuration is invalid input.
pub fn server_failure(error: ServerError) -> Failure {
    match error {
        ServerError::Config(_) => Failure::new(failure::INVALID, error),
        _ => Failure::new(1, error),
    }
}
