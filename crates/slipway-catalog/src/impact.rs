//! Impact analysis: who is affected when a service changes. The graph joins declared
//! dependencies (catalog `dependsOn`, API consumption) and observed ones (traces), is built
//! once in a compact form (names interned, reverse edges in one array), and answers "which
//! services depend on X, directly or not" with their owners and tiers, nearest first.

use serde::Serialize;
use std::collections::HashMap;

/// Where a dependency is known from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Declared,
    Observed,
    Both,
}

impl Origin {
    fn bits(self) -> u8 {
        match self {
            Origin::Declared => 1,
            Origin::Observed => 2,
            Origin::Both => 3,
        }
    }

    fn from_bits(bits: u8) -> Origin {
        match bits {
            1 => Origin::Declared,
            2 => Origin::Observed,
            _ => Origin::Both,
        }
    }
}

/// `from` depends on (calls) `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    pub from: String,
    pub to: String,
    pub origin: Origin,
}

/// What is known about a service besides its name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceFacts {
    pub name: String,
    pub owner: Option<String>,
    pub tier: Option<String>,
}

/// A service affected by a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Impacted<'g> {
    pub name: &'g str,
    pub owner: Option<&'g str>,
    pub tier: Option<&'g str>,
    /// 1 for a direct dependant, 2 for a dependant of one, ...
    pub depth: u32,
    /// The service this one depends on along a shortest path to the changed one.
    pub via: &'g str,
    /// How that dependency is known.
    pub origin: Origin,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    node: u32,
    depth: u32,
    via: u32,
    edge: u32,
}

/// The services a change affects, nearest first, read as [`Impacted`] entries.
#[derive(Debug, Clone)]
pub struct ImpactSet<'g> {
    graph: &'g DependencyGraph,
    entries: Vec<Entry>,
}

impl<'g> ImpactSet<'g> {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = Impacted<'g>> + '_ {
        let graph = self.graph;
        self.entries.iter().map(move |entry| {
            let index = entry.node as usize;
            Impacted {
                name: &graph.names[index],
                owner: graph.owners[index].as_deref(),
                tier: graph.tiers[index].as_deref(),
                depth: entry.depth,
                via: &graph.names[entry.via as usize],
                origin: Origin::from_bits(graph.origins[entry.edge as usize]),
            }
        })
    }
}

/// The dependency graph, ready for queries.
#[derive(Debug, Clone, Default)]
pub struct DependencyGraph {
    names: Vec<String>,
    owners: Vec<Option<String>>,
    tiers: Vec<Option<String>>,
    index: HashMap<String, u32>,
    /// `dependants[offsets[i]..offsets[i + 1]]` are the nodes that depend on node `i`.
    offsets: Vec<u32>,
    dependants: Vec<u32>,
    origins: Vec<u8>,
}

impl DependencyGraph {
    /// Builds the graph. The same edge given twice (declared and observed) is one edge known
    /// both ways; self-dependencies are ignored; services only named by edges have no facts.
    pub fn build(
        facts: impl IntoIterator<Item = ServiceFacts>,
        dependencies: impl IntoIterator<Item = Dependency>,
    ) -> Self {
        let mut graph = DependencyGraph::default();
        for fact in facts {
            let id = graph.intern(&fact.name);
            graph.owners[id as usize] = fact.owner;
            graph.tiers[id as usize] = fact.tier;
        }
        // (target, dependant) → origin bits
        let mut edges: HashMap<(u32, u32), u8> = HashMap::new();
        for dependency in dependencies {
            if dependency.from == dependency.to {
                continue;
            }
            let (from, to) = (graph.intern(&dependency.from), graph.intern(&dependency.to));
            *edges.entry((to, from)).or_default() |= dependency.origin.bits();
        }
        let mut edges: Vec<((u32, u32), u8)> = edges.into_iter().collect();
        edges.sort_unstable();
        let nodes = graph.names.len();
        graph.offsets = vec![0; nodes + 1];
        for ((target, _), _) in &edges {
            graph.offsets[*target as usize + 1] += 1;
        }
        for i in 0..nodes {
            graph.offsets[i + 1] += graph.offsets[i];
        }
        graph.dependants = edges.iter().map(|((_, dependant), _)| *dependant).collect();
        graph.origins = edges.iter().map(|(_, origin)| *origin).collect();
        graph
    }

    fn intern(&mut self, name: &str) -> u32 {
        if let Some(id) = self.index.get(name) {
            return *id;
        }
        let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.names.push(name.to_owned());
        self.owners.push(None);
        self.tiers.push(None);
        self.index.insert(name.to_owned(), id);
        id
    }

