//! The neutral catalog model: entities indexed by identity and their references resolved into
//! relations (`ownedBy`, `partOf`, `providesApi`, `consumesApi`, `dependsOn`, `childOf`,
//! `memberOf`), each checked against what the catalog holds.

use crate::entity::{Entity, EntityId, Kind, Reference, Spec};
use serde::Serialize;
use slipway_spec::Diagnostic;
use std::collections::BTreeMap;

/// A relation between two entities, named from the source's point of view (Backstage keeps
/// the inverse too: `ownerOf`, `hasPart`, `apiProvidedBy`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RelationKind {
    OwnedBy,
    PartOf,
    ProvidesApi,
    ConsumesApi,
    DependsOn,
    ChildOf,
    MemberOf,
}

impl RelationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RelationKind::OwnedBy => "ownedBy",
            RelationKind::PartOf => "partOf",
            RelationKind::ProvidesApi => "providesApi",
            RelationKind::ConsumesApi => "consumesApi",
            RelationKind::DependsOn => "dependsOn",
            RelationKind::ChildOf => "childOf",
            RelationKind::MemberOf => "memberOf",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Relation {
    pub source: EntityId,
    pub kind: RelationKind,
    pub target: EntityId,
}

/// Parses `[<kind>:][<namespace>/]<name>`, taking the kind and namespace from the context when
/// the reference leaves them out.
pub fn parse_reference(
    text: &str,
    default_kind: Option<Kind>,
    default_namespace: &str,
) -> Result<EntityId, String> {
    let (kind_text, rest) = match text.split_once(':') {
        Some((kind, rest)) => (Some(kind), rest),
        None => (None, text),
    };
    let (namespace, name) = match rest.split_once('/') {
        Some((namespace, name)) => (namespace, name),
        None => (default_namespace, rest),
    };
    let kind = match kind_text {
        Some(kind) => {
            Kind::parse(kind).ok_or_else(|| format!("{text:?} names an unknown kind {kind:?}"))?
        }
        None => default_kind
            .ok_or_else(|| format!("{text:?} must name its kind (kind:namespace/name)"))?,
    };
    if !crate::entity::valid_name(name) || !crate::entity::valid_namespace(namespace) {
        return Err(format!(
            "{text:?} is not an entity reference ([kind:][namespace/]name)"
        ));
    }
    Ok(EntityId {
        kind,
        namespace: namespace.to_owned(),
        name: name.to_owned(),
    })
}

/// The entities of a catalog and their relations.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Catalog {
    pub entities: BTreeMap<EntityId, Entity>,
    pub relations: Vec<Relation>,
}

/// The catalog and what was found wrong while building it. Errors make an import apply
/// nothing; warnings (references to entities outside the catalog) do not.
#[derive(Debug, Clone, Default)]
pub struct Built {
    pub catalog: Catalog,
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
}

impl Catalog {
    /// Builds the catalog from parsed entities: duplicates are errors (naming both places),
    /// references that do not parse are errors, references to entities the catalog does not
    /// hold are warnings.
    pub fn build(entities: Vec<Entity>) -> Built {
        let mut built = Built::default();
        for entity in entities {
            if let Some(existing) = built.catalog.entities.get(&entity.id) {
                built.errors.push(
                    Diagnostic::new(
                        "metadata.name",
                        format!(
                            "{} is declared twice (also at {})",
                            entity.id, existing.source
                        ),
                    )
                    .with_source(&entity.source.to_string()),
                );
                continue;
            }
            built.catalog.entities.insert(entity.id.clone(), entity);
        }
        let mut relations = Vec::new();
        for entity in built.catalog.entities.values() {
            for (reference, kinds, relation) in references(entity) {
                let source = entity.source.to_string();
                let default_kind = kinds.first().copied();
                let target =
                    match parse_reference(&reference.text, default_kind, &entity.id.namespace) {
                        Ok(target) => target,
                        Err(reason) => {
                            built.errors.push(
                                Diagnostic::new(&reference.field, reason).with_source(&source),
                            );
                            continue;
                        }
                    };
                // an owner may be a User as well as a Group
                let target = if built.catalog.entities.contains_key(&target) {
                    target
                } else {
                    kinds
                        .iter()
                        .skip(1)
                        .map(|kind| EntityId {
                            kind: *kind,
                            ..target.clone()
                        })
                        .find(|alternative| built.catalog.entities.contains_key(alternative))
                        .unwrap_or(target)
                };
                if !kinds.is_empty() && !kinds.contains(&target.kind) {
                    built.errors.push(
                        Diagnostic::new(
                            &reference.field,
                            format!(
                                "{target} is a {}, expected {}",
                                target.kind,
                                kinds
                                    .iter()
                                    .map(|k| k.as_str())
                                    .collect::<Vec<_>>()
                                    .join(" or ")
                            ),
                        )
                        .with_source(&source),
                    );
                    continue;
                }
                if !built.catalog.entities.contains_key(&target) {
                    built.warnings.push(
                        Diagnostic::new(
                            &reference.field,
                            format!("refers to {target}, which is not in the catalog"),
                        )
                        .with_source(&source),
                    );
                    continue;
                }
                relations.push(Relation {
                    source: entity.id.clone(),
                    kind: relation,
                    target,
                });
            }
        }
        relations.sort();
        relations.dedup();
        built.catalog.relations = relations;
        built
    }

