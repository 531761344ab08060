//! Reading resource documents from files and directories: multi-document YAML and JSON (one
//! document or a list). Every document keeps its source (`FILE (document N)`), so every error,
//! from here or from the server, names the file and the document. Mappings that repeat a key
//! are refused (`slipway_yaml::StrictValue`).

use crate::failure::{self, CliResult, Failure};
use serde::Deserialize;
use slipway_api::resource_routes::ApplyDocument;
use slipway_yaml::StrictValue;
use std::path::{Path, PathBuf};

/// Reads every document under `paths` (files, or directories searched recursively for `.yaml`,
/// `.yml` and `.json`, in name order). `-` reads standard input as YAML.
pub fn read_documents(paths: &[PathBuf]) -> CliResult<Vec<ApplyDocument>> {
    let mut files = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            files.push(p.clone());
        } else if p.is_dir() {
            collect_dir(p, &mut files)?;
        } else if p.exists() {
            files.push(p.clone());
        } else {
            return Err(Failure::new(
                failure::INVALID,
                format!("{}: no such file or directory", p.display()),
            ));
        }
    }
    let mut docs = Vec::new();
    for file in &files {
        let text = if file.as_os_str() == "-" {
            std::io::read_to_string(std::io::stdin())
                .map_err(|e| Failure::new(failure::INVALID, format!("standard input: {e}")))?
        } else {
            std::fs::read_to_string(file)
                .map_err(|e| Failure::new(failure::INVALID, format!("{}: {e}", file.display())))?
        };
        let name = if file.as_os_str() == "-" {
            "<stdin>".to_string()
        } else {
            file.display().to_string()
        };
        docs.extend(parse_text(&name, &text)?);
    }
    if docs.is_empty() {
        return Err(Failure::new(
            failure::INVALID,
            "no documents found in the given files",
        ));
    }
    Ok(docs)
}

fn collect_dir(dir: &Path, out: &mut Vec<PathBuf>) -> CliResult {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Failure::new(failure::INVALID, format!("{}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            !p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'))
        })
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect_dir(&p, out)?;
        } else if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        ) {
            out.push(p);
        }
    }
    Ok(())
}

/// Parses one file's text into documents, skipping empty YAML documents.
pub fn parse_text(name: &str, text: &str) -> CliResult<Vec<ApplyDocument>> {
    let is_json = name.ends_with(".json");
    let mut out = Vec::new();
    if is_json {
        let value = serde_json::from_str::<StrictValue>(text)
            .map(|v| v.0)
            .map_err(|e| {
                Failure::new(
                    failure::INVALID,
                    format!("{name}: line {} column {}: {e}", e.line(), e.column()),
                )
            })?;
        let values = match value {
            serde_json::Value::Array(items) => items,
            other => vec![other],
        };
        for (i, document) in values.into_iter().enumerate() {
            out.push(ApplyDocument {
                source: Some(format!("{name} (document {})", i + 1)),
                document,
            });
        }
        return Ok(out);
    }
    for (i, de) in yaml_serde::Deserializer::from_str(text).enumerate() {
        let source = format!("{name} (document {})", i + 1);
        let StrictValue(document) = StrictValue::deserialize(de)
            .map_err(|e| Failure::new(failure::INVALID, format!("{source}: {e}")))?;
        if !document.is_null() {
            out.push(ApplyDocument {
                source: Some(source),
                document,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_documents_keep_their_sources() {
        let docs = parse_text("a.yaml", "kind: Team\n---\n---\nkind: Service\n").unwrap();
        let sources: Vec<_> = docs.iter().map(|d| d.source.clone().unwrap()).collect();
        assert_eq!(sources, vec!["a.yaml (document 1)", "a.yaml (document 3)"]);
    }

    #[test]
    fn syntax_errors_name_file_and_document() {
        let err = parse_text("b.yaml", "kind: Team\n---\nkind: [unclosed\n").unwrap_err();
        let msg = format!("{:#}", err.error);
        assert!(msg.starts_with("b.yaml (document 2): "), "{msg}");
        assert_eq!(err.exit, failure::INVALID);
        let err = parse_text("c.json", "{\"kind\": ").unwrap_err();
        assert!(format!("{:#}", err.error).starts_with("c.json: line 1"));
    }

    #[test]
    fn duplicate_keys_are_refused_naming_the_key() {
        let err = parse_text(
            "d.yaml",
            "kind: Team
---
kind: Role
kind: Team
",
        )
        .unwrap_err();
        let msg = format!("{:#}", err.error);
        assert!(msg.starts_with("d.yaml (document 2): "), "{msg}");
        assert!(msg.contains("duplicate key `kind`"), "{msg}");
        assert_eq!(err.exit, failure::INVALID);
        let err = parse_text("e.json", r#"{"spec": {"tier": "high", "tier": "low"}}"#).unwrap_err();
        assert!(format!("{:#}", err.error).contains("duplicate key `tier`"));
    }
}
