//! The on-disk OCI image layout: paths, the two lock files, durable blob ingestion (temp file in
//! the same filesystem, hash while writing, fsync, atomic rename, dedupe), and atomic rewrites of
//! the small JSON files (`index.json`, `holds.json`).
//!
//! Locking: `.lock-gc` is held shared by every writer that adds blobs (push, attach, import) and
//! exclusively by garbage collection, so a blob written but not yet referenced is never swept;
//! `.lock-index` is held exclusively around every read-modify-write of `index.json` and
//! `holds.json`. Both are OS file locks (`flock`), so they serialise threads and processes alike on
//! a local filesystem. Readers take no lock: those files are only ever replaced by rename.

use crate::digest::{Digest, VerifiedReader, copy_hashing};
use crate::error::ArtifactError;
use crate::oci::ImageIndex;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// The `oci-layout` file's content.
pub const OCI_LAYOUT: &str = "{\"imageLayoutVersion\":\"1.0.0\"}";
/// The largest manifest or index blob read into memory.
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;
/// The largest `index.json` / `holds.json` read into memory.
pub const MAX_INDEX_BYTES: u64 = 256 << 20;

/// Paths and primitive operations of one layout directory.
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

/// A held file lock; released when dropped (the file is closed).
#[derive(Debug)]
pub struct LockGuard {
    _file: File,
}

