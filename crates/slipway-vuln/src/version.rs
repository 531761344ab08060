//! Ecosystems and their version orders: semver for crates.io, npm and Go (without the `v`),
//! PEP 440 for PyPI. Other ecosystems have no order here; their advisories match through
//! explicit version lists only.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::pep440::Pep440Version;

/// A package ecosystem, named as in OSV (`affected[].package.ecosystem`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ecosystem {
    CratesIo,
    Npm,
    PyPi,
    Go,
    /// Any other OSV ecosystem (e.g. `Maven`, `Debian:12`), kept verbatim.
    Other(String),
}

impl Ecosystem {
    /// The ecosystem of an OSV ecosystem name (exact, case-sensitive as OSV defines them).
    pub fn from_osv_name(name: &str) -> Ecosystem {
        match name {
            "crates.io" => Ecosystem::CratesIo,
            "npm" => Ecosystem::Npm,
            "PyPI" => Ecosystem::PyPi,
            "Go" => Ecosystem::Go,
            other => Ecosystem::Other(other.to_owned()),
        }
    }

    /// The OSV name: `crates.io`, `npm`, `PyPI`, `Go` or the other name.
    pub fn osv_name(&self) -> &str {
        match self {
            Ecosystem::CratesIo => "crates.io",
            Ecosystem::Npm => "npm",
            Ecosystem::PyPi => "PyPI",
            Ecosystem::Go => "Go",
            Ecosystem::Other(name) => name,
        }
    }

    /// The package name as it is compared in this ecosystem: PyPI names are normalised per
    /// PEP 503 (lower case, runs of `-`, `_`, `.` become `-`); other names are case-sensitive.
    pub fn normalize_name(&self, name: &str) -> String {
        match self {
            Ecosystem::PyPi => {
                let mut normalized = String::with_capacity(name.len());
                let mut in_separator_run = false;
                for character in name.trim().chars() {
                    if matches!(character, '-' | '_' | '.') {
                        if !in_separator_run {
                            normalized.push('-');
                        }
                        in_separator_run = true;
                    } else {
                        normalized.push(character.to_ascii_lowercase());
                        in_separator_run = false;
                    }
                }
                normalized
            }
            _ => name.to_owned(),
        }
    }

    /// Parses a version in this ecosystem's scheme, `None` when it does not follow it (or the
    /// ecosystem has no order here).
    pub fn parse_version(&self, version: &str) -> Option<OrderedVersion> {
        match self {
            Ecosystem::CratesIo | Ecosystem::Npm => {
                parse_semver(version).map(OrderedVersion::Semver)
            }
            Ecosystem::Go => parse_semver(version.strip_prefix('v').unwrap_or(version))
                .map(OrderedVersion::Semver),
            Ecosystem::PyPi => Pep440Version::parse(version)
                .ok()
                .map(OrderedVersion::Pep440),
            Ecosystem::Other(_) => None,
        }
    }

    /// Whether two version strings name the same version: by the ecosystem's order when both
    /// parse, by the string otherwise (Go's `v` prefix ignored).
    pub fn same_version(&self, left: &str, right: &str) -> bool {
        match (self.parse_version(left), self.parse_version(right)) {
            (Some(left), Some(right)) => left.cmp(&right) == Ordering::Equal,
            _ => {
                let strip = |text: &'_ str| -> String {
                    let text = text.trim();
                    match self {
                        Ecosystem::Go => text.strip_prefix('v').unwrap_or(text).to_owned(),
                        _ => text.to_owned(),
                    }
                };
                strip(left) == strip(right)
            }
        }
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.osv_name())
    }
}

impl Serialize for Ecosystem {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.osv_name())
    }
}

impl<'de> Deserialize<'de> for Ecosystem {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(Ecosystem::from_osv_name(&name))
    }
}

/// Semver, leniently: a missing minor or patch (`1`, `1.2`, `1.2-beta`) counts as 0, as OSV
/// data for npm and Go sometimes writes them.
fn parse_semver(version: &str) -> Option<semver::Version> {
    let version = version.trim();
    if let Ok(parsed) = semver::Version::parse(version) {
        return Some(parsed);
    }
    let core_end = version.find(['-', '+']).unwrap_or(version.len());
    let (core, suffix) = version.split_at(core_end);
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty()
        || parts.len() >= 3
        || !parts
            .iter()
            .all(|part| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit()))
    {
        return None;
    }
    let mut padded = parts.join(".");
    for _ in parts.len()..3 {
        padded.push_str(".0");
    }
    padded.push_str(suffix);
    semver::Version::parse(&padded).ok()
}

