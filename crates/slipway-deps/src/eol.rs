//! End of support: runtimes, middleware and products a service runs, checked against
//! endoflife.date's product data (its `products.json` shape: products with identifiers and
//! release cycles whose `eol` is a date or a yes/no). A version is matched to the longest
//! release cycle it starts with (`3.12.4` → `3.12`, `2.17.1` → `2`).

use crate::matrix::lenient_version;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One product of the database.
#[derive(Debug, Clone, Deserialize)]
pub struct Product {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub identifiers: Vec<serde_json::Map<String, Value>>,
    #[serde(default)]
    pub releases: Vec<Release>,
}

/// A release cycle: `eol` (and `eoas`) are dates, or booleans when no date is known.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Release {
    pub release_cycle: String,
    #[serde(default)]
    pub eol: Option<Value>,
    #[serde(default)]
    pub latest: Option<String>,
}

/// The database of products.
#[derive(Debug, Clone, Default)]
pub struct EolDatabase {
    products: Vec<Product>,
}

/// Why the database could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{document}: {reason}")]
pub struct EolError {
    pub document: String,
    pub reason: String,
}

impl EolDatabase {
    /// Reads a `products.json` list.
    ///
    /// # Errors
    ///
    /// [`EolError`] naming the document and the reason.
    pub fn parse(document: &str, text: &str) -> Result<Self, EolError> {
        let error = |reason: String| EolError {
            document: document.to_owned(),
            reason,
        };
        let value = slipway_yaml::parse_one(text).map_err(|e| error(e.reason))?;
        let products: Vec<Product> =
            serde_json::from_value(value).map_err(|e| error(e.to_string()))?;
        Ok(EolDatabase { products })
    }

    /// The product named by its id (`python`) or one of its package URLs
    /// (`pkg:maven/org.apache.logging.log4j/log4j-core`, version and qualifiers ignored).
    pub fn product(&self, key: &str) -> Option<&Product> {
        let key_purl = key.split(['@', '?', '#']).next().unwrap_or(key);
        self.products.iter().find(|p| {
            p.id == key
                || p.identifiers
                    .iter()
                    .filter_map(|i| i.get("purl").and_then(Value::as_str))
                    .any(|purl| purl == key_purl)
        })
    }
}

/// Where a version stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SupportStatus {
    /// Past its end of life.
    Ended,
    /// Its end of life is within the warning window.
    EndingSoon,
    Supported,
    /// The product or the release cycle is not in the database.
    Unknown,
}

/// The verdict for one declared runtime or product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SupportFinding {
    pub service: String,
    pub product: String,
    pub version: String,
    pub cycle: Option<String>,
    /// The end-of-life date, when one is recorded.
    pub eol: Option<String>,
    pub status: SupportStatus,
    /// The oldest newer release cycle still supported, with its latest version.
    pub next_supported: Option<String>,
}

/// A runtime or product a service declares (or the target detected).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Declared {
    pub service: String,
    /// A product id or package URL.
    pub product: String,
    pub version: String,
}

/// Whether a cycle has ended by `today`: a date that has passed, or `true`.
fn ended(eol: Option<&Value>, today: Date) -> (bool, Option<Date>) {
    match eol {
        Some(Value::Bool(flag)) => (*flag, None),
        Some(Value::String(text)) => match text.parse::<Date>() {
            Ok(date) => (date <= today, Some(date)),
            Err(_) => (false, None),
        },
        _ => (false, None),
    }
}

fn cycle_matches(version: &str, cycle: &str) -> bool {
    version == cycle
        || version
            .strip_prefix(cycle)
            .is_some_and(|rest| rest.starts_with(['.', '-', '+', 'u', '_']))
}

/// Checks each declared product: the cycle its version belongs to, whether that cycle has
/// ended by `today` or ends within `warn_days`, and the next supported cycle.
pub fn check_support(
    database: &EolDatabase,
    declared: &[Declared],
    today: Date,
    warn_days: i32,
) -> Vec<SupportFinding> {
    declared
        .iter()
        .map(|item| {
            let unknown = SupportFinding {
                service: item.service.clone(),
                product: item.product.clone(),
                version: item.version.clone(),
                cycle: None,
                eol: None,
                status: SupportStatus::Unknown,
                next_supported: None,
            };
            let Some(product) = database.product(&item.product) else {
                return unknown;
            };
            let version = item.version.trim_start_matches(['v', 'V']);
            let Some(release) = product
                .releases
                .iter()
                .filter(|r| cycle_matches(version, &r.release_cycle))
                .max_by_key(|r| r.release_cycle.len())
            else {
                return SupportFinding {
                    product: product.id.clone(),
                    ..unknown
                };
            };
            let (is_ended, date) = ended(release.eol.as_ref(), today);
            let soon = !is_ended
                && date.is_some_and(|d| {
                    today
                        .checked_add(jiff::Span::new().days(i64::from(warn_days)))
                        .is_ok_and(|limit| d <= limit)
                });
            let status = if is_ended {
                SupportStatus::Ended
            } else if soon {
                SupportStatus::EndingSoon
            } else {
                SupportStatus::Supported
            };
            let current = lenient_version(&release.release_cycle);
            let next_supported = product
                .releases
                .iter()
                .filter(|r| !ended(r.eol.as_ref(), today).0)
                .filter_map(|r| lenient_version(&r.release_cycle).map(|v| (v, r)))
                .filter(|(v, _)| current.as_ref().is_none_or(|c| v > c))
                .min_by(|a, b| a.0.cmp(&b.0))
                .map(|(_, r)| match &r.latest {
                    Some(latest) => format!("{} ({latest})", r.release_cycle),
                    None => r.release_cycle.clone(),
                });
            SupportFinding {
                service: item.service.clone(),
                product: product.id.clone(),
                version: item.version.clone(),
                cycle: Some(release.release_cycle.clone()),
                eol: date.map(|d| d.to_string()).or_else(|| {
                    release
                        .eol
                        .as_ref()
                        .and_then(Value::as_bool)
                        .map(|b| b.to_string())
                }),
                status,
                next_supported: if status == SupportStatus::Supported {
                    None
                } else {
                    next_supported
                },
            }
        })
        .collect()
}
