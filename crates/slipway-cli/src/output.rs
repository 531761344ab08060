//! Output for people (tables) and for scripts (`-o json`, `-o yaml`).

use crate::failure::CliResult;
use clap::ValueEnum;
use comfy_table::{Table, presets::NOTHING};
use serde::Serialize;
use slipway_domain::kinds;
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

/// Prints resources as a table, or as data.
pub fn print_resources(format: Format, kind: &str, items: &[Resource]) -> CliResult {
    if format != Format::Table {
        return if items.len() == 1 {
            print_data(format, &items[0])
        } else {
            print_data(format, &items)
        };
    }
    // The kind's summary columns come from its registry entry.
    let cols = kinds::lookup_exact(kind)
        .map(|k| k.columns)
        .unwrap_or_default();
    let mut header = vec!["NAME"];
    header.extend(cols.iter().map(|c| c.header));
    header.extend(["REVISION", "UPDATED"]);
    let mut t = table(header);
    for r in items {
        let mut row = vec![r.metadata.name.clone()];
        row.extend(cols.iter().map(|c| c.of(&r.spec)));
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