    pub fn services(&self) -> usize {
        self.names.len()
    }

    pub fn edges(&self) -> usize {
        self.dependants.len()
    }

    /// Every service that depends on `service`, directly or through others, nearest first
    /// (breadth-first; ties in the order edges were sorted). `None` when the graph does not
    /// know `service`.
    pub fn dependants_of(&self, service: &str) -> Option<ImpactSet<'_>> {
        let start = *self.index.get(service)?;
        let mut seen = vec![0u64; self.names.len().div_ceil(64)];
        let mark = |seen: &mut Vec<u64>, node: u32| {
            let (word, bit) = ((node / 64) as usize, node % 64);
            let was = seen[word] & (1 << bit) != 0;
            seen[word] |= 1 << bit;
            was
        };
        mark(&mut seen, start);
        // The result doubles as the breadth-first queue: entries are appended in visiting
        // order and read back from `head`.
        let mut entries: Vec<Entry> = Vec::new();
        let mut head = 0usize;
        let mut current = (start, 0u32);
        loop {
            let (node, depth) = current;
            let (from, to) = (
                self.offsets[node as usize] as usize,
                self.offsets[node as usize + 1] as usize,
            );
            for edge in from..to {
                let dependant = self.dependants[edge];
                if !mark(&mut seen, dependant) {
                    entries.push(Entry {
                        node: dependant,
                        depth: depth + 1,
                        via: node,
                        edge: edge as u32,
                    });
                }
            }
            let Some(next) = entries.get(head) else { break };
            current = (next.node, next.depth);
            head += 1;
        }
        Some(ImpactSet {
            graph: self,
            entries,
        })
    }

    /// The owners of everything `service` affects, each once, sorted.
    pub fn impacted_owners(&self, service: &str) -> Vec<&str> {
        let Some(impact) = self.dependants_of(service) else {
            return Vec::new();
        };
        let mut owners: Vec<&str> = impact
            .iter()
            .filter_map(|impacted| impacted.owner)
            .collect();
        owners.sort_unstable();
        owners.dedup();
        owners
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(name: &str, owner: &str, tier: &str) -> ServiceFacts {
        ServiceFacts {
            name: name.to_owned(),
            owner: Some(owner.to_owned()),
            tier: Some(tier.to_owned()),
        }
    }

    fn dep(from: &str, to: &str, origin: Origin) -> Dependency {
        Dependency {
            from: from.to_owned(),
            to: to.to_owned(),
            origin,
        }
    }

    fn graph() -> DependencyGraph {
        DependencyGraph::build(
            [
                facts("web", "team-web", "high"),
                facts("checkout", "team-pay", "critical"),
                facts("payments", "team-pay", "critical"),
                facts("ledger", "team-ledger", "high"),
            ],
            [
                dep("web", "checkout", Origin::Declared),
                dep("checkout", "payments", Origin::Declared),
                dep("checkout", "payments", Origin::Observed),
                dep("payments", "ledger", Origin::Observed),
                dep("web", "ledger", Origin::Declared),
                dep("ledger", "ledger", Origin::Declared),
                dep("batch", "ledger", Origin::Observed),
            ],
        )
    }

    #[test]
    fn dependants_are_transitive_nearest_first() {
        let graph = graph();
        let impacted: Vec<(&str, u32, &str, Origin)> = graph
            .dependants_of("ledger")
            .unwrap()
            .iter()
            .map(|i| (i.name, i.depth, i.via, i.origin))
            .collect();
        assert_eq!(
            impacted,
            vec![
                ("web", 1, "ledger", Origin::Declared),
                ("payments", 1, "ledger", Origin::Observed),
                ("batch", 1, "ledger", Origin::Observed),
                ("checkout", 2, "payments", Origin::Both),
            ]
        );
        assert_eq!(
            graph.impacted_owners("ledger"),
            vec!["team-pay", "team-web"]
        );
        assert!(graph.dependants_of("web").unwrap().is_empty());
        assert!(graph.dependants_of("nobody").is_none());
        assert_eq!((graph.services(), graph.edges()), (5, 5));
    }

    #[test]
    fn cycles_end() {
        let graph = DependencyGraph::build(
            [],
            [
                dep("a", "b", Origin::Declared),
                dep("b", "a", Origin::Declared),
                dep("c", "a", Origin::Observed),
            ],
        );
        let names: Vec<&str> = graph
            .dependants_of("a")
            .unwrap()
            .iter()
            .map(|i| i.name)
            .collect();
        assert_eq!(names, vec!["b", "c"]);
    }
}
