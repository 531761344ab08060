//! The structural difference between two schemas: every keyword compared, subschemas matched
//! and compared recursively. `$ref` cycles stop where a reference already being compared is
//! reached again; identical pairs are compared once and their difference shared.

use crate::document::OpenApi;
use crate::schema::{Schema, values_equal};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;

/// How an absent keyword reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Absent {
    /// Absent is its own state.
    Missing,
    /// Absent reads as `false`.
    False,
    /// Absent reads as `0`.
    Zero,
    /// Absent reads as `""`.
    Empty,
}

/// The value keywords compared one to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Kw {
    Title,
    Format,
    Description,
    Default,
    Example,
    UniqueItems,
    ExclusiveMinimum,
    ExclusiveMaximum,
    Nullable,
    ReadOnly,
    WriteOnly,
    AllowEmptyValue,
    Xml,
    Deprecated,
    Minimum,
    Maximum,
    MultipleOf,
    MinLength,
    MaxLength,
    Pattern,
    MinItems,
    MaxItems,
    MinProperties,
    MaxProperties,
    Const,
    Examples,
    MinContains,
    MaxContains,
    ContentMediaType,
    ContentEncoding,
    AdditionalPropertiesAllowed,
    UnevaluatedItemsAllowed,
    UnevaluatedPropertiesAllowed,
    Id,
    Anchor,
    DynamicRef,
    DynamicAnchor,
    Dialect,
    Comment,
}

/// Bits (above the value keywords') for the keywords that hold subschemas or lists.
fn structural_bit(name: &str) -> Option<u32> {
    let index = match name {
        "type" => 0,
        "enum" => 1,
        "required" => 2,
        "discriminator" => 3,
        "dependentRequired" => 4,
        "allOf" => 5,
        "anyOf" => 6,
        "oneOf" => 7,
        "prefixItems" => 8,
        "not" => 9,
        "items" => 10,
        "additionalProperties" => 11,
        "contains" => 12,
        "propertyNames" => 13,
        "unevaluatedItems" => 14,
        "unevaluatedProperties" => 15,
        "if" => 16,
        "then" => 17,
        "else" => 18,
        "contentSchema" => 19,
        "properties" => 20,
        "patternProperties" => 21,
        "dependentSchemas" => 22,
        "$defs" => 23,
        _ => return None,
    };
    Some(40 + index)
}

impl Kw {
    /// The value keyword spelled `name` (the boolean forms share their keyword's name).
    fn named(name: &str) -> Option<Kw> {
        Some(match name {
            "title" => Kw::Title,
            "format" => Kw::Format,
            "description" => Kw::Description,
            "default" => Kw::Default,
            "example" => Kw::Example,
            "uniqueItems" => Kw::UniqueItems,
            "exclusiveMinimum" => Kw::ExclusiveMinimum,
            "exclusiveMaximum" => Kw::ExclusiveMaximum,
            "nullable" => Kw::Nullable,
            "readOnly" => Kw::ReadOnly,
            "writeOnly" => Kw::WriteOnly,
            "allowEmptyValue" => Kw::AllowEmptyValue,
            "xml" => Kw::Xml,
            "deprecated" => Kw::Deprecated,
            "minimum" => Kw::Minimum,
            "maximum" => Kw::Maximum,
            "multipleOf" => Kw::MultipleOf,
            "minLength" => Kw::MinLength,
            "maxLength" => Kw::MaxLength,
            "pattern" => Kw::Pattern,
            "minItems" => Kw::MinItems,
            "maxItems" => Kw::MaxItems,
            "minProperties" => Kw::MinProperties,
            "maxProperties" => Kw::MaxProperties,
            "const" => Kw::Const,
            "examples" => Kw::Examples,
            "minContains" => Kw::MinContains,
            "maxContains" => Kw::MaxContains,
            "contentMediaType" => Kw::ContentMediaType,
            "contentEncoding" => Kw::ContentEncoding,
            "$id" => Kw::Id,
            "$anchor" => Kw::Anchor,
            "$dynamicRef" => Kw::DynamicRef,
            "$dynamicAnchor" => Kw::DynamicAnchor,
            "$schema" => Kw::Dialect,
            "$comment" => Kw::Comment,
            _ => return None,
        })
    }

    const ALL: [Kw; 39] = [
        Kw::Title,
        Kw::Format,
        Kw::Description,
        Kw::Default,
        Kw::Example,
        Kw::UniqueItems,
        Kw::ExclusiveMinimum,
        Kw::ExclusiveMaximum,
        Kw::Nullable,
        Kw::ReadOnly,
        Kw::WriteOnly,
        Kw::AllowEmptyValue,
        Kw::Xml,
        Kw::Deprecated,
        Kw::Minimum,
        Kw::Maximum,
        Kw::MultipleOf,
        Kw::MinLength,
        Kw::MaxLength,
        Kw::Pattern,
        Kw::MinItems,
        Kw::MaxItems,
        Kw::MinProperties,
        Kw::MaxProperties,
        Kw::Const,
        Kw::Examples,
        Kw::MinContains,
        Kw::MaxContains,
        Kw::ContentMediaType,
        Kw::ContentEncoding,
        Kw::AdditionalPropertiesAllowed,
        Kw::UnevaluatedItemsAllowed,
        Kw::UnevaluatedPropertiesAllowed,
        Kw::Id,
        Kw::Anchor,
        Kw::DynamicRef,
        Kw::DynamicAnchor,
        Kw::Dialect,
        Kw::Comment,
    ];

