//! The kind registry and the typed specs of the built-in kinds.
//!
//! Each kind is declared once, in the [`registry!`] invocation below: its names (`Service`,
//! `service`, `services`, short names), its typed spec, which environment a resource of it
//! belongs to (for environment-scoped permissions), what it refers to, and the summary columns
//! a table of it shows. The declaration yields both the [`KindDef`] entry in [`KINDS`] and a
//! marker type of the same name implementing [`Kind`] (e.g. [`Artifact`], whose spec is
//! [`ArtifactSpec`]), through which the store is reached with typed handles. The store, API and
//! CLI handle every registered kind generically; adding a kind is one entry here.

use crate::diagnostic::Diagnostic;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One registered kind.
pub struct KindDef {
    /// The `kind` field, e.g. `Service`.
    pub kind: &'static str,
    /// Lower-case singular, e.g. `service`.
    pub singular: &'static str,
    /// Lower-case plural, used in URLs, e.g. `services`.
    pub plural: &'static str,
    /// Extra accepted names, e.g. `svc`.
    pub short_names: &'static [&'static str],
    /// Validates a spec; returns diagnostics with paths starting at `spec`.
    pub validate_spec: fn(&Value) -> Vec<Diagnostic>,
    /// Which environment a resource of this kind belongs to, if any.
    pub environment_of: fn(&str, &Value) -> Option<String>,
    /// Names of other resources this spec refers to, as (kind, name, field path).
    pub references: fn(&Value) -> Vec<Reference>,
    /// For kinds whose status records a run (Rollout, Release): whether that run has ended, so
    /// that a change to the spec starts a new run (its status is cleared).
    pub run_finished: Option<fn(&Value) -> bool>,
    /// Records only the server writes (change events, gate decisions): clients cannot apply
    /// or delete them.
    pub written_by_server: bool,
    /// The spec fields a table of this kind shows between the name and the revision.
    pub columns: &'static [Column],
}

/// A summary column of a kind's table: a header and the spec field it shows.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub header: &'static str,
    /// A top-level field of the spec.
    pub field: &'static str,
    /// The cell's text from the field's value (`Null` when the field is absent).
    pub cell: fn(&Value) -> String,
}

impl Column {
    /// A column showing a field as text: strings as they are, lists joined by `,`.
    pub const fn text(header: &'static str, field: &'static str) -> Column {
        Column {
            header,
            field,
            cell: cell_text,
        }
    }

    /// The cell of this column for a spec.
    pub fn of(&self, spec: &Value) -> String {
        (self.cell)(spec.get(self.field).unwrap_or(&Value::Null))
    }
}

/// Strings as they are, lists joined by `,`, nothing for null, JSON for the rest.
fn cell_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| i.to_string())
            })
            .collect::<Vec<_>>()
            .join(","),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A role binding's subjects as `Kind/name,...`.
