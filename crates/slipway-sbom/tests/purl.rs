#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors
//! Package URL parsing (percent-decoding, qualifiers, subpaths, per-type rules) and the
//! ecosystem coordinates other crates consume.

use slipway_sbom::Purl;

/// (purl, type, namespace, name, version, qualifiers, subpath, ecosystem, ecosystem name)
type Expected<'a> = (
    &'a str,
    &'a str,
    Option<&'a str>,
    &'a str,
    Option<&'a str>,
    &'a [(&'a str, &'a str)],
    Option<&'a str>,
    Option<&'a str>,
    &'a str,
);

fn check(expected: &Expected<'_>) {
    let (text, ty, namespace, name, version, qualifiers, subpath, ecosystem, ecosystem_name) =
        *expected;
    let purl = Purl::parse(text).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(purl.ty, ty, "{text}");
    assert_eq!(purl.namespace.as_deref(), namespace, "{text}");
    assert_eq!(purl.name, name, "{text}");
    assert_eq!(purl.version.as_deref(), version, "{text}");
    let actual: Vec<(&str, &str)> = purl
        .qualifiers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(actual, qualifiers, "{text}");
    assert_eq!(purl.subpath.as_deref(), subpath, "{text}");
    assert_eq!(purl.ecosystem(), ecosystem, "{text}");
    assert_eq!(purl.ecosystem_name(), ecosystem_name, "{text}");
}

#[test]
fn purls_parse_into_their_parts() {
    for expected in [
        (
            "pkg:cargo/serde@1.0.200",
            "cargo",
            None,
            "serde",
            Some("1.0.200"),
            &[][..],
            None,
            Some("crates.io"),
            "serde",
        ),
        (
            "pkg:npm/%40babel/helper-string-parser@7.19.4#packages/babel-helper-string-parser",
            "npm",
            Some("@babel"),
            "helper-string-parser",
            Some("7.19.4"),
            &[][..],
            Some("packages/babel-helper-string-parser"),
            Some("npm"),
            "@babel/helper-string-parser",
        ),
        (
            "pkg:maven/org.bouncycastle/bcprov-jdk15on@1.62?type=jar",
            "maven",
            Some("org.bouncycastle"),
            "bcprov-jdk15on",
            Some("1.62"),
            &[("type", "jar")][..],
            None,
            Some("Maven"),
            "org.bouncycastle:bcprov-jdk15on",
        ),
        (
            "pkg:golang/github.com/gorilla/mux@v1.8.0",
            "golang",
            Some("github.com/gorilla"),
            "mux",
            Some("v1.8.0"),
            &[][..],
            None,
            Some("Go"),
            "github.com/gorilla/mux",
        ),
        // type and pypi names are case-insensitive: both lower-cased
        (
            "pkg:PyPI/Django@4.2.1",
            "pypi",
            None,
            "django",
            Some("4.2.1"),
            &[][..],
            None,
            Some("PyPI"),
            "django",
        ),
        (
            "pkg:deb/debian/libselinux1-dev@3.1-3?arch=s390x&distro=bullseye",
            "deb",
            Some("debian"),
            "libselinux1-dev",
            Some("3.1-3"),
            &[("arch", "s390x"), ("distro", "bullseye")][..],
            None,
            None,
            "debian/libselinux1-dev",
        ),
        // percent-encoded version and qualifier value
        (
            "pkg:generic/openssl@1.1.1%2Bdeb?download_url=https%3A%2F%2Fexample.com%2Fa.tgz",
            "generic",
            None,
            "openssl",
            Some("1.1.1+deb"),
            &[("download_url", "https://example.com/a.tgz")][..],
            None,
            None,
            "openssl",
        ),
        (
            "pkg:composer/laravel/framework@v7.30.6",
            "composer",
            Some("laravel"),
            "framework",
            Some("v7.30.6"),
            &[][..],
            None,
            Some("Packagist"),
            "laravel/framework",
        ),
        (
            "pkg:gem/rails",
            "gem",
            None,
            "rails",
            None,
            &[][..],
            None,
            Some("RubyGems"),
            "rails",
        ),
    ] {
        check(&expected);
    }
}

#[test]
fn malformed_purls_are_refused_with_the_text() {
    for (text, reason) in [
        ("npm/left-pad@1.0.0", "scheme"),
        ("pkg:/left-pad", "type"),
        ("pkg:npm/", "name"),
        ("pkg:cargo/ns/serde@1", "namespace"),
        ("pkg:composer/framework@1.0", "namespace"),
        ("pkg:npm/%ff%fe@1", "utf-8"),
    ] {
        let error = Purl::parse(text).unwrap_err();
        assert_eq!(error.purl, text);
        let message = error.to_string();
        assert!(message.contains(reason), "{text}: {message} lacks {reason}");
        assert!(
            message.starts_with(&format!("invalid package URL {text:?}")),
            "{message}"
        );
    }
}
