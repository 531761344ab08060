//! The checks: each reads the structural diff and reports findings under rule ids. This module
//! holds what they share: the finding sink, the stability-level policy that runs first, and
//! walkers over request and response bodies and the properties inside them.

mod bodies;
mod lifecycle;
mod parameters;
mod properties;
mod schema_rules;
mod security;
mod types;

use crate::diff::schema_diff::SchemaDiff;
use crate::diff::{ContentDiff, METHODS, OperationDiff, PathDiff, SpecDiff};
use crate::{Finding, Options, StabilityLevel};
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::rc::Rc;

/// Where findings go while the checks run.
pub(crate) struct Sink<'o> {
    pub options: &'o Options,
    pub findings: Vec<Finding>,
}

impl Sink<'_> {
    /// Records a finding about an operation (`method` lower-case as in the document, or `""`).
    pub fn emit(&mut self, id: &'static str, method: &str, path: &str, text: String) {
        let Some(rule) = crate::rules::rule(id) else {
            debug_assert!(false, "unknown rule id {id}");
            return;
        };
        self.findings.push(Finding {
            id: rule.id.to_owned(),
            level: rule.level,
            operation: method.to_ascii_uppercase(),
            path: path.to_owned(),
            text,
        });
    }
}

/// One modified operation as the checks see it.
pub(crate) struct Op<'d, 'a> {
    pub path: &'d str,
    pub method: &'static str,
    pub diff: &'d OperationDiff<'a>,
}

