//! The server's configuration, read and checked before any runtime starts: the data dir must
//! be initialised, its signing key readable, the artifact naming policy (when one is given) a
//! valid policy. What fails here fails before anything runs, with the file named.

use crate::ServerError;
use ed25519_dalek::SigningKey;
use slipway_artifacts::NamingPolicy;
use slipway_store::data_dir::DataDir;
use std::path::PathBuf;
use std::time::Duration;

/// How the server is to run, as given on the command line or in the environment.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    /// Where the API listens, e.g. `127.0.0.1:7878` (port 0: any free port).
    pub listen: String,
    /// PostgreSQL instead of the data dir's SQLite file.
    pub database_url: Option<String>,
    /// How often to sign an audit checkpoint while the log grows.
    pub checkpoint_interval: Duration,
    /// How long in-flight requests and background tasks may take to finish at shutdown.
    pub drain_timeout: Duration,
    /// The naming-convention policy file every artifact push must meet (YAML or JSON); the
    /// default policy without one.
    pub artifact_naming_policy: Option<PathBuf>,
}

impl Config {
    /// A configuration with the defaults of `slipway server` for `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Config {
        Config {
            data_dir: data_dir.into(),
            listen: "127.0.0.1:7878".into(),
            database_url: None,
            checkpoint_interval: Duration::from_secs(60),
            drain_timeout: Duration::from_secs(10),
            artifact_naming_policy: None,
        }
    }

    /// Reads and checks everything the configuration names (no runtime needed).
    pub fn read(self) -> Result<ReadConfig, ServerError> {
        let dir = DataDir::new(&self.data_dir);
        if !dir.is_initialised() {
            return Err(ServerError::Config(format!(
                "{} is not a slipway data dir: run slipway init --data-dir {} first",
                dir.root.display(),
                dir.root.display()
            )));
        }
        let signing_key = dir
            .signing_key()
            .map_err(|e| ServerError::Config(e.to_string()))?;
        let naming = match &self.artifact_naming_policy {
            None => NamingPolicy::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    ServerError::Config(format!(
                        "cannot read the naming policy {}: {e}",
                        path.display()
                    ))
                })?;
                NamingPolicy::from_yaml(&text)
                    .map_err(|e| ServerError::Config(format!("{}: {e}", path.display())))?
            }
        };
        let database_url = self
            .database_url
            .clone()
            .unwrap_or_else(|| dir.sqlite_url());
        Ok(ReadConfig {
            dir,
            database_url,
            signing_key,
            naming,
            listen: self.listen,
            checkpoint_interval: self.checkpoint_interval,
            drain_timeout: self.drain_timeout,
        })
    }
}

/// A configuration whose files were read and checked: what [`crate::Server::start`] builds
/// the parts from.
pub struct ReadConfig {
    pub dir: DataDir,
    /// Never shown: it may hold a password.
    pub(crate) database_url: String,
    pub(crate) signing_key: SigningKey,
    pub(crate) naming: NamingPolicy,
    pub listen: String,
    pub checkpoint_interval: Duration,
    pub drain_timeout: Duration,
}

impl std::fmt::Debug for ReadConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadConfig")
            .field("data_dir", &self.dir.root)
            .field("listen", &self.listen)
            .field("checkpoint_interval", &self.checkpoint_interval)
            .field("drain_timeout", &self.drain_timeout)
            .finish_non_exhaustive()
    }
}
