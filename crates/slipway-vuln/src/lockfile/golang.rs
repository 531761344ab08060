//! Go modules: go.mod (`require` directives, single or in blocks, with `replace` applied) and
//! go.sum (`module version h1:hash` lines). A go.sum line for `version/go.mod` only records the
//! module's go.mod, read while selecting versions, not code that is built, so such lines are
//! dropped; a built version also has its plain line. The Go toolchain (`go 1.x`) is not
//! reported as a package.

use super::LockfileError;
use crate::package::{Package, PackageSource};
use crate::version::Ecosystem;

/// A module path or version, without Go's optional quotes.
fn unquote(token: &str) -> &str {
    for quote in ['"', '`'] {
        if let Some(inner) = token
            .strip_prefix(quote)
            .and_then(|rest| rest.strip_suffix(quote))
        {
            return inner;
        }
    }
    token
}

fn tokens(text: &str) -> Vec<&str> {
    text.split_whitespace().map(unquote).collect()
}

struct Replacement {
    old_path: String,
    old_version: Option<String>,
    new_path: String,
    new_version: Option<String>,
}

struct Requirement {
    path: String,
    version: String,
}

fn check_version(file: &str, line: usize, version: &str) -> Result<(), LockfileError> {
    if version.starts_with('v') && version.len() > 1 {
        Ok(())
    } else {
        Err(LockfileError::new(
            file,
            format!("line {line}"),
            format!("version {version:?} does not start with v"),
        ))
    }
}

fn directive_entry(
    file: &str,
    line: usize,
    directive: &str,
    arguments: &str,
    requirements: &mut Vec<Requirement>,
    replacements: &mut Vec<Replacement>,
) -> Result<(), LockfileError> {
    let error = |message: String| LockfileError::new(file, format!("line {line}"), message);
    match directive {
        "require" => match tokens(arguments).as_slice() {
            [path, version] => {
                check_version(file, line, version)?;
                requirements.push(Requirement {
                    path: (*path).to_owned(),
                    version: (*version).to_owned(),
                });
                Ok(())
            }
            _ => Err(error(format!(
                "require expects a module path and a version, found {arguments:?}"
            ))),
        },
        "replace" => {
            let (old, new) = arguments
                .split_once("=>")
                .ok_or_else(|| error(format!("replace expects old => new, found {arguments:?}")))?;
            let (old_path, old_version) = match tokens(old).as_slice() {
                [path] => ((*path).to_owned(), None),
                [path, version] => ((*path).to_owned(), Some((*version).to_owned())),
                _ => return Err(error(format!("replace has a malformed left side {old:?}"))),
            };
            let (new_path, new_version) = match tokens(new).as_slice() {
                [path] => ((*path).to_owned(), None),
                [path, version] => {
                    check_version(file, line, version)?;
                    ((*path).to_owned(), Some((*version).to_owned()))
                }
                _ => return Err(error(format!("replace has a malformed right side {new:?}"))),
            };
            replacements.push(Replacement {
                old_path,
                old_version,
                new_path,
                new_version,
            });
            Ok(())
        }
        // module, go, toolchain, godebug, exclude, retract, tool, ignore, and later additions.
        _ => Ok(()),
    }
}

pub(super) fn parse_go_mod(file: &str, text: &str) -> Result<Vec<Package>, LockfileError> {
    let mut requirements = Vec::new();
    let mut replacements = Vec::new();
    let mut open_block: Option<(String, usize)> = None;
    for (index, raw_line) in text.lines().enumerate() {
        let line_number = index + 1;
        let line = raw_line
            .split_once("//")
            .map_or(raw_line, |(code, _)| code)
            .trim();
        if line.is_empty() {
            continue;
        }
        if let Some((directive, _)) = &open_block {
            if line == ")" {
                open_block = None;
            } else {
                directive_entry(
                    file,
                    line_number,
                    directive,
                    line,
                    &mut requirements,
                    &mut replacements,
                )?;
            }
            continue;
        }
        let (directive, arguments) = line
            .split_once(char::is_whitespace)
            .map_or((line, ""), |(directive, arguments)| {
                (directive, arguments.trim())
            });
        if let Some(directive) = directive.strip_suffix('(') {
            // `require(` without a space.
            open_block = Some((directive.to_owned(), line_number));
            continue;
        }
        if !directive.bytes().all(|byte| byte.is_ascii_lowercase()) {
            return Err(LockfileError::new(
                file,
                format!("line {line_number}"),
                format!("expected a directive, found {directive:?}"),
            ));
        }
        match arguments {
            "(" => open_block = Some((directive.to_owned(), line_number)),
            "()" => {}
            _ => directive_entry(
                file,
                line_number,
                directive,
                arguments,
                &mut requirements,
                &mut replacements,
            )?,
        }
    }
    if let Some((directive, line_number)) = open_block {
        return Err(LockfileError::new(
            file,
            format!("line {line_number}"),
            format!("the {directive} block opened here is not closed"),
        ));
    }
    Ok(requirements
        .into_iter()
        .map(|requirement| {
            let replacement = replacements
                .iter()
                .filter(|replacement| replacement.old_path == requirement.path)
                .find(|replacement| {
                    replacement
                        .old_version
                        .as_ref()
                        .is_none_or(|version| *version == requirement.version)
                });
            match replacement {
                None => Package {
                    ecosystem: Ecosystem::Go,
                    name: requirement.path,
                    version: requirement.version,
                    source: PackageSource::Registry,
                },
                Some(Replacement {
                    new_path,
                    new_version: Some(new_version),
                    ..
                }) => Package {
                    ecosystem: Ecosystem::Go,
                    name: new_path.clone(),
                    version: new_version.clone(),
                    source: PackageSource::Registry,
                },
                // Replaced by a directory.
                Some(Replacement {
                    new_version: None, ..
                }) => Package {
                    ecosystem: Ecosystem::Go,
                    name: requirement.path,
                    version: requirement.version,
                    source: PackageSource::Local,
                },
            }
        })
        .collect())
}

