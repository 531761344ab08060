//! Endpoints coming and going: added, removed (with or without deprecation, before or after
//! their sunset), deprecated and reactivated, sunset dates moved or deleted, operation ids and
//! tags, webhooks, removed component schemas, and the versioning policy.

use super::{Scope, Sink, days_until, deprecation_days, stability_of, sunset_date};
use crate::StabilityLevel;
use crate::diff::{METHODS, SpecDiff, operation};
use serde_json::{Map, Value};

pub(super) fn run(scope: &Scope<'_, '_>, sink: &mut Sink<'_>) {
    added(scope, sink);
    removed(scope, sink);
    deprecation(scope, sink);
    sunset_changed(scope, sink);
    operation_ids_and_tags(scope, sink);
    webhooks_and_components(scope, sink);
}

fn added(scope: &Scope<'_, '_>, sink: &mut Sink<'_>) {
    let paths = &scope.spec.paths;
    for path in &paths.added {
        if let Some(item) = paths.revision.get(path) {
            for method in METHODS.iter().filter(|m| item.contains_key(**m)) {
                sink.emit("endpoint-added", method, path, "endpoint added".to_owned());
            }
        }
    }
    for (path, item, _) in &scope.modified {
        for method in &item.operations_added {
            sink.emit("endpoint-added", method, path, "endpoint added".to_owned());
        }
    }
}

/// What removing an operation means given how it was deprecated.
fn removal(
    sink: &mut Sink<'_>,
    op: &Map<String, Value>,
    method: &str,
    path: &str,
    whole_path: bool,
) {
    let (without, with, before) = if whole_path {
        (
            "api-path-removed-without-deprecation",
            "api-path-removed-with-deprecation",
            "api-path-removed-before-sunset",
        )
    } else {
        (
            "api-removed-without-deprecation",
            "api-removed-with-deprecation",
            "api-removed-before-sunset",
        )
    };
    if op.get("deprecated") != Some(&Value::Bool(true)) {
        sink.emit(
            without,
            method,
            path,
            "endpoint removed without being deprecated first".to_owned(),
        );
        return;
    }
    let Some(sunset) = op.get("x-sunset") else {
        sink.emit(with, method, path, "deprecated endpoint removed".to_owned());
        return;
    };
    match sunset_date(sunset) {
        Err(reason) => sink.emit(
            "api-path-sunset-parse",
            method,
            path,
            format!("x-sunset cannot be read: {reason}"),
        ),
        Ok(date) if sink.options.today < date => {
            sink.emit(
                before,
                method,
                path,
                format!("endpoint removed before its sunset date {date}"),
            );
        }
        Ok(_) => {}
    }
}

fn removed(scope: &Scope<'_, '_>, sink: &mut Sink<'_>) {
    let paths = &scope.spec.paths;
    for path in &scope.deleted_paths {
        let Some(item) = paths.base.get(*path) else {
            continue;
        };
        for method in METHODS.iter().filter(|m| item.contains_key(**m)) {
            let op = operation(item, method);
            match stability_of(op) {
                Err(_) | Ok(Some(StabilityLevel::Alpha | StabilityLevel::Draft)) => continue,
                Ok(_) => removal(sink, op, method, path, true),
            }
        }
    }
    for (path, item, method) in &scope.deleted_operations {
        removal(sink, item.base_operation(method), method, path, false);
    }
}

