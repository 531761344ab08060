//! Keyword rules that read the same on a request or response body and on every property
//! inside it: numeric bounds, subschema keywords added or removed, `allOf`/`anyOf`/`oneOf`
//! and `prefixItems` lists, `const`, `default`, content keywords, `dependentRequired`,
//! discriminators and the list-of-types pattern. A rule id is `<side>-<scope>-<change>`
//! (`request-property-max-length-set`); a change is reported when its rule exists, so the rule
//! table alone says which direction of a change matters on which side.

use super::{Body, Scope, Sink, request_bodies, response_bodies, walk_properties};
use crate::diff::schema_diff::{Kw, SchemaDiff, Subschema, SubschemasDiff};
use crate::rules::rule;
use crate::schema::{Schema, render};
use serde_json::Value;

pub(super) fn run(scope: &Scope<'_, '_>, sink: &mut Sink<'_>) {
    for body in request_bodies(scope)
        .iter()
        .chain(response_bodies(scope).iter())
    {
        let side = if body.is_request() {
            "request"
        } else {
            "response"
        };
        let body_target = Target {
            body,
            side,
            scope: "body",
            name: String::new(),
            diff: body.schema,
        };
        // A list-of-types change of the body is reported as such, not as oneOf/anyOf edits
        // of the body or of anything inside it.
        let body_list_of_types = body.schema.list_of_types.is_some();
        keyword_rules(&body_target, sink, body_list_of_types);
        walk_properties(body.schema, &mut |node| {
            let target = Target {
                body,
                side,
                scope: "property",
                name: node.full_name(),
                diff: node.diff,
            };
            keyword_rules(
                &target,
                sink,
                body_list_of_types || node.diff.list_of_types.is_some(),
            );
        });
    }
}

/// A body or a property inside one.
pub(super) struct Target<'t, 'd, 'a> {
    pub body: &'t Body<'d, 'a>,
    pub side: &'static str,
    pub scope: &'static str,
    pub name: String,
    pub diff: &'t SchemaDiff<'a>,
}

impl Target<'_, '_, '_> {
    /// Reports `<side>-<scope>-<change>` when that rule exists; true when it did.
    pub fn report(&self, sink: &mut Sink<'_>, change: &str, what: &str) -> bool {
        let id = format!("{}-{}-{}", self.side, self.scope, change);
        self.report_id(sink, &id, what)
    }

    pub fn report_id(&self, sink: &mut Sink<'_>, id: &str, what: &str) -> bool {
        let Some(rule) = rule(id) else {
            return false;
        };
        let text = format!("{}: {}", self.subject(), what);
        sink.emit(rule.id, self.body.method, self.body.path, text);
        true
    }

    pub fn subject(&self) -> String {
        let mut subject = match (self.side, self.scope) {
            ("request", "body") => "request body".to_owned(),
            ("request", _) => format!("request property `{}`", self.name),
            (_, "body") => "response body".to_owned(),
            _ => format!("response property `{}`", self.name),
        };
        if !self.body.status.is_empty() {
            subject.push_str(&format!(" (status {})", self.body.status));
        }
        if self.body.media_type != "application/json" {
            subject.push_str(&format!(" [{}]", self.body.media_type));
        }
        subject
    }
}

fn keyword_rules(target: &Target<'_, '_, '_>, sink: &mut Sink<'_>, suppress_one_of: bool) {
    if target.diff.nullable_wrapping {
        // wrapped into `oneOf: [null, <same schema>]`: reported as became-nullable only
        return;
    }
    bounds(target, sink);
    subschema_presence(target, sink);
    subschema_lists(target, sink, suppress_one_of);
    values(target, sink);
    discriminator(target, sink);
    list_of_types(target, sink);
}

/// The ordered keywords and how their rule ids name them.
const BOUNDS: [(Kw, &str, bool); 10] = [
    (Kw::Maximum, "max", false),
    (Kw::Minimum, "min", false),
    (Kw::ExclusiveMaximum, "exclusive-max", false),
    (Kw::ExclusiveMinimum, "exclusive-min", false),
    (Kw::MaxLength, "max-length", false),
    (Kw::MinLength, "min-length", true),
    (Kw::MaxItems, "max-items", false),
    (Kw::MinItems, "min-items", true),
    (Kw::MinContains, "min-contains", false),
    (Kw::MaxContains, "max-contains", false),
];

