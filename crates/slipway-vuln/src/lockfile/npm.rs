//! npm's package-lock.json and npm-shrinkwrap.json. Version 1 nests `dependencies` by name;
//! versions 2 and 3 list `packages` by install path (`node_modules/a/node_modules/@s/b`), where
//! the root (`""`), links (`"link": true`) and workspace folders (paths outside node_modules)
//! are not dependencies. Aliases (`npm:real@1.0.0`, or a `name` field) resolve to the real name.

use serde_json::{Map, Value};

use super::LockfileError;
use crate::package::{Package, PackageSource};
use crate::version::Ecosystem;

pub(super) fn parse(file: &str, text: &str) -> Result<Vec<Package>, LockfileError> {
    let document: Value = serde_json::from_str(text).map_err(|error| {
        LockfileError::new(file, format!("line {}", error.line()), error.to_string())
    })?;
    let root = document
        .as_object()
        .ok_or_else(|| LockfileError::new(file, "document", "expected a JSON object"))?;
    let lockfile_version = match root.get("lockfileVersion") {
        Some(Value::Number(number)) => number.as_u64(),
        Some(_) => None,
        None => {
            return Err(LockfileError::new(
                file,
                "field lockfileVersion",
                "is missing",
            ));
        }
    };
    let mut packages = Vec::new();
    match lockfile_version {
        Some(1) => walk_dependencies(file, root, "dependencies", &mut packages)?,
        Some(2 | 3) => match root.get("packages") {
            Some(entries) => read_packages(file, entries, &mut packages)?,
            None => walk_dependencies(file, root, "dependencies", &mut packages)?,
        },
        _ => {
            return Err(LockfileError::new(
                file,
                "field lockfileVersion",
                format!(
                    "expected 1, 2 or 3, found {}",
                    root.get("lockfileVersion")
                        .map_or_else(String::new, Value::to_string)
                ),
            ));
        }
    }
    Ok(packages)
}

fn string_field<'a>(
    file: &str,
    entry: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<&'a str>, LockfileError> {
    match entry.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => Err(LockfileError::new(
            file,
            format!("field {path}.{key}"),
            format!("expected a string, found {other}"),
        )),
    }
}

fn object<'a>(
    file: &str,
    value: &'a Value,
    path: &str,
) -> Result<&'a Map<String, Value>, LockfileError> {
    value
        .as_object()
        .ok_or_else(|| LockfileError::new(file, format!("field {path}"), "expected an object"))
}

/// The source of a package from its `resolved` URL and its version spec.
fn source_of(version: &str, resolved: Option<&str>) -> PackageSource {
    let is_git = |text: &str| {
        ["git+", "git:", "github:", "gitlab:", "bitbucket:", "gist:"]
            .iter()
            .any(|prefix| text.starts_with(prefix))
    };
    let is_local = |text: &str| text.starts_with("file:") || text.starts_with("link:");
    if is_git(version) {
        return PackageSource::Git {
            url: version.to_owned(),
        };
    }
    if is_local(version) {
        return PackageSource::Local;
    }
    match resolved {
        None => PackageSource::Registry,
        Some(url) if is_git(url) => PackageSource::Git {
            url: url.to_owned(),
        },
        Some(url) if is_local(url) => PackageSource::Local,
        Some(url)
            if url.starts_with("https://registry.npmjs.org/")
                || url.starts_with("https://registry.yarnpkg.com/") =>
        {
            PackageSource::Registry
        }
        Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
            PackageSource::OtherRegistry {
                url: url.to_owned(),
            }
        }
        // A relative path, e.g. a workspace tarball.
        Some(_) => PackageSource::Local,
    }
}

