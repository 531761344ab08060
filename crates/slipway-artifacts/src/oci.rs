//! The OCI image-spec v1.1 documents Slipway writes and reads: descriptors, image manifests,
//! image indexes, platforms, and the media types and annotation keys it uses.

use crate::digest::Digest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Media type of an OCI image manifest.
pub const MEDIA_TYPE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Media type of an OCI image index.
pub const MEDIA_TYPE_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Media type of the empty `{}` config blob recommended for artifacts by OCI 1.1.
pub const MEDIA_TYPE_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// The empty config blob's content.
pub const EMPTY_JSON: &[u8] = b"{}";
/// Default `artifactType` of a pushed file.
pub const ARTIFACT_TYPE_FILE: &str = "application/vnd.slipway.artifact.v1";
/// Default media type of a pushed file's layer.
pub const MEDIA_TYPE_FILE_LAYER: &str = "application/octet-stream";

/// Artifact types commonly attached as referrers.
pub mod artifact_types {
    /// A Sigstore bundle (signature with its verification material).
    pub const SIGSTORE_BUNDLE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
    /// A CycloneDX SBOM.
    pub const CYCLONEDX: &str = "application/vnd.cyclonedx+json";
    /// An SPDX SBOM.
    pub const SPDX: &str = "application/spdx+json";
    /// Static-analysis results.
    pub const SARIF: &str = "application/sarif+json";
    /// An in-toto attestation (provenance).
    pub const IN_TOTO: &str = "application/vnd.in-toto+json";
    /// Slipway's own signature document.
    pub const SLIPWAY_SIGNATURE: &str = "application/vnd.slipway.signature.v1+json";
}

/// Annotation keys.
pub mod annotations {
    /// The reference name of a top-level index entry (`service:version`).
    pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
    /// A layer's file name.
    pub const TITLE: &str = "org.opencontainers.image.title";
    /// The artifact's version.
    pub const VERSION: &str = "org.opencontainers.image.version";
    /// The git commit the artifact was built from.
    pub const REVISION: &str = "org.opencontainers.image.revision";
    /// Build time, RFC 3339.
    pub const CREATED: &str = "org.opencontainers.image.created";
    /// The service the artifact belongs to.
    pub const SERVICE: &str = "dev.slipway.service";
    /// The pipeline run that built the artifact.
    pub const PIPELINE_ID: &str = "dev.slipway.pipeline-id";
    /// The target platform, `os/architecture[/variant]`.
    pub const PLATFORM: &str = "dev.slipway.platform";
    /// On a referrer's entry in the top-level `index.json` only: the digest of its subject, so
    /// that referrers are found from the index without reading every manifest.
    pub const REFERRER_SUBJECT: &str = "dev.slipway.referrer.subject";
}

/// Where a blob is and what it is: media type, digest, size, and optional extras.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Embedded content (base64), used for the empty config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

impl Descriptor {
    /// A plain descriptor.
    pub fn new(media_type: impl Into<String>, digest: Digest, size: u64) -> Descriptor {
        Descriptor {
            media_type: media_type.into(),
            digest,
            size,
            artifact_type: None,
            platform: None,
            annotations: BTreeMap::new(),
            data: None,
        }
    }

    /// The descriptor of the empty `{}` config.
    pub fn empty_config() -> Descriptor {
        Descriptor {
            data: Some("e30=".to_owned()),
            ..Descriptor::new(
                MEDIA_TYPE_EMPTY,
                Digest::of(EMPTY_JSON),
                EMPTY_JSON.len() as u64,
            )
        }
    }
}

/// The target platform of an artifact variant.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// Why a string is not a platform.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a platform: expected os/architecture[/variant], e.g. linux/amd64")]
pub struct InvalidPlatform(pub String);

impl FromStr for Platform {
    type Err = InvalidPlatform;
    fn from_str(s: &str) -> Result<Platform, InvalidPlatform> {
        let part_ok = |p: &str| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        };
        let parts: Vec<&str> = s.split('/').collect();
        if !(2..=3).contains(&parts.len()) || !parts.iter().all(|p| part_ok(p)) {
            return Err(InvalidPlatform(s.to_owned()));
        }
        Ok(Platform {
            os: parts[0].to_owned(),
            architecture: parts[1].to_owned(),
            variant: parts.get(2).map(|v| (*v).to_owned()),
        })
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// An OCI image manifest (used for artifacts and for referrers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    pub schema_version: u32,
    pub media_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An OCI image index: the per-(service, version) list of platform manifests, and the layout's
/// top-level `index.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    pub manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl ImageIndex {
    /// An index with no entries.
    pub fn empty() -> ImageIndex {
        ImageIndex {
            schema_version: 2,
            media_type: Some(MEDIA_TYPE_INDEX.to_owned()),
            artifact_type: None,
            manifests: Vec::new(),
            subject: None,
            annotations: BTreeMap::new(),
        }
    }
}

/// A manifest or index, told apart by its `mediaType`; the shape a stored manifest blob is read
/// into when its kind is not known in advance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnyManifest {
    Manifest(ImageManifest),
    Index(ImageIndex),
}

impl AnyManifest {
    /// Parses a manifest or index; `None` when `bytes` is neither (e.g. a layer).
    pub fn parse(bytes: &[u8]) -> Option<AnyManifest> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Probe {
            media_type: Option<String>,
        }
        let probe: Probe = serde_json::from_slice(bytes).ok()?;
        match probe.media_type.as_deref() {
            Some(MEDIA_TYPE_MANIFEST) => serde_json::from_slice(bytes).ok().map(Self::Manifest),
            Some(MEDIA_TYPE_INDEX) => serde_json::from_slice(bytes).ok().map(Self::Index),
            _ => None,
        }
    }

    /// The descriptors this document contains (config and layers, or index entries); not its
    /// `subject`, which it describes rather than contains.
    pub fn children(&self) -> Vec<&Descriptor> {
        match self {
            AnyManifest::Manifest(m) => std::iter::once(&m.config).chain(&m.layers).collect(),
            AnyManifest::Index(i) => i.manifests.iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors
    use super::*;

    fn check(text: &str, expected: Option<(&str, &str, Option<&str>)>) {
        let parsed = text.parse::<Platform>().ok();
        let parts = parsed
            .as_ref()
            .map(|p| (p.os.as_str(), p.architecture.as_str(), p.variant.as_deref()));
        assert_eq!(parts, expected, "{text}");
        if let Some(p) = parsed {
            assert_eq!(p.to_string(), text);
        }
    }

    #[test]
    fn platforms_parse_and_print_back() {
        check("linux/amd64", Some(("linux", "amd64", None)));
        check("linux/arm64/v8", Some(("linux", "arm64", Some("v8"))));
        check("linux", None);
        check("linux//amd64", None);
        check("linux/amd64/v8/x", None);
        check("linux/am d64", None);
    }

    #[test]
    fn empty_config_descriptor_is_the_oci_one() {
        let d = Descriptor::empty_config();
        assert_eq!(
            d.digest.as_str(),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert_eq!(d.size, 2);
    }

    #[test]
    fn any_manifest_tells_manifests_from_indexes_and_layers() {
        let index = serde_json::to_vec(&ImageIndex::empty()).unwrap();
        assert!(matches!(
            AnyManifest::parse(&index),
            Some(AnyManifest::Index(_))
        ));
        assert_eq!(AnyManifest::parse(b"{}"), None);
        assert_eq!(AnyManifest::parse(b"\x00binary"), None);
    }
}