/// How a bound moved: set (absent → present), unset, increased, decreased; `None` when the
/// two values cannot be compared (the boolean form of an exclusive bound).
pub(super) fn bound_change(
    diff: &SchemaDiff<'_>,
    keyword: Kw,
    zero_is_absent: bool,
) -> Option<(&'static str, String)> {
    let change = diff.value(keyword)?;
    let read = |v: Option<&Value>| -> Option<f64> {
        match v {
            None if zero_is_absent => Some(0.0),
            None => None,
            Some(value) => value.as_f64(),
        }
    };
    let (from, to) = (read(change.from), read(change.to));
    let absent = |v: Option<f64>, raw: Option<&Value>| {
        if zero_is_absent {
            v == Some(0.0)
        } else {
            raw.is_none()
        }
    };
    if absent(from, change.from) && !absent(to, change.to) {
        return Some(("set", format!("set to {}", render(change.to))));
    }
    if !absent(from, change.from) && absent(to, change.to) {
        return Some(("unset", format!("{} removed", render(change.from))));
    }
    match (from, to) {
        (Some(a), Some(b)) if a < b => Some((
            "increased",
            format!(
                "increased from {} to {}",
                render(change.from),
                render(change.to)
            ),
        )),
        (Some(a), Some(b)) if a > b => Some((
            "decreased",
            format!(
                "decreased from {} to {}",
                render(change.from),
                render(change.to)
            ),
        )),
        _ => None,
    }
}

/// A bound that moved: the rule-id stem of the move (`max-length-set`), the stem to use when
/// no rule has that one (a `minLength` set from 0 is an increase), and what happened.
pub(super) struct BoundMove {
    pub change: String,
    pub fallback: Option<String>,
    pub what: String,
}

/// Every bound that moved in `diff`; `maxItems` written inside `items` counts when `items` is
/// given and the schema itself has no `maxItems` change (parameters, as oasdiff reads them).
pub(super) fn bound_moves(diff: &SchemaDiff<'_>, items: Option<&SchemaDiff<'_>>) -> Vec<BoundMove> {
    let mut moves = Vec::new();
    for (keyword, name, zero_is_absent) in BOUNDS {
        let holder = match (keyword, diff.value(Kw::MaxItems), items) {
            (Kw::MaxItems, None, Some(items)) => items,
            _ => diff,
        };
        let Some((action, what)) = bound_change(holder, keyword, zero_is_absent) else {
            continue;
        };
        let fallback = match (zero_is_absent, action) {
            (true, "set") => Some(format!("{name}-increased")),
            (true, "unset") => Some(format!("{name}-decreased")),
            _ => None,
        };
        moves.push(BoundMove {
            change: format!("{name}-{action}"),
            fallback,
            what: format!("{} {what}", keyword_spelling(keyword)),
        });
    }
    moves
}

fn bounds(target: &Target<'_, '_, '_>, sink: &mut Sink<'_>) {
    let read_only = target.scope == "property"
        && target.side == "request"
        && target.diff.revision.is_some_and(|s| s.read_only());
    for bound in bound_moves(target.diff, None) {
        if read_only
            && target.report_id(
                sink,
                &format!("request-read-only-property-{}", bound.change),
                &bound.what,
            )
        {
            continue;
        }
        if !target.report(sink, &bound.change, &bound.what)
            && let Some(fallback) = &bound.fallback
        {
            target.report(sink, fallback, &bound.what);
        }
    }
}

pub(super) fn keyword_spelling(keyword: Kw) -> &'static str {
    match keyword {
        Kw::Maximum => "maximum",
        Kw::Minimum => "minimum",
        Kw::ExclusiveMaximum => "exclusiveMaximum",
        Kw::ExclusiveMinimum => "exclusiveMinimum",
        Kw::MaxLength => "maxLength",
        Kw::MinLength => "minLength",
        Kw::MaxItems => "maxItems",
        Kw::MinItems => "minItems",
        Kw::MinContains => "minContains",
        Kw::MaxContains => "maxContains",
        _ => "keyword",
    }
}

