//! The tamper-evident audit log: entries, the RFC 9162 Merkle tree over them, signed
//! checkpoints, inclusion and consistency proofs, and offline verification.
//!
//! The store appends entries and persists the tree's right edge; everything that hashes, signs
//! or checks lives here so that the server and an auditor's offline `slipway audit verify` run the
//! same code.

pub mod checkpoint;
pub mod entry;
pub mod evidence;
pub mod merkle;
pub mod proof_bundle;
pub mod verify;

pub use checkpoint::{Checkpoint, SignedCheckpoint};
pub use entry::AuditEntry;
pub use merkle::{Frontier, Hash};
