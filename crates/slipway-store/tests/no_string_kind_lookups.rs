//! A source scan of the workspace: no store call names a kind by a string literal
//! (`store.get("Artifact", name)`); code reaches the store through the typed handles the kind
//! registry generates (`store.kind::<Artifact>().get(name)`), so a kind is named in one place.
//! The exemptions below (each with its reason, each still needed) are the only places allowed
//! to.
#![allow(clippy::unwrap_used)] // in tests a panic is a failing test, which is the point

use slipway_domain::kinds::kind_names;
use std::path::{Path, PathBuf};

/// Store methods that take a kind as their first argument.
const KIND_METHODS: &[&str] = &[
    "get",
    "list",
    "list_labelled",
    "get_with_writer",
    "list_with_writers",
    "updated_by",
    "set_status",
    "version",
    "list_versioned",
];

/// Files (or directories, ending in `/`) allowed to name kinds by strings, with what they may
/// contain; an exemption that no longer matches anything fails the test, so it is removed.
const EXEMPT: &[(&str, Option<&str>, &str)] = &[
    (
        "crates/slipway-store/tests/conformance.rs",
        None,
        "the store's own contract: it exercises the string-keyed Store trait beneath the handles",
    ),
    (
        "crates/slipway-store/tests/no_string_kind_lookups.rs",
        None,
        "this scan's own examples",
    ),
    (
        "crates/slipway-engine/",
        None,
        "the engine is being reshaped into planners and an executor in parallel; its lookups are \
         converted to typed handles once that work has merged",
    ),
    (
        "crates/slipway-api/src/change_routes.rs",
        Some(r#".get("ChangeRequest", &name)"#),
        "the evidence pack is being moved with the audit log's own crate; converted once that \
         work has merged",
    ),
];

#[test]
fn no_store_call_names_a_kind_by_a_string() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(root.join("crates")).unwrap() {
        rust_files(&entry.unwrap().path(), &mut files);
    }
    assert!(
        files.len() > 50,
        "the scan found only {} files",
        files.len()
    );
    let mut found = Vec::new();
    let mut used = vec![false; EXEMPT.len()];
    for file in &files {
        let relative = file
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(file).unwrap();
        for (line, call) in string_kind_calls(&text) {
            let exemption = EXEMPT.iter().position(|(path, needle, _)| {
                (relative == *path || (path.ends_with('/') && relative.starts_with(path)))
                    && needle.is_none_or(|n| call.contains(n))
            });
            match exemption {
                Some(i) => used[i] = true,
                None => found.push(format!("{relative}:{line}: {call}")),
            }
        }
    }
    assert!(
        found.is_empty(),
        "store calls naming a kind by a string (use store.kind::<Kind>()):\n{}",
        found.join("\n")
    );
    let stale: Vec<&str> = EXEMPT
        .iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .map(|((path, _, _), _)| *path)
        .collect();
    assert!(stale.is_empty(), "exemptions no longer needed: {stale:?}");
}

#[test]
fn the_scan_finds_what_it_looks_for() {
    let calls = |text: &str| -> Vec<String> {
        string_kind_calls(text)
            .into_iter()
            .map(|(_, c)| c)
            .collect()
    };
    assert_eq!(
        calls("let a = store.get(\"Artifact\", &name).await?;"),
        [".get(\"Artifact\", &name)"]
    );
    assert_eq!(
        calls("store\n    .list_labelled(\n        \"GateDecision\",\n        LABEL,"),
        [".list_labelled(\n        \"GateDecision\","]
    );
    assert_eq!(calls("s.set_status(\"Rollout\", \"r\", &v)").len(), 1);
    // Not a kind, not a store call, not a literal.
    assert!(calls("map.get(\"artifact\")").is_empty());
    assert!(calls("store.get(def.kind, &name)").is_empty());
    assert!(calls("json!({\"kind\": \"Artifact\"})").is_empty());
}

/// Every `.method("Kind"...` in `text` for a store method and a registered kind, with its line.
fn string_kind_calls(text: &str) -> Vec<(usize, String)> {
    let kinds = kind_names();
    let mut out = Vec::new();
    for method in KIND_METHODS {
        let needle = format!(".{method}(");
        let mut from = 0;
        while let Some(at) = text[from..].find(&needle) {
            let start = from + at;
            let args = &text[start + needle.len()..];
            let literal = args.trim_start();
            if let Some(rest) = literal.strip_prefix('"')
                && let Some(end) = rest.find('"')
                && kinds.contains(&&rest[..end])
            {
                let call_end = start + needle.len() + (args.len() - literal.len()) + end + 2;
                let rest_of_call = &text[call_end..];
                let tail = rest_of_call
                    .find([')', '\n'])
                    .map(|i| &rest_of_call[..=i])
                    .unwrap_or_default();
                let line = text[..start].matches('\n').count() + 1;
                out.push((
                    line,
                    format!("{}{}", &text[start..call_end], tail.trim_end()),
                ));
            }
            from = start + needle.len();
        }
    }
    out.sort();
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}