/// The paths a run looks at: the document's paths, then its modified webhooks as
/// `webhook:<name>` paths, after the stability policy dropped what is below the threshold.
pub(crate) struct Scope<'d, 'a> {
    pub spec: &'d SpecDiff<'a>,
    pub modified: Vec<(String, &'d PathDiff<'a>, Vec<&'static str>)>,
    pub deleted_paths: Vec<&'d str>,
    pub deleted_operations: Vec<(String, &'d PathDiff<'a>, &'static str)>,
}

impl<'d, 'a> Scope<'d, 'a> {
    pub fn operations(&self) -> impl Iterator<Item = Op<'_, 'a>> {
        self.modified.iter().flat_map(|(path, item, methods)| {
            methods.iter().filter_map(move |method| {
                item.operations_modified.get(method).map(|diff| Op {
                    path: path.as_str(),
                    method,
                    diff,
                })
            })
        })
    }
}

/// Reads `x-stability-level`: `Ok(None)` when absent, an error text when not a known level.
pub(crate) fn stability_of(object: &Map<String, Value>) -> Result<Option<StabilityLevel>, String> {
    match object.get("x-stability-level") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => StabilityLevel::parse(text)
            .map(Some)
            .ok_or_else(|| format!("value is not one of draft, alpha, beta or stable: {text:?}")),
        Some(_) => Err("x-stability-level isn't a string".to_owned()),
    }
}

/// The sunset grace period the policy asks for at an operation's stability level.
pub(crate) fn deprecation_days(options: &Options, stability: Option<StabilityLevel>) -> i64 {
    match stability {
        Some(StabilityLevel::Draft | StabilityLevel::Alpha) => 0,
        Some(StabilityLevel::Beta) => i64::from(options.min_sunset_beta_days),
        Some(StabilityLevel::Stable) | None => i64::from(options.min_sunset_stable_days),
    }
}

/// Parses an `x-sunset` value: a date (`YYYY-MM-DD`) or an RFC 3339 date-time.
pub(crate) fn sunset_date(value: &Value) -> Result<jiff::civil::Date, String> {
    let Some(text) = value.as_str() else {
        return Err("sunset value isn't a string".to_owned());
    };
    if let Ok(date) = text.parse::<jiff::civil::Date>()
        && text.len() == 10
    {
        return Ok(date);
    }
    if let Ok(timestamp) = text.parse::<jiff::Timestamp>() {
        return Ok(timestamp.to_zoned(jiff::tz::TimeZone::UTC).date());
    }
    Err(format!("failed to parse sunset date: {text:?}"))
}

/// Days from `today` to `date` (negative when `date` is past).
pub(crate) fn days_until(today: jiff::civil::Date, date: jiff::civil::Date) -> i64 {
    date.since(today)
        .map_or(0, |span| i64::from(span.get_days()))
}

fn included(options: &Options, level: Option<StabilityLevel>) -> bool {
    level.unwrap_or(StabilityLevel::Stable) >= options.stability_level
}

/// Runs every check over a diff.
pub(crate) fn run(spec: &SpecDiff<'_>, options: &Options) -> Vec<Finding> {
    let mut sink = Sink {
        options,
        findings: Vec::new(),
    };
    let scope = stability_policy(spec, &mut sink);
    lifecycle::run(&scope, &mut sink);
    parameters::run(&scope, &mut sink);
    bodies::run(&scope, &mut sink);
    properties::run(&scope, &mut sink);
    schema_rules::run(&scope, &mut sink);
    security::run(&scope, &mut sink);
    if options.versioning_policy {
        lifecycle::versioning(spec, &mut sink);
    }
    sink.findings
}

/// Reports unreadable stability levels and stability changes, then leaves out what is below
/// the configured threshold: deleted paths whose operations all are, deleted operations and
/// modified operations (by their revision level).
fn stability_policy<'d, 'a>(spec: &'d SpecDiff<'a>, sink: &mut Sink<'_>) -> Scope<'d, 'a> {
    let options = sink.options;
    let mut scope = Scope {
        spec,
        modified: Vec::new(),
        deleted_paths: Vec::new(),
        deleted_operations: Vec::new(),
    };
    let invalid = |sink: &mut Sink<'_>, op: &Map<String, Value>, method: &str, path: &str| {
        if let Err(reason) = stability_of(op) {
            sink.emit(
                "api-invalid-stability-level",
                method,
                path,
                format!("x-stability-level cannot be read: {reason}"),
            );
        }
    };
    for (path, item) in &spec.paths.modified {
        for method in item.operations_modified.keys() {
            invalid(sink, item.base_operation(method), method, path);
            invalid(sink, item.revision_operation(method), method, path);
        }
    }
    for path in &spec.paths.deleted {
        if let Some(item) = spec.paths.base.get(path) {
            for method in METHODS {
                if item.contains_key(method) {
                    invalid(sink, crate::diff::operation(item, method), method, path);
                }
            }
        }
    }
    for (path, item) in &spec.paths.modified {
        for method in &item.operations_deleted {
            invalid(sink, item.base_operation(method), method, path);
        }
    }
    // Stability changes of modified operations, reported when the lower level is tracked.
    for (path, item) in &spec.paths.modified {
        for method in item.operations_modified.keys() {
            let (Ok(base), Ok(revision)) = (
                stability_of(item.base_operation(method)),
                stability_of(item.revision_operation(method)),
            ) else {
                continue;
            };
            let (from, to) = (
                base.unwrap_or(StabilityLevel::Stable),
                revision.unwrap_or(StabilityLevel::Stable),
            );
            if from == to || from.min(to) < options.stability_level {
                continue;
            }
            let id = if to < from {
                "api-stability-decreased"
            } else {
                "api-stability-increased"
            };
            sink.emit(
                id,
                method,
                path,
                format!(
                    "endpoint stability level changed from {} to {}",
                    from.as_str(),
                    to.as_str()
                ),
            );
        }
    }
    for path in &spec.paths.deleted {
        let keep = spec.paths.base.get(path).is_some_and(|item| {
            METHODS.iter().any(|method| {
                item.contains_key(*method)
                    && matches!(stability_of(crate::diff::operation(item, method)), Ok(level) if included(options, level))
            })
        });
        if keep {
            scope.deleted_paths.push(path);
        }
    }
    // Webhooks join the paths after the policy ran (as `webhook:<name>`), so their
    // operations are not filtered by stability.
    let push_paths =
        |scope: &mut Scope<'d, 'a>,
         prefix: &str,
         paths: &'d std::collections::BTreeMap<String, PathDiff<'a>>| {
            let webhook = !prefix.is_empty();
            let kept = |level: Result<Option<StabilityLevel>, String>, missing_is_kept: bool| {
                match level {
                    Ok(level) => webhook || included(options, level),
                    Err(_) => webhook || missing_is_kept,
                }
            };
            for (path, item) in paths {
                let key = format!("{prefix}{path}");
                for method in &item.operations_deleted {
                    if kept(stability_of(item.base_operation(method)), false) {
                        scope.deleted_operations.push((key.clone(), item, *method));
                    }
                }
                let methods = item
                    .operations_modified
                    .keys()
                    .copied()
                    .filter(|method| kept(stability_of(item.revision_operation(method)), true))
                    .collect();
                scope.modified.push((key, item, methods));
            }
        };
    push_paths(&mut scope, "", &spec.paths.modified);
    push_paths(&mut scope, "webhook:", &spec.webhooks.modified);
    scope
}