fn deprecation(scope: &Scope<'_, '_>, sink: &mut Sink<'_>) {
    for op in scope.operations() {
        let Some(change) = op.diff.deprecated else {
            continue;
        };
        let revision = op.diff.revision;
        let (method, path) = (op.method, op.path);
        if !change.became_true() {
            sink.emit(
                "endpoint-reactivated",
                method,
                path,
                "endpoint is no longer deprecated".to_owned(),
            );
            continue;
        }
        let Ok(stability) = stability_of(revision) else {
            continue;
        };
        let days = deprecation_days(sink.options, stability);
        let Some(sunset) = revision.get("x-sunset") else {
            if days > 0 {
                sink.emit("api-deprecated-sunset-missing", method, path, format!("endpoint deprecated without an x-sunset date (at least {days} days required)"));
            } else {
                sink.emit(
                    "endpoint-deprecated",
                    method,
                    path,
                    "endpoint deprecated".to_owned(),
                );
            }
            continue;
        };
        match sunset_date(sunset) {
            Err(reason) => sink.emit(
                "api-deprecated-sunset-parse",
                method,
                path,
                format!("x-sunset cannot be read: {reason}"),
            ),
            Ok(date) if days_until(sink.options.today, date) < days => sink.emit(
                "api-sunset-date-too-small",
                method,
                path,
                format!("sunset date {date} is less than {days} days away"),
            ),
            Ok(date) => sink.emit(
                "endpoint-deprecated-with-sunset",
                method,
                path,
                format!("endpoint deprecated, sunset {date}"),
            ),
        }
    }
}

fn sunset_changed(scope: &Scope<'_, '_>, sink: &mut Sink<'_>) {
    for op in scope.operations() {
        let (base, revision) = (op.diff.base, op.diff.revision);
        if revision.get("deprecated") != Some(&Value::Bool(true)) {
            continue;
        }
        let Some(extensions) = &op.diff.extensions else {
            continue;
        };
        let (method, path) = (op.method, op.path);
        if extensions.deleted.contains(&"x-sunset") {
            sink.emit(
                "sunset-deleted",
                method,
                path,
                "x-sunset removed while the endpoint stays deprecated".to_owned(),
            );
            continue;
        }
        if !extensions
            .modified
            .iter()
            .any(|(key, _)| *key == "x-sunset")
        {
            continue;
        }
        let parse =
            |op: &Map<String, Value>| sunset_date(op.get("x-sunset").unwrap_or(&Value::Null));
        let date = match parse(revision) {
            Ok(date) => date,
            Err(reason) => {
                sink.emit(
                    "api-path-sunset-parse",
                    method,
                    path,
                    format!("x-sunset cannot be read: {reason}"),
                );
                continue;
            }
        };
        let base_date = match parse(base) {
            Ok(date) => date,
            Err(reason) => {
                sink.emit(
                    "api-path-sunset-parse",
                    method,
                    path,
                    format!("x-sunset cannot be read: {reason}"),
                );
                continue;
            }
        };
        let Ok(stability) = stability_of(revision) else {
            continue;
        };
        let days = deprecation_days(sink.options, stability);
        if base_date > date && days_until(sink.options.today, date) < days {
            sink.emit(
                "api-sunset-date-changed-too-small",
                method,
                path,
                format!("sunset date moved earlier from {base_date} to {date}; it must stay at or after {base_date} and at least {days} days away"),
            );
        }
    }
}

fn operation_ids_and_tags(scope: &Scope<'_, '_>, sink: &mut Sink<'_>) {
    for op in scope.operations() {
        let (method, path) = (op.method, op.path);
        if let Some(change) = op.diff.operation_id {
            let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_owned();
            let (from, to) = (text(change.from), text(change.to));
            if from.is_empty() {
                sink.emit(
                    "api-operation-id-added",
                    method,
                    path,
                    format!("operation id `{to}` added"),
                );
            } else {
                sink.emit(
                    "api-operation-id-removed",
                    method,
                    path,
                    format!("operation id `{from}` replaced by `{to}`"),
                );
            }
        }
        if let Some(tags) = &op.diff.tags {
            for tag in &tags.deleted {
                sink.emit(
                    "api-tag-removed",
                    method,
                    path,
                    format!("tag `{tag}` removed"),
                );
            }
            for tag in &tags.added {
                sink.emit("api-tag-added", method, path, format!("tag `{tag}` added"));
            }
        }
    }
}

