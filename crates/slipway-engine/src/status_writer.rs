//! Group commit for status: rollouts and releases write their status after every step, and
//! with many rollouts at once (a release of hundreds of services) one durable commit per write
//! would queue them all behind the disk. Writes sent while a commit is in progress are written
//! together in the next transaction; each writer still waits until its own write is durable,
//! so "persisted step by step" holds.
//!
//! [`LatestStatus`] is for an owner that rewrites one status often and must not wait for each
//! write (a release's progress, while its rollouts run): only the latest value is written,
//! in order with that owner's earlier values, and [`LatestStatus::flush`] waits until it is.

use crate::EngineError;
use slipway_store::{Store, StoreError};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};

struct Pending {
    kind: String,
    name: String,
    value: serde_json::Value,
    done: oneshot::Sender<Result<bool, String>>,
}

/// Handle to the writer task.
#[derive(Clone)]
pub struct StatusWriter {
    sender: mpsc::UnboundedSender<Pending>,
}

/// Writes per transaction at most.
const BATCH: usize = 512;

impl StatusWriter {
    /// Starts the writer task (it ends when every handle is dropped).
    pub fn start(store: Arc<dyn Store>) -> Self {
        let (sender, mut receiver) = mpsc::unbounded_channel::<Pending>();
        tokio::spawn(async move {
            while let Some(first) = receiver.recv().await {
                let mut batch = vec![first];
                while batch.len() < BATCH {
                    match receiver.try_recv() {
                        Ok(p) => batch.push(p),
                        Err(_) => break,
                    }
                }
                let items: Vec<(String, String, serde_json::Value)> = batch
                    .iter()
                    .map(|p| (p.kind.clone(), p.name.clone(), p.value.clone()))
                    .collect();
                match store.set_statuses(&items).await {
                    Ok(found) => {
                        for (p, f) in batch.into_iter().zip(found) {
                            let _ = p.done.send(Ok(f));
                        }
                    }
                    Err(e) => {
                        let message = e.to_string();
                        for p in batch {
                            let _ = p.done.send(Err(message.clone()));
                        }
                    }
                }
            }
        });
        StatusWriter { sender }
    }

    /// Writes `value` as the status of `kind`/`name` and waits until it is committed.
    pub async fn write(
        &self,
        kind: &str,
        name: &str,
        value: serde_json::Value,
    ) -> Result<(), EngineError> {
        self.enqueue(kind, name, value).await
    }

    /// Queues the write now (writes keep the order they were queued in) and returns what
    /// waits until it is durable, for a caller with other work to do meanwhile.
    pub fn enqueue(
        &self,
        kind: &str,
        name: &str,
        value: serde_json::Value,
    ) -> impl std::future::Future<Output = Result<(), EngineError>> + Send + use<> {
        let (done, wait) = oneshot::channel();
        let pending = Pending {
            kind: kind.to_string(),
            name: name.to_string(),
            value,
            done,
        };
        let sent = self.sender.send(pending).map_err(|_| lost());
        let (kind, name) = (kind.to_string(), name.to_string());
        async move {
            sent?;
            match wait.await.map_err(|_| lost())? {
                Ok(true) => Ok(()),
                Ok(false) => Err(EngineError::Store(StoreError::NotFound { kind, name })),
                Err(e) => Err(EngineError::Store(StoreError::Corrupt(format!(
                    "writing status failed: {e}"
                )))),
            }
        }
    }
}

/// One status written in the background, latest value first: values set while a write is in
/// progress replace each other, so the owner never waits for the disk between values, and
/// the last value set is always the last written.
pub struct LatestStatus {
    latest: watch::Sender<Option<(u64, serde_json::Value)>>,
    /// The version of the last value written, and the first error met (kept).
    written: watch::Receiver<(u64, Option<String>)>,
    version: u64,
}

