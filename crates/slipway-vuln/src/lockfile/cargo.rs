//! Cargo.lock, versions 1 to 4: `[[package]]` tables with `name`, `version` and `source`
//! (absent for workspace and path crates). Version 1 has no `version` key and keeps checksums
//! in `[metadata]`, which, like dependencies and checksums, a scan does not need.

use serde::Deserialize;

use super::LockfileError;
use crate::package::{Package, PackageSource};
use crate::version::Ecosystem;

#[derive(Deserialize)]
struct CargoLock {
    #[serde(default)]
    version: Option<i64>,
    #[serde(default)]
    package: Vec<CargoPackage>,
}

#[derive(Deserialize)]
struct CargoPackage {
    name: String,
    version: String,
    #[serde(default)]
    source: Option<String>,
}

pub(super) fn parse(file: &str, text: &str) -> Result<Vec<Package>, LockfileError> {
    let lock: CargoLock =
        toml::from_str(text).map_err(|error| LockfileError::from_toml(file, text, &error))?;
    if let Some(version) = lock.version
        && !(1..=4).contains(&version)
    {
        return Err(LockfileError::new(
            file,
            "field version",
            format!("unsupported Cargo.lock version {version} (expected 1 to 4)"),
        ));
    }
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
            Ok(Package {
                ecosystem: Ecosystem::CratesIo,
                source: PackageSource::from_cargo(package.source.as_deref()),
                name: package.name,
                version: package.version,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::LockfileFormat;
    use crate::package::PackageSource;

    fn check(text: &str, expected: &[(&str, &str, PackageSource)]) {
        super::super::check::packages(LockfileFormat::CargoLock, "Cargo.lock", text, expected);
    }

    fn check_error(text: &str, location: &str, message: &str) {
        super::super::check::error(
            LockfileFormat::CargoLock,
            "bad/Cargo.lock",
            text,
            location,
            message,
        );
    }

    #[test]
    fn versions_one_to_four() {
        let v1 = r#"
[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "libc 0.2.49 (registry+https://github.com/rust-lang/crates.io-index)",
]

[[package]]
name = "libc"
version = "0.2.49"
source = "registry+https://github.com/rust-lang/crates.io-index"

[metadata]
"checksum libc 0.2.49 (registry+https://github.com/rust-lang/crates.io-index)" = "aaaa"
"#;
        check(
            v1,
            &[
                ("app", "0.1.0", PackageSource::Local),
                ("libc", "0.2.49", PackageSource::Registry),
            ],
        );
        let v3 = r#"
version = 3

[[package]]
name = "forked"
version = "1.0.0"
source = "git+https://github.com/me/forked?branch=main#0123abcd"

[[package]]
name = "serde"
version = "1.0.100"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "bbbb"
dependencies = ["serde_derive"]
"#;
        check(
            v3,
            &[
                (
                    "forked",
                    "1.0.0",
                    PackageSource::Git {
                        url: "https://github.com/me/forked?branch=main#0123abcd".into(),
                    },
                ),
                ("serde", "1.0.100", PackageSource::Registry),
            ],
        );
        let v4 = "version = 4\n[[package]]\nname = \"a\"\nversion = \"1.0.0-rc.1\"\nsource = \"sparse+https://index.crates.io/\"\n\
                  [[package]]\nname = \"b\"\nversion = \"2.0.0\"\nsource = \"registry+https://corp.example/index\"\n";
        check(
            v4,
            &[
                ("a", "1.0.0-rc.1", PackageSource::Registry),
                (
                    "b",
                    "2.0.0",
                    PackageSource::OtherRegistry {
                        url: "https://corp.example/index".into(),
                    },
                ),
            ],
        );
        check("version = 2\n", &[]);
    }

    #[test]
    fn malformed_lockfiles_name_the_line_or_field() {
        check_error(
            "[[package]]\nname = \"a\"\n",
            "line 1",
            "missing field `version`",
        );
        check_error(
            "version = 3\n[[package]]\nname = \"a\"\nversion = 5\n",
            "line 4",
            "invalid type",
        );
        check_error("version = 3\n\n[[package]\n", "line 3", "");
        check_error(
            "version = 9\n",
            "field version",
            "unsupported Cargo.lock version 9",
        );
        check_error(
            "[[package]]\nname = \"\"\nversion = \"1\"\n",
            "field package[0]",
            "must not be empty",
        );
    }
}
