//! Properties of request and response bodies: added and removed, required and optional,
//! read-only and write-only, deprecated (with sunset dates), stability levels, type and
//! nullability, enum values, patterns and `x-extensible-enum`.

use super::schema_rules::Target;
use super::types::{
    nullability_change, request_verdict, response_verdict, strongly_typed, type_or_format_changed,
};
use super::{
    Body, Scope, Sink, days_until, deprecation_days, join, request_bodies, response_bodies,
    stability_of, sunset_date, walk_properties, walk_property_holders,
};
use crate::StabilityLevel;
use crate::diff::schema_diff::{Kw, SchemaDiff};
use crate::schema::{Schema, render};
use serde_json::Value;

pub(super) fn run(scope: &Scope<'_, '_>, sink: &mut Sink<'_>) {
    for body in request_bodies(scope).iter() {
        existence(body, sink, true);
        required_changes(body, sink, true);
        per_node(body, sink, true);
    }
    for body in response_bodies(scope).iter() {
        existence(body, sink, false);
        required_changes(body, sink, false);
        per_node(body, sink, false);
    }
}

fn body_target<'t, 'd, 'a>(body: &'t Body<'d, 'a>, request: bool) -> Target<'t, 'd, 'a> {
    Target {
        body,
        side: if request { "request" } else { "response" },
        scope: "body",
        name: String::new(),
        diff: body.schema,
    }
}

fn property_schema<'a>(
    holder: Option<Schema<'a>>,
    name: &str,
    spec_of: &dyn Fn(&'a Value) -> Schema<'a>,
) -> Option<Schema<'a>> {
    holder
        .and_then(|h| h.schema_map("properties").get(name))
        .map(spec_of)
}

/// Properties added to or removed from any schema of a body.
fn existence(body: &Body<'_, '_>, sink: &mut Sink<'_>, request: bool) {
    let root = body_target(body, request);
    let wrapped = body.schema.one_of_wrapping.as_ref();
    if wrapped.is_some() {
        let id = if request {
            "request-body-wrapped-in-one-of"
        } else {
            "response-body-wrapped-in-one-of"
        };
        root.report_id(sink, id, "restructured into a `oneOf` of alternatives");
    }
    walk_property_holders(body.schema, &mut |path, holder| {
        let Some(properties) = &holder.properties else {
            return;
        };
        let moved = |name: &str| {
            holder
                .one_of_wrapping
                .as_ref()
                .is_some_and(|w| w.moved_properties.iter().any(|m| m == name))
        };
        for name in &properties.deleted {
            let Some(base) = holder.base else { continue };
            let Some(value) = base.schema_map("properties").get(name) else {
                continue;
            };
            let property = Schema::at(body_spec_base(body), value);
            let full = join(path, name);
            if request {
                if property.read_only() || moved(name) {
                    continue;
                }
                root.report_id(
                    sink,
                    "request-property-removed",
                    &format!("property `{full}` removed"),
                );
            } else {
                if moved(name) {
                    continue;
                }
                let required = base.is_required(name);
                let id = match (required, property.write_only()) {
                    (true, false) => "response-required-property-removed",
                    (true, true) => "response-required-write-only-property-removed",
                    (false, false) => "response-optional-property-removed",
                    (false, true) => "response-optional-write-only-property-removed",
                };
                root.report_id(sink, id, &format!("property `{full}` removed"));
            }
        }
        for name in &properties.added {
            let Some(revision) = holder.revision else {
                continue;
            };
            let Some(value) = revision.schema_map("properties").get(name) else {
                continue;
            };
            let property = Schema::at(body_spec_revision(body), value);
            let full = join(path, name);
            let required = revision.is_required(name);
            if request {
                if property.read_only() {
                    continue;
                }
                let id = match (required, property.get("default").is_some()) {
                    (true, false) => "new-required-request-property",
                    (true, true) => "new-required-request-property-with-default",
                    (false, _) => "new-optional-request-property",
                };
                root.report_id(sink, id, &format!("property `{full}` added"));
            } else {
                let id = match (required, property.write_only()) {
                    (true, false) => "response-required-property-added",
                    (true, true) => "response-required-write-only-property-added",
                    (false, false) => "response-optional-property-added",
                    (false, true) => "response-optional-write-only-property-added",
                };
                root.report_id(sink, id, &format!("property `{full}` added"));
            }
        }
    });
}

fn body_spec_base<'a>(body: &Body<'_, 'a>) -> &'a crate::OpenApi {
    body.base_spec
}

fn body_spec_revision<'a>(body: &Body<'_, 'a>) -> &'a crate::OpenApi {
    body.revision_spec
}

