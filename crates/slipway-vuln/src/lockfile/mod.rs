//! Lockfile parsers: Cargo.lock (v1–v4), npm package-lock.json / npm-shrinkwrap.json (v1–v3),
//! poetry.lock, go.mod and go.sum, each turning file text into the resolved [`Package`]s.
//! Formats are detected from the file name, then the content.
//!
//! Pure: takes the file's name (for detection and errors) and its text.

mod cargo;
mod golang;
mod npm;
mod poetry;

use std::fmt;

use crate::package::Package;

/// A lockfile format this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockfileFormat {
    CargoLock,
    NpmPackageLock,
    PoetryLock,
    GoMod,
    GoSum,
}

impl fmt::Display for LockfileFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LockfileFormat::CargoLock => "Cargo.lock",
            LockfileFormat::NpmPackageLock => "package-lock.json",
            LockfileFormat::PoetryLock => "poetry.lock",
            LockfileFormat::GoMod => "go.mod",
            LockfileFormat::GoSum => "go.sum",
        })
    }
}

/// A lockfile that could not be read; names the file and the line or field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("lockfile {file}: {location}: {message}")]
pub struct LockfileError {
    pub file: String,
    /// `line N`, `field a.b.c`, or `format` when the kind of file is the problem.
    pub location: String,
    pub message: String,
}

impl LockfileError {
    pub(crate) fn new(file: &str, location: impl Into<String>, message: impl Into<String>) -> Self {
        LockfileError {
            file: file.to_owned(),
            location: location.into(),
            message: message.into(),
        }
    }

    /// An error at a byte offset of the text, located by its line.
    pub(crate) fn at_offset(
        file: &str,
        text: &str,
        offset: usize,
        message: impl Into<String>,
    ) -> Self {
        let before = text
            .as_bytes()
            .get(..offset.min(text.len()))
            .unwrap_or_default();
        let line = before.iter().filter(|byte| **byte == b'\n').count() + 1;
        Self::new(file, format!("line {line}"), message)
    }

    pub(crate) fn from_toml(file: &str, text: &str, error: &toml::de::Error) -> Self {
        match error.span() {
            Some(span) => Self::at_offset(file, text, span.start, error.message()),
            None => Self::new(file, "document", error.message()),
        }
    }
}

/// The last component of a path, `/` or `\` separated.
fn base_name(file_name: &str) -> &str {
    file_name.rsplit(['/', '\\']).next().unwrap_or(file_name)
}

/// The format of a lockfile: by its name (`Cargo.lock` and `*.Cargo.lock`, `package-lock.json`,
/// `npm-shrinkwrap.json`, `poetry.lock`, `go.mod`, `go.sum`), else by its content.
pub fn detect_format(file_name: &str, content: &str) -> Option<LockfileFormat> {
    let name = base_name(file_name);
    let by_name = if name.ends_with("Cargo.lock") {
        Some(LockfileFormat::CargoLock)
    } else if name.ends_with("package-lock.json") || name.ends_with("npm-shrinkwrap.json") {
        Some(LockfileFormat::NpmPackageLock)
    } else if name.ends_with("poetry.lock") {
        Some(LockfileFormat::PoetryLock)
    } else if name.ends_with("go.mod") {
        Some(LockfileFormat::GoMod)
    } else if name.ends_with("go.sum") {
        Some(LockfileFormat::GoSum)
    } else {
        None
    };
    by_name.or_else(|| detect_by_content(content))
}

fn detect_by_content(content: &str) -> Option<LockfileFormat> {
    let trimmed = content.trim_start();
    if trimmed.starts_with('{') && content.contains("\"lockfileVersion\"") {
        return Some(LockfileFormat::NpmPackageLock);
    }
    if content.contains("[[package]]") {
        return if content.contains("python-versions") || content.contains("content-hash") {
            Some(LockfileFormat::PoetryLock)
        } else {
            Some(LockfileFormat::CargoLock)
        };
    }
    let first_line = content
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with("//"))?;
    if first_line.starts_with("module ") || first_line.starts_with("module\t") {
        return Some(LockfileFormat::GoMod);
    }
    let fields: Vec<&str> = first_line.split_whitespace().collect();
    if fields.len() == 3 && fields.get(2).is_some_and(|hash| hash.starts_with("h1:")) {
        return Some(LockfileFormat::GoSum);
    }
    None
}

