//! End-to-end tests of the `slipway` binary: every test runs the real executable as separate
//! processes, against a real `slipway server` process reached over real HTTP on a free loopback
//! port, with its own temporary data dir (SQLite, or a fresh database in a throwaway PostgreSQL
//! cluster), and real instances, routers, Prometheus and receivers around it. They check what a
//! user sees: exit codes, what stdout and stderr say (tables and error bodies as insta
//! snapshots), what is left on disk and what runs.
//!
//! One test binary; each file beside this one is a module about one concept, and `support/` is
//! the harness they share (its module doc lists what it offers).
#![allow(clippy::unwrap_used)] // in tests a panic is a failing test, which is the point

mod support;

mod analysis;
mod api_diff;
mod artifacts;
mod audit;
mod change_control;
mod demo;
mod harness;
mod identity;
mod recovery;
mod releases;
mod resources;
mod rollouts;