impl Layout {
    /// Creates the layout's files if they are missing and checks the `oci-layout` version.
    pub fn create_or_open(root: &Path) -> Result<Layout, ArtifactError> {
        let layout = Layout {
            root: root.to_path_buf(),
        };
        for dir in [layout.blobs_dir(), layout.tmp_dir()] {
            fs::create_dir_all(&dir).map_err(ArtifactError::io("create directory", &dir))?;
        }
        let marker = root.join("oci-layout");
        match fs::read_to_string(&marker) {
            Ok(text) => check_layout_version(&text)
                .map_err(|why| ArtifactError::Corrupt(format!("{}: {why}", marker.display())))?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                layout.write_atomically(&marker, OCI_LAYOUT.as_bytes())?
            }
            Err(e) => return Err(ArtifactError::io("read", &marker)(e)),
        }
        let index = layout.index_path();
        if !index.exists() {
            let _lock = layout.lock_index()?;
            if !index.exists() {
                layout.write_index(&ImageIndex::empty())?;
            }
        }
        Ok(layout)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn blobs_dir(&self) -> PathBuf {
        self.root.join("blobs").join("sha256")
    }

    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join(".tmp")
    }

    pub fn index_path(&self) -> PathBuf {
        self.root.join("index.json")
    }

    pub fn holds_path(&self) -> PathBuf {
        self.root.join("holds.json")
    }

    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.blobs_dir().join(digest.hex())
    }

    pub fn has_blob(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    fn lock(&self, name: &str, exclusive: bool) -> Result<LockGuard, ArtifactError> {
        let path = self.root.join(name);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(ArtifactError::io("open lock file", &path))?;
        let locked = if exclusive {
            file.lock()
        } else {
            file.lock_shared()
        };
        locked.map_err(ArtifactError::io("lock", &path))?;
        Ok(LockGuard { _file: file })
    }

    /// Serialises read-modify-write of `index.json` and `holds.json`.
    pub fn lock_index(&self) -> Result<LockGuard, ArtifactError> {
        self.lock(".lock-index", true)
    }

    /// Held shared while blobs are added, so garbage collection waits for them.
    pub fn lock_blobs_shared(&self) -> Result<LockGuard, ArtifactError> {
        self.lock(".lock-gc", false)
    }

    /// Held by garbage collection: no blob is being added meanwhile.
    pub fn lock_blobs_exclusive(&self) -> Result<LockGuard, ArtifactError> {
        self.lock(".lock-gc", true)
    }

    fn temp_file(&self) -> Result<tempfile::NamedTempFile, ArtifactError> {
        tempfile::Builder::new()
            .prefix("ingest-")
            .tempfile_in(self.tmp_dir())
            .map_err(ArtifactError::io(
                "create temporary file in",
                self.tmp_dir(),
            ))
    }

    /// Streams `content` into the blob store, hashing as it goes; the blob is durable (fsynced
    /// and renamed into place) when this returns. Content already stored is not written twice.
    /// When `expected` is given, content with another digest is refused and not stored.
    pub fn ingest(
        &self,
        content: &mut impl Read,
        expected: Option<&Digest>,
    ) -> Result<(Digest, u64), ArtifactError> {
        let mut temp = self.temp_file()?;
        let temp_path = temp.path().to_path_buf();
        let (digest, size) = copy_hashing(content, temp.as_file_mut())
            .map_err(ArtifactError::io("copy content into", &temp_path))?;
        if let Some(expected) = expected
            && expected != &digest
        {
            return Err(ArtifactError::Corrupt(format!(
                "content expected to be {expected} hashes to {digest}"
            )));
        }
        if !self.has_blob(&digest) {
            temp.as_file()
                .sync_all()
                .map_err(ArtifactError::io("flush", &temp_path))?;
            let target = self.blob_path(&digest);
            temp.persist(&target)
                .map_err(|e| ArtifactError::io("move blob into", &target)(e.error))?;
            sync_dir(&self.blobs_dir())?;
        }
        Ok((digest, size))
    }

    /// Stores a small blob given in memory.
    pub fn write_blob(&self, bytes: &[u8]) -> Result<(Digest, u64), ArtifactError> {
        let digest = Digest::of(bytes);
        if self.has_blob(&digest) {
            return Ok((digest, bytes.len() as u64));
        }
        self.ingest(&mut &bytes[..], Some(&digest))
    }

    /// Opens a blob for reading with its digest checked as it is read.
    pub fn open_blob(
        &self,
        digest: &Digest,
        size: Option<u64>,
    ) -> Result<VerifiedReader<io::BufReader<File>>, ArtifactError> {
        let path = self.blob_path(digest);
        let file = File::open(&path).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                ArtifactError::NotFound(format!("blob {digest}"))
            } else {
                ArtifactError::io("open blob", &path)(e)
            }
        })?;
        let reader = io::BufReader::with_capacity(crate::digest::COPY_BUFFER_BYTES, file);
        Ok(VerifiedReader::new(reader, digest.clone(), size))
    }

    /// Reads a whole (small) blob, verified, refusing one larger than `limit`.
    pub fn read_blob_bytes(&self, digest: &Digest, limit: u64) -> Result<Vec<u8>, ArtifactError> {
        let path = self.blob_path(digest);
        let len = fs::metadata(&path)
            .map_err(|e| {
                if e.kind() == io::ErrorKind::NotFound {
                    ArtifactError::NotFound(format!("blob {digest}"))
                } else {
                    ArtifactError::io("read", &path)(e)
                }
            })?
            .len();
        if len > limit {
            return Err(ArtifactError::Corrupt(format!(
                "blob {digest} is {len} bytes, more than the {limit} allowed for a document"
            )));
        }
        let mut bytes = Vec::with_capacity(len as usize);
        self.open_blob(digest, Some(len))?
            .read_to_end(&mut bytes)
            .map_err(|e| ArtifactError::Corrupt(format!("{}: {e}", path.display())))?;
        Ok(bytes)
    }

    /// Reads a JSON document stored as a blob.
    pub fn read_json_blob<T: DeserializeOwned>(&self, digest: &Digest) -> Result<T, ArtifactError> {
        let bytes = self.read_blob_bytes(digest, MAX_MANIFEST_BYTES)?;
        serde_json::from_slice(&bytes).map_err(|e| {
            ArtifactError::Corrupt(format!("blob {digest} is not the expected document: {e}"))
        })
    }

    /// Stores a JSON document as a blob; returns its digest and size.
    pub fn write_json_blob<T: Serialize>(&self, value: &T) -> Result<(Digest, u64), ArtifactError> {
        let bytes = serde_json::to_vec(value)
            .map_err(|e| ArtifactError::Corrupt(format!("could not encode a document: {e}")))?;
        self.write_blob(&bytes)
    }

    /// Reads `index.json`.
    pub fn read_index(&self) -> Result<ImageIndex, ArtifactError> {
        read_json_file(&self.index_path())?
            .ok_or_else(|| ArtifactError::NotFound(format!("{}", self.index_path().display())))
    }

    /// Replaces `index.json` atomically and durably.
    pub fn write_index(&self, index: &ImageIndex) -> Result<(), ArtifactError> {
        let bytes = serde_json::to_vec_pretty(index)
            .map_err(|e| ArtifactError::Corrupt(format!("could not encode index.json: {e}")))?;
        self.write_atomically(&self.index_path(), &bytes)
    }

    /// Writes `bytes` to `path` through a temporary file, fsync and rename.
    pub fn write_atomically(&self, path: &Path, bytes: &[u8]) -> Result<(), ArtifactError> {
        let dir = path.parent().unwrap_or(&self.root);
        let mut temp = tempfile::Builder::new()
            .prefix(".write-")
            .tempfile_in(dir)
            .map_err(ArtifactError::io("create temporary file in", dir))?;
        temp.write_all(bytes)
            .and_then(|()| temp.as_file().sync_all())
            .map_err(ArtifactError::io("write", temp.path().to_path_buf()))?;
        temp.persist(path)
            .map_err(|e| ArtifactError::io("replace", path)(e.error))?;
        sync_dir(dir)
    }

    /// Every file name under `blobs/sha256`.
    pub fn blob_names(&self) -> Result<Vec<String>, ArtifactError> {
        let dir = self.blobs_dir();
        let mut names = Vec::new();
        for entry in fs::read_dir(&dir).map_err(ArtifactError::io("list", &dir))? {
            let entry = entry.map_err(ArtifactError::io("list", &dir))?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }

    /// Removes files left in `.tmp` by interrupted writes; call only under the exclusive blob lock.
    pub fn clear_tmp(&self) -> Result<(), ArtifactError> {
        let dir = self.tmp_dir();
        for entry in fs::read_dir(&dir).map_err(ArtifactError::io("list", &dir))? {
            let path = entry.map_err(ArtifactError::io("list", &dir))?.path();
            fs::remove_file(&path).map_err(ArtifactError::io("remove", &path))?;
        }
        Ok(())
    }
}

/// Reads a JSON file; `None` when it does not exist.
pub fn read_json_file<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, ArtifactError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ArtifactError::io("open", path)(e)),
    };
    let mut bytes = Vec::new();
    file.take(MAX_INDEX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(ArtifactError::io("read", path))?;
    if bytes.len() as u64 > MAX_INDEX_BYTES {
        return Err(ArtifactError::Corrupt(format!(
            "{} is larger than {MAX_INDEX_BYTES} bytes",
            path.display()
        )));
    }
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| ArtifactError::Corrupt(format!("{} is not valid: {e}", path.display())))
}

/// Checks an `oci-layout` file's content.
pub fn check_layout_version(text: &str) -> Result<(), String> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Marker {
        image_layout_version: String,
    }
    let marker: Marker =
        serde_json::from_str(text).map_err(|e| format!("not an oci-layout file: {e}"))?;
    if marker.image_layout_version == "1.0.0" {
        Ok(())
    } else {
        Err(format!(
            "image layout version {:?} is not supported (expected 1.0.0)",
            marker.image_layout_version
        ))
    }
}

fn sync_dir(dir: &Path) -> Result<(), ArtifactError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(ArtifactError::io("flush directory", dir))
}
