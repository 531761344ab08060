//! License policy: which licences an SBOM's components may carry, evaluated over their SPDX
//! expressions (`OR`: one allowed branch suffices, `AND`: every part must be allowed, `WITH`: an
//! exception rides on its licence).
//!
//! A licence is allowed when a package exception names it for that package, or when it is not
//! denied and either the allow list names it or the allow list is empty (a deny-list-only
//! policy). A policy entry without `WITH` matches its licence with any exception; one with `WITH`
//! matches only that exception. `-or-later`/`+` are honoured as the `spdx` crate does.

use serde::{Deserialize, Serialize};
use spdx::{Expression, LicenseItem, LicenseReq, Licensee, ParseMode};

use crate::model::Component;

/// The licence rules for an SBOM, as written in YAML or JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicensePolicy {
    /// Licences that may be used: SPDX ids (`MIT`), ids with an exception
    /// (`GPL-2.0-only WITH Classpath-exception-2.0`), `LicenseRef-…`, or expressions, each of whose
    /// licences is allowed. Empty: every licence not denied is allowed.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Licences that may not be used, written like `allow`. Deny wins over allow.
    #[serde(default)]
    pub deny: Vec<String>,
    /// Extra licences allowed for named packages, even if denied.
    #[serde(default)]
    pub exceptions: Vec<LicenseException>,
    /// The licence to use for named packages instead of what the SBOM says (or does not say).
    #[serde(default)]
    pub clarifications: Vec<LicenseClarification>,
    /// Whether a component without licence information passes.
    #[serde(default)]
    pub unknown: UnknownLicense,
}

/// Extra licences for one package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenseException {
    /// The package: its name, `group/name`, or its purl's package name (see
    /// [`Component::is_named`]).
    pub name: String,
    /// Only this version, when given.
    #[serde(default)]
    pub version: Option<String>,
    /// The licences additionally allowed, written like [`LicensePolicy::allow`].
    pub allow: Vec<String>,
}

/// The licence of one package, overriding the SBOM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenseClarification {
    /// The package, matched like [`LicenseException::name`].
    pub name: String,
    /// Only this version, when given.
    #[serde(default)]
    pub version: Option<String>,
    /// The SPDX expression that applies.
    pub expression: String,
}

/// What happens to components whose SBOM entry carries no licence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnknownLicense {
    /// They pass (reported as unknown).
    Allow,
    /// They fail the policy.
    #[default]
    Deny,
}

/// A policy entry that is not SPDX.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("license policy {field}: {entry:?} is not a valid SPDX licence or expression: {reason}")]
pub struct LicensePolicyError {
    /// Where in the policy (`allow[2]`, `exceptions[0].allow[1]`, `clarifications[3].expression`).
    pub field: String,
    /// The entry as written.
    pub entry: String,
    /// The SPDX parser's reason.
    pub reason: String,
}

/// The outcome for one component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LicenseVerdict {
    /// The expression is satisfiable with allowed licences.
    Allowed,
    /// It is not: some required licence is denied or not allowed.
    Denied,
    /// The component has no licence information.
    Unknown,
    /// The licence text is not an SPDX expression.
    Invalid,
}

/// One component's licence verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LicenseFinding {
    /// The component's name (with its group, `group/name`, when it has one).
    pub component: String,
    /// The component's version.
    pub version: Option<String>,
    /// The expression judged (after clarification), as written.
    pub expression: Option<String>,
    /// The verdict.
    pub verdict: LicenseVerdict,
    /// Why, naming the licences that decided it.
    pub reason: String,
    /// Whether this finding fails the policy (denied, invalid, or unknown under `unknown: deny`).
    pub blocking: bool,
}

/// Every component's finding, in SBOM order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LicenseReport {
    /// One finding per component.
    pub findings: Vec<LicenseFinding>,
}

impl LicenseReport {
    /// Whether no finding blocks.
    #[must_use]
    pub fn passed(&self) -> bool {
        !self.findings.iter().any(|finding| finding.blocking)
    }

    /// The findings that fail the policy.
    pub fn violations(&self) -> impl Iterator<Item = &LicenseFinding> {
        self.findings.iter().filter(|finding| finding.blocking)
    }
}

/// A licence named by a policy entry: the licence, and the exception it is limited to.
#[derive(Debug, Clone)]
struct PolicyLicence {
    licence: Licensee,
    addition: Option<spdx::AdditionItem>,
}

impl PolicyLicence {
    fn matches(&self, required: &LicenseReq) -> bool {
        let same_licence = self.licence.satisfies(&LicenseReq {
            license: required.license.clone(),
            addition: None,
        });
        same_licence && (self.addition.is_none() || self.addition == required.addition)
    }
}

fn parse_entries(
    field: &str,
    entries: &[String],
) -> Result<Vec<PolicyLicence>, LicensePolicyError> {
    let mut licences = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let expression = Expression::parse(entry).map_err(|error| LicensePolicyError {
            field: format!("{field}[{index}]"),
            entry: entry.clone(),
            reason: error.reason.to_string(),
        })?;
        for requirement in expression.requirements() {
            let license = match &requirement.req.license {
                LicenseItem::Spdx { id, .. } => LicenseItem::Spdx {
                    id: *id,
                    or_later: false,
                },
                other @ LicenseItem::Other(_) => other.clone(),
            };
            licences.push(PolicyLicence {
                licence: Licensee::new(license, None),
                addition: requirement.req.addition.clone(),
            });
        }
    }
    Ok(licences)
}

/// A policy whose entries are parsed.
struct CompiledPolicy<'p> {
    allow: Vec<PolicyLicence>,
    deny: Vec<PolicyLicence>,
    exceptions: Vec<CompiledException<'p>>,
}

