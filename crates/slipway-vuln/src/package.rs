//! The packages a scan looks at: ecosystem, name, version and where the package came from,
//! whether read from a lockfile or given as a package URL (purl) by an SBOM.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::version::Ecosystem;

/// Where a resolved package comes from; only registry packages are matched against advisories.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PackageSource {
    /// The ecosystem's public registry (crates.io, the npm registry, PyPI, the Go module proxy).
    Registry,
    /// Another registry or a mirror, by URL.
    OtherRegistry { url: String },
    /// A git repository.
    Git { url: String },
    /// A local path, a workspace member or a link.
    Local,
}

impl PackageSource {
    /// The source of a Cargo.lock `source` field (`None`: a path or workspace package).
    pub fn from_cargo(source: Option<&str>) -> PackageSource {
        match source {
            None => PackageSource::Local,
            Some(
                "registry+https://github.com/rust-lang/crates.io-index"
                | "sparse+https://index.crates.io/",
            ) => PackageSource::Registry,
            Some(source) => match source.strip_prefix("git+") {
                Some(url) => PackageSource::Git {
                    url: url.to_owned(),
                },
                None => PackageSource::OtherRegistry {
                    url: source
                        .trim_start_matches("registry+")
                        .trim_start_matches("sparse+")
                        .to_owned(),
                },
            },
        }
    }
}

/// One resolved package.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Package {
    pub ecosystem: Ecosystem,
    pub name: String,
    pub version: String,
    pub source: PackageSource,
}

impl fmt::Display for Package {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}@{}", self.ecosystem, self.name, self.version)
    }
}

/// Why a package URL could not be turned into a package.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("package url {purl:?}: {reason}")]
pub struct PurlError {
    pub purl: String,
    pub reason: String,
}

/// Decodes `%XX` escapes; `None` on a malformed escape or non-UTF-8 result.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        if byte == b'%' {
            let hex = bytes.get(index + 1..index + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            let hex = std::str::from_utf8(hex).ok()?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            decoded.push(byte);
            index += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

impl Package {
    /// A package from a package URL: `pkg:cargo/serde@1.0.0`, `pkg:npm/%40scope/name@1.0.0`,
    /// `pkg:pypi/django@4.2`, `pkg:golang/github.com/gorilla/mux@v1.8.0`. Qualifiers and
    /// subpath are ignored; the package counts as coming from the public registry. The version is
    /// required.
    pub fn from_purl(purl: &str) -> Result<Package, PurlError> {
        let error = |reason: &str| PurlError {
            purl: purl.to_owned(),
            reason: reason.to_owned(),
        };
        let rest = purl
            .trim()
            .strip_prefix("pkg:")
            .ok_or_else(|| error("it does not start with pkg:"))?;
        let rest = rest.split('#').next().unwrap_or(rest);
        let rest = rest.split('?').next().unwrap_or(rest);
        let (kind, path) = rest
            .trim_start_matches('/')
            .split_once('/')
            .ok_or_else(|| error("it has no type/name"))?;
        let (path, version) = path
            .rsplit_once('@')
            .ok_or_else(|| error("it has no @version"))?;
        let version =
            percent_decode(version).ok_or_else(|| error("bad percent-escape in the version"))?;
        if version.is_empty() {
            return Err(error("the version is empty"));
        }
        let segments = path
            .split('/')
            .filter(|segment| !segment.is_empty())
            .map(|segment| {
                percent_decode(segment).ok_or_else(|| error("bad percent-escape in the name"))
            })
            .collect::<Result<Vec<String>, PurlError>>()?;
        if segments.is_empty() {
            return Err(error("the name is empty"));
        }
        let ecosystem = match kind.to_ascii_lowercase().as_str() {
            "cargo" => Ecosystem::CratesIo,
            "npm" => Ecosystem::Npm,
            "pypi" => Ecosystem::PyPi,
            "golang" => Ecosystem::Go,
            other => {
                return Err(error(&format!(
                    "type {other:?} is not one of cargo, npm, pypi, golang"
                )));
            }
        };
        let name = match ecosystem {
            Ecosystem::CratesIo | Ecosystem::PyPi if segments.len() != 1 => {
                return Err(error("a cargo or pypi purl has no namespace"));
            }
            Ecosystem::Npm if segments.len() > 2 => {
                return Err(error("an npm purl has at most a scope and a name"));
            }
            Ecosystem::PyPi => Ecosystem::PyPi.normalize_name(&segments.join("/")),
            _ => segments.join("/"),
        };
        Ok(Package {
            ecosystem,
            name,
            version,
            source: PackageSource::Registry,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(purl: &str, expected: Result<(Ecosystem, &str, &str), &str>) {
        match (Package::from_purl(purl), expected) {
            (Ok(package), Ok((ecosystem, name, version))) => {
                assert_eq!(
                    (
                        package.ecosystem,
                        package.name.as_str(),
                        package.version.as_str()
                    ),
                    (ecosystem, name, version),
                    "{purl}"
                );
                assert_eq!(package.source, PackageSource::Registry);
            }
            (Err(error), Err(reason)) => {
                assert!(error.to_string().contains(reason), "{purl}: {error}")
            }
            (got, expected) => panic!("{purl}: got {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn purls() {
        check(
            "pkg:cargo/serde@1.0.0",
            Ok((Ecosystem::CratesIo, "serde", "1.0.0")),
        );
        check(
            "pkg:npm/%40babel/core@7.0.0",
            Ok((Ecosystem::Npm, "@babel/core", "7.0.0")),
        );
        check(
            "pkg:npm/lodash@4.17.20?foo=bar#sub",
            Ok((Ecosystem::Npm, "lodash", "4.17.20")),
        );
        check(
            "pkg:pypi/Django_Rest@4.2",
            Ok((Ecosystem::PyPi, "django-rest", "4.2")),
        );
        check(
            "pkg:golang/github.com/gorilla/mux@v1.8.0",
            Ok((Ecosystem::Go, "github.com/gorilla/mux", "v1.8.0")),
        );
        check(
            "pkg:cargo/a@1.0.0%2Bbuild",
            Ok((Ecosystem::CratesIo, "a", "1.0.0+build")),
        );
        check("cargo/serde@1", Err("does not start with pkg:"));
        check("pkg:cargo/serde", Err("no @version"));
        check("pkg:cargo/serde@", Err("version is empty"));
        check("pkg:maven/org.a/b@1", Err("type \"maven\""));
        check("pkg:cargo/ns/serde@1", Err("no namespace"));
        check("pkg:npm/a/b/c@1", Err("at most a scope"));
        check("pkg:npm/%4@1", Err("bad percent-escape in the name"));
        check("pkg:npm/@1", Err("the name is empty"));
        check("pkg:npm", Err("no type/name"));
    }

    #[test]
    fn cargo_sources() {
        assert_eq!(PackageSource::from_cargo(None), PackageSource::Local);
        assert_eq!(
            PackageSource::from_cargo(Some("sparse+https://index.crates.io/")),
            PackageSource::Registry
        );
        assert_eq!(
            PackageSource::from_cargo(Some("git+https://github.com/a/b?rev=1#abc")),
            PackageSource::Git {
                url: "https://github.com/a/b?rev=1#abc".into()
            }
        );
        assert_eq!(
            PackageSource::from_cargo(Some("registry+https://my.registry/index")),
            PackageSource::OtherRegistry {
                url: "https://my.registry/index".into()
            }
        );
    }
}