impl LatestStatus {
    /// Starts the background writer of `kind`/`name`'s status (it ends when this is dropped,
    /// after writing the value it holds).
    pub fn start(writer: &StatusWriter, kind: &str, name: &str) -> Self {
        let (latest, mut values) = watch::channel::<Option<(u64, serde_json::Value)>>(None);
        let (report, written) = watch::channel::<(u64, Option<String>)>((0, None));
        let (writer, kind, name) = (writer.clone(), kind.to_string(), name.to_string());
        tokio::spawn(async move {
            let mut failed: Option<String> = None;
            while values.changed().await.is_ok() {
                let Some((version, value)) = values.borrow_and_update().clone() else {
                    continue;
                };
                if let Err(e) = writer.enqueue(&kind, &name, value).await {
                    failed.get_or_insert_with(|| e.to_string());
                }
                let _ = report.send((version, failed.clone()));
            }
        });
        LatestStatus {
            latest,
            written,
            version: 0,
        }
    }

    /// Sets the value to write next, without waiting. Fails if an earlier write failed.
    pub fn set(&mut self, value: serde_json::Value) -> Result<(), EngineError> {
        self.failure()?;
        self.version += 1;
        self.latest.send_replace(Some((self.version, value)));
        Ok(())
    }

    /// Waits until the last value set is durable (or a write failed).
    pub async fn flush(&mut self) -> Result<(), EngineError> {
        let version = self.version;
        self.written
            .wait_for(|(written, failed)| *written >= version || failed.is_some())
            .await
            .map_err(|_| lost())?;
        self.failure()
    }

    fn failure(&self) -> Result<(), EngineError> {
        match &self.written.borrow().1 {
            Some(e) => Err(EngineError::Store(StoreError::Corrupt(e.clone()))),
            None => Ok(()),
        }
    }
}

fn lost() -> EngineError {
    EngineError::Store(StoreError::Corrupt("the status writer stopped".into()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors
    use super::*;
    use serde_json::json;
    use slipway_store::{Actor, Mutation, SqlStore};

    async fn store_with_team() -> (tempfile::TempDir, Arc<dyn Store>) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("slipway.db").display());
        let store: Arc<dyn Store> = Arc::new(SqlStore::open(&url).await.unwrap());
        let team = slipway_domain::resource::parse_document(&json!({
            "apiVersion": "slipway.dev/v1alpha1", "kind": "Team",
            "metadata": {"name": "payments"}, "spec": {}}))
        .unwrap();
        store
            .apply(&Actor::system("test"), vec![Mutation::Put(team)], false)
            .await
            .unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn values_set_while_writing_collapse_into_the_latest_and_flush_waits_for_it() {
        let (_dir, store) = store_with_team().await;
        let before = store.generations().await.unwrap()["Team"];
        let mut latest =
            LatestStatus::start(&StatusWriter::start(store.clone()), "Team", "payments");
        for n in 1..=100 {
            latest.set(json!({"step": n})).unwrap();
        }
        latest.flush().await.unwrap();
        let team = store.get("Team", "payments").await.unwrap().unwrap();
        assert_eq!(team.status, Some(json!({"step": 100})));
        // This runtime has one thread, so the writer ran only once the sets were done.
        assert_eq!(store.generations().await.unwrap()["Team"], before + 1);
        // Later values are written after earlier ones, also when nobody flushes in between.
        latest.set(json!({"step": 101})).unwrap();
        tokio::task::yield_now().await;
        latest.set(json!({"step": 102})).unwrap();
        latest.flush().await.unwrap();
        let team = store.get("Team", "payments").await.unwrap().unwrap();
        assert_eq!(team.status, Some(json!({"step": 102})));
    }

    #[tokio::test]
    async fn a_failed_write_is_reported_by_flush_and_every_later_set() {
        let (_dir, store) = store_with_team().await;
        let mut latest = LatestStatus::start(&StatusWriter::start(store), "Team", "absent");
        latest.set(json!({"step": 1})).unwrap();
        let failed = latest.flush().await.unwrap_err().to_string();
        assert!(failed.contains("absent"), "{failed}");
        assert!(latest.set(json!({"step": 2})).is_err());
    }
}
