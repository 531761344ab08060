//! The structural difference between two OpenAPI documents: paths (matched modulo the names of
//! their template variables), operations, parameters, request bodies, responses, headers,
//! media types, security requirements, webhooks and components. Checks read this tree; it
//! says what differs, not whether that breaks anyone.

pub(crate) mod schema_diff;

/// The entries of two mappings compared key by key: keys only on the right were added, only on
/// the left deleted, and entries on both sides compared by the caller (`None`: no difference).
#[derive(Debug)]
pub(crate) struct Keyed<T> {
    pub added: Vec<String>,
    pub deleted: Vec<String>,
    pub modified: BTreeMap<String, T>,
}

impl<T> Default for Keyed<T> {
    fn default() -> Self {
        Keyed {
            added: Vec::new(),
            deleted: Vec::new(),
            modified: BTreeMap::new(),
        }
    }
}

impl<T> Keyed<T> {
    /// Compares the entries whose key `keep` accepts.
    pub fn compare<'v>(
        left: &'v Map<String, Value>,
        right: &'v Map<String, Value>,
        keep: fn(&str) -> bool,
        mut changed: impl FnMut(&'v Value, &'v Value) -> Option<T>,
    ) -> Self {
        let mut diff = Keyed::default();
        for (name, value) in left.iter().filter(|(k, _)| keep(k)) {
            match right.get(name) {
                None => diff.deleted.push(name.clone()),
                Some(other) => {
                    if let Some(change) = changed(value, other) {
                        diff.modified.insert(name.clone(), change);
                    }
                }
            }
        }
        diff.added = right
            .keys()
            .filter(|k| keep(k) && !left.contains_key(*k))
            .cloned()
            .collect();
        diff
    }

    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.deleted.is_empty() && self.modified.is_empty()
    }

    /// `Some` when something differs.
    pub fn non_empty(self) -> Option<Self> {
        (!self.is_empty()).then_some(self)
    }
}

/// Every key counts.
pub(crate) fn any_key(_: &str) -> bool {
    true
}

/// Specification extensions (`x-...`) are not entries.
fn not_extension(key: &str) -> bool {
    !key.starts_with("x-")
}

use crate::document::{OpenApi, empty_map};
use crate::schema::{maps_equal, values_equal};
use schema_diff::{Direction, ExtensionsDiff, SchemaDiff, SchemaDiffer, StringsDiff, ValueDiff};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::rc::Rc;

/// The HTTP methods an OpenAPI path item may hold, in the order they are compared.
pub(crate) const METHODS: [&str; 8] = [
    "get", "head", "post", "put", "patch", "delete", "options", "trace",
];

pub(crate) struct SpecDiff<'a> {
    pub base: &'a OpenApi,
    pub revision: &'a OpenApi,
    pub paths: PathsDiff<'a>,
    pub webhooks: PathsDiff<'a>,
    pub security: Option<SecurityDiff>,
    pub security_schemes: SecuritySchemesDiff<'a>,
    pub schemas_deleted: Vec<String>,
    pub version: Option<(String, String)>,
}

#[derive(Default)]
pub(crate) struct PathsDiff<'a> {
    pub added: Vec<String>,
    pub deleted: Vec<String>,
    pub modified: BTreeMap<String, PathDiff<'a>>,
    pub base: BTreeMap<String, &'a Map<String, Value>>,
    pub revision: BTreeMap<String, &'a Map<String, Value>>,
}

pub(crate) struct PathDiff<'a> {
    pub base: &'a Map<String, Value>,
    pub revision: &'a Map<String, Value>,
    pub operations_added: Vec<&'static str>,
    pub operations_deleted: Vec<&'static str>,
    pub operations_modified: BTreeMap<&'static str, OperationDiff<'a>>,
    pub parameters: Option<ParametersDiff<'a>>,
}

impl<'a> PathDiff<'a> {
    pub fn base_operation(&self, method: &str) -> &'a Map<String, Value> {
        operation(self.base, method)
    }
    pub fn revision_operation(&self, method: &str) -> &'a Map<String, Value> {
        operation(self.revision, method)
    }
}

pub(crate) fn operation<'a>(item: &'a Map<String, Value>, method: &str) -> &'a Map<String, Value> {
    item.get(method)
        .and_then(Value::as_object)
        .unwrap_or(empty_map())
}

