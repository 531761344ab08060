//! PEP 440 version parsing and ordering, for PyPI packages.
//!
//! Covers the forms PEP 440 normalises: an optional `v`, an epoch (`1!`), release segments of any
//! length (trailing zeros do not matter: `1.0 == 1.0.0`), pre-releases (`a`/`alpha`, `b`/`beta`,
//! `rc`/`c`/`pre`/`preview`, with optional separators and an implicit 0), post-releases
//! (`.post1`, `-1`, `rev`/`r`), dev releases (`.dev2`) and local versions (`+ubuntu.1`).
//! Limits: numbers must fit in 64 bits; "legacy" versions that are not PEP 440 (e.g. `2004d`,
//! `1.0-beta-xyz`) are rejected, so a range cannot match them (an explicit version list still
//! can, by string).

use std::cmp::Ordering;
use std::fmt;

/// The kind of a pre-release, in ascending order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PreRelease {
    Alpha,
    Beta,
    ReleaseCandidate,
}

/// One dot-separated part of a local version label: numbers sort after strings.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum LocalPart {
    Text(String),
    Number(u64),
}

/// A parsed PEP 440 version.
#[derive(Debug, Clone)]
pub struct Pep440Version {
    pub epoch: u64,
    pub release: Vec<u64>,
    pub pre: Option<(PreRelease, u64)>,
    pub post: Option<u64>,
    pub dev: Option<u64>,
    pub local: Vec<LocalPart>,
}

/// Why a string is not a PEP 440 version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{version:?} is not a PEP 440 version: {reason}")]
pub struct Pep440Error {
    pub version: String,
    pub reason: &'static str,
}

/// A cursor over the lower-cased version text.
struct Cursor<'a> {
    text: &'a str,
    position: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        self.text.get(self.position..).unwrap_or("")
    }

    fn eat(&mut self, prefix: &str) -> bool {
        if self.rest().starts_with(prefix) {
            self.position += prefix.len();
            true
        } else {
            false
        }
    }

    fn eat_separator(&mut self) -> bool {
        self.eat(".") || self.eat("-") || self.eat("_")
    }

    /// Digits at the cursor, if any; `Err` when they overflow 64 bits.
    fn number(&mut self) -> Result<Option<u64>, &'static str> {
        let digits = self
            .rest()
            .bytes()
            .take_while(|byte| byte.is_ascii_digit())
            .count();
        if digits == 0 {
            return Ok(None);
        }
        let text = self.rest().get(..digits).unwrap_or("");
        self.position += digits;
        text.parse::<u64>()
            .map(Some)
            .map_err(|_| "a number does not fit in 64 bits")
    }

    /// Tries each spelling in turn (longest first in the lists below).
    fn eat_any(&mut self, spellings: &[&str]) -> bool {
        spellings.iter().any(|spelling| self.eat(spelling))
    }
}

impl Pep440Version {
    /// Parses a version, accepting PEP 440's alternative spellings.
    pub fn parse(version: &str) -> Result<Pep440Version, Pep440Error> {
        let lowered = version.trim().to_ascii_lowercase();
        Self::parse_lowered(&lowered).map_err(|reason| Pep440Error {
            version: version.to_owned(),
            reason,
        })
    }

    fn parse_lowered(text: &str) -> Result<Pep440Version, &'static str> {
        let mut cursor = Cursor { text, position: 0 };
        cursor.eat("v");
        let first = cursor.number()?.ok_or("it does not start with a number")?;
        let (epoch, first_release) = if cursor.eat("!") {
            (
                first,
                cursor
                    .number()?
                    .ok_or("the epoch is not followed by a release")?,
            )
        } else {
            (0, first)
        };
        let mut release = vec![first_release];
        loop {
            let saved = cursor.position;
            if cursor.eat(".") {
                if let Some(segment) = cursor.number()? {
                    release.push(segment);
                    continue;
                }
                cursor.position = saved;
            }
            break;
        }

