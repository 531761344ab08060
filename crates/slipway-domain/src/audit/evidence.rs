//! Evidence packs: everything an auditor needs about one change request, verifiable offline.
//!
//! A pack holds the change request, each of its recorded events (approvals with identity and
//! time included), the gate's decisions and the deployments that named the change, each as a
//! resource document together with the audit entry that wrote it and an inclusion proof of
//! that entry against one signed checkpoint. The whole pack is signed with the server's key.
//! Verifying it checks the pack signature, the checkpoint signature, and for every item that
//! the document's digest is the one its entry recorded and that the entry is in the log.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::checkpoint::{SignedCheckpoint, parse_public_key};
use super::entry::AuditEntry;
use super::merkle::{Hash, verify_inclusion};
use crate::canonical::{to_canonical_json, value_digest};

/// The pack's format name.
pub const EVIDENCE_FORMAT: &str = "slipway.dev/evidence-pack/v1";

/// One resource in the pack with the audit entry that wrote its current content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvidenceItem {
    /// What this item is to the change: `change`, `event`, `gate-decision`, `deployment`.
    pub role: String,
    /// The resource's declared content (apiVersion, kind, metadata name/labels/annotations,
    /// spec), the part the audit digest covers.
    pub document: Value,
    /// Server-written status at export time (not covered by the digest; for reading).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub status: Value,
    pub entry: AuditEntry,
    /// Hex hashes, leaf to root, against the pack's checkpoint.
    pub proof: Vec<String>,
}

/// The unsigned body of a pack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvidenceBody {
    pub format: String,
    pub change: String,
    pub generated_at: String,
    pub public_key: String,
    pub checkpoint: SignedCheckpoint,
    pub items: Vec<EvidenceItem>,
}

/// A signed pack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvidencePack {
    #[serde(flatten)]
    pub body: EvidenceBody,
    /// Ed25519 over the canonical JSON of the body, base64.
    pub signature: String,
}

impl EvidenceBody {
    fn signed_bytes(&self) -> Result<Vec<u8>, String> {
        let value = serde_json::to_value(self).map_err(|e| e.to_string())?;
        Ok(to_canonical_json(&value).into_bytes())
    }

    /// Signs the body with the server's key.
    pub fn sign(self, key: &SigningKey) -> Result<EvidencePack, String> {
        let bytes = self.signed_bytes()?;
        Ok(EvidencePack {
            signature: STANDARD.encode(key.sign(&bytes).to_bytes()),
            body: self,
        })
    }
}

/// What verifying a pack found.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvidenceVerdict {
    pub ok: bool,
    pub items: usize,
    /// Every problem, each naming the item.
    pub problems: Vec<String>,
}