/// One modified media type of a request or response body, schemas on both sides.
pub(crate) struct Body<'d, 'a> {
    pub path: &'d str,
    pub method: &'static str,
    pub op: &'d OperationDiff<'a>,
    /// `""` for request bodies.
    pub status: &'d str,
    pub media_type: &'d str,
    pub schema: &'d Rc<SchemaDiff<'a>>,
    pub base_spec: &'a crate::OpenApi,
    pub revision_spec: &'a crate::OpenApi,
}

impl Body<'_, '_> {
    pub fn is_request(&self) -> bool {
        self.status.is_empty()
    }
}

pub(crate) fn request_bodies<'s, 'd, 'a>(scope: &'s Scope<'d, 'a>) -> Vec<Body<'s, 'a>> {
    let mut out = Vec::new();
    for op in scope.operations() {
        if let Some(content) = op
            .diff
            .request_body
            .as_ref()
            .and_then(|b| b.content.as_ref())
        {
            push_bodies(&mut out, scope, &op, "", content);
        }
    }
    out
}

pub(crate) fn response_bodies<'s, 'd, 'a>(scope: &'s Scope<'d, 'a>) -> Vec<Body<'s, 'a>> {
    let mut out = Vec::new();
    for op in scope.operations() {
        let Some(responses) = op.diff.responses.as_ref() else {
            continue;
        };
        for (status, response) in &responses.modified {
            if let Some(content) = response.content.as_ref() {
                push_bodies(&mut out, scope, &op, status, content);
            }
        }
    }
    out
}

/// One [`Body`] per media type of `content` whose schema is on both sides.
fn push_bodies<'s, 'a>(
    out: &mut Vec<Body<'s, 'a>>,
    scope: &Scope<'_, 'a>,
    op: &Op<'s, 'a>,
    status: &'s str,
    content: &'s ContentDiff<'a>,
) {
    for (media_type, media) in &content.modified {
        if let Some(schema) = media
            .schema
            .as_ref()
            .filter(|s| s.base.is_some() && s.revision.is_some())
        {
            out.push(Body {
                path: op.path,
                method: op.method,
                op: op.diff,
                status,
                media_type,
                schema,
                base_spec: scope.spec.base,
                revision_spec: scope.spec.revision,
            });
        }
    }
}

/// A schema node below a body: its path of property names (and `items`, `allOf[...]`, ...)
/// and its name, with the diff of the schema that holds it.
pub(crate) struct Node<'d, 'a> {
    pub path: String,
    pub name: &'d str,
    pub diff: &'d Rc<SchemaDiff<'a>>,
    pub parent: &'d Rc<SchemaDiff<'a>>,
}

impl Node<'_, '_> {
    /// The node's full name as findings show it (`a/b/items/c`).
    pub fn full_name(&self) -> String {
        join(&self.path, self.name)
    }
}

pub(crate) fn join(path: &str, name: &str) -> String {
    match (path.is_empty(), name.is_empty()) {
        (true, _) => name.to_owned(),
        (false, true) => path.to_owned(),
        (false, false) => format!("{path}/{name}"),
    }
}

/// Visits every modified subschema below `root` (not `root` itself), each schema once even
/// when several references lead to it. `visit(path, name, diff, parent)`; subschemas that
/// exist on one side only are visited too (callers that need both sides filter).
pub(crate) fn walk_modified<'d, 'a>(
    root: &'d Rc<SchemaDiff<'a>>,
    visit: &mut dyn FnMut(&Node<'d, 'a>),
) {
    let mut seen = HashSet::new();
    walk(root, "", "", root, visit, &mut seen, false);
}