fn subjects_cell(value: &Value) -> String {
    let text = |v: &Value, f: &str| {
        v.get(f)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    value
        .as_array()
        .map(|subjects| {
            subjects
                .iter()
                .map(|s| format!("{}/{}", text(s, "kind"), text(s, "name")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

/// A reference from one resource's spec to another resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub kind: &'static str,
    pub name: String,
    pub path: String,
}

impl std::fmt::Debug for KindDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind)
    }
}

/// A registered kind as a type: the marker types the registry declares implement it, so code
/// names a kind by its type (`Artifact`) rather than by a string, and gets its spec typed.
pub trait Kind: Send + Sync + 'static {
    /// The kind's spec.
    type Spec: DeserializeOwned + Serialize + Clone + std::fmt::Debug + Send + Sync + 'static;
    /// The kind's registry entry.
    const DEF: &'static KindDef;
    /// The `kind` field, e.g. `Artifact`.
    const KIND: &'static str = Self::DEF.kind;
    /// The plural: URLs and permission rules name the kind by it, e.g. `artifacts`.
    const PLURAL: &'static str = Self::DEF.plural;
}

/// What a [`KindDef`] says when its declaration leaves it out: no environment, no references,
/// no run, written by clients, no summary columns.
const BASE: KindDef = KindDef {
    kind: "",
    singular: "",
    plural: "",
    short_names: &[],
    validate_spec: |_| Vec::new(),
    environment_of: no_environment,
    references: |_| Vec::new(),
    run_finished: None,
    written_by_server: false,
    columns: &[],
};

/// Declares every kind once: a marker type named like the kind implementing [`Kind`] with its
/// spec type, whose [`KindDef`] has the kind's name and validates the spec as that type; the
/// other fields are given or taken from [`BASE`]. Then [`KINDS`] lists them all.
macro_rules! registry {
    ($($(#[$doc:meta])* $marker:ident: $spec:ty { $($field:ident: $value:expr),* $(,)? })*) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy, PartialEq, Eq)]
            pub struct $marker;

            impl Kind for $marker {
                type Spec = $spec;
                const DEF: &'static KindDef = &KindDef {
                    kind: stringify!($marker),
                    validate_spec: validate_typed::<$spec>,
                    $($field: $value,)*
                    ..BASE
                };
            }
        )*

        /// Every kind this build knows.
        pub static KINDS: &[&KindDef] = &[$(<$marker as Kind>::DEF),*];
    };
}

registry! {
    /// A team.
    Team: TeamSpec {
        singular: "team",
        plural: "teams",
        references: |spec| {
            typed::<TeamSpec>(spec)
                .and_then(|s| s.parent)
                .map(|p| vec![reference(Team::KIND, p, "spec.parent")])
                .unwrap_or_default()
        },
        columns: &[Column::text("DISPLAY NAME", "displayName")],
    }

    /// A person or robot account.
    User: UserSpec {
        singular: "user",
        plural: "users",
        references: |spec| {
            typed::<UserSpec>(spec)
                .map(|s| {
                    s.teams
                        .into_iter()
                        .enumerate()
                        .map(|(i, t)| reference(Team::KIND, t, &format!("spec.teams[{i}]")))
                        .collect()
                })
                .unwrap_or_default()
        },
        columns: &[Column::text("TEAMS", "teams"), Column::text("DISABLED", "disabled")],
    }

    /// A set of permissions.
    Role: RoleSpec {
        singular: "role",
        plural: "roles",
        columns: &[Column::text("DESCRIPTION", "description")],
    }

    /// A role granted to users and teams, optionally in some environments only.
    RoleBinding: RoleBindingSpec {
        singular: "rolebinding",
        plural: "rolebindings",
        short_names: &["rb"],
        references: |spec| {
            typed::<RoleBindingSpec>(spec)
                .map(|s| {
                    let mut refs = vec![reference(Role::KIND, s.role, "spec.role")];
                    for (i, subject) in s.subjects.into_iter().enumerate() {
                        let kind = match subject.kind {
                            SubjectKind::User => User::KIND,
                            SubjectKind::Team => Team::KIND,
                        };
                        refs.push(reference(
                            kind,
                            subject.name,
                            &format!("spec.subjects[{i}].name"),
                        ));
                    }
                    for (i, env) in s.environments.unwrap_or_default().into_iter().enumerate() {
                        if env != "*" {
                            refs.push(reference(
                                Environment::KIND,
                                env,
                                &format!("spec.environments[{i}]"),
                            ));
                        }
                    }
                    refs
                })
                .unwrap_or_default()
        },
        columns: &[
            Column::text("ROLE", "role"),
            Column { header: "SUBJECTS", field: "subjects", cell: subjects_cell },
        ],
    }

    /// A deployable service.
    Service: ServiceSpec {
        singular: "service",
        plural: "services",
        short_names: &["svc"],
        references: |spec| {
            typed::<ServiceSpec>(spec)
                .map(|s| {
                    let mut refs = vec![reference(Team::KIND, s.owner, "spec.owner")];
                    for (i, dep) in s.depends_on.into_iter().enumerate() {
                        refs.push(reference(Service::KIND, dep, &format!("spec.dependsOn[{i}]")));
                    }
                    for env in s.endpoints.into_keys() {
                        let path = format!("spec.endpoints.{env}");
                        refs.push(reference(Environment::KIND, env, &path));
                    }
                    refs
                })
                .unwrap_or_default()
        },
        columns: &[
            Column::text("OWNER", "owner"),
            Column::text("TIER", "tier"),
            Column::text("DEPENDS ON", "dependsOn"),
        ],
    }

    /// Where services run: staging, production, ...
    Environment: EnvironmentSpec {
        singular: "environment",
        plural: "environments",
        short_names: &["env"],
        environment_of: |name, _| Some(name.to_string()),
        references: |spec| {
            typed::<EnvironmentSpec>(spec)
                .and_then(|s| s.promotion_source)
                .map(|p| vec![reference(Environment::KIND, p, "spec.promotionSource")])
                .unwrap_or_default()
        },
        columns: &[
            Column::text("TIER", "tier"),
            Column::text("ORDER", "order"),
            Column::text("PROMOTES FROM", "promotionSource"),
        ],
    }

    /// A build of a service.
    Artifact: ArtifactSpec {
        singular: "artifact",
        plural: "artifacts",
        short_names: &["art"],
        references: |spec| {
            typed::<ArtifactSpec>(spec)
                .map(|s| vec![reference(Service::KIND, s.service, "spec.service")])
                .unwrap_or_default()
        },
    }

    /// A deployment of an artifact to an environment.
    Rollout: RolloutSpec {
        singular: "rollout",
        plural: "rollouts",
        short_names: &["ro"],
        environment_of: |_, spec| typed::<RolloutSpec>(spec).map(|s| s.environment),
        references: |spec| {
            typed::<RolloutSpec>(spec)
                .map(|s| {
                    let mut refs = vec![
                        reference(Service::KIND, s.service, "spec.service"),
                        reference(Environment::KIND, s.environment, "spec.environment"),
                        reference(Artifact::KIND, s.artifact, "spec.artifact"),
                    ];
                    if let Some(change) = s.change {
                        refs.push(reference(ChangeRequest::KIND, change, "spec.change"));
                    }
                    refs
                })
                .unwrap_or_default()
        },
        run_finished: Some(finished_run),
    }

    /// A reusable path to production.
    Pipeline: PipelineSpec {
        singular: "pipeline",
        plural: "pipelines",
        short_names: &["pl"],
        references: |spec| {
            typed::<PipelineSpec>(spec)
                .map(|s| {
                    s.stages
                        .into_iter()
                        .enumerate()
                        .map(|(i, st)| {
                            reference(
                                Environment::KIND,
                                st.environment,
                                &format!("spec.stages[{i}].environment"),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default()
        },
    }

    /// One run of a pipeline for a set of builds.
    Release: ReleaseSpec {
        singular: "release",
        plural: "releases",
        short_names: &["rel"],
        references: |spec| {
            typed::<ReleaseSpec>(spec)
                .map(|s| {
                    let mut refs = vec![reference(Pipeline::KIND, s.pipeline, "spec.pipeline")];
                    for (i, a) in s.artifacts.into_iter().enumerate() {
                        refs.push(reference(Artifact::KIND, a, &format!("spec.artifacts[{i}]")));
                    }
                    for (i, r) in s.remove.into_iter().enumerate() {
                        refs.push(reference(Service::KIND, r, &format!("spec.remove[{i}]")));
                    }
                    if let Some(change) = s.change {
                        refs.push(reference(ChangeRequest::KIND, change, "spec.change"));
                    }
                    refs
                })
                .unwrap_or_default()
        },
        run_finished: Some(finished_run),
    }

    /// A change request.
    ChangeRequest: slipway_change::ChangeRequestSpec {
        singular: "changerequest",
        plural: "changerequests",
        short_names: &["change", "changes", "chg", "cr"],
        references: |spec| {
            typed::<slipway_change::ChangeRequestSpec>(spec)
                .map(|s| {
                    let mut refs = Vec::new();
                    for (i, x) in s.services.into_iter().enumerate() {
                        refs.push(reference(Service::KIND, x, &format!("spec.services[{i}]")));
                    }
                    for (i, x) in s.environments.into_iter().enumerate() {
                        refs.push(reference(
                            Environment::KIND,
                            x,
                            &format!("spec.environments[{i}]"),
                        ));
                    }
                    if let Some(model) = s.model {
                        refs.push(reference(ChangeModel::KIND, model, "spec.model"));
                    }
                    refs
                })
                .unwrap_or_default()
        },
    }

    /// A change model: how changes of a type are approved.
    ChangeModel: slipway_change::ChangeModelSpec {
        singular: "changemodel",
        plural: "changemodels",
        references: |spec| {
            typed::<slipway_change::ChangeModelSpec>(spec)
                .map(|s| {
                    s.approval_rules
                        .into_iter()
                        .enumerate()
                        .map(|(i, r)| {
                            reference(ApprovalRule::KIND, r, &format!("spec.approvalRules[{i}]"))
                        })
                        .collect()
                })
                .unwrap_or_default()
        },
    }

    /// An approval rule.
    ApprovalRule: slipway_change::ApprovalRuleSpec {
        singular: "approvalrule",
        plural: "approvalrules",
    }

    /// Change windows, freezes and lockdowns.
    Calendar: slipway_change::CalendarSpec {
        singular: "calendar",
        plural: "calendars",
        short_names: &["cal"],
        environment_of: |_, spec| {
            typed::<slipway_change::CalendarSpec>(spec).and_then(|s| s.scope.environment)
        },
        references: |spec| {
            typed::<slipway_change::CalendarSpec>(spec)
                .map(|s| {
                    let mut refs = Vec::new();
                    if let Some(e) = s.scope.environment {
                        refs.push(reference(Environment::KIND, e, "spec.scope.environment"));
                    }
                    if let Some(x) = s.scope.service {
                        refs.push(reference(Service::KIND, x, "spec.scope.service"));
                    }
                    refs
                })
                .unwrap_or_default()
        },
    }

    /// How risk is scored.
    RiskPolicy: slipway_change::RiskPolicySpec {
        singular: "riskpolicy",
        plural: "riskpolicies",
    }

    /// One action on a change request, as the server recorded it.
    ChangeEvent: crate::governance_records::ChangeEventSpec {
        singular: "changeevent",
        plural: "changeevents",
        references: |spec| {
            typed::<crate::governance_records::ChangeEventSpec>(spec)
                .map(|s| vec![reference(ChangeRequest::KIND, s.change, "spec.change")])
                .unwrap_or_default()
        },
        written_by_server: true,
    }

    /// A decision of the deployment gate, as the server recorded it.
    GateDecision: crate::governance_records::GateDecisionSpec {
        singular: "gatedecision",
        plural: "gatedecisions",
        environment_of: |_, spec| {
            typed::<crate::governance_records::GateDecisionSpec>(spec).map(|s| s.environment)
        },
        written_by_server: true,
    }

    /// A custom gate policy in Rego.
    GatePolicy: crate::governance_records::GatePolicySpec {
        singular: "gatepolicy",
        plural: "gatepolicies",
    }

    /// Where CDEvents are delivered.
    EventSink: crate::governance_records::EventSinkSpec {
        singular: "eventsink",
        plural: "eventsinks",
    }
}

/// A run has ended when its status says Promoted, RolledBack, Failed or Removed.
fn finished_run(status: &Value) -> bool {
    matches!(
        status.get("phase").and_then(Value::as_str),
        Some("Promoted" | "RolledBack" | "Failed" | "Removed")
    )
}

fn reference(kind: &'static str, name: String, path: &str) -> Reference {
    Reference {
        kind,
        name,
        path: path.to_string(),
    }
}

fn no_environment(_: &str, _: &Value) -> Option<String> {
    None
}

pub use slipway_spec::{SpecRules, typed, validate_typed};

/// Finds a kind by any of its names, case-insensitively (`Service`, `service`, `services`, `svc`).
pub fn lookup(name: &str) -> Option<&'static KindDef> {
    let lower = name.to_ascii_lowercase();
    KINDS.iter().copied().find(|k| {
        k.kind.eq_ignore_ascii_case(&lower)
            || k.singular == lower
            || k.plural == lower
            || k.short_names.contains(&lower.as_str())
    })
}

/// Finds a kind by its exact `kind` spelling, as documents must use it.
pub fn lookup_exact(kind: &str) -> Option<&'static KindDef> {
    KINDS.iter().copied().find(|k| k.kind == kind)
}

/// The `kind` names of all registered kinds.
pub fn kind_names() -> Vec<&'static str> {
    KINDS.iter().map(|k| k.kind).collect()
}

// ----- typed specs of the built-in kinds -----

/// A team: owns services, receives notifications, groups users for permissions.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TeamSpec {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub chat: Option<String>,
    /// The team this one belongs to (organisation structure).
    #[serde(default)]
    pub parent: Option<String>,
}
impl SpecRules for TeamSpec {}

/// A person or robot account. Tokens belong to users.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserSpec {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub teams: Vec<String>,
    /// A disabled user's tokens are refused.
    #[serde(default)]
    pub disabled: bool,
}
impl SpecRules for UserSpec {
    fn rules(&self) -> Vec<Diagnostic> {
        duplicates("spec.teams", &self.teams)
    }
}

/// What a permission rule allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verb {
    Get,
    List,
    Create,
    Update,
    Delete,
    Approve,
    Deploy,
    #[serde(rename = "*")]
    Any,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::List => "list",
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Delete => "delete",
            Verb::Approve => "approve",
            Verb::Deploy => "deploy",
            Verb::Any => "*",
        }
    }
}