struct CompiledException<'p> {
    name: &'p str,
    version: Option<&'p str>,
    allow: Vec<PolicyLicence>,
}

fn applies(name: &str, version: Option<&str>, component: &Component) -> bool {
    component.is_named(name)
        && version.is_none_or(|version| component.version.as_deref() == Some(version))
}

impl LicensePolicy {
    /// Checks every entry of the policy is SPDX, without judging anything.
    ///
    /// # Errors
    ///
    /// [`LicensePolicyError`] for the first entry that does not parse.
    pub fn check(&self) -> Result<(), LicensePolicyError> {
        self.compile().map(|_| ())
    }

    fn compile(&self) -> Result<CompiledPolicy<'_>, LicensePolicyError> {
        let allow = parse_entries("allow", &self.allow)?;
        let deny = parse_entries("deny", &self.deny)?;
        let exceptions = self
            .exceptions
            .iter()
            .enumerate()
            .map(|(index, exception)| {
                Ok(CompiledException {
                    name: &exception.name,
                    version: exception.version.as_deref(),
                    allow: parse_entries(&format!("exceptions[{index}].allow"), &exception.allow)?,
                })
            })
            .collect::<Result<Vec<_>, LicensePolicyError>>()?;
        for (index, clarification) in self.clarifications.iter().enumerate() {
            Expression::parse_mode(&clarification.expression, ParseMode::LAX).map_err(|error| {
                LicensePolicyError {
                    field: format!("clarifications[{index}].expression"),
                    entry: clarification.expression.clone(),
                    reason: error.reason.to_string(),
                }
            })?;
        }
        Ok(CompiledPolicy {
            allow,
            deny,
            exceptions,
        })
    }

    /// Judges every component's licence.
    ///
    /// # Errors
    ///
    /// [`LicensePolicyError`] when the policy itself has an entry that is not SPDX.
    pub fn evaluate(&self, components: &[Component]) -> Result<LicenseReport, LicensePolicyError> {
        let compiled = self.compile()?;
        let findings = components
            .iter()
            .map(|component| {
                let extra: Vec<&PolicyLicence> = compiled
                    .exceptions
                    .iter()
                    .filter(|exception| applies(exception.name, exception.version, component))
                    .flat_map(|exception| exception.allow.iter())
                    .collect();
                let judge = Judge {
                    allow: &compiled.allow,
                    deny: &compiled.deny,
                    extra: &extra,
                };
                self.judge(component, &judge)
            })
            .collect();
        Ok(LicenseReport { findings })
    }

    fn judge(&self, component: &Component, judge: &Judge<'_>) -> LicenseFinding {
        let clarified = self.clarifications.iter().find(|clarification| {
            applies(
                &clarification.name,
                clarification.version.as_deref(),
                component,
            )
        });
        let expression = clarified.map_or_else(
            || component.licenses.clone(),
            |c| Some(c.expression.clone()),
        );
        let finding = |verdict, reason: String, blocking| LicenseFinding {
            component: component.group.as_ref().map_or_else(
                || component.name.clone(),
                |group| format!("{group}/{}", component.name),
            ),
            version: component.version.clone(),
            expression: expression.clone(),
            verdict,
            reason,
            blocking,
        };
        let Some(text) = expression.as_deref() else {
            let blocking = self.unknown == UnknownLicense::Deny;
            let consequence = if blocking {
                "the policy denies unknown licences"
            } else {
                "the policy allows unknown licences"
            };
            return finding(
                LicenseVerdict::Unknown,
                format!("no licence information; {consequence}"),
                blocking,
            );
        };
        let parsed = match Expression::parse_mode(text, ParseMode::LAX) {
            Ok(parsed) => parsed,
            Err(error) => {
                return finding(
                    LicenseVerdict::Invalid,
                    format!("{text:?} is not an SPDX expression: {}", error.reason),
                    true,
                );
            }
        };
        let source = if clarified.is_some() {
            " (clarified by the policy)"
        } else {
            ""
        };
        match parsed.evaluate_with_failures(|required| judge.accepts(required)) {
            Ok(()) => {
                let used: Vec<String> = parsed
                    .requirements()
                    .filter(|requirement| judge.accepts(&requirement.req))
                    .map(|requirement| requirement.req.to_string())
                    .collect();
                finding(
                    LicenseVerdict::Allowed,
                    format!("allowed{source}: {} permitted", used.join(", ")),
                    false,
                )
            }
            Err(failures) => {
                let reasons: Vec<String> = failures
                    .iter()
                    .map(|failure| judge.refusal(&failure.req))
                    .collect();
                finding(
                    LicenseVerdict::Denied,
                    format!("{text}{source}: {}", reasons.join("; ")),
                    true,
                )
            }
        }
    }
}

/// The licences that apply to one component.
struct Judge<'a> {
    allow: &'a [PolicyLicence],
    deny: &'a [PolicyLicence],
    extra: &'a [&'a PolicyLicence],
}

impl Judge<'_> {
    fn accepts(&self, required: &LicenseReq) -> bool {
        self.extra.iter().any(|licence| licence.matches(required))
            || (!self.denied(required) && (self.allow.is_empty() || self.allowed(required)))
    }

    fn denied(&self, required: &LicenseReq) -> bool {
        self.deny.iter().any(|licence| licence.matches(required))
    }

    fn allowed(&self, required: &LicenseReq) -> bool {
        self.allow.iter().any(|licence| licence.matches(required))
    }

    fn refusal(&self, required: &LicenseReq) -> String {
        if self.denied(required) {
            format!("{required} is denied")
        } else {
            format!("{required} is not in the allow list")
        }
    }
}
