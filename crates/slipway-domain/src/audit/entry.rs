//! One audit entry and its leaf hash.
//!
//! The leaf is an unambiguous binary encoding of every field (length-prefixed strings, fixed-width
//! integers) behind a domain-separation tag, hashed as an RFC 9162 leaf. Changing, swapping or
//! renumbering any field changes the leaf.

use super::merkle::{Hash, leaf_hash};
use serde::{Deserialize, Serialize};

/// Who did what to which resource, when, and what the resource's content became.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// Position in the log, from 0, without gaps.
    pub seq: u64,
    /// RFC 3339 UTC time of the transaction.
    pub timestamp: String,
    /// The user (or `system:…` actor) who made the change.
    pub actor: String,
    /// `create`, `update`, `delete`, `token.create`, `token.revoke`, …
    pub action: String,
    pub kind: String,
    pub name: String,
    /// The resource's revision after the change (the last revision for a delete).
    pub revision: i64,
    /// Digest of the resource's declared content after the change; empty for a delete.
    pub digest: String,
    pub request_id: String,
    /// The change request this mutation was made under, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_ref: Option<String>,
}

const LEAF_TAG: &[u8] = b"slipway.dev/audit-entry/v1";

/// A borrowed view of an entry, so a verifier can hash rows without copying their fields.
#[derive(Debug, Clone, Copy)]
pub struct AuditEntryRef<'a> {
    pub seq: u64,
    pub timestamp: &'a str,
    pub actor: &'a str,
    pub action: &'a str,
    pub kind: &'a str,
    pub name: &'a str,
    pub revision: i64,
    pub digest: &'a str,
    pub request_id: &'a str,
    pub change_ref: Option<&'a str>,
}

impl AuditEntry {
    /// The borrowed view.
    pub fn view(&self) -> AuditEntryRef<'_> {
        AuditEntryRef {
            seq: self.seq,
            timestamp: &self.timestamp,
            actor: &self.actor,
            action: &self.action,
            kind: &self.kind,
            name: &self.name,
            revision: self.revision,
            digest: &self.digest,
            request_id: &self.request_id,
            change_ref: self.change_ref.as_deref(),
        }
    }

    /// The bytes the leaf hash is computed over.
    pub fn leaf_bytes(&self) -> Vec<u8> {
        self.view().leaf_bytes()
    }

    /// RFC 9162 leaf hash of [`AuditEntry::leaf_bytes`].
    pub fn leaf_hash(&self) -> Hash {
        self.view().leaf_hash()
    }

    /// Whether this entry removed the resource.
    pub fn is_removal(&self) -> bool {
        self.view().is_removal()
    }
}

impl AuditEntryRef<'_> {
    /// The bytes the leaf hash is computed over.
    pub fn leaf_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        self.write_leaf_bytes(&mut out);
        out
    }

    /// Appends the leaf bytes to `out` (a reused buffer saves an allocation per entry).
    pub fn write_leaf_bytes(&self, out: &mut Vec<u8>) {
        put(out, LEAF_TAG);
        out.extend_from_slice(&self.seq.to_be_bytes());
        put(out, self.timestamp.as_bytes());
        put(out, self.actor.as_bytes());
        put(out, self.action.as_bytes());
        put(out, self.kind.as_bytes());
        put(out, self.name.as_bytes());
        out.extend_from_slice(&self.revision.to_be_bytes());
        put(out, self.digest.as_bytes());
        put(out, self.request_id.as_bytes());
        match self.change_ref {
            None => out.push(0),
            Some(c) => {
                out.push(1);
                put(out, c.as_bytes());
            }
        }
    }

    /// RFC 9162 leaf hash of [`AuditEntry::leaf_bytes`].
    pub fn leaf_hash(&self) -> Hash {
        leaf_hash(&self.leaf_bytes())
    }

    /// Whether this entry removed the resource.
    pub fn is_removal(&self) -> bool {
        self.action == "delete"
    }
}

fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    // Lengths beyond u32 cannot come from the store's text columns; saturate rather than wrap.
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> AuditEntry {
        AuditEntry {
            seq: 3,
            timestamp: "2026-01-01T00:00:00Z".into(),
            actor: "admin".into(),
            action: "create".into(),
            kind: "Service".into(),
            name: "api".into(),
            revision: 1,
            digest: "sha256:00".into(),
            request_id: "r1".into(),
            change_ref: None,
        }
    }

    #[test]
    fn every_field_is_covered() {
        let base = entry().leaf_hash();
        let mutations: Vec<fn(&mut AuditEntry)> = vec![
            |e| e.seq = 4,
            |e| e.timestamp.push('x'),
            |e| e.actor = "eve".into(),
            |e| e.action = "update".into(),
            |e| e.kind = "Team".into(),
            |e| e.name = "apx".into(),
            |e| e.revision = 2,
            |e| e.digest = "sha256:01".into(),
            |e| e.request_id = "r2".into(),
            |e| e.change_ref = Some(String::new()),
        ];
        for m in mutations {
            let mut e = entry();
            m(&mut e);
            assert_ne!(e.leaf_hash(), base);
        }
        // Moving bytes between adjacent fields changes the leaf too.
        let mut a = entry();
        a.kind = "Servicea".into();
        a.name = "pi".into();
        assert_ne!(a.leaf_hash(), base);
    }
}