/// A set of permission rules.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleSpec {
    #[serde(default)]
    pub description: Option<String>,
    pub rules: Vec<PermissionRule>,
}

/// Allows `verbs` on `kinds` (plural names, or `*`; also `tokens`, `audit`, `metrics`), in the
/// listed environments only when `environments` is given.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PermissionRule {
    pub verbs: Vec<Verb>,
    pub kinds: Vec<String>,
    #[serde(default)]
    pub environments: Option<Vec<String>>,
}

/// The non-resource permission targets.
pub const EXTRA_PERMISSION_TARGETS: &[&str] = &["tokens", "audit", "metrics"];

impl SpecRules for RoleSpec {
    fn rules(&self) -> Vec<Diagnostic> {
        let mut d = Vec::new();
        if self.rules.is_empty() {
            d.push(Diagnostic::new("spec.rules", "must hold at least one rule"));
        }
        for (i, rule) in self.rules.iter().enumerate() {
            if rule.verbs.is_empty() {
                d.push(Diagnostic::new(
                    format!("spec.rules[{i}].verbs"),
                    "must not be empty",
                ));
            }
            if rule.kinds.is_empty() {
                d.push(Diagnostic::new(
                    format!("spec.rules[{i}].kinds"),
                    "must not be empty",
                ));
            }
            for (j, kind) in rule.kinds.iter().enumerate() {
                let known = kind == "*"
                    || EXTRA_PERMISSION_TARGETS.contains(&kind.as_str())
                    || KINDS.iter().any(|k| k.plural == kind);
                if !known {
                    d.push(Diagnostic::new(
                        format!("spec.rules[{i}].kinds[{j}]"),
                        format!(
                            "unknown permission target {kind:?}; use a kind's plural name (e.g. services), tokens, audit, metrics or *"
                        ),
                    ));
                }
            }
        }
        d
    }
}