pub(crate) struct OperationDiff<'a> {
    pub base: &'a Map<String, Value>,
    pub revision: &'a Map<String, Value>,
    pub extensions: Option<ExtensionsDiff<'a>>,
    pub deprecated: Option<ValueDiff<'a>>,
    pub tags: Option<StringsDiff>,
    pub operation_id: Option<ValueDiff<'a>>,
    pub parameters: Option<ParametersDiff<'a>>,
    pub request_body: Option<RequestBodyDiff<'a>>,
    pub responses: Option<ResponsesDiff<'a>>,
    pub security: Option<SecurityDiff>,
}

/// A parameter's identity: where it goes and its name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ParamKey {
    pub location: String,
    pub name: String,
}

#[derive(Default)]
pub(crate) struct ParametersDiff<'a> {
    pub added: Vec<(ParamKey, &'a Map<String, Value>)>,
    pub deleted: Vec<(ParamKey, &'a Map<String, Value>)>,
    pub modified: Vec<(ParamKey, ParameterDiff<'a>)>,
}

pub(crate) struct ParameterDiff<'a> {
    pub base: &'a Map<String, Value>,
    pub revision: &'a Map<String, Value>,
    pub extensions: Option<ExtensionsDiff<'a>>,
    pub required: Option<ValueDiff<'a>>,
    pub deprecated: Option<ValueDiff<'a>>,
    pub schema: Option<Rc<SchemaDiff<'a>>>,
    pub content: Option<ContentDiff<'a>>,
}

pub(crate) struct RequestBodyDiff<'a> {
    pub base: Option<&'a Map<String, Value>>,
    pub revision: Option<&'a Map<String, Value>>,
    pub required: Option<ValueDiff<'a>>,
    pub content: Option<ContentDiff<'a>>,
}

#[derive(Default)]
pub(crate) struct ContentDiff<'a> {
    pub added: Vec<String>,
    pub deleted: Vec<String>,
    pub modified: BTreeMap<String, MediaTypeDiff<'a>>,
}

pub(crate) struct MediaTypeDiff<'a> {
    /// Set when a media type was paired with an equivalent one of another name.
    pub renamed_from: Option<String>,
    pub schema: Option<Rc<SchemaDiff<'a>>>,
}

/// Responses by status.
pub(crate) type ResponsesDiff<'a> = Keyed<ResponseDiff<'a>>;

pub(crate) struct ResponseDiff<'a> {
    pub headers: Option<HeadersDiff<'a>>,
    pub content: Option<ContentDiff<'a>>,
}

/// Response headers by name; `removed` holds the deleted headers' objects.
pub(crate) struct HeadersDiff<'a> {
    pub headers: Keyed<HeaderDiff<'a>>,
    pub removed: Vec<(String, &'a Map<String, Value>)>,
}

pub(crate) struct HeaderDiff<'a> {
    pub required: Option<ValueDiff<'a>>,
    pub schema: Option<Rc<SchemaDiff<'a>>>,
    pub content: Option<ContentDiff<'a>>,
}

/// Security requirement alternatives: added and removed (named by their schemes joined with
/// ` AND `) and, per alternative, scopes added and removed per scheme.
#[derive(Default)]
pub(crate) struct SecurityDiff {
    pub added: Vec<String>,
    pub deleted: Vec<String>,
    pub modified: BTreeMap<String, BTreeMap<String, StringsDiff>>,
}

/// A base and a revision object.
pub(crate) type ObjectPair<'a> = (&'a Map<String, Value>, &'a Map<String, Value>);

/// Resolved parameter objects of the base and of the revision.
type ParamLists<'a> = (Vec<&'a Map<String, Value>>, Vec<&'a Map<String, Value>>);

/// `components.securitySchemes` compared.
pub(crate) type SecuritySchemesDiff<'a> = Keyed<ObjectPair<'a>>;

