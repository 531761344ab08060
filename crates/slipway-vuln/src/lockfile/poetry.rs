//! poetry.lock: `[[package]]` tables with `name`, `version` and an optional `[package.source]`
//! (`type` = `git`, `directory`, `file`, `url` or `legacy` for another index).

use serde::Deserialize;

use super::LockfileError;
use crate::package::{Package, PackageSource};
use crate::version::Ecosystem;

#[derive(Deserialize)]
struct PoetryLock {
    #[serde(default)]
    package: Vec<PoetryPackage>,
}

#[derive(Deserialize)]
struct PoetryPackage {
    name: String,
    version: String,
    #[serde(default)]
    source: Option<PoetrySource>,
}

#[derive(Deserialize)]
struct PoetrySource {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    url: Option<String>,
}

pub(super) fn parse(file: &str, text: &str) -> Result<Vec<Package>, LockfileError> {
    let lock: PoetryLock =
        toml::from_str(text).map_err(|error| LockfileError::from_toml(file, text, &error))?;
    lock.package
        .into_iter()
        .enumerate()
        .map(|(index, package)| {
            if package.name.trim().is_empty() || package.version.trim().is_empty() {
                return Err(LockfileError::new(
                    file,
                    format!("field package[{index}]"),
                    "name and version must not be empty",
                ));
            }
            let source = match package.source {
                None => PackageSource::Registry,
                Some(source) => {
                    let url = source.url.unwrap_or_default();
                    match source.kind.as_str() {
                        "git" => PackageSource::Git { url },
                        "directory" | "file" => PackageSource::Local,
                        "legacy" | "url" => PackageSource::OtherRegistry { url },
                        other => {
                            return Err(LockfileError::new(
                                file,
                                format!("field package[{index}].source.type"),
                                format!("unknown source type {other:?}: expected git, directory, file, url or legacy"),
                            ));
                        }
                    }
                }
            };
            Ok(Package {
                ecosystem: Ecosystem::PyPi,
                name: Ecosystem::PyPi.normalize_name(&package.name),
                version: package.version,
                source,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::LockfileFormat;
    use crate::package::PackageSource;

    fn check(text: &str, expected: &[(&str, &str, PackageSource)]) {
        super::super::check::packages(LockfileFormat::PoetryLock, "poetry.lock", text, expected);
    }

    #[test]
    fn packages_and_sources() {
        let text = r#"
[[package]]
name = "Django"
version = "3.2.1"
description = "web framework"
optional = false
python-versions = ">=3.6"

[[package]]
name = "my_lib"
version = "0.1.0"

[package.source]
type = "directory"
url = "../my_lib"

[[package]]
name = "forked"
version = "2.0.0"

[package.source]
type = "git"
url = "https://github.com/me/forked.git"
reference = "main"
resolved_reference = "abc"

[[package]]
name = "internal"
version = "1.0"

[package.source]
type = "legacy"
url = "https://pypi.corp.example/simple"
reference = "corp"

[metadata]
lock-version = "2.0"
python-versions = "^3.8"
content-hash = "abc"
"#;
        check(
            text,
            &[
                ("django", "3.2.1", PackageSource::Registry),
                (
                    "forked",
                    "2.0.0",
                    PackageSource::Git {
                        url: "https://github.com/me/forked.git".into(),
                    },
                ),
                (
                    "internal",
                    "1.0",
                    PackageSource::OtherRegistry {
                        url: "https://pypi.corp.example/simple".into(),
                    },
                ),
                ("my-lib", "0.1.0", PackageSource::Local),
            ],
        );
    }

    #[test]
    fn malformed_lockfiles_name_the_line_or_field() {
        for (text, location, message) in [
            (
                "[[package]]\nname = \"a\"\n",
                "line 1",
                "missing field `version`",
            ),
            (
                "[[package]]\nname = \"a\"\nversion = \"1\"\n[package.source]\ntype = \"svn\"\n",
                "field package[0].source.type",
                "unknown source type \"svn\"",
            ),
            (
                "[[package]]\nname = \"\"\nversion = \"1\"\n",
                "field package[0]",
                "must not be empty",
            ),
            ("\n\npackage = 3\n", "line 3", "invalid type"),
        ] {
            super::super::check::error(
                LockfileFormat::PoetryLock,
                "py/poetry.lock",
                text,
                location,
                message,
            );
        }
    }
}
