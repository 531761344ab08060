//! Backstage entities (`apiVersion: backstage.io/v1alpha1`): one YAML stream in, the entities it
//! declares out, each checked field by field. Every problem is a [`Diagnostic`] naming the
//! file and document (`team-a.yaml#2`), the field (`spec.owner`) and the reason.

use serde_json::{Map, Value};
use slipway_spec::Diagnostic;
use std::collections::BTreeMap;
use std::fmt;

/// The entity kinds of Backstage's catalog model this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Kind {
    Component,
    Api,
    System,
    Domain,
    Group,
    User,
    Resource,
    Location,
    /// Known to Backstage, not mapped by Slipway (kept so references to it resolve).
    AiResource,
}

impl Kind {
    /// Kinds are case-insensitive in references (`component:default/x`), as in Backstage.
    pub fn parse(text: &str) -> Option<Kind> {
        Some(match text.to_ascii_lowercase().as_str() {
            "component" => Kind::Component,
            "api" => Kind::Api,
            "system" => Kind::System,
            "domain" => Kind::Domain,
            "group" => Kind::Group,
            "user" => Kind::User,
            "resource" => Kind::Resource,
            "location" => Kind::Location,
            "airesource" => Kind::AiResource,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Component => "Component",
            Kind::Api => "API",
            Kind::System => "System",
            Kind::Domain => "Domain",
            Kind::Group => "Group",
            Kind::User => "User",
            Kind::Resource => "Resource",
            Kind::Location => "Location",
            Kind::AiResource => "AiResource",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an entity was declared: a file and the 1-based document within it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Source {
    pub file: String,
    pub document: usize,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.file, self.document)
    }
}

/// An entity's identity: kind, namespace and name (`component:default/petstore`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct EntityId {
    pub kind: Kind,
    pub namespace: String,
    pub name: String,
}

impl fmt::Display for EntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}/{}",
            self.kind.as_str().to_ascii_lowercase(),
            self.namespace,
            self.name
        )
    }
}

/// A reference as written in a relation field, before it is resolved.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Reference {
    /// The field it was written in, e.g. `spec.providesApis[1]`.
    pub field: String,
    pub text: String,
}

/// The definition of an API: inline text or mapping, or a placeholder to substitute.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum Definition {
    /// The text as written (a YAML block string, usually).
    Text(String),
    /// A structured definition written inline as a mapping.
    Inline(Value),
    /// `$text`, `$json` or `$yaml` placeholder: the document's content comes from `target`,
    /// relative to the entity's file, or a URL.
    Placeholder { kind: String, target: String },
    /// An API of type `mcp-server` has remotes instead of a definition.
    Remotes(Value),
}

/// The kind-specific part of an entity, the fields Slipway reads.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum Spec {
    Component {
        component_type: String,
        lifecycle: String,
        owner: Reference,
        system: Option<Reference>,
        subcomponent_of: Option<Reference>,
        provides_apis: Vec<Reference>,
        consumes_apis: Vec<Reference>,
        depends_on: Vec<Reference>,
    },
    Api {
        api_type: String,
        lifecycle: String,
        owner: Reference,
        system: Option<Reference>,
        definition: Definition,
    },
    System {
        owner: Reference,
        domain: Option<Reference>,
    },
    Domain {
        owner: Reference,
        subdomain_of: Option<Reference>,
    },
    Group {
        group_type: String,
        display_name: Option<String>,
        email: Option<String>,
        parent: Option<Reference>,
        children: Vec<Reference>,
        members: Vec<Reference>,
    },
    User {
        display_name: Option<String>,
        email: Option<String>,
        member_of: Vec<Reference>,
    },
    Resource {
        resource_type: String,
        owner: Reference,
        system: Option<Reference>,
        depends_on: Vec<Reference>,
    },
    Location {
        targets: Vec<String>,
    },
    AiResource {
        owner: Reference,
    },
}