/// Computes the difference between two documents.
pub(crate) fn diff_specs<'a>(
    base: &'a OpenApi,
    revision: &'a OpenApi,
    flatten_params: bool,
) -> SpecDiff<'a> {
    let mut differ = SchemaDiffer::new(base, revision);
    differ.flatten_params = flatten_params;
    let (left, right) = (base.root_object(), revision.root_object());
    let mut diff = SpecDiff {
        base,
        revision,
        paths: paths_diff(
            &mut differ,
            base,
            revision,
            object(left, "paths"),
            object(right, "paths"),
            true,
        ),
        webhooks: paths_diff(
            &mut differ,
            base,
            revision,
            object(left, "webhooks"),
            object(right, "webhooks"),
            false,
        ),
        security: security_diff(left.get("security"), right.get("security")),
        security_schemes: Keyed::default(),
        schemas_deleted: Vec::new(),
        version: None,
    };
    let (lc, rc) = (object(left, "components"), object(right, "components"));
    let (ls, rs) = (object(lc, "securitySchemes"), object(rc, "securitySchemes"));
    diff.security_schemes = Keyed::compare(ls, rs, any_key, |scheme, other| {
        let (a, b) = (base.resolve_object(scheme), revision.resolve_object(other));
        (!maps_equal(a, b)).then_some((a, b))
    });
    let rschemas = object(rc, "schemas");
    diff.schemas_deleted = object(lc, "schemas")
        .keys()
        .filter(|name| !rschemas.contains_key(*name))
        .cloned()
        .collect();
    let version = |root: &Map<String, Value>| {
        object(root, "info")
            .get("version")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    diff.version = Some((version(left), version(right)));
    diff
}

pub(crate) fn object<'a>(map: &'a Map<String, Value>, key: &str) -> &'a Map<String, Value> {
    map.get(key)
        .and_then(Value::as_object)
        .unwrap_or(empty_map())
}

/// A path template with its variables blanked, and the variable names in order.
fn normalize_template(path: &str) -> (String, Vec<&str>) {
    let mut normalized = String::with_capacity(path.len());
    let mut names = Vec::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        normalized.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        names.push(&rest[open + 1..open + close]);
        normalized.push_str("{}");
        rest = &rest[open + close + 1..];
    }
    normalized.push_str(rest);
    (normalized, names)
}

/// How path variables were renamed between two matched templates (base name → revision name).
type PathParamsMap = Vec<(String, String)>;

fn find_path<'m>(
    path: &str,
    candidates: &'m Map<String, Value>,
) -> Option<(&'m String, PathParamsMap)> {
    if let Some((key, _)) = candidates.get_key_value(path) {
        return Some((key, Vec::new()));
    }
    let (normalized, names) = normalize_template(path);
    for key in candidates.keys() {
        let (other, other_names) = normalize_template(key);
        if other == normalized && other_names.len() == names.len() {
            let map = names
                .iter()
                .zip(&other_names)
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect();
            return Some((key, map));
        }
    }
    None
}

fn paths_diff<'a>(
    differ: &mut SchemaDiffer<'a>,
    base: &'a OpenApi,
    revision: &'a OpenApi,
    left: &'a Map<String, Value>,
    right: &'a Map<String, Value>,
    templated: bool,
) -> PathsDiff<'a> {
    let mut diff = PathsDiff::default();
    for (path, item) in left {
        diff.base.insert(path.clone(), base.resolve_object(item));
    }
    for (path, item) in right {
        diff.revision
            .insert(path.clone(), revision.resolve_object(item));
    }
    for (path, item) in left {
        let found = if templated {
            find_path(path, right)
        } else {
            right.get_key_value(path).map(|(key, _)| (key, Vec::new()))
        };
        match found {
            None => diff.deleted.push(path.clone()),
            Some((other_path, renames)) => {
                let (a, b) = (
                    base.resolve_object(item),
                    revision.resolve_object(&right[other_path]),
                );
                if let Some(path_diff) = path_item_diff(differ, base, revision, a, b, &renames) {
                    diff.modified.insert(path.clone(), path_diff);
                }
            }
        }
    }
    for path in right.keys() {
        let found = if templated {
            find_path(path, left).is_some()
        } else {
            left.contains_key(path)
        };
        if !found {
            diff.added.push(path.clone());
        }
    }
    diff
}

