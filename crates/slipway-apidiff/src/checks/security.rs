//! Security requirements: schemes and scopes added to or removed from the whole API and from
//! single operations.

use super::{Scope, Sink};
use crate::diff::SecurityDiff;

pub(super) fn run(scope: &Scope<'_, '_>, sink: &mut Sink<'_>) {
    if let Some(global) = &scope.spec.security {
        report(global, sink, "", "", true);
    }
    for op in scope.operations() {
        if let Some(security) = &op.diff.security {
            report(security, sink, op.method, op.path, false);
        }
    }
}

fn report(diff: &SecurityDiff, sink: &mut Sink<'_>, method: &str, path: &str, global: bool) {
    let prefix = if global {
        "api-global-security"
    } else {
        "api-security"
    };
    let (added, removed) = (format!("{prefix}-added"), format!("{prefix}-removed"));
    let (scope_added, scope_removed) = (
        format!("{prefix}-scope-added"),
        format!("{prefix}-scope-removed"),
    );
    let id = |text: &str| crate::rules::rule(text).map(|rule| rule.id);
    let place = if global { "the API" } else { "the operation" };
    for requirement in diff.added.iter().filter(|r| !r.is_empty()) {
        if let Some(id) = id(&added) {
            sink.emit(
                id,
                method,
                path,
                format!("security requirement `{requirement}` added to {place}"),
            );
        }
    }
    for requirement in diff.deleted.iter().filter(|r| !r.is_empty()) {
        if let Some(id) = id(&removed) {
            sink.emit(
                id,
                method,
                path,
                format!("security requirement `{requirement}` removed from {place}"),
            );
        }
    }
    for schemes in diff.modified.values() {
        for (scheme, scopes) in schemes {
            for name in &scopes.added {
                if let Some(id) = id(&scope_added) {
                    sink.emit(
                        id,
                        method,
                        path,
                        format!("scope `{name}` added to security scheme `{scheme}` of {place}"),
                    );
                }
            }
            for name in &scopes.deleted {
                if let Some(id) = id(&scope_removed) {
                    sink.emit(
                        id,
                        method,
                        path,
                        format!(
                            "scope `{name}` removed from security scheme `{scheme}` of {place}"
                        ),
                    );
                }
            }
        }
    }
}
