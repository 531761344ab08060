//! SARIF 2.1.0 logs from static-analysis tools: structural checks, a summary of results by level,
//! and a pass/fail policy on the most severe level allowed.
//!
//! A result's level is its own `level`; else, when its `kind` is present and not `fail`, `none`;
//! else its rule's `defaultConfiguration.level` (the rule found by `ruleIndex` or `ruleId` in the
//! driver's `rules`); else `warning`, as SARIF 2.1.0 §3.27.10 says.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Why a SARIF log was not accepted. Every variant names the document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SarifError {
    /// The bytes are not JSON.
    #[error("{document}: not a JSON document: {reason}")]
    NotJson {
        /// The document's name.
        document: String,
        /// The parser's message.
        reason: String,
    },
    /// A required field is missing or a field has the wrong type or value.
    #[error("{document}: {path}: {reason}")]
    Invalid {
        /// The document's name.
        document: String,
        /// Where (`runs[0].results[2].message`, `version`; `$` for the log itself).
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// A result's severity, from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SarifLevel {
    /// Not a problem (informational, or a `pass`/`review` kind).
    None,
    /// A minor problem.
    Note,
    /// A problem.
    Warning,
    /// A serious problem.
    Error,
}

impl SarifLevel {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "none" => Some(Self::None),
            "note" => Some(Self::Note),
            "warning" => Some(Self::Warning),
            "error" => Some(Self::Error),
            _ => None,
        }
    }
}

impl fmt::Display for SarifLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::None => "none",
            Self::Note => "note",
            Self::Warning => "warning",
            Self::Error => "error",
        })
    }
}

/// One finding of one tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SarifResult {
    /// The tool's `driver.name`.
    pub tool: String,
    /// The rule that fired (`ruleId`, or `rule.id`).
    pub rule_id: Option<String>,
    /// The effective level (see the module documentation).
    pub level: SarifLevel,
    /// `message.text`, or `message id <id>` when only a message id is given.
    pub message: String,
    /// `locations[0].physicalLocation.artifactLocation.uri`.
    pub uri: Option<String>,
    /// `locations[0].physicalLocation.region.startLine`.
    pub start_line: Option<u64>,
}

/// How many results there are at each level.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LevelCounts {
    /// `error` results.
    pub error: usize,
    /// `warning` results.
    pub warning: usize,
    /// `note` results.
    pub note: usize,
    /// `none` results.
    pub none: usize,
}

/// What a SARIF log reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SarifSummary {
    /// Each run's tool, in order (one per run).
    pub tools: Vec<String>,
    /// Results per level.
    pub counts: LevelCounts,
    /// Every result of every run, in order.
    pub results: Vec<SarifResult>,
}

/// When a SARIF log fails a gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SarifPolicy {
    /// The least severe level that fails: `error`, `warning` or `note`.
    pub fail_on: FailOn,
}

/// The least severe level that fails a [`SarifPolicy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    /// Only errors fail.
    Error,
    /// Warnings and errors fail.
    Warning,
    /// Notes, warnings and errors fail.
    Note,
}

impl FailOn {
    fn level(self) -> SarifLevel {
        match self {
            Self::Error => SarifLevel::Error,
            Self::Warning => SarifLevel::Warning,
            Self::Note => SarifLevel::Note,
        }
    }
}

/// A [`SarifPolicy`]'s decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SarifVerdict {
    /// Whether no result reaches the failing level.
    pub passed: bool,
    /// The results that reach it, in order.
    pub offending: Vec<SarifResult>,
}

impl SarifPolicy {
    /// Judges a summary: it fails when any result is at `fail_on` or more severe.
    #[must_use]
    pub fn evaluate(&self, summary: &SarifSummary) -> SarifVerdict {
        let threshold = self.fail_on.level();
        let offending: Vec<SarifResult> = summary
            .results
            .iter()
            .filter(|result| result.level >= threshold)
            .cloned()
            .collect();
        SarifVerdict {
            passed: offending.is_empty(),
            offending,
        }
    }
}

/// Parses and summarises a SARIF log's bytes. `document` names it in errors.
///
/// # Errors
///
/// [`SarifError`] when the bytes are not JSON or the log is not structurally SARIF 2.1.0.
pub fn parse_sarif(document: &str, bytes: &[u8]) -> Result<SarifSummary, SarifError> {
    let log: Value = serde_json::from_slice(bytes).map_err(|error| SarifError::NotJson {
        document: document.to_owned(),
        reason: error.to_string(),
    })?;
    summarise(document, &log)
}

