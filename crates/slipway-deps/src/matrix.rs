//! Which version of each shared package runs where: packages read from each service's SBOM
//! per environment, the matrix package → (service, environment) → versions, conflicts
//! (incompatible majors between services that talk to each other, several versions in one
//! artifact) and a pinning policy of allowed version ranges.

use serde::{Deserialize, Serialize};
use slipway_sbom::{Purl, Sbom};
use std::collections::{BTreeMap, BTreeSet};

/// A package, named the way its ecosystem names it (`npm` / `@scope/name`, `cargo` / `serde`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PackageKey {
    pub ecosystem: String,
    pub name: String,
}

impl std::fmt::Display for PackageKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.ecosystem, self.name)
    }
}

/// One package version in one service's artifact in one environment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Installed {
    pub service: String,
    pub environment: String,
    pub package: PackageKey,
    pub version: String,
}

/// The packages of an SBOM that have a version: by their package URL when they have one
/// (ecosystem and namespaced name), else as `generic` with their group and name.
pub fn installed_from_sbom(service: &str, environment: &str, sbom: &Sbom) -> Vec<Installed> {
    let mut out = Vec::new();
    for component in &sbom.components {
        let Some(version) = component.version.clone().filter(|v| !v.is_empty()) else {
            continue;
        };
        let package = match component.purl.as_deref().and_then(|p| Purl::parse(p).ok()) {
            Some(purl) => PackageKey {
                ecosystem: purl.ty.clone(),
                name: purl.ecosystem_name(),
            },
            None => PackageKey {
                ecosystem: "generic".to_owned(),
                name: match &component.group {
                    Some(group) if !group.is_empty() => format!("{group}/{}", component.name),
                    _ => component.name.clone(),
                },
            },
        };
        out.push(Installed {
            service: service.to_owned(),
            environment: environment.to_owned(),
            package,
            version,
        });
    }
    out.sort();
    out.dedup();
    out
}

/// Package → (service, environment) → versions.
pub type Matrix = BTreeMap<PackageKey, BTreeMap<(String, String), BTreeSet<String>>>;

/// The version matrix; with `package`, only packages whose name (or `ecosystem:name`) is it.
pub fn matrix(installed: &[Installed], package: Option<&str>) -> Matrix {
    let mut out = Matrix::new();
    for item in installed {
        if let Some(wanted) = package
            && item.package.name != wanted
            && item.package.to_string() != wanted
        {
            continue;
        }
        out.entry(item.package.clone())
            .or_default()
            .entry((item.service.clone(), item.environment.clone()))
            .or_default()
            .insert(item.version.clone());
    }
    out
}

/// A version read leniently: `1.2` is `1.2.0`, a leading `v` is dropped, build text after the
/// numbers kept as a pre-release.
pub fn lenient_version(text: &str) -> Option<semver::Version> {
    let trimmed = text.trim().trim_start_matches(['v', 'V']);
    if let Ok(version) = semver::Version::parse(trimmed) {
        return Some(version);
    }
    let digits_end = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (numbers, rest) = trimmed.split_at(digits_end);
    let mut parts = numbers
        .split('.')
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<u64>());
    let major = parts.next()?.ok()?;
    let minor = parts.next().and_then(Result::ok).unwrap_or(0);
    let patch = parts.next().and_then(Result::ok).unwrap_or(0);
    let mut version = semver::Version::new(major, minor, patch);
    let rest = rest.trim_start_matches(['-', '.', '+']);
    if !rest.is_empty() {
        let cleaned: String = rest
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        version.pre = semver::Prerelease::new(&cleaned).unwrap_or(semver::Prerelease::EMPTY);
    }
    Some(version)
}

/// Below 1.0.0 the minor version plays the major's role.
fn compatibility_line(version: &semver::Version) -> (u64, u64) {
    if version.major == 0 {
        (0, version.minor)
    } else {
        (version.major, 0)
    }
}

/// A conflict between installed versions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Conflict {
    /// Two services that talk to each other run incompatible versions (different majors) of
    /// a package, in the same environment.
    IncompatibleMajors {
        package: PackageKey,
        environment: String,
        client: (String, String),
        server: (String, String),
    },
    /// One service's artifact carries several versions of a package.
    Duplicate {
        package: PackageKey,
        service: String,
        environment: String,
        versions: Vec<String>,
    },
}

