#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors
//! Ingesting the real SBOMs of `shared/conformance/sbom`: component counts, purls, licences,
//! hashes and dependency edges come out of both formats the same way.

use slipway_sbom::{Component, Sbom, SbomError, SbomFormat, ingest, normalise};

const CONFORMANCE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/conformance/sbom"
);

fn ingest_file(relative: &str) -> Sbom {
    let bytes = std::fs::read(format!("{CONFORMANCE}/{relative}")).unwrap();
    ingest(relative, &bytes).unwrap_or_else(|error| panic!("{error}"))
}

fn component<'a>(sbom: &'a Sbom, name: &str) -> &'a Component {
    sbom.components
        .iter()
        .find(|component| component.name == name)
        .unwrap_or_else(|| panic!("no component {name}"))
}

struct Expected {
    file: &'static str,
    format: SbomFormat,
    spec_version: &'static str,
    name: &'static str,
    components: usize,
    edges: usize,
    /// (component name, purl, licence expression)
    known: &'static [(&'static str, Option<&'static str>, Option<&'static str>)],
}

fn check(expected: &Expected) {
    let sbom = ingest_file(expected.file);
    assert_eq!(sbom.format, expected.format, "{}", expected.file);
    assert_eq!(
        sbom.spec_version, expected.spec_version,
        "{}",
        expected.file
    );
    assert_eq!(
        sbom.name.as_deref(),
        Some(expected.name),
        "{}",
        expected.file
    );
    assert_eq!(
        sbom.components.len(),
        expected.components,
        "{}",
        expected.file
    );
    assert_eq!(sbom.dependencies.len(), expected.edges, "{}", expected.file);
    for (name, purl, licenses) in expected.known {
        let found = component(&sbom, name);
        assert_eq!(found.purl.as_deref(), *purl, "{} {name}", expected.file);
        assert_eq!(
            found.licenses.as_deref(),
            *licenses,
            "{} {name}",
            expected.file
        );
    }
}

#[test]
fn real_sboms_normalise_to_their_components_and_edges() {
    for expected in [
        Expected {
            file: "cyclonedx/real/juice-shop-via_npm-flat.bom.1.4.json",
            format: SbomFormat::CycloneDx,
            spec_version: "1.4",
            name: "juice-shop",
            components: 1115,
            edges: 1775,
            known: &[
                ("express", Some("pkg:npm/express@4.18.2"), Some("MIT")),
                (
                    "atob",
                    Some("pkg:npm/atob@2.1.2"),
                    Some("(MIT OR Apache-2.0)"),
                ),
                // listed twice in the document, once with a URL
                (
                    "buffer-crc32",
                    Some("pkg:npm/buffer-crc32@0.2.13"),
                    Some("MIT"),
                ),
            ],
        },
        Expected {
            file: "cyclonedx/real/keycloak-10.0.2.bom.json",
            format: SbomFormat::CycloneDx,
            spec_version: "1.2",
            name: "keycloak-parent",
            components: 903,
            edges: 994,
            known: &[(
                "jackson-databind",
                Some("pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.1?type=jar"),
                Some("Apache-2.0"),
            )],
        },
        Expected {
            file: "cyclonedx/real/laravel-7.12.0.bom.1.4.json",
            format: SbomFormat::CycloneDx,
            spec_version: "1.4",
            name: "cyclonedx-php-composer-demo",
            components: 62,
            edges: 113,
            known: &[(
                "framework",
                Some("pkg:composer/laravel/framework@v7.30.6"),
                Some("MIT"),
            )],
        },
        Expected {
            file: "spdx-2.3/spdx-examples/example11-sbom.spdx.json",
            format: SbomFormat::Spdx,
            spec_version: "SPDX-2.3",
            name: "SBOM-SPDX-2d85f548-12fa-46d5-87ce-5e78e5e111f4",
            components: 4,
            edges: 3,
            known: &[
                ("tokio", Some("pkg:cargo/tokio@1.19.2"), Some("MIT")),
                (
                    "pretty_env_logger",
                    Some("pkg:cargo/pretty_env_logger@0.4.0"),
                    Some("MIT OR Apache-2.0"),
                ),
            ],
        },
        Expected {
            file: "spdx-2.3/spdx-examples/example8-examplemaven-0.0.1.spdx.json",
            format: SbomFormat::Spdx,
            spec_version: "SPDX-2.3",
            name: "examplemaven",
            components: 6,
            // TEST_DEPENDENCY_OF (reversed) and four DYNAMIC_LINKs
            edges: 5,
            known: &[
                // licenseConcluded is NOASSERTION: licenseDeclared is used
                ("JUnit", None, Some("CPL-1.0")),
                // both NOASSERTION
                ("Apache Log4j API", None, None),
            ],
        },
        Expected {
            file: "spdx-2.3/spec-example/SPDXJSONExample-v2.3.spdx.json",
            format: SbomFormat::Spdx,
            spec_version: "SPDX-2.3",
            name: "SPDX-Tools-v2.0",
            components: 4,
            edges: 1,
            known: &[
                ("glibc", None, Some("(LGPL-2.0-only OR LicenseRef-3)")),
                (
                    "Jena",
                    Some("pkg:maven/org.apache.jena/apache-jena@3.12.0"),
                    None,
                ),
            ],
        },
    ] {
        check(&expected);
    }
}

