//! Release planning: the order in which services deploy.
//!
//! A release deploys in waves: every service comes after the services it depends on that are
//! part of the same release (also through dependencies that are not part of it), and services
//! that do not depend on each other share a wave and may deploy in parallel. Removals go in the
//! reverse order.

use std::collections::{BTreeMap, BTreeSet};

/// Waves of `selected` services in dependency order, given every service's `dependsOn`.
/// Returns the services forming a cycle when there is one.
pub fn deploy_waves(
    depends_on: &BTreeMap<String, Vec<String>>,
    selected: &BTreeSet<String>,
) -> Result<Vec<Vec<String>>, Vec<String>> {
    if let Some(cycle) = crate::references::find_dependency_cycle(depends_on) {
        return Err(cycle);
    }
    let needs = dependency_needs(depends_on, selected);
    let needs: BTreeMap<&str, BTreeSet<&str>> = needs
        .iter()
        .map(|(s, d)| (s.as_str(), d.iter().map(String::as_str).collect()))
        .collect();
    let mut waves = Vec::new();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    while done.len() < needs.len() {
        let wave: Vec<&str> = needs
            .iter()
            .filter(|(s, deps)| !done.contains(*s) && deps.iter().all(|d| done.contains(d)))
            .map(|(s, _)| *s)
            .collect();
        if wave.is_empty() {
            // Unreachable without a cycle, which was ruled out above.
            return Err(needs
                .keys()
                .filter(|s| !done.contains(*s))
                .map(|s| s.to_string())
                .collect());
        }
        done.extend(wave.iter().copied());
        waves.push(wave.into_iter().map(str::to_string).collect());
    }
    Ok(waves)
}

/// For each selected service, the selected services it must wait for: those it depends on,
/// directly or through services outside the selection. A scheduler may start a service as soon
/// as these are done (waves are the same relation, batched).
pub fn dependency_needs(
    depends_on: &BTreeMap<String, Vec<String>>,
    selected: &BTreeSet<String>,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut needs = BTreeMap::new();
    for service in selected {
        let mut found = BTreeSet::new();
        let mut stack: Vec<&str> = depends_on
            .get(service)
            .map(|d| d.iter().map(String::as_str).collect())
            .unwrap_or_default();
        let mut seen = BTreeSet::new();
        while let Some(dep) = stack.pop() {
            if !seen.insert(dep) {
                continue;
            }
            if selected.contains(dep) {
                found.insert(dep.to_string());
            } else if let Some(next) = depends_on.get(dep) {
                stack.extend(next.iter().map(String::as_str));
            }
        }
        needs.insert(service.clone(), found);
    }
    needs
}

/// The waves for removing `selected`: dependants first.
pub fn removal_waves(
    depends_on: &BTreeMap<String, Vec<String>>,
    selected: &BTreeSet<String>,
) -> Result<Vec<Vec<String>>, Vec<String>> {
    let mut waves = deploy_waves(depends_on, selected)?;
    waves.reverse();
    Ok(waves)
}

/// The longest chain of waits: the sum, along the worst dependency chain, of each service's
/// duration. A release that runs every wave's services in parallel cannot beat it.
pub fn critical_path(
    depends_on: &BTreeMap<String, Vec<String>>,
    selected: &BTreeSet<String>,
    duration: &BTreeMap<String, f64>,
) -> f64 {
    fn finish<'a>(
        s: &'a str,
        deps: &'a BTreeMap<String, Vec<String>>,
        selected: &BTreeSet<String>,
        duration: &BTreeMap<String, f64>,
        memo: &mut BTreeMap<&'a str, f64>,
        depth: usize,
    ) -> f64 {
        if let Some(v) = memo.get(s) {
            return *v;
        }
        if depth > 10_000 {
            return 0.0;
        }
        let before = deps
            .get(s)
            .map(|d| {
                d.iter()
                    .map(|x| finish(x, deps, selected, duration, memo, depth + 1))
                    .fold(0.0, f64::max)
            })
            .unwrap_or(0.0);
        let own = if selected.contains(s) {
            duration.get(s).copied().unwrap_or(0.0)
        } else {
            0.0
        };
        let total = before + own;
        memo.insert(s, total);
        total
    }
    let mut memo = BTreeMap::new();
    selected
        .iter()
        .map(|s| finish(s, depends_on, selected, duration, &mut memo, 0))
        .fold(0.0, f64::max)
}

