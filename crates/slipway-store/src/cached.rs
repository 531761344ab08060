//! A read-through cache over any [`Store`]: resources are served from memory, yet every read
//! is as fresh as a read of the database begun after the read was asked for.
//!
//! Freshness comes from the kinds' write generations ([`Store::generations`]), which the
//! database raises in the writing transaction itself, so writes by other processes and replicas
//! count as much as this one's. A read first learns the current generations, then serves a kind
//! from memory if it was loaded at that generation or later, and otherwise reloads that kind
//! once. Learning the generations is one small query, and it is shared: every read that arrives
//! while no query is under way waits for the next one, so a thousand reads at once cost one
//! query, not a thousand. A read never waits for a query that began before it arrived, because
//! that query might miss a write committed just before the read.
//!
//! A kind is loaded whole when it is listed; a single resource read of a kind that is not loaded
//! fresh fetches and keeps just that resource, so a kind whose statuses change all the time
//! (rollouts) costs one small read per resource asked for, not a reload of the kind.
//!
//! [`CachedStore::snapshot`] pins the generations once, for a caller that reads many things at
//! one moment (the deployment gate reads a dozen kinds per decision): its reads need no query at
//! all unless a kind must be loaded. Reads across every kind (`list_all`, `keys`) and
//! everything that is not a resource read (writes, tokens, the audit log, leases, the outbox)
//! go straight to the underlying store.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use ed25519_dalek::{SigningKey, VerifyingKey};
use slipway_domain::audit::proof_bundle::ExportedEntry;
use slipway_domain::audit::verify::Report;
use slipway_domain::audit::{Hash, SignedCheckpoint};
use slipway_domain::resource::Resource;

use crate::fresh::FreshRounds;
use crate::{Actor, Applied, Mutation, OutboxItem, OutboxOutcome, Result, Store, TokenRecord};

/// Kinds and their write generations.
type Generations = BTreeMap<String, u64>;

/// A [`Store`] whose resource reads come from memory (see the module documentation).
#[derive(Clone)]
pub struct CachedStore {
    shared: Arc<Shared>,
    /// On a snapshot: the generations its reads are served at (or later).
    pinned: Option<Arc<Generations>>,
}

struct Shared {
    inner: Arc<dyn Store>,
    /// The generation queries, shared by the reads that arrive while none has begun.
    checks: FreshRounds<Arc<Generations>>,
    kinds: Mutex<HashMap<String, Arc<KindSnapshot>>>,
    /// One loader at a time per kind, so a burst of readers loads a kind once.
    loaders: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Single resources (with their writer, or none) of kinds not loaded whole, by kind and
    /// name, with the kind's generation they were read at (or later).
    singles: Mutex<HashMap<(String, String), Single>>,
}

/// One resource read on its own, when its kind was at `generation` (or later).
type Single = (u64, Option<Arc<(Resource, String)>>);

/// At most this many single resources are kept; past it they are all forgotten.
const MAX_SINGLES: usize = 20_000;

/// One kind's resources, loaded when the kind's generation was `generation` (or later).
struct KindSnapshot {
    generation: u64,
    /// By name, with who wrote each one's current revision.
    resources: BTreeMap<String, Arc<(Resource, String)>>,
}

impl CachedStore {
    pub fn new(inner: Arc<dyn Store>) -> Self {
        CachedStore {
            shared: Arc::new(Shared {
                inner,
                checks: FreshRounds::default(),
                kinds: Mutex::new(HashMap::new()),
                loaders: Mutex::new(HashMap::new()),
                singles: Mutex::new(HashMap::new()),
            }),
            pinned: None,
        }
    }

    /// A view pinned at the current generations: each read through it reflects every write
    /// committed before this call (or later ones), without asking the database again. Writes
    /// through a snapshot go to the store, but the snapshot's own reads need not see them: take
    /// a new snapshot after writing.
    pub async fn snapshot(&self) -> Result<CachedStore> {
        Ok(CachedStore {
            shared: self.shared.clone(),
            pinned: Some(self.shared.current_generations().await?),
        })
    }

    /// How many generation queries this cache (and its snapshots) have made.
    pub fn generation_queries(&self) -> u64 {
        self.shared.checks.runs()
    }

