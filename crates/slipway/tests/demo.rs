//! `slipway demo`: the product's main job end to end on a temporary data dir, as a user first
//! runs it.

use crate::support::*;
use serde_json::Value;

#[test]
fn demo_ci_ends_with_a_json_summary() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let demo = slipway(&dir.path().join("config.json"), &[], &["demo", "--ci"]).expect(OK);
    let last = demo
        .stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .expect("the demo printed something");
    let summary: Value = serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("the last line is not JSON ({e}): {last}"));
    assert_eq!(summary["ok"], true, "{summary}");
    assert!(!dir.path().join("config.json").exists());
}
