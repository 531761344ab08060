//! Reading a CycloneDX JSON document (any version from 1.2) into the normalised [`Sbom`].

use serde::Deserialize;
use serde_json::Value;

use crate::model::{Component, Dependency, Hash, Sbom};
use crate::validation::SbomFormat;
use crate::{SbomError, read_as};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bom {
    spec_version: String,
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    components: Option<Vec<BomComponent>>,
    #[serde(default)]
    dependencies: Option<Vec<BomDependency>>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    component: Option<BomComponent>,
}

#[derive(Deserialize)]
struct BomComponent {
    name: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    purl: Option<String>,
    #[serde(default, rename = "bom-ref")]
    bom_ref: Option<String>,
    #[serde(default)]
    licenses: Option<Vec<LicenseChoice>>,
    #[serde(default)]
    hashes: Option<Vec<BomHash>>,
    #[serde(default)]
    supplier: Option<Supplier>,
    #[serde(default)]
    components: Option<Vec<BomComponent>>,
}

#[derive(Deserialize)]
struct LicenseChoice {
    #[serde(default)]
    license: Option<License>,
    #[serde(default)]
    expression: Option<String>,
}

#[derive(Deserialize)]
struct License {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct BomHash {
    alg: String,
    content: String,
}

#[derive(Deserialize)]
struct Supplier {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct BomDependency {
    #[serde(rename = "ref")]
    reference: String,
    #[serde(default, rename = "dependsOn")]
    depends_on: Option<Vec<String>>,
}

/// Normalises a CycloneDX document. Nested components are flattened after their parent.
pub(crate) fn normalise(document: &str, sbom: &Value) -> Result<Sbom, SbomError> {
    let bom: Bom = read_as(document, sbom)?;
    let mut components = Vec::new();
    flatten(bom.components.unwrap_or_default(), &mut components);
    let dependencies = bom
        .dependencies
        .unwrap_or_default()
        .into_iter()
        .flat_map(|dependency| {
            let from = dependency.reference;
            dependency
                .depends_on
                .unwrap_or_default()
                .into_iter()
                .map(move |to| Dependency {
                    from: from.clone(),
                    to,
                })
        })
        .collect();
    Ok(Sbom {
        format: SbomFormat::CycloneDx,
        spec_version: bom.spec_version,
        name: bom
            .metadata
            .and_then(|metadata| metadata.component)
            .map(|c| c.name),
        components,
        dependencies,
    })
}

fn flatten(components: Vec<BomComponent>, into: &mut Vec<Component>) {
    for mut component in components {
        let nested = component.components.take().unwrap_or_default();
        into.push(convert(component));
        flatten(nested, into);
    }
}

fn convert(component: BomComponent) -> Component {
    Component {
        reference: component.bom_ref,
        group: component.group.filter(|group| !group.is_empty()),
        name: component.name,
        version: component.version.filter(|version| !version.is_empty()),
        purl: component.purl,
        licenses: license_expression(component.licenses.unwrap_or_default()),
        hashes: component
            .hashes
            .unwrap_or_default()
            .into_iter()
            .map(|hash| Hash {
                algorithm: hash.alg,
                value: hash.content,
            })
            .collect(),
        supplier: component.supplier.and_then(|supplier| supplier.name),
    }
}

/// One SPDX expression for a component's licence list: each distinct id, name or expression,
/// joined with `AND` when there are several (every listed licence applies).
fn license_expression(choices: Vec<LicenseChoice>) -> Option<String> {
    let mut terms: Vec<String> = Vec::new();
    for choice in choices {
        let term = choice.expression.or_else(|| {
            choice
                .license
                .and_then(|license| license.id.or(license.name))
        });
        if let Some(term) = term.map(|term| term.trim().to_owned())
            && !term.is_empty()
            && !terms.contains(&term)
        {
            terms.push(term);
        }
    }
    match terms.as_slice() {
        [] => None,
        [single] => Some(single.clone()),
        several => Some(
            several
                .iter()
                .map(|term| {
                    if term.contains(char::is_whitespace) {
                        format!("({term})")
                    } else {
                        term.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(" AND "),
        ),
    }
}