    fn spelling(self) -> (&'static str, Absent) {
        match self {
            Kw::Title => ("title", Absent::Empty),
            Kw::Format => ("format", Absent::Empty),
            Kw::Description => ("description", Absent::Empty),
            Kw::Default => ("default", Absent::Missing),
            Kw::Example => ("example", Absent::Missing),
            Kw::UniqueItems => ("uniqueItems", Absent::False),
            Kw::ExclusiveMinimum => ("exclusiveMinimum", Absent::False),
            Kw::ExclusiveMaximum => ("exclusiveMaximum", Absent::False),
            Kw::Nullable => ("nullable", Absent::False),
            Kw::ReadOnly => ("readOnly", Absent::False),
            Kw::WriteOnly => ("writeOnly", Absent::False),
            Kw::AllowEmptyValue => ("allowEmptyValue", Absent::False),
            Kw::Xml => ("xml", Absent::Missing),
            Kw::Deprecated => ("deprecated", Absent::False),
            Kw::Minimum => ("minimum", Absent::Missing),
            Kw::Maximum => ("maximum", Absent::Missing),
            Kw::MultipleOf => ("multipleOf", Absent::Missing),
            Kw::MinLength => ("minLength", Absent::Zero),
            Kw::MaxLength => ("maxLength", Absent::Missing),
            Kw::Pattern => ("pattern", Absent::Empty),
            Kw::MinItems => ("minItems", Absent::Zero),
            Kw::MaxItems => ("maxItems", Absent::Missing),
            Kw::MinProperties => ("minProperties", Absent::Zero),
            Kw::MaxProperties => ("maxProperties", Absent::Missing),
            Kw::Const => ("const", Absent::Missing),
            Kw::Examples => ("examples", Absent::Missing),
            Kw::MinContains => ("minContains", Absent::Missing),
            Kw::MaxContains => ("maxContains", Absent::Missing),
            Kw::ContentMediaType => ("contentMediaType", Absent::Empty),
            Kw::ContentEncoding => ("contentEncoding", Absent::Empty),
            Kw::AdditionalPropertiesAllowed => ("additionalProperties", Absent::Missing),
            Kw::UnevaluatedItemsAllowed => ("unevaluatedItems", Absent::Missing),
            Kw::UnevaluatedPropertiesAllowed => ("unevaluatedProperties", Absent::Missing),
            Kw::Id => ("$id", Absent::Empty),
            Kw::Anchor => ("$anchor", Absent::Empty),
            Kw::DynamicRef => ("$dynamicRef", Absent::Empty),
            Kw::DynamicAnchor => ("$dynamicAnchor", Absent::Empty),
            Kw::Dialect => ("$schema", Absent::Empty),
            Kw::Comment => ("$comment", Absent::Empty),
        }
    }

    /// The keyword's value in `schema`, `None` when absent or equal to its absent reading.
    fn read<'a>(self, schema: &Schema<'a>) -> Option<&'a Value> {
        let (name, absent) = self.spelling();
        let value = schema.get(name)?;
        // The boolean forms of these keywords are values; their schema forms are subschemas.
        if matches!(
            self,
            Kw::AdditionalPropertiesAllowed
                | Kw::UnevaluatedItemsAllowed
                | Kw::UnevaluatedPropertiesAllowed
        ) && !value.is_boolean()
        {
            return None;
        }
        let is_absent = match absent {
            Absent::Missing => value.is_null(),
            Absent::False => value == &Value::Bool(false) || value.is_null(),
            Absent::Zero => value.as_f64() == Some(0.0) || value.is_null(),
            Absent::Empty => value.as_str() == Some("") || value.is_null(),
        };
        (!is_absent).then_some(value)
    }
}

/// A keyword whose value changed; `None` on a side is the keyword's absent reading.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ValueDiff<'a> {
    pub from: Option<&'a Value>,
    pub to: Option<&'a Value>,
}

impl ValueDiff<'_> {
    pub fn became_true(&self) -> bool {
        self.to == Some(&Value::Bool(true))
    }
    pub fn was_true(&self) -> bool {
        self.from == Some(&Value::Bool(true))
    }
}

/// Names added to and removed from a list (types, required properties, ...).
#[derive(Debug, Clone, Default)]
pub(crate) struct StringsDiff {
    pub added: Vec<String>,
    pub deleted: Vec<String>,
}

impl StringsDiff {
    pub fn between(base: &[&str], revision: &[&str]) -> Option<Self> {
        let diff = StringsDiff {
            added: revision
                .iter()
                .filter(|name| !base.contains(name))
                .map(|name| (*name).to_owned())
                .collect(),
            deleted: base
                .iter()
                .filter(|name| !revision.contains(name))
                .map(|name| (*name).to_owned())
                .collect(),
        };
        (!diff.added.is_empty() || !diff.deleted.is_empty()).then_some(diff)
    }
}

/// Enum values added and removed, and whether the `enum` keyword itself came or went.
#[derive(Debug, Clone, Default)]
pub(crate) struct EnumDiff<'a> {
    pub enum_added: bool,
    pub added: Vec<&'a Value>,
    pub deleted: Vec<&'a Value>,
}

/// Named subschemas (`properties`, `patternProperties`, `dependentSchemas`, `$defs`).
pub(crate) type MapDiff<'a> = super::Keyed<Rc<SchemaDiff<'a>>>;

/// One entry of a subschema list, named the way findings name it.
#[derive(Debug, Clone)]
pub(crate) struct Subschema {
    pub index: usize,
    pub component: String,
    pub title: String,
}

