//! Drift between the dependencies a catalog declares and the calls traces show: calls nobody
//! declared, and declarations nobody uses.

use crate::ServiceEdge;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// A declared dependency: `client` depends on (calls) `server`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct DeclaredEdge {
    pub client: String,
    pub server: String,
}

/// The comparison, every list sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Drift {
    /// Observed between two known services but not declared.
    pub undeclared: Vec<ServiceEdge>,
    /// Declared but not observed at all.
    pub unused: Vec<DeclaredEdge>,
    /// Declared and observed.
    pub confirmed: Vec<ServiceEdge>,
    /// Observed with an end that is no known service (a virtual node, a database, a user).
    pub external: Vec<ServiceEdge>,
}

/// Compares `observed` calls with `declared` dependencies. `services` are the names the
/// catalog knows: an observed call with an end outside them is listed as external rather than
/// undeclared. Calls are summed per pair first.
pub fn drift(
    declared: &[DeclaredEdge],
    observed: &[ServiceEdge],
    services: &BTreeSet<String>,
) -> Drift {
    let mut calls: BTreeMap<(&str, &str), (u64, u64)> = BTreeMap::new();
    for edge in observed {
        let entry = calls
            .entry((edge.client.as_str(), edge.server.as_str()))
            .or_default();
        entry.0 += edge.calls;
        entry.1 += edge.errors;
    }
    let declared_set: BTreeSet<(&str, &str)> = declared
        .iter()
        .map(|d| (d.client.as_str(), d.server.as_str()))
        .collect();
    let mut result = Drift::default();
    for (&(client, server), &(calls, errors)) in &calls {
        let edge = ServiceEdge {
            client: client.to_owned(),
            server: server.to_owned(),
            calls,
            errors,
        };
        if declared_set.contains(&(client, server)) {
            result.confirmed.push(edge);
        } else if services.contains(client) && services.contains(server) {
            result.undeclared.push(edge);
        } else {
            result.external.push(edge);
        }
    }
    result.unused = declared_set
        .iter()
        .filter(|pair| !calls.contains_key(*pair))
        .map(|(client, server)| DeclaredEdge {
            client: (*client).to_owned(),
            server: (*server).to_owned(),
        })
        .collect();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(client: &str, server: &str, calls: u64) -> ServiceEdge {
        ServiceEdge {
            client: client.to_owned(),
            server: server.to_owned(),
            calls,
            errors: 0,
        }
    }

    fn declared(client: &str, server: &str) -> DeclaredEdge {
        DeclaredEdge {
            client: client.to_owned(),
            server: server.to_owned(),
        }
    }

    #[test]
    fn observed_and_declared_are_compared() {
        let services: BTreeSet<String> = ["checkout", "payments", "ledger", "search"]
            .map(str::to_owned)
            .into();
        let result = drift(
            &[
                declared("checkout", "payments"),
                declared("checkout", "search"),
            ],
            &[
                edge("checkout", "payments", 3),
                edge("checkout", "payments", 2),
                edge("payments", "ledger", 7),
                edge("user", "checkout", 9),
                edge("checkout", "postgres", 4),
            ],
            &services,
        );
        assert_eq!(result.confirmed, vec![edge("checkout", "payments", 5)]);
        assert_eq!(result.undeclared, vec![edge("payments", "ledger", 7)]);
        assert_eq!(result.unused, vec![declared("checkout", "search")]);
        assert_eq!(
            result.external,
            vec![edge("checkout", "postgres", 4), edge("user", "checkout", 9)]
        );
    }

    #[test]
    fn nothing_observed_means_every_declaration_is_unused() {
        let result = drift(&[declared("a", "b")], &[], &BTreeSet::new());
        assert_eq!(result.unused, vec![declared("a", "b")]);
        assert!(
            result.confirmed.is_empty()
                && result.undeclared.is_empty()
                && result.external.is_empty()
        );
    }
}
