//! `slipway scan` and `slipway vulndb import`: offline vulnerability scanning of a lockfile or an
//! SBOM against an OSV database (a directory or ZIP of OSV records named with `--osv`, or the
//! snapshot imported into a data dir), and importing that snapshot — into a data dir directly,
//! or into a running server's data dir through the API.

use crate::client::ApiClient;
use crate::failure::{self, CliResult, Failure};
use crate::output::{Format, print_data};
use clap::{Args, Subcommand};
use reqwest::Method;
use serde::Serialize;
use slipway_vuln::{FindingsDocument, Package, ScanPolicy, Severity, VulnDb};
use std::path::{Path, PathBuf};

/// The directory of a data dir that holds the imported vulnerability database snapshot (the
/// same one the server scans with).
pub use slipway_supply_chain::vulndb::VULNDB_DIR;

/// The exit code of a scan whose findings break the `--fail-on` policy.
pub const SCAN_FAILED: u8 = 1;

#[derive(Debug, Args)]
#[command(
    group(clap::ArgGroup::new("input").required(true).args(["lockfile", "sbom"])),
    after_help = "Exit codes: 0 the scan passes, 1 a finding breaks --fail-on, 3 invalid input (unreadable lockfile, SBOM refused by its schema, unreadable database), 4 a file or the imported database is missing."
)]
pub struct ScanArgs {
    /// A lockfile (Cargo.lock, package-lock.json, poetry.lock, go.sum...).
    #[arg(long, value_name = "FILE")]
    pub lockfile: Option<PathBuf>,
    /// A CycloneDX or SPDX JSON SBOM: its components with a purl are scanned.
    #[arg(long, value_name = "FILE")]
    pub sbom: Option<PathBuf>,
    /// The OSV database: a directory or ZIP of OSV records. Without it, the snapshot imported
    /// into --data-dir is used.
    #[arg(long, value_name = "DIR|ZIP", conflicts_with = "data_dir")]
    pub osv: Option<PathBuf>,
    /// A data dir whose imported snapshot (DATA_DIR/vulndb) is the database.
    #[arg(long, env = "SLIPWAY_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Fail (exit 1) on a vulnerability at or above this severity: none (every vulnerability),
    /// low, medium, high, critical, or never. Vulnerabilities without a severity count as
    /// critical.
    #[arg(long, default_value = "none", value_name = "SEVERITY")]
    pub fail_on: String,
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    pub output: Format,
}

#[derive(Debug, Subcommand)]
pub enum VulnDbCommand {
    /// Import an OSV database (a directory or ZIP of OSV records) as the snapshot scans use:
    /// into DATA_DIR/vulndb with --data-dir, or into the server's data dir with --remote.
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A directory or ZIP of OSV records.
    pub source: PathBuf,
    /// The data dir to import into (offline).
    #[arg(
        long,
        env = "SLIPWAY_DATA_DIR",
        value_name = "DIR",
        required_unless_present = "remote"
    )]
    pub data_dir: Option<PathBuf>,
    /// Upload to the server (--server/--token or the saved login) instead, which keeps it in its
    /// DATA_DIR/vulndb; the source must then be a ZIP.
    #[arg(long, conflicts_with = "data_dir")]
    pub remote: bool,
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    pub output: Format,
}

/// What an import did.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportSummary {
    /// Where the snapshot was written.
    pub snapshot: String,
    /// Advisories kept.
    pub records: usize,
    /// Withdrawn advisories skipped.
    pub skipped_withdrawn: usize,
}

fn read_error(path: &Path, reason: impl std::fmt::Display, missing: bool) -> Failure {
    let exit = if missing {
        failure::NOT_FOUND
    } else {
        failure::INVALID
    };
    Failure::new(exit, format!("{}: {reason}", path.display()))
}

fn is_missing(path: &Path) -> bool {
    !path.exists()
}

/// Loads the database named by `--osv`, or the snapshot imported into `--data-dir`.
fn load_db(osv: Option<&Path>, data_dir: Option<&Path>) -> CliResult<VulnDb> {
    match (osv, data_dir) {
        (Some(path), _) => {
            VulnDb::load_osv(path).map_err(|e| read_error(path, e, is_missing(path)))
        }
        (None, Some(dir)) => {
            let snapshot_dir = dir.join(VULNDB_DIR);
            VulnDb::load_from(&snapshot_dir).map_err(|e| {
                let missing = is_missing(&snapshot_dir.join(slipway_vuln::SNAPSHOT_FILE));
                let hint = if missing {
                    format!(
                        " (import one first: slipway vulndb import DIR|ZIP --data-dir {})",
                        dir.display()
                    )
                } else {
                    String::new()
                };
                read_error(&snapshot_dir, format!("{e}{hint}"), missing)
            })
        }
        (None, None) => Err(Failure::new(
            failure::INVALID,
            "no vulnerability database: pass --osv DIR|ZIP or --data-dir DIR (with an imported snapshot)",
        )),
    }
}