/// One parsed entity.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Entity {
    pub source: Source,
    pub id: EntityId,
    pub title: Option<String>,
    pub description: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub tags: Vec<String>,
    pub spec: Spec,
}

/// Backstage's name rule: 1–63 characters of letters, digits and `-_.`, beginning and ending
/// with a letter or digit.
pub fn valid_name(name: &str) -> bool {
    label(name, |b| {
        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')
    })
}

/// Namespaces are DNS labels.
pub fn valid_namespace(namespace: &str) -> bool {
    label(namespace, |b| {
        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'
    })
}

/// 1–63 bytes, each `allowed`, beginning and ending with a letter or digit.
fn label(text: &str, allowed: fn(u8) -> bool) -> bool {
    let bytes = text.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.iter().all(|&b| allowed(b))
}

/// Reads the documents of one file. Empty documents are skipped; each entity comes with the
/// problems found in it. A stream that cannot be parsed at all is one diagnostic.
pub fn parse_file(file: &str, text: &str) -> (Vec<Entity>, Vec<Diagnostic>) {
    let documents = match slipway_yaml::parse_stream(text) {
        Ok(documents) => documents,
        Err(error) => {
            let source = Source {
                file: file.to_owned(),
                document: error.document,
            };
            return (
                Vec::new(),
                vec![Diagnostic::new("", error.reason).with_source(&source.to_string())],
            );
        }
    };
    let mut entities = Vec::new();
    let mut diagnostics = Vec::new();
    for (index, document) in documents.into_iter().enumerate() {
        if document.is_null() {
            continue;
        }
        let source = Source {
            file: file.to_owned(),
            document: index + 1,
        };
        let mut reader = Reader {
            diagnostics: Vec::new(),
        };
        if let Some(entity) = reader.entity(&source, &document) {
            entities.push(entity);
        }
        diagnostics.extend(
            reader
                .diagnostics
                .into_iter()
                .map(|d| d.with_source(&source.to_string())),
        );
    }
    (entities, diagnostics)
}

struct Reader {
    diagnostics: Vec<Diagnostic>,
}