impl std::fmt::Display for Subschema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.title.is_empty() {
            write!(f, "subschema #{}: {}", self.index + 1, self.title)
        } else if !self.component.is_empty() {
            write!(f, "#/components/schemas/{}", self.component)
        } else {
            write!(f, "subschema #{}", self.index + 1)
        }
    }
}

/// A pair of matched subschemas that differ.
pub(crate) struct ModifiedSubschema<'a> {
    pub base: Subschema,
    pub revision: Subschema,
    pub diff: Rc<SchemaDiff<'a>>,
}

impl ModifiedSubschema<'_> {
    pub fn name(&self) -> String {
        let (base, revision) = (self.base.to_string(), self.revision.to_string());
        if base == revision {
            base
        } else {
            format!("{base} -> {revision}")
        }
    }
}

/// A subschema list (`allOf`, `anyOf`, `oneOf`, `prefixItems`) compared: references matched by
/// name, inline schemas by content, then by title, then a single leftover pair to each other.
#[derive(Default)]
pub(crate) struct SubschemasDiff<'a> {
    pub added: Vec<Subschema>,
    pub deleted: Vec<Subschema>,
    pub modified: Vec<ModifiedSubschema<'a>>,
}

/// `dependentRequired` compared per property.
#[derive(Debug, Clone, Default)]
pub(crate) struct DependentRequiredDiff {
    pub added: BTreeMap<String, Vec<String>>,
    pub deleted: BTreeMap<String, Vec<String>>,
    pub modified: BTreeMap<String, StringsDiff>,
}

/// The `discriminator` object compared.
#[derive(Debug, Clone, Default)]
pub(crate) struct DiscriminatorDiff {
    pub added: bool,
    pub deleted: bool,
    pub property_name: Option<(String, String)>,
    pub mapping_added: Vec<String>,
    pub mapping_deleted: Vec<String>,
    pub mapping_modified: BTreeMap<String, (String, String)>,
}

/// The `x-...` extensions compared.
#[derive(Debug, Clone, Default)]
pub(crate) struct ExtensionsDiff<'a> {
    pub added: Vec<&'a str>,
    pub deleted: Vec<&'a str>,
    pub modified: Vec<(&'a str, ValueDiff<'a>)>,
}

impl<'a> ExtensionsDiff<'a> {
    pub fn between(
        base: &'a serde_json::Map<String, Value>,
        revision: &'a serde_json::Map<String, Value>,
    ) -> Option<Self> {
        let mut diff = ExtensionsDiff::default();
        for (key, value) in base.iter().filter(|(key, _)| key.starts_with("x-")) {
            match revision.get(key) {
                None => diff.deleted.push(key),
                Some(other) if !values_equal(value, other) => diff.modified.push((
                    key,
                    ValueDiff {
                        from: Some(value),
                        to: Some(other),
                    },
                )),
                Some(_) => {}
            }
        }
        for key in revision.keys().filter(|key| key.starts_with("x-")) {
            if !base.contains_key(key) {
                diff.added.push(key);
            }
        }
        (!diff.added.is_empty() || !diff.deleted.is_empty() || !diff.modified.is_empty())
            .then_some(diff)
    }

    pub fn touches(&self, name: &str) -> bool {
        self.added.contains(&name)
            || self.deleted.contains(&name)
            || self.modified.iter().any(|(key, _)| *key == name)
    }
}

/// Types in the list-of-types pattern (`oneOf`/`anyOf` of simple typed schemas) that came
/// or went.
#[derive(Debug, Clone, Default)]
pub(crate) struct ListOfTypesDiff {
    pub added: Vec<String>,
    pub deleted: Vec<String>,
}

/// A concrete object schema wrapped into a `oneOf` of alternatives carrying its properties.
#[derive(Debug, Clone, Default)]
pub(crate) struct OneOfWrapping {
    pub moved_properties: Vec<String>,
}

/// The difference between two schemas. A side is `None` when the schema was added or removed.
pub(crate) struct SchemaDiff<'a> {
    pub base: Option<Schema<'a>>,
    pub revision: Option<Schema<'a>>,
    pub circular: bool,
    pub values: Vec<(Kw, ValueDiff<'a>)>,
    pub types: Option<StringsDiff>,
    pub enumeration: Option<EnumDiff<'a>>,
    pub required: Option<StringsDiff>,
    pub properties: Option<MapDiff<'a>>,
    pub pattern_properties: Option<MapDiff<'a>>,
    pub dependent_schemas: Option<MapDiff<'a>>,
    pub defs: Option<MapDiff<'a>>,
    pub all_of: Option<SubschemasDiff<'a>>,
    pub any_of: Option<SubschemasDiff<'a>>,
    pub one_of: Option<SubschemasDiff<'a>>,
    pub prefix_items: Option<SubschemasDiff<'a>>,
    pub items: Option<Rc<SchemaDiff<'a>>>,
    pub not: Option<Rc<SchemaDiff<'a>>>,
    pub additional_properties: Option<Rc<SchemaDiff<'a>>>,
    pub contains: Option<Rc<SchemaDiff<'a>>>,
    pub property_names: Option<Rc<SchemaDiff<'a>>>,
    pub unevaluated_items: Option<Rc<SchemaDiff<'a>>>,
    pub unevaluated_properties: Option<Rc<SchemaDiff<'a>>>,
    pub if_schema: Option<Rc<SchemaDiff<'a>>>,
    pub then_schema: Option<Rc<SchemaDiff<'a>>>,
    pub else_schema: Option<Rc<SchemaDiff<'a>>>,
    pub content_schema: Option<Rc<SchemaDiff<'a>>>,
    pub dependent_required: Option<DependentRequiredDiff>,
    pub discriminator: Option<DiscriminatorDiff>,
    pub extensions: Option<ExtensionsDiff<'a>>,
    pub list_of_types: Option<ListOfTypesDiff>,
    pub one_of_wrapping: Option<OneOfWrapping>,
    /// The base schema, which rejected null, became `oneOf: [{type: null}, <the base>]`.
    pub nullable_wrapping: bool,
}

