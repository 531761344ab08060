//! One service's routing state and the per-request choice of an upstream: the canary weight in
//! an atomic, the instance sets in an atomically swapped table, readiness in per-instance
//! atomic flags. The hot path takes no lock.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use arc_swap::ArcSwap;
use http::uri::Authority;

use crate::backend::{CanaryWeight, InstanceId, Version};

/// One instance as the data path sees it.
#[derive(Debug)]
pub(crate) struct InstanceState {
    pub(crate) id: InstanceId,
    pub(crate) addr: SocketAddr,
    /// `addr` as a URI authority, computed once.
    pub(crate) authority: Authority,
    pub(crate) ready: AtomicBool,
}

impl InstanceState {
    pub(crate) fn new(id: InstanceId, addr: SocketAddr, ready: bool) -> Option<Self> {
        let authority = Authority::try_from(addr.to_string()).ok()?;
        Some(InstanceState {
            id,
            addr,
            authority,
            ready: AtomicBool::new(ready),
        })
    }

    pub(crate) fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}

/// The instances of one version, with a round-robin cursor.
#[derive(Debug, Default)]
pub(crate) struct VersionPool {
    pub(crate) instances: Vec<Arc<InstanceState>>,
    next: AtomicUsize,
}

impl VersionPool {
    pub(crate) fn new(instances: Vec<Arc<InstanceState>>) -> Self {
        VersionPool {
            instances,
            next: AtomicUsize::new(0),
        }
    }

    /// The next ready instance in round-robin order over the ready instances only, so that an
    /// unready instance's share spreads evenly over the others.
    fn pick(&self) -> Option<&Arc<InstanceState>> {
        let ready = self.instances.iter().filter(|i| i.is_ready()).count();
        if ready == 0 {
            return None;
        }
        let turn = self.next.fetch_add(1, Ordering::Relaxed) % ready;
        // An instance may turn unready between the count and this pass; then take any ready one.
        self.instances
            .iter()
            .filter(|i| i.is_ready())
            .nth(turn)
            .or_else(|| self.instances.iter().find(|i| i.is_ready()))
    }
}

/// Both versions' instance sets, replaced as a whole by `set_backends`.
#[derive(Debug, Default)]
pub(crate) struct RoutingTable {
    pub(crate) stable: VersionPool,
    pub(crate) canary: VersionPool,
}

impl RoutingTable {
    fn pool(&self, version: Version) -> &VersionPool {
        match version {
            Version::Stable => &self.stable,
            Version::Canary => &self.canary,
        }
    }

    pub(crate) fn instances(&self) -> impl Iterator<Item = &Arc<InstanceState>> {
        self.stable
            .instances
            .iter()
            .chain(self.canary.instances.iter())
    }
}

/// Where one request goes.
#[derive(Debug)]
pub(crate) enum Choice {
    /// To this instance of this version.
    Upstream(Version, Arc<InstanceState>),
    /// Nowhere: no ready instance in any allowed version.
    NoReadyInstance,
}

/// A service's routing state.
#[derive(Debug)]
pub(crate) struct ServiceRoutes {
    table: ArcSwap<RoutingTable>,
    /// Canary weight in per mille.
    weight: AtomicU32,
    /// Request sequence for the weighted draw.
    draws: AtomicU64,
    seed: u64,
}

impl ServiceRoutes {
    pub(crate) fn new() -> Self {
        ServiceRoutes {
            table: ArcSwap::from_pointee(RoutingTable::default()),
            weight: AtomicU32::new(0),
            draws: AtomicU64::new(0),
            seed: RandomState::new().hash_one(0x5eed_u64),
        }
    }

    pub(crate) fn set_weight(&self, weight: CanaryWeight) {
        self.weight.store(weight.per_mille(), Ordering::Release);
    }

    pub(crate) fn weight(&self) -> CanaryWeight {
        CanaryWeight::from_per_mille(self.weight.load(Ordering::Acquire))
            .unwrap_or(CanaryWeight::ZERO)
    }

    pub(crate) fn set_table(&self, table: RoutingTable) {
        self.table.store(Arc::new(table));
    }

