//! Package URLs (purl): parsing into owned parts, and the mapping from purl types to the ecosystem
//! names vulnerability databases use.
//!
//! Parsing, percent-decoding and the per-type canonical forms (lower-cased npm and PyPI names,
//! required Maven and Composer namespaces, ...) come from the `packageurl` crate; this module owns
//! the result and the ecosystem mapping.

use std::collections::BTreeMap;
use std::str::FromStr;

use packageurl::PackageUrl;
use serde::Serialize;

/// Why a package URL was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid package URL {purl:?}: {reason}")]
pub struct PurlError {
    /// The text that was parsed.
    pub purl: String,
    /// What is wrong with it.
    pub reason: String,
}

/// A parsed package URL, `pkg:type/namespace/name@version?qualifiers#subpath`, every part
/// percent-decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Purl {
    /// The package type, lower case (`npm`, `maven`, `cargo`).
    pub ty: String,
    /// The namespace (npm scope with its `@`, Maven group id, Go module path prefix).
    pub namespace: Option<String>,
    /// The package name.
    pub name: String,
    /// The version.
    pub version: Option<String>,
    /// The qualifiers (`type=jar`, `arch=s390x`), by key.
    pub qualifiers: BTreeMap<String, String>,
    /// The path inside the package.
    pub subpath: Option<String>,
}

impl Purl {
    /// Parses a package URL as the purl specification defines it.
    ///
    /// # Errors
    ///
    /// [`PurlError`] naming the text and what is wrong (scheme, type, a namespace the type
    /// requires or forbids, a bad percent-escape, ...).
    pub fn parse(text: &str) -> Result<Self, PurlError> {
        let parsed = PackageUrl::from_str(text).map_err(|error| PurlError {
            purl: text.to_owned(),
            reason: error.to_string(),
        })?;
        Ok(Self {
            ty: parsed.ty().to_owned(),
            namespace: parsed.namespace().map(str::to_owned),
            name: parsed.name().to_owned(),
            version: parsed.version().map(str::to_owned),
            qualifiers: parsed
                .qualifiers()
                .iter()
                .map(|(key, value)| (key.to_string(), value.to_string()))
                .collect(),
            subpath: parsed.subpath().map(str::to_owned),
        })
    }

    /// The ecosystem this purl type belongs to, in OSV's spelling (`crates.io`, `npm`, `PyPI`,
    /// `Go`, `Maven`, `NuGet`, `RubyGems`, `Packagist`, `Hex`, `Pub`, `Hackage`, `CRAN`,
    /// `SwiftURL`), or `None` for types without one (distribution packages, `generic`, ...).
    #[must_use]
    pub fn ecosystem(&self) -> Option<&'static str> {
        Some(match self.ty.as_str() {
            "cargo" => "crates.io",
            "npm" => "npm",
            "pypi" => "PyPI",
            "golang" => "Go",
            "maven" => "Maven",
            "nuget" => "NuGet",
            "gem" => "RubyGems",
            "composer" => "Packagist",
            "hex" => "Hex",
            "pub" => "Pub",
            "hackage" => "Hackage",
            "cran" => "CRAN",
            "swift" => "SwiftURL",
            _ => return None,
        })
    }

    /// The package name as the ecosystem writes it: `@scope/name` (npm), `group:artifact`
    /// (Maven), `namespace/name` (Go, Composer, Swift and any other namespaced type), or the
    /// bare name.
    #[must_use]
    pub fn ecosystem_name(&self) -> String {
        match (&self.namespace, self.ty.as_str()) {
            (Some(namespace), "maven") => format!("{namespace}:{}", self.name),
            (Some(namespace), _) => format!("{namespace}/{}", self.name),
            (None, _) => self.name.clone(),
        }
    }
}

impl FromStr for Purl {
    type Err = PurlError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}
