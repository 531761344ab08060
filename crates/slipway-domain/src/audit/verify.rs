//! Offline verification of an audit log against its signed checkpoints and the audited state.
//!
//! [`LogVerifier`] is fed entries in `seq` order (streaming, so a million entries need only the
//! tree's right edge in memory), then the current state rows, and reports every problem found,
//! earliest entry first. It detects: a modified entry (leaf hash or checkpoint root mismatch),
//! missing or reordered entries (gaps in `seq`), truncation (a checkpoint or the store's head
//! covering more entries than exist), bad signatures, and audited state that does not match its
//! latest audit entry (changed, added or removed behind Slipway's back).

use super::checkpoint::SignedCheckpoint;
use super::entry::{AuditEntry, AuditEntryRef};
use super::merkle::leaf_hash;
use super::merkle::{Frontier, Hash};
use ed25519_dalek::VerifyingKey;
use serde::Serialize;
use std::collections::HashMap;

/// One thing found wrong. `entry` is the first audit entry it concerns, when there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<u64>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.entry {
            Some(seq) => write!(f, "entry #{seq}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The outcome of a verification.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub entries: u64,
    pub checkpoints_verified: usize,
    pub state_rows_checked: usize,
    /// Root of the recomputed tree, hex.
    pub root: String,
    /// Size of the latest checkpoint that matched, if any.
    pub latest_checkpoint: Option<u64>,
    pub problems: Vec<Problem>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// The earliest problem: what an auditor looks at first.
    pub fn first_problem(&self) -> Option<&Problem> {
        self.problems.first()
    }
}

/// A current state row: what the store holds now for an audited object.
#[derive(Debug, Clone)]
pub struct StateRow {
    pub kind: String,
    pub name: String,
    pub revision: i64,
    /// Digest recomputed from the stored content (never the stored digest column).
    pub digest: String,
}

struct Latest {
    seq: u64,
    removal: bool,
    revision: i64,
    digest: String,
}

/// An entry reduced to what verification needs, with its leaf hash computed. Making these is
/// the expensive part of verification and needs no shared state, so it can run on several
/// threads; [`LogVerifier::push_hashed`] then consumes them in order.
#[derive(Debug, Clone)]
pub struct HashedEntry {
    pub seq: u64,
    pub leaf: Hash,
    /// `kind \0 name`.
    pub object: String,
    pub revision: i64,
    pub digest: String,
    pub removal: bool,
    /// Set when the recorded leaf hash differs: what the entry says, for the report.
    pub mismatch: Option<String>,
}

impl HashedEntry {
    /// Hashes `entry` (using `buffer` as scratch) and compares with the recorded leaf.
    pub fn new(entry: AuditEntryRef<'_>, recorded: Option<Hash>, buffer: &mut Vec<u8>) -> Self {
        buffer.clear();
        entry.write_leaf_bytes(buffer);
        let leaf = leaf_hash(buffer);
        let mut object = String::with_capacity(entry.kind.len() + entry.name.len() + 1);
        object.push_str(entry.kind);
        object.push('\0');
        object.push_str(entry.name);
        HashedEntry {
            seq: entry.seq,
            leaf,
            object,
            revision: entry.revision,
            digest: entry.digest.to_string(),
            removal: entry.is_removal(),
            mismatch: recorded.filter(|r| *r != leaf).map(|_| {
                format!(
                    "{} {} {} revision {}",
                    entry.action, entry.kind, entry.name, entry.revision
                )
            }),
        }
    }
}

/// Streaming verifier; see the module docs.
pub struct LogVerifier {
    key: VerifyingKey,
    frontier: Frontier,
    checkpoints: Vec<SignedCheckpoint>,
    next_checkpoint: usize,
    checkpoints_verified: usize,
    latest_checkpoint: Option<u64>,
    expected_seq: u64,
    /// Latest entry per object, keyed `kind \0 name` so lookups need no allocation.
    latest: HashMap<String, Latest>,
    leaf_buffer: Vec<u8>,
    /// The first entry since the last good checkpoint that was out of place or whose recorded
    /// leaf did not match: the entry a checkpoint mismatch is blamed on.
    first_bad_leaf: Option<u64>,
    problems: Vec<Problem>,
}