    /// Relations of `kind` from `source`.
    pub fn targets<'a>(
        &'a self,
        source: &'a EntityId,
        kind: RelationKind,
    ) -> impl Iterator<Item = &'a EntityId> + 'a {
        self.relations
            .iter()
            .filter(move |r| r.kind == kind && &r.source == source)
            .map(|r| &r.target)
    }

    /// Relations of `kind` into `target`.
    pub fn sources<'a>(
        &'a self,
        target: &'a EntityId,
        kind: RelationKind,
    ) -> impl Iterator<Item = &'a EntityId> + 'a {
        self.relations
            .iter()
            .filter(move |r| r.kind == kind && &r.target == target)
            .map(|r| &r.source)
    }
}

/// Every reference an entity makes: the reference, the kinds it may name (the first is the
/// default when it names none) and the relation it forms.
fn references(entity: &Entity) -> Vec<(&Reference, &'static [Kind], RelationKind)> {
    const OWNER: &[Kind] = &[Kind::Group, Kind::User];
    const SYSTEM: &[Kind] = &[Kind::System];
    const DOMAIN: &[Kind] = &[Kind::Domain];
    const API: &[Kind] = &[Kind::Api];
    const COMPONENT: &[Kind] = &[Kind::Component];
    const GROUP: &[Kind] = &[Kind::Group];
    // dependsOn may name components or resources and must say which
    const DEPENDENCY: &[Kind] = &[Kind::Component, Kind::Resource];
    let mut out = Vec::new();
    match &entity.spec {
        Spec::Component {
            owner,
            system,
            subcomponent_of,
            provides_apis,
            consumes_apis,
            depends_on,
            ..
        } => {
            out.push((owner, OWNER, RelationKind::OwnedBy));
            out.extend(system.iter().map(|r| (r, SYSTEM, RelationKind::PartOf)));
            out.extend(
                subcomponent_of
                    .iter()
                    .map(|r| (r, COMPONENT, RelationKind::PartOf)),
            );
            out.extend(
                provides_apis
                    .iter()
                    .map(|r| (r, API, RelationKind::ProvidesApi)),
            );
            out.extend(
                consumes_apis
                    .iter()
                    .map(|r| (r, API, RelationKind::ConsumesApi)),
            );
            out.extend(
                depends_on
                    .iter()
                    .map(|r| (r, DEPENDENCY, RelationKind::DependsOn)),
            );
        }
        Spec::Api { owner, system, .. } => {
            out.push((owner, OWNER, RelationKind::OwnedBy));
            out.extend(system.iter().map(|r| (r, SYSTEM, RelationKind::PartOf)));
        }
        Spec::System { owner, domain } => {
            out.push((owner, OWNER, RelationKind::OwnedBy));
            out.extend(domain.iter().map(|r| (r, DOMAIN, RelationKind::PartOf)));
        }
        Spec::Domain {
            owner,
            subdomain_of,
        } => {
            out.push((owner, OWNER, RelationKind::OwnedBy));
            out.extend(
                subdomain_of
                    .iter()
                    .map(|r| (r, DOMAIN, RelationKind::PartOf)),
            );
        }
        Spec::Group { parent, .. } => {
            out.extend(parent.iter().map(|r| (r, GROUP, RelationKind::ChildOf)));
        }
        Spec::User { member_of, .. } => {
            out.extend(member_of.iter().map(|r| (r, GROUP, RelationKind::MemberOf)));
        }
        Spec::Resource {
            owner,
            system,
            depends_on,
            ..
        } => {
            out.push((owner, OWNER, RelationKind::OwnedBy));
            out.extend(system.iter().map(|r| (r, SYSTEM, RelationKind::PartOf)));
            out.extend(
                depends_on
                    .iter()
                    .map(|r| (r, DEPENDENCY, RelationKind::DependsOn)),
            );
        }
        Spec::AiResource { owner } => out.push((owner, OWNER, RelationKind::OwnedBy)),
        Spec::Location { .. } => {}
    }
    out
}