impl Reader {
    fn fail(&mut self, path: &str, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic::new(path, message));
    }

    fn object<'v>(
        &mut self,
        value: Option<&'v Value>,
        path: &str,
        required: bool,
    ) -> Option<&'v Map<String, Value>> {
        match value {
            Some(Value::Object(object)) => Some(object),
            None | Some(Value::Null) if !required => None,
            None | Some(Value::Null) => {
                self.fail(path, "is required");
                None
            }
            Some(other) => {
                self.fail(
                    path,
                    format!(
                        "must be a mapping, found {}",
                        slipway_spec::json_type(other)
                    ),
                );
                None
            }
        }
    }

    fn string(
        &mut self,
        object: &Map<String, Value>,
        parent: &str,
        key: &str,
        required: bool,
    ) -> Option<String> {
        let path = slipway_spec::diagnostic::join_path(parent, key);
        match object.get(key) {
            Some(Value::String(text)) if !text.is_empty() => Some(text.clone()),
            Some(Value::String(_)) => {
                self.fail(&path, "must not be empty");
                None
            }
            None | Some(Value::Null) if !required => None,
            None | Some(Value::Null) => {
                self.fail(&path, "is required");
                None
            }
            Some(other) => {
                self.fail(
                    &path,
                    format!("must be a string, found {}", slipway_spec::json_type(other)),
                );
                None
            }
        }
    }

    /// `spec.profile.displayName` and `spec.profile.email` of a Group or User.
    fn profile(&mut self, spec: &Map<String, Value>) -> (Option<String>, Option<String>) {
        match self.object(spec.get("profile"), "spec.profile", false) {
            Some(p) => (
                self.string(p, "spec.profile", "displayName", false),
                self.string(p, "spec.profile", "email", false),
            ),
            None => (None, None),
        }
    }

    fn reference(
        &mut self,
        object: &Map<String, Value>,
        key: &str,
        required: bool,
    ) -> Option<Reference> {
        let field = format!("spec.{key}");
        self.string(object, "spec", key, required)
            .map(|text| Reference { field, text })
    }

    fn references(&mut self, object: &Map<String, Value>, key: &str) -> Vec<Reference> {
        let path = format!("spec.{key}");
        match object.get(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| match item {
                    Value::String(text) if !text.is_empty() => Some(Reference {
                        field: format!("{path}[{i}]"),
                        text: text.clone(),
                    }),
                    other => {
                        self.fail(
                            &format!("{path}[{i}]"),
                            format!(
                                "must be an entity reference (a string), found {}",
                                slipway_spec::json_type(other)
                            ),
                        );
                        None
                    }
                })
                .collect(),
            Some(other) => {
                self.fail(
                    &path,
                    format!(
                        "must be a list of entity references, found {}",
                        slipway_spec::json_type(other)
                    ),
                );
                Vec::new()
            }
        }
    }

    fn string_map(&mut self, metadata: &Map<String, Value>, key: &str) -> BTreeMap<String, String> {
        let path = format!("metadata.{key}");
        let Some(object) = self.object(metadata.get(key), &path, false) else {
            return BTreeMap::new();
        };
        let mut out = BTreeMap::new();
        for (k, v) in object {
            match v {
                Value::String(text) => {
                    out.insert(k.clone(), text.clone());
                }
                other => self.fail(
                    &format!("{path}.{k}"),
                    format!("must be a string, found {}", slipway_spec::json_type(other)),
                ),
            }
        }
        out
    }

    fn entity(&mut self, source: &Source, document: &Value) -> Option<Entity> {
        let root = self.object(Some(document), "", true)?;
        let api_version = self.string(root, "", "apiVersion", true);
        if let Some(version) = &api_version
            && !matches!(
                version.as_str(),
                "backstage.io/v1alpha1" | "backstage.io/v1beta1"
            )
        {
            self.fail(
                "apiVersion",
                format!("{version:?} is not a Backstage catalog version (backstage.io/v1alpha1)"),
            );
        }
        let kind_text = self.string(root, "", "kind", true)?;
        let Some(kind) = Kind::parse(&kind_text) else {
            self.fail("kind", format!("{kind_text:?} is not a kind Slipway reads (Component, API, System, Domain, Group, User, Resource, Location)"));
            return None;
        };
        let metadata = self.object(root.get("metadata"), "metadata", true)?;
        let name = self.string(metadata, "metadata", "name", true)?;
        if !valid_name(&name) {
            self.fail("metadata.name", format!("{name:?} must be 1-63 letters, digits, '-', '_' or '.', beginning and ending with a letter or digit"));
        }
        let namespace = self
            .string(metadata, "metadata", "namespace", false)
            .unwrap_or_else(|| "default".to_owned());
        if !valid_namespace(&namespace) {
            self.fail(
                "metadata.namespace",
                format!("{namespace:?} must be a DNS label (lower-case letters, digits and '-')"),
            );
        }
        let title = self.string(metadata, "metadata", "title", false);
        let description = self.string(metadata, "metadata", "description", false);
        let labels = self.string_map(metadata, "labels");
        let annotations = self.string_map(metadata, "annotations");
        let tags = match metadata.get("tags") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, t)| match t {
                    Value::String(text) => Some(text.clone()),
                    other => {
                        self.fail(
                            &format!("metadata.tags[{i}]"),
                            format!("must be a string, found {}", slipway_spec::json_type(other)),
                        );
                        None
                    }
                })
                .collect(),
            Some(other) => {
                self.fail(
                    "metadata.tags",
                    format!("must be a list, found {}", slipway_spec::json_type(other)),
                );
                Vec::new()
            }
        };
        let spec = self.spec(kind, root)?;
        Some(Entity {
            source: source.clone(),
            id: EntityId {
                kind,
                namespace,
                name,
            },
            title,
            description,
            labels,
            annotations,
            tags,
            spec,
        })
    }

    fn spec(&mut self, kind: Kind, root: &Map<String, Value>) -> Option<Spec> {
        let required = !matches!(kind, Kind::Location);
        let empty = Map::new();
        let spec = match self.object(root.get("spec"), "spec", required) {
            Some(spec) => spec,
            None if !required => &empty,
            None => return None,
        };
        let text = |reader: &mut Self, key: &str, required: bool| {
            reader.string(spec, "spec", key, required)
        };
        Some(match kind {
            Kind::Component => {
                let component_type = text(self, "type", true);
                let lifecycle = text(self, "lifecycle", true);
                let owner = self.reference(spec, "owner", true);
                let system = self.reference(spec, "system", false);
                let subcomponent_of = self.reference(spec, "subcomponentOf", false);
                let provides_apis = self.references(spec, "providesApis");
                let consumes_apis = self.references(spec, "consumesApis");
                let depends_on = self.references(spec, "dependsOn");
                Spec::Component {
                    component_type: component_type?,
                    lifecycle: lifecycle?,
                    owner: owner?,
                    system,
                    subcomponent_of,
                    provides_apis,
                    consumes_apis,
                    depends_on,
                }
            }
            Kind::Api => {
                let api_type = text(self, "type", true);
                let lifecycle = text(self, "lifecycle", true);
                let owner = self.reference(spec, "owner", true);
                let system = self.reference(spec, "system", false);
                let definition = if api_type.as_deref() == Some("mcp-server") {
                    match spec.get("remotes") {
                        Some(remotes @ Value::Array(_)) => {
                            Some(Definition::Remotes(remotes.clone()))
                        }
                        _ => {
                            self.fail(
                                "spec.remotes",
                                "is required for an API of type mcp-server (a list)",
                            );
                            None
                        }
                    }
                } else {
                    self.definition(spec.get("definition"))
                };
                Spec::Api {
                    api_type: api_type?,
                    lifecycle: lifecycle?,
                    owner: owner?,
                    system,
                    definition: definition?,
                }
            }
            Kind::System => {
                let owner = self.reference(spec, "owner", true);
                Spec::System {
                    owner: owner?,
                    domain: self.reference(spec, "domain", false),
                }
            }
            Kind::Domain => {
                let owner = self.reference(spec, "owner", true);
                Spec::Domain {
                    owner: owner?,
                    subdomain_of: self.reference(spec, "subdomainOf", false),
                }
            }
            Kind::Group => {
                let group_type = text(self, "type", true);
                let (display_name, email) = self.profile(spec);
                Spec::Group {
                    group_type: group_type?,
                    display_name,
                    email,
                    parent: self.reference(spec, "parent", false),
                    children: self.references(spec, "children"),
                    members: self.references(spec, "members"),
                }
            }
            Kind::User => {
                let (display_name, email) = self.profile(spec);
                Spec::User {
                    display_name,
                    email,
                    member_of: self.references(spec, "memberOf"),
                }
            }
            Kind::Resource => {
                let resource_type = text(self, "type", true);
                let owner = self.reference(spec, "owner", true);
                Spec::Resource {
                    resource_type: resource_type?,
                    owner: owner?,
                    system: self.reference(spec, "system", false),
                    depends_on: self.references(spec, "dependsOn"),
                }
            }
            Kind::Location => {
                let mut targets: Vec<String> = self
                    .string(spec, "spec", "target", false)
                    .into_iter()
                    .collect();
                match spec.get("targets") {
                    None | Some(Value::Null) => {}
                    Some(Value::Array(items)) => {
                        for (i, item) in items.iter().enumerate() {
                            match item {
                                Value::String(target) => targets.push(target.clone()),
                                other => self.fail(
                                    &format!("spec.targets[{i}]"),
                                    format!(
                                        "must be a string, found {}",
                                        slipway_spec::json_type(other)
                                    ),
                                ),
                            }
                        }
                    }
                    Some(other) => self.fail(
                        "spec.targets",
                        format!("must be a list, found {}", slipway_spec::json_type(other)),
                    ),
                }
                Spec::Location { targets }
            }
            Kind::AiResource => {
                let owner = self.reference(spec, "owner", true);
                Spec::AiResource { owner: owner? }
            }
        })
    }

    fn definition(&mut self, value: Option<&Value>) -> Option<Definition> {
        match value {
            Some(Value::String(text)) if !text.is_empty() => Some(Definition::Text(text.clone())),
            Some(Value::Object(object)) => {
                let placeholder = object
                    .iter()
                    .find(|(k, _)| matches!(k.as_str(), "$text" | "$json" | "$yaml"));
                match placeholder {
                    Some((kind, Value::String(target))) if object.len() == 1 => {
                        Some(Definition::Placeholder {
                            kind: kind.clone(),
                            target: target.clone(),
                        })
                    }
                    Some((kind, _)) => {
                        self.fail(
                            &format!("spec.definition.{kind}"),
                            "a placeholder must be the only key and name a file or URL",
                        );
                        None
                    }
                    None => Some(Definition::Inline(Value::Object(object.clone()))),
                }
            }
            None | Some(Value::Null) => {
                self.fail("spec.definition", "is required");
                None
            }
            Some(other) => {
                self.fail("spec.definition", format!("must be the definition's text or a $text/$json/$yaml placeholder, found {}", slipway_spec::json_type(other)));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Result<usize, &[&str]>) {
        let (entities, diagnostics) = parse_file("catalog-info.yaml", text);
        match expected {
            Ok(count) => {
                assert!(diagnostics.is_empty(), "{diagnostics:?}");
                assert_eq!(entities.len(), count);
            }
            Err(wanted) => {
                let got: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
                for want in wanted {
                    assert!(
                        got.iter().any(|g| g.contains(want)),
                        "missing {want:?} in {got:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn entities_are_read_field_by_field() {
        check(
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: petstore}\nspec: {type: service, lifecycle: production, owner: team-c, providesApis: [petstore]}\n---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: team-c}\nspec: {type: team, children: []}\n",
            Ok(2),
        );
        check(
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: petstore}\nspec: {type: service, owner: team-c}\n",
            Err(&["catalog-info.yaml#1: spec.lifecycle: is required"]),
        );
        check(
            "---\napiVersion: backstage.io/v1alpha1\nkind: User\nmetadata: {name: a}\nspec: {memberOf: [1]}\n---\napiVersion: backstage.io/v1alpha1\nkind: Widget\nmetadata: {name: b}\n",
            Err(&[
                "catalog-info.yaml#1: spec.memberOf[0]: must be an entity reference",
                "catalog-info.yaml#2: kind: \"Widget\" is not a kind",
            ]),
        );
        check(
            "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata: {name: -bad, namespace: Dev}\nspec: {type: openapi, lifecycle: x, owner: t, definition: 3}\n",
            Err(&[
                "metadata.name: \"-bad\" must be",
                "metadata.namespace: \"Dev\" must be a DNS label",
                "spec.definition: must be the definition's text",
            ]),
        );
        check(
            "kind: Group\nkind: User\n",
            Err(&["catalog-info.yaml#1: duplicate key `kind`"]),
        );
        check(
            "apiVersion: v1\nkind: Group\nmetadata: {name: g}\nspec: {type: team}\n",
            Err(&["apiVersion: \"v1\" is not a Backstage catalog version"]),
        );
    }

    #[test]
    fn definitions_and_placeholders() {
        let (entities, diagnostics) = parse_file(
            "api.yaml",
            "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata: {name: hooks}\nspec:\n  type: openapi\n  lifecycle: experimental\n  owner: team-c\n  definition:\n    $text: ./hooks.oas.yaml\n",
        );
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let Spec::Api { definition, .. } = &entities[0].spec else {
            panic!()
        };
        assert_eq!(
            definition,
            &Definition::Placeholder {
                kind: "$text".into(),
                target: "./hooks.oas.yaml".into()
            }
        );
    }
}