/// Summarises a parsed SARIF log, checking the structure it reads.
///
/// # Errors
///
/// [`SarifError::Invalid`] naming the first missing or malformed field.
pub fn summarise(document: &str, log: &Value) -> Result<SarifSummary, SarifError> {
    let reader = Reader { document };
    let root = reader.object(log, "$")?;
    match root.get("version") {
        Some(Value::String(version)) if version == "2.1.0" => {}
        Some(other) => {
            return Err(reader.invalid(
                "version",
                format!("is {other}, only \"2.1.0\" is supported"),
            ));
        }
        None => return Err(reader.invalid("version", "is missing (SARIF requires it)".to_owned())),
    }
    let runs = reader.required_array(root, "runs", "")?;
    let mut summary = SarifSummary {
        tools: Vec::new(),
        counts: LevelCounts::default(),
        results: Vec::new(),
    };
    for (run_index, run) in runs.iter().enumerate() {
        let run_path = format!("runs[{run_index}]");
        let run = reader.object(run, &run_path)?;
        let tool = reader.required_object(run, "tool", &run_path)?;
        let driver_path = format!("{run_path}.tool");
        let driver = reader.required_object(tool, "driver", &driver_path)?;
        let driver_path = format!("{driver_path}.driver");
        let tool_name = reader
            .required_string(driver, "name", &driver_path)?
            .to_owned();
        let rules = match driver.get("rules") {
            Some(rules) => reader
                .array(rules, &format!("{driver_path}.rules"))?
                .as_slice(),
            None => &[],
        };
        if let Some(results) = run.get("results") {
            let results_path = format!("{run_path}.results");
            for (index, result) in reader.array(results, &results_path)?.iter().enumerate() {
                let result = reader.result(
                    result,
                    &format!("{results_path}[{index}]"),
                    &tool_name,
                    rules,
                )?;
                match result.level {
                    SarifLevel::Error => summary.counts.error += 1,
                    SarifLevel::Warning => summary.counts.warning += 1,
                    SarifLevel::Note => summary.counts.note += 1,
                    SarifLevel::None => summary.counts.none += 1,
                }
                summary.results.push(result);
            }
        }
        summary.tools.push(tool_name);
    }
    Ok(summary)
}

/// Reads fields of one document, naming the place of anything wrong.
struct Reader<'d> {
    document: &'d str,
}

