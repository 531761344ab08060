//! The data dir's on-disk layout: the SQLite database, the audit signing key pair and the first
//! admin's token.
//!
//! ```text
//! DIR/slipway.db            SQLite database (the embedded default)
//! DIR/audit-signing.key     Ed25519 seed, hex, mode 0600: signs audit checkpoints
//! DIR/audit-signing.pub     the public key, hex: what `slipway audit verify` trusts
//! DIR/admin-token           the first admin's API token, mode 0600, written by `slipway init`
//! ```

use ed25519_dalek::{SigningKey, VerifyingKey};
use slipway_domain::audit::checkpoint::parse_public_key;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Errors reading or writing the data dir; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },
}

fn file_error(path: &Path, reason: impl std::fmt::Display) -> DataDirError {
    DataDirError::File {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// A data dir.
#[derive(Debug, Clone)]
pub struct DataDir {
    pub root: PathBuf,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DataDir { root: root.into() }
    }

    pub fn database_path(&self) -> PathBuf {
        self.root.join("slipway.db")
    }

    /// `sqlite://DIR/slipway.db`.
    pub fn sqlite_url(&self) -> String {
        format!("sqlite://{}", self.database_path().display())
    }

    pub fn signing_key_path(&self) -> PathBuf {
        self.root.join("audit-signing.key")
    }

    pub fn public_key_path(&self) -> PathBuf {
        self.root.join("audit-signing.pub")
    }

    pub fn admin_token_path(&self) -> PathBuf {
        self.root.join("admin-token")
    }

    /// Whether `init` has run here.
    pub fn is_initialised(&self) -> bool {
        self.signing_key_path().exists()
    }

    /// Creates the directory (mode 0700) if needed.
    pub fn create(&self) -> Result<(), DataDirError> {
        std::fs::create_dir_all(&self.root).map_err(|e| file_error(&self.root, e))?;
        std::fs::set_permissions(&self.root, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| file_error(&self.root, e))
    }

    /// Generates and writes a new signing key pair. Refuses to overwrite an existing key.
    pub fn create_signing_key(&self) -> Result<SigningKey, DataDirError> {
        let path = self.signing_key_path();
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed)
            .map_err(|e| file_error(&path, format!("no randomness: {e}")))?;
        let key = SigningKey::from_bytes(&seed);
        write_secret(&path, hex::encode(seed).as_bytes())?;
        let public = self.public_key_path();
        std::fs::write(
            &public,
            format!("{}\n", hex::encode(key.verifying_key().as_bytes())),
        )
        .map_err(|e| file_error(&public, e))?;
        Ok(key)
    }

    pub fn signing_key(&self) -> Result<SigningKey, DataDirError> {
        let path = self.signing_key_path();
        let text = std::fs::read_to_string(&path).map_err(|e| file_error(&path, e))?;
        let bytes = hex::decode(text.trim()).map_err(|_| file_error(&path, "is not hex"))?;
        let seed: [u8; 32] = bytes
            .try_into()
            .map_err(|_| file_error(&path, "is not a 32-byte ed25519 seed"))?;
        Ok(SigningKey::from_bytes(&seed))
    }

    pub fn public_key(&self) -> Result<VerifyingKey, DataDirError> {
        let path = self.public_key_path();
        let text = std::fs::read_to_string(&path).map_err(|e| file_error(&path, e))?;
        parse_public_key(&text).map_err(|e| file_error(&path, e))
    }

    /// Writes the admin token (mode 0600).
    pub fn write_admin_token(&self, token: &str) -> Result<(), DataDirError> {
        write_secret(&self.admin_token_path(), format!("{token}\n").as_bytes())
    }

    pub fn admin_token(&self) -> Result<String, DataDirError> {
        let path = self.admin_token_path();
        std::fs::read_to_string(&path)
            .map(|t| t.trim().to_string())
            .map_err(|e| file_error(&path, e))
    }
}

/// Creates a new file readable only by its owner; refuses to replace one.
fn write_secret(path: &Path, bytes: &[u8]) -> Result<(), DataDirError> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| file_error(path, e))?;
    f.write_all(bytes).map_err(|e| file_error(path, e))?;
    f.sync_all().map_err(|e| file_error(path, e))
}