fn webhooks_and_components(scope: &Scope<'_, '_>, sink: &mut Sink<'_>) {
    let spec = scope.spec;
    for name in &spec.webhooks.added {
        sink.emit("webhook-added", "", "", format!("webhook `{name}` added"));
    }
    for name in &spec.webhooks.deleted {
        sink.emit(
            "webhook-removed",
            "",
            "",
            format!("webhook `{name}` removed"),
        );
    }
    for name in &spec.schemas_deleted {
        sink.emit(
            "api-schema-removed",
            "",
            "",
            format!("component schema `{name}` removed"),
        );
    }
    let schemes = &spec.security_schemes;
    for name in &schemes.added {
        sink.emit(
            "api-security-component-added",
            "",
            "",
            format!("security scheme `{name}` added"),
        );
    }
    for name in &schemes.deleted {
        sink.emit(
            "api-security-component-removed",
            "",
            "",
            format!("security scheme `{name}` removed"),
        );
    }
    for (name, (base, revision)) in &schemes.modified {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_owned();
        let (from, to) = (text(base.get("type")), text(revision.get("type")));
        if from != to {
            sink.emit(
                "api-security-component-type-changed",
                "",
                "",
                format!("security scheme `{name}`: type changed from `{from}` to `{to}`"),
            );
        }
        let flow = |scheme: &Map<String, Value>| -> Map<String, Value> {
            scheme
                .get("flows")
                .and_then(|flows| flows.get("implicit"))
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        let (a, b) = (flow(base), flow(revision));
        if a.is_empty() || b.is_empty() {
            continue;
        }
        for (field, id) in [
            (
                "authorizationUrl",
                "api-security-component-oauth-url-changed",
            ),
            ("tokenUrl", "api-security-component-oauth-token-url-changed"),
        ] {
            let (from, to) = (text(a.get(field)), text(b.get(field)));
            if from != to {
                sink.emit(
                    id,
                    "",
                    "",
                    format!("security scheme `{name}`: {field} changed from `{from}` to `{to}`"),
                );
            }
        }
        let empty = Map::new();
        let scopes = |flow: &Map<String, Value>| {
            flow.get("scopes")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_else(|| empty.clone())
        };
        let (sa, sb) = (scopes(&a), scopes(&b));
        for (scope_name, description) in &sa {
            match sb.get(scope_name) {
                None => sink.emit("api-security-component-oauth-scope-removed", "", "", format!("security scheme `{name}`: OAuth scope `{scope_name}` removed")),
                Some(other) if other != description => sink.emit(
                    "api-security-component-oauth-scope-changed",
                    "",
                    "",
                    format!("security scheme `{name}`: OAuth scope `{scope_name}` changed from `{}` to `{}`", text(Some(description)), text(Some(other))),
                ),
                Some(_) => {}
            }
        }
        for scope_name in sb.keys().filter(|s| !sa.contains_key(*s)) {
            sink.emit(
                "api-security-component-oauth-scope-added",
                "",
                "",
                format!("security scheme `{name}`: OAuth scope `{scope_name}` added"),
            );
        }
    }
}

fn parse_semver(text: &str) -> Option<semver::Version> {
    semver::Version::parse(text.strip_prefix('v').unwrap_or(text)).ok()
}

/// A breaking change (`ERR`) needs a major version increase (a minor one below 1.0.0).
pub(super) fn versioning(spec: &SpecDiff<'_>, sink: &mut Sink<'_>) {
    let Some((base_text, revision_text)) = &spec.version else {
        return;
    };
    let (Some(base), Some(revision)) = (parse_semver(base_text), parse_semver(revision_text))
    else {
        return;
    };
    if !sink.findings.iter().any(|f| f.level == crate::Level::Err) {
        return;
    }
    let key = |v: &semver::Version| (v.major, v.minor, v.patch);
    if base_text == revision_text {
        sink.emit(
            "api-version-not-bumped",
            "",
            "",
            format!("breaking change but the version is still {revision_text}"),
        );
    } else if key(&revision) <= key(&base) {
        sink.emit(
            "api-version-decreased",
            "",
            "",
            format!("breaking change but the version went from {base_text} to {revision_text}"),
        );
    } else {
        let bumped = if base.major == 0 && revision.major == 0 {
            revision.minor > base.minor
        } else {
            revision.major > base.major
        };
        if !bumped {
            sink.emit(
                "api-major-version-not-bumped",
                "",
                "",
                format!("breaking change but the major version did not increase ({base_text} to {revision_text})"),
            );
        }
    }
}
