//! Request bodies and responses as wholes: bodies added, removed, made required or optional;
//! media types added, removed, renamed, given or stripped of a schema; response statuses
//! added and removed; response headers added, removed, made optional, retyped, nullable.

use super::types::{nullability_change, response_verdict, type_or_format_changed};
use super::{Scope, Sink};
use crate::diff::ContentDiff;
use serde_json::Value;

pub(super) fn run(scope: &Scope<'_, '_>, sink: &mut Sink<'_>) {
    request_bodies(scope, sink);
    responses(scope, sink);
}

fn request_bodies(scope: &Scope<'_, '_>, sink: &mut Sink<'_>) {
    for op in scope.operations() {
        let Some(body) = &op.diff.request_body else {
            continue;
        };
        let (method, path) = (op.method, op.path);
        match (body.base, body.revision) {
            (None, Some(revision)) => {
                if revision.get("required") == Some(&Value::Bool(true)) {
                    sink.emit(
                        "request-body-added-required",
                        method,
                        path,
                        "required request body added".to_owned(),
                    );
                } else {
                    sink.emit(
                        "request-body-added-optional",
                        method,
                        path,
                        "optional request body added".to_owned(),
                    );
                }
                continue;
            }
            (Some(_), None) => {
                sink.emit(
                    "request-body-removed",
                    method,
                    path,
                    "request body removed".to_owned(),
                );
                continue;
            }
            _ => {}
        }
        if let Some(required) = body.required {
            if required.became_true() {
                sink.emit(
                    "request-body-became-required",
                    method,
                    path,
                    "request body became required".to_owned(),
                );
            } else {
                sink.emit(
                    "request-body-became-optional",
                    method,
                    path,
                    "request body became optional".to_owned(),
                );
            }
        }
        let Some(content) = &body.content else {
            continue;
        };
        for media in &content.added {
            sink.emit(
                "request-body-media-type-added",
                method,
                path,
                format!("request body media type `{media}` added"),
            );
        }
        for media in &content.deleted {
            sink.emit(
                "request-body-media-type-removed",
                method,
                path,
                format!("request body media type `{media}` removed"),
            );
        }
        schema_existence(content, sink, method, path, None);
    }
}

/// A media type that kept its name but gained or lost its schema.
fn schema_existence(
    content: &ContentDiff<'_>,
    sink: &mut Sink<'_>,
    method: &str,
    path: &str,
    status: Option<&str>,
) {
    for (media, change) in &content.modified {
        let Some(schema) = &change.schema else {
            continue;
        };
        let (id, verb) = match (schema.added(), schema.deleted(), status) {
            (true, _, None) => ("request-body-media-type-schema-added", "added to"),
            (_, true, None) => ("request-body-media-type-schema-removed", "removed from"),
            (true, _, Some(_)) => ("response-body-media-type-schema-added", "added to"),
            (_, true, Some(_)) => ("response-body-media-type-schema-removed", "removed from"),
            _ => continue,
        };
        let place = status.map_or_else(
            || "the request body".to_owned(),
            |s| format!("the response with status {s}"),
        );
        sink.emit(
            id,
            method,
            path,
            format!("schema {verb} media type `{media}` of {place}"),
        );
    }
}

fn media_type_parameters(name: &str) -> Vec<(String, String)> {
    let mut parameters: Vec<(String, String)> = name
        .split(';')
        .skip(1)
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().to_ascii_lowercase(),
                v.trim().trim_matches('"').to_owned(),
            )
        })
        .collect();
    parameters.sort();
    parameters
}

fn responses(scope: &Scope<'_, '_>, sink: &mut Sink<'_>) {
    for op in scope.operations() {
        let Some(responses) = &op.diff.responses else {
            continue;
        };
        let (method, path) = (op.method, op.path);
        let success = |status: &str| {
            status
                .parse::<u16>()
                .ok()
                .map(|code| (200..=299).contains(&code))
        };
        for status in &responses.deleted {
            match success(status) {
                Some(true) => sink.emit(
                    "response-success-status-removed",
                    method,
                    path,
                    format!("success response {status} removed"),
                ),
                Some(false) => sink.emit(
                    "response-non-success-status-removed",
                    method,
                    path,
                    format!("non-success response {status} removed"),
                ),
                None => {}
            }
        }
        for status in &responses.added {
            match success(status) {
                Some(true) => sink.emit(
                    "response-success-status-added",
                    method,
                    path,
                    format!("success response {status} added"),
                ),
                Some(false) => sink.emit(
                    "response-non-success-status-added",
                    method,
                    path,
                    format!("non-success response {status} added"),
                ),
                None => {}
            }
        }
        for (status, response) in &responses.modified {
            if let Some(content) = &response.content {
                for media in &content.deleted {
                    sink.emit(
                        "response-media-type-removed",
                        method,
                        path,
                        format!("media type `{media}` removed from response {status}"),
                    );
                }
                for media in &content.added {
                    sink.emit(
                        "response-media-type-added",
                        method,
                        path,
                        format!("media type `{media}` added to response {status}"),
                    );
                }
                for (media, change) in &content.modified {
                    let Some(from) = &change.renamed_from else {
                        continue;
                    };
                    let id = if media_type_parameters(from) != media_type_parameters(media) {
                        "response-media-type-name-changed"
                    } else if crate::diff::media_type_contains(from, media) {
                        "response-media-type-name-specialized"
                    } else {
                        "response-media-type-name-generalized"
                    };
                    sink.emit(
                        id,
                        method,
                        path,
                        format!("media type `{from}` changed to `{media}` in response {status}"),
                    );
                }
                schema_existence(content, sink, method, path, Some(status));
            }
            let Some(headers) = &response.headers else {
                continue;
            };
            for name in &headers.headers.added {
                sink.emit(
                    "response-header-added",
                    method,
                    path,
                    format!("header `{name}` added to response {status}"),
                );
            }
            for (name, header) in &headers.removed {
                let id = if header.get("required") == Some(&Value::Bool(true)) {
                    "required-response-header-removed"
                } else {
                    "optional-response-header-removed"
                };
                sink.emit(
                    id,
                    method,
                    path,
                    format!("header `{name}` removed from response {status}"),
                );
            }
            for (name, header) in &headers.headers.modified {
                if header.required.is_some_and(|r| r.was_true()) {
                    sink.emit(
                        "response-header-became-optional",
                        method,
                        path,
                        format!("header `{name}` of response {status} became optional"),
                    );
                }
                let Some(schema) = &header.schema else {
                    continue;
                };
                if schema.base.is_none() || schema.revision.is_none() {
                    continue;
                }
                if type_or_format_changed(schema) {
                    let id = format!(
                        "response-header-{}",
                        response_verdict(schema, false).suffix()
                    );
                    if let Some(rule) = crate::rules::rule(&id) {
                        sink.emit(
                            rule.id,
                            method,
                            path,
                            format!(
                                "header `{name}` of response {status}: {}",
                                super::types::describe(schema)
                            ),
                        );
                    }
                }
                match nullability_change(schema) {
                    Some(true) => sink.emit(
                        "response-header-became-nullable",
                        method,
                        path,
                        format!("header `{name}` of response {status} became nullable"),
                    ),
                    Some(false) => sink.emit(
                        "response-header-became-not-nullable",
                        method,
                        path,
                        format!("header `{name}` of response {status} became not nullable"),
                    ),
                    None => {}
                }
            }
        }
    }
}