impl<'a> SchemaDiff<'a> {
    fn new(base: Option<Schema<'a>>, revision: Option<Schema<'a>>) -> Self {
        SchemaDiff {
            base,
            revision,
            circular: false,
            values: Vec::new(),
            types: None,
            enumeration: None,
            required: None,
            properties: None,
            pattern_properties: None,
            dependent_schemas: None,
            defs: None,
            all_of: None,
            any_of: None,
            one_of: None,
            prefix_items: None,
            items: None,
            not: None,
            additional_properties: None,
            contains: None,
            property_names: None,
            unevaluated_items: None,
            unevaluated_properties: None,
            if_schema: None,
            then_schema: None,
            else_schema: None,
            content_schema: None,
            dependent_required: None,
            discriminator: None,
            extensions: None,
            list_of_types: None,
            one_of_wrapping: None,
            nullable_wrapping: false,
        }
    }

    /// True when the schema was added (no base) or removed (no revision).
    pub fn added(&self) -> bool {
        self.base.is_none() && self.revision.is_some()
    }
    pub fn deleted(&self) -> bool {
        self.base.is_some() && self.revision.is_none()
    }

    pub fn value(&self, keyword: Kw) -> Option<&ValueDiff<'a>> {
        self.values
            .iter()
            .find(|(kw, _)| *kw == keyword)
            .map(|(_, diff)| diff)
    }

    fn is_empty(&self) -> bool {
        self.base.is_some()
            && self.revision.is_some()
            && !self.circular
            && self.values.is_empty()
            && self.types.is_none()
            && self.enumeration.is_none()
            && self.required.is_none()
            && self.properties.is_none()
            && self.pattern_properties.is_none()
            && self.dependent_schemas.is_none()
            && self.defs.is_none()
            && self.all_of.is_none()
            && self.any_of.is_none()
            && self.one_of.is_none()
            && self.prefix_items.is_none()
            && self.items.is_none()
            && self.not.is_none()
            && self.additional_properties.is_none()
            && self.contains.is_none()
            && self.property_names.is_none()
            && self.unevaluated_items.is_none()
            && self.unevaluated_properties.is_none()
            && self.if_schema.is_none()
            && self.then_schema.is_none()
            && self.else_schema.is_none()
            && self.content_schema.is_none()
            && self.dependent_required.is_none()
            && self.discriminator.is_none()
            && self.extensions.is_none()
            && self.list_of_types.is_none()
            && self.one_of_wrapping.is_none()
            && !self.nullable_wrapping
    }

    /// True when the two schemas accept the same instances: every difference is in
    /// annotations (titles, descriptions, examples, comments, extensions).
    pub fn annotation_only(&self) -> bool {
        const ANNOTATIONS: [Kw; 6] = [
            Kw::Title,
            Kw::Description,
            Kw::Example,
            Kw::Examples,
            Kw::Comment,
            Kw::Deprecated,
        ];
        let child = |c: &Option<Rc<SchemaDiff<'_>>>| c.as_ref().is_none_or(|d| d.annotation_only());
        let map = |m: &Option<MapDiff<'_>>| {
            m.as_ref().is_none_or(|m| {
                m.added.is_empty()
                    && m.deleted.is_empty()
                    && m.modified.values().all(|d| d.annotation_only())
            })
        };
        let list = |l: &Option<SubschemasDiff<'_>>| {
            l.as_ref().is_none_or(|l| {
                l.added.is_empty()
                    && l.deleted.is_empty()
                    && l.modified.iter().all(|m| m.diff.annotation_only())
            })
        };
        self.base.is_some()
            && self.revision.is_some()
            && !self.circular
            && self.values.iter().all(|(kw, _)| ANNOTATIONS.contains(kw))
            && self.types.is_none()
            && self.enumeration.is_none()
            && self.required.is_none()
            && map(&self.properties)
            && map(&self.pattern_properties)
            && map(&self.dependent_schemas)
            && list(&self.all_of)
            && list(&self.any_of)
            && list(&self.one_of)
            && list(&self.prefix_items)
            && child(&self.items)
            && child(&self.not)
            && child(&self.additional_properties)
            && child(&self.contains)
            && child(&self.property_names)
            && child(&self.unevaluated_items)
            && child(&self.unevaluated_properties)
            && child(&self.if_schema)
            && child(&self.then_schema)
            && child(&self.else_schema)
            && child(&self.content_schema)
            && self.dependent_required.is_none()
            && self.discriminator.is_none()
            && !self.nullable_wrapping
    }

    pub fn base_types(&self) -> Vec<&'a str> {
        self.base.map(|s| s.types()).unwrap_or_default()
    }
    pub fn revision_types(&self) -> Vec<&'a str> {
        self.revision.map(|s| s.types()).unwrap_or_default()
    }
}

/// Which side of an exchange a schema describes; requests and responses are compared with
/// separate caches, as their differences are read differently.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Direction {
    Request,
    Response,
}

