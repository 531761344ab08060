//! The I/O edge: reading OSV records from a directory tree or a ZIP archive (like osv.dev's
//! `all.zip`), keeping an imported snapshot in a directory, and reading lockfiles from disk.
//! Everything else in the crate is pure.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::db::{SnapshotError, VulnDb};
use crate::lockfile::{LockfileError, parse_lockfile};
use crate::osv::{Advisory, OsvError, parse_record};
use crate::package::Package;

/// The snapshot's file name inside an import directory.
pub const SNAPSHOT_FILE: &str = "osv-snapshot.json";

/// A ZIP entry larger than this is refused rather than inflated (OSV records are kilobytes).
const MAX_RECORD_BYTES: u64 = 64 * 1024 * 1024;

/// Why a database or lockfile could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("reading {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Osv(#[from] OsvError),
    #[error("zip archive {path}: {message}")]
    Zip { path: PathBuf, message: String },
    #[error("snapshot {path}: {source}")]
    Snapshot {
        path: PathBuf,
        #[source]
        source: SnapshotError,
    },
    #[error(transparent)]
    Lockfile(#[from] LockfileError),
    #[error("{path}: not valid UTF-8 text")]
    NotText { path: PathBuf },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> SourceError + '_ {
    move |source| SourceError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Every `*.json` file under a directory, recursively, parsed as an OSV record (in path order).
pub fn read_osv_dir(dir: &Path) -> Result<Vec<Advisory>, SourceError> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(current) = pending.pop() {
        for entry in fs::read_dir(&current).map_err(io_error(&current))? {
            let entry = entry.map_err(io_error(&current))?;
            let path = entry.path();
            let file_type = entry.file_type().map_err(io_error(&path))?;
            if file_type.is_dir() {
                pending.push(path);
            } else if path
                .extension()
                .is_some_and(|extension| extension == "json")
            {
                files.push(path);
            }
        }
    }
    files.sort();
    files
        .iter()
        .map(|path| {
            let bytes = fs::read(path).map_err(io_error(path))?;
            Ok(parse_record(&path.display().to_string(), &bytes)?)
        })
        .collect()
}

/// Every `*.json` entry of a ZIP archive parsed as an OSV record (in archive order).
pub fn read_osv_zip(path: &Path) -> Result<Vec<Advisory>, SourceError> {
    let zip_error = |message: String| SourceError::Zip {
        path: path.to_owned(),
        message,
    };
    let file = fs::File::open(path).map_err(io_error(path))?;
    let mut archive = zip::ZipArchive::new(io::BufReader::new(file))
        .map_err(|error| zip_error(error.to_string()))?;
    let mut advisories = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|error| zip_error(format!("entry {index}: {error}")))?;
        let entry_name = entry
            .name()
            .map_err(|error| zip_error(format!("entry {index}: {error}")))?
            .into_owned();
        if entry.is_dir() || !entry_name.ends_with(".json") {
            continue;
        }
        let name = format!("{}!{entry_name}", path.display());
        if entry.size() > MAX_RECORD_BYTES {
            return Err(zip_error(format!(
                "entry {entry_name} is {} bytes, more than the {MAX_RECORD_BYTES} allowed for a record",
                entry.size()
            )));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
        (&mut entry)
            .take(MAX_RECORD_BYTES)
            .read_to_end(&mut bytes)
            .map_err(|error| zip_error(format!("entry {entry_name}: {error}")))?;
        advisories.push(parse_record(&name, &bytes)?);
    }
    Ok(advisories)
}

impl VulnDb {
    /// Loads OSV records from a directory (recursively), a ZIP archive or a single `.json` file.
    pub fn load_osv(path: &Path) -> Result<VulnDb, SourceError> {
        let metadata = fs::metadata(path).map_err(io_error(path))?;
        let advisories = if metadata.is_dir() {
            read_osv_dir(path)?
        } else if path
            .extension()
            .is_some_and(|extension| extension == "json")
        {
            let bytes = fs::read(path).map_err(io_error(path))?;
            vec![parse_record(&path.display().to_string(), &bytes)?]
        } else {
            read_osv_zip(path)?
        };
        Ok(VulnDb::from_advisories(advisories))
    }

    /// Writes the snapshot into `dir` (created if missing) as [`SNAPSHOT_FILE`], atomically
    /// (a temporary file renamed over the old one). Returns the snapshot's path.
    pub fn import_to(&self, dir: &Path) -> Result<PathBuf, SourceError> {
        fs::create_dir_all(dir).map_err(io_error(dir))?;
        let target = dir.join(SNAPSHOT_FILE);
        let bytes = self
            .to_snapshot_json()
            .map_err(|source| SourceError::Snapshot {
                path: target.clone(),
                source,
            })?;
        let temporary = dir.join(format!("{SNAPSHOT_FILE}.tmp"));
        fs::write(&temporary, bytes).map_err(io_error(&temporary))?;
        fs::rename(&temporary, &target).map_err(io_error(&target))?;
        Ok(target)
    }

    /// Reads the snapshot [`VulnDb::import_to`] wrote into `dir`.
    pub fn load_from(dir: &Path) -> Result<VulnDb, SourceError> {
        let path = dir.join(SNAPSHOT_FILE);
        let bytes = fs::read(&path).map_err(io_error(&path))?;
        VulnDb::from_snapshot_json(&bytes).map_err(|source| SourceError::Snapshot { path, source })
    }
}

/// Reads and parses a lockfile, its format detected from the name and content.
pub fn read_lockfile(path: &Path) -> Result<Vec<Package>, SourceError> {
    let bytes = fs::read(path).map_err(io_error(path))?;
    let text = String::from_utf8(bytes).map_err(|_| SourceError::NotText {
        path: path.to_owned(),
    })?;
    Ok(parse_lockfile(&path.display().to_string(), &text)?)
}
