//! Resource writes as every client makes them: a batch of documents is parsed (every problem
//! named with the document's source), checked against itself and the store (references that
//! must resolve, no cycle in services' dependencies or the team hierarchy), applied in one audited transaction, and answered
//! with what changed field by field. A new spec for a finished run (a Rollout or Release that
//! has ended) clears its status so the engine runs it again.
//!
//! Authorization is the caller's: [`Batch::permissions`] says what each document needs (verb,
//! kind, environments), the API checks it between [`Batch::parse`] and [`Batch::apply`]; the
//! supply-chain service, whose handlers authorize before calling it, applies directly.
#![forbid(unsafe_code)]

use serde::{Deserialize, Serialize};
use slipway_domain::diagnostic::Diagnostic;
use slipway_domain::diff::{FieldChange, diff_values};
use slipway_domain::kinds::{self, Kind, KindDef, Service, Team, Verb};
use slipway_domain::references::{
    check_batch, find_dependency_cycle, service_dependencies, team_parents,
};
use slipway_domain::resource::{Resource, parse_document};
use slipway_store::{Actor, AppliedAction, Mutation, Store, StoreError};
use std::collections::{BTreeMap, BTreeSet};

/// One document of a batch, with where it came from (for error messages).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApplyDocument {
    /// E.g. `examples/services.yaml#2`; named in every diagnostic about this document.
    #[serde(default)]
    pub source: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub document: serde_json::Value,
}

/// What happened to one document.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ApplyResult {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub kind: String,
    pub name: String,
    /// created, updated, unchanged or deleted.
    pub action: String,
    pub revision: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub changes: Vec<FieldChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_seq: Option<u64>,
}

impl ApplyResult {
    /// The result of a store mutation with its field changes.
    pub fn new(
        source: Option<String>,
        applied: slipway_store::Applied,
        changes: Vec<FieldChange>,
    ) -> Self {
        ApplyResult {
            source,
            kind: applied.kind,
            name: applied.name,
            action: action_name(applied.action).into(),
            revision: applied.revision,
            changes,
            audit_seq: applied.audit_seq,
        }
    }
}