    /// The version of `kind` this view reads: it changes whenever one of the kind's resources
    /// does, so a value derived from them may be kept under it.
    pub async fn version(&self, kind: &str) -> Result<u64> {
        Ok(self.kind(kind).await?.generation)
    }

    /// The resources of `kind` (as [`Store::list`]) and the [`version`](Self::version) they are.
    pub async fn list_versioned(&self, kind: &str) -> Result<(u64, Vec<Resource>)> {
        let loaded = self.kind(kind).await?;
        Ok((
            loaded.generation,
            loaded
                .resources
                .values()
                .map(|found| found.0.clone())
                .collect(),
        ))
    }

    /// The generation of `kind` this view reads at.
    async fn generation(&self, kind: &str) -> Result<u64> {
        let generations = match &self.pinned {
            Some(pinned) => pinned.clone(),
            None => self.shared.current_generations().await?,
        };
        Ok(generations.get(kind).copied().unwrap_or(0))
    }

    async fn kind(&self, kind: &str) -> Result<Arc<KindSnapshot>> {
        let generation = self.generation(kind).await?;
        self.shared.kind_at(kind, generation).await
    }

    /// One resource and its writer: from the kind if it is loaded fresh, else on its own.
    async fn single(&self, kind: &str, name: &str) -> Result<Option<Arc<(Resource, String)>>> {
        let generation = self.generation(kind).await?;
        if let Some(loaded) = self.shared.loaded(kind, generation) {
            return Ok(loaded.resources.get(name).cloned());
        }
        let key = (kind.to_string(), name.to_string());
        if let Some((at, found)) = self
            .shared
            .singles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            && *at >= generation
        {
            return Ok(found.clone());
        }
        let found = self
            .shared
            .inner
            .get_with_writer(kind, name)
            .await?
            .map(Arc::new);
        let mut singles = self
            .shared
            .singles
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if singles.len() >= MAX_SINGLES {
            singles.clear();
        }
        let newer = singles.get(&key).is_some_and(|(at, _)| *at > generation);
        if !newer {
            singles.insert(key, (generation, found.clone()));
        }
        Ok(found)
    }
}

impl Shared {
    /// The generations as read by a query begun after this call.
    async fn current_generations(&self) -> Result<Arc<Generations>> {
        self.checks
            .fresh(|| async { Ok(Arc::new(self.inner.generations().await?)) })
            .await
    }

    fn loaded(&self, kind: &str, generation: u64) -> Option<Arc<KindSnapshot>> {
        self.kinds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(kind)
            .filter(|k| k.generation >= generation)
            .cloned()
    }

    /// `kind` as loaded at `generation` or later, loading it if need be.
    async fn kind_at(&self, kind: &str, generation: u64) -> Result<Arc<KindSnapshot>> {
        if let Some(loaded) = self.loaded(kind, generation) {
            return Ok(loaded);
        }
        let loader = self
            .loaders
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(kind.to_string())
            .or_default()
            .clone();
        let _loading = loader.lock().await;
        if let Some(loaded) = self.loaded(kind, generation) {
            return Ok(loaded);
        }
        // The generation was read before this list, so what the list returns is at least that
        // fresh; a write in between raises the generation and a later read reloads.
        let resources = self
            .inner
            .list_with_writers(kind)
            .await?
            .into_iter()
            .map(|(resource, writer)| {
                (resource.metadata.name.clone(), Arc::new((resource, writer)))
            })
            .collect();
        let snapshot = Arc::new(KindSnapshot {
            generation,
            resources,
        });
        let mut kinds = self.kinds.lock().unwrap_or_else(PoisonError::into_inner);
        let newer = kinds
            .get(kind)
            .is_some_and(|k| k.generation > snapshot.generation);
        if !newer {
            kinds.insert(kind.to_string(), snapshot.clone());
        }
        Ok(snapshot)
    }
}

#[async_trait]
impl Store for CachedStore {
    async fn apply(
        &self,
        actor: &Actor,
        batch: Vec<Mutation>,
        dry_run: bool,
    ) -> Result<Vec<Applied>> {
        self.shared.inner.apply(actor, batch, dry_run).await
    }

    async fn get(&self, kind: &str, name: &str) -> Result<Option<Resource>> {
        Ok(self.single(kind, name).await?.map(|found| found.0.clone()))
    }

    async fn get_with_writer(&self, kind: &str, name: &str) -> Result<Option<(Resource, String)>> {
        Ok(self
            .single(kind, name)
            .await?
            .map(|found| found.as_ref().clone()))
    }

