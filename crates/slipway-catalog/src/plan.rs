//! The planned mapping from a Backstage catalog to Slipway documents
//! (`apiVersion: slipway.dev/v1alpha1`): Groups become Teams, Users Users, deployable
//! Components Services, APIs `Api` documents (owner, lifecycle, the specification's content
//! digest, providers and consumers). Systems, Domains, Resources, Locations and library
//! Components have no Slipway kind and are reported as skipped with the reason. The documents
//! are plain JSON values so the import can apply them as they are.

use crate::entity::{Definition, Entity, EntityId, Kind, Source, Spec};
use crate::model::{Catalog, RelationKind};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use slipway_spec::Diagnostic;
use std::collections::{BTreeMap, BTreeSet};

/// The annotation that ties a Slipway document to the entity it came from.
pub const ENTITY_ANNOTATION: &str = "slipway.dev/backstage-entity";
/// The annotation that sets a Service's tier (`critical`, `high`, `medium`, `low`).
pub const TIER_ANNOTATION: &str = "slipway.dev/tier";

/// One document to apply.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedDocument {
    pub kind: &'static str,
    pub name: String,
    pub document: Value,
    pub from: EntityId,
    pub source: Source,
    /// Decisions the mapping made that a person may want to know (a defaulted tier, an owner
    /// that is a person mapped to their team, a dependency that has no Slipway counterpart).
    pub notes: Vec<String>,
}

/// An entity the plan does not turn into a document, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub entity: EntityId,
    pub source: Source,
    pub reason: String,
}

/// A specification's content, stored once under its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpecificationContent {
    /// `openapi`, `asyncapi`, `graphql`, `grpc`, `trpc`, ...
    pub api_type: String,
    pub text: String,
}

/// The typed shape of an `Api` document's spec, for the kind the wiring will register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiSpec {
    /// The owning team.
    pub owner: String,
    /// `experimental`, `production`, `deprecated`, ...
    pub lifecycle: String,
    #[serde(rename = "type")]
    pub api_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    pub specification: Specification,
    /// Services that serve the API.
    #[serde(default)]
    pub providers: Vec<String>,
    /// Services that call it.
    #[serde(default)]
    pub consumers: Vec<String>,
}

/// Where an API's specification is and which content it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Specification {
    /// `sha256:<hex>` of the content (of its canonical JSON when it is JSON or YAML), absent
    /// when the content was not available (a URL that was not fetched).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// `info.version` of an OpenAPI or AsyncAPI document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The URL the content comes from, when it is not in the catalog.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// What the catalog maps to.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    pub documents: Vec<PlannedDocument>,
    pub skipped: Vec<Skipped>,
    /// Problems that make the import apply nothing.
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
    /// Specification contents by digest.
    pub specifications: BTreeMap<String, SpecificationContent>,
}