pub(super) fn parse_go_sum(file: &str, text: &str) -> Result<Vec<Package>, LockfileError> {
    let mut packages = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_number = index + 1;
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            [] => {}
            [module, version, hash] if hash.contains(':') => {
                check_version(file, line_number, version)?;
                if version.ends_with("/go.mod") {
                    continue;
                }
                packages.push(Package {
                    ecosystem: Ecosystem::Go,
                    name: (*module).to_owned(),
                    version: (*version).to_owned(),
                    source: PackageSource::Registry,
                });
            }
            _ => {
                return Err(LockfileError::new(
                    file,
                    format!("line {line_number}"),
                    "expected `module version hash` (hash as algorithm:value)",
                ));
            }
        }
    }
    Ok(packages)
}

#[cfg(test)]
mod tests {
    use super::super::LockfileFormat;
    use crate::package::PackageSource;

    fn check(format: LockfileFormat, text: &str, expected: &[(&str, &str, PackageSource)]) {
        super::super::check::packages(format, "go", text, expected);
    }

    fn check_error(format: LockfileFormat, text: &str, location: &str, message: &str) {
        super::super::check::error(format, "svc/go.x", text, location, message);
    }

    #[test]
    fn go_mod_requires_and_replaces() {
        let text = r#"// header comment
module example.com/app

go 1.21
toolchain go1.21.5

require github.com/gorilla/mux v1.8.0

require (
	golang.org/x/text v0.3.7 // indirect
	"github.com/quoted/mod" v2.0.0+incompatible
	github.com/local/dep v0.1.0
	github.com/old/name v1.0.0
	github.com/pinned/one v1.0.0
)

exclude github.com/bad/mod v0.0.1

replace github.com/local/dep => ../dep
replace (
	github.com/old/name => github.com/new/name v1.1.0
	github.com/pinned/one v0.9.0 => github.com/other/one v0.9.1
)
retract [v1.0.0, v1.0.1]
"#;
        check(
            super::super::LockfileFormat::GoMod,
            text,
            &[
                ("github.com/gorilla/mux", "v1.8.0", PackageSource::Registry),
                ("github.com/local/dep", "v0.1.0", PackageSource::Local),
                ("github.com/new/name", "v1.1.0", PackageSource::Registry),
                ("github.com/pinned/one", "v1.0.0", PackageSource::Registry),
                (
                    "github.com/quoted/mod",
                    "v2.0.0+incompatible",
                    PackageSource::Registry,
                ),
                ("golang.org/x/text", "v0.3.7", PackageSource::Registry),
            ],
        );
    }

    #[test]
    fn go_sum_drops_go_mod_only_lines() {
        let text = "github.com/a/b v1.0.0 h1:aaa=\n\
                    github.com/a/b v1.0.0/go.mod h1:bbb=\n\
                    github.com/a/b v0.9.0/go.mod h1:ccc=\n\
                    \n\
                    github.com/c/d v2.1.0+incompatible h1:ddd=\n";
        check(
            super::super::LockfileFormat::GoSum,
            text,
            &[
                ("github.com/a/b", "v1.0.0", PackageSource::Registry),
                (
                    "github.com/c/d",
                    "v2.1.0+incompatible",
                    PackageSource::Registry,
                ),
            ],
        );
    }

    #[test]
    fn malformed_go_files_name_the_line() {
        use super::super::LockfileFormat::{GoMod, GoSum};
        check_error(
            GoMod,
            "module m\n\nrequire github.com/a\n",
            "line 3",
            "module path and a version",
        );
        check_error(
            GoMod,
            "module m\nrequire (\n  github.com/a 1.0.0\n)\n",
            "line 3",
            "does not start with v",
        );
        check_error(
            GoMod,
            "module m\nrequire (\n  github.com/a v1.0.0\n",
            "line 2",
            "require block opened here is not closed",
        );
        check_error(GoMod, "module m\n)\n", "line 2", "expected a directive");
        check_error(
            GoMod,
            "replace a b\n",
            "line 1",
            "replace expects old => new",
        );
        check_error(
            GoMod,
            "replace a v1 v2 => b\n",
            "line 1",
            "malformed left side",
        );
        check_error(
            GoMod,
            "replace a => b c d\n",
            "line 1",
            "malformed right side",
        );
        check_error(
            GoSum,
            "github.com/a/b v1.0.0\n",
            "line 1",
            "expected `module version hash`",
        );
        check_error(
            GoSum,
            "x v1 h1:a\ngithub.com/a/b 1.0.0 h1:a\n",
            "line 2",
            "does not start with v",
        );
    }
}
