//! Slipway's custom gate policies: Rego modules, evaluated with the
//! [`regorus`] interpreter, that can deny (or warn about) a promotion.
//!
//! # Convention
//!
//! * A policy is one Rego module written in **Rego v1 syntax** (`if`,
//!   `contains`), in package `slipway.gate` or `slipway.gate.<name>` (plain
//!   identifiers only).
//! * It must declare a rule `deny`: a set (or array) of strings, each a reason
//!   to refuse the gate. It may declare `warn`, of the same shape, for reasons
//!   that are reported but do not refuse. A rule that evaluates to undefined
//!   counts as empty.
//! * The gate is **denied** when any policy's `deny` is non-empty, or when any
//!   policy fails to evaluate (fail closed: a broken policy never lets a change
//!   through).
//! * The input document (`input`) is the gate input described in
//!   `POLICY_INPUT.md` and `gate-input.schema.json` beside this crate's
//!   `Cargo.toml`. No `data` document is loaded.
//!
//! # Safety
//!
//! * Each policy's evaluation runs under regorus's cooperative execution timer
//!   ([`PolicyLimits::time_limit`]); a policy that runs longer fails with a
//!   time-limit error (and so denies).
//! * Policy text is limited in size, lines and line width ([`PolicyLimits`]).
//! * Built-in errors are strict: a built-in called with bad arguments (say
//!   `time.parse_rfc3339_ns` on a malformed string) is an evaluation error,
//!   not a silently undefined expression that would skip a deny rule.
//! * Built-ins whose allocation grows with a numeric argument
//!   (`numbers.range`, `numbers.range_step`) are refused at load time: regorus
//!   reserves their result up front, so a hostile bound could exhaust memory
//!   before the timer fires. regorus offers memory limits only with a custom
//!   global allocator (its `allocator-memory-limits` feature), which Slipway
//!   does not enable.
//! * Recursive functions are refused at load time (see `recursion`): regorus
//!   would recurse until the stack overflows, which aborts the process.
//! * Any panic inside the interpreter is caught and reported as an error of
//!   the policy concerned.
//!
//! Enabled regorus built-in groups: the core ones plus `time.*`. Regex, glob,
//! JSON-schema, HTTP, net, base64, hex, semver, uuid and YAML built-ins are
//! not compiled in. regorus resolves function names when a rule runs, so a
//! call to one of those (or to any unknown function) is an evaluation error of
//! that policy, which denies.

mod evaluation;
mod loading;
mod recursion;

pub use evaluation::{PolicyOutcome, PolicyVerdict};
pub use loading::{PolicyError, PolicyLimits, PolicySet, PolicySource};