/// A Slipway name for an entity: lower case, `.` and `_` as `-`, the namespace in front when
/// it is not `default`. `None` when no valid name results (it must start with a letter).
pub fn slipway_name(id: &EntityId) -> Option<String> {
    let raw = if id.namespace == "default" {
        id.name.clone()
    } else {
        format!("{}-{}", id.namespace, id.name)
    };
    let name: String = raw
        .chars()
        .map(|c| {
            if c == '.' || c == '_' {
                '-'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    let valid = name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    valid.then_some(name)
}

/// Maps a catalog. `definitions` holds the text of `$text`/`$json`/`$yaml` placeholders that
/// name files, keyed by the path the placeholder resolves to (see [`placeholder_path`]); URLs
/// are not fetched and are kept as the specification's location.
pub fn plan(catalog: &Catalog, definitions: &BTreeMap<String, String>) -> Plan {
    let mut planner = Planner {
        catalog,
        plan: Plan::default(),
        names: BTreeMap::new(),
    };
    planner.assign_names();
    for entity in catalog.entities.values() {
        match entity.id.kind {
            Kind::Group => planner.team(entity),
            Kind::User => planner.user(entity),
            Kind::Component => planner.service(entity),
            Kind::Api => planner.api(entity, definitions),
            Kind::System | Kind::Domain => planner.skip(entity, "Slipway has no System or Domain kind; services keep it in an annotation"),
            Kind::Resource => planner.skip(entity, "Slipway has no Resource kind; dependencies on it are left out of the services' dependsOn"),
            Kind::Location => planner.skip(entity, "a Location only lists files to read"),
            Kind::AiResource => planner.skip(entity, "Slipway has no AiResource kind"),
        }
    }
    planner
        .plan
        .documents
        .sort_by(|a, b| (kind_order(a.kind), &a.name).cmp(&(kind_order(b.kind), &b.name)));
    planner.plan
}

/// Teams first, then users, services and APIs: the order references need.
fn kind_order(kind: &str) -> u8 {
    match kind {
        "Team" => 0,
        "User" => 1,
        "Service" => 2,
        _ => 3,
    }
}

/// The path a placeholder names, relative to the entity's file; `None` for URLs.
pub fn placeholder_path(entity: &Entity, target: &str) -> Option<String> {
    if target.contains("://") {
        return None;
    }
    let location = Entity {
        spec: Spec::Location {
            targets: vec![target.to_owned()],
        },
        ..entity.clone()
    };
    crate::model::location_targets(&location).into_iter().next()
}

struct Planner<'c> {
    catalog: &'c Catalog,
    plan: Plan,
    /// The Slipway name of each mapped entity.
    names: BTreeMap<EntityId, String>,
}

impl Planner<'_> {
    fn error(&mut self, entity: &Entity, path: &str, message: String) {
        self.plan
            .errors
            .push(Diagnostic::new(path, message).with_source(&entity.source.to_string()));
    }

    fn skip(&mut self, entity: &Entity, reason: &str) {
        self.plan.skipped.push(Skipped {
            entity: entity.id.clone(),
            source: entity.source.clone(),
            reason: reason.to_owned(),
        });
    }

    /// Names every entity that becomes a document, refusing names that do not fit or collide.
    fn assign_names(&mut self) {
        let mut taken: BTreeMap<(&'static str, String), EntityId> = BTreeMap::new();
        for entity in self.catalog.entities.values() {
            let kind = match entity.id.kind {
                Kind::Group => "Team",
                Kind::User => "User",
                Kind::Component => "Service",
                Kind::Api => "Api",
                _ => continue,
            };
            let Some(name) = slipway_name(&entity.id) else {
                self.error(
                    entity,
                    "metadata.name",
                    format!(
                        "{:?} cannot be a Slipway name (it must start with a letter)",
                        entity.id.name
                    ),
                );
                continue;
            };
            if let Some(other) = taken.get(&(kind, name.clone())) {
                let other = other.clone();
                self.error(
                    entity,
                    "metadata.name",
                    format!("{} and {other} would both become {kind} {name}", entity.id),
                );
                continue;
            }
            taken.insert((kind, name.clone()), entity.id.clone());
            self.names.insert(entity.id.clone(), name);
        }
    }

    fn name_of(&self, id: &EntityId) -> Option<String> {
        self.names.get(id).cloned()
    }

    fn metadata(&self, entity: &Entity, name: &str) -> Value {
        json!({"name": name, "annotations": {ENTITY_ANNOTATION: entity.id.to_string()}})
    }

    fn push(
        &mut self,
        entity: &Entity,
        kind: &'static str,
        name: String,
        spec: Value,
        notes: Vec<String>,
    ) {
        let mut metadata = self.metadata(entity, &name);
        if let (Some(system), Value::Object(m)) = (self.system_of(entity), &mut metadata)
            && let Some(Value::Object(annotations)) = m.get_mut("annotations")
        {
            annotations.insert("slipway.dev/system".to_owned(), Value::String(system));
        }
        let document = json!({"apiVersion": "slipway.dev/v1alpha1", "kind": kind, "metadata": metadata, "spec": spec});
        self.plan.documents.push(PlannedDocument {
            kind,
            name,
            document,
            from: entity.id.clone(),
            source: entity.source.clone(),
            notes,
        });
    }

    fn system_of(&self, entity: &Entity) -> Option<String> {
        if !matches!(entity.id.kind, Kind::Component | Kind::Api) {
            return None;
        }
        self.catalog
            .targets(&entity.id, RelationKind::PartOf)
            .find(|t| t.kind == Kind::System)
            .map(|t| t.name.clone())
    }

    /// The team that owns an entity: its owner Group, or the first team of its owner User.
    /// The Slipway name and owning team of an owned entity (Component, API),
    /// with notes on how the owner was found; skips the entity when its
    /// owner is not a team of this catalog.
    fn owned_name(&mut self, entity: &Entity) -> Option<(String, String, Vec<String>)> {
        let name = self.name_of(&entity.id)?;
        let mut notes = Vec::new();
        let Some(owner) = self.owning_team(entity, &mut notes) else {
            self.skip(
                entity,
                "its owner is not a team, nor a person in a team, of this catalog",
            );
            return None;
        };
        Some((name, owner, notes))
    }

    fn owning_team(&self, entity: &Entity, notes: &mut Vec<String>) -> Option<String> {
        let owner = self
            .catalog
            .targets(&entity.id, RelationKind::OwnedBy)
            .next()?;
        match owner.kind {
            Kind::Group => self.name_of(owner),
            Kind::User => {
                let team = self
                    .catalog
                    .targets(owner, RelationKind::MemberOf)
                    .next()
                    .and_then(|g| self.name_of(g))?;
                notes.push(format!(
                    "owner {owner} is a person; owned by their team {team}"
                ));
                Some(team)
            }
            _ => None,
        }
    }

    fn team(&mut self, entity: &Entity) {
        let Spec::Group {
            display_name,
            email,
            ..
        } = &entity.spec
        else {
            return;
        };
        let Some(name) = self.name_of(&entity.id) else {
            return;
        };
        let mut spec = profile_spec(entity, display_name, email);
        if let Some(parent) = self
            .catalog
            .targets(&entity.id, RelationKind::ChildOf)
            .next()
            .and_then(|p| self.name_of(p))
        {
            spec.insert("parent".into(), Value::String(parent));
        }
        self.push(entity, "Team", name, Value::Object(spec), Vec::new());
    }

    fn user(&mut self, entity: &Entity) {
        let Spec::User {
            display_name,
            email,
            ..
        } = &entity.spec
        else {
            return;
        };
        let Some(name) = self.name_of(&entity.id) else {
            return;
        };
        let mut teams: Vec<String> = self
            .catalog
            .targets(&entity.id, RelationKind::MemberOf)
            .filter_map(|g| self.name_of(g))
            .collect();
        // a Group may list its members instead
        for group in self.catalog.entities.values() {
            if let Spec::Group { members, .. } = &group.spec
                && members.iter().any(|m| {
                    crate::model::parse_reference(&m.text, Some(Kind::User), &group.id.namespace)
                        .ok()
                        .as_ref()
                        == Some(&entity.id)
                })
                && let Some(team) = self.name_of(&group.id)
                && !teams.contains(&team)
            {
                teams.push(team);
            }
        }
        let mut spec = profile_spec(entity, display_name, email);
        spec.insert("teams".into(), json!(teams));
        self.push(entity, "User", name, Value::Object(spec), Vec::new());
    }

    fn service(&mut self, entity: &Entity) {
        let Spec::Component {
            component_type,
            lifecycle,
            ..
        } = &entity.spec
        else {
            return;
        };
        if component_type == "library" {
            self.skip(entity, "a library component is not deployed on its own");
            return;
        }
        let Some((name, owner, mut notes)) = self.owned_name(entity) else {
            return;
        };
        let tier = match entity.annotations.get(TIER_ANNOTATION).map(String::as_str) {
            Some(tier @ ("critical" | "high" | "medium" | "low")) => tier.to_owned(),
            Some(other) => {
                self.error(
                    entity,
                    &format!("metadata.annotations.{TIER_ANNOTATION}"),
                    format!("{other:?} is not a tier (critical, high, medium, low)"),
                );
                return;
            }
            None => {
                let tier = match lifecycle.as_str() {
                    "production" => "high",
                    "experimental" | "deprecated" => "low",
                    _ => "medium",
                };
                notes.push(format!(
                    "tier {tier} from lifecycle {lifecycle} (set {TIER_ANNOTATION} to choose)"
                ));
                tier.to_owned()
            }
        };
        let mut depends_on = Vec::new();
        for target in self.catalog.targets(&entity.id, RelationKind::DependsOn) {
            match (target.kind, self.name_of(target)) {
                (Kind::Component, Some(service)) if self.is_service(target) => {
                    depends_on.push(service)
                }
                _ => notes.push(format!("dependency on {target} has no Slipway service")),
            }
        }
        let apis = |kind: RelationKind| -> Vec<String> {
            self.catalog
                .targets(&entity.id, kind)
                .filter_map(|a| self.name_of(a))
                .collect()
        };
        let mut spec = Map::new();
        spec.insert("owner".into(), Value::String(owner));
        if let Some(description) = &entity.description {
            spec.insert("description".into(), Value::String(description.clone()));
        }
        spec.insert("tier".into(), Value::String(tier));
        spec.insert("dependsOn".into(), json!(depends_on));
        spec.insert(
            "providesApis".into(),
            json!(apis(RelationKind::ProvidesApi)),
        );
        spec.insert(
            "consumesApis".into(),
            json!(apis(RelationKind::ConsumesApi)),
        );
        self.push(entity, "Service", name, Value::Object(spec), notes);
    }

    fn is_service(&self, id: &EntityId) -> bool {
        matches!(self.catalog.entities.get(id).map(|e| &e.spec), Some(Spec::Component { component_type, .. }) if component_type != "library")
    }

    fn api(&mut self, entity: &Entity, definitions: &BTreeMap<String, String>) {
        let Spec::Api {
            api_type,
            lifecycle,
            definition,
            ..
        } = &entity.spec
        else {
            return;
        };
        let Some((name, owner, mut notes)) = self.owned_name(entity) else {
            return;
        };
        let text = match definition {
            Definition::Text(text) => Some(text.clone()),
            Definition::Inline(value) => {
                Some(serde_json::to_string_pretty(value).unwrap_or_default())
            }
            Definition::Remotes(remotes) => {
                Some(serde_json::to_string_pretty(remotes).unwrap_or_default())
            }
            Definition::Placeholder { target, .. } => match placeholder_path(entity, target) {
                None => None,
                Some(path) => match definitions.get(&path) {
                    Some(text) => Some(text.clone()),
                    None => {
                        self.error(
                            entity,
                            "spec.definition",
                            format!("{target} ({path}) was not found"),
                        );
                        return;
                    }
                },
            },
        };
        let location = match definition {
            Definition::Placeholder { target, .. } if target.contains("://") => {
                notes.push(format!(
                    "specification at {target} is not fetched; no digest"
                ));
                Some(target.clone())
            }
            _ => None,
        };
        let (digest, version) = match &text {
            Some(text) => match self.content(entity, api_type, text) {
                Ok(found) => found,
                Err(reason) => {
                    self.error(entity, "spec.definition", reason);
                    return;
                }
            },
            None => (None, None),
        };
        if let (Some(digest), Some(text)) = (&digest, &text) {
            self.plan.specifications.insert(
                digest.clone(),
                SpecificationContent {
                    api_type: api_type.clone(),
                    text: text.clone(),
                },
            );
        }
        let services = |kind: RelationKind| -> Vec<String> {
            let mut names: BTreeSet<String> = BTreeSet::new();
            for source in self.catalog.sources(&entity.id, kind) {
                if self.is_service(source)
                    && let Some(name) = self.name_of(source)
                {
                    names.insert(name);
                }
            }
            names.into_iter().collect()
        };
        let spec = ApiSpec {
            owner,
            lifecycle: lifecycle.clone(),
            api_type: api_type.clone(),
            description: entity.description.clone(),
            system: self.system_of(entity),
            specification: Specification {
                digest,
                version,
                location,
            },
            providers: services(RelationKind::ProvidesApi),
            consumers: services(RelationKind::ConsumesApi),
        };
        let spec = serde_json::to_value(&spec).unwrap_or(Value::Null);
        self.push(entity, "Api", name, spec, notes);
    }

    /// The digest (of the canonical JSON for OpenAPI and AsyncAPI, of the text otherwise)
    /// and the version; an `openapi` definition must be an OpenAPI 3.0/3.1 document.
    fn content(
        &self,
        entity: &Entity,
        api_type: &str,
        text: &str,
    ) -> Result<(Option<String>, Option<String>), String> {
        match api_type {
            "openapi" => {
                let document = slipway_apidiff::OpenApi::parse(&entity.source.to_string(), text)
                    .map_err(|e| {
                        format!(
                            "is not a usable OpenAPI document: {}: {}",
                            e.field, e.reason
                        )
                    })?;
                Ok((
                    Some(slipway_spec::canonical::value_digest(document.root())),
                    version_of(document.root()),
                ))
            }
            "asyncapi" => {
                let value = slipway_yaml::parse_one(text)
                    .map_err(|e| format!("is not a YAML or JSON document: {}", e.reason))?;
                Ok((
                    Some(slipway_spec::canonical::value_digest(&value)),
                    version_of(&value),
                ))
            }
            _ => Ok((
                Some(slipway_spec::canonical::sha256_digest(text.as_bytes())),
                None,
            )),
        }
    }
}

fn version_of(document: &Value) -> Option<String> {
    document
        .get("info")?
        .get("version")?
        .as_str()
        .map(str::to_owned)
}

/// What applying a plan would do, given the documents Slipway holds now (by kind and name).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
    pub skipped: Vec<String>,
}

/// Compares planned documents with `existing` ones by their declared content (labels,
/// annotations, spec): new names are created, different content updated, the rest unchanged.
pub fn reconcile(plan: &Plan, existing: &BTreeMap<(String, String), Value>) -> ImportReport {
    let declared = |document: &Value| -> Value {
        json!({
            "labels": document.pointer("/metadata/labels").cloned().unwrap_or(json!({})),
            "annotations": document.pointer("/metadata/annotations").cloned().unwrap_or(json!({})),
            "spec": document.get("spec").cloned().unwrap_or(Value::Null),
        })
    };
    let mut report = ImportReport::default();
    for planned in &plan.documents {
        let label = format!("{} {}", planned.kind, planned.name);
        match existing.get(&(planned.kind.to_owned(), planned.name.clone())) {
            None => report.created.push(label),
            Some(current)
                if slipway_spec::canonical::value_digest(&declared(current))
                    == slipway_spec::canonical::value_digest(&declared(&planned.document)) =>
            {
                report.unchanged.push(label)
            }
            Some(_) => report.updated.push(label),
        }
    }
    report.skipped = plan
        .skipped
        .iter()
        .map(|s| format!("{} ({})", s.entity, s.reason))
        .collect();
    report
}

/// The `displayName` (the profile's, else the entity's title) and `email` of a Team or User.
fn profile_spec(
    entity: &Entity,
    display_name: &Option<String>,
    email: &Option<String>,
) -> Map<String, Value> {
    let mut spec = Map::new();
    if let Some(display) = display_name.clone().or_else(|| entity.title.clone()) {
        spec.insert("displayName".into(), Value::String(display));
    }
    if let Some(email) = email {
        spec.insert("email".into(), Value::String(email.clone()));
    }
    spec
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::parse_file;

    fn catalog(text: &str) -> Catalog {
        let (entities, diagnostics) = parse_file("catalog.yaml", text);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let built = Catalog::build(entities);
        assert!(built.errors.is_empty(), "{:?}", built.errors);
        built.catalog
    }

    const CATALOG: &str = "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: team-a}\nspec: {type: team, children: [], profile: {displayName: Team A}}\n---\napiVersion: backstage.io/v1alpha1\nkind: User\nmetadata: {name: jane.doe}\nspec: {memberOf: [team-a]}\n---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: web}\nspec: {type: website, lifecycle: production, owner: user:jane.doe, dependsOn: [component:api, resource:db], consumesApis: [orders]}\n---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: api, annotations: {slipway.dev/tier: critical}}\nspec: {type: service, lifecycle: production, owner: team-a, providesApis: [orders]}\n---\napiVersion: backstage.io/v1alpha1\nkind: Resource\nmetadata: {name: db}\nspec: {type: database, owner: team-a}\n---\napiVersion: backstage.io/v1alpha1\nkind: API\nmetadata: {name: orders}\nspec:\n  type: openapi\n  lifecycle: production\n  owner: team-a\n  definition: |\n    openapi: 3.0.0\n    info: {title: orders, version: 2.1.0}\n    paths: {}\n";

    #[test]
    fn catalog_maps_to_slipway_documents() {
        let plan = plan(&catalog(CATALOG), &BTreeMap::new());
        assert!(plan.errors.is_empty(), "{:?}", plan.errors);
        let names: Vec<String> = plan
            .documents
            .iter()
            .map(|d| format!("{} {}", d.kind, d.name))
            .collect();
        assert_eq!(
            names,
            vec![
                "Team team-a",
                "User jane-doe",
                "Service api",
                "Service web",
                "Api orders"
            ]
        );
        let web = &plan.documents[3];
        assert_eq!(web.document["spec"]["owner"], "team-a");
        assert_eq!(web.document["spec"]["tier"], "high");
        assert_eq!(web.document["spec"]["dependsOn"], json!(["api"]));
        assert!(
            web.notes
                .iter()
                .any(|n| n.contains("resource:default/db has no Slipway service")),
            "{:?}",
            web.notes
        );
        assert_eq!(plan.documents[2].document["spec"]["tier"], "critical");
        let api: ApiSpec =
            serde_json::from_value(plan.documents[4].document["spec"].clone()).unwrap();
        assert_eq!(api.providers, vec!["api"]);
        assert_eq!(api.consumers, vec!["web"]);
        assert_eq!(api.specification.version.as_deref(), Some("2.1.0"));
        let digest = api.specification.digest.unwrap();
        assert!(plan.specifications.contains_key(&digest));
        assert_eq!(
            plan.documents[1].document["spec"]["teams"],
            json!(["team-a"])
        );
        assert_eq!(plan.skipped.len(), 1);
    }

    #[test]
    fn bad_definitions_and_names_are_errors() {
        let text = CATALOG.replace("openapi: 3.0.0", "swagger: '2.0'");
        let plan = plan(&catalog(&text), &BTreeMap::new());
        let errors: Vec<String> = plan.errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            errors,
            vec![
                "catalog.yaml#6: spec.definition: is not a usable OpenAPI document: $.swagger: Swagger 2.0 is not supported (OpenAPI 3.0 or 3.1 only)"
            ]
        );
        let clash = catalog(
            "apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata: {name: a.b}\nspec: {memberOf: []}\n---\napiVersion: backstage.io/v1alpha1\nkind: User\nmetadata: {name: a_b}\nspec: {memberOf: []}\n---\napiVersion: backstage.io/v1alpha1\nkind: User\nmetadata: {name: 9lives}\nspec: {memberOf: []}\n",
        );
        let errors: Vec<String> = super::plan(&clash, &BTreeMap::new())
            .errors
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(
            errors
                .iter()
                .any(|e| e.contains("would both become User a-b")),
            "{errors:?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.contains("\"9lives\" cannot be a Slipway name")),
            "{errors:?}"
        );
    }

    #[test]
    fn reconcile_reports_created_updated_unchanged() {
        let plan = plan(&catalog(CATALOG), &BTreeMap::new());
        let mut existing = BTreeMap::new();
        existing.insert(
            ("Team".to_owned(), "team-a".to_owned()),
            plan.documents[0].document.clone(),
        );
        let mut changed = plan.documents[1].document.clone();
        changed["spec"]["teams"] = json!([]);
        existing.insert(("User".to_owned(), "jane-doe".to_owned()), changed);
        let report = reconcile(&plan, &existing);
        assert_eq!(report.unchanged, vec!["Team team-a"]);
        assert_eq!(report.updated, vec!["User jane-doe"]);
        assert_eq!(
            report.created,
            vec!["Service api", "Service web", "Api orders"]
        );
        assert_eq!(report.skipped.len(), 1);
    }
}