/// How many services the longest chain of dependants headed by each service holds (itself
/// included), from `needs` as [`dependency_needs`] returns it. Starting the services with the
/// longest chains first keeps a release close to its critical path when they cannot all start
/// at once. Services caught in a cycle get no length.
pub fn chain_lengths(needs: &BTreeMap<String, BTreeSet<String>>) -> BTreeMap<String, usize> {
    let mut dependants: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (service, deps) in needs {
        for dep in deps {
            dependants.entry(dep).or_default().push(service);
        }
    }
    // From the services nothing depends on, back towards the roots: a service's length is
    // known once every dependant's is.
    let mut unknown: BTreeMap<&str, usize> = needs
        .keys()
        .map(|s| (s.as_str(), dependants.get(s.as_str()).map_or(0, Vec::len)))
        .collect();
    let mut known: Vec<&str> = unknown
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(s, _)| *s)
        .collect();
    let mut lengths: BTreeMap<String, usize> = BTreeMap::new();
    while let Some(service) = known.pop() {
        let longest = dependants
            .get(service)
            .into_iter()
            .flatten()
            .filter_map(|d| lengths.get(*d))
            .max()
            .copied()
            .unwrap_or(0);
        lengths.insert(service.to_string(), longest + 1);
        for dep in needs.get(service).into_iter().flatten() {
            if let Some(n) = unknown.get_mut(dep.as_str()) {
                *n -= 1;
                if *n == 0 {
                    known.push(dep);
                }
            }
        }
    }
    lengths
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        edges
            .iter()
            .map(|(s, d)| (s.to_string(), d.iter().map(|x| x.to_string()).collect()))
            .collect()
    }

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn waves_follow_dependencies() {
        let g = graph(&[
            ("web", &["api", "auth"]),
            ("api", &["auth", "ledger"]),
            ("auth", &[]),
            ("ledger", &[]),
            ("search", &[]),
        ]);
        let all = set(&["web", "api", "auth", "ledger", "search"]);
        assert_eq!(
            deploy_waves(&g, &all).unwrap(),
            vec![vec!["auth", "ledger", "search"], vec!["api"], vec!["web"]]
        );
        assert_eq!(
            removal_waves(&g, &all).unwrap().first().unwrap(),
            &vec!["web".to_string()]
        );
        // Through a service outside the release: web waits for ledger via api.
        assert_eq!(
            deploy_waves(&g, &set(&["web", "ledger"])).unwrap(),
            vec![vec!["ledger"], vec!["web"]]
        );
    }

    #[test]
    fn cycles_are_refused() {
        let g = graph(&[("a", &["b"]), ("b", &["a"])]);
        assert!(deploy_waves(&g, &set(&["a", "b"])).is_err());
    }

    #[test]
    fn critical_path_is_the_slowest_chain() {
        let g = graph(&[
            ("web", &["api"]),
            ("api", &["auth"]),
            ("auth", &[]),
            ("search", &[]),
        ]);
        let d: BTreeMap<String, f64> = [("web", 1.0), ("api", 2.0), ("auth", 3.0), ("search", 5.5)]
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect();
        assert_eq!(
            critical_path(&g, &set(&["web", "api", "auth", "search"]), &d),
            6.0
        );
    }

    #[test]
    fn chain_lengths_count_the_longest_chain_of_dependants() {
        let check = |edges: &[(&str, &[&str])], expected: &[(&str, usize)]| {
            let g = graph(edges);
            let all: BTreeSet<String> = g.keys().cloned().collect();
            let lengths = chain_lengths(&dependency_needs(&g, &all));
            let expected: BTreeMap<String, usize> =
                expected.iter().map(|(s, n)| (s.to_string(), *n)).collect();
            assert_eq!(lengths, expected, "{edges:?}");
        };
        check(&[("a", &[])], &[("a", 1)]);
        // auth heads auth → api → web; ledger heads ledger → api → web, as long.
        check(
            &[
                ("web", &["api", "auth"]),
                ("api", &["auth", "ledger"]),
                ("auth", &[]),
                ("ledger", &[]),
                ("search", &[]),
            ],
            &[
                ("web", 1),
                ("api", 2),
                ("auth", 3),
                ("ledger", 3),
                ("search", 1),
            ],
        );
        // A diamond, and a long tail on one side.
        check(
            &[
                ("root", &[]),
                ("left", &["root"]),
                ("right", &["root"]),
                ("join", &["left", "right"]),
                ("tail", &["right"]),
                ("tail2", &["tail"]),
                ("tail3", &["tail2"]),
            ],
            &[
                ("root", 5),
                ("left", 2),
                ("right", 4),
                ("join", 1),
                ("tail", 3),
                ("tail2", 2),
                ("tail3", 1),
            ],
        );
        // A cycle: its services get no length; the rest still do.
        check(&[("x", &["y"]), ("y", &["x"]), ("z", &[])], &[("z", 1)]);
    }
}