/// Who a binding grants a role to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SubjectKind {
    User,
    Team,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Subject {
    pub kind: SubjectKind,
    pub name: String,
}

/// Grants `role` to `subjects`, optionally only in some environments.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleBindingSpec {
    pub role: String,
    pub subjects: Vec<Subject>,
    #[serde(default)]
    pub environments: Option<Vec<String>>,
}
impl SpecRules for RoleBindingSpec {
    fn rules(&self) -> Vec<Diagnostic> {
        if self.subjects.is_empty() {
            vec![Diagnostic::new(
                "spec.subjects",
                "must name at least one user or team",
            )]
        } else {
            Vec::new()
        }
    }
}

/// How much a service matters to the business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceTier {
    Critical,
    High,
    Medium,
    Low,
}

/// A deployable service.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceSpec {
    /// The owning team.
    pub owner: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub repository: Option<String>,
    pub tier: ServiceTier,
    /// Services this one calls; they deploy first.
    #[serde(default)]
    pub depends_on: Vec<String>,
    #[serde(default)]
    pub provides_apis: Vec<String>,
    #[serde(default)]
    pub consumes_apis: Vec<String>,
    /// Where the service's traffic router listens in each environment, e.g.
    /// `{staging: "127.0.0.1:18080"}`; releases deploy there.
    #[serde(default)]
    pub endpoints: std::collections::BTreeMap<String, String>,
}
impl SpecRules for ServiceSpec {
    fn rules(&self) -> Vec<Diagnostic> {
        let mut d = duplicates("spec.dependsOn", &self.depends_on);
        for (env, addr) in &self.endpoints {
            if addr.parse::<std::net::SocketAddr>().is_err() {
                d.push(Diagnostic::new(
                    format!("spec.endpoints.{env}"),
                    format!("{addr:?} is not an address like 127.0.0.1:18080"),
                ));
            }
        }
        d.extend(duplicates("spec.providesApis", &self.provides_apis));
        d.extend(duplicates("spec.consumesApis", &self.consumes_apis));
        d
    }
}