fn join(parent: &str, field: &str) -> String {
    if parent.is_empty() {
        field.to_owned()
    } else {
        format!("{parent}.{field}")
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Reader<'_> {
    fn invalid(&self, path: &str, reason: String) -> SarifError {
        SarifError::Invalid {
            document: self.document.to_owned(),
            path: path.to_owned(),
            reason,
        }
    }

    fn object<'v>(
        &self,
        value: &'v Value,
        path: &str,
    ) -> Result<&'v Map<String, Value>, SarifError> {
        value.as_object().ok_or_else(|| {
            self.invalid(
                path,
                format!("must be an object, found {}", type_name(value)),
            )
        })
    }

    fn array<'v>(&self, value: &'v Value, path: &str) -> Result<&'v Vec<Value>, SarifError> {
        value.as_array().ok_or_else(|| {
            self.invalid(
                path,
                format!("must be an array, found {}", type_name(value)),
            )
        })
    }

    fn string<'v>(&self, value: &'v Value, path: &str) -> Result<&'v str, SarifError> {
        value.as_str().ok_or_else(|| {
            self.invalid(
                path,
                format!("must be a string, found {}", type_name(value)),
            )
        })
    }

    fn required<'v>(
        &self,
        object: &'v Map<String, Value>,
        field: &str,
        parent: &str,
    ) -> Result<&'v Value, SarifError> {
        object
            .get(field)
            .ok_or_else(|| self.invalid(&join(parent, field), "is required but missing".to_owned()))
    }

    fn required_object<'v>(
        &self,
        object: &'v Map<String, Value>,
        field: &str,
        parent: &str,
    ) -> Result<&'v Map<String, Value>, SarifError> {
        self.object(self.required(object, field, parent)?, &join(parent, field))
    }

    fn required_array<'v>(
        &self,
        object: &'v Map<String, Value>,
        field: &str,
        parent: &str,
    ) -> Result<&'v Vec<Value>, SarifError> {
        self.array(self.required(object, field, parent)?, &join(parent, field))
    }

    fn required_string<'v>(
        &self,
        object: &'v Map<String, Value>,
        field: &str,
        parent: &str,
    ) -> Result<&'v str, SarifError> {
        self.string(self.required(object, field, parent)?, &join(parent, field))
    }

    fn optional_string<'v>(
        &self,
        object: &'v Map<String, Value>,
        field: &str,
        parent: &str,
    ) -> Result<Option<&'v str>, SarifError> {
        object
            .get(field)
            .map(|value| self.string(value, &join(parent, field)))
            .transpose()
    }

    fn optional_object<'v>(
        &self,
        object: &'v Map<String, Value>,
        field: &str,
        parent: &str,
    ) -> Result<Option<&'v Map<String, Value>>, SarifError> {
        object
            .get(field)
            .map(|value| self.object(value, &join(parent, field)))
            .transpose()
    }

    fn level(
        &self,
        object: &Map<String, Value>,
        parent: &str,
    ) -> Result<Option<SarifLevel>, SarifError> {
        let path = join(parent, "level");
        self.optional_string(object, "level", parent)?
            .map(|text| {
                SarifLevel::parse(text).ok_or_else(|| {
                    self.invalid(
                        &path,
                        format!("is {text:?}, expected one of none, note, warning, error"),
                    )
                })
            })
            .transpose()
    }

    fn result(
        &self,
        value: &Value,
        path: &str,
        tool: &str,
        rules: &[Value],
    ) -> Result<SarifResult, SarifError> {
        let result = self.object(value, path)?;
        let message = self.required_object(result, "message", path)?;
        let message_path = join(path, "message");
        let message = match (
            self.optional_string(message, "text", &message_path)?,
            self.optional_string(message, "id", &message_path)?,
        ) {
            (Some(text), _) => text.to_owned(),
            (None, Some(id)) => format!("message id {id}"),
            (None, None) => {
                return Err(self.invalid(&message_path, "needs \"text\" or \"id\"".to_owned()));
            }
        };
        let rule_id = match self.optional_string(result, "ruleId", path)? {
            Some(id) => Some(id.to_owned()),
            None => match self.optional_object(result, "rule", path)? {
                Some(rule) => self
                    .optional_string(rule, "id", &join(path, "rule"))?
                    .map(str::to_owned),
                None => None,
            },
        };
        let level = match self.level(result, path)? {
            Some(level) => level,
            None => {
                let kind = self.optional_string(result, "kind", path)?;
                if kind.is_some_and(|kind| kind != "fail") {
                    SarifLevel::None
                } else {
                    self.rule_default_level(result, rule_id.as_deref(), rules, path)?
                        .unwrap_or(SarifLevel::Warning)
                }
            }
        };
        let (uri, start_line) = self.first_location(result, path)?;
        Ok(SarifResult {
            tool: tool.to_owned(),
            rule_id,
            level,
            message,
            uri,
            start_line,
        })
    }

    fn rule_default_level(
        &self,
        result: &Map<String, Value>,
        rule_id: Option<&str>,
        rules: &[Value],
        path: &str,
    ) -> Result<Option<SarifLevel>, SarifError> {
        let by_index = result
            .get("ruleIndex")
            .and_then(Value::as_u64)
            .and_then(|index| usize::try_from(index).ok())
            .and_then(|index| rules.get(index));
        let by_id = || {
            rules
                .iter()
                .find(|rule| rule_id.is_some() && rule.get("id").and_then(Value::as_str) == rule_id)
        };
        let Some(rule) = by_index.or_else(by_id) else {
            return Ok(None);
        };
        let rule_path = format!("{path} (its rule)");
        let rule = self.object(rule, &rule_path)?;
        match self.optional_object(rule, "defaultConfiguration", &rule_path)? {
            Some(configuration) => {
                self.level(configuration, &join(&rule_path, "defaultConfiguration"))
            }
            None => Ok(None),
        }
    }

    fn first_location(
        &self,
        result: &Map<String, Value>,
        path: &str,
    ) -> Result<(Option<String>, Option<u64>), SarifError> {
        let Some(locations) = result.get("locations") else {
            return Ok((None, None));
        };
        let locations_path = join(path, "locations");
        let Some(first) = self.array(locations, &locations_path)?.first() else {
            return Ok((None, None));
        };
        let first_path = format!("{locations_path}[0]");
        let first = self.object(first, &first_path)?;
        let Some(physical) = self.optional_object(first, "physicalLocation", &first_path)? else {
            return Ok((None, None));
        };
        let physical_path = join(&first_path, "physicalLocation");
        let uri = match self.optional_object(physical, "artifactLocation", &physical_path)? {
            Some(artifact) => self
                .optional_string(artifact, "uri", &join(&physical_path, "artifactLocation"))?
                .map(str::to_owned),
            None => None,
        };
        let start_line = match self.optional_object(physical, "region", &physical_path)? {
            Some(region) => match region.get("startLine") {
                Some(line) => match line.as_u64() {
                    Some(line) if line >= 1 => Some(line),
                    _ => {
                        return Err(self.invalid(
                            &join(&join(&physical_path, "region"), "startLine"),
                            format!("must be an integer of at least 1, found {line}"),
                        ));
                    }
                },
                None => None,
            },
            None => None,
        };
        Ok((uri, start_line))
    }
}