fn path_item_diff<'a>(
    differ: &mut SchemaDiffer<'a>,
    base: &'a OpenApi,
    revision: &'a OpenApi,
    left: &'a Map<String, Value>,
    right: &'a Map<String, Value>,
    renames: &PathParamsMap,
) -> Option<PathDiff<'a>> {
    let mut diff = PathDiff {
        base: left,
        revision: right,
        operations_added: Vec::new(),
        operations_deleted: Vec::new(),
        operations_modified: BTreeMap::new(),
        parameters: None,
    };
    for method in METHODS {
        match (left.get(method), right.get(method)) {
            (None, None) => {}
            (None, Some(_)) => diff.operations_added.push(method),
            (Some(_), None) => diff.operations_deleted.push(method),
            (Some(a), Some(b)) => {
                let (a, b) = (base.resolve_object(a), revision.resolve_object(b));
                let path_params = (
                    param_list(base, left.get("parameters")),
                    param_list(revision, right.get("parameters")),
                );
                if let Some(op) =
                    operation_diff(differ, base, revision, a, b, renames, &path_params)
                {
                    diff.operations_modified.insert(method, op);
                }
            }
        }
    }
    diff.parameters = parameters_diff(
        differ,
        param_list(base, left.get("parameters")),
        param_list(revision, right.get("parameters")),
        renames,
    );
    let structural = !diff.operations_added.is_empty()
        || !diff.operations_deleted.is_empty()
        || !diff.operations_modified.is_empty()
        || diff.parameters.is_some();
    (structural || !maps_equal(left, right)).then_some(diff)
}

fn value_diff<'a>(
    left: Option<&'a Value>,
    right: Option<&'a Value>,
    absent_false: bool,
) -> Option<ValueDiff<'a>> {
    let norm = |v: Option<&'a Value>| match v {
        Some(Value::Null) => None,
        Some(Value::Bool(false)) if absent_false => None,
        other => other,
    };
    let (from, to) = (norm(left), norm(right));
    let same = match (from, to) {
        (None, None) => true,
        (Some(a), Some(b)) => values_equal(a, b),
        _ => false,
    };
    (!same).then_some(ValueDiff { from, to })
}

fn operation_diff<'a>(
    differ: &mut SchemaDiffer<'a>,
    base: &'a OpenApi,
    revision: &'a OpenApi,
    left: &'a Map<String, Value>,
    right: &'a Map<String, Value>,
    renames: &PathParamsMap,
    path_params: &ParamLists<'a>,
) -> Option<OperationDiff<'a>> {
    let tags = |op: &'a Map<String, Value>| -> Vec<&'a str> {
        op.get("tags")
            .and_then(Value::as_array)
            .map(|t| t.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    };
    differ.direction = Direction::Request;
    let diff = OperationDiff {
        base: left,
        revision: right,
        extensions: ExtensionsDiff::between(left, right),
        deprecated: value_diff(left.get("deprecated"), right.get("deprecated"), true),
        tags: StringsDiff::between(&tags(left), &tags(right)),
        operation_id: value_diff(left.get("operationId"), right.get("operationId"), false),
        parameters: {
            let (mut ours, mut theirs) = (
                param_list(base, left.get("parameters")),
                param_list(revision, right.get("parameters")),
            );
            if differ.flatten_params {
                ours = merged(&path_params.0, ours);
                theirs = merged(&path_params.1, theirs);
            }
            parameters_diff(differ, ours, theirs, renames)
        },
        request_body: request_body_diff(
            differ,
            base,
            revision,
            left.get("requestBody"),
            right.get("requestBody"),
        ),
        responses: {
            differ.direction = Direction::Response;
            let responses = responses_diff(
                differ,
                base,
                revision,
                object(left, "responses"),
                object(right, "responses"),
            );
            differ.direction = Direction::Request;
            responses
        },
        security: security_diff(left.get("security"), right.get("security")),
    };
    let structural = diff.extensions.is_some()
        || diff.deprecated.is_some()
        || diff.tags.is_some()
        || diff.operation_id.is_some()
        || diff.parameters.is_some()
        || diff.request_body.is_some()
        || diff.responses.is_some()
        || diff.security.is_some();
    (structural || !maps_equal(left, right)).then_some(diff)
}

fn param_key(param: &Map<String, Value>) -> ParamKey {
    ParamKey {
        location: param
            .get("in")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        name: param
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
    }
}

/// The parameters a `parameters` list declares, references resolved.
fn param_list<'a>(spec: &'a OpenApi, list: Option<&'a Value>) -> Vec<&'a Map<String, Value>> {
    list.and_then(Value::as_array)
        .map(|items| items.iter().map(|p| spec.resolve_object(p)).collect())
        .unwrap_or_default()
}

/// Path-level parameters with the operation's own (which override same location and name).
fn merged<'a>(
    path_level: &[&'a Map<String, Value>],
    operation: Vec<&'a Map<String, Value>>,
) -> Vec<&'a Map<String, Value>> {
    let mut out: Vec<&Map<String, Value>> = path_level
        .iter()
        .filter(|p| !operation.iter().any(|o| param_key(o) == param_key(p)))
        .copied()
        .collect();
    out.extend(operation);
    out
}