pub use slipway_spec::EnvironmentTier;

/// A place services are deployed to.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvironmentSpec {
    pub tier: EnvironmentTier,
    /// Position in the promotion path (lower deploys first).
    pub order: u32,
    /// The environment a version must have reached before it can be promoted here.
    #[serde(default)]
    pub promotion_source: Option<String>,
    #[serde(default)]
    pub protection: Protection,
    /// Supply-chain conditions an artifact must meet to be deployed here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion_policy: Option<PromotionPolicy>,
}

/// Supply-chain conditions on deploying an artifact to an environment, checked by the gate
/// against the Artifact resource's `status.supplyChain`. Every field is optional; the default
/// checks nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PromotionPolicy {
    /// The artifact must carry a Slipway signature that verifies with the server's key, or a
    /// verified Sigstore bundle.
    #[serde(default)]
    pub require_signature: bool,
    /// The most severe vulnerability allowed in the artifact's SBOM (`none`: no vulnerability
    /// at all). Implies that the SBOM was scanned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_severity: Option<SeverityLevel>,
    /// The artifact's SBOM must have been scanned against the server's vulnerability database.
    #[serde(default)]
    pub require_scan: bool,
    /// A licence policy (`slipway-sbom`'s `LicensePolicy`: allow, deny, exceptions,
    /// clarifications, unknown) the SBOM's components must pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licenses: Option<serde_json::Value>,
    /// The least severe SARIF level that refuses the artifact (`error`, `warning`, `note`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sarif_fail_on: Option<SarifFailLevel>,
    /// The artifact must carry SLSA provenance signed by the server.
    #[serde(default)]
    pub require_provenance: bool,
}

/// A vulnerability severity, least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeverityLevel {
    None,
    Low,
    Medium,
    High,
    Critical,
}

impl SeverityLevel {
    /// Lower-case name, as written in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            SeverityLevel::None => "none",
            SeverityLevel::Low => "low",
            SeverityLevel::Medium => "medium",
            SeverityLevel::High => "high",
            SeverityLevel::Critical => "critical",
        }
    }
}

/// A SARIF result level, least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SarifFailLevel {
    Note,
    Warning,
    Error,
}

/// Controls on deploying to an environment.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Protection {
    /// Deployments need an authorised change request.
    #[serde(default)]
    pub require_change_request: bool,
    /// How many distinct approvers a deployment needs.
    #[serde(default)]
    pub required_approvals: u32,
    /// Only members of these teams may deploy (empty: anyone with the permission).
    #[serde(default)]
    pub deployer_teams: Vec<String>,
}

impl SpecRules for EnvironmentSpec {
    fn rules(&self) -> Vec<Diagnostic> {
        let mut d = Vec::new();
        if self.protection.required_approvals > 10 {
            d.push(Diagnostic::new(
                "spec.protection.requiredApprovals",
                format!(
                    "{} is more than the maximum of 10",
                    self.protection.required_approvals
                ),
            ));
        }
        d
    }
}