    async fn updated_by(&self, kind: &str, name: &str) -> Result<Option<String>> {
        Ok(self.single(kind, name).await?.map(|found| found.1.clone()))
    }

    async fn list(&self, kind: &str) -> Result<Vec<Resource>> {
        Ok(self
            .kind(kind)
            .await?
            .resources
            .values()
            .map(|found| found.0.clone())
            .collect())
    }

    async fn list_labelled(&self, kind: &str, key: &str, value: &str) -> Result<Vec<Resource>> {
        Ok(self
            .kind(kind)
            .await?
            .resources
            .values()
            .filter(|found| found.0.metadata.labels.get(key).map(String::as_str) == Some(value))
            .map(|found| found.0.clone())
            .collect())
    }

    async fn list_with_writers(&self, kind: &str) -> Result<Vec<(Resource, String)>> {
        Ok(self
            .kind(kind)
            .await?
            .resources
            .values()
            .map(|found| found.as_ref().clone())
            .collect())
    }

    async fn generations(&self) -> Result<Generations> {
        self.shared.inner.generations().await
    }

    async fn list_all(&self) -> Result<Vec<Resource>> {
        self.shared.inner.list_all().await
    }

    async fn keys(&self) -> Result<BTreeSet<(String, String)>> {
        self.shared.inner.keys().await
    }

    async fn set_status(&self, kind: &str, name: &str, status: &serde_json::Value) -> Result<()> {
        self.shared.inner.set_status(kind, name, status).await
    }

    async fn set_statuses(
        &self,
        items: &[(String, String, serde_json::Value)],
    ) -> Result<Vec<bool>> {
        self.shared.inner.set_statuses(items).await
    }

    async fn create_token(&self, actor: &Actor, token: TokenRecord) -> Result<u64> {
        self.shared.inner.create_token(actor, token).await
    }

    async fn token(&self, id: &str) -> Result<Option<TokenRecord>> {
        self.shared.inner.token(id).await
    }

    async fn tokens(&self, user: Option<&str>) -> Result<Vec<TokenRecord>> {
        self.shared.inner.tokens(user).await
    }

    async fn revoke_token(&self, actor: &Actor, id: &str) -> Result<bool> {
        self.shared.inner.revoke_token(actor, id).await
    }

    async fn audit_entries(&self, from: u64, limit: u64) -> Result<Vec<ExportedEntry>> {
        self.shared.inner.audit_entries(from, limit).await
    }

    async fn audit_head(&self) -> Result<(u64, Hash)> {
        self.shared.inner.audit_head().await
    }

    async fn leaf_hashes(&self, size: u64) -> Result<Vec<Hash>> {
        self.shared.inner.leaf_hashes(size).await
    }

    async fn checkpoint(&self, key: &SigningKey) -> Result<Option<SignedCheckpoint>> {
        self.shared.inner.checkpoint(key).await
    }

    async fn checkpoints(&self) -> Result<Vec<SignedCheckpoint>> {
        self.shared.inner.checkpoints().await
    }

    async fn verify(&self, key: &VerifyingKey) -> Result<Report> {
        self.shared.inner.verify(key).await
    }

    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<bool> {
        self.shared
            .inner
            .acquire_lease(name, holder, now_ms, ttl_ms)
            .await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        self.shared.inner.release_lease(name, holder).await
    }

    async fn meta(&self, key: &str) -> Result<Option<String>> {
        self.shared.inner.meta(key).await
    }

    async fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.shared.inner.set_meta(key, value).await
    }

    async fn enqueue_outbox(
        &self,
        items: &[(String, serde_json::Value)],
        now_ms: i64,
    ) -> Result<()> {
        self.shared.inner.enqueue_outbox(items, now_ms).await
    }

    async fn due_outbox(&self, now_ms: i64, limit: u32) -> Result<Vec<OutboxItem>> {
        self.shared.inner.due_outbox(now_ms, limit).await
    }

    async fn settle_outbox(&self, id: i64, outcome: &OutboxOutcome) -> Result<()> {
        self.shared.inner.settle_outbox(id, outcome).await
    }

    async fn recent_outbox(&self, limit: u32) -> Result<Vec<OutboxItem>> {
        self.shared.inner.recent_outbox(limit).await
    }
}
