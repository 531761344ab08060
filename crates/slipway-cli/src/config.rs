//! Where the CLI finds its server and token: `--server`/`--token`, else `SLIPWAY_SERVER`/
//! `SLIPWAY_TOKEN`, else the file written by `slipway login` (`$SLIPWAY_CONFIG`, default
//! `~/.config/slipway/config.json`, mode 0600).

use crate::failure::{CliResult, Failure};
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct ClientConfig {
    pub server: Option<String>,
    pub token: Option<String>,
}

pub fn config_path() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("SLIPWAY_CONFIG") {
        return Some(PathBuf::from(p));
    }
    std::env::var("HOME")
        .ok()
        .map(|h| PathBuf::from(h).join(".config/slipway/config.json"))
}

/// Reads the saved config; a missing file is an empty config.
pub fn load() -> CliResult<ClientConfig> {
    let Some(path) = config_path() else {
        return Ok(ClientConfig::default());
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .with_context(|| format!("{}: not a slipway client config", path.display()))
            .map_err(Failure::from),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ClientConfig::default()),
        Err(e) => Err(anyhow::Error::new(e)
            .context(format!("cannot read {}", path.display()))
            .into()),
    }
}

/// Saves the config with mode 0600 (it holds a token).
pub fn save(config: &ClientConfig) -> CliResult<PathBuf> {
    let path = config_path().ok_or_else(|| {
        Failure::new(
            1,
            "no HOME and no SLIPWAY_CONFIG: cannot tell where to save",
        )
    })?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(serde_json::to_string_pretty(config)?.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}