fn duplicates(path: &str, items: &[String]) -> Vec<Diagnostic> {
    let mut seen = std::collections::HashSet::new();
    items
        .iter()
        .enumerate()
        .filter(|(_, item)| !seen.insert(item.as_str()))
        .map(|(i, item)| {
            Diagnostic::new(format!("{path}[{i}]"), format!("{item:?} is listed twice"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(kind: &str, spec: Value, expected: &[&str]) {
        let def = lookup(kind).unwrap();
        let got: Vec<String> = (def.validate_spec)(&spec)
            .iter()
            .map(|d| d.to_string())
            .collect();
        assert_eq!(got, expected, "{kind} {spec}");
    }

    #[test]
    fn spec_errors_name_the_field_path() {
        check(
            "service",
            json!({"owner": "payments", "tier": "critical"}),
            &[],
        );
        check(
            "service",
            json!({"owner": "payments", "tier": "urgent"}),
            &[
                "spec.tier: unknown variant `urgent`, expected one of `critical`, `high`, `medium`, `low`",
            ],
        );
        check(
            "service",
            json!({"owner": "payments", "tier": "low", "dependsOn": ["a", 3]}),
            &["spec.dependsOn[1]: invalid type: integer `3`, expected a string"],
        );
        check(
            "service",
            json!({"owner": "payments", "tier": "low", "dependsOn": ["a", "a"]}),
            &["spec.dependsOn[1]: \"a\" is listed twice"],
        );
        check(
            "service",
            json!({"tier": "low"}),
            &["spec: missing field `owner`"],
        );
        check(
            "role",
            json!({"rules": [{"verbs": ["get"], "kinds": ["widgets"]}]}),
            &[
                "spec.rules[0].kinds[0]: unknown permission target \"widgets\"; use a kind's plural name (e.g. services), tokens, audit, metrics or *",
            ],
        );
        check(
            "environment",
            json!("x"),
            &["spec: must be a mapping, found a string"],
        );
    }

    #[test]
    fn lookup_accepts_every_spelling() {
        for name in ["Service", "service", "services", "svc", "SERVICES"] {
            assert_eq!(lookup(name).unwrap().kind, "Service");
        }
        assert!(lookup("widget").is_none());
        assert_eq!(lookup_exact("service").map(|k| k.kind), None);
    }

    #[test]
    fn every_name_finds_one_kind_and_markers_are_their_entries() {
        let mut names = std::collections::BTreeMap::new();
        for def in KINDS {
            for name in [
                def.kind.to_ascii_lowercase().as_str(),
                def.singular,
                def.plural,
            ]
            .into_iter()
            .chain(def.short_names.iter().copied())
            {
                let first = names.entry(name.to_string()).or_insert(def.kind);
                assert!(
                    *first == def.kind,
                    "{name:?} names both {first} and {}",
                    def.kind
                );
            }
            assert_eq!(lookup_exact(def.kind).map(|d| d.plural), Some(def.plural));
        }
        assert_eq!(Artifact::KIND, "Artifact");
        assert_eq!(
            lookup_exact("Rollout").map(|d| d.plural),
            Some(Rollout::DEF.plural)
        );
        assert_eq!(KINDS.len(), kind_names().len());
    }

    #[test]
    fn columns_show_spec_fields_as_text() {
        let cells = |def: &KindDef, spec: Value| -> Vec<String> {
            def.columns.iter().map(|c| c.of(&spec)).collect()
        };
        assert_eq!(
            cells(
                Service::DEF,
                json!({"owner": "payments", "tier": "high", "dependsOn": ["a", "b"]})
            ),
            ["payments", "high", "a,b"]
        );
        assert_eq!(
            cells(Environment::DEF, json!({"tier": "production", "order": 2})),
            ["production", "2", ""]
        );
        assert_eq!(
            cells(
                RoleBinding::DEF,
                json!({"role": "admin", "subjects": [{"kind": "User", "name": "rita"}, {"kind": "Team", "name": "ops"}]})
            ),
            ["admin", "User/rita,Team/ops"]
        );
        assert!(Rollout::DEF.columns.is_empty());
    }
}

/// A built version of a service: what to run. `location` is an executable file (for the local
/// target) or a URL; `digest`, when given, is checked against the file before it runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArtifactSpec {
    pub service: String,
    pub version: String,
    pub location: String,
    #[serde(default)]
    pub digest: Option<String>,
    /// Arguments after the executable.
    #[serde(default)]
    pub args: Vec<String>,
    /// Environment of every instance (besides PORT and SLIPWAY_* set by the target).
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
}
impl SpecRules for ArtifactSpec {
    fn rules(&self) -> Vec<Diagnostic> {
        let mut d = Vec::new();
        if self.version.trim().is_empty() {
            d.push(Diagnostic::new("spec.version", "must not be empty"));
        }
        if let Some(digest) = &self.digest {
            let ok = digest
                .strip_prefix("sha256:")
                .is_some_and(|h| h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit()));
            if !ok {
                d.push(Diagnostic::new(
                    "spec.digest",
                    format!("{digest:?} is not sha256:<64 hex digits>"),
                ));
            }
        }
        d
    }
}

/// How a rollout moves traffic to the new version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum Strategy {
    /// Replace the running version at once (first deployments, non-production).
    Direct {},
    /// Shift traffic in weighted steps, each held for its pause while guardrails watch.
    #[serde(rename_all = "camelCase")]
    Canary {
        steps: Vec<CanaryStep>,
        /// What the canary is compared with: the running stable version (`production`, the
        /// default) or fresh instances of it started beside the canary and given the same
        /// traffic (`beside`, as Kayenta recommends).
        #[serde(default)]
        baseline: BaselineMode,
        /// With a baseline beside the canary: what to do when a guardrail breaches on the
        /// baseline and the canary alike (an environmental problem, not the release's).
        #[serde(default)]
        on_environmental: EnvironmentalPolicy,
    },
    /// Replace the old instances in batches: each batch of new instances joins the router's
    /// stable set once healthy, and as many old ones leave it and stop; guardrails watch the
    /// service during each batch's pause, and a breach brings the old version back.
    #[serde(rename_all = "camelCase")]
    Rolling {
        /// New instances started (and old ones stopped) per batch.
        #[serde(default = "one")]
        batch_size: u32,
        /// How long to hold after each batch, e.g. `10s`.
        #[serde(default = "zero_pause")]
        pause: String,
    },
    /// Start the new version beside the old one (the idle colour), smoke-test it through the
    /// router with the version pinned, switch all traffic at once, and keep the old colour
    /// running for the rollback window while guardrails watch the new one.
    #[serde(rename_all = "camelCase")]
    BlueGreen {
        /// A path requested through the router, pinned to the new version, before the switch.
        #[serde(default)]
        smoke_path: Option<String>,
        /// How long the old colour stays ready to take traffic back, e.g. `30s`.
        rollback_window: String,
    },
}

/// What a canary is compared with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BaselineMode {
    #[default]
    Production,
    Beside,
}