/// Finds conflicts. `talks_to` lists (client, server) service pairs (declared or observed).
pub fn conflicts(installed: &[Installed], talks_to: &[(String, String)]) -> Vec<Conflict> {
    let by_place = matrix(installed, None);
    let mut out = Vec::new();
    for (package, places) in &by_place {
        for ((service, environment), versions) in places {
            if versions.len() > 1 {
                out.push(Conflict::Duplicate {
                    package: package.clone(),
                    service: service.clone(),
                    environment: environment.clone(),
                    versions: versions.iter().cloned().collect(),
                });
            }
        }
        for (client, server) in talks_to {
            let environments: BTreeSet<&String> = places
                .keys()
                .filter(|(s, _)| s == client)
                .map(|(_, e)| e)
                .collect();
            for environment in environments {
                let (Some(ours), Some(theirs)) = (
                    places.get(&(client.clone(), environment.clone())),
                    places.get(&(server.clone(), environment.clone())),
                ) else {
                    continue;
                };
                for a in ours {
                    for b in theirs {
                        let (Some(va), Some(vb)) = (lenient_version(a), lenient_version(b)) else {
                            continue;
                        };
                        if compatibility_line(&va) != compatibility_line(&vb) {
                            out.push(Conflict::IncompatibleMajors {
                                package: package.clone(),
                                environment: environment.clone(),
                                client: (client.clone(), a.clone()),
                                server: (server.clone(), b.clone()),
                            });
                        }
                    }
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// One pinning rule: the package (`name` or `ecosystem:name`, a trailing `*` matches a prefix)
/// must be within `allowed` (a semver requirement such as `>=2.17, <3`), optionally only in
/// some environments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PinRule {
    pub package: String,
    pub allowed: String,
    #[serde(default)]
    pub environments: Vec<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// A version outside its pin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PinViolation {
    pub service: String,
    pub environment: String,
    pub package: PackageKey,
    pub version: String,
    pub allowed: String,
    pub reason: String,
}

/// Why a pinning policy was refused: the rule's position, field and reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rules[{index}].{field}: {reason}")]
pub struct PinPolicyError {
    pub index: usize,
    pub field: &'static str,
    pub reason: String,
}

/// Checks every rule's range parses.
///
/// # Errors
///
/// The first rule whose `allowed` is not a version requirement or whose `package` is empty.
pub fn validate_pins(rules: &[PinRule]) -> Result<(), PinPolicyError> {
    for (index, rule) in rules.iter().enumerate() {
        if rule.package.trim().is_empty() {
            return Err(PinPolicyError {
                index,
                field: "package",
                reason: "must name a package".to_owned(),
            });
        }
        semver::VersionReq::parse(&rule.allowed).map_err(|e| PinPolicyError {
            index,
            field: "allowed",
            reason: format!("{:?} is not a version range: {e}", rule.allowed),
        })?;
    }
    Ok(())
}

fn rule_matches(pattern: &str, package: &PackageKey) -> bool {
    let full = package.to_string();
    match pattern.strip_suffix('*') {
        Some(prefix) => package.name.starts_with(prefix) || full.starts_with(prefix),
        None => package.name == pattern || full == pattern,
    }
}

/// Installed versions outside their pins (a version that cannot be read is outside too).
/// Rules whose range does not parse are skipped; [`validate_pins`] refuses them at apply.
pub fn check_pins(installed: &[Installed], rules: &[PinRule]) -> Vec<PinViolation> {
    let mut out = Vec::new();
    for rule in rules {
        let Ok(allowed) = semver::VersionReq::parse(&rule.allowed) else {
            continue;
        };
        for item in installed {
            if !rule_matches(&rule.package, &item.package)
                || (!rule.environments.is_empty() && !rule.environments.contains(&item.environment))
            {
                continue;
            }
            let within = lenient_version(&item.version).is_some_and(|v| {
                // a pre-release is judged by its release numbers
                let release = semver::Version::new(v.major, v.minor, v.patch);
                allowed.matches(&v) || allowed.matches(&release)
            });
            if !within {
                out.push(PinViolation {
                    service: item.service.clone(),
                    environment: item.environment.clone(),
                    package: item.package.clone(),
                    version: item.version.clone(),
                    allowed: rule.allowed.clone(),
                    reason: rule.reason.clone().unwrap_or_default(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn installed(service: &str, environment: &str, package: &str, version: &str) -> Installed {
        let (ecosystem, name) = package.split_once(':').unwrap_or(("npm", package));
        Installed {
            service: service.to_owned(),
            environment: environment.to_owned(),
            package: PackageKey {
                ecosystem: ecosystem.to_owned(),
                name: name.to_owned(),
            },
            version: version.to_owned(),
        }
    }

    #[test]
    fn sbom_components_become_installed_packages() {
        let sbom = slipway_sbom::normalise(
            "bom.json",
            &serde_json::json!({
                "bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
                "components": [
                    {"type": "library", "name": "lodash", "version": "4.17.21", "purl": "pkg:npm/lodash@4.17.21"},
                    {"type": "library", "group": "@babel", "name": "core", "version": "7.0.0", "purl": "pkg:npm/%40babel/core@7.0.0"},
                    {"type": "library", "group": "acme", "name": "tool", "version": "1.0"},
                    {"type": "library", "name": "unversioned"}
                ]
            }),
        )
        .unwrap();
        let found: Vec<String> = installed_from_sbom("web", "prod", &sbom)
            .iter()
            .map(|i| format!("{}@{}", i.package, i.version))
            .collect();
        assert_eq!(
            found,
            vec![
                "generic:acme/tool@1.0",
                "npm:@babel/core@7.0.0",
                "npm:lodash@4.17.21"
            ]
        );
    }

    #[test]
    fn versions_read_leniently() {
        for (text, expected) in [
            ("1.2.3", Some("1.2.3")),
            ("v2", Some("2.0.0")),
            ("1.2", Some("1.2.0")),
            ("2.13.4.2", Some("2.13.4")),
            ("8u392", Some("8.0.0-u392")),
            ("latest", None),
        ] {
            assert_eq!(
                lenient_version(text).map(|v| v.to_string()).as_deref(),
                expected,
                "{text}"
            );
        }
    }

    #[test]
    fn matrix_and_conflicts() {
        let all = vec![
            installed("web", "prod", "lodash", "4.17.21"),
            installed("api", "prod", "lodash", "3.10.1"),
            installed("api", "prod", "lodash", "4.17.20"),
            installed("worker", "prod", "lodash", "3.10.1"),
            installed("web", "prod", "left-pad", "0.1.0"),
            installed("api", "prod", "left-pad", "0.2.0"),
            installed("web", "staging", "lodash", "4.17.21"),
        ];
        let m = matrix(&all, Some("lodash"));
        assert_eq!(m.len(), 1);
        let lodash = &m[&PackageKey {
            ecosystem: "npm".into(),
            name: "lodash".into(),
        }];
        assert_eq!(lodash.len(), 4);
        let found = conflicts(&all, &[("web".to_owned(), "api".to_owned())]);
        let described: Vec<String> = found
            .iter()
            .map(|c| match c {
                Conflict::IncompatibleMajors {
                    package,
                    client,
                    server,
                    ..
                } => format!(
                    "major {} {}@{} {}@{}",
                    package.name, client.0, client.1, server.0, server.1
                ),
                Conflict::Duplicate {
                    package,
                    service,
                    versions,
                    ..
                } => format!("duplicate {} {service} {versions:?}", package.name),
            })
            .collect();
        assert_eq!(
            described,
            vec![
                "major left-pad web@0.1.0 api@0.2.0",
                "major lodash web@4.17.21 api@3.10.1",
                "duplicate lodash api [\"3.10.1\", \"4.17.20\"]",
            ]
        );
    }

    #[test]
    fn pins_are_checked() {
        let all = vec![
            installed(
                "web",
                "prod",
                "maven:org.apache.logging.log4j/log4j-core",
                "2.14.1",
            ),
            installed(
                "api",
                "prod",
                "maven:org.apache.logging.log4j/log4j-core",
                "2.17.1",
            ),
            installed(
                "api",
                "dev",
                "maven:org.apache.logging.log4j/log4j-core",
                "2.0-rc1",
            ),
            installed("api", "prod", "serde", "1.0.200"),
        ];
        let rules = vec![PinRule {
            package: "maven:org.apache.logging.log4j/*".to_owned(),
            allowed: ">=2.17.1, <3".to_owned(),
            environments: vec!["prod".to_owned()],
            reason: Some("CVE-2021-44228".to_owned()),
        }];
        validate_pins(&rules).unwrap();
        let found = check_pins(&all, &rules);
        let violations: Vec<(&str, &str)> = found
            .iter()
            .map(|v| (v.service.as_str(), v.version.as_str()))
            .collect();
        assert_eq!(violations, vec![("web", "2.14.1")]);
        let bad = vec![PinRule {
            package: "x".into(),
            allowed: "not a range".into(),
            environments: vec![],
            reason: None,
        }];
        assert!(
            validate_pins(&bad)
                .unwrap_err()
                .to_string()
                .starts_with("rules[0].allowed: \"not a range\" is not a version range")
        );
    }
}