fn parameters_diff<'a>(
    differ: &mut SchemaDiffer<'a>,
    left: Vec<&'a Map<String, Value>>,
    right: Vec<&'a Map<String, Value>>,
    renames: &PathParamsMap,
) -> Option<ParametersDiff<'a>> {
    if left.is_empty() && right.is_empty() {
        return None;
    }
    let matches = |a: &ParamKey, b: &ParamKey, forward: bool| {
        if a.location != b.location {
            return false;
        }
        if a.location != "path" || a.name == b.name {
            return a.name == b.name;
        }
        renames.iter().any(|(x, y)| {
            if forward {
                x == &a.name && y == &b.name
            } else {
                y == &a.name && x == &b.name
            }
        })
    };
    let mut diff = ParametersDiff::default();
    for param in &left {
        let key = param_key(param);
        match right
            .iter()
            .find(|other| matches(&key, &param_key(other), true))
        {
            None => diff.deleted.push((key, param)),
            Some(other) => {
                if let Some(changed) = parameter_diff(differ, param, other) {
                    diff.modified.push((key, changed));
                }
            }
        }
    }
    for param in &right {
        let key = param_key(param);
        if !left
            .iter()
            .any(|other| matches(&key, &param_key(other), false))
        {
            diff.added.push((key, param));
        }
    }
    (!diff.added.is_empty() || !diff.deleted.is_empty() || !diff.modified.is_empty())
        .then_some(diff)
}

fn parameter_diff<'a>(
    differ: &mut SchemaDiffer<'a>,
    left: &'a Map<String, Value>,
    right: &'a Map<String, Value>,
) -> Option<ParameterDiff<'a>> {
    let diff = ParameterDiff {
        base: left,
        revision: right,
        extensions: ExtensionsDiff::between(left, right),
        required: value_diff(left.get("required"), right.get("required"), true),
        deprecated: value_diff(left.get("deprecated"), right.get("deprecated"), true),
        schema: differ.diff(left.get("schema"), right.get("schema")),
        content: content_diff(differ, object(left, "content"), object(right, "content")),
    };
    let structural = diff.extensions.is_some()
        || diff.required.is_some()
        || diff.deprecated.is_some()
        || diff.schema.is_some()
        || diff.content.is_some();
    (structural || !maps_equal(left, right)).then_some(diff)
}

fn request_body_diff<'a>(
    differ: &mut SchemaDiffer<'a>,
    base: &'a OpenApi,
    revision: &'a OpenApi,
    left: Option<&'a Value>,
    right: Option<&'a Value>,
) -> Option<RequestBodyDiff<'a>> {
    let left = left.map(|v| base.resolve_object(v));
    let right = right.map(|v| revision.resolve_object(v));
    match (left, right) {
        (None, None) => None,
        (Some(_), None) | (None, Some(_)) => Some(RequestBodyDiff {
            base: left,
            revision: right,
            required: None,
            content: None,
        }),
        (Some(a), Some(b)) => {
            let diff = RequestBodyDiff {
                base: left,
                revision: right,
                required: value_diff(a.get("required"), b.get("required"), true),
                content: content_diff(differ, object(a, "content"), object(b, "content")),
            };
            (diff.required.is_some() || diff.content.is_some() || !maps_equal(a, b)).then_some(diff)
        }
    }
}

/// Parses `type/subtype+suffix;params` into its type, subtype and suffixes.
fn media_type_parts(name: &str) -> Option<(String, String, Vec<String>)> {
    let essence = name.split(';').next()?.trim().to_ascii_lowercase();
    let (kind, sub) = essence.split_once('/')?;
    let mut parts = sub.split('+').map(|p| p.trim().to_owned());
    let subtype = parts.next()?;
    if kind.trim().is_empty() || subtype.is_empty() {
        return None;
    }
    let suffixes: Vec<String> = parts.collect();
    if suffixes.iter().any(String::is_empty) {
        return None;
    }
    Some((kind.trim().to_owned(), subtype, suffixes))
}