/// Like [`walk_modified`] but visits nodes with a schema on both sides only.
pub(crate) fn walk_properties<'d, 'a>(
    root: &'d Rc<SchemaDiff<'a>>,
    visit: &mut dyn FnMut(&Node<'d, 'a>),
) {
    walk_modified(root, &mut |node| {
        if node.diff.base.is_some() && node.diff.revision.is_some() {
            visit(node);
        }
    });
}

/// Visits the schemas below `root` that hold added or deleted properties:
/// `visit(path, parent_diff)` for every schema diff with a `properties` difference, `root`
/// included.
pub(crate) fn walk_property_holders<'d, 'a>(
    root: &'d Rc<SchemaDiff<'a>>,
    visit: &mut dyn FnMut(&str, &'d Rc<SchemaDiff<'a>>),
) {
    if root.properties.is_some() {
        visit("", root);
    }
    walk_modified(root, &mut |node| {
        if node.diff.properties.is_some() {
            visit(&node.full_name(), node.diff);
        }
    });
}

#[allow(clippy::too_many_arguments)] // the recursion carries its position, the visitor and the seen set
fn walk<'d, 'a>(
    diff: &'d Rc<SchemaDiff<'a>>,
    path: &str,
    name: &'d str,
    parent: &'d Rc<SchemaDiff<'a>>,
    visit: &mut dyn FnMut(&Node<'d, 'a>),
    seen: &mut HashSet<usize>,
    _under_all_of: bool,
) {
    let identity = Rc::as_ptr(diff) as usize;
    if !seen.insert(identity) {
        return;
    }
    if !path.is_empty() || !name.is_empty() {
        visit(&Node {
            path: path.to_owned(),
            name,
            diff,
            parent,
        });
    }
    let here = join(path, name);
    for (list, label) in [
        (&diff.all_of, "allOf"),
        (&diff.any_of, "anyOf"),
        (&diff.one_of, "oneOf"),
    ] {
        if let Some(list) = list {
            for modified in &list.modified {
                let child = join(&here, &format!("{label}[{}]", modified.name()));
                walk(
                    &modified.diff,
                    &child,
                    "",
                    diff,
                    visit,
                    seen,
                    label == "allOf",
                );
            }
        }
    }
    if let Some(items) = &diff.items {
        walk(items, &join(&here, "items"), "", diff, visit, seen, false);
    }
    if let Some(properties) = &diff.properties {
        for (property, child) in &properties.modified {
            walk(child, &here, property, diff, visit, seen, false);
        }
    }
    if let Some(additional) = &diff.additional_properties {
        walk(
            additional,
            &join(&here, "additionalProperties"),
            "",
            diff,
            visit,
            seen,
            false,
        );
    }
    if let Some(prefix) = &diff.prefix_items {
        for modified in &prefix.modified {
            walk(
                &modified.diff,
                &join(&here, &format!("prefixItems[{}]", modified.name())),
                "",
                diff,
                visit,
                seen,
                false,
            );
        }
    }
    for (child, label) in [
        (&diff.contains, "contains"),
        (&diff.property_names, "propertyNames"),
        (&diff.unevaluated_items, "unevaluatedItems"),
        (&diff.unevaluated_properties, "unevaluatedProperties"),
        (&diff.if_schema, "if"),
        (&diff.then_schema, "then"),
        (&diff.else_schema, "else"),
        (&diff.not, "not"),
        (&diff.content_schema, "contentSchema"),
    ] {
        if let Some(child) = child {
            walk(child, &join(&here, label), "", diff, visit, seen, false);
        }
    }
    for (map, label) in [
        (&diff.pattern_properties, "patternProperties"),
        (&diff.dependent_schemas, "dependentSchemas"),
    ] {
        if let Some(map) = map {
            for (key, child) in &map.modified {
                walk(
                    child,
                    &join(&here, &format!("{label}[{key}]")),
                    "",
                    diff,
                    visit,
                    seen,
                    false,
                );
            }
        }
    }
}
