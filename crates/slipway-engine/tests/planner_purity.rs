//! The planners (`src/plan`) and the domain crate stay pure: no I/O, no clock, no async.
//! A planner may use only the domain, the gate contract's verdict, serde and plain `std`
//! data types; neither the domain crate nor the gate contract may depend (even indirectly,
//! as `Cargo.lock` records it) on a crate that does network I/O or runs a runtime. This is
//! the test that keeps ARCHITECTURE.md's "planners are pure" and "the domain knows no I/O".

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ENGINE: &str = env!("CARGO_MANIFEST_DIR");

/// Paths a planner may `use` (a path starting with one of these).
const PLANNER_IMPORTS: &[&str] = &[
    "super",
    "crate::plan",
    "slipway_domain::",
    "slipway_gate::GateVerdict",
    "serde::",
    "serde_json::",
    "std::collections",
    "std::time::Duration",
    "std::fmt",
    "proptest::",
];

/// What no pure code names: file, network, process, environment, thread and clock access,
/// and async runtimes.
const IO_AND_CLOCK: &[&str] = &[
    "std::fs",
    "std::process",
    "std::env",
    "std::thread",
    "std::io::stdin",
    "TcpStream",
    "TcpListener",
    "UdpSocket",
    "ToSocketAddrs",
    "SystemTime",
    "Instant",
    "tokio",
    "reqwest",
    "async ",
    ".await",
];

/// What a planner names neither: the engine's own I/O modules and the crates they use.
const ENGINE_EDGES: &[&str] = &[
    "slipway_store",
    "slipway_router",
    "crate::rollout",
    "crate::executor",
    "crate::reconcile",
    "crate::observe",
    "crate::health",
    "crate::target",
    "crate::analysis",
];