        let mut pre = None;
        let saved = cursor.position;
        cursor.eat_separator();
        let pre_kind = if cursor.eat_any(&["alpha", "a"]) {
            Some(PreRelease::Alpha)
        } else if cursor.eat_any(&["beta", "b"]) {
            Some(PreRelease::Beta)
        } else if cursor.eat_any(&["preview", "pre", "rc", "c"]) {
            Some(PreRelease::ReleaseCandidate)
        } else {
            None
        };
        match pre_kind {
            Some(kind) => {
                cursor.eat_separator();
                pre = Some((kind, cursor.number()?.unwrap_or(0)));
            }
            None => cursor.position = saved,
        }

        let mut post = None;
        let saved = cursor.position;
        if cursor.eat("-")
            && let Some(number) = cursor.number()?
        {
            post = Some(number);
        } else {
            cursor.position = saved;
            cursor.eat_separator();
            if cursor.eat_any(&["post", "rev", "r"]) {
                cursor.eat_separator();
                post = Some(cursor.number()?.unwrap_or(0));
            } else {
                cursor.position = saved;
            }
        }

        let mut dev = None;
        let saved = cursor.position;
        cursor.eat_separator();
        if cursor.eat("dev") {
            dev = Some(cursor.number()?.unwrap_or(0));
        } else {
            cursor.position = saved;
        }

        let mut local = Vec::new();
        if cursor.eat("+") {
            let label = cursor.rest();
            for part in label.split(['.', '-', '_']) {
                if part.is_empty() || !part.bytes().all(|byte| byte.is_ascii_alphanumeric()) {
                    return Err("the local version label is malformed");
                }
                local.push(match part.parse::<u64>() {
                    Ok(number) => LocalPart::Number(number),
                    Err(_) if part.bytes().all(|byte| byte.is_ascii_digit()) => {
                        return Err("a number does not fit in 64 bits");
                    }
                    Err(_) => LocalPart::Text(part.to_owned()),
                });
            }
            cursor.position = text.len();
        }
        if !cursor.rest().is_empty() {
            return Err("it has trailing text");
        }
        Ok(Pep440Version {
            epoch,
            release,
            pre,
            post,
            dev,
            local,
        })
    }

    fn release_without_trailing_zeros(&self) -> &[u64] {
        let length = self
            .release
            .iter()
            .rposition(|segment| *segment != 0)
            .map_or(0, |index| index + 1);
        self.release.get(..length).unwrap_or(&[])
    }
}

/// A sort key where `Low` < any value < `High`.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Bound<T> {
    Low,
    Value(T),
    High,
}

/// The PEP 440 sort key: epoch, release without trailing zeros, pre, post, dev, local.
type SortKey<'a> = (
    u64,
    &'a [u64],
    Bound<(PreRelease, u64)>,
    Bound<u64>,
    Bound<u64>,
    Bound<&'a [LocalPart]>,
);

fn key(version: &Pep440Version) -> SortKey<'_> {
    // A dev release of a final version sorts before its pre-releases: 1.0.dev0 < 1.0a0.
    let pre = match (version.pre, version.post, version.dev) {
        (None, None, Some(_)) => Bound::Low,
        (None, _, _) => Bound::High,
        (Some(pre), _, _) => Bound::Value(pre),
    };
    let post = version.post.map_or(Bound::Low, Bound::Value);
    let dev = version.dev.map_or(Bound::High, Bound::Value);
    let local = if version.local.is_empty() {
        Bound::Low
    } else {
        Bound::Value(version.local.as_slice())
    };
    (
        version.epoch,
        version.release_without_trailing_zeros(),
        pre,
        post,
        dev,
        local,
    )
}

impl Ord for Pep440Version {
    fn cmp(&self, other: &Self) -> Ordering {
        key(self).cmp(&key(other))
    }
}

impl PartialOrd for Pep440Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Pep440Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Pep440Version {}

