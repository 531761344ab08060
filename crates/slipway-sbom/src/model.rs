//! The normalised SBOM: what Slipway keeps of a CycloneDX or SPDX document, the same for both.

use serde::Serialize;

use crate::purl::Purl;
use crate::validation::SbomFormat;

/// An SBOM reduced to what release governance needs: its components with their identity,
/// licences, hashes and supplier, and the dependency edges between them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sbom {
    /// The format the document was written in.
    pub format: SbomFormat,
    /// The specification version the document declares (`1.4`, `SPDX-2.3`).
    pub spec_version: String,
    /// What the SBOM describes: CycloneDX `metadata.component.name`, SPDX document `name`.
    pub name: Option<String>,
    /// Every component (CycloneDX nested components included) or SPDX package, in document
    /// order.
    pub components: Vec<Component>,
    /// "`from` depends on `to`", by the components' document references.
    pub dependencies: Vec<Dependency>,
}

/// One software component (CycloneDX component, SPDX package).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Component {
    /// The component's reference inside its document: CycloneDX `bom-ref`, SPDX `SPDXID`.
    pub reference: Option<String>,
    /// CycloneDX `group` (npm scope, Maven group id, Composer vendor); SPDX has none.
    pub group: Option<String>,
    /// The component's name, without its group.
    pub name: String,
    /// The version, when the document gives one.
    pub version: Option<String>,
    /// The package URL, as written in the document.
    pub purl: Option<String>,
    /// The licence as an SPDX expression, as written in the document (not yet checked):
    /// CycloneDX license ids, names and expressions joined with `AND`; SPDX `licenseConcluded`,
    /// else `licenseDeclared`. `None` when absent, `NOASSERTION` or `NONE`.
    pub licenses: Option<String>,
    /// The component's digests.
    pub hashes: Vec<Hash>,
    /// Who supplies the component (CycloneDX `supplier.name`, SPDX `supplier` without its
    /// `Organization:`/`Person:` prefix).
    pub supplier: Option<String>,
}

/// A digest of a component's artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hash {
    /// The algorithm in CycloneDX spelling (`SHA-256`, `SHA3-512`, `MD5`, `BLAKE2b-256`).
    pub algorithm: String,
    /// The digest, as written (hex).
    pub value: String,
}

/// One dependency edge: `from` depends on `to` (document references).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dependency {
    /// The depending component's reference.
    pub from: String,
    /// The reference of the component it depends on.
    pub to: String,
}

impl Component {
    /// The component's package coordinates from its purl, in the ecosystem names vulnerability
    /// databases (OSV) use: `(ecosystem, name, version)`, for example
    /// `("npm", "@babel/core", "7.19.4")`, `("Maven", "org.slf4j:slf4j-api", "1.7.30")`.
    ///
    /// `None` when there is no purl, it does not parse, it has no version, or its type has no
    /// ecosystem mapping (see [`Purl::ecosystem`]).
    #[must_use]
    pub fn package_coordinates(&self) -> Option<(&'static str, String, String)> {
        let purl = Purl::parse(self.purl.as_deref()?).ok()?;
        let ecosystem = purl.ecosystem()?;
        let version = purl.version.clone()?;
        Some((ecosystem, purl.ecosystem_name(), version))
    }

    /// Whether a policy's package name designates this component: its name, `group/name`, or the
    /// package name from its purl (`@scope/pkg`, `group:artifact`, `github.com/org/module`).
    #[must_use]
    pub fn is_named(&self, package: &str) -> bool {
        if self.name == package {
            return true;
        }
        if let Some(group) = &self.group
            && package
                .strip_prefix(group.as_str())
                .and_then(|rest| rest.strip_prefix('/'))
                == Some(self.name.as_str())
        {
            return true;
        }
        self.purl
            .as_deref()
            .and_then(|purl| Purl::parse(purl).ok())
            .is_some_and(|purl| purl.ecosystem_name() == package)
    }
}