/// Compares schemas of one document pair, remembering what it compared.
pub(crate) struct SchemaDiffer<'a> {
    base_spec: &'a OpenApi,
    revision_spec: &'a OpenApi,
    visited_base: HashSet<&'a str>,
    visited_revision: HashSet<&'a str>,
    cache: HashMap<(usize, usize, Direction), Option<Rc<SchemaDiff<'a>>>>,
    pub direction: Direction,
    /// Path-level parameters count as each operation's own.
    pub flatten_params: bool,
}

impl<'a> SchemaDiffer<'a> {
    pub fn new(base_spec: &'a OpenApi, revision_spec: &'a OpenApi) -> Self {
        SchemaDiffer {
            base_spec,
            revision_spec,
            visited_base: HashSet::new(),
            visited_revision: HashSet::new(),
            cache: HashMap::new(),
            direction: Direction::Request,
            flatten_params: false,
        }
    }

    /// Compares two optional schema values; `None` when they do not differ.
    pub fn diff(
        &mut self,
        base: Option<&'a Value>,
        revision: Option<&'a Value>,
    ) -> Option<Rc<SchemaDiff<'a>>> {
        match (base, revision) {
            (None, None) => None,
            (None, Some(revision)) => Some(Rc::new(SchemaDiff::new(
                None,
                Some(Schema::at(self.revision_spec, revision)),
            ))),
            (Some(base), None) => Some(Rc::new(SchemaDiff::new(
                Some(Schema::at(self.base_spec, base)),
                None,
            ))),
            (Some(base), Some(revision)) => {
                let base = Schema::at(self.base_spec, base);
                let revision = Schema::at(self.revision_spec, revision);
                self.diff_schemas(base, revision)
            }
        }
    }

    pub fn diff_schemas(
        &mut self,
        base: Schema<'a>,
        revision: Schema<'a>,
    ) -> Option<Rc<SchemaDiff<'a>>> {
        let in_base = !base.reference.is_empty() && self.visited_base.contains(base.reference);
        let in_revision =
            !revision.reference.is_empty() && self.visited_revision.contains(revision.reference);
        if in_base || in_revision {
            // A reference being compared higher up is reached again: the cycle is the same
            // when both sides loop through the same name.
            if in_base && in_revision && base.reference == revision.reference {
                return None;
            }
            let mut diff = SchemaDiff::new(Some(base), Some(revision));
            diff.circular = true;
            return Some(Rc::new(diff));
        }
        let key = (base.identity(), revision.identity(), self.direction);
        if let Some(cached) = self.cache.get(&key) {
            return cached.clone();
        }
        let added_base = !base.reference.is_empty() && self.visited_base.insert(base.reference);
        let added_revision =
            !revision.reference.is_empty() && self.visited_revision.insert(revision.reference);
        let diff = self.compare(base, revision);
        if added_base {
            self.visited_base.remove(base.reference);
        }
        if added_revision {
            self.visited_revision.remove(revision.reference);
        }
        let diff = (!diff.is_empty()).then(|| Rc::new(diff));
        self.cache.insert(key, diff.clone());
        diff
    }

    /// True when the two schemas accept the same instances (they differ in annotations at
    /// most).
    fn equivalent(&mut self, base: Schema<'a>, revision: Schema<'a>) -> bool {
        self.diff_schemas(base, revision)
            .is_none_or(|d| d.annotation_only())
    }

    /// `base` (no composition, rejecting null) became `oneOf: [{type: null}, X]` with X
    /// equivalent to `base`, and nothing else constraining beside the `oneOf`.
    fn nullable_wrapping(&mut self, base: &Schema<'a>, revision: &Schema<'a>) -> bool {
        if ["oneOf", "anyOf", "allOf"]
            .iter()
            .any(|k| !base.schema_list(k).is_empty())
            || base.get("not").is_some()
        {
            return false;
        }
        if base.flag("nullable") || base.types().contains(&"null") {
            return false;
        }
        let alternatives = revision.schema_list("oneOf");
        if alternatives.len() != 2
            || !revision
                .keywords
                .keys()
                .all(|k| k == "oneOf" || crate::schema::is_description_keyword(k))
        {
            return false;
        }
        let branches: Vec<Schema<'a>> = alternatives
            .iter()
            .map(|v| Schema::at(self.revision_spec, v))
            .collect();
        let bare_null = |s: &Schema<'_>| {
            s.types() == ["null"]
                && s.keywords
                    .keys()
                    .all(|k| k == "type" || crate::schema::is_description_keyword(k))
        };
        let nulls = branches.iter().filter(|b| bare_null(b)).count();
        let Some(payload) = branches.iter().find(|b| !bare_null(b)) else {
            return false;
        };
        // the base is compared as written here, not as the reference being compared above
        let inline_base = Schema {
            reference: "",
            keywords: base.keywords,
        };
        nulls == 1 && self.equivalent(inline_base, *payload)
    }

    fn sub(
        &mut self,
        base: &Schema<'a>,
        revision: &Schema<'a>,
        keyword: &str,
    ) -> Option<Rc<SchemaDiff<'a>>> {
        self.diff(base.subschema(keyword), revision.subschema(keyword))
    }

    fn compare(&mut self, base: Schema<'a>, revision: Schema<'a>) -> SchemaDiff<'a> {
        let mut diff = SchemaDiff::new(Some(base), Some(revision));
        // Only the keywords either side has are looked at.
        let mut present = 0u64;
        for key in base.keywords.keys().chain(revision.keywords.keys()) {
            if let Some(keyword) = Kw::named(key) {
                present |= 1 << (keyword as u32);
            } else if let Some(bit) = structural_bit(key) {
                present |= 1 << bit;
                // the boolean forms of these are value keywords
                let boolean_form = match key.as_str() {
                    "additionalProperties" => Some(Kw::AdditionalPropertiesAllowed),
                    "unevaluatedItems" => Some(Kw::UnevaluatedItemsAllowed),
                    "unevaluatedProperties" => Some(Kw::UnevaluatedPropertiesAllowed),
                    _ => None,
                };
                if let Some(keyword) = boolean_form {
                    present |= 1 << (keyword as u32);
                }
            }
        }
        let has = |name: &str| structural_bit(name).is_some_and(|bit| present & (1 << bit) != 0);
        for keyword in Kw::ALL {
            if present & (1 << (keyword as u32)) == 0 {
                continue;
            }
            let (from, to) = (keyword.read(&base), keyword.read(&revision));
            let differs = match (from, to) {
                (None, None) => false,
                (Some(a), Some(b)) => !values_equal(a, b),
                _ => true,
            };
            if differs {
                diff.values.push((keyword, ValueDiff { from, to }));
            }
        }
        diff.extensions = ExtensionsDiff::between(base.keywords, revision.keywords);
        if has("type") {
            diff.types = StringsDiff::between(&base.types(), &revision.types());
        }
        if has("enum") {
            diff.enumeration = enum_diff(&base, &revision);
        }
        if has("required") {
            diff.required = StringsDiff::between(&base.required(), &revision.required());
        }
        if has("discriminator") {
            diff.discriminator = discriminator_diff(&base, &revision);
        }
        if has("dependentRequired") {
            diff.dependent_required = dependent_required_diff(&base, &revision);
        }
        for (name, slot) in [
            ("allOf", &mut diff.all_of),
            ("anyOf", &mut diff.any_of),
            ("oneOf", &mut diff.one_of),
            ("prefixItems", &mut diff.prefix_items),
        ] {
            if has(name) {
                *slot = self.subschemas(&base, &revision, name);
            }
        }
        for (name, slot) in [
            ("not", &mut diff.not),
            ("items", &mut diff.items),
            ("additionalProperties", &mut diff.additional_properties),
            ("contains", &mut diff.contains),
            ("propertyNames", &mut diff.property_names),
            ("unevaluatedItems", &mut diff.unevaluated_items),
            ("unevaluatedProperties", &mut diff.unevaluated_properties),
            ("if", &mut diff.if_schema),
            ("then", &mut diff.then_schema),
            ("else", &mut diff.else_schema),
            ("contentSchema", &mut diff.content_schema),
        ] {
            if has(name) {
                *slot = self.sub(&base, &revision, name);
            }
        }
        for (name, slot) in [
            ("properties", &mut diff.properties),
            ("patternProperties", &mut diff.pattern_properties),
            ("dependentSchemas", &mut diff.dependent_schemas),
            ("$defs", &mut diff.defs),
        ] {
            if has(name) {
                *slot = self.schema_map(&base, &revision, name);
            }
        }
        if has("oneOf") || has("anyOf") || has("type") {
            diff.list_of_types = list_of_types(&base, &revision, self);
        }
        if has("oneOf") {
            diff.one_of_wrapping = one_of_wrapping(&base, &revision, self.revision_spec);
            diff.nullable_wrapping = self.nullable_wrapping(&base, &revision);
        }
        diff
    }

    fn schema_map(
        &mut self,
        base: &Schema<'a>,
        revision: &Schema<'a>,
        keyword: &str,
    ) -> Option<MapDiff<'a>> {
        let (left, right) = (base.schema_map(keyword), revision.schema_map(keyword));
        if left.is_empty() && right.is_empty() {
            return None;
        }
        super::Keyed::compare(left, right, super::any_key, |value, other| {
            self.diff(Some(value), Some(other))
        })
        .non_empty()
    }

    fn subschemas(
        &mut self,
        base: &Schema<'a>,
        revision: &Schema<'a>,
        keyword: &str,
    ) -> Option<SubschemasDiff<'a>> {
        let (left, right) = (base.schema_list(keyword), revision.schema_list(keyword));
        if left.is_empty() && right.is_empty() {
            return None;
        }
        let left: Vec<Schema<'a>> = left.iter().map(|v| Schema::at(self.base_spec, v)).collect();
        let right: Vec<Schema<'a>> = right
            .iter()
            .map(|v| Schema::at(self.revision_spec, v))
            .collect();
        let describe = |index: usize, schema: &Schema<'_>, by_ref: bool| Subschema {
            index,
            component: if by_ref {
                schema.component_name().to_owned()
            } else {
                String::new()
            },
            title: if by_ref {
                String::new()
            } else {
                schema.title().to_owned()
            },
        };
        let modified_entry =
            |i: usize, j: usize, a: &Schema<'_>, b: &Schema<'_>, diff: Rc<SchemaDiff<'a>>| {
                ModifiedSubschema {
                    base: Subschema {
                        index: i,
                        component: a.component_name().to_owned(),
                        title: a.title().to_owned(),
                    },
                    revision: Subschema {
                        index: j,
                        component: b.component_name().to_owned(),
                        title: b.title().to_owned(),
                    },
                    diff,
                }
            };
        let mut result = SubschemasDiff::default();
        let mut used_left = vec![false; left.len()];
        let mut used_right = vec![false; right.len()];

        // References, matched by their `$ref`.
        for (i, a) in left
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.reference.is_empty())
        {
            let Some(j) =
                (0..right.len()).find(|&j| !used_right[j] && right[j].reference == a.reference)
            else {
                continue;
            };
            used_left[i] = true;
            used_right[j] = true;
            if let Some(diff) = self.diff_schemas(*a, right[j]) {
                result
                    .modified
                    .push(modified_entry(i, j, a, &right[j], diff));
            }
        }

        // An inline schema pairs up with an equivalent schema of the other side (inline, or a
        // reference its name did not match); they differ in annotations at most.
        for i in 0..left.len() {
            if used_left[i] || !left[i].reference.is_empty() {
                continue;
            }
            if let Some(j) =
                (0..right.len()).find(|&j| !used_right[j] && self.equivalent(left[i], right[j]))
            {
                used_left[i] = true;
                used_right[j] = true;
                if let Some(diff) = self.diff_schemas(left[i], right[j]) {
                    result
                        .modified
                        .push(modified_entry(i, j, &left[i], &right[j], diff));
                }
            }
        }
        for j in 0..right.len() {
            if used_right[j] || !right[j].reference.is_empty() {
                continue;
            }
            if let Some(i) =
                (0..left.len()).find(|&i| !used_left[i] && self.equivalent(left[i], right[j]))
            {
                used_left[i] = true;
                used_right[j] = true;
                if let Some(diff) = self.diff_schemas(left[i], right[j]) {
                    result
                        .modified
                        .push(modified_entry(i, j, &left[i], &right[j], diff));
                }
            }
        }
        for i in (0..left.len()).filter(|&i| !used_left[i] && !left[i].reference.is_empty()) {
            result.deleted.push(describe(i, &left[i], true));
        }
        for j in (0..right.len()).filter(|&j| !used_right[j] && !right[j].reference.is_empty()) {
            result.added.push(describe(j, &right[j], true));
        }

        // Inline schemas left over: equal titles pair up, then one leftover pair without titles.
        let mut added: Vec<usize> = (0..right.len())
            .filter(|&j| !used_right[j] && right[j].reference.is_empty())
            .collect();
        let mut deleted: Vec<usize> = (0..left.len())
            .filter(|&i| !used_left[i] && left[i].reference.is_empty())
            .collect();

        let mut matched_titles: HashSet<&str> = HashSet::new();
        let mut pairs = Vec::new();
        for &j in &added {
            let title = right[j].title();
            if title.is_empty() || matched_titles.contains(title) {
                continue;
            }
            if let Some(&i) = deleted.iter().find(|&&i| left[i].title() == title) {
                matched_titles.insert(title);
                pairs.push((i, j));
            }
        }
        for &(i, j) in &pairs {
            if let Some(diff) = self.diff_schemas(left[i], right[j]) {
                result
                    .modified
                    .push(modified_entry(i, j, &left[i], &right[j], diff));
            }
        }
        added.retain(|j| !pairs.iter().any(|(_, pj)| pj == j));
        deleted.retain(|i| !pairs.iter().any(|(pi, _)| pi == i));
        if added.len() == 1
            && deleted.len() == 1
            && left[deleted[0]].title().is_empty()
            && right[added[0]].title().is_empty()
        {
            let (i, j) = (deleted[0], added[0]);
            if let Some(diff) = self.diff_schemas(left[i], right[j]) {
                result
                    .modified
                    .push(modified_entry(i, j, &left[i], &right[j], diff));
            }
            added.clear();
            deleted.clear();
        }
        result
            .added
            .extend(added.into_iter().map(|j| describe(j, &right[j], false)));
        result
            .deleted
            .extend(deleted.into_iter().map(|i| describe(i, &left[i], false)));
        (!result.added.is_empty() || !result.deleted.is_empty() || !result.modified.is_empty())
            .then_some(result)
    }
}