impl fmt::Display for Pep440Version {
    /// The normalised form, e.g. `1!2.0rc1.post3.dev4+local.7`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.epoch != 0 {
            write!(f, "{}!", self.epoch)?;
        }
        let release: Vec<String> = self.release.iter().map(u64::to_string).collect();
        f.write_str(&release.join("."))?;
        if let Some((kind, number)) = self.pre {
            let tag = match kind {
                PreRelease::Alpha => "a",
                PreRelease::Beta => "b",
                PreRelease::ReleaseCandidate => "rc",
            };
            write!(f, "{tag}{number}")?;
        }
        if let Some(post) = self.post {
            write!(f, ".post{post}")?;
        }
        if let Some(dev) = self.dev {
            write!(f, ".dev{dev}")?;
        }
        if !self.local.is_empty() {
            let parts: Vec<String> = self
                .local
                .iter()
                .map(|part| match part {
                    LocalPart::Text(text) => text.clone(),
                    LocalPart::Number(number) => number.to_string(),
                })
                .collect();
            write!(f, "+{}", parts.join("."))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Pep440Version {
        Pep440Version::parse(text).unwrap()
    }

    #[test]
    fn spellings_normalise() {
        for (input, normalised) in [
            ("1.0", "1.0"),
            ("v1.0", "1.0"),
            ("1!2.3.4", "1!2.3.4"),
            ("1.0a1", "1.0a1"),
            ("1.0-alpha.1", "1.0a1"),
            ("1.0.b2", "1.0b2"),
            ("1.0c3", "1.0rc3"),
            ("1.0-preview_4", "1.0rc4"),
            ("1.0rc", "1.0rc0"),
            ("1.0.post1", "1.0.post1"),
            ("1.0-1", "1.0.post1"),
            ("1.0rev2", "1.0.post2"),
            ("1.0-r", "1.0.post0"),
            ("1.0.dev3", "1.0.dev3"),
            ("1.0dev", "1.0.dev0"),
            ("1.0a1.post2.dev3", "1.0a1.post2.dev3"),
            ("1.0+Ubuntu-1", "1.0+ubuntu.1"),
            ("  2.0.0  ", "2.0.0"),
        ] {
            assert_eq!(parse(input).to_string(), normalised, "{input}");
        }
    }

    #[test]
    fn ordering_follows_pep_440() {
        // Each version is strictly less than the next one.
        let ascending = [
            "1.0.dev0",
            "1.0a0.dev1",
            "1.0a0",
            "1.0a1",
            "1.0a2.post1",
            "1.0b1.dev1",
            "1.0b1",
            "1.0rc1",
            "1.0",
            "1.0+abc",
            "1.0+abc.5",
            "1.0+5",
            "1.0.post1.dev1",
            "1.0.post1",
            "1.0.1",
            "1.1.dev1",
            "1.10",
            "2",
            "1!0.1",
        ];
        for pair in ascending.windows(2) {
            assert!(parse(pair[0]) < parse(pair[1]), "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn trailing_zeros_do_not_matter() {
        assert_eq!(parse("1.0"), parse("1.0.0"));
        assert_eq!(parse("1"), parse("1.0.0.0"));
        assert_eq!(parse("0!1.0"), parse("1"));
        assert_ne!(parse("1.0"), parse("1.0.1"));
    }

    #[test]
    fn malformed_versions_are_errors() {
        for (input, reason) in [
            ("", "does not start with a number"),
            ("abc", "does not start with a number"),
            ("1.0-beta-xyz", "trailing text"),
            ("2004d", "trailing text"),
            ("1.0+", "local version label is malformed"),
            ("1.0+a..b", "local version label is malformed"),
            ("99999999999999999999", "64 bits"),
            ("1!", "epoch is not followed"),
        ] {
            let error = Pep440Version::parse(input).unwrap_err();
            assert!(error.to_string().contains(reason), "{input}: {error}");
        }
    }
}
