//! Request parameters: added (path, required, optional, on every operation of a path),
//! removed (with deprecation and sunset), deprecated, sunset moved, required, type, enum,
//! default, bounds, patterns, nullability, `x-extensible-enum`, and header parameters whose
//! object schema gained required properties or enums.

use super::schema_rules::bound_moves;
use super::types::{
    nullability_change, parameter_property_verdict, request_verdict, type_or_format_changed,
};
use super::{
    Op, Scope, Sink, days_until, deprecation_days, stability_of, sunset_date, walk_properties,
};
use crate::diff::schema_diff::{Kw, SchemaDiff};
use crate::diff::{METHODS, ParamKey, ParameterDiff};
use crate::rules::rule;
use crate::schema::{Schema, render};
use serde_json::{Map, Value};

pub(super) fn run(scope: &Scope<'_, '_>, sink: &mut Sink<'_>) {
    path_level_added(scope, sink);
    for op in scope.operations() {
        let Some(parameters) = &op.diff.parameters else {
            continue;
        };
        for (key, param) in &parameters.added {
            added(&op, key, param, sink);
        }
        for (key, param) in &parameters.deleted {
            removed(&op, key, param, sink);
        }
        for (key, change) in &parameters.modified {
            modified(&op, key, change, scope, sink);
        }
    }
}

fn label(key: &ParamKey) -> String {
    format!("{} parameter `{}`", key.location, key.name)
}

/// A parameter added at path level reaches every operation of the path.
fn path_level_added(scope: &Scope<'_, '_>, sink: &mut Sink<'_>) {
    for (path, item) in &scope.spec.paths.modified {
        let Some(parameters) = &item.parameters else {
            continue;
        };
        for (key, param) in &parameters.added {
            if key.location == "path" {
                continue;
            }
            let required = param.get("required") == Some(&Value::Bool(true));
            let id = if required {
                "new-required-request-default-parameter-to-existing-path"
            } else {
                "new-optional-request-default-parameter-to-existing-path"
            };
            for method in METHODS.iter().filter(|m| item.revision.contains_key(**m)) {
                sink.emit(
                    id,
                    method,
                    path,
                    format!("{} added to every operation of the path", label(key)),
                );
            }
        }
    }
}

fn added(op: &Op<'_, '_>, key: &ParamKey, param: &Map<String, Value>, sink: &mut Sink<'_>) {
    let id = if key.location == "path" {
        "new-request-path-parameter"
    } else if param.get("required") == Some(&Value::Bool(true)) {
        "new-required-request-parameter"
    } else {
        "new-optional-request-parameter"
    };
    sink.emit(id, op.method, op.path, format!("{} added", label(key)));
}

fn removed(op: &Op<'_, '_>, key: &ParamKey, param: &Map<String, Value>, sink: &mut Sink<'_>) {
    let name = label(key);
    if param.get("deprecated") != Some(&Value::Bool(true)) {
        sink.emit(
            "request-parameter-removed",
            op.method,
            op.path,
            format!("{name} removed"),
        );
        return;
    }
    let Some(sunset) = param.get("x-sunset") else {
        sink.emit(
            "request-parameter-removed-with-deprecation",
            op.method,
            op.path,
            format!("deprecated {name} removed"),
        );
        return;
    };
    match sunset_date(sunset) {
        Err(reason) => sink.emit(
            "request-parameter-sunset-parse",
            op.method,
            op.path,
            format!("{name}: x-sunset cannot be read: {reason}"),
        ),
        Ok(date) if sink.options.today < date => {
            sink.emit(
                "request-parameter-removed-before-sunset",
                op.method,
                op.path,
                format!("{name} removed before its sunset date {date}"),
            );
        }
        Ok(_) => {}
    }
}