fn enum_diff<'a>(base: &Schema<'a>, revision: &Schema<'a>) -> Option<EnumDiff<'a>> {
    let (left, right) = (base.get("enum"), revision.get("enum"));
    let (left_values, right_values) = (base.enum_values(), revision.enum_values());
    let diff = EnumDiff {
        enum_added: left.is_none() && right.is_some(),
        added: right_values
            .iter()
            .filter(|v| !left_values.iter().any(|w| values_equal(v, w)))
            .collect(),
        deleted: left_values
            .iter()
            .filter(|v| !right_values.iter().any(|w| values_equal(v, w)))
            .collect(),
    };
    (!diff.added.is_empty() || !diff.deleted.is_empty()).then_some(diff)
}

fn discriminator_diff(base: &Schema<'_>, revision: &Schema<'_>) -> Option<DiscriminatorDiff> {
    let (left, right) = (base.get("discriminator"), revision.get("discriminator"));
    let mut diff = DiscriminatorDiff::default();
    match (left, right) {
        (None, None) => return None,
        (None, Some(_)) => diff.added = true,
        (Some(_), None) => diff.deleted = true,
        (Some(left), Some(right)) => {
            let name = |d: &Value| {
                d.get("propertyName")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            };
            if name(left) != name(right) {
                diff.property_name = Some((name(left), name(right)));
            }
            let mapping = |d: &Value| -> BTreeMap<String, String> {
                d.get("mapping")
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let (lm, rm) = (mapping(left), mapping(right));
            for (key, value) in &lm {
                match rm.get(key) {
                    None => diff.mapping_deleted.push(key.clone()),
                    Some(other) if other != value => {
                        diff.mapping_modified
                            .insert(key.clone(), (value.clone(), other.clone()));
                    }
                    Some(_) => {}
                }
            }
            for key in rm.keys() {
                if !lm.contains_key(key) {
                    diff.mapping_added.push(key.clone());
                }
            }
            if diff.property_name.is_none()
                && diff.mapping_added.is_empty()
                && diff.mapping_deleted.is_empty()
                && diff.mapping_modified.is_empty()
            {
                return None;
            }
        }
    }
    Some(diff)
}

fn dependent_required_diff(
    base: &Schema<'_>,
    revision: &Schema<'_>,
) -> Option<DependentRequiredDiff> {
    let read = |s: &Schema<'_>| -> BTreeMap<String, Vec<String>> {
        s.schema_map("dependentRequired")
            .iter()
            .map(|(k, v)| {
                let names = v
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                (k.clone(), names)
            })
            .collect()
    };
    let (left, right) = (read(base), read(revision));
    if left.is_empty() && right.is_empty() {
        return None;
    }
    let mut diff = DependentRequiredDiff::default();
    for (key, names) in &left {
        match right.get(key) {
            None => {
                diff.deleted.insert(key.clone(), names.clone());
            }
            Some(other) => {
                let a: Vec<&str> = names.iter().map(String::as_str).collect();
                let b: Vec<&str> = other.iter().map(String::as_str).collect();
                if let Some(changed) = StringsDiff::between(&a, &b) {
                    diff.modified.insert(key.clone(), changed);
                }
            }
        }
    }
    for (key, names) in &right {
        if !left.contains_key(key) {
            diff.added.insert(key.clone(), names.clone());
        }
    }
    (!diff.added.is_empty() || !diff.deleted.is_empty() || !diff.modified.is_empty())
        .then_some(diff)
}

