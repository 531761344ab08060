//! How a change of `type` or `format` reads: requests accept values (a wider type is safe),
//! responses produce them (a narrower type is safe). Integers are numbers; in media types that
//! are not JSON every value can be read as a string.

use crate::diff::schema_diff::{Kw, SchemaDiff, StringsDiff};

/// The verdict on one type/format change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TypeVerdict {
    /// Incompatible (`changed`).
    Changed,
    /// Accepts or returns more (`generalized`).
    Generalized,
    /// Accepts or returns less (`specialized`).
    Specialized,
    /// A swap that is safe only because the media type is not strongly typed (`compatible`).
    Compatible,
}

impl TypeVerdict {
    pub fn suffix(self) -> &'static str {
        match self {
            TypeVerdict::Changed => "type-changed",
            TypeVerdict::Generalized => "type-generalized",
            TypeVerdict::Specialized => "type-specialized",
            TypeVerdict::Compatible => "type-compatible",
        }
    }
}

pub(super) fn strongly_typed(media_type: &str) -> bool {
    media_type == "application/json" || media_type.ends_with("+json")
}

fn subtype(sub: &str, sup: &str) -> bool {
    sub == sup || (sub == "integer" && sup == "number")
}

fn covered(sub: &[&str], sup: &[&str]) -> bool {
    !sub.is_empty() && sub.iter().all(|t| sup.iter().any(|s| subtype(t, s)))
}

/// Whether the old type (`from`, the deleted types) still fits the new one (`to`, the added).
fn type_contained(to: &[String], from: &[String], strongly_typed: bool) -> bool {
    if to.len() == 1 && from.len() == 1 && subtype(&from[0], &to[0]) {
        return true;
    }
    if !strongly_typed {
        return to.is_empty() || (to.len() == 1 && to[0] == "string");
    }
    false
}

fn format_contained(target_types: &[&str], to: &str, from: &str) -> bool {
    if to.is_empty() {
        return true;
    }
    if target_types.len() != 1 {
        return false;
    }
    match target_types[0] {
        "number" => to == "double" && from == "float",
        "integer" => matches!(
            (to, from),
            ("int64", "int32") | ("bigint", "int32") | ("bigint", "int64")
        ),
        "string" => matches!((to, from), ("date-time", "date") | ("date-time", "time")),
        _ => false,
    }
}

fn format_of(diff: &SchemaDiff<'_>) -> (String, String) {
    match diff.value(Kw::Format) {
        Some(change) => (
            change
                .from
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_owned(),
            change.to.and_then(|v| v.as_str()).unwrap_or("").to_owned(),
        ),
        None => (String::new(), String::new()),
    }
}

/// Breaking when either axis breaks, evaluated toward `target_types`; a type constraint that
/// disappears from the target is never breaking.
fn breaking(
    types: Option<&StringsDiff>,
    format: Option<(&str, &str)>,
    strongly_typed: bool,
    target_types: &[&str],
) -> bool {
    if types.is_some() && target_types.is_empty() {
        return false;
    }
    let type_breaking =
        types.is_some_and(|t| !type_contained(&t.added, &t.deleted, strongly_typed));
    let format_breaking =
        format.is_some_and(|(from, to)| !format_contained(target_types, to, from));
    type_breaking || format_breaking
}

/// The verdict for a request (or parameter) value.
pub(super) fn request_verdict(diff: &SchemaDiff<'_>, strongly_typed: bool) -> TypeVerdict {
    let (base, revision) = (diff.base_types(), diff.revision_types());
    let widened = diff.types.is_some() && covered(&base, &revision);
    let types = if widened { None } else { diff.types.as_ref() };
    let (from, to) = format_of(diff);
    let format = diff.value(Kw::Format).map(|_| (from.as_str(), to.as_str()));
    if breaking(types, format, strongly_typed, &revision) {
        return TypeVerdict::Changed;
    }
    if diff.types.is_some() && !base.is_empty() && !revision.is_empty() && !widened {
        return TypeVerdict::Compatible;
    }
    TypeVerdict::Generalized
}

