//! The service catalog's pure core. Backstage `catalog-info.yaml` documents are read into
//! entities ([`parse_file`]) with diagnostics naming file, document, field and reason; the
//! entities form a [`Catalog`] whose references are resolved into relations; [`plan`] maps it
//! to Slipway documents (Team, User, Service, Api) and [`reconcile`] says what applying them
//! would create, update or leave alone; [`DependencyGraph`] answers impact questions over
//! declared and observed dependencies.
//!
//! Pure: files are read, and placeholders' files fetched, by the caller.

pub mod entity;
pub mod impact;
pub mod model;
pub mod plan;

pub use entity::{Definition, Entity, EntityId, Kind, Reference, Source, Spec, parse_file};
pub use impact::{Dependency, DependencyGraph, ImpactSet, Impacted, Origin, ServiceFacts};
pub use model::{Built, Catalog, Relation, RelationKind, location_targets, parse_reference};
pub use plan::{
    ApiSpec, ImportReport, Plan, PlannedDocument, Skipped, Specification, placeholder_path, plan,
    reconcile, slipway_name,
};

/// The dependencies a plan declares between Slipway services: each service's `dependsOn`, and
/// a consumer of an API depending on the API's providers.
pub fn declared_dependencies(plan: &Plan) -> Vec<Dependency> {
    let strings = |value: &serde_json::Value| -> Vec<String> {
        value
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for document in &plan.documents {
        let spec = &document.document["spec"];
        match document.kind {
            "Service" => {
                for to in strings(&spec["dependsOn"]) {
                    out.push(Dependency {
                        from: document.name.clone(),
                        to,
                        origin: Origin::Declared,
                    });
                }
            }
            "Api" => {
                for consumer in strings(&spec["consumers"]) {
                    for provider in strings(&spec["providers"]) {
                        out.push(Dependency {
                            from: consumer.clone(),
                            to: provider,
                            origin: Origin::Declared,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Owner and tier of each planned service.
pub fn service_facts(plan: &Plan) -> Vec<ServiceFacts> {
    plan.documents
        .iter()
        .filter(|d| d.kind == "Service")
        .map(|d| ServiceFacts {
            name: d.name.clone(),
            owner: d.document["spec"]["owner"].as_str().map(str::to_owned),
            tier: d.document["spec"]["tier"].as_str().map(str::to_owned),
        })
        .collect()
}