/// The list-of-types pattern: a single `type`, or a `oneOf`/`anyOf` of simple typed schemas.
fn type_pattern<'a>(
    schema: &Schema<'a>,
    differ: &SchemaDiffer<'a>,
    spec_is_base: bool,
) -> Option<(Vec<String>, bool)> {
    if schema.get("not").is_some()
        || !schema.schema_list("allOf").is_empty()
        || !schema.schema_map("properties").is_empty()
    {
        return None;
    }
    let types = schema.types();
    if let Some(first) = types.first() {
        return Some((vec![(*first).to_owned()], false));
    }
    let spec = if spec_is_base {
        differ.base_spec
    } else {
        differ.revision_spec
    };
    let list = |keyword: &str| -> Option<Vec<String>> {
        let mut out = Vec::new();
        for value in schema.schema_list(keyword) {
            let member = Schema::at(spec, value);
            let member_types = member.types();
            if member_types.len() != 1
                || !member.schema_map("properties").is_empty()
                || !member.schema_list("oneOf").is_empty()
                || !member.schema_list("anyOf").is_empty()
                || !member.schema_list("allOf").is_empty()
            {
                return None;
            }
            out.push(member_types[0].to_owned());
        }
        Some(out)
    };
    let one_of = list("oneOf");
    let any_of = list("anyOf");
    match (one_of, any_of) {
        (Some(types), _) if !types.is_empty() => Some((types, true)),
        (_, Some(types)) if !types.is_empty() => Some((types, true)),
        (Some(types), _) => Some((types, true)),
        (_, Some(types)) => Some((types, true)),
        _ => None,
    }
}

