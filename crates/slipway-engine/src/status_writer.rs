//! Group commit for status: rollouts and releases write their status after every step, and
//! with many rollouts at once (a release of hundreds of services) one durable commit per write
//! would queue them all behind the disk. Writes sent while a commit is in progress are written
//! together in the next transaction; each writer still waits until its own write is durable,
//! so "persisted step by step" holds.

use crate::EngineError;
use slipway_store::{Store, StoreError};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

struct Pending {
    kind: String,
    name: String,
    value: serde_json::Value,
    done: oneshot::Sender<Result<bool, String>>,
}

/// Handle to the writer task.
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
        let lost = || EngineError::Store(StoreError::Corrupt("the status writer stopped".into()));
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
