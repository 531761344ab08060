//! insta snapshots of what people read (CLI tables and messages) and what API clients parse
//! (error bodies), with what differs from run to run redacted: times, digests and hashes,
//! loopback ports, token ids and secrets, scratch paths. The snapshots live in
//! `tests/snapshots/`, named by the caller; `cargo insta review` updates them after an
//! intended change.

use super::client::Reply;
use super::run::Run;

/// What varies between runs, as (pattern, replacement), applied in order.
const REDACTIONS: &[(&str, &str)] = &[
    (
        r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})",
        "[time]",
    ),
    (r"sha256:[0-9a-f]{12,64}", "sha256:[digest]"),
    (r"\b[0-9a-f]{64}\b", "[hash]"),
    (r"slw_[0-9A-Za-z]+_[0-9a-f]+", "slw_[token]"),
    // Token ids.
    (r"\b[0-9a-f]{12}\b", "[id]"),
    (r"127\.0\.0\.1:\d+", "127.0.0.1:[port]"),
    (r#"(/[^\s"/]+)*/slipway-e2e-[^/\s"]+"#, "[scratch]"),
    // The sizes of stored manifests, which hold times.
    (r"(\d+ blob\(s\)), \d+ bytes", "$1, [size] bytes"),
];

/// For text: trailing spaces dropped.
const TEXT_LAYOUT: &[(&str, &str)] = &[(r"(?m) +$", "")];

fn settings(description: &str, layout: &[(&str, &str)]) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(without_scratch_paths(description));
    for (pattern, replacement) in REDACTIONS.iter().chain(layout) {
        settings.add_filter(pattern, *replacement);
    }
    settings
}

/// Asserts a command's stdout (a table, or the lines it prints) against snapshot `name`.
#[track_caller]
pub fn assert_output(name: &str, run: &Run) {
    settings(&run.command, TEXT_LAYOUT).bind(|| insta::assert_snapshot!(name, run.stdout.as_str()));
}

/// Asserts the table a command printed against snapshot `name`, cell by cell: a column is as
/// wide as its widest value, and times vary in width, so the table is snapshotted as
/// `CELL | CELL | …` lines (see [`tabulate`]).
#[track_caller]
pub fn assert_table(name: &str, run: &Run) {
    let table = tabulate(&run.stdout);
    settings(&run.command, TEXT_LAYOUT).bind(|| insta::assert_snapshot!(name, table.as_str()));
}

/// Asserts a command's stderr (its error message) against snapshot `name`.
#[track_caller]
pub fn assert_error(name: &str, run: &Run) {
    settings(&run.command, TEXT_LAYOUT).bind(|| insta::assert_snapshot!(name, run.stderr.as_str()));
}

/// Asserts an API reply's status and JSON body against snapshot `name`; `request` says what
/// was asked (e.g. `GET /api/v1/services`).
#[track_caller]
pub fn assert_reply(name: &str, request: &str, reply: &Reply) {
    let shown = serde_json::json!({"status": reply.status, "body": reply.json()});
    settings(request, &[]).bind(|| insta::assert_json_snapshot!(name, shown));
}

/// `text` with each scratch path shortened to `[scratch]/…`, as the snapshot's contents are.
fn without_scratch_paths(text: &str) -> String {
    text.split(' ')
        .map(|word| match word.find("/slipway-e2e-") {
            Some(at) => {
                let rest = &word[at + 1..];
                match rest.find('/') {
                    Some(slash) => format!("[scratch]{}", &rest[slash..]),
                    None => "[scratch]".to_string(),
                }
            }
            None => word.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A table printed by the CLI (a header line and rows, each starting with a space, columns
/// separated by at least two spaces, empty cells left blank) as one `CELL | CELL | …` line per
/// row; lines after the table are kept as they are.
pub fn tabulate(text: &str) -> String {
    let mut lines = text.lines();
    let Some(header) = lines.next().filter(|h| h.starts_with(' ')) else {
        return text.to_string();
    };
    let header: Vec<char> = header.chars().collect();
    // A column starts at a non-space after two spaces (or the line's start and one space).
    let starts: Vec<usize> = (1..header.len())
        .filter(|&i| header[i] != ' ' && (i == 1 || header[i - 2..i] == [' ', ' ']))
        .collect();
    let cells = |line: &str| {
        let line: Vec<char> = line.chars().collect();
        let cell = |from: usize, to: usize| -> String {
            line[from.min(line.len())..to.min(line.len())]
                .iter()
                .collect::<String>()
                .trim()
                .to_string()
        };
        let mut ends = starts.iter().skip(1).copied().chain([line.len()]);
        starts
            .iter()
            .map(|&from| cell(from, ends.next().unwrap_or(line.len())))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    let mut out = vec![cells(&header.iter().collect::<String>())];
    let mut in_table = true;
    for line in lines {
        in_table &= line.starts_with(' ');
        out.push(if in_table {
            cells(line)
        } else {
            line.to_string()
        });
    }
    out.join("\n") + "\n"
}
