//! The end-to-end harness: everything the scenario files share, and nothing else.
//!
//! - `Server` (`server.rs`): `Server::start()` for a server on a new SQLite data dir, or
//!   `Server::builder()` with `.postgres()` (a fresh database in the throwaway cluster of
//!   `slipway-pgtest`), `.args(&[…])` (extra `slipway server` arguments), `.log_filter("debug")`,
//!   `.with_examples()` (apply `examples/` once up) and `.on(&data)` (start on an initialised
//!   data dir: a second replica, or a copy), then `.start()`. A running server `stop()`s
//!   gracefully (asserting exit 0), `kill()`s with SIGKILL, `start_again()`s on the same data
//!   dir and address, `kill_and_restart()`s and `restart()`s. Its log is kept in its scratch
//!   directory (`server.log()`); when a test fails, the end of the log is printed and the
//!   scratch directory kept. `server.data()` is its `DataDir`: `verify()` offline,
//!   `execute_sql()` behind Slipway's back, `copy_to()` a stopped server's data.
//! - `Client` (`client.rs`): one user of one server. `cli(&[…])` runs the CLI with that
//!   user's token and returns a `Run` (`expect(code)`, `json()`, `says(…)` on stderr,
//!   `prints(…)` on stdout); `get(path)` and `send(method, path, body)` are raw HTTP with the
//!   token, returning a `Reply`; `resource(plural, name)`; `wait_for_rollout(name, phases)`,
//!   `wait_for_rollout_end`, `wait_for_release_end`, `wait_for_weight`. A server is used as its
//!   first admin's client (`server.cli(…)`); `server.anonymous()` has no token.
//! - Users with roles (`users.rs`): `server.user("alice").team("payments").role("viewer")
//!   .environment("staging").create()` (and `.custom_role(name, rules)`) applies them and
//!   returns a `Client` holding a new token for that user.
//! - Waiting (`wait.rs`): `wait_until(deadline, what, f)` polls `f` (returning `bool`,
//!   `Option` or `Result`, whose error says what was seen) and, past the deadline, fails naming
//!   what it waited for and what it saw last; `holds_for(period, what, f)` fails as soon as
//!   `f` stops holding. They hold the only sleep in the test binary (a test checks it).
//! - Deployments (`deployments.rs`): `Payments`, payments-api in production with 1.0.0
//!   serving behind a router (`v1_serving()`, `roll(name, version, strategy)`, `serving()`),
//!   builds and rollout documents, the standard change, and `with_release_builds`.
//! - Around the server: `Load` (requests in the background), `Prometheus` (a real one
//!   scraping the server), `Recorder` (an HTTP endpoint that keeps what it receives),
//!   `processes_under` (instances by working directory), PostgreSQL databases and SQL
//!   (`postgres.rs`), `slipway` (the binary without a server) and insta snapshots with
//!   redactions (`snapshot.rs`: `assert_table`, `assert_output`, `assert_error`,
//!   `assert_reply`; the snapshots are in `tests/snapshots/`).
//!
//! A scenario, for example:
//!
//! ```text
//! let mut server = Server::builder().postgres().with_examples().start();
//! let alice = server.user("alice").team("payments").role("editor").environment("staging").create();
//! alice.cli(&["apply", "-f", path_str(&rollout)]).expect(OK);
//! server.wait_for_rollout("r1", &["Progressing"]);
//! server.kill_and_restart();                 // kill -9, then the same data dir and address
//! assert_eq!(server.wait_for_rollout_end("r1")["phase"], "RolledBack");
//! ```

mod client;
mod deployments;
mod documents;
mod load;
mod postgres;
mod processes;
mod prometheus;
mod recorder;
mod run;
mod server;
pub mod snapshot;
mod users;
mod wait;

pub use client::Client;
pub use deployments::{
    EXAMPLE_SERVICES, Payments, build_document, rollout_document, service_build_document,
    with_release_builds,
};
pub use documents::{history, history_span, names, yaml_revision};
pub use load::Load;
pub use processes::processes_under;
pub use prometheus::Prometheus;
pub use recorder::Recorder;
pub use run::{CONFLICT, DENIED, INVALID, NOT_FOUND, OK, Run, VERIFY_FAILED, slipway};
pub use server::{Server, Store, examples_dir, free_port, loopback_address, path_str};
pub use wait::{PROCESS_DEADLINE, holds_for, wait_until};

/// Documents in `examples/*.yaml`.
pub const EXAMPLE_DOCUMENTS: usize = 15;