fn subschema_presence(target: &Target<'_, '_, '_>, sink: &mut Sink<'_>) {
    let diff = target.diff;
    for (child, name, keyword) in [
        (&diff.if_schema, "if", "if"),
        (&diff.then_schema, "then", "then"),
        (&diff.else_schema, "else", "else"),
        (&diff.contains, "contains", "contains"),
        (&diff.property_names, "property-names", "propertyNames"),
        (
            &diff.unevaluated_items,
            "unevaluated-items",
            "unevaluatedItems",
        ),
        (
            &diff.unevaluated_properties,
            "unevaluated-properties",
            "unevaluatedProperties",
        ),
        (&diff.content_schema, "content-schema", "contentSchema"),
    ] {
        if let Some(child) = child {
            if child.added() {
                target.report(
                    sink,
                    &format!("{name}-added"),
                    &format!("`{keyword}` added"),
                );
            } else if child.deleted() {
                target.report(
                    sink,
                    &format!("{name}-removed"),
                    &format!("`{keyword}` removed"),
                );
            }
        }
    }
    for (map, name, keyword) in [
        (
            &diff.dependent_schemas,
            "dependent-schema",
            "dependentSchemas",
        ),
        (
            &diff.pattern_properties,
            "pattern-property",
            "patternProperties",
        ),
    ] {
        if let Some(map) = map {
            for key in &map.added {
                target.report(
                    sink,
                    &format!("{name}-added"),
                    &format!("{keyword} entry `{key}` added"),
                );
            }
            for key in &map.deleted {
                target.report(
                    sink,
                    &format!("{name}-removed"),
                    &format!("{keyword} entry `{key}` removed"),
                );
            }
        }
    }
}

fn names(list: &[Subschema]) -> String {
    list.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn subschema_lists(target: &Target<'_, '_, '_>, sink: &mut Sink<'_>, suppress_one_of: bool) {
    let diff = target.diff;
    if let Some(list) = &diff.all_of {
        all_of(target, sink, list);
    }
    if let Some(list) = &diff.any_of
        && !suppress_one_of
    {
        added_removed(target, sink, list, "any-of", "anyOf");
    }
    let wrapped = target.scope == "body" && diff.one_of_wrapping.is_some();
    if let Some(list) = &diff.one_of
        && !suppress_one_of
        && !wrapped
    {
        added_removed(target, sink, list, "one-of", "oneOf");
    }
    if let Some(list) = &diff.prefix_items {
        added_removed(target, sink, list, "prefix-items", "prefixItems");
    }
}

fn added_removed(
    target: &Target<'_, '_, '_>,
    sink: &mut Sink<'_>,
    list: &SubschemasDiff<'_>,
    name: &str,
    keyword: &str,
) {
    if !list.added.is_empty() {
        target.report(
            sink,
            &format!("{name}-added"),
            &format!("{} added to `{keyword}`", names(&list.added)),
        );
    }
    if !list.deleted.is_empty() {
        target.report(
            sink,
            &format!("{name}-removed"),
            &format!("{} removed from `{keyword}`", names(&list.deleted)),
        );
    }
}

/// `allOf` members that only annotate (title, description, ...) are reported apart, at INFO.
fn all_of(target: &Target<'_, '_, '_>, sink: &mut Sink<'_>, list: &SubschemasDiff<'_>) {
    let annotation_only =
        |subschema: &Subschema, side: Option<Schema<'_>>, spec: &crate::OpenApi| {
            side.and_then(|schema| schema.schema_list("allOf").get(subschema.index))
                .is_some_and(|value| Schema::at(spec, value).is_annotation_only())
        };
    for (members, side, spec, verb, keyword) in [
        (
            &list.added,
            target.diff.revision,
            target.body.revision_spec,
            "added",
            "added to",
        ),
        (
            &list.deleted,
            target.diff.base,
            target.body.base_spec,
            "removed",
            "removed from",
        ),
    ] {
        let (plain, annotations): (Vec<Subschema>, Vec<Subschema>) = members
            .iter()
            .cloned()
            .partition(|member| !annotation_only(member, side, spec));
        if !plain.is_empty() {
            target.report(
                sink,
                &format!("all-of-{verb}"),
                &format!("{} {keyword} `allOf`", names(&plain)),
            );
        }
        if !annotations.is_empty() {
            target.report(
                sink,
                &format!("all-of-{verb}-annotation-only"),
                &format!("annotation-only {} {keyword} `allOf`", names(&annotations)),
            );
        }
    }
}

