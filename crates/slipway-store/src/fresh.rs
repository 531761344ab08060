//! Sharing work between callers without serving anyone something stale: [`FreshRounds`] runs
//! one computation at a time, and each caller takes the result of the first computation that
//! *began after the caller arrived*. Every caller that arrived before a computation began shares
//! it, so a thousand callers at once cost two computations (the one under way when they arrived
//! cannot serve them, the next one serves them all), and none is served from before its call.
//!
//! The cached store learns the database's write generations this way; the gate shares the
//! decisions of identical requests this way.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

/// One computation at a time; see the module documentation.
pub struct FreshRounds<T> {
    /// How many computations have begun.
    begun: AtomicU64,
    /// The latest successful computation: its number and result. Holding this lock is what
    /// makes a computation the one under way.
    last: tokio::sync::Mutex<Option<(u64, T)>>,
}

impl<T> Default for FreshRounds<T> {
    fn default() -> Self {
        FreshRounds {
            begun: AtomicU64::new(0),
            last: tokio::sync::Mutex::new(None),
        }
    }
}

impl<T: Clone> FreshRounds<T> {
    /// The result of a run of `compute` begun after this call: this caller's own run, or one
    /// it shares with callers that arrived before that run began. A failed run is not shared.
    pub async fn fresh<E, F>(&self, compute: impl FnOnce() -> F) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>>,
    {
        let begun_before_arrival = self.begun.load(Ordering::SeqCst);
        let mut last = self.last.lock().await;
        if let Some((number, value)) = last.as_ref()
            && *number > begun_before_arrival
        {
            return Ok(value.clone());
        }
        let number = self.begun.fetch_add(1, Ordering::SeqCst) + 1;
        let value = compute().await?;
        *last = Some((number, value.clone()));
        Ok(value)
    }

    /// How many computations have begun.
    pub fn runs(&self) -> u64 {
        self.begun.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly

    use super::FreshRounds;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn callers_share_runs_begun_after_they_arrived_and_never_older_ones() {
        let rounds = Arc::new(FreshRounds::<u64>::default());
        // The "state" each run reads; bumped before some calls, which must then see it.
        let state = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for i in 0..400u64 {
            if i % 100 == 0 {
                state.fetch_add(1, Ordering::SeqCst);
            }
            let seen_at_call = state.load(Ordering::SeqCst);
            let (rounds, state) = (rounds.clone(), state.clone());
            tasks.push(tokio::spawn(async move {
                let value = rounds
                    .fresh(|| async {
                        tokio::task::yield_now().await;
                        Ok::<_, ()>(state.load(Ordering::SeqCst))
                    })
                    .await
                    .unwrap();
                (seen_at_call, value)
            }));
        }
        for task in tasks {
            let (seen_at_call, value) = task.await.unwrap();
            assert!(
                value >= seen_at_call,
                "served {value}, older than {seen_at_call}"
            );
        }
        assert!(
            rounds.runs() < 400,
            "{} runs for 400 callers",
            rounds.runs()
        );
    }

    #[tokio::test]
    async fn a_failed_run_is_not_shared() {
        let rounds = FreshRounds::<u64>::default();
        assert_eq!(
            rounds.fresh(|| async { Err::<u64, _>("down") }).await,
            Err("down")
        );
        assert_eq!(rounds.fresh(|| async { Ok::<_, &str>(7) }).await, Ok(7));
        assert_eq!(rounds.runs(), 2);
    }
}
