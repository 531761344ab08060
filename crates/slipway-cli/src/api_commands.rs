//! `slipway api diff BASE REVISION`: the OpenAPI contract check, offline. Reads two OpenAPI
//! 3.0/3.1 documents (YAML or JSON), compares them with `slipway-apidiff` and prints the
//! findings (oasdiff's rule ids and levels) as a table or as `{"changes": [...]}`.

use crate::failure::{self, CliResult, Failure};
use crate::output::{Format, table};
use clap::{Args, Subcommand};
use serde::Serialize;
use slipway_apidiff::{Finding, Level, OpenApi, Options, StabilityLevel};
use std::path::{Path, PathBuf};

/// The exit code when a finding reaches `--fail-on`.
pub const DIFF_FAILED: u8 = 1;

#[derive(Debug, Subcommand)]
pub enum ApiCommand {
    /// Compare two OpenAPI documents and report breaking changes, deprecations and the change
    /// log under oasdiff's rule ids (ERR breaking, WARN possibly breaking, INFO change log).
    Diff(DiffArgs),
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 compared (and nothing reached --fail-on), 1 a finding reached --fail-on, 3 a document cannot be read or is not OpenAPI 3.0/3.1, 4 a file is missing."
)]
pub struct DiffArgs {
    /// The document consumers use today.
    pub base: PathBuf,
    /// The document about to be released.
    pub revision: PathBuf,
    /// Report findings at this level or above: INFO (everything), WARN, ERR.
    #[arg(long, default_value = "INFO", value_parser = parse_level)]
    pub min_level: Level,
    /// "Today" for sunset dates, YYYY-MM-DD (default: the current date, UTC).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub clock: Option<jiff::civil::Date>,
    /// Leave out operations below this x-stability-level (missing counts as stable).
    #[arg(long, default_value = "beta", value_parser = parse_stability)]
    pub stability_level: StabilityLevel,
    /// Days a beta endpoint's deprecation must announce before its x-sunset (0: no policy).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub min_sunset_beta_days: u32,
    /// Days a stable endpoint's deprecation must announce before its x-sunset (0: no policy).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub min_sunset_stable_days: u32,
    /// Also report a breaking change released without a major version increase.
    #[arg(long)]
    pub versioning_policy: bool,
    /// Treat path-level parameters as parameters of each operation.
    #[arg(long)]
    pub flatten_params: bool,
    /// Exit 1 when a reported finding is at this level or above.
    #[arg(long, value_parser = parse_level)]
    pub fail_on: Option<Level>,
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    pub output: Format,
}

fn parse_level(text: &str) -> Result<Level, String> {
    Level::parse(text).ok_or_else(|| format!("`{text}` is not a level (INFO, WARN or ERR)"))
}

fn parse_stability(text: &str) -> Result<StabilityLevel, String> {
    StabilityLevel::parse(text)
        .ok_or_else(|| format!("`{text}` is not a stability level (draft, alpha, beta or stable)"))
}

/// What `-o json` prints.
#[derive(Debug, Serialize)]
pub struct DiffReport {
    pub changes: Vec<Finding>,
}

pub fn run(command: ApiCommand) -> CliResult {
    match command {
        ApiCommand::Diff(args) => diff(&args),
    }
}

fn load(path: &Path) -> Result<OpenApi, Failure> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        let exit = if error.kind() == std::io::ErrorKind::NotFound {
            failure::NOT_FOUND
        } else {
            failure::INVALID
        };
        Failure::new(exit, format!("cannot read {}: {error}", path.display()))
    })?;
    OpenApi::parse(&path.display().to_string(), &text)
        .map_err(|error| Failure::new(failure::INVALID, error))
}

fn diff(args: &DiffArgs) -> CliResult {
    let base = load(&args.base)?;
    let revision = load(&args.revision)?;
    let today = match args.clock {
        Some(date) => date,
        None => jiff::Timestamp::now()
            .to_zoned(jiff::tz::TimeZone::UTC)
            .date(),
    };
    let options = Options {
        today,
        stability_level: args.stability_level,
        min_sunset_beta_days: args.min_sunset_beta_days,
        min_sunset_stable_days: args.min_sunset_stable_days,
        versioning_policy: args.versioning_policy,
        flatten_params: args.flatten_params,
    };
    let changes = slipway_apidiff::at_least(
        slipway_apidiff::compare(&base, &revision, &options),
        args.min_level,
    );
    let failed = args
        .fail_on
        .is_some_and(|threshold| changes.iter().any(|finding| finding.level >= threshold));
    match args.output {
        Format::Table => print_table(&changes),
        format => crate::output::print_data(format, &DiffReport { changes })?,
    }
    if failed {
        return Err(Failure::new(DIFF_FAILED, "a finding reached --fail-on"));
    }
    Ok(())
}

fn print_table(changes: &[Finding]) {
    if changes.is_empty() {
        println!("no changes");
        return;
    }
    let mut t = table(vec!["LEVEL", "RULE", "OPERATION", "PATH", "CHANGE"]);
    for finding in changes {
        t.add_row(vec![
            finding.level.as_str().to_owned(),
            finding.id.clone(),
            finding.operation.clone(),
            finding.path.clone(),
            finding.text.clone(),
        ]);
    }
    println!("{t}");
    let count = |level: Level| changes.iter().filter(|f| f.level == level).count();
    println!(
        "{} error(s), {} warning(s), {} info",
        count(Level::Err),
        count(Level::Warn),
        count(Level::Info)
    );
}