fn modified(
    op: &Op<'_, '_>,
    key: &ParamKey,
    change: &ParameterDiff<'_>,
    scope: &Scope<'_, '_>,
    sink: &mut Sink<'_>,
) {
    let name = label(key);
    let emit = |sink: &mut Sink<'_>, id: &str, text: String| {
        if let Some(rule) = rule(id) {
            sink.emit(rule.id, op.method, op.path, format!("{name}: {text}"));
        }
    };
    deprecation(op, change, &name, sink);
    sunset_changed(op, change, &name, sink);
    if let Some(required) = change.required {
        if required.became_true() {
            emit(
                sink,
                "request-parameter-became-required",
                "became required".to_owned(),
            );
        } else {
            emit(
                sink,
                "request-parameter-became-optional",
                "became optional".to_owned(),
            );
        }
    }
    let Some(schema) = &change.schema else { return };
    if schema.base.is_none() || schema.revision.is_none() {
        return;
    }
    // type and format
    if type_or_format_changed(schema) {
        let scalar_to_array = scalar_to_exploded_array(change, schema, scope);
        let verdict = request_verdict(schema, false);
        let id = if verdict == super::types::TypeVerdict::Changed && !scalar_to_array {
            "request-parameter-type-changed"
        } else {
            "request-parameter-type-generalized"
        };
        emit(sink, id, super::types::describe(schema));
    }
    if let Some(list) = &schema.list_of_types {
        if list.deleted.is_empty() {
            emit(
                sink,
                "request-parameter-list-of-types-widened",
                format!("list of types widened ({})", list.added.join(", ")),
            );
        } else {
            emit(
                sink,
                "request-parameter-list-of-types-narrowed",
                format!("list of types narrowed ({})", list.deleted.join(", ")),
            );
        }
    }
    if let Some(enumeration) = &schema.enumeration {
        if enumeration.enum_added {
            emit(
                sink,
                "request-parameter-became-enum",
                "restricted to a list of enum values".to_owned(),
            );
        }
        for value in &enumeration.deleted {
            emit(
                sink,
                "request-parameter-enum-value-removed",
                format!("enum value {} removed", render(Some(value))),
            );
        }
        for value in &enumeration.added {
            emit(
                sink,
                "request-parameter-enum-value-added",
                format!("enum value {} added", render(Some(value))),
            );
        }
    }
    if let Some(default) = schema.value(Kw::Default) {
        match (default.from, default.to) {
            (None, to) => emit(
                sink,
                "request-parameter-default-value-added",
                format!("default {} added", render(to)),
            ),
            (from, None) => emit(
                sink,
                "request-parameter-default-value-removed",
                format!("default {} removed", render(from)),
            ),
            (from, to) => emit(
                sink,
                "request-parameter-default-value-changed",
                format!("default changed from {} to {}", render(from), render(to)),
            ),
        }
    }
    for bound in bound_moves(schema, schema.items.as_deref()) {
        let id = format!("request-parameter-{}", bound.change);
        match (rule(&id), &bound.fallback) {
            (Some(_), _) => emit(sink, &id, bound.what),
            (None, Some(fallback)) => {
                emit(sink, &format!("request-parameter-{fallback}"), bound.what)
            }
            (None, None) => {}
        }
    }
    if let Some(pattern) = schema.value(Kw::Pattern) {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_owned();
        let (from, to) = (text(pattern.from), text(pattern.to));
        if to.is_empty() {
            emit(
                sink,
                "request-parameter-pattern-removed",
                format!("pattern `{from}` removed"),
            );
        } else if from.is_empty() {
            emit(
                sink,
                "request-parameter-pattern-added",
                format!("pattern `{to}` added"),
            );
        } else if to == ".*" {
            emit(
                sink,
                "request-parameter-pattern-generalized",
                format!("pattern changed from `{from}` to the more general `{to}`"),
            );
        } else {
            emit(
                sink,
                "request-parameter-pattern-changed",
                format!("pattern changed from `{from}` to `{to}`"),
            );
        }
    }
    match nullability_change(schema) {
        Some(true) => emit(
            sink,
            "request-parameter-became-nullable",
            "became nullable".to_owned(),
        ),
        Some(false) => emit(
            sink,
            "request-parameter-became-not-nullable",
            "became not nullable".to_owned(),
        ),
        None => {}
    }
    extensible_enum(schema, &mut |value| {
        emit(
            sink,
            "request-parameter-x-extensible-enum-value-removed",
            format!("x-extensible-enum value {} removed", render(Some(value))),
        )
    });
    header_object(key, schema, scope, &mut |id, text| emit(sink, id, text));
    walk_properties(schema, &mut |node| {
        let property = node.full_name();
        let diff = node.diff;
        if type_or_format_changed(diff) {
            let id = match parameter_property_verdict(diff) {
                super::types::TypeVerdict::Specialized => {
                    "request-parameter-property-type-specialized"
                }
                super::types::TypeVerdict::Generalized => {
                    "request-parameter-property-type-generalized"
                }
                _ => "request-parameter-property-type-changed",
            };
            emit(
                sink,
                id,
                format!("property `{property}`: {}", super::types::describe(diff)),
            );
        }
        if let Some(list) = &diff.list_of_types {
            if list.deleted.is_empty() {
                emit(
                    sink,
                    "request-parameter-property-list-of-types-widened",
                    format!("property `{property}`: list of types widened"),
                );
            } else {
                emit(
                    sink,
                    "request-parameter-property-list-of-types-narrowed",
                    format!("property `{property}`: list of types narrowed"),
                );
            }
        }
        if let Some(enumeration) = &diff.enumeration {
            for value in &enumeration.deleted {
                emit(
                    sink,
                    "request-parameter-property-enum-value-removed",
                    format!(
                        "property `{property}`: enum value {} removed",
                        render(Some(value))
                    ),
                );
            }
            for value in &enumeration.added {
                emit(
                    sink,
                    "request-parameter-property-enum-value-added",
                    format!(
                        "property `{property}`: enum value {} added",
                        render(Some(value))
                    ),
                );
            }
        }
        match nullability_change(diff) {
            Some(true) => emit(
                sink,
                "request-parameter-property-became-nullable",
                format!("property `{property}` became nullable"),
            ),
            Some(false) => emit(
                sink,
                "request-parameter-property-became-not-nullable",
                format!("property `{property}` became not nullable"),
            ),
            None => {}
        }
    });
}