/// A version parsed in its ecosystem's scheme. Versions of different schemes never meet: the
/// scanner only compares versions of one ecosystem (a mixed comparison sorts semver first).
#[derive(Debug, Clone)]
pub enum OrderedVersion {
    Semver(semver::Version),
    Pep440(Pep440Version),
}

impl Ord for OrderedVersion {
    /// Semver precedence (build metadata ignored, pre-releases before their release); PEP 440
    /// order.
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (OrderedVersion::Semver(left), OrderedVersion::Semver(right)) => {
                left.cmp_precedence(right)
            }
            (OrderedVersion::Pep440(left), OrderedVersion::Pep440(right)) => left.cmp(right),
            (OrderedVersion::Semver(_), OrderedVersion::Pep440(_)) => Ordering::Less,
            (OrderedVersion::Pep440(_), OrderedVersion::Semver(_)) => Ordering::Greater,
        }
    }
}

impl PartialOrd for OrderedVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for OrderedVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for OrderedVersion {}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_order(ecosystem: &Ecosystem, ascending: &[&str]) {
        let parsed: Vec<OrderedVersion> = ascending
            .iter()
            .map(|version| {
                ecosystem
                    .parse_version(version)
                    .unwrap_or_else(|| panic!("{ecosystem}: {version} does not parse"))
            })
            .collect();
        for (index, pair) in parsed.windows(2).enumerate() {
            assert!(
                pair[0] < pair[1],
                "{ecosystem}: {} < {}",
                ascending[index],
                ascending[index + 1]
            );
        }
    }

    #[test]
    fn orders_per_ecosystem() {
        check_order(
            &Ecosystem::CratesIo,
            &[
                "0.0.0-0",
                "0.1.0",
                "1.0.0-alpha",
                "1.0.0-alpha.1",
                "1.0.0-beta",
                "1.0.0",
                "1.0.1",
            ],
        );
        check_order(
            &Ecosystem::Npm,
            &["1", "1.2", "1.2.1-rc.1", "1.2.1", "10.0.0"],
        );
        check_order(
            &Ecosystem::Go,
            &[
                "v0.0.0-20190101000000-abcdef123456",
                "v0.1.0",
                "1.2.0",
                "v2.0.0+incompatible",
                "v2.0.1",
            ],
        );
        check_order(&Ecosystem::PyPi, &["1.0rc1", "1.0", "1.0.post1", "1.1"]);
    }

    #[test]
    fn build_metadata_does_not_change_the_version() {
        assert!(Ecosystem::Go.same_version("v2.0.0+incompatible", "2.0.0"));
        assert!(Ecosystem::CratesIo.same_version("1.0.0+build.5", "1.0.0"));
        assert!(Ecosystem::PyPi.same_version("1.0", "1.0.0"));
        assert!(!Ecosystem::Npm.same_version("1.0.0", "1.0.1"));
        // Unparsable on both sides: by string.
        assert!(Ecosystem::Other("Debian:12".into()).same_version("1:2.3-4", "1:2.3-4"));
        assert!(!Ecosystem::Other("Debian:12".into()).same_version("1:2.3-4", "1:2.3-5"));
        assert!(Ecosystem::Go.same_version("vweird", "weird"));
    }

    #[test]
    fn unparsable_versions_are_none() {
        for (ecosystem, version) in [
            (Ecosystem::CratesIo, "not-a-version"),
            (Ecosystem::CratesIo, "1.2.3.4"),
            (Ecosystem::Npm, ""),
            (Ecosystem::PyPi, "2004d"),
            (Ecosystem::Other("Maven".into()), "1.0"),
        ] {
            assert!(
                ecosystem.parse_version(version).is_none(),
                "{ecosystem} {version}"
            );
        }
    }

    #[test]
    fn names_and_ecosystems() {
        assert_eq!(
            Ecosystem::PyPi.normalize_name("Zope.Interface__x"),
            "zope-interface-x"
        );
        assert_eq!(
            Ecosystem::CratesIo.normalize_name("Serde_Json"),
            "Serde_Json"
        );
        for name in ["crates.io", "npm", "PyPI", "Go", "Maven"] {
            assert_eq!(Ecosystem::from_osv_name(name).osv_name(), name);
        }
        assert_eq!(
            Ecosystem::from_osv_name("pypi"),
            Ecosystem::Other("pypi".into())
        );
    }
}
