//! Tests of the harness itself: waiting fails saying what it waited for, and the rules the
//! harness keeps for every scenario file (the only sleep is in the wait loop; every file here
//! is compiled into the test binary).

use crate::support;
use crate::support::*;
use std::path::Path;
use std::time::Duration;

#[test]
#[should_panic(expected = "timed out after 50ms waiting for the moon; last seen: not yet")]
fn a_wait_that_times_out_says_what_it_waited_for() {
    wait_until(Duration::from_millis(50), "the moon", || false);
}

#[test]
#[should_panic(expected = "waiting for the count to reach 1000; last seen: 3")]
fn a_wait_that_times_out_says_what_it_saw_last() {
    let mut count = 0;
    wait_until(Duration::from_millis(50), "the count to reach 1000", || {
        count = (count + 1).min(3);
        (count >= 1000).then_some(()).ok_or(count)
    });
}

#[test]
fn a_wait_returns_the_value_once_ready() {
    let mut polls = 0;
    let value = wait_until(Duration::from_secs(5), "the third poll", || {
        polls += 1;
        (polls == 3).then_some(polls * 10)
    });
    assert_eq!(value, 30);
}

#[test]
#[should_panic(expected = "the light staying on stopped holding after")]
fn holds_for_fails_as_soon_as_it_stops_holding() {
    let mut polls = 0;
    holds_for(Duration::from_secs(30), "the light staying on", || {
        polls += 1;
        polls < 3
    });
}

#[test]
fn tables_are_snapshotted_cell_by_cell_with_empty_cells_kept() {
    let printed = " NAME      DEPENDS ON  UPDATED                      \n a         b,c         2026-01-01T00:00:00.1Z       \n long-name              2026-01-01T00:00:00.123456Z \n2 item(s)\n";
    assert_eq!(
        support::snapshot::tabulate(printed),
        "NAME | DEPENDS ON | UPDATED\na | b,c | 2026-01-01T00:00:00.1Z\nlong-name |  | 2026-01-01T00:00:00.123456Z\n2 item(s)\n"
    );
    assert_eq!(support::snapshot::tabulate("plain text\n"), "plain text\n");
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn tests_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

#[test]
fn the_harness_wait_loop_holds_the_only_sleep() {
    let sleep = concat!("thread", "::", "sleep");
    let wait_loop = tests_dir().join("support/wait.rs");
    let sleepers: Vec<String> = rust_files(&tests_dir())
        .into_iter()
        .filter(|f| *f != wait_loop)
        .filter(|f| std::fs::read_to_string(f).unwrap().contains(sleep))
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        sleepers.is_empty(),
        "wait with support::wait_until or holds_for instead of sleeping: {sleepers:?}"
    );
    assert!(std::fs::read_to_string(&wait_loop).unwrap().contains(sleep));
}

#[test]
fn every_file_in_tests_is_a_module_of_the_test_binary() {
    let root = std::fs::read_to_string(tests_dir().join("end_to_end.rs")).unwrap();
    let missing: Vec<String> = std::fs::read_dir(tests_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| p.file_stem().unwrap().to_str().unwrap().to_string())
        .filter(|stem| stem != "end_to_end" && !root.contains(&format!("\nmod {stem};")))
        .collect();
    assert!(
        missing.is_empty(),
        "crates/slipway sets autotests = false: add `mod NAME;` to tests/end_to_end.rs for {missing:?}"
    );
}
