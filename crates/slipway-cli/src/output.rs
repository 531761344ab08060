//! Output for people (tables) and for scripts (`-o json`, `-o yaml`).

use crate::failure::CliResult;
use clap::ValueEnum;
use comfy_table::{Table, presets::NOTHING};
use serde::Serialize;
use slipway_domain::resource::Resource;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    #[default]
    Table,
    Yaml,
    Json,
}

/// Prints `value` as JSON or YAML.
pub fn print_data<T: Serialize>(format: Format, value: &T) -> CliResult {
    match format {
        Format::Yaml => print!("{}", yaml_serde::to_string(value)?),
        _ => println!("{}", serde_json::to_string_pretty(value)?),
    }
    Ok(())
}

/// A borderless table with a header row.
pub fn table(header: Vec<&str>) -> Table {
    let mut t = Table::new();
    t.load_preset(NOTHING);
    t.set_header(header);
    t
}

fn spec_str(r: &Resource, field: &str) -> String {
    match r.spec.get(field) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| i.to_string())
            })
            .collect::<Vec<_>>()
            .join(","),
        Some(serde_json::Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// A table column: its header and how to compute a cell.
type Column = (&'static str, fn(&Resource) -> String);

/// Kind-specific summary columns for `get`.
fn columns(kind: &str) -> Vec<Column> {
    match kind {
        "Service" => vec![
            ("OWNER", |r| spec_str(r, "owner")),
            ("TIER", |r| spec_str(r, "tier")),
            ("DEPENDS ON", |r| spec_str(r, "dependsOn")),
        ],
        "Environment" => vec![
            ("TIER", |r| spec_str(r, "tier")),
            ("ORDER", |r| spec_str(r, "order")),
            ("PROMOTES FROM", |r| spec_str(r, "promotionSource")),
        ],
        "Team" => vec![("DISPLAY NAME", |r| spec_str(r, "displayName"))],
        "User" => vec![
            ("TEAMS", |r| spec_str(r, "teams")),
            ("DISABLED", |r| spec_str(r, "disabled")),
        ],
        "Role" => vec![("DESCRIPTION", |r| spec_str(r, "description"))],
        "RoleBinding" => vec![
            ("ROLE", |r| spec_str(r, "role")),
            ("SUBJECTS", |r| {
                r.spec
                    .get("subjects")
                    .and_then(|s| s.as_array())
                    .map(|s| {
                        s.iter()
                            .map(|x| format!("{}/{}", spec_field(x, "kind"), spec_field(x, "name")))
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_default()
            }),
        ],
        _ => vec![],
    }
}

fn spec_field(v: &serde_json::Value, f: &str) -> String {
    v.get(f)
        .and_then(|x| x.as_str())
        .unwrap_or_default()
        .to_string()
}

/// Prints resources as a table, or as data.
pub fn print_resources(format: Format, kind: &str, items: &[Resource]) -> CliResult {
    if format != Format::Table {
        return if items.len() == 1 {
            print_data(format, &items[0])
        } else {
            print_data(format, &items)
        };
    }
    let cols = columns(kind);
    let mut header = vec!["NAME"];
    header.extend(cols.iter().map(|c| c.0));
    header.extend(["REVISION", "UPDATED"]);
    let mut t = table(header);
    for r in items {
        let mut row = vec![r.metadata.name.clone()];
        row.extend(cols.iter().map(|c| (c.1)(r)));
        row.push(
            r.metadata
                .revision
                .map(|v| v.to_string())
                .unwrap_or_default(),
        );
        row.push(r.metadata.updated_at.clone().unwrap_or_default());
        t.add_row(row);
    }
    println!("{t}");
    Ok(())
}