/// Properties that became required or optional in a schema that kept them.
fn required_changes(body: &Body<'_, '_>, sink: &mut Sink<'_>, request: bool) {
    let root = body_target(body, request);
    let base_spec = body_spec_base(body);
    let revision_spec = body_spec_revision(body);
    let mut process = |diff: &SchemaDiff<'_>, path: &str, at_root: bool| {
        let Some(required) = &diff.required else {
            return;
        };
        let (Some(base), Some(revision)) = (diff.base, diff.revision) else {
            return;
        };
        let base_property =
            |name: &str| property_schema(Some(base), name, &|v| Schema::at(base_spec, v));
        let revision_property =
            |name: &str| property_schema(Some(revision), name, &|v| Schema::at(revision_spec, v));
        for name in &required.added {
            let full = join(path, name);
            let (Some(_), Some(now)) = (base_property(name), revision_property(name)) else {
                continue;
            };
            if request {
                if now.read_only() {
                    continue;
                }
                let id = if now.get("default").is_some() {
                    "request-property-became-required-with-default"
                } else {
                    "request-property-became-required"
                };
                root.report_id(sink, id, &format!("property `{full}` became required"));
            } else {
                let id = if now.write_only() {
                    "response-write-only-property-became-required"
                } else {
                    "response-property-became-required"
                };
                root.report_id(sink, id, &format!("property `{full}` became required"));
            }
        }
        for name in &required.deleted {
            let full = join(path, name);
            let now = revision_property(name);
            let before = base_property(name);
            if request {
                let (Some(_), Some(now)) = (before, now) else {
                    continue;
                };
                if now.read_only() {
                    continue;
                }
                root.report_id(
                    sink,
                    "request-property-became-optional",
                    &format!("property `{full}` became optional"),
                );
            } else {
                let Some(now) = now else { continue };
                let write_only = if at_root {
                    now.write_only()
                } else {
                    let Some(before) = before else { continue };
                    before.write_only()
                };
                let id = if write_only {
                    "response-write-only-property-became-optional"
                } else {
                    "response-property-became-optional"
                };
                root.report_id(sink, id, &format!("property `{full}` became optional"));
            }
        }
    };
    process(body.schema, "", true);
    walk_properties(body.schema, &mut |node| {
        process(node.diff, &node.full_name(), false)
    });
}

/// The rules read on every modified property (and, where a body rule exists, on the body).
fn per_node(body: &Body<'_, '_>, sink: &mut Sink<'_>, request: bool) {
    let root = body_target(body, request);
    type_rules(&root, sink, request);
    nullability(&root, sink);
    enum_rules(&root, sink, request);
    let op_stability = stability_of(body.op.revision);
    walk_properties(body.schema, &mut |node| {
        let target = Target {
            body,
            side: root.side,
            scope: "property",
            name: node.full_name(),
            diff: node.diff,
        };
        type_rules(&target, sink, request);
        nullability(&target, sink);
        enum_rules(&target, sink, request);
        pattern(&target, sink, request);
        extensible_enum(&target, sink, request);
        deprecation(&target, sink, &op_stability);
        stability(&target, sink);
        if !node.name.is_empty() {
            access(&target, node.parent, node.name, sink, request);
        }
    });
}

fn type_rules(target: &Target<'_, '_, '_>, sink: &mut Sink<'_>, request: bool) {
    let diff = target.diff;
    if diff.nullable_wrapping {
        return;
    }
    if !type_or_format_changed(diff) {
        return;
    }
    if target.scope == "body" && diff.one_of_wrapping.is_some() {
        return;
    }
    let strong = strongly_typed(target.body.media_type);
    let verdict = if request {
        request_verdict(diff, strong)
    } else {
        response_verdict(diff, strong)
    };
    target.report(sink, verdict.suffix(), &super::types::describe(diff));
}

fn nullability(target: &Target<'_, '_, '_>, sink: &mut Sink<'_>) {
    match nullability_change(target.diff) {
        Some(true) => target.report(sink, "became-nullable", "became nullable"),
        Some(false) => target.report(sink, "became-not-nullable", "became not nullable"),
        None => false,
    };
}

fn enum_rules(target: &Target<'_, '_, '_>, sink: &mut Sink<'_>, request: bool) {
    let Some(change) = &target.diff.enumeration else {
        return;
    };
    if target.diff.nullable_wrapping {
        return;
    }
    let property = target.scope == "property";
    if request && change.enum_added {
        target.report(sink, "became-enum", "restricted to a list of enum values");
    }
    let read_only = target.diff.revision.is_some_and(|s| s.read_only());
    let write_only = target.diff.revision.is_some_and(|s| s.write_only());
    for value in &change.deleted {
        let what = format!("enum value {} removed", render(Some(value)));
        match (request, property) {
            (true, true) if read_only => {
                target.report_id(sink, "request-read-only-property-enum-value-removed", &what)
            }
            (true, true) => target.report_id(sink, "request-property-enum-value-removed", &what),
            (true, false) => target.report_id(sink, "request-body-enum-value-removed", &what),
            (false, true) => target.report_id(sink, "response-property-enum-value-removed", &what),
            (false, false) => {
                target.report_id(sink, "response-mediatype-enum-value-removed", &what)
            }
        };
    }
    for value in &change.added {
        let what = format!("enum value {} added", render(Some(value)));
        match (request, property) {
            (true, true) => target.report_id(sink, "request-property-enum-value-added", &what),
            (false, true) if write_only => {
                target.report_id(sink, "response-write-only-property-enum-value-added", &what)
            }
            (false, true) => target.report_id(sink, "response-property-enum-value-added", &what),
            _ => false,
        };
    }
}