/// Whether `specific` can be used where `general` was expected: the same type, and either the
/// same subtype with `general`'s suffixes as a prefix of its own, or a structured-syntax
/// refinement of a plain subtype (`application/json` → `application/problem+json`).
pub(crate) fn media_type_contains(general: &str, specific: &str) -> bool {
    let (Some((t1, s1, x1)), Some((t2, s2, x2))) =
        (media_type_parts(general), media_type_parts(specific))
    else {
        return false;
    };
    if t1 != t2 {
        return false;
    }
    if x1.is_empty() && x2.last() == Some(&s1) {
        return true;
    }
    s1 == s2 && x2.len() >= x1.len() && x1.iter().zip(&x2).all(|(a, b)| a == b)
}

fn content_diff<'a>(
    differ: &mut SchemaDiffer<'a>,
    left: &'a Map<String, Value>,
    right: &'a Map<String, Value>,
) -> Option<ContentDiff<'a>> {
    if left.is_empty() && right.is_empty() {
        return None;
    }
    let mut diff = ContentDiff::default();
    let mut deleted = Vec::new();
    for (name, media) in left {
        match right.get(name) {
            Some(other) => {
                let schema = differ.diff(media.get("schema"), other.get("schema"));
                let plain = !values_equal(media, other);
                if schema.is_some() || plain {
                    diff.modified.insert(
                        name.clone(),
                        MediaTypeDiff {
                            renamed_from: None,
                            schema,
                        },
                    );
                }
            }
            None => deleted.push(name.clone()),
        }
    }
    let mut paired = vec![false; deleted.len()];
    for (name, media) in right {
        if left.contains_key(name) {
            continue;
        }
        let partner = deleted.iter().enumerate().find(|(i, old)| {
            !paired[*i] && (media_type_contains(name, old) || media_type_contains(old, name))
        });
        match partner {
            Some((i, old)) => {
                paired[i] = true;
                let schema = differ.diff(left[old].get("schema"), media.get("schema"));
                diff.modified.insert(
                    name.clone(),
                    MediaTypeDiff {
                        renamed_from: Some(old.clone()),
                        schema,
                    },
                );
            }
            None => diff.added.push(name.clone()),
        }
    }
    diff.deleted = deleted
        .into_iter()
        .zip(paired)
        .filter(|(_, paired)| !paired)
        .map(|(name, _)| name)
        .collect();
    (!diff.added.is_empty() || !diff.deleted.is_empty() || !diff.modified.is_empty())
        .then_some(diff)
}

fn responses_diff<'a>(
    differ: &mut SchemaDiffer<'a>,
    base: &'a OpenApi,
    revision: &'a OpenApi,
    left: &'a Map<String, Value>,
    right: &'a Map<String, Value>,
) -> Option<ResponsesDiff<'a>> {
    Keyed::compare(left, right, not_extension, |response, other| {
        let (a, b) = (
            base.resolve_object(response),
            revision.resolve_object(other),
        );
        let changed = ResponseDiff {
            headers: headers_diff(
                differ,
                base,
                revision,
                object(a, "headers"),
                object(b, "headers"),
            ),
            content: content_diff(differ, object(a, "content"), object(b, "content")),
        };
        (changed.headers.is_some() || changed.content.is_some() || !maps_equal(a, b))
            .then_some(changed)
    })
    .non_empty()
}

fn headers_diff<'a>(
    differ: &mut SchemaDiffer<'a>,
    base: &'a OpenApi,
    revision: &'a OpenApi,
    left: &'a Map<String, Value>,
    right: &'a Map<String, Value>,
) -> Option<HeadersDiff<'a>> {
    let headers = Keyed::compare(left, right, any_key, |header, other| {
        let (a, b) = (base.resolve_object(header), revision.resolve_object(other));
        let changed = HeaderDiff {
            required: value_diff(a.get("required"), b.get("required"), true),
            schema: differ.diff(a.get("schema"), b.get("schema")),
            content: content_diff(differ, object(a, "content"), object(b, "content")),
        };
        (changed.required.is_some()
            || changed.schema.is_some()
            || changed.content.is_some()
            || !maps_equal(a, b))
        .then_some(changed)
    })
    .non_empty()?;
    let removed = headers
        .deleted
        .iter()
        .map(|name| (name.clone(), base.resolve_object(&left[name])))
        .collect();
    Some(HeadersDiff { headers, removed })
}

type Requirement<'a> = BTreeMap<&'a str, Vec<&'a str>>;