/// The verdict for a response value: the request reading with the direction reversed.
pub(super) fn response_verdict(diff: &SchemaDiff<'_>, strongly_typed: bool) -> TypeVerdict {
    let (base, revision) = (diff.base_types(), diff.revision_types());
    let narrowed = diff.types.is_some() && covered(&revision, &base);
    let reversed = diff.types.as_ref().map(|t| StringsDiff {
        added: t.deleted.clone(),
        deleted: t.added.clone(),
    });
    let types = if narrowed { None } else { reversed.as_ref() };
    let (from, to) = format_of(diff);
    let format = diff.value(Kw::Format).map(|_| (to.as_str(), from.as_str()));
    if breaking(types, format, strongly_typed, &base) {
        let widened = diff.types.is_some() && covered(&base, &revision);
        return if widened {
            TypeVerdict::Generalized
        } else {
            TypeVerdict::Changed
        };
    }
    if diff.types.is_some() && !base.is_empty() && !revision.is_empty() && !narrowed {
        return TypeVerdict::Compatible;
    }
    TypeVerdict::Specialized
}

/// For a property of an object parameter, whose serialisation is unknown: breaking under both
/// readings is `specialized` (an error), under neither `generalized`, under one `changed`.
pub(super) fn parameter_property_verdict(diff: &SchemaDiff<'_>) -> TypeVerdict {
    let revision = diff.revision_types();
    let (from, to) = format_of(diff);
    let format = diff.value(Kw::Format).map(|_| (from.as_str(), to.as_str()));
    let strong = {
        let type_breaking = diff
            .types
            .as_ref()
            .is_some_and(|t| !type_contained(&t.added, &t.deleted, true));
        type_breaking || format.is_some_and(|(f, t)| !format_contained(&revision, t, f))
    };
    let weak = {
        let type_breaking = diff
            .types
            .as_ref()
            .is_some_and(|t| !type_contained(&t.added, &t.deleted, false));
        type_breaking || format.is_some_and(|(f, t)| !format_contained(&revision, t, f))
    };
    match (strong, weak) {
        (true, true) => TypeVerdict::Specialized,
        (false, false) => TypeVerdict::Generalized,
        _ => TypeVerdict::Changed,
    }
}

/// Whether the type/format changed in a way the type rules look at: not a null-only change
/// (the nullability rules report those) and not a list-of-types change.
pub(super) fn type_or_format_changed(diff: &SchemaDiff<'_>) -> bool {
    if diff.list_of_types.is_some() {
        return false;
    }
    let format_changed = diff.value(Kw::Format).is_some();
    match &diff.types {
        Some(types) => {
            let null_only = types
                .added
                .iter()
                .chain(&types.deleted)
                .all(|t| t == "null");
            !null_only || format_changed
        }
        None => format_changed,
    }
}

/// `string/date → integer` style description of a type change.
pub(super) fn describe(diff: &SchemaDiff<'_>) -> String {
    let (from, to) = format_of(diff);
    let side = |types: Vec<&str>, format: &str| {
        let types = if types.is_empty() {
            "any".to_owned()
        } else {
            types.join("|")
        };
        if format.is_empty() {
            types
        } else {
            format!("{types}/{format}")
        }
    };
    let from = side(diff.base_types(), &from);
    let to = side(diff.revision_types(), &to);
    format!("type changed from {from} to {to}")
}

/// Nullability moving through `nullable`, a `"null"` type entry, or a `oneOf` with a null
/// alternative: `Some(true)` became nullable, `Some(false)` became not nullable.
pub(super) fn nullability_change(diff: &SchemaDiff<'_>) -> Option<bool> {
    if let Some(change) = diff.value(Kw::Nullable) {
        if change.was_true() {
            return Some(false);
        }
        if change.became_true() {
            return Some(true);
        }
        return None;
    }
    if let Some(types) = &diff.types {
        if !diff.revision_types().is_empty() && types.deleted.iter().any(|t| t == "null") {
            return Some(false);
        }
        if !diff.base_types().is_empty() && types.added.iter().any(|t| t == "null") {
            return Some(true);
        }
    }
    if diff.nullable_wrapping {
        return Some(true);
    }
    None
}