fn pattern(target: &Target<'_, '_, '_>, sink: &mut Sink<'_>, request: bool) {
    let Some(change) = target.diff.value(Kw::Pattern) else {
        return;
    };
    if target.diff.nullable_wrapping {
        return;
    }
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_owned();
    let (from, to) = (text(change.from), text(change.to));
    let (id, what) = if to.is_empty() {
        ("pattern-removed", format!("pattern `{from}` removed"))
    } else if from.is_empty() {
        ("pattern-added", format!("pattern `{to}` added"))
    } else if request && to == ".*" {
        (
            "pattern-generalized",
            format!("pattern changed from `{from}` to the more general `{to}`"),
        )
    } else {
        (
            "pattern-changed",
            format!("pattern changed from `{from}` to `{to}`"),
        )
    };
    target.report(sink, id, &what);
}

fn extensible_enum(target: &Target<'_, '_, '_>, sink: &mut Sink<'_>, request: bool) {
    if !request {
        return;
    }
    let values = |schema: Option<Schema<'_>>| -> Vec<Value> {
        schema
            .and_then(|s| s.extension("x-extensible-enum"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let (before, after) = (values(target.diff.base), values(target.diff.revision));
    if before.is_empty() {
        return;
    }
    for value in before.iter().filter(|v| !after.contains(v)) {
        target.report(
            sink,
            "x-extensible-enum-value-removed",
            &format!("x-extensible-enum value {} removed", render(Some(value))),
        );
    }
}

fn deprecation(
    target: &Target<'_, '_, '_>,
    sink: &mut Sink<'_>,
    op_stability: &Result<Option<StabilityLevel>, String>,
) {
    let Some(change) = target.diff.value(Kw::Deprecated) else {
        return;
    };
    let Ok(stability) = op_stability else { return };
    if !change.became_true() {
        target.report(sink, "reactivated", "no longer deprecated");
        return;
    }
    let days = deprecation_days(sink.options, *stability);
    let Some(sunset) = target.diff.revision.and_then(|s| s.extension("x-sunset")) else {
        if days > 0 {
            target.report(
                sink,
                "deprecated-sunset-missing",
                &format!("deprecated without an x-sunset date (at least {days} days required)"),
            );
        } else {
            target.report(sink, "deprecated", "deprecated");
        }
        return;
    };
    match sunset_date(sunset) {
        Err(reason) => {
            target.report(
                sink,
                "deprecated-sunset-invalid",
                &format!("x-sunset cannot be read: {reason}"),
            );
        }
        Ok(date) if days_until(sink.options.today, date) < days => {
            target.report(
                sink,
                "sunset-date-too-small",
                &format!("sunset date {date} is less than {days} days away"),
            );
        }
        Ok(date) => {
            target.report(
                sink,
                "deprecated-with-sunset",
                &format!("deprecated, sunset {date}"),
            );
        }
    }
}

fn stability(target: &Target<'_, '_, '_>, sink: &mut Sink<'_>) {
    let Some(extensions) = &target.diff.extensions else {
        return;
    };
    if !extensions.touches("x-stability-level") {
        return;
    }
    let (Some(base), Some(revision)) = (target.diff.base, target.diff.revision) else {
        return;
    };
    let (from, to) = match (stability_of(base.keywords), stability_of(revision.keywords)) {
        (Ok(from), Ok(to)) => (
            from.unwrap_or(StabilityLevel::Stable),
            to.unwrap_or(StabilityLevel::Stable),
        ),
        (Err(reason), _) | (_, Err(reason)) => {
            target.report_id(
                sink,
                "api-invalid-stability-level",
                &format!("x-stability-level cannot be read: {reason}"),
            );
            return;
        }
    };
    if from == to || from < sink.options.stability_level {
        return;
    }
    let change = if to < from {
        "stability-decreased"
    } else {
        "stability-increased"
    };
    target.report(
        sink,
        change,
        &format!(
            "stability level changed from {} to {}",
            from.as_str(),
            to.as_str()
        ),
    );
}

/// `readOnly` / `writeOnly` changes of a named property, read by whether its holder required it.
fn access(
    target: &Target<'_, '_, '_>,
    parent: &SchemaDiff<'_>,
    name: &str,
    sink: &mut Sink<'_>,
    request: bool,
) {
    let Some(parent_revision) = parent.revision else {
        return;
    };
    if !parent_revision.schema_map("properties").contains_key(name) {
        return;
    }
    let required = parent.base.is_some_and(|b| b.is_required(name));
    let kind = if required { "required" } else { "optional" };
    let side = if request { "request" } else { "response" };
    for (keyword, became, not) in [
        (Kw::WriteOnly, "write-only", "not-write-only"),
        (Kw::ReadOnly, "read-only", "not-read-only"),
    ] {
        if let Some(change) = target.diff.value(keyword) {
            let state = if change.became_true() { became } else { not };
            let id = format!("{side}-{kind}-property-became-{state}");
            target.report_id(sink, &id, &format!("became {}", state.replace('-', " ")));
        }
    }
}