/// The packages an SBOM names through purls; components without a purl, or with a purl of an
/// ecosystem the scanner does not know, are skipped.
pub fn sbom_packages(
    document: &str,
    bytes: &[u8],
) -> Result<Vec<Package>, slipway_sbom::SbomError> {
    let sbom = slipway_sbom::ingest(document, bytes)?;
    Ok(sbom
        .components
        .iter()
        .filter_map(|component| component.purl.as_deref())
        .filter_map(|purl| Package::from_purl(purl).ok())
        .collect())
}

/// Parses `--fail-on`: a severity, or `never`.
pub fn scan_policy(fail_on: &str) -> CliResult<ScanPolicy> {
    let threshold = if fail_on.eq_ignore_ascii_case("never") {
        None
    } else {
        Some(fail_on.parse::<Severity>().map_err(|_| {
            Failure::new(
                failure::INVALID,
                format!("--fail-on {fail_on}: expected none, low, medium, high, critical or never"),
            )
        })?)
    };
    Ok(ScanPolicy {
        fail_on: threshold,
        ..ScanPolicy::default()
    })
}

/// `slipway scan`.
pub fn scan(args: &ScanArgs) -> CliResult {
    let policy = scan_policy(&args.fail_on)?;
    let packages = match (&args.lockfile, &args.sbom) {
        (Some(path), _) => {
            slipway_vuln::read_lockfile(path).map_err(|e| read_error(path, e, is_missing(path)))?
        }
        (None, Some(path)) => {
            let bytes = std::fs::read(path).map_err(|e| read_error(path, e, is_missing(path)))?;
            sbom_packages(&path.display().to_string(), &bytes)
                .map_err(|e| Failure::new(failure::INVALID, format!("sbom refused: {e}")))?
        }
        (None, None) => {
            return Err(Failure::new(
                failure::INVALID,
                "pass --lockfile FILE or --sbom FILE",
            ));
        }
    };
    let db = load_db(args.osv.as_deref(), args.data_dir.as_deref())?;
    let outcome = slipway_vuln::evaluate(db.scan(&packages), &policy);
    match args.output {
        Format::Table => {
            if outcome.findings.is_empty() {
                println!("no findings in {} packages", packages.len());
            } else {
                println!("{}", slipway_vuln::render_table(&outcome.findings));
            }
        }
        other => print_data(
            other,
            &FindingsDocument {
                findings: &outcome.findings,
            },
        )?,
    }
    if outcome.passes {
        Ok(())
    } else {
        Err(Failure::new(
            SCAN_FAILED,
            format!(
                "{} of {} findings break --fail-on {} ({} packages scanned)",
                outcome.policy_violations.len(),
                outcome.findings.len(),
                args.fail_on,
                packages.len()
            ),
        ))
    }
}

/// `slipway vulndb import --data-dir DIR`: offline.
pub fn import_offline(source: &Path, data_dir: &Path) -> CliResult<ImportSummary> {
    let db = VulnDb::load_osv(source).map_err(|e| read_error(source, e, is_missing(source)))?;
    let snapshot = db
        .import_to(&data_dir.join(VULNDB_DIR))
        .map_err(|e| Failure::new(1, e))?;
    Ok(ImportSummary {
        snapshot: snapshot.display().to_string(),
        records: db.stats().records,
        skipped_withdrawn: db.stats().skipped_withdrawn,
    })
}

/// `slipway vulndb import --remote`: `POST /api/v1/vulndb/import` with the ZIP as the body.
async fn import_remote(client: &ApiClient, source: &Path) -> CliResult<ImportSummary> {
    if source.is_dir() {
        return Err(Failure::new(
            failure::INVALID,
            format!(
                "{} is a directory: --remote uploads a ZIP of OSV records",
                source.display()
            ),
        ));
    }
    let bytes = std::fs::read(source).map_err(|e| read_error(source, e, is_missing(source)))?;
    let path = "/api/v1/vulndb/import";
    let req = client
        .request(Method::POST, path)
        .header("content-type", "application/zip")
        .body(bytes);
    let resp = client.execute(path, req).await?;
    client.json(path, resp).await
}

/// Runs `slipway vulndb ...`; `client` is only built for `--remote`.
pub async fn vulndb(
    cmd: VulnDbCommand,
    client: impl FnOnce() -> CliResult<ApiClient>,
) -> CliResult {
    let VulnDbCommand::Import(args) = cmd;
    let summary = match (&args.data_dir, args.remote) {
        (_, true) => import_remote(&client()?, &args.source).await?,
        (Some(dir), false) => import_offline(&args.source, dir)?,
        (None, false) => {
            return Err(Failure::new(
                failure::INVALID,
                "pass --data-dir DIR, or --remote to import into the server",
            ));
        }
    };
    if args.output != Format::Table {
        return print_data(args.output, &summary);
    }
    println!(
        "imported {} advisories ({} withdrawn skipped) into {}",
        summary.records, summary.skipped_withdrawn, summary.snapshot
    );
    Ok(())
}