fn values(target: &Target<'_, '_, '_>, sink: &mut Sink<'_>) {
    let diff = target.diff;
    for (keyword, name, spelling) in [
        (Kw::Const, "const", "const"),
        (Kw::Default, "default-value", "default"),
    ] {
        if let Some(change) = diff.value(keyword) {
            match (change.from, change.to) {
                (None, Some(to)) => target.report(
                    sink,
                    &format!("{name}-added"),
                    &format!("{spelling} {} added", render(Some(to))),
                ),
                (Some(from), None) => target.report(
                    sink,
                    &format!("{name}-removed"),
                    &format!("{spelling} {} removed", render(Some(from))),
                ),
                (from, to) => target.report(
                    sink,
                    &format!("{name}-changed"),
                    &format!("{spelling} changed from {} to {}", render(from), render(to)),
                ),
            };
        }
    }
    for (keyword, name, spelling) in [
        (
            Kw::ContentMediaType,
            "content-media-type-changed",
            "contentMediaType",
        ),
        (
            Kw::ContentEncoding,
            "content-encoding-changed",
            "contentEncoding",
        ),
    ] {
        if let Some(change) = diff.value(keyword) {
            target.report(
                sink,
                name,
                &format!(
                    "{spelling} changed from {} to {}",
                    render(change.from),
                    render(change.to)
                ),
            );
        }
    }
    if let Some(dependent) = &diff.dependent_required {
        for (key, names) in &dependent.added {
            target.report(
                sink,
                "dependent-required-added",
                &format!(
                    "dependentRequired added: when `{key}` is present, {} are required",
                    names.join(", ")
                ),
            );
        }
        for (key, names) in &dependent.deleted {
            target.report(
                sink,
                "dependent-required-removed",
                &format!(
                    "dependentRequired removed: `{key}` no longer requires {}",
                    names.join(", ")
                ),
            );
        }
        for (key, change) in &dependent.modified {
            target.report(
                sink,
                "dependent-required-changed",
                &format!(
                    "dependentRequired for `{key}` changed (added: {}; removed: {})",
                    change.added.join(", "),
                    change.deleted.join(", ")
                ),
            );
        }
    }
}

fn discriminator(target: &Target<'_, '_, '_>, sink: &mut Sink<'_>) {
    let Some(change) = &target.diff.discriminator else {
        return;
    };
    if change.added {
        target.report(sink, "discriminator-added", "discriminator added");
    }
    if change.deleted {
        target.report(sink, "discriminator-removed", "discriminator removed");
    }
    if let Some((from, to)) = &change.property_name {
        target.report(
            sink,
            "discriminator-property-name-changed",
            &format!("discriminator property name changed from `{from}` to `{to}`"),
        );
    }
    if !change.mapping_added.is_empty() {
        target.report(
            sink,
            "discriminator-mapping-added",
            &format!(
                "discriminator mapping keys added: {}",
                change.mapping_added.join(", ")
            ),
        );
    }
    if !change.mapping_deleted.is_empty() {
        target.report(
            sink,
            "discriminator-mapping-deleted",
            &format!(
                "discriminator mapping keys removed: {}",
                change.mapping_deleted.join(", ")
            ),
        );
    }
    for (key, (from, to)) in &change.mapping_modified {
        target.report(
            sink,
            "discriminator-mapping-changed",
            &format!("discriminator mapping `{key}` changed from `{from}` to `{to}`"),
        );
    }
}

fn list_of_types(target: &Target<'_, '_, '_>, sink: &mut Sink<'_>) {
    let Some(change) = &target.diff.list_of_types else {
        return;
    };
    let request = target.side == "request";
    let (action, types) = match (request, change.deleted.is_empty(), change.added.is_empty()) {
        (true, false, _) => ("narrowed", &change.deleted),
        (true, true, _) => ("widened", &change.added),
        (false, _, false) => ("widened", &change.added),
        (false, _, true) => ("narrowed", &change.deleted),
    };
    target.report(
        sink,
        &format!("list-of-types-{action}"),
        &format!("list of types {action} ({})", types.join(", ")),
    );
}
