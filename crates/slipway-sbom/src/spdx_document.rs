//! Reading an SPDX 2.3 JSON document into the normalised [`Sbom`]: its packages become
//! components, its dependency relationships become edges.

use serde::Deserialize;
use serde_json::Value;

use crate::model::{Component, Dependency, Hash, Sbom};
use crate::validation::SbomFormat;
use crate::{SbomError, read_as};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    spdx_version: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    packages: Option<Vec<Package>>,
    #[serde(default)]
    relationships: Option<Vec<Relationship>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Package {
    name: String,
    #[serde(default, rename = "SPDXID")]
    spdx_id: Option<String>,
    #[serde(default)]
    version_info: Option<String>,
    #[serde(default)]
    license_concluded: Option<String>,
    #[serde(default)]
    license_declared: Option<String>,
    #[serde(default)]
    checksums: Option<Vec<Checksum>>,
    #[serde(default)]
    supplier: Option<String>,
    #[serde(default)]
    external_refs: Option<Vec<ExternalRef>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Checksum {
    algorithm: String,
    checksum_value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef {
    reference_type: String,
    reference_locator: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Relationship {
    spdx_element_id: String,
    relationship_type: String,
    related_spdx_element: String,
}

/// Normalises an SPDX document.
pub(crate) fn normalise(document: &str, sbom: &Value) -> Result<Sbom, SbomError> {
    let spdx: Document = read_as(document, sbom)?;
    let components = spdx
        .packages
        .unwrap_or_default()
        .into_iter()
        .map(convert)
        .collect();
    let dependencies = spdx
        .relationships
        .unwrap_or_default()
        .into_iter()
        .filter_map(dependency)
        .collect();
    Ok(Sbom {
        format: SbomFormat::Spdx,
        spec_version: spdx.spdx_version,
        name: spdx.name,
        components,
        dependencies,
    })
}

fn convert(package: Package) -> Component {
    let purl = package
        .external_refs
        .unwrap_or_default()
        .into_iter()
        .find(|reference| reference.reference_type == "purl")
        .map(|reference| reference.reference_locator);
    let licenses =
        asserted(package.license_concluded).or_else(|| asserted(package.license_declared));
    Component {
        reference: package.spdx_id,
        group: None,
        name: package.name,
        version: asserted(package.version_info),
        purl,
        licenses,
        hashes: package
            .checksums
            .unwrap_or_default()
            .into_iter()
            .map(|checksum| Hash {
                algorithm: cyclonedx_algorithm(&checksum.algorithm),
                value: checksum.checksum_value,
            })
            .collect(),
        supplier: asserted(package.supplier).map(|supplier| {
            ["Organization:", "Person:", "Tool:"]
                .iter()
                .find_map(|prefix| supplier.strip_prefix(prefix))
                .map_or_else(|| supplier.clone(), |name| name.trim().to_owned())
        }),
    }
}

/// The value, unless it is empty or one of SPDX's "no information" words.
fn asserted(value: Option<String>) -> Option<String> {
    value
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty() && value != "NOASSERTION" && value != "NONE")
}

/// SPDX spells `SHA256`, CycloneDX `SHA-256`; `SHA3-256`, `MD5`, `BLAKE2b-256` are the same in
/// both.
fn cyclonedx_algorithm(spdx: &str) -> String {
    match spdx.strip_prefix("SHA") {
        Some(bits) if bits.starts_with(|c: char| c.is_ascii_digit()) && !bits.contains('-') => {
            format!("SHA-{bits}")
        }
        _ => spdx.to_owned(),
    }
}

/// The relationships that mean "depends on", as an edge from the dependant to its dependency.
fn dependency(relationship: Relationship) -> Option<Dependency> {
    let Relationship {
        spdx_element_id: element,
        relationship_type: kind,
        related_spdx_element: related,
    } = relationship;
    if matches!(related.as_str(), "NONE" | "NOASSERTION") {
        return None;
    }
    let forward = matches!(
        kind.as_str(),
        "DEPENDS_ON" | "DYNAMIC_LINK" | "STATIC_LINK" | "HAS_PREREQUISITE"
    );
    let reverse =
        kind == "DEPENDENCY_OF" || kind.ends_with("_DEPENDENCY_OF") || kind == "PREREQUISITE_FOR";
    if forward {
        Some(Dependency {
            from: element,
            to: related,
        })
    } else if reverse {
        Some(Dependency {
            from: related,
            to: element,
        })
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::cyclonedx_algorithm;

    #[test]
    fn algorithms_take_cyclonedx_spelling() {
        for (spdx, cyclonedx) in [
            ("SHA1", "SHA-1"),
            ("SHA256", "SHA-256"),
            ("SHA512", "SHA-512"),
            ("SHA3-256", "SHA3-256"),
            ("MD5", "MD5"),
            ("BLAKE2b-256", "BLAKE2b-256"),
        ] {
            assert_eq!(cyclonedx_algorithm(spdx), cyclonedx, "{spdx}");
        }
    }
}