/// What an environmental failure does to a rollout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EnvironmentalPolicy {
    /// Record it and carry on: the release is not at fault.
    #[default]
    Continue,
    RollBack,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CanaryStep {
    /// Percent of traffic on the canary during this step.
    pub weight: u32,
    /// How long to hold the step, e.g. `30s`.
    pub pause: String,
    /// Judge the canary against the stable version at the end of the step.
    #[serde(default)]
    pub analysis: Option<AnalysisSpec>,
}

/// A statistical comparison of canary and stable over a step, by Slipway's canary judge
/// (Kayenta's algorithm): one baseline and one canary value per metric per `interval`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnalysisSpec {
    /// Sample period, e.g. `1s`.
    #[serde(default = "one_second")]
    pub interval: String,
    pub metrics: Vec<AnalysisMetric>,
    /// Score at or above which the canary passes (default 95); below `marginal` it fails
    /// (default 75); in between counts as a failure too.
    #[serde(default = "pass_score")]
    pub pass: f64,
    #[serde(default = "marginal_score")]
    pub marginal: f64,
    /// Where the series come from: the router's own counters (`builtin`, the default),
    /// `{prometheus: {url}}` (PromQL range queries) or `{webhook: {url}}` (a JSON service).
    #[serde(default)]
    pub source: MetricSourceSpec,
}

/// A metric source for canary analysis.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum MetricSourceSpec {
    #[default]
    Builtin,
    Prometheus {
        url: String,
    },
    Webhook {
        url: String,
    },
}

fn one_second() -> String {
    "1s".into()
}

fn pass_score() -> f64 {
    95.0
}

fn marginal_score() -> f64 {
    75.0
}

/// One analysed metric: what to measure per period, and the judge's classifier parameters
/// (the keys of `slipway analysis classify`'s `params`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnalysisMetric {
    pub name: String,
    /// For the built-in source: `error_rate`, `p50_latency`, `p95_latency` or `p99_latency`.
    #[serde(default)]
    pub metric: Option<crate::guardrail::GuardrailMetric>,
    /// For Prometheus and webhooks: the query, with `{version}` (`stable`/`canary`), `{service}`,
    /// `{environment}` and `{routed}` (the router's `service` label) filled in.
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub critical: bool,
    #[serde(default)]
    pub params: Option<serde_json::Value>,
}

/// The health check of every instance: an HTTP GET of `path` (the default), a TCP connect
/// (`tcp: true`), or a command (`command: [argv…]`, run with `PORT` set; exit 0 is healthy).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthCheck {
    #[serde(default = "default_health_path")]
    pub path: String,
    #[serde(default)]
    pub tcp: bool,
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// How long an instance may take to become healthy, e.g. `20s`.
    #[serde(default = "default_ready_timeout")]
    pub ready_timeout: String,
}

fn default_health_path() -> String {
    "/healthz".into()
}

fn default_ready_timeout() -> String {
    "20s".into()
}

impl Default for HealthCheck {
    fn default() -> Self {
        HealthCheck {
            path: default_health_path(),
            tcp: false,
            command: None,
            ready_timeout: default_ready_timeout(),
        }
    }
}

/// Put an artifact version of a service into an environment by a strategy, under guardrails.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RolloutSpec {
    pub service: String,
    pub environment: String,
    /// The Artifact resource to deploy.
    pub artifact: String,
    /// Instances of the new version.
    #[serde(default = "one")]
    pub instances: u32,
    /// Where the service's traffic router listens in this environment, e.g. `127.0.0.1:18080`.
    pub listen: String,
    pub strategy: Strategy,
    #[serde(default)]
    pub health_check: HealthCheck,
    /// Rollback criteria, e.g. `error_rate > 5% for 1s`; watched continuously.
    #[serde(default)]
    pub guardrails: Vec<String>,
    /// The change request this deployment implements (checked at the gate).
    #[serde(default)]
    pub change: Option<String>,
}

fn one() -> u32 {
    1
}

fn zero_pause() -> String {
    "0s".into()
}

impl SpecRules for RolloutSpec {
    fn rules(&self) -> Vec<Diagnostic> {
        let mut d = Vec::new();
        if self.instances == 0 || self.instances > 64 {
            d.push(Diagnostic::new(
                "spec.instances",
                format!("{} is outside 1..=64", self.instances),
            ));
        }
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            d.push(Diagnostic::new(
                "spec.listen",
                format!("{:?} is not an address like 127.0.0.1:18080", self.listen),
            ));
        }
        if let Strategy::Canary { steps, .. } = &self.strategy {
            if steps.is_empty() {
                d.push(Diagnostic::new(
                    "spec.strategy.canary.steps",
                    "must hold at least one step",
                ));
            }
            let mut last = 0;
            for (i, step) in steps.iter().enumerate() {
                if step.weight == 0 || step.weight > 100 || step.weight < last {
                    d.push(Diagnostic::new(
                        format!("spec.strategy.canary.steps[{i}].weight"),
                        format!(
                            "{} must be 1..=100 and not below the previous step's weight",
                            step.weight
                        ),
                    ));
                }
                last = step.weight;
                if let Err(e) = crate::guardrail::parse_duration_ms(&step.pause) {
                    d.push(Diagnostic::new(
                        format!("spec.strategy.canary.steps[{i}].pause"),
                        e,
                    ));
                }
            }
        }
        if let Strategy::BlueGreen {
            rollback_window,
            smoke_path,
        } = &self.strategy
        {
            if let Err(e) = crate::guardrail::parse_duration_ms(rollback_window) {
                d.push(Diagnostic::new("spec.strategy.blueGreen.rollbackWindow", e));
            }
            if smoke_path.as_ref().is_some_and(|p| !p.starts_with('/')) {
                d.push(Diagnostic::new(
                    "spec.strategy.blueGreen.smokePath",
                    "must start with /",
                ));
            }
        }
        if let Err(e) = crate::guardrail::parse_duration_ms(&self.health_check.ready_timeout) {
            d.push(Diagnostic::new("spec.healthCheck.readyTimeout", e));
        }
        for (i, g) in self.guardrails.iter().enumerate() {
            if let Err(e) = g.parse::<crate::guardrail::Guardrail>() {
                d.push(Diagnostic::new(format!("spec.guardrails[{i}]"), e));
            }
        }
        d
    }
}