/// A package from a name and a version spec, resolving `npm:real@version` aliases.
fn package_of(name: &str, version: &str, resolved: Option<&str>) -> Package {
    let (name, version) = match version
        .strip_prefix("npm:")
        .and_then(|aliased| aliased.rsplit_once('@'))
    {
        Some((real_name, real_version)) if !real_name.is_empty() => (real_name, real_version),
        _ => (name, version),
    };
    Package {
        ecosystem: Ecosystem::Npm,
        name: name.to_owned(),
        version: version.to_owned(),
        source: source_of(version, resolved),
    }
}

/// Version 1: `dependencies: {name: {version, resolved, dependencies: {...}}}`, recursively.
fn walk_dependencies(
    file: &str,
    parent: &Map<String, Value>,
    path: &str,
    packages: &mut Vec<Package>,
) -> Result<(), LockfileError> {
    let Some(dependencies) = parent.get("dependencies") else {
        return Ok(());
    };
    // Iterative over an explicit stack, so that deep nesting cannot exhaust the call stack.
    let mut pending = vec![(object(file, dependencies, path)?, path.to_owned())];
    while let Some((dependencies, path)) = pending.pop() {
        for (name, entry) in dependencies {
            let entry_path = format!("{path}.{name}");
            let entry = object(file, entry, &entry_path)?;
            let version = string_field(file, entry, "version", &entry_path)?.ok_or_else(|| {
                LockfileError::new(file, format!("field {entry_path}.version"), "is missing")
            })?;
            let resolved = string_field(file, entry, "resolved", &entry_path)?;
            packages.push(package_of(name, version, resolved));
            if let Some(nested) = entry.get("dependencies") {
                let nested_path = format!("{entry_path}.dependencies");
                pending.push((object(file, nested, &nested_path)?, nested_path));
            }
        }
    }
    Ok(())
}

