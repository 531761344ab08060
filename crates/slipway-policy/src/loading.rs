//! Loading gate policies: parsing each Rego module into its own prepared
//! regorus engine, checking the package and rule convention, and setting the
//! safety limits every evaluation runs under.

use std::collections::BTreeSet;
use std::num::{NonZeroU32, NonZeroUsize};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use regorus::utils::limits::{ExecutionTimerConfig, PolicyLengthConfig};
use regorus::{Engine, Value};

/// Most elements a `numbers.range` / `numbers.range_step` call may produce.
pub(crate) const MAX_RANGE_ELEMENTS: i64 = 10_000;

/// Package every gate policy lives in (or below, as `slipway.gate.<name>`).
const GATE_PACKAGE: &str = "data.slipway.gate";

/// One policy as written by its author.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PolicySource {
    /// Name that errors and verdicts use for this policy (unique in a set).
    pub name: String,
    /// The Rego module text.
    pub rego_text: String,
}

/// Limits every policy is loaded and evaluated under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolicyLimits {
    /// Longest one policy's evaluation may run before it fails.
    pub time_limit: Duration,
    /// Largest policy text, in bytes.
    pub max_policy_bytes: usize,
    /// Most lines in one policy.
    pub max_policy_lines: usize,
    /// Widest line in one policy, in columns.
    pub max_line_columns: u32,
}

impl Default for PolicyLimits {
    /// 50 ms per policy, 256 KiB, 5 000 lines of at most 1 024 columns.
    fn default() -> Self {
        Self {
            time_limit: Duration::from_millis(50),
            max_policy_bytes: 256 * 1024,
            max_policy_lines: 5_000,
            max_line_columns: 1_024,
        }
    }
}

/// Why a policy set could not be loaded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PolicyError {
    #[error("policy at position {index} has an empty name")]
    EmptyName { index: usize },
    #[error("two policies are named {name:?}")]
    DuplicateName { name: String },
    #[error("policy {name:?} could not be loaded: {reason}")]
    Invalid { name: String, reason: String },
    #[error(
        "policy {name:?} declares package {package:?}; gate policies must be in package \
         slipway.gate or slipway.gate.<name>"
    )]
    WrongPackage { name: String, package: String },
    #[error("policy {name:?} has a recursive function ({cycle}); rego forbids recursion")]
    RecursiveFunction { name: String, cycle: String },
    #[error("policy {name:?} declares no `deny` rule; every gate policy must")]
    NoDenyRule { name: String },
    #[error("policy limits are invalid: {reason}")]
    InvalidLimits { reason: String },
    #[error("the gate input must be a json object")]
    InputNotObject,
}

/// A loaded policy: its name, rule paths and prepared engine.
#[derive(Clone)]
pub(crate) struct LoadedPolicy {
    pub(crate) name: String,
    pub(crate) deny_path: String,
    pub(crate) warn_path: Option<String>,
    pub(crate) engine: Engine,
}

/// The gate policies in force, ready to evaluate (cheap to share: `Send + Sync`).
#[derive(Clone)]
pub struct PolicySet {
    pub(crate) policies: Vec<LoadedPolicy>,
}

impl std::fmt::Debug for PolicySet {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("PolicySet")
            .field("policies", &self.names().collect::<Vec<_>>())
            .finish()
    }
}

impl PolicySet {
    /// Loads policies under the default [`PolicyLimits`].
    pub fn load(sources: Vec<PolicySource>) -> Result<PolicySet, PolicyError> {
        Self::load_with_limits(sources, PolicyLimits::default())
    }

    /// Loads policies: each must parse, live in package `slipway.gate[.<name>]`,
    /// declare `deny`, and compile. The first failure is returned.
    pub fn load_with_limits(
        sources: Vec<PolicySource>,
        limits: PolicyLimits,
    ) -> Result<PolicySet, PolicyError> {
        let length_config = length_config(&limits)?;
        let timer_config = ExecutionTimerConfig {
            limit: limits.time_limit,
            // The timer reads the clock once per this many units of work.
            check_interval: NonZeroU32::MIN.saturating_add(63),
        };
        let mut names = BTreeSet::new();
        let mut policies = Vec::with_capacity(sources.len());
        for (index, source) in sources.into_iter().enumerate() {
            if source.name.trim().is_empty() {
                return Err(PolicyError::EmptyName { index });
            }
            if !names.insert(source.name.clone()) {
                return Err(PolicyError::DuplicateName { name: source.name });
            }
            let name = source.name.clone();
            let loaded = catch_unwind(AssertUnwindSafe(|| {
                load_one(source, length_config, timer_config)
            }))
            .unwrap_or_else(|_| {
                Err(PolicyError::Invalid {
                    name,
                    reason: "the rego interpreter panicked while loading it".to_owned(),
                })
            })?;
            policies.push(loaded);
        }
        Ok(PolicySet { policies })
    }

    /// Names of the loaded policies, in load order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.policies.iter().map(|policy| policy.name.as_str())
    }

    /// Number of loaded policies.
    pub fn len(&self) -> usize {
        self.policies.len()
    }

    /// True when no policy is loaded (every gate input is then allowed).
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }
}