impl EvidencePack {
    /// The pack as written to a file: canonical JSON, so that any byte changed in the file
    /// either changes the content (and the signature fails) or breaks the canonical form.
    pub fn to_file_bytes(&self) -> Result<Vec<u8>, String> {
        let value = serde_json::to_value(self).map_err(|e| e.to_string())?;
        let mut bytes = to_canonical_json(&value).into_bytes();
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// Verifies a pack file's bytes: they must be the canonical form of the pack they hold,
    /// and that pack must verify.
    pub fn verify_file_bytes(bytes: &[u8], trusted: Option<&VerifyingKey>) -> EvidenceVerdict {
        let refuse = |problem: String| EvidenceVerdict {
            ok: false,
            items: 0,
            problems: vec![problem],
        };
        let pack: EvidencePack = match serde_json::from_slice(bytes) {
            Ok(pack) => pack,
            Err(e) => return refuse(format!("not an evidence pack: {e}")),
        };
        match pack.to_file_bytes() {
            Ok(canonical) if canonical == bytes => pack.verify(trusted),
            Ok(_) => refuse(
                "the file is not in the canonical form it was written in: it was altered".into(),
            ),
            Err(e) => refuse(e),
        }
    }

    /// Verifies the pack against `trusted` (or the key it carries when `None`).
    pub fn verify(&self, trusted: Option<&VerifyingKey>) -> EvidenceVerdict {
        let mut problems = Vec::new();
        let body = &self.body;
        if body.format != EVIDENCE_FORMAT {
            problems.push(format!("format {:?} is not {EVIDENCE_FORMAT}", body.format));
        }
        let carried = parse_public_key(&body.public_key);
        let key = match (trusted, &carried) {
            (Some(t), Ok(c)) if t != c => {
                problems.push("the pack was signed with another key than the trusted one".into());
                *t
            }
            (Some(t), _) => *t,
            (None, Ok(c)) => *c,
            (None, Err(e)) => {
                problems.push(format!("the pack's public key is unusable: {e}"));
                return EvidenceVerdict {
                    ok: false,
                    items: body.items.len(),
                    problems,
                };
            }
        };
        match (body.signed_bytes(), STANDARD.decode(&self.signature)) {
            (Ok(bytes), Ok(sig)) => match Signature::from_slice(&sig) {
                Ok(sig) if key.verify(&bytes, &sig).is_ok() => {}
                _ => problems.push("the pack signature does not verify: it was altered".into()),
            },
            _ => problems.push("the pack signature is malformed".into()),
        }
        if let Err(e) = body.checkpoint.verify(&key) {
            problems.push(format!("the checkpoint does not verify: {e}"));
        }
        let root = body.checkpoint.checkpoint.root_hash();
        let size = body.checkpoint.checkpoint.size;
        for (i, item) in body.items.iter().enumerate() {
            let name = format!(
                "item {i} ({} {} {})",
                item.role, item.entry.kind, item.entry.name
            );
            let document_kind = item.document.get("kind").and_then(Value::as_str);
            let document_name = item
                .document
                .get("metadata")
                .and_then(|m| m.get("name"))
                .and_then(Value::as_str);
            if document_kind != Some(item.entry.kind.as_str())
                || document_name != Some(item.entry.name.as_str())
            {
                problems.push(format!("{name}: the document is not the entry's resource"));
            }
            if value_digest(&item.document) != item.entry.digest {
                problems.push(format!(
                    "{name}: the document's digest is not the one audit entry #{} recorded",
                    item.entry.seq
                ));
            }
            let proof: Result<Vec<Hash>, ()> = item.proof.iter().map(|h| parse_hash(h)).collect();
            match (proof, root) {
                (Ok(proof), Some(root))
                    if item.entry.seq < size
                        && verify_inclusion(
                            &item.entry.leaf_hash(),
                            item.entry.seq,
                            size,
                            &proof,
                            &root,
                        ) => {}
                _ => problems.push(format!(
                    "{name}: audit entry #{} is not proven to be in the signed log",
                    item.entry.seq
                )),
            }
        }
        EvidenceVerdict {
            ok: problems.is_empty(),
            items: body.items.len(),
            problems,
        }
    }
}

fn parse_hash(text: &str) -> Result<Hash, ()> {
    let bytes = hex::decode(text).map_err(|_| ())?;
    bytes.try_into().map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::checkpoint::Checkpoint;
    use crate::audit::merkle::{inclusion_proof, root_of};
    use serde_json::json;

    fn document(name: &str, note: &str) -> Value {
        json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "ChangeEvent",
               "metadata": {"name": name}, "spec": {"note": note}})
    }

    fn entry(seq: u64, doc: &Value) -> AuditEntry {
        AuditEntry {
            seq,
            timestamp: "2026-11-22T00:00:00Z".into(),
            actor: "bob".into(),
            action: "create".into(),
            kind: "ChangeEvent".into(),
            name: doc["metadata"]["name"].as_str().unwrap_or_default().into(),
            revision: 1,
            digest: value_digest(doc),
            request_id: String::new(),
            change_ref: Some("chg-1".into()),
        }
    }

    /// A pack of three approvals in a five-entry log, signed with `key`.
    fn pack(key: &SigningKey) -> EvidencePack {
        let docs: Vec<Value> = (0..5).map(|i| document(&format!("e{i}"), "ok")).collect();
        let entries: Vec<AuditEntry> = docs
            .iter()
            .enumerate()
            .map(|(i, d)| entry(i as u64, d))
            .collect();
        let leaves: Vec<Hash> = entries.iter().map(AuditEntry::leaf_hash).collect();
        let checkpoint =
            Checkpoint::new(5, &root_of(&leaves), "2026-11-22T00:00:01Z".into()).sign(key);
        let items = [1usize, 3, 4]
            .iter()
            .map(|&i| EvidenceItem {
                role: "event".into(),
                document: docs[i].clone(),
                status: Value::Null,
                entry: entries[i].clone(),
                proof: inclusion_proof(&leaves, i)
                    .unwrap_or_default()
                    .iter()
                    .map(hex::encode)
                    .collect(),
            })
            .collect();
        EvidenceBody {
            format: EVIDENCE_FORMAT.into(),
            change: "chg-1".into(),
            generated_at: "2026-11-22T00:00:02Z".into(),
            public_key: STANDARD.encode(key.verifying_key().to_bytes()),
            checkpoint,
            items,
        }
        .sign(key)
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn check(mutate: impl Fn(&mut EvidencePack), expected: Option<&str>) {
        let key = SigningKey::from_bytes(&[7; 32]);
        let mut p = pack(&key);
        mutate(&mut p);
        let verdict = p.verify(Some(&key.verifying_key()));
        match expected {
            None => assert!(verdict.ok, "{:?}", verdict.problems),
            Some(text) => assert!(
                verdict.problems.iter().any(|p| p.contains(text)),
                "expected {text:?} in {:?}",
                verdict.problems
            ),
        }
    }

    #[test]
    fn packs_verify_and_every_kind_of_tampering_is_named() {
        check(|_| {}, None);
        check(
            |p| p.body.items[0].document["spec"]["note"] = json!("forged"),
            Some("item 0 (event ChangeEvent e1): the document's digest"),
        );
        check(
            |p| {
                p.body.items[1].document["spec"]["note"] = json!("forged");
                let key = SigningKey::from_bytes(&[7; 32]);
                p.body.items[1].entry.digest = value_digest(&p.body.items[1].document);
                *p = p.body.clone().sign(&key).unwrap_or_else(|e| panic!("{e}"));
            },
            Some("item 1 (event ChangeEvent e3): audit entry #3 is not proven"),
        );
        check(
            |p| p.body.items.pop().map(|_| ()).unwrap_or(()),
            Some("altered"),
        );
        check(|p| p.body.items[2].proof.clear(), Some("item 2"));
        // Any byte of the file changed: the file no longer verifies.
        let key = SigningKey::from_bytes(&[7; 32]);
        let bytes = pack(&key).to_file_bytes().unwrap_or_default();
        assert!(EvidencePack::verify_file_bytes(&bytes, Some(&key.verifying_key())).ok);
        // Every fifth byte (every byte takes ~25 s in a debug build), and the last 100.
        let tail = bytes.len().saturating_sub(100);
        for position in (0..bytes.len()).filter(|p| p % 5 == 0 || *p >= tail) {
            let mut changed = bytes.clone();
            changed[position] = if changed[position] == b'0' {
                b'1'
            } else {
                b'0'
            };
            assert!(
                !EvidencePack::verify_file_bytes(&changed, Some(&key.verifying_key())).ok,
                "byte {position} of {} changed and the pack still verifies",
                bytes.len()
            );
        }
        let other = SigningKey::from_bytes(&[8; 32]);
        let verdict = pack(&other).verify(Some(&SigningKey::from_bytes(&[7; 32]).verifying_key()));
        assert!(!verdict.ok);
        assert!(
            verdict.problems.iter().any(|p| p.contains("another key")),
            "{:?}",
            verdict.problems
        );
    }
}