/// Versions 2 and 3: `packages: {"node_modules/a": {version, resolved, link, name}}`.
fn read_packages(
    file: &str,
    entries: &Value,
    packages: &mut Vec<Package>,
) -> Result<(), LockfileError> {
    for (key, entry) in object(file, entries, "packages")? {
        let path = format!("packages.{key}");
        let entry = object(file, entry, &path)?;
        let Some((_, name_from_path)) = key.rsplit_once("node_modules/") else {
            // The root ("") and workspace folders: the project's own code.
            continue;
        };
        match entry.get("link") {
            None | Some(Value::Null | Value::Bool(false)) => {}
            Some(Value::Bool(true)) => continue,
            Some(other) => {
                return Err(LockfileError::new(
                    file,
                    format!("field {path}.link"),
                    format!("expected a boolean, found {other}"),
                ));
            }
        }
        let Some(version) = string_field(file, entry, "version", &path)? else {
            continue;
        };
        let name = string_field(file, entry, "name", &path)?.unwrap_or(name_from_path);
        if name.is_empty() {
            return Err(LockfileError::new(
                file,
                format!("field {path}"),
                "the package name is empty",
            ));
        }
        let resolved = string_field(file, entry, "resolved", &path)?;
        packages.push(package_of(name, version, resolved));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::LockfileFormat;
    use crate::package::PackageSource;

    fn check(text: &str, expected: &[(&str, &str, PackageSource)]) {
        super::super::check::packages(
            LockfileFormat::NpmPackageLock,
            "package-lock.json",
            text,
            expected,
        );
    }

    fn check_error(text: &str, location: &str, message: &str) {
        super::super::check::error(
            LockfileFormat::NpmPackageLock,
            "web/package-lock.json",
            text,
            location,
            message,
        );
    }

    #[test]
    fn version_one_nests_dependencies() {
        let text = r#"{
          "name": "app", "version": "1.0.0", "lockfileVersion": 1,
          "dependencies": {
            "lodash": {"version": "4.17.20", "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.20.tgz"},
            "express": {"version": "4.17.1",
              "dependencies": {"qs": {"version": "6.7.0"}}},
            "my-lib": {"version": "file:../my-lib"},
            "forked": {"version": "github:me/forked#abc"},
            "old-name": {"version": "npm:@scope/new-name@2.0.0"},
            "private": {"version": "1.0.0", "resolved": "https://npm.corp.example/private-1.0.0.tgz"}
          }
        }"#;
        check(
            text,
            &[
                ("@scope/new-name", "2.0.0", PackageSource::Registry),
                ("express", "4.17.1", PackageSource::Registry),
                (
                    "forked",
                    "github:me/forked#abc",
                    PackageSource::Git {
                        url: "github:me/forked#abc".into(),
                    },
                ),
                ("lodash", "4.17.20", PackageSource::Registry),
                ("my-lib", "file:../my-lib", PackageSource::Local),
                (
                    "private",
                    "1.0.0",
                    PackageSource::OtherRegistry {
                        url: "https://npm.corp.example/private-1.0.0.tgz".into(),
                    },
                ),
                ("qs", "6.7.0", PackageSource::Registry),
            ],
        );
    }

    #[test]
    fn versions_two_and_three_list_packages() {
        let text = r#"{
          "name": "app", "lockfileVersion": 3,
          "packages": {
            "": {"name": "app", "version": "1.0.0"},
            "packages/ui": {"name": "ui", "version": "0.1.0"},
            "node_modules/ui": {"resolved": "packages/ui", "link": true},
            "node_modules/@babel/core": {"version": "7.1.0", "resolved": "https://registry.npmjs.org/@babel/core/-/core-7.1.0.tgz"},
            "node_modules/a/node_modules/@babel/core": {"version": "7.0.0"},
            "node_modules/alias": {"name": "real", "version": "1.2.3"},
            "node_modules/g": {"version": "1.0.0", "resolved": "git+ssh://git@github.com/me/g.git#abc"}
          },
          "dependencies": {"ignored": {"version": "9.9.9"}}
        }"#;
        check(
            text,
            &[
                ("@babel/core", "7.0.0", PackageSource::Registry),
                ("@babel/core", "7.1.0", PackageSource::Registry),
                (
                    "g",
                    "1.0.0",
                    PackageSource::Git {
                        url: "git+ssh://git@github.com/me/g.git#abc".into(),
                    },
                ),
                ("real", "1.2.3", PackageSource::Registry),
            ],
        );
        // Version 2 without `packages` falls back to `dependencies`.
        check(
            r#"{"lockfileVersion": 2, "dependencies": {"a": {"version": "1.0.0"}}}"#,
            &[("a", "1.0.0", PackageSource::Registry)],
        );
    }

    #[test]
    fn malformed_lockfiles_name_the_line_or_field() {
        check_error("{\n\"lockfileVersion\": 1,\n", "line 3", "EOF");
        check_error("[]", "document", "expected a JSON object");
        check_error("{}", "field lockfileVersion", "is missing");
        check_error(
            r#"{"lockfileVersion": 7}"#,
            "field lockfileVersion",
            "expected 1, 2 or 3, found 7",
        );
        check_error(
            r#"{"lockfileVersion": "1"}"#,
            "field lockfileVersion",
            "found \"1\"",
        );
        check_error(
            r#"{"lockfileVersion": 1, "dependencies": {"a": {"version": "1", "dependencies": {"b": {}}}}}"#,
            "field dependencies.a.dependencies.b.version",
            "is missing",
        );
        check_error(
            r#"{"lockfileVersion": 3, "packages": {"node_modules/a": {"version": 1}}}"#,
            "field packages.node_modules/a.version",
            "expected a string",
        );
        check_error(
            r#"{"lockfileVersion": 3, "packages": {"node_modules/a": {"version": "1", "link": "yes"}}}"#,
            "field packages.node_modules/a.link",
            "expected a boolean",
        );
        check_error(
            r#"{"lockfileVersion": 3, "packages": []}"#,
            "field packages",
            "expected an object",
        );
        check_error(
            r#"{"lockfileVersion": 3, "packages": {"node_modules/": {"version": "1"}}}"#,
            "field packages.node_modules/",
            "name is empty",
        );
    }
}
