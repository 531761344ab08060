//! Development aid: diffs every fixture pair of a folder both ways and prints which rule ids
//! were never reported.
use slipway_apidiff::{OpenApi, Options, compare, rules::RULES};
use std::collections::BTreeSet;

fn main() {
    let dir = std::env::args().nth(1).expect("folder");
    let mut files: Vec<_> = walk(std::path::Path::new(&dir));
    files.sort();
    let specs: Vec<(String, OpenApi)> = files
        .iter()
        .filter_map(|p| {
            let text = std::fs::read_to_string(p).ok()?;
            OpenApi::parse(&p.display().to_string(), &text)
                .ok()
                .map(|s| (p.display().to_string(), s))
        })
        .collect();
    let mut seen = BTreeSet::new();
    let options = Options {
        today: jiff::civil::date(2026, 8, 6),
        min_sunset_beta_days: 30,
        min_sunset_stable_days: 60,
        versioning_policy: true,
        ..Options::default()
    };
    for (name, spec) in &specs {
        let dir = std::path::Path::new(name).parent().map(|p| p.to_path_buf());
        for (other_name, other) in &specs {
            if std::path::Path::new(other_name)
                .parent()
                .map(|p| p.to_path_buf())
                != dir
            {
                continue;
            }
            for finding in compare(spec, other, &options) {
                seen.insert(finding.id);
            }
        }
    }
    for rule in RULES {
        if !seen.contains(rule.id) {
            println!("never: {} {:?}", rule.id, rule.level);
        }
    }
    println!(
        "{} of {} rules seen over {} documents",
        seen.len(),
        RULES.len(),
        specs.len()
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        ) {
            out.push(path);
        }
    }
    out
}