/// Parses a lockfile of a known format. Packages come back sorted, each once.
pub fn parse_as(
    format: LockfileFormat,
    file_name: &str,
    content: &str,
) -> Result<Vec<Package>, LockfileError> {
    let mut packages = match format {
        LockfileFormat::CargoLock => cargo::parse(file_name, content)?,
        LockfileFormat::NpmPackageLock => npm::parse(file_name, content)?,
        LockfileFormat::PoetryLock => poetry::parse(file_name, content)?,
        LockfileFormat::GoMod => golang::parse_go_mod(file_name, content)?,
        LockfileFormat::GoSum => golang::parse_go_sum(file_name, content)?,
    };
    packages.sort();
    packages.dedup();
    Ok(packages)
}

/// Detects the format (see [`detect_format`]) and parses the lockfile.
pub fn parse_lockfile(file_name: &str, content: &str) -> Result<Vec<Package>, LockfileError> {
    let format = detect_format(file_name, content).ok_or_else(|| {
        LockfileError::new(
            file_name,
            "format",
            "not a recognised lockfile (Cargo.lock, package-lock.json, npm-shrinkwrap.json, poetry.lock, go.mod, go.sum)",
        )
    })?;
    parse_as(format, file_name, content)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_name_then_content() {
        for (name, content, expected) in [
            ("x/Cargo.lock", "", Some(LockfileFormat::CargoLock)),
            ("a_b@123.Cargo.lock", "", Some(LockfileFormat::CargoLock)),
            (
                "C:\\p\\package-lock.json",
                "",
                Some(LockfileFormat::NpmPackageLock),
            ),
            (
                "npm-shrinkwrap.json",
                "",
                Some(LockfileFormat::NpmPackageLock),
            ),
            ("poetry.lock", "", Some(LockfileFormat::PoetryLock)),
            ("go.mod", "", Some(LockfileFormat::GoMod)),
            ("go.sum", "", Some(LockfileFormat::GoSum)),
            (
                "lock",
                "{\n \"lockfileVersion\": 3}",
                Some(LockfileFormat::NpmPackageLock),
            ),
            (
                "lock",
                "[[package]]\nname = \"a\"\n[metadata]\npython-versions = \"*\"",
                Some(LockfileFormat::PoetryLock),
            ),
            (
                "lock",
                "version = 3\n[[package]]\nname = \"a\"",
                Some(LockfileFormat::CargoLock),
            ),
            (
                "lock",
                "// comment\nmodule example.com/m\n",
                Some(LockfileFormat::GoMod),
            ),
            (
                "lock",
                "golang.org/x/text v0.3.0 h1:abc=\n",
                Some(LockfileFormat::GoSum),
            ),
            ("lock", "hello", None),
            ("lock", "", None),
        ] {
            assert_eq!(
                detect_format(name, content),
                expected,
                "{name}: {content:?}"
            );
        }
    }

    #[test]
    fn unknown_format_is_an_error() {
        let error = parse_lockfile("notes.txt", "hello").unwrap_err();
        assert_eq!(error.location, "format");
        assert!(
            error
                .to_string()
                .starts_with("lockfile notes.txt: format: not a recognised lockfile")
        );
    }
}

/// The one `check` boundary of every lockfile parser's tests: what a text parses into, and
/// where and why a bad one is refused.
#[cfg(test)]
pub(crate) mod check {
    use super::{LockfileFormat, parse_as};
    use crate::package::PackageSource;

    /// Asserts that `text`, as `file` in `format`, parses into these (name, version, source).
    pub(crate) fn packages(
        format: LockfileFormat,
        file: &str,
        text: &str,
        expected: &[(&str, &str, PackageSource)],
    ) {
        let packages = parse_as(format, file, text).unwrap_or_else(|e| panic!("{e}"));
        let got: Vec<(&str, &str, PackageSource)> = packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.source.clone()))
            .collect();
        assert_eq!(got, expected);
    }

    /// Asserts that `text` is refused naming `file`, `location` and a message with `message`.
    pub(crate) fn error(
        format: LockfileFormat,
        file: &str,
        text: &str,
        location: &str,
        message: &str,
    ) {
        let error = match parse_as(format, file, text) {
            Ok(p) => panic!("{file} parsed into {p:?}"),
            Err(e) => e,
        };
        assert_eq!(
            (error.file.as_str(), error.location.as_str()),
            (file, location),
            "{error}"
        );
        assert!(error.message.contains(message), "{error}");
    }
}
