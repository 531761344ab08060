//! Self-contained audit documents an auditor can verify offline with
//! `slipway audit verify --export FILE`: a full log export, an inclusion proof for one entry,
//! and a consistency proof between two checkpoints. Each names its format and carries the
//! public key it claims; a verifier may pin the key it trusts instead.

use super::checkpoint::{SignedCheckpoint, parse_public_key};
use super::entry::AuditEntry;
use super::merkle::{Hash, verify_consistency, verify_inclusion};
use super::verify::{LogVerifier, Report, StateRow};
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

/// An exported entry with the leaf hash the store recorded.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportedEntry {
    #[serde(flatten)]
    pub entry: AuditEntry,
    pub leaf_hash: String,
}

/// Any of the offline-verifiable audit documents.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "format")]
pub enum AuditDocument {
    /// The whole log with every checkpoint.
    #[serde(rename = "slipway.dev/audit-export/v1", rename_all = "camelCase")]
    Export {
        public_key: String,
        head_size: u64,
        entries: Vec<ExportedEntry>,
        checkpoints: Vec<SignedCheckpoint>,
    },
    /// One entry and the audit path to a signed checkpoint's root.
    #[serde(
        rename = "slipway.dev/audit-inclusion-proof/v1",
        rename_all = "camelCase"
    )]
    Inclusion {
        public_key: String,
        entry: AuditEntry,
        checkpoint: SignedCheckpoint,
        /// Hex hashes, leaf to root.
        proof: Vec<String>,
    },
    /// Proof that the tree at `to` extends the tree at `from`.
    #[serde(
        rename = "slipway.dev/audit-consistency-proof/v1",
        rename_all = "camelCase"
    )]
    Consistency {
        public_key: String,
        from: SignedCheckpoint,
        to: SignedCheckpoint,
        proof: Vec<String>,
    },
}

/// What a verified document showed.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentVerdict {
    pub ok: bool,
    pub summary: String,
    pub problems: Vec<String>,
}

fn hashes(list: &[String]) -> Result<Vec<Hash>, String> {
    list.iter()
        .enumerate()
        .map(|(i, h)| {
            hex::decode(h)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| format!("proof[{i}] is not a 32-byte hex hash"))
        })
        .collect()
}

fn verdict(summary: String, problems: Vec<String>) -> DocumentVerdict {
    DocumentVerdict {
        ok: problems.is_empty(),
        summary,
        problems,
    }
}

impl AuditDocument {
    fn public_key(&self) -> &str {
        match self {
            AuditDocument::Export { public_key, .. }
            | AuditDocument::Inclusion { public_key, .. }
            | AuditDocument::Consistency { public_key, .. } => public_key,
        }
    }

    /// Verifies the document. `trusted` pins the key; without it the document's own key is used
    /// (and the verdict says so, since a forger could replace it).
    pub fn verify(&self, trusted: Option<&VerifyingKey>) -> DocumentVerdict {
        let embedded = match parse_public_key(self.public_key()) {
            Ok(k) => k,
            Err(e) => {
                return verdict(
                    "unreadable document".into(),
                    vec![format!("publicKey: {e}")],
                );
            }
        };
        let mut problems = Vec::new();
        let key = match trusted {
            Some(t) => {
                if *t != embedded {
                    problems.push("the document's public key is not the trusted key".to_string());
                }
                *t
            }
            None => embedded,
        };
        let key_note = if trusted.is_some() {
            "pinned key"
        } else {
            "the document's own key (pin one with --public-key)"
        };
        match self {
            AuditDocument::Export {
                head_size,
                entries,
                checkpoints,
                ..
            } => {
                let mut v = LogVerifier::new(key, checkpoints.clone());
                for e in entries {
                    match hashes(std::slice::from_ref(&e.leaf_hash)) {
                        Ok(h) => v.push_entry(&e.entry, h.first()),
                        Err(_) => {
                            problems.push(format!(
                                "entry #{}: leafHash is not a hex hash",
                                e.entry.seq
                            ));
                            v.push_entry(&e.entry, None);
                        }
                    }
                }
                let report: Report = v.finish(Some(*head_size), None::<Vec<StateRow>>);
                problems.extend(report.problems.iter().map(|p| p.to_string()));
                verdict(
                    format!(
                        "export of {} entries, {} checkpoints verified with {key_note}, root {}",
                        report.entries, report.checkpoints_verified, report.root
                    ),
                    problems,
                )
            }
            AuditDocument::Inclusion {
                entry,
                checkpoint,
                proof,
                ..
            } => {
                if let Err(e) = checkpoint.verify(&key) {
                    problems.push(format!("checkpoint: {e}"));
                }
                match (hashes(proof), checkpoint.checkpoint.root_hash()) {
                    (Ok(path), Some(root)) => {
                        if !verify_inclusion(
                            &entry.leaf_hash(),
                            entry.seq,
                            checkpoint.checkpoint.size,
                            &path,
                            &root,
                        ) {
                            problems.push(format!(
                                "entry #{}: the inclusion proof does not lead to the checkpoint's root",
                                entry.seq
                            ));
                        }
                    }
                    (Err(e), _) => problems.push(e),
                    (_, None) => problems.push("checkpoint root is not a hex hash".into()),
                }
                verdict(
                    format!(
                        "entry #{} ({} {} {}) is in the log of size {} signed at {} ({key_note})",
                        entry.seq,
                        entry.action,
                        entry.kind,
                        entry.name,
                        checkpoint.checkpoint.size,
                        checkpoint.checkpoint.timestamp
                    ),
                    problems,
                )
            }
            AuditDocument::Consistency {
                from, to, proof, ..
            } => {
                for (label, cp) in [("from", from), ("to", to)] {
                    if let Err(e) = cp.verify(&key) {
                        problems.push(format!("{label} checkpoint: {e}"));
                    }
                }
                match (
                    hashes(proof),
                    from.checkpoint.root_hash(),
                    to.checkpoint.root_hash(),
                ) {
                    (Ok(path), Some(a), Some(b)) => {
                        if !verify_consistency(
                            from.checkpoint.size,
                            to.checkpoint.size,
                            &a,
                            &b,
                            &path,
                        ) {
                            problems.push(format!(
                                "the tree of size {} is not an extension of the tree of size {}",
                                to.checkpoint.size, from.checkpoint.size
                            ));
                        }
                    }
                    (Err(e), _, _) => problems.push(e),
                    _ => problems.push("a checkpoint root is not a hex hash".into()),
                }
                verdict(
                    format!(
                        "the log at size {} ({}) extends the log at size {} ({}) ({key_note})",
                        to.checkpoint.size,
                        to.checkpoint.timestamp,
                        from.checkpoint.size,
                        from.checkpoint.timestamp
                    ),
                    problems,
                )
            }
        }
    }
}