fn list_of_types<'a>(
    base: &Schema<'a>,
    revision: &Schema<'a>,
    differ: &SchemaDiffer<'a>,
) -> Option<ListOfTypesDiff> {
    let left = type_pattern(base, differ, true);
    let right = type_pattern(revision, differ, false);
    let same = match (&left, &right) {
        (None, None) => true,
        (Some((a, _)), Some((b, _))) => a.len() == b.len() && b.iter().all(|t| a.contains(t)),
        _ => false,
    };
    let has_list = left.as_ref().is_some_and(|(_, list)| *list)
        || right.as_ref().is_some_and(|(_, list)| *list);
    if same || !has_list {
        return None;
    }
    let left_types = left.map(|(t, _)| t).unwrap_or_default();
    let right_types = right.map(|(t, _)| t).unwrap_or_default();
    let mut diff = ListOfTypesDiff::default();
    for t in &right_types {
        if !left_types.contains(t) && !diff.added.contains(t) {
            diff.added.push(t.clone());
        }
    }
    for t in &left_types {
        if !right_types.contains(t) && !diff.deleted.contains(t) {
            diff.deleted.push(t.clone());
        }
    }
    diff.added.sort();
    diff.deleted.sort();
    (!diff.added.is_empty() || !diff.deleted.is_empty()).then_some(diff)
}

fn one_of_wrapping(
    base: &Schema<'_>,
    revision: &Schema<'_>,
    revision_spec: &OpenApi,
) -> Option<OneOfWrapping> {
    let properties = base.schema_map("properties");
    if !base.schema_list("oneOf").is_empty() || properties.is_empty() {
        return None;
    }
    let alternatives = revision.schema_list("oneOf");
    if alternatives.is_empty()
        || !revision.schema_map("properties").is_empty()
        || !revision.types().is_empty()
    {
        return None;
    }
    let moved: Vec<String> = properties
        .keys()
        .filter(|name| {
            alternatives.iter().any(|alt| {
                Schema::at(revision_spec, alt)
                    .schema_map("properties")
                    .contains_key(name.as_str())
            })
        })
        .cloned()
        .collect();
    (!moved.is_empty()).then_some(OneOfWrapping {
        moved_properties: moved,
    })
}