/// The files a Location entity names, resolved against the directory of the file it is in
/// (`./x.yaml`, `../y.yaml`); URLs are returned as they are.
pub fn location_targets(entity: &Entity) -> Vec<String> {
    let Spec::Location { targets } = &entity.spec else {
        return Vec::new();
    };
    let directory = entity
        .source
        .file
        .rsplit_once('/')
        .map_or("", |(dir, _)| dir);
    targets
        .iter()
        .map(|target| {
            if target.contains("://") || target.starts_with('/') {
                return target.clone();
            }
            let mut parts: Vec<&str> = directory
                .split('/')
                .filter(|p| !p.is_empty() && *p != ".")
                .collect();
            let absolute = directory.starts_with('/');
            for part in target.split('/') {
                match part {
                    "" | "." => {}
                    ".." => {
                        parts.pop();
                    }
                    other => parts.push(other),
                }
            }
            let joined = parts.join("/");
            if absolute {
                format!("/{joined}")
            } else {
                joined
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::parse_file;

    #[test]
    fn references_parse_with_defaults() {
        for (text, kind, expected) in [
            ("team-a", Some(Kind::Group), Ok("group:default/team-a")),
            (
                "user:janelle.dawe",
                Some(Kind::Group),
                Ok("user:default/janelle.dawe"),
            ),
            (
                "development/guest",
                Some(Kind::User),
                Ok("user:development/guest"),
            ),
            (
                "resource:artists-db",
                Some(Kind::Component),
                Ok("resource:default/artists-db"),
            ),
            ("widget:x", None, Err("unknown kind")),
            ("x", None, Err("must name its kind")),
            ("group:Bad Name", None, Err("is not an entity reference")),
        ] {
            match (parse_reference(text, kind, "default"), expected) {
                (Ok(id), Ok(want)) => assert_eq!(id.to_string(), want),
                (Err(got), Err(want)) => assert!(got.contains(want), "{got}"),
                (got, want) => panic!("{text}: {got:?} vs {want:?}"),
            }
        }
    }

    #[test]
    fn relations_resolve_and_problems_are_named() {
        let (entities, diagnostics) = parse_file(
            "c.yaml",
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: web}\nspec: {type: service, lifecycle: production, owner: jane, dependsOn: [component:api, resource:db], consumesApis: [missing]}\n---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: api}\nspec: {type: service, lifecycle: production, owner: team-a, system: team-a}\n---\napiVersion: backstage.io/v1alpha1\nkind: User\nmetadata: {name: jane}\nspec: {memberOf: [team-a]}\n---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: team-a}\nspec: {type: team, children: []}\n---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: team-a}\nspec: {type: team, children: []}\n",
        );
        assert!(diagnostics.is_empty());
        let built = Catalog::build(entities);
        let errors: Vec<String> = built.errors.iter().map(ToString::to_string).collect();
        assert_eq!(errors, vec!["c.yaml#5: metadata.name: group:default/team-a is declared twice (also at c.yaml#4)".to_owned()]);
        let warnings: Vec<String> = built.warnings.iter().map(ToString::to_string).collect();
        assert!(warnings.contains(&"c.yaml#1: spec.consumesApis[0]: refers to api:default/missing, which is not in the catalog".to_owned()), "{warnings:?}");
        assert!(warnings.contains(&"c.yaml#1: spec.dependsOn[1]: refers to resource:default/db, which is not in the catalog".to_owned()), "{warnings:?}");
        assert!(warnings.contains(&"c.yaml#2: spec.system: refers to system:default/team-a, which is not in the catalog".to_owned()), "{warnings:?}");
        let relations: Vec<String> = built
            .catalog
            .relations
            .iter()
            .map(|r| format!("{} {} {}", r.source, r.kind.as_str(), r.target))
            .collect();
        assert!(
            relations.contains(&"component:default/web ownedBy user:default/jane".to_owned()),
            "{relations:?}"
        );
        assert!(
            relations.contains(&"component:default/web dependsOn component:default/api".to_owned())
        );
        assert!(relations.contains(&"user:default/jane memberOf group:default/team-a".to_owned()));
    }

    #[test]
    fn location_targets_are_relative_to_their_file() {
        let (entities, _) = parse_file(
            "examples/acme/org.yaml",
            "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: l}\nspec:\n  targets: [./team-a.yaml, ../all.yaml, https://example.com/x.yaml]\n",
        );
        assert_eq!(
            location_targets(&entities[0]),
            vec![
                "examples/acme/team-a.yaml",
                "examples/all.yaml",
                "https://example.com/x.yaml"
            ]
        );
    }
}