/// Why a batch was not applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// A document, or the batch as a whole, is refused; `details` name source, field and reason.
    #[error("{message}")]
    Invalid {
        message: String,
        details: Vec<Diagnostic>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What one document of a batch needs to be allowed.
#[derive(Debug, Clone)]
pub struct Permission {
    /// The document's source, to prefix a refusal with.
    pub source: String,
    pub kind: &'static KindDef,
    /// `Create` for a new resource, `Update` for an existing one.
    pub verb: Verb,
    /// Every environment the write touches: where the resource is going and, for an update,
    /// where it is now (or a user limited to staging could move a production resource into
    /// staging). `None` for kinds outside environments.
    pub environments: Vec<Option<String>>,
}

/// A parsed batch: every document valid on its own, no (kind, name) twice.
#[derive(Debug)]
pub struct Batch {
    sources: Vec<String>,
    parsed: Vec<Resource>,
    existing: BTreeSet<(String, String)>,
}

impl Batch {
    /// Parses every document; all problems of all documents are reported at once.
    pub async fn parse(
        store: &dyn Store,
        documents: &[ApplyDocument],
    ) -> Result<Batch, ApplyError> {
        if documents.is_empty() {
            return Err(ApplyError::Invalid {
                message: "the batch holds no documents".into(),
                details: Vec::new(),
            });
        }
        let sources: Vec<String> = documents.iter().enumerate().map(source_of).collect();
        let mut diags: Vec<Diagnostic> = Vec::new();
        let mut parsed: Vec<Resource> = Vec::new();
        let mut seen = BTreeMap::new();
        for (doc, source) in documents.iter().zip(&sources) {
            match parse_document(&doc.document) {
                Ok(r) => {
                    if let Some(first) =
                        seen.insert((r.kind.clone(), r.metadata.name.clone()), source.clone())
                    {
                        diags.push(
                            Diagnostic::new(
                                "metadata.name",
                                format!(
                                    "{} {} is also defined in {first}",
                                    r.kind, r.metadata.name
                                ),
                            )
                            .with_source(source),
                        );
                    }
                    parsed.push(r);
                }
                Err(d) => diags.extend(d.into_iter().map(|d| d.with_source(source))),
            }
        }
        if !diags.is_empty() {
            return Err(invalid_batch(diags));
        }
        Ok(Batch {
            sources,
            parsed,
            existing: store.keys().await?,
        })
    }

    /// What each document needs to be allowed, in the batch's order.
    pub async fn permissions(&self, store: &dyn Store) -> Result<Vec<Permission>, ApplyError> {
        let mut permissions = Vec::new();
        for (r, source) in self.parsed.iter().zip(&self.sources) {
            let Some(def) = kinds::lookup_exact(&r.kind) else {
                return Err(
                    StoreError::Corrupt(format!("parsed kind {} is unregistered", r.kind)).into(),
                );
            };
            let verb = if self
                .existing
                .contains(&(r.kind.clone(), r.metadata.name.clone()))
            {
                Verb::Update
            } else {
                Verb::Create
            };
            let mut environments = vec![(def.environment_of)(&r.metadata.name, &r.spec)];
            if verb == Verb::Update
                && let Some(stored) = store.get(&r.kind, &r.metadata.name).await?
            {
                let was = (def.environment_of)(&r.metadata.name, &stored.spec);
                if !environments.contains(&was) {
                    environments.push(was);
                }
            }
            permissions.push(Permission {
                source: source.clone(),
                kind: def,
                verb,
                environments,
            });
        }
        Ok(permissions)
    }

    /// Checks the batch against the store (references, dependency cycles) and applies it as
    /// `actor` in one audited transaction (or says what would change, with `dry_run`).
    pub async fn apply(
        self,
        store: &dyn Store,
        actor: &Actor,
        dry_run: bool,
    ) -> Result<Vec<ApplyResult>, ApplyError> {
        let mut diags: Vec<Diagnostic> = check_batch(&self.parsed, &self.existing)
            .into_iter()
            .map(|(i, d)| {
                let source = self.sources.get(i).cloned().unwrap_or_default();
                d.with_source(&source)
            })
            .collect();
        diags.extend(self.cycles(store).await?);
        if !diags.is_empty() {
            return Err(invalid_batch(diags));
        }
        let new_contents: Vec<serde_json::Value> =
            self.parsed.iter().map(Resource::declared_content).collect();
        let applied = store
            .apply(
                actor,
                self.parsed.into_iter().map(Mutation::Put).collect(),
                dry_run,
            )
            .await?;
        let results: Vec<ApplyResult> = applied
            .into_iter()
            .zip(new_contents)
            .zip(self.sources)
            .map(|((a, after), source)| {
                let changes = match &a.before {
                    Some(before) => diff_values(before, &after),
                    None => Vec::new(),
                };
                ApplyResult::new(Some(source), a, changes)
            })
            .collect();
        if !dry_run {
            restart_finished_runs(store, &results).await?;
        }
        Ok(results)
    }

    /// The cycles the batch would close with the stored resources in a graph that must stay
    /// acyclic, each named at the document of its first member.
    async fn cycles(&self, store: &dyn Store) -> Result<Vec<Diagnostic>, StoreError> {
        let mut found = Vec::new();
        for graph in ACYCLIC {
            if !self.parsed.iter().any(|r| r.kind == graph.kind) {
                continue;
            }
            let mut all: BTreeMap<String, Resource> = store
                .list(graph.kind)
                .await?
                .into_iter()
                .map(|r| (r.metadata.name.clone(), r))
                .collect();
            for r in self.parsed.iter().filter(|r| r.kind == graph.kind) {
                all.insert(r.metadata.name.clone(), r.clone());
            }
            let Some(cycle) = find_dependency_cycle(&(graph.edges)(all.values().collect())) else {
                continue;
            };
            let first = cycle.first().cloned().unwrap_or_default();
            let source = self
                .parsed
                .iter()
                .position(|r| r.kind == graph.kind && r.metadata.name == first)
                .and_then(|i| self.sources.get(i).cloned())
                .unwrap_or_default();
            found.push(
                Diagnostic::new(
                    graph.field,
                    format!("{}: {}", graph.what, cycle.join(" → ")),
                )
                .with_source(&source),
            );
        }
        Ok(found)
    }
}

/// A graph among resources of one kind that a batch must leave without a cycle.
struct AcyclicGraph {
    kind: &'static str,
    /// The field whose references make the edges.
    field: &'static str,
    /// What a cycle means, for the diagnostic.
    what: &'static str,
    edges: fn(Vec<&Resource>) -> BTreeMap<String, Vec<String>>,
}

/// Services' dependencies and the team hierarchy.
const ACYCLIC: &[AcyclicGraph] = &[
    AcyclicGraph {
        kind: Service::KIND,
        field: "spec.dependsOn",
        what: "services depend on each other in a cycle",
        edges: |all| service_dependencies(all),
    },
    AcyclicGraph {
        kind: Team::KIND,
        field: "spec.parent",
        what: "teams are each other's parents in a cycle",
        edges: |all| team_parents(all),
    },
];

/// Parses and applies a batch the caller has already authorized.
pub async fn apply_authorized(
    store: &dyn Store,
    actor: &Actor,
    documents: &[ApplyDocument],
    dry_run: bool,
) -> Result<Vec<ApplyResult>, ApplyError> {
    Batch::parse(store, documents)
        .await?
        .apply(store, actor, dry_run)
        .await
}

fn source_of((i, doc): (usize, &ApplyDocument)) -> String {
    doc.source
        .clone()
        .unwrap_or_else(|| format!("document {i}"))
}

/// A new spec for a finished run (a Rollout or Release that has ended) asks for a new run:
/// its status is cleared so the engine takes it up again. A run in progress keeps its status.
async fn restart_finished_runs(
    store: &dyn Store,
    results: &[ApplyResult],
) -> Result<(), StoreError> {
    for r in results.iter().filter(|r| r.action == "updated") {
        let Some(finished) = kinds::lookup_exact(&r.kind).and_then(|k| k.run_finished) else {
            continue;
        };
        if !r.changes.iter().any(|c| c.path.starts_with("spec")) {
            continue;
        }
        let status = store.get(&r.kind, &r.name).await?.and_then(|x| x.status);
        if status.as_ref().is_some_and(finished) {
            store
                .set_status(&r.kind, &r.name, &serde_json::Value::Null)
                .await?;
        }
    }
    Ok(())
}

fn invalid_batch(diags: Vec<Diagnostic>) -> ApplyError {
    let first = diags.first().map(|d| d.to_string()).unwrap_or_default();
    let more = if diags.len() > 1 {
        format!(" (and {} more)", diags.len() - 1)
    } else {
        String::new()
    };
    ApplyError::Invalid {
        message: format!("nothing was applied: {first}{more}"),
        details: diags,
    }
}

/// The word an API answer uses for what a mutation did.
pub fn action_name(a: AppliedAction) -> &'static str {
    match a {
        AppliedAction::Created => "created",
        AppliedAction::Updated => "updated",
        AppliedAction::Unchanged => "unchanged",
        AppliedAction::Deleted => "deleted",
    }
}