impl LogVerifier {
    /// Starts a verification against `checkpoints`, trusting `key`. Checkpoint signatures are
    /// checked here; a checkpoint with a bad signature is reported and not used.
    pub fn new(key: VerifyingKey, checkpoints: Vec<SignedCheckpoint>) -> Self {
        let mut problems = Vec::new();
        let mut good = Vec::new();
        for cp in checkpoints {
            match cp.verify(&key) {
                Ok(()) => good.push(cp),
                Err(e) => problems.push(Problem {
                    entry: None,
                    message: format!(
                        "checkpoint at tree size {} ({}): {e}",
                        cp.checkpoint.size, cp.checkpoint.timestamp
                    ),
                }),
            }
        }
        good.sort_by_key(|c| c.checkpoint.size);
        let mut v = LogVerifier {
            key,
            frontier: Frontier::new(),
            checkpoints: good,
            next_checkpoint: 0,
            checkpoints_verified: 0,
            latest_checkpoint: None,
            expected_seq: 0,
            latest: HashMap::new(),
            leaf_buffer: Vec::with_capacity(512),
            first_bad_leaf: None,
            problems,
        };
        v.check_checkpoints_at_current_size();
        v
    }

    /// The trusted key.
    pub fn key(&self) -> &VerifyingKey {
        &self.key
    }

    /// Feeds the next entry, with the leaf hash the store recorded for it, if any.
    pub fn push_entry(&mut self, entry: &AuditEntry, recorded_leaf: Option<&Hash>) {
        self.push(entry.view(), recorded_leaf);
    }

    /// Feeds the next entry (borrowed), with the leaf hash the store recorded for it, if any.
    pub fn push(&mut self, entry: AuditEntryRef<'_>, recorded_leaf: Option<&Hash>) {
        let hashed = HashedEntry::new(entry, recorded_leaf.copied(), &mut self.leaf_buffer);
        self.push_hashed(&hashed);
    }

    /// Feeds the next entry, already hashed (possibly on another thread) by [`HashedEntry::new`].
    pub fn push_hashed(&mut self, entry: &HashedEntry) {
        if entry.seq != self.expected_seq {
            let message = if entry.seq > self.expected_seq {
                format!(
                    "found where entry #{} was expected: entries #{}..#{} are missing",
                    self.expected_seq,
                    self.expected_seq,
                    entry.seq - 1
                )
            } else {
                format!(
                    "found after entry #{}: entries are duplicated or out of order",
                    self.expected_seq.saturating_sub(1)
                )
            };
            let suspect = entry.seq.min(self.expected_seq);
            self.first_bad_leaf.get_or_insert(suspect);
            self.problems.push(Problem {
                entry: Some(suspect),
                message,
            });
        }
        if let Some(label) = &entry.mismatch {
            self.first_bad_leaf.get_or_insert(entry.seq);
            self.problems.push(Problem {
                entry: Some(entry.seq),
                message: format!(
                    "content does not match its recorded leaf hash: the entry was modified ({label})"
                ),
            });
        }
        self.frontier.push(entry.leaf);
        self.expected_seq = self.expected_seq.max(entry.seq) + 1;
        match self.latest.get_mut(entry.object.as_str()) {
            Some(latest) => {
                latest.seq = entry.seq;
                latest.removal = entry.removal;
                latest.revision = entry.revision;
                latest.digest.clone_from(&entry.digest);
            }
            None => {
                self.latest.insert(
                    entry.object.clone(),
                    Latest {
                        seq: entry.seq,
                        removal: entry.removal,
                        revision: entry.revision,
                        digest: entry.digest.clone(),
                    },
                );
            }
        }
        self.check_checkpoints_at_current_size();
    }

    fn check_checkpoints_at_current_size(&mut self) {
        let size = self.frontier.size();
        while let Some(cp) = self.checkpoints.get(self.next_checkpoint) {
            if cp.checkpoint.size > size {
                break;
            }
            self.next_checkpoint += 1;
            if cp.checkpoint.root_hash() == Some(self.frontier.root()) {
                self.checkpoints_verified += 1;
                self.latest_checkpoint = Some(size);
                self.first_bad_leaf = None;
            } else {
                let from = self.latest_checkpoint.unwrap_or(0);
                self.problems.push(Problem {
                    entry: Some(self.first_bad_leaf.unwrap_or(from)),
                    message: format!(
                        "the signed checkpoint at tree size {size} ({}) does not match the entries: an entry in #{from}..#{} was modified, removed or reordered",
                        cp.checkpoint.timestamp,
                        size.saturating_sub(1)
                    ),
                });
            }
        }
    }