/// A reusable path to production: ordered stages, one per environment, each with the strategy,
/// instances, guardrails and checks its deployments use.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PipelineSpec {
    pub stages: Vec<PipelineStage>,
    /// Variables for the stages' string fields (minijinja, e.g. `{{ soak }}`), per environment;
    /// those under `"*"` apply to every environment unless it sets its own.
    #[serde(default)]
    pub variables:
        std::collections::BTreeMap<String, std::collections::BTreeMap<String, serde_json::Value>>,
    /// Services deployed at once within a wave.
    #[serde(default = "four")]
    pub max_parallel: u32,
}

fn four() -> u32 {
    4
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PipelineStage {
    pub environment: String,
    pub strategy: Strategy,
    #[serde(default = "one")]
    pub instances: u32,
    #[serde(default)]
    pub guardrails: Vec<String>,
    /// Checks after every service of the stage is deployed, before the next stage.
    #[serde(default)]
    pub checks: Vec<StageCheck>,
}

/// A check between stages.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum StageCheck {
    /// Wait, e.g. `30s` (a soak).
    Wait(String),
    /// A request through a service's router in this stage's environment.
    #[serde(rename_all = "camelCase")]
    Http {
        service: String,
        path: String,
        #[serde(default = "ok_status")]
        expect_status: u16,
    },
    /// A command (a smoke test, a synthetic transaction), run with `SLIPWAY_ENVIRONMENT` and
    /// `SLIPWAY_ENDPOINT_<SERVICE>` set; exit 0 passes. Killed after `timeout` (default 60s).
    #[serde(rename_all = "camelCase")]
    Command {
        argv: Vec<String>,
        #[serde(default)]
        timeout: Option<String>,
    },
    /// A named promotion gate: the engine's gatekeeper is asked about every service of the
    /// release in the stage's environment; the step waits while it says wait.
    Gate(String),
}

fn ok_status() -> u16 {
    200
}

impl SpecRules for PipelineSpec {
    fn rules(&self) -> Vec<Diagnostic> {
        let mut d = Vec::new();
        if self.stages.is_empty() {
            d.push(Diagnostic::new(
                "spec.stages",
                "must hold at least one stage",
            ));
        }
        if self.max_parallel == 0 {
            d.push(Diagnostic::new("spec.maxParallel", "must be at least 1"));
        }
        for (i, stage) in self.stages.iter().enumerate() {
            for (j, g) in stage.guardrails.iter().enumerate() {
                // A template is checked once it is rendered, when the release runs.
                if crate::template::is_template(g) {
                    continue;
                }
                if let Err(e) = g.parse::<crate::guardrail::Guardrail>() {
                    d.push(Diagnostic::new(
                        format!("spec.stages[{i}].guardrails[{j}]"),
                        e,
                    ));
                }
            }
            for (j, check) in stage.checks.iter().enumerate() {
                if let StageCheck::Wait(w) = check
                    && !crate::template::is_template(w)
                    && let Err(e) = crate::guardrail::parse_duration_ms(w)
                {
                    d.push(Diagnostic::new(
                        format!("spec.stages[{i}].checks[{j}].wait"),
                        e,
                    ));
                }
            }
        }
        d
    }
}

/// One run of a pipeline for a set of builds: every stage in order, services in dependency
/// waves.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseSpec {
    pub pipeline: String,
    /// Artifact resources, one per service.
    #[serde(default)]
    pub artifacts: Vec<String>,
    /// Services to take out of every stage's environment after the deployments: dependants
    /// first (the reverse of the deploy order).
    #[serde(default)]
    pub remove: Vec<String>,
    /// The change request this release implements; each of its rollouts carries it to the gate.
    #[serde(default)]
    pub change: Option<String>,
}

impl SpecRules for ReleaseSpec {
    fn rules(&self) -> Vec<Diagnostic> {
        let mut d = duplicates("spec.artifacts", &self.artifacts);
        d.extend(duplicates("spec.remove", &self.remove));
        if self.artifacts.is_empty() && self.remove.is_empty() {
            d.push(Diagnostic::new(
                "spec.artifacts",
                "a release must deploy or remove at least one service",
            ));
        }
        d
    }
}