#[test]
fn cyclonedx_fields_are_carried_over() {
    let sbom = ingest_file("cyclonedx/real/juice-shop-via_npm-flat.bom.1.4.json");
    let parser = component(&sbom, "helper-string-parser");
    assert_eq!(parser.group.as_deref(), Some("@babel"));
    assert_eq!(parser.version.as_deref(), Some("7.19.4"));
    assert_eq!(
        parser.reference.as_deref(),
        Some("@babel/helper-string-parser@7.19.4")
    );
    assert_eq!(parser.hashes.len(), 1);
    assert_eq!(parser.hashes[0].algorithm, "SHA-512");
    assert!(parser.hashes[0].value.starts_with("9c7b43a1072ea859"));
    let without = sbom
        .components
        .iter()
        .filter(|c| c.licenses.is_none())
        .count();
    assert_eq!(without, 9, "juice-shop has 9 components without licences");
    assert!(
        sbom.dependencies
            .iter()
            .any(|edge| edge.to == "@babel/helper-string-parser@7.19.4"),
        "some component depends on @babel/helper-string-parser"
    );
}

#[test]
fn spdx_fields_are_carried_over() {
    let sbom = ingest_file("spdx-2.3/spec-example/SPDXJSONExample-v2.3.spdx.json");
    let glibc = component(&sbom, "glibc");
    assert_eq!(glibc.reference.as_deref(), Some("SPDXRef-Package"));
    assert_eq!(glibc.version.as_deref(), Some("2.11.1"));
    assert_eq!(
        glibc.supplier.as_deref(),
        Some("Jane Doe (jane.doe@example.com)")
    );
    assert!(glibc.hashes.iter().any(|hash| hash.algorithm == "SHA-256"));
    assert!(glibc.hashes.iter().any(|hash| hash.algorithm == "SHA-1"));
    let edge = &sbom.dependencies[0];
    assert_eq!(
        (edge.from.as_str(), edge.to.as_str()),
        ("SPDXRef-Package", "SPDXRef-Saxon")
    );
}

#[test]
fn package_coordinates_come_from_purls() {
    let juice = ingest_file("cyclonedx/real/juice-shop-via_npm-flat.bom.1.4.json");
    let keycloak = ingest_file("cyclonedx/real/keycloak-10.0.2.bom.json");
    let laravel = ingest_file("cyclonedx/real/laravel-7.12.0.bom.1.4.json");
    let spdx = ingest_file("spdx-2.3/spdx-examples/example11-sbom.spdx.json");
    for (sbom, name, expected) in [
        (
            &juice,
            "helper-string-parser",
            Some(("npm", "@babel/helper-string-parser", "7.19.4")),
        ),
        (&juice, "express", Some(("npm", "express", "4.18.2"))),
        (
            &keycloak,
            "jackson-databind",
            Some((
                "Maven",
                "com.fasterxml.jackson.core:jackson-databind",
                "2.10.1",
            )),
        ),
        (
            &laravel,
            "framework",
            Some(("Packagist", "laravel/framework", "v7.30.6")),
        ),
        (&spdx, "tokio", Some(("crates.io", "tokio", "1.19.2"))),
        // the source package's purl is a Debian package: no language ecosystem
        (&spdx, "hello-server-src", None),
    ] {
        let coordinates = component(sbom, name).package_coordinates();
        let actual = coordinates
            .as_ref()
            .map(|(e, n, v)| (*e, n.as_str(), v.as_str()));
        assert_eq!(actual, expected, "{name}");
    }
    let with_coordinates = juice
        .components
        .iter()
        .filter(|c| c.package_coordinates().is_some())
        .count();
    assert_eq!(
        with_coordinates, 1115,
        "every juice-shop component has an npm purl"
    );
}

#[test]
fn normaliser_names_the_field_it_cannot_read() {
    let document = serde_json::json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "components": [{"type": "library", "name": "ok"}, {"type": "library", "name": 7}]
    });
    let error = normalise("bad.json", &document).unwrap_err();
    assert!(matches!(error, SbomError::Unreadable { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.starts_with("bad.json: cannot read components[1].name"),
        "{message}"
    );
}

#[test]
fn nested_components_are_flattened_after_their_parent() {
    let document = serde_json::json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "components": [
            {"type": "application", "name": "outer", "components": [
                {"type": "library", "name": "inner", "licenses": [{"license": {"id": "MIT"}}, {"license": {"name": "Custom Licence"}}]}
            ]},
            {"type": "library", "name": "last"}
        ]
    });
    let sbom = ingest("nested.json", document.to_string().as_bytes()).unwrap();
    let names: Vec<&str> = sbom.components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["outer", "inner", "last"]);
    assert_eq!(
        sbom.components[1].licenses.as_deref(),
        Some("MIT AND (Custom Licence)")
    );
}

#[test]
fn ingest_rejects_bytes_that_are_not_json() {
    let message = ingest("junk.json", b"{not json").unwrap_err().to_string();
    assert!(
        message.starts_with("junk.json: not a JSON document: "),
        "{message}"
    );
}
