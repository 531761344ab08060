//! Offline vulnerability scanning of lockfiles against an OSV database.
//!
//! Load advisories ([`VulnDb::load_osv`] for a directory or ZIP of OSV JSON,
//! [`VulnDb::load_from`] for an imported snapshot), read packages ([`read_lockfile`],
//! [`parse_lockfile`], [`Package::from_purl`]), scan ([`VulnDb::scan`]) and judge the findings
//! ([`evaluate`] with a [`ScanPolicy`]); print them with [`render_table`] or as JSON through
//! [`FindingsDocument`]. Matching follows cargo-audit for Cargo.lock files: registry crates only,
//! withdrawn advisories ignored, RustSec's informational advisories reported as warnings.
//!
//! Only [`source`] touches the file system; the rest takes values and returns values.

pub mod db;
pub mod lockfile;
pub mod osv;
pub mod package;
pub mod pep440;
pub mod scan;
pub mod severity;
pub mod source;
pub mod version;

pub use db::{DbStats, SnapshotError, VulnDb};
pub use lockfile::{LockfileError, LockfileFormat, detect_format, parse_as, parse_lockfile};
pub use osv::{Advisory, FindingKind, OsvError, parse_record};
pub use package::{Package, PackageSource, PurlError};
pub use scan::{Finding, FindingsDocument, ScanOutcome, ScanPolicy, evaluate, render_table};
pub use severity::{Severity, cvss_v3_base_score, cvss_v4_approximate_score};
pub use source::{SNAPSHOT_FILE, SourceError, read_lockfile, read_osv_dir, read_osv_zip};
pub use version::Ecosystem;
