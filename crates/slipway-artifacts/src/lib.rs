//! Slipway's artifact store: immutable, content-addressed artifacts in an OCI image-layout
//! directory (the server keeps it in `DATA_DIR/artifacts`), with multi-platform variants,
//! referrers (signatures, SBOMs, scan results, attestations), the naming-convention policy,
//! retention with legal holds, garbage collection, and archive export/import.
//!
//! The pure parts take values and return values: [`NamingPolicy::validate`],
//! [`plan_retention`], [`Holds`]. The edge is [`ArtifactStore`] (blocking file I/O).
//!
//! Wiring a push:
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use slipway_artifacts::{ArtifactStore, NamingPolicy, PushRequest};
//! let store = ArtifactStore::open("/var/lib/slipway/artifacts")?;
//! let mut request = PushRequest::new("payments", "1.2.0", "payments.tar.gz");
//! request.platform = Some("linux/amd64".parse()?);
//! request.git_sha = Some("0123456789abcdef0123456789abcdef01234567".into());
//! NamingPolicy::default().validate(&request)?;
//! let pushed = store.push_file(&request, std::path::Path::new("payments.tar.gz"))?;
//! println!("{} {}", pushed.reference, pushed.manifest.digest);
//! # Ok(()) }
//! ```

mod archive;
pub mod digest;
mod error;
mod holds;
mod layout;
pub mod naming;
pub mod oci;
mod request;
pub mod retention;
mod store;
mod timestamp;

pub use archive::{ExportReport, ImportReport};
pub use digest::{Digest, InvalidDigest, VerifiedReader};
pub use error::ArtifactError;
pub use holds::{ArtifactRef, Hold, HoldError, Holds};
pub use naming::{GitShaForm, NamingPolicy, NamingPolicyError, NamingViolation, NamingViolations};
pub use oci::{Descriptor, ImageIndex, ImageManifest, InvalidPlatform, Platform};
pub use request::PushRequest;
pub use retention::{
    Decision, RetentionCandidate, RetentionDecision, RetentionInputs, RetentionPolicy,
    RetentionPolicyError, plan_retention,
};
pub use store::{
    ArtifactDetails, ArtifactStore, ArtifactSummary, BlobReader, CorruptBlob, GcReport,
    LayoutReport, ManifestDetails, OpenedArtifact, PushOutcome, RetentionReport, VariantSummary,
};