fn requirements(value: Option<&Value>) -> Vec<Requirement<'_>> {
    value
        .and_then(Value::as_array)
        .map(|alternatives| {
            alternatives
                .iter()
                .filter_map(Value::as_object)
                .map(|req| {
                    req.iter()
                        .map(|(scheme, scopes)| {
                            let scopes = scopes
                                .as_array()
                                .map(|s| s.iter().filter_map(Value::as_str).collect())
                                .unwrap_or_default();
                            (scheme.as_str(), scopes)
                        })
                        .collect()
                })
                .collect()
        })
        .unwrap_or_default()
}

fn schemes<'r>(requirement: &Requirement<'r>) -> Vec<&'r str> {
    requirement.keys().copied().collect()
}

fn requirement_id(requirement: &Requirement<'_>) -> String {
    schemes(requirement).join(" AND ")
}

fn scopes_diff(a: &Requirement<'_>, b: &Requirement<'_>) -> BTreeMap<String, StringsDiff> {
    a.iter()
        .filter_map(|(scheme, scopes)| {
            let other = b.get(scheme).map(Vec::as_slice).unwrap_or(&[]);
            StringsDiff::between(scopes, other).map(|d| ((*scheme).to_owned(), d))
        })
        .collect()
}

fn unique_unmatched(reqs: &[Requirement<'_>], used: &[bool], names: &[&str]) -> bool {
    reqs.iter()
        .zip(used)
        .filter(|(r, u)| !**u && schemes(r) == names)
        .count()
        == 1
}

/// Alternatives matched whole first (same schemes, same scopes); a leftover whose set of
/// schemes is unambiguous on both sides is a scope change; the rest were added or removed.
fn security_diff(left: Option<&Value>, right: Option<&Value>) -> Option<SecurityDiff> {
    let (left, right) = (requirements(left), requirements(right));
    let (mut used_left, mut used_right) = (vec![false; left.len()], vec![false; right.len()]);
    for (i, a) in left.iter().enumerate() {
        if let Some(j) = (0..right.len()).find(|&j| {
            !used_right[j]
                && schemes(&right[j]) == schemes(a)
                && scopes_diff(a, &right[j]).is_empty()
        }) {
            used_left[i] = true;
            used_right[j] = true;
        }
    }
    let mut diff = SecurityDiff::default();
    for i in 0..left.len() {
        if used_left[i] || !unique_unmatched(&left, &used_left, &schemes(&left[i])) {
            continue;
        }
        let Some(j) =
            (0..right.len()).find(|&j| !used_right[j] && schemes(&right[j]) == schemes(&left[i]))
        else {
            continue;
        };
        if !unique_unmatched(&right, &used_right, &schemes(&right[j])) {
            continue;
        }
        used_left[i] = true;
        used_right[j] = true;
        let changed = scopes_diff(&left[i], &right[j]);
        if !changed.is_empty() {
            diff.modified.insert(requirement_id(&left[i]), changed);
        }
    }
    diff.deleted = left
        .iter()
        .zip(&used_left)
        .filter(|(_, u)| !**u)
        .map(|(r, _)| requirement_id(r))
        .collect();
    diff.added = right
        .iter()
        .zip(&used_right)
        .filter(|(_, u)| !**u)
        .map(|(r, _)| requirement_id(r))
        .collect();
    (!diff.added.is_empty() || !diff.deleted.is_empty() || !diff.modified.is_empty())
        .then_some(diff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_refine() {
        for (general, specific, expected) in [
            ("application/json", "application/problem+json", true),
            ("application/problem+json", "application/json", false),
            ("application/json", "application/json; charset=utf-8", true),
            ("image/png+json", "image/png+json+xml", true),
            ("image/png+json+xml", "image/png+json", false),
            ("application/json", "text/json", false),
            ("application/xml", "application/json", false),
        ] {
            assert_eq!(
                media_type_contains(general, specific),
                expected,
                "{general} {specific}"
            );
        }
    }

    #[test]
    fn templates_match_modulo_variable_names() {
        let mut paths = Map::new();
        paths.insert("/users/{userId}/items/{id}".to_owned(), Value::Null);
        let (key, renames) = find_path("/users/{id}/items/{itemId}", &paths).unwrap();
        assert_eq!(key, "/users/{userId}/items/{id}");
        assert_eq!(
            renames,
            vec![
                ("id".to_owned(), "userId".to_owned()),
                ("itemId".to_owned(), "id".to_owned())
            ]
        );
        assert!(find_path("/users/{id}", &paths).is_none());
    }
}