fn length_config(limits: &PolicyLimits) -> Result<PolicyLengthConfig, PolicyError> {
    let invalid = |what: &str| PolicyError::InvalidLimits {
        reason: format!("{what} must be greater than zero"),
    };
    if limits.time_limit.is_zero() {
        return Err(invalid("time_limit"));
    }
    Ok(PolicyLengthConfig {
        max_col: NonZeroU32::new(limits.max_line_columns)
            .ok_or_else(|| invalid("max_line_columns"))?,
        max_file_bytes: NonZeroUsize::new(limits.max_policy_bytes)
            .ok_or_else(|| invalid("max_policy_bytes"))?,
        max_lines: NonZeroUsize::new(limits.max_policy_lines)
            .ok_or_else(|| invalid("max_policy_lines"))?,
    })
}

fn load_one(
    source: PolicySource,
    length_config: PolicyLengthConfig,
    timer_config: ExecutionTimerConfig,
) -> Result<LoadedPolicy, PolicyError> {
    let PolicySource { name, rego_text } = source;
    let invalid = |error: anyhow::Error| PolicyError::Invalid {
        name: name.clone(),
        reason: error.to_string(),
    };
    let mut engine = Engine::new();
    engine.set_rego_v0(false);
    engine.set_policy_length_config(length_config);
    engine.set_execution_timer_config(timer_config);
    engine.set_strict_builtin_errors(true);
    engine.set_gather_prints(true);
    install_bounded_ranges(&mut engine).map_err(invalid)?;

    let file_name = format!("{name}.rego");
    let package = engine
        .add_policy(file_name.clone(), rego_text)
        .map_err(invalid)?;
    if !is_gate_package(&package) {
        return Err(PolicyError::WrongPackage {
            name,
            package: package.trim_start_matches("data.").to_owned(),
        });
    }
    if let Some(cycle) = crate::recursion::recursive_function(&mut engine) {
        return Err(PolicyError::RecursiveFunction { name, cycle });
    }
    let declares = |rule: &str| {
        engine
            .has_declared_rule_rooted_at(&file_name, rule)
            .map_err(invalid)
    };
    if !declares("deny")? {
        return Err(PolicyError::NoDenyRule { name });
    }
    let warn_path = declares("warn")?.then(|| format!("{package}.warn"));
    let deny_path = format!("{package}.deny");
    // Compiling prepares the engine (rule analysis, imports), so errors show
    // up now and every evaluation clones an already prepared engine.
    engine
        .compile_with_entrypoint(&deny_path.as_str().into())
        .map_err(invalid)?;
    Ok(LoadedPolicy {
        name,
        deny_path,
        warn_path,
        engine,
    })
}

/// `data.slipway.gate` itself, or below it through plain identifiers.
fn is_gate_package(package: &str) -> bool {
    let Some(rest) = package.strip_prefix(GATE_PACKAGE) else {
        return false;
    };
    rest.is_empty()
        || rest.strip_prefix('.').is_some_and(|names| {
            names.split('.').all(|segment| {
                let mut chars = segment.chars();
                chars
                    .next()
                    .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
                    && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
            })
        })
}

/// Replaces `numbers.range` and `numbers.range_step` (regorus reserves their
/// whole result before checking any limit) with versions that refuse to build
/// more than [`MAX_RANGE_ELEMENTS`] elements.
fn install_bounded_ranges(engine: &mut Engine) -> anyhow::Result<()> {
    engine.add_extension(
        "numbers.range".to_owned(),
        2,
        Box::new(|args: Vec<Value>| match args.as_slice() {
            [from, to] => bounded_range("numbers.range", from, to, None),
            _ => anyhow::bail!("numbers.range expects 2 arguments"),
        }),
    )?;
    engine.add_extension(
        "numbers.range_step".to_owned(),
        3,
        Box::new(|args: Vec<Value>| match args.as_slice() {
            [from, to, step] => bounded_range("numbers.range_step", from, to, Some(step)),
            _ => anyhow::bail!("numbers.range_step expects 3 arguments"),
        }),
    )?;
    Ok(())
}

fn integer_argument(function: &str, what: &str, value: &Value) -> anyhow::Result<i64> {
    match value {
        Value::Number(number) if number.is_integer() => number
            .as_i64()
            .ok_or_else(|| anyhow::anyhow!("{function}: {what} is out of range")),
        _ => anyhow::bail!("{function}: {what} must be an integer"),
    }
}

pub(crate) fn bounded_range(
    function: &str,
    from: &Value,
    to: &Value,
    step: Option<&Value>,
) -> anyhow::Result<Value> {
    let from = integer_argument(function, "the first operand", from)?;
    let to = integer_argument(function, "the second operand", to)?;
    let step = match step {
        Some(step) => {
            let step = integer_argument(function, "the step", step)?;
            if step <= 0 {
                anyhow::bail!("{function}: the step must be a positive integer");
            }
            step
        }
        None => 1,
    };
    let span = i128::from(to) - i128::from(from);
    let count = span.abs() / i128::from(step) + 1;
    if count > i128::from(MAX_RANGE_ELEMENTS) {
        anyhow::bail!(
            "{function}: would produce {count} elements; gate policies may build at most \
             {MAX_RANGE_ELEMENTS}"
        );
    }
    let direction: i128 = if to >= from { 1 } else { -1 };
    // Every element lies between `from` and `to`, so it fits an i64.
    let values = (0..count)
        .filter_map(|offset| {
            i64::try_from(i128::from(from) + direction * offset * i128::from(step)).ok()
        })
        .map(Value::from)
        .collect::<Vec<_>>();
    Ok(Value::from(values))
}
