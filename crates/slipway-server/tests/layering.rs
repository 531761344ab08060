//! The layers, checked from the crates' manifests: what each crate may depend on is what
//! ARCHITECTURE.md says it may know. The composition root holds this test because it is the
//! one crate that knows every layer.
#![allow(clippy::unwrap_used)] // in tests a panic is a failing test, which is the point

use std::path::Path;

/// Crates that bring I/O, a runtime, HTTP, a database or a terminal.
const IO: &[&str] = &[
    "tokio",
    "tokio-util",
    "sqlx",
    "rusqlite",
    "reqwest",
    "axum",
    "hyper",
    "hyper-util",
    "http",
    "tower",
    "tower-http",
    "clap",
    "comfy-table",
    "indicatif",
];

/// Crates that serve or shape HTTP.
const HTTP_SERVER: &[&str] = &["axum", "hyper", "hyper-util", "http", "tower", "tower-http"];

/// Crates that know terminals.
const TERMINAL: &[&str] = &["clap", "clap_complete", "comfy-table", "indicatif"];

/// (crate, what its `[dependencies]` must not hold, why).
const FORBIDDEN: &[(&str, &[&str], &str)] = &[
    (
        "slipway-domain",
        IO,
        "the domain is pure: values in, values out",
    ),
    ("slipway-spec", IO, "the spec vocabulary is pure"),
    ("slipway-change", IO, "change control is pure"),
    ("slipway-judge", IO, "the judge is pure"),
    ("slipway-sbom", IO, "SBOM handling is pure"),
    (
        "slipway-signing",
        IO,
        "signing takes documents and keys as values",
    ),
    (
        "slipway-yaml",
        IO,
        "strict YAML reading takes text, returns values",
    ),
    (
        "slipway-apidiff",
        IO,
        "the contract diff takes documents and a clock as values",
    ),
    (
        "slipway-servicegraph",
        IO,
        "the service graph takes spans as values",
    ),
    (
        "slipway-catalog",
        IO,
        "the catalog import plan and impact analysis are pure",
    ),
    (
        "slipway-deps",
        IO,
        "version matrices and support checks are pure",
    ),
    ("slipway-store", HTTP_SERVER, "the store knows no HTTP"),
    ("slipway-store", TERMINAL, "the store knows no terminals"),
    (
        "slipway-resources",
        HTTP_SERVER,
        "resource writes know no HTTP",
    ),
    (
        "slipway-resources",
        TERMINAL,
        "resource writes know no terminals",
    ),
    (
        "slipway-supply-chain",
        HTTP_SERVER,
        "the supply-chain service knows no HTTP",
    ),
    (
        "slipway-supply-chain",
        TERMINAL,
        "the supply-chain service knows no terminals",
    ),
    (
        "slipway-supply-chain",
        &[
            "slipway-api",
            "slipway-governance",
            "slipway-engine",
            "slipway-server",
        ],
        "the supply-chain service sits below the API and beside the gate: the gate reaches it \
         through the composition root",
    ),
    (
        "slipway-governance",
        HTTP_SERVER,
        "governance knows no HTTP",
    ),
    (
        "slipway-governance",
        &["slipway-api", "slipway-supply-chain", "slipway-server"],
        "a gate decision never calls up into the API",
    ),
    (
        "slipway-governance",
        &["slipway-engine"],
        "governance answers the gate through slipway-gate; it knows no engine",
    ),
    ("slipway-gate", IO, "the gate contract is data and a trait"),
    (
        "slipway-gate",
        &["slipway-engine", "slipway-governance", "slipway-store"],
        "the gate contract sits below both the engine and governance",
    ),
    (
        "slipway-engine",
        HTTP_SERVER,
        "the engine knows no HTTP request/response shapes",
    ),
    ("slipway-engine", TERMINAL, "the engine knows no terminals"),
    (
        "slipway-engine",
        &[
            "slipway-api",
            "slipway-governance",
            "slipway-supply-chain",
            "slipway-server",
        ],
        "the engine asks a Gatekeeper; it knows no change control",
    ),
    ("slipway-api", TERMINAL, "the API knows no terminals"),
    (
        "slipway-api",
        &["slipway-engine", "slipway-router", "slipway-server", "sqlx"],
        "the API is handed its parts; wiring them is the composition root's",
    ),
    (
        "slipway-server",
        TERMINAL,
        "the composition root knows no terminals",
    ),
];

#[test]
fn every_crate_depends_only_on_what_its_layer_may_know() {
    let mut broken = Vec::new();
    for (krate, forbidden, why) in FORBIDDEN {
        let dependencies = dependencies_of(krate);
        assert!(!dependencies.is_empty(), "{krate} lists no dependencies");
        for name in dependencies
            .iter()
            .filter(|d| forbidden.contains(&d.as_str()))
        {
            broken.push(format!("{krate} depends on {name}: {why}"));
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn only_the_cli_and_the_scan_table_know_terminals() {
    let crates = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("..")).unwrap();
    let mut knowing = Vec::new();
    for entry in crates {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        if !Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(&name)
            .join("Cargo.toml")
            .is_file()
        {
            continue;
        }
        if dependencies_of(&name)
            .iter()
            .any(|d| TERMINAL.contains(&d.as_str()))
        {
            knowing.push(name);
        }
    }
    knowing.sort();
    // slipway-vuln renders its findings as a text table (a String) that `slipway scan` prints.
    assert_eq!(knowing, ["slipway-cli", "slipway-vuln"]);
}

/// The names in a crate's `[dependencies]` (not its dev-dependencies).
fn dependencies_of(krate: &str) -> Vec<String> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(krate)
        .join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .unwrap_or_else(|e| panic!("{}: {e}", manifest.display()));
    let mut section = "";
    let mut names = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name;
        } else if section == "dependencies"
            && let Some((name, _)) = line.split_once('=')
            && !line.starts_with('#')
        {
            names.push(name.trim().to_string());
        }
    }
    names
}