    /// Finishes: checks truncation against the checkpoints and the store's recorded head size,
    /// then each state row against the latest audit entry of its object. `state` is `None` when
    /// only the log itself is checked (an export holds no state).
    pub fn finish<I: IntoIterator<Item = StateRow>>(
        mut self,
        head_size: Option<u64>,
        state: Option<I>,
    ) -> Report {
        let size = self.frontier.size();
        if let Some(cp) = self.checkpoints.last()
            && cp.checkpoint.size > size
        {
            self.problems.push(Problem {
                entry: Some(size),
                message: format!(
                    "the log is truncated: the checkpoint signed at {} covers {} entries but only {size} are present (entries #{size}..#{} are missing)",
                    cp.checkpoint.timestamp,
                    cp.checkpoint.size,
                    cp.checkpoint.size - 1
                ),
            });
        }
        if let Some(head) = head_size
            && head != size
        {
            self.problems.push(Problem {
                entry: Some(size.min(head)),
                message: format!(
                    "the store's log head records {head} entries but {size} are present: the log was truncated or extended behind Slipway's back"
                ),
            });
        }
        // Problems with the log itself come first (earliest entry first), then state problems:
        // a state row can only be judged against a log that is intact.
        self.problems.sort_by_key(|p| p.entry.unwrap_or(u64::MAX));
        let log_problems = std::mem::take(&mut self.problems);
        let check_state = state.is_some();
        let mut seen = std::collections::HashSet::new();
        let mut rows = 0;
        for row in state.into_iter().flatten() {
            rows += 1;
            let key = format!("{}\0{}", row.kind, row.name);
            match self.latest.get(&key) {
                None => self.problems.push(Problem {
                    entry: None,
                    message: format!(
                        "{} {} (revision {}) has no audit entry: it was written behind Slipway's back or its entries were deleted",
                        row.kind, row.name, row.revision
                    ),
                }),
                Some(latest) if latest.removal => self.problems.push(Problem {
                    entry: Some(latest.seq),
                    message: format!(
                        "{} {} was deleted by this entry but is present in the store",
                        row.kind, row.name
                    ),
                }),
                Some(latest) if latest.digest != row.digest || latest.revision != row.revision => {
                    self.problems.push(Problem {
                        entry: Some(latest.seq),
                        message: format!(
                            "{} {} in the store (revision {}, {}) does not match its latest audit entry (revision {}, {}): it was changed behind Slipway's back",
                            row.kind, row.name, row.revision, row.digest, latest.revision, latest.digest
                        ),
                    })
                }
                Some(_) => {}
            }
            seen.insert(key);
        }
        let mut missing: Vec<(&String, &Latest)> = self
            .latest
            .iter()
            .filter(|(k, l)| check_state && !l.removal && !seen.contains(*k))
            .collect();
        missing.sort_by_key(|(_, l)| l.seq);
        for (key, latest) in missing {
            let (kind, name) = key.split_once('\0').unwrap_or((key.as_str(), ""));
            self.problems.push(Problem {
                entry: Some(latest.seq),
                message: format!(
                    "says {kind} {name} exists (revision {}), but it is missing from the store",
                    latest.revision
                ),
            });
        }
        self.problems.sort_by_key(|p| p.entry.unwrap_or(u64::MAX));
        let mut problems = log_problems;
        problems.append(&mut self.problems);
        Report {
            entries: size,
            checkpoints_verified: self.checkpoints_verified,
            state_rows_checked: rows,
            root: hex::encode(self.frontier.root()),
            latest_checkpoint: self.latest_checkpoint,
            problems,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::checkpoint::Checkpoint;
    use ed25519_dalek::SigningKey;

    fn entry(seq: u64, name: &str, action: &str, rev: i64) -> AuditEntry {
        AuditEntry {
            seq,
            timestamp: format!("2026-01-01T00:00:{seq:02}Z"),
            actor: "admin".into(),
            action: action.into(),
            kind: "Service".into(),
            name: name.into(),
            revision: rev,
            digest: if action == "delete" {
                String::new()
            } else {
                format!("d-{name}-{rev}")
            },
            request_id: "r".into(),
            change_ref: None,
        }
    }

    struct Log {
        entries: Vec<AuditEntry>,
        leaves: Vec<Hash>,
        checkpoints: Vec<SignedCheckpoint>,
        state: Vec<StateRow>,
        head: u64,
    }

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[3u8; 32])
    }