fn extensible_enum(schema: &SchemaDiff<'_>, report: &mut dyn FnMut(&Value)) {
    let values = |side: Option<Schema<'_>>| -> Vec<Value> {
        side.and_then(|s| s.extension("x-extensible-enum"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let (before, after) = (values(schema.base), values(schema.revision));
    for value in before.iter().filter(|v| !after.contains(v)) {
        report(value);
    }
}

/// Header parameters carrying an object: properties that became required or enums, and new
/// required properties.
fn header_object(
    key: &ParamKey,
    schema: &std::rc::Rc<SchemaDiff<'_>>,
    scope: &Scope<'_, '_>,
    emit: &mut dyn FnMut(&str, String),
) {
    if key.location != "header" {
        return;
    }
    let spec = scope.spec;
    let required_added =
        |diff: &SchemaDiff<'_>, path: &str, at_root: bool, emit: &mut dyn FnMut(&str, String)| {
            let (Some(base), Some(revision), Some(required)) =
                (diff.base, diff.revision, &diff.required)
            else {
                return;
            };
            for name in &required.added {
                let Some(now) = revision.schema_map("properties").get(name) else {
                    continue;
                };
                if Schema::at(spec.revision, now).read_only() {
                    continue;
                }
                if at_root && !base.schema_map("properties").contains_key(name) {
                    continue;
                }
                emit(
                    "request-header-property-became-required",
                    format!("property `{}` became required", super::join(path, name)),
                );
            }
        };
    required_added(schema, "", true, emit);
    walk_properties(schema, &mut |node| {
        required_added(node.diff, &node.full_name(), false, emit);
        if node.diff.enumeration.as_ref().is_some_and(|e| e.enum_added) {
            emit(
                "request-header-property-became-enum",
                format!(
                    "property `{}` restricted to a list of enum values",
                    node.full_name()
                ),
            );
        }
    });
    super::walk_property_holders(schema, &mut |path, holder| {
        let (Some(revision), Some(properties)) = (holder.revision, &holder.properties) else {
            return;
        };
        for name in &properties.added {
            let Some(value) = revision.schema_map("properties").get(name) else {
                continue;
            };
            if Schema::at(spec.revision, value).read_only() || !revision.is_required(name) {
                continue;
            }
            emit(
                "new-required-request-header-property",
                format!("required property `{}` added", super::join(path, name)),
            );
        }
    });
}

/// A query or cookie parameter (form style, exploded) that turns from a scalar into an array of
/// that scalar still accepts a single value.
fn scalar_to_exploded_array(
    change: &ParameterDiff<'_>,
    schema: &SchemaDiff<'_>,
    scope: &Scope<'_, '_>,
) -> bool {
    let Some(types) = &schema.types else {
        return false;
    };
    let without_null = |list: &[String]| {
        list.iter()
            .filter(|t| *t != "null")
            .cloned()
            .collect::<Vec<_>>()
    };
    let (added, deleted) = (without_null(&types.added), without_null(&types.deleted));
    if added != ["array"] || deleted.len() != 1 || deleted[0] == "array" {
        return false;
    }
    let revision = change.revision;
    let location = revision.get("in").and_then(Value::as_str).unwrap_or("");
    let style = revision
        .get("style")
        .and_then(Value::as_str)
        .unwrap_or(match location {
            "query" | "cookie" => "form",
            _ => "simple",
        });
    let explode = revision
        .get("explode")
        .and_then(Value::as_bool)
        .unwrap_or(style == "form");
    if style != "form" || !explode {
        return false;
    }
    let Some(items) = schema.revision.and_then(|s| s.subschema("items")) else {
        return false;
    };
    let item_types: Vec<String> = Schema::at(scope.spec.revision, items)
        .types()
        .into_iter()
        .filter(|t| *t != "null")
        .map(str::to_owned)
        .collect();
    if item_types.len() != 1 || item_types[0] != deleted[0] {
        return false;
    }
    // the items must accept what the scalar accepted, no more constraints than it had
    let constraints = |schema: &Map<String, Value>| -> Map<String, Value> {
        schema
            .iter()
            .filter(|(k, _)| {
                !matches!(
                    k.as_str(),
                    "type"
                        | "title"
                        | "description"
                        | "example"
                        | "examples"
                        | "default"
                        | "nullable"
                ) && !k.starts_with("x-")
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let before = schema
        .base
        .map(|s| constraints(s.keywords))
        .unwrap_or_default();
    let after = constraints(Schema::at(scope.spec.revision, items).keywords);
    crate::schema::values_equal(&Value::Object(before), &Value::Object(after))
}

fn deprecation(op: &Op<'_, '_>, change: &ParameterDiff<'_>, name: &str, sink: &mut Sink<'_>) {
    let Some(deprecated) = change.deprecated else {
        return;
    };
    let (method, path) = (op.method, op.path);
    if !deprecated.became_true() {
        sink.emit(
            "request-parameter-reactivated",
            method,
            path,
            format!("{name} is no longer deprecated"),
        );
        return;
    }
    let Ok(stability) = stability_of(op.diff.revision) else {
        return;
    };
    let days = deprecation_days(sink.options, stability);
    let Some(sunset) = change.revision.get("x-sunset") else {
        if days > 0 {
            sink.emit(
                "request-parameter-deprecated-sunset-missing",
                method,
                path,
                format!(
                    "{name} deprecated without an x-sunset date (at least {days} days required)"
                ),
            );
        } else {
            sink.emit(
                "request-parameter-deprecated",
                method,
                path,
                format!("{name} deprecated"),
            );
        }
        return;
    };
    match sunset_date(sunset) {
        Err(reason) => sink.emit(
            "request-parameter-sunset-parse",
            method,
            path,
            format!("{name}: x-sunset cannot be read: {reason}"),
        ),
        Ok(date) if days_until(sink.options.today, date) < days => sink.emit(
            "request-parameter-sunset-date-too-small",
            method,
            path,
            format!("{name}: sunset date {date} is less than {days} days away"),
        ),
        Ok(date) => sink.emit(
            "request-parameter-deprecated",
            method,
            path,
            format!("{name} deprecated, sunset {date}"),
        ),
    }
}

fn sunset_changed(op: &Op<'_, '_>, change: &ParameterDiff<'_>, name: &str, sink: &mut Sink<'_>) {
    if change.revision.get("deprecated") != Some(&Value::Bool(true)) {
        return;
    }
    let Some(extensions) = &change.extensions else {
        return;
    };
    let (method, path) = (op.method, op.path);
    if extensions.deleted.contains(&"x-sunset") {
        sink.emit(
            "request-parameter-sunset-deleted",
            method,
            path,
            format!("{name}: x-sunset removed while it stays deprecated"),
        );
        return;
    }
    if !extensions
        .modified
        .iter()
        .any(|(key, _)| *key == "x-sunset")
    {
        return;
    }
    let parse =
        |param: &Map<String, Value>| sunset_date(param.get("x-sunset").unwrap_or(&Value::Null));
    let (date, base_date) = match (parse(change.revision), parse(change.base)) {
        (Ok(date), Ok(base_date)) => (date, base_date),
        (Err(reason), _) | (_, Err(reason)) => {
            sink.emit(
                "request-parameter-sunset-parse",
                method,
                path,
                format!("{name}: x-sunset cannot be read: {reason}"),
            );
            return;
        }
    };
    let Ok(stability) = stability_of(op.diff.revision) else {
        return;
    };
    let days = deprecation_days(sink.options, stability);
    if base_date > date && days_until(sink.options.today, date) < days {
        sink.emit(
            "request-parameter-sunset-date-changed-too-small",
            method,
            path,
            format!("{name}: sunset date moved earlier from {base_date} to {date}; it must stay at or after {base_date} and at least {days} days away"),
        );
    }
}
