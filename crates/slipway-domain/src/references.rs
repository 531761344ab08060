//! Cross-document checks: references that must resolve, and dependency cycles.
//!
//! These need to know which other resources exist, so they take the names of the existing
//! resources as a value (the caller reads them from the store) together with the batch being
//! applied. They are pure: same inputs, same diagnostics.

use crate::diagnostic::Diagnostic;
use crate::kinds::{self, Service, ServiceSpec, typed};
use crate::resource::Resource;
use std::collections::{BTreeMap, BTreeSet};

/// (kind, name) of a resource.
pub type Key = (String, String);

/// Checks that every reference in `batch` names a resource that exists after the batch is
/// applied (in `existing` or in the batch), and that services' `dependsOn` has no cycle. The
/// returned diagnostics carry the index of the document in the batch.
pub fn check_batch(batch: &[Resource], existing: &BTreeSet<Key>) -> Vec<(usize, Diagnostic)> {
    let mut out = Vec::new();
    let mut known: BTreeSet<Key> = existing.clone();
    for r in batch {
        known.insert((r.kind.clone(), r.metadata.name.clone()));
    }
    for (i, r) in batch.iter().enumerate() {
        let Some(def) = kinds::lookup_exact(&r.kind) else {
            continue;
        };
        for reference in (def.references)(&r.spec) {
            if reference.kind == r.kind && reference.name == r.metadata.name {
                out.push((
                    i,
                    Diagnostic::new(reference.path, "a resource cannot refer to itself"),
                ));
            } else if !known.contains(&(reference.kind.to_string(), reference.name.clone())) {
                out.push((
                    i,
                    Diagnostic::new(
                        reference.path,
                        format!(
                            "refers to {} {:?}, which does not exist",
                            reference.kind, reference.name
                        ),
                    ),
                ));
            }
        }
    }
    out
}

/// Finds a cycle in the service dependency graph formed by `services` (name → dependsOn).
/// Returns the cycle as a path `a → b → a`, or `None`.
pub fn find_dependency_cycle(services: &BTreeMap<String, Vec<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Visiting,
        Done,
    }
    let mut marks: BTreeMap<&str, Mark> = BTreeMap::new();
    for start in services.keys() {
        if marks.contains_key(start.as_str()) {
            continue;
        }
        // Iterative DFS with an explicit stack of (node, next child index).
        let mut stack: Vec<(&str, usize)> = vec![(start.as_str(), 0)];
        marks.insert(start.as_str(), Mark::Visiting);
        while let Some((node, child)) = stack.last().copied() {
            let deps = services.get(node).map(Vec::as_slice).unwrap_or(&[]);
            if let Some(dep) = deps.get(child) {
                if let Some(top) = stack.last_mut() {
                    top.1 += 1;
                }
                match marks.get(dep.as_str()) {
                    Some(Mark::Visiting) => {
                        let from = stack.iter().position(|(n, _)| *n == dep).unwrap_or(0);
                        let mut cycle: Vec<String> =
                            stack[from..].iter().map(|(n, _)| n.to_string()).collect();
                        cycle.push(dep.clone());
                        return Some(cycle);
                    }
                    Some(Mark::Done) => {}
                    None => {
                        marks.insert(dep.as_str(), Mark::Visiting);
                        stack.push((dep.as_str(), 0));
                    }
                }
            } else {
                marks.insert(node, Mark::Done);
                stack.pop();
            }
        }
    }
    None
}

/// Builds the dependency map from service resources (those that validate).
pub fn service_dependencies<'a>(
    services: impl IntoIterator<Item = &'a Resource>,
) -> BTreeMap<String, Vec<String>> {
    services
        .into_iter()
        .filter(|r| r.is::<Service>())
        .filter_map(|r| {
            typed::<ServiceSpec>(&r.spec).map(|s| (r.metadata.name.clone(), s.depends_on))
        })
        .collect()
}

/// Builds the team hierarchy from team resources (those that validate): name → its parent.
/// A cycle in it ([`find_dependency_cycle`]) would make a team its own ancestor.
pub fn team_parents<'a>(
    teams: impl IntoIterator<Item = &'a Resource>,
) -> BTreeMap<String, Vec<String>> {
    teams
        .into_iter()
        .filter(|r| r.is::<kinds::Team>())
        .filter_map(|r| {
            typed::<kinds::TeamSpec>(&r.spec)
                .map(|s| (r.metadata.name.clone(), s.parent.into_iter().collect()))
        })
        .collect()
}

/// Which of `resources` refer to (kind, name): used to refuse deleting something still in use.
pub fn referrers(resources: &[Resource], kind: &str, name: &str) -> Vec<String> {
    resources
        .iter()
        .filter(|r| !(r.kind == kind && r.metadata.name == name))
        .filter_map(|r| {
            let def = kinds::lookup_exact(&r.kind)?;
            (def.references)(&r.spec)
                .iter()
                .find(|x| x.kind == kind && x.name == name)
                .map(|x| format!("{} {} ({})", r.kind, r.metadata.name, x.path))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::parse_document;
    use serde_json::json;

    fn svc(name: &str, deps: &[&str]) -> Resource {
        parse_document(
            &json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "Service",
            "metadata": {"name": name}, "spec": {"owner": "t", "tier": "low", "dependsOn": deps}}),
        )
        .unwrap()
    }

    #[test]
    fn missing_references_are_named() {
        let existing: BTreeSet<Key> = [("Team".to_string(), "t".to_string())].into();
        let batch = vec![svc("a", &["b"]), svc("b", &[]), svc("c", &["zz"])];
        let got: Vec<(usize, String)> = check_batch(&batch, &existing)
            .into_iter()
            .map(|(i, d)| (i, d.to_string()))
            .collect();
        assert_eq!(
            got,
            vec![(
                2,
                "spec.dependsOn[0]: refers to Service \"zz\", which does not exist".to_string()
            )]
        );
    }

    #[test]
    fn cycles_are_found() {
        let deps = service_dependencies(&[
            svc("a", &["b"]),
            svc("b", &["c"]),
            svc("c", &["a"]),
            svc("d", &["a"]),
        ]);
        assert_eq!(
            find_dependency_cycle(&deps).unwrap(),
            vec!["a", "b", "c", "a"]
        );
        let deps = service_dependencies(&[svc("a", &["b"]), svc("b", &[]), svc("d", &["a", "b"])]);
        assert_eq!(find_dependency_cycle(&deps), None);
    }

    #[test]
    fn team_parent_cycles_are_found() {
        let team = |name: &str, parent: Option<&str>| {
            parse_document(
                &json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "Team",
                "metadata": {"name": name}, "spec": {"parent": parent}}),
            )
            .unwrap()
        };
        let tree = [team("a", None), team("b", Some("a")), team("c", Some("b"))];
        assert_eq!(find_dependency_cycle(&team_parents(&tree)), None);
        let looped = [
            team("a", Some("c")),
            team("b", Some("a")),
            team("c", Some("b")),
        ];
        let cycle = find_dependency_cycle(&team_parents(&looped)).unwrap();
        assert_eq!(cycle.len(), 4, "{cycle:?}");
        assert_eq!(cycle.first(), cycle.last());
    }

    #[test]
    fn referrers_block_deletes() {
        let all = vec![svc("a", &["b"]), svc("b", &[])];
        assert_eq!(
            referrers(&all, "Service", "b"),
            vec!["Service a (spec.dependsOn[0])"]
        );
        assert!(referrers(&all, "Service", "a").is_empty());
    }
}
