//! OpenAPI contract diff: compares a base and a revision of an OpenAPI 3.0/3.1 document and
//! reports what changed under oasdiff's rule ids and levels (`ERR` breaking, `WARN` possibly
//! breaking, `INFO` change log), deprecation and sunset included, evaluated against a given
//! day. Rule ids and levels are oasdiff's facts (see [`rules::RULES`]); the implementation and
//! the finding texts are this crate's own.
//!
//! Pure: [`OpenApi::parse`] takes text, [`compare`] takes two documents and [`Options`] and
//! returns [`Finding`]s. Reading files, clocks and printing belong to callers.
//!
//! ```
//! use slipway_apidiff::{OpenApi, Options, Level, compare};
//! let base = OpenApi::parse("base.yaml", "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      responses: {'200': {description: ok}}\n").unwrap();
//! let revision = OpenApi::parse("revision.yaml", "openapi: 3.0.0\npaths: {}\n").unwrap();
//! let findings = compare(&base, &revision, &Options::default());
//! assert_eq!(findings[0].id, "api-path-removed-without-deprecation");
//! assert_eq!(findings[0].level, Level::Err);
//! ```

mod checks;
mod diff;
mod document;
pub mod rules;
mod schema;

pub use document::{LoadError, OpenApi};
use serde::{Deserialize, Serialize};

/// A finding's severity, ordered `Info < Warn < Err`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Level {
    #[serde(rename = "INFO")]
    Info,
    #[serde(rename = "WARN")]
    Warn,
    #[serde(rename = "ERR")]
    Err,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Err => "ERR",
        }
    }

    /// Parses `INFO`, `WARN` or `ERR` (any case).
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_uppercase().as_str() {
            "INFO" => Some(Level::Info),
            "WARN" | "WARNING" => Some(Level::Warn),
            "ERR" | "ERROR" => Some(Level::Err),
            _ => None,
        }
    }
}

/// An endpoint's maturity (`x-stability-level`), ordered `Draft < Alpha < Beta < Stable`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StabilityLevel {
    Draft,
    Alpha,
    Beta,
    Stable,
}

impl StabilityLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            StabilityLevel::Draft => "draft",
            StabilityLevel::Alpha => "alpha",
            StabilityLevel::Beta => "beta",
            StabilityLevel::Stable => "stable",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "draft" => Some(StabilityLevel::Draft),
            "alpha" => Some(StabilityLevel::Alpha),
            "beta" => Some(StabilityLevel::Beta),
            "stable" => Some(StabilityLevel::Stable),
            _ => None,
        }
    }
}

/// How to compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// "Today" for sunset dates.
    pub today: jiff::civil::Date,
    /// Operations below this level (`x-stability-level`) are left out; a missing level counts
    /// as stable. Default `beta`.
    pub stability_level: StabilityLevel,
    /// Days a deprecation of a beta endpoint must announce before its sunset (0: no policy).
    pub min_sunset_beta_days: u32,
    /// Days a deprecation of a stable endpoint must announce before its sunset (0: no policy).
    pub min_sunset_stable_days: u32,
    /// Also report the versioning-policy rules (a breaking change without a version bump).
    pub versioning_policy: bool,
    /// Treat path-level parameters as parameters of each operation of the path.
    pub flatten_params: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            today: jiff::civil::date(2026, 1, 1),
            stability_level: StabilityLevel::Beta,
            min_sunset_beta_days: 0,
            min_sunset_stable_days: 0,
            versioning_policy: false,
            flatten_params: false,
        }
    }
}

/// One reported change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule id (see [`rules::RULES`]).
    pub id: String,
    pub level: Level,
    /// The upper-case HTTP method, `""` when the finding is not about an operation.
    pub operation: String,
    /// The path template (`webhook:<name>` for webhooks), `""` when not about an operation.
    pub path: String,
    /// A readable description.
    pub text: String,
}

/// Compares two documents and returns every finding, sorted by path, operation, id and text.
pub fn compare(base: &OpenApi, revision: &OpenApi, options: &Options) -> Vec<Finding> {
    let spec_diff = diff::diff_specs(base, revision, options.flatten_params);
    let mut findings = checks::run(&spec_diff, options);
    findings.sort_by(|a, b| {
        (&a.path, &a.operation, &a.id, &a.text).cmp(&(&b.path, &b.operation, &b.id, &b.text))
    });
    findings
}

/// Keeps the findings at `min_level` or above.
pub fn at_least(findings: Vec<Finding>, min_level: Level) -> Vec<Finding> {
    findings
        .into_iter()
        .filter(|finding| finding.level >= min_level)
        .collect()
}

/// The highest level among the findings, `None` when there are none.
pub fn highest_level(findings: &[Finding]) -> Option<Level> {
    findings.iter().map(|finding| finding.level).max()
}