    /// Chooses the upstream of one request. A pinned request goes to its version or nowhere
    /// (a smoke test must not pass on the other version); an unpinned one draws a version by
    /// the canary weight and falls back to the other version when the drawn one has no ready
    /// instance.
    pub(crate) fn choose(&self, pin: Option<Version>) -> Choice {
        let table = self.table.load();
        if let Some(version) = pin {
            return match table.pool(version).pick() {
                Some(instance) => Choice::Upstream(version, Arc::clone(instance)),
                None => Choice::NoReadyInstance,
            };
        }
        let drawn = self.draw();
        for version in [drawn, drawn.other()] {
            if let Some(instance) = table.pool(version).pick() {
                return Choice::Upstream(version, Arc::clone(instance));
            }
        }
        Choice::NoReadyInstance
    }

    /// Draws a version by the current weight. The weight is read afresh for every request, so
    /// a change applies to the next request.
    fn draw(&self) -> Version {
        let weight = u64::from(self.weight.load(Ordering::Acquire));
        if weight == 0 {
            return Version::Stable;
        }
        if weight >= 1000 {
            return Version::Canary;
        }
        let n = self.draws.fetch_add(1, Ordering::Relaxed);
        if splitmix64(self.seed.wrapping_add(n)) % 1000 < weight {
            Version::Canary
        } else {
            Version::Stable
        }
    }
}

/// SplitMix64's output function: a well-mixed 64-bit value from a counter (uniform enough for
/// traffic splitting; not for anything secret).
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(name: &str, port: u16, ready: bool) -> Arc<InstanceState> {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        match InstanceState::new(InstanceId::from(name), addr, ready) {
            Some(state) => Arc::new(state),
            None => panic!("bad test address"),
        }
    }

    fn routes(stable: Vec<Arc<InstanceState>>, canary: Vec<Arc<InstanceState>>) -> ServiceRoutes {
        let routes = ServiceRoutes::new();
        routes.set_table(RoutingTable {
            stable: VersionPool::new(stable),
            canary: VersionPool::new(canary),
        });
        routes
    }

    fn chosen(routes: &ServiceRoutes, pin: Option<Version>) -> Option<(Version, String)> {
        match routes.choose(pin) {
            Choice::Upstream(v, i) => Some((v, i.id.to_string())),
            Choice::NoReadyInstance => None,
        }
    }

    #[test]
    fn draws_follow_the_weight_closely() {
        let r = routes(vec![instance("s", 1, true)], vec![instance("c", 2, true)]);
        for per_mille in [0u32, 1, 200, 500, 999, 1000] {
            r.set_weight(CanaryWeight::from_per_mille(per_mille).unwrap_or_default());
            let canary = (0..100_000).filter(|_| r.draw() == Version::Canary).count() as f64;
            let expected = f64::from(per_mille) * 100.0;
            // Within 5 standard deviations (and exactly for 0 and 1000).
            let sd = (100_000.0 * f64::from(per_mille) / 1000.0
                * (1.0 - f64::from(per_mille) / 1000.0))
                .sqrt();
            assert!(
                (canary - expected).abs() <= 5.0 * sd,
                "{per_mille}‰: {canary}"
            );
        }
    }

    #[test]
    fn round_robin_skips_unready_and_pins_do_not_fall_back() {
        let a = instance("a", 1, true);
        let b = instance("b", 2, false);
        let c = instance("c", 3, true);
        let r = routes(vec![a, Arc::clone(&b), c], vec![instance("x", 4, false)]);
        let picks: Vec<_> = (0..6)
            .filter_map(|_| chosen(&r, None))
            .map(|(_, id)| id)
            .collect();
        assert!(picks.iter().all(|id| id != "b"));
        assert_eq!(picks.iter().filter(|id| *id == "a").count(), 3);
        b.ready.store(true, Ordering::Release);
        let picks: Vec<_> = (0..3)
            .filter_map(|_| chosen(&r, None))
            .map(|(_, id)| id)
            .collect();
        assert!(picks.iter().any(|id| id == "b"));
        // Canary drawn but unready: falls back to stable; pinned to canary: nowhere.
        r.set_weight(CanaryWeight::FULL);
        assert_eq!(chosen(&r, None).map(|(v, _)| v), Some(Version::Stable));
        assert_eq!(chosen(&r, Some(Version::Canary)), None);
        let empty = routes(vec![], vec![]);
        assert_eq!(chosen(&empty, None), None);
    }
}
