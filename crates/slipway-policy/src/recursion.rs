//! Refusing recursive functions at load time.
//!
//! Rego forbids recursion. regorus detects recursive *rules* while
//! evaluating (an error), but not recursive *functions*: a function that calls
//! itself recurses until the thread's stack overflows, which aborts the whole
//! process. So before a policy is accepted, this module builds the call graph
//! of the module's functions — an edge `f → g` when `g(` appears in the body
//! text of a definition of `f` — and refuses any cycle. Matching the text is
//! conservative: a call-like mention inside a string or comment can only
//! refuse a policy, never let a recursive one through.

use std::collections::{BTreeMap, BTreeSet};

use regorus::Engine;
use regorus::unstable::{Rule, RuleHead};

/// The first recursive function found, as `f` or `f → g → f`, if any.
pub(crate) fn recursive_function(engine: &mut Engine) -> Option<String> {
    let bodies = function_bodies(engine);
    let names: Vec<&str> = bodies.keys().map(String::as_str).collect();
    let calls: BTreeMap<&str, BTreeSet<&str>> = bodies
        .iter()
        .map(|(name, texts)| {
            let callees = names
                .iter()
                .copied()
                .filter(|callee| texts.iter().any(|text| calls_function(text, callee)))
                .collect();
            (name.as_str(), callees)
        })
        .collect();
    names
        .iter()
        .find_map(|start| cycle_from(start, &calls, &mut vec![*start]))
}

/// Each function's name (as written in its head) and the text after that name
/// in each of its definitions.
fn function_bodies(engine: &mut Engine) -> BTreeMap<String, Vec<String>> {
    let mut bodies: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for module in engine.get_modules() {
        for rule in &module.policy {
            let Rule::Spec {
                span,
                head: RuleHead::Func { refr, .. },
                ..
            } = rule.as_ref()
            else {
                continue;
            };
            // Everything after the function's own name: arguments, the
            // assigned value and the bodies.
            let text = span.text();
            let body = refr
                .span()
                .end
                .checked_sub(span.start)
                .and_then(|offset| usize::try_from(offset).ok())
                .and_then(|offset| text.get(offset..))
                .unwrap_or(text);
            bodies
                .entry(refr.span().text().to_owned())
                .or_default()
                .push(body.to_owned());
        }
    }
    bodies
}

/// True when `text` holds `name` as a whole name (a `.` may precede it, as in
/// `data.pkg.name`) followed, after optional blanks, by `(`.
fn calls_function(text: &str, name: &str) -> bool {
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].trim_start();
        !before.is_some_and(is_name_char) && after.starts_with('(')
    })
}

/// Depth-first search for a path from the last element of `path` back to its
/// first element.
fn cycle_from<'a>(
    start: &'a str,
    calls: &BTreeMap<&'a str, BTreeSet<&'a str>>,
    path: &mut Vec<&'a str>,
) -> Option<String> {
    let current = *path.last()?;
    for &callee in calls.get(current)? {
        if callee == start {
            let mut cycle = path.clone();
            cycle.push(start);
            return Some(if cycle.len() == 2 {
                start.to_owned()
            } else {
                cycle.join(" → ")
            });
        }
        if !path.contains(&callee) {
            path.push(callee);
            if let Some(cycle) = cycle_from(start, calls, path) {
                return Some(cycle);
            }
            path.pop();
        }
    }
    None
}