    fn log() -> Log {
        let entries = vec![
            entry(0, "a", "create", 1),
            entry(1, "b", "create", 1),
            entry(2, "a", "update", 2),
            entry(3, "c", "create", 1),
            entry(4, "c", "delete", 1),
            entry(5, "b", "update", 2),
        ];
        let leaves: Vec<Hash> = entries.iter().map(AuditEntry::leaf_hash).collect();
        let mut f = Frontier::new();
        let mut checkpoints = Vec::new();
        for (i, l) in leaves.iter().enumerate() {
            f.push(*l);
            if i == 3 || i == 5 {
                checkpoints
                    .push(Checkpoint::new(f.size(), &f.root(), format!("t{i}")).sign(&key()));
            }
        }
        let state = vec![
            StateRow {
                kind: "Service".into(),
                name: "a".into(),
                revision: 2,
                digest: "d-a-2".into(),
            },
            StateRow {
                kind: "Service".into(),
                name: "b".into(),
                revision: 2,
                digest: "d-b-2".into(),
            },
        ];
        Log {
            entries,
            leaves,
            checkpoints,
            state,
            head: 6,
        }
    }

    fn run(log: &Log) -> Report {
        let mut v = LogVerifier::new(key().verifying_key(), log.checkpoints.clone());
        for (e, l) in log.entries.iter().zip(&log.leaves) {
            v.push_entry(e, Some(l));
        }
        v.finish(Some(log.head), Some(log.state.clone()))
    }

    fn first(log: &Log) -> String {
        run(log)
            .first_problem()
            .map(|p| p.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn untouched_log_verifies() {
        let r = run(&log());
        assert!(r.ok(), "{:?}", r.problems);
        assert_eq!(r.checkpoints_verified, 2);
        assert_eq!(r.entries, 6);
    }

    #[test]
    fn modified_entry_is_named() {
        let mut l = log();
        l.entries[2].actor = "eve".into();
        assert!(
            first(&l).starts_with("entry #2: content does not match its recorded leaf hash"),
            "{}",
            first(&l)
        );
        // Also rewriting the recorded leaf hash is caught by the signed checkpoint.
        l.leaves[2] = l.entries[2].leaf_hash();
        assert!(
            first(&l).contains("checkpoint at tree size 4"),
            "{}",
            first(&l)
        );
    }

    #[test]
    fn truncation_is_found() {
        let mut l = log();
        l.entries.truncate(5);
        l.leaves.truncate(5);
        let got = first(&l);
        assert!(got.starts_with("entry #5"), "{got}");
        let all: Vec<String> = run(&l).problems.iter().map(|p| p.to_string()).collect();
        assert!(
            all.iter().any(|p| p.contains("the log is truncated")),
            "{all:?}"
        );
        assert!(
            all.iter()
                .any(|p| p.contains("does not match its latest audit entry")),
            "{all:?}"
        );
    }

    #[test]
    fn gap_and_reorder_are_found() {
        let mut l = log();
        l.entries.remove(1);
        l.leaves.remove(1);
        assert!(
            first(&l).starts_with("entry #1: found where entry #1 was expected")
                || first(&l).starts_with("entry #1"),
            "{}",
            first(&l)
        );
        let mut l = log();
        l.entries.swap(1, 2);
        l.leaves.swap(1, 2);
        assert!(first(&l).starts_with("entry #1"), "{}", first(&l));
    }

    #[test]
    fn state_changed_behind_the_back_is_found() {
        let mut l = log();
        l.state[0].digest = "evil".into();
        assert!(
            first(&l).starts_with("entry #2: Service a in the store"),
            "{}",
            first(&l)
        );
        let mut l = log();
        l.state.push(StateRow {
            kind: "Service".into(),
            name: "c".into(),
            revision: 1,
            digest: "d-c-1".into(),
        });
        assert!(
            first(&l).contains("was deleted by this entry"),
            "{}",
            first(&l)
        );
        let mut l = log();
        l.state.remove(1);
        assert!(
            first(&l).contains("missing from the store"),
            "{}",
            first(&l)
        );
    }

    #[test]
    fn bad_signature_is_reported() {
        let mut l = log();
        l.checkpoints[0].checkpoint.timestamp = "forged".into();
        assert!(
            first(&l).contains("signature does not verify"),
            "{}",
            first(&l)
        );
    }
}