/// Crates that do network I/O or run an async runtime.
const IO_CRATES: &[&str] = &[
    "tokio",
    "tokio-util",
    "mio",
    "socket2",
    "reqwest",
    "hyper",
    "hyper-util",
    "h2",
    "axum",
    "sqlx",
    "rustls",
    "native-tls",
    "ureq",
    "curl",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.map(|e| e.path()).unwrap_or_default();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments (line comments and doc comments).
fn code(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `use` path in `code`, braces expanded one level (`a::{b, c}` → `a::b`, `a::c`).
fn imports(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for statement in code.split(';') {
        let Some(at) = statement.find("use ") else {
            continue;
        };
        // Only a `use` that begins its line (after an optional visibility) is an import.
        let line_start = statement[..at]
            .rsplit('\n')
            .next()
            .unwrap_or_default()
            .trim();
        if !matches!(line_start, "" | "pub" | "pub(crate)" | "pub(super)") {
            continue;
        }
        let path: String = statement[at + 4..].split_whitespace().collect();
        match path.split_once('{') {
            Some((root, rest)) => {
                for part in rest.trim_end_matches('}').split(',') {
                    if !part.is_empty() {
                        out.push(format!("{root}{part}"));
                    }
                }
            }
            None => out.push(path),
        }
    }
    out
}

/// What is wrong with a planner file's code; `modules` are the planners' own modules, which
/// `plan/mod.rs` may name by their own names.
fn planner_faults(code: &str, modules: &[String]) -> Vec<String> {
    let mut faults = Vec::new();
    for import in imports(code) {
        let own = modules
            .iter()
            .any(|m| import.starts_with(&format!("{m}::")));
        if !own
            && !PLANNER_IMPORTS
                .iter()
                .any(|allowed| import.starts_with(allowed))
        {
            faults.push(format!("imports {import}"));
        }
    }
    for word in IO_AND_CLOCK.iter().chain(ENGINE_EDGES) {
        if code.contains(word) {
            faults.push(format!("names {word}"));
        }
    }
    faults
}

#[test]
fn planners_import_nothing_that_does_io_or_reads_a_clock() {
    let mut files = Vec::new();
    rust_files(&Path::new(ENGINE).join("src/plan"), &mut files);
    assert!(files.len() >= 10, "the planners moved? {files:?}");
    let modules: Vec<String> = files
        .iter()
        .filter_map(|f| f.file_stem()?.to_str().map(str::to_string))
        .filter(|m| m != "mod")
        .collect();
    let mut faults = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for fault in planner_faults(&code(&text), &modules) {
            faults.push(format!("{}: {fault}", file.display()));
        }
    }
    assert!(
        faults.is_empty(),
        "planners must stay pure:\n{}",
        faults.join("\n")
    );
}

#[test]
fn the_purity_check_catches_io_and_clock_reads() {
    let rows: &[(&str, &str)] = &[
        (
            "use std::fs::read_to_string;",
            "imports std::fs::read_to_string",
        ),
        ("use tokio::time::sleep;", "imports tokio::time::sleep"),
        (
            "use std::time::{Duration, Instant};",
            "imports std::time::Instant",
        ),
        (
            "use crate::rollout::now_ms;",
            "imports crate::rollout::now_ms",
        ),
        (
            "fn f() { let _ = std::time::SystemTime::now(); }",
            "names SystemTime",
        ),
        ("async fn f() {}", "names async "),
        ("fn f() { std::process::exit(1) }", "names std::process"),
    ];
    let modules = vec!["status".to_string()];
    for (code, fault) in rows {
        let faults = planner_faults(code, &modules);
        assert!(faults.iter().any(|f| f == fault), "{code}: {faults:?}");
    }
    let pure =
        "use super::{Action, Plan};\nuse status::Phase;\nuse slipway_domain::kinds::Strategy;";
    assert!(planner_faults(pure, &modules).is_empty());
}

/// Every package `Cargo.lock` says `root` depends on, directly or not.
fn dependencies(lock: &str, root: &str) -> BTreeSet<String> {
    let mut graph: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for block in lock.split("[[package]]").skip(1) {
        let field = |name: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim_matches('"').to_string())
        };
        let Some(name) = field("name = ") else {
            continue;
        };
        let deps = block
            .split_once("dependencies = [")
            .map(|(_, rest)| rest.split(']').next().unwrap_or_default())
            .unwrap_or_default();
        let entry = graph.entry(name).or_default();
        for dep in deps.split(',') {
            let dep = dep.trim().trim_matches('"');
            if let Some(dep) = dep.split(' ').next().filter(|d| !d.is_empty()) {
                entry.push(dep.to_string());
            }
        }
    }
    let mut seen = BTreeSet::new();
    let mut stack = vec![root.to_string()];
    while let Some(name) = stack.pop() {
        if seen.insert(name.clone()) {
            stack.extend(graph.get(&name).cloned().unwrap_or_default());
        }
    }
    seen
}

#[test]
fn the_domain_and_the_gate_contract_depend_on_no_io_crate() {
    let lock = std::fs::read_to_string(Path::new(ENGINE).join("../../Cargo.lock"))
        .unwrap_or_else(|e| panic!("Cargo.lock: {e}"));
    for root in ["slipway-domain", "slipway-gate"] {
        let deps = dependencies(&lock, root);
        assert!(deps.len() > 3, "{root} not found in Cargo.lock: {deps:?}");
        let io: Vec<&str> = IO_CRATES
            .iter()
            .copied()
            .filter(|c| deps.contains(*c))
            .collect();
        assert!(io.is_empty(), "{root} depends on {io:?}");
    }
    // The engine itself does I/O: the check sees it.
    let engine = dependencies(&lock, "slipway-engine");
    assert!(engine.contains("tokio") && engine.contains("reqwest"));
}

#[test]
fn the_domain_does_no_io_and_reads_no_clock() {
    let mut files = Vec::new();
    rust_files(&Path::new(ENGINE).join("../slipway-domain/src"), &mut files);
    assert!(!files.is_empty());
    let mut faults = Vec::new();
    for file in &files {
        let code = code(&std::fs::read_to_string(file).unwrap_or_default());
        for word in IO_AND_CLOCK.iter().filter(|w| code.contains(**w)) {
            faults.push(format!("{}: names {word}", file.display()));
        }
    }
    assert!(
        faults.is_empty(),
        "the domain must stay pure:\n{}",
        faults.join("\n")
    );
}
