//! Slipway's composition root: the one place that knows every part of the server and how they
//! fit together, in the order linkerd2-proxy starts its own.
//!
//! 1. **Configuration first**, before any runtime: [`Config::read`] checks the data dir, reads
//!    the signing key and the naming policy, and fails naming the file.
//! 2. **Then the runtime**: [`run`] builds it (the `slipway server` command); `demo` and tests
//!    call [`Server::start`] on theirs.
//! 3. **Then the parts**, each given what it needs as values: the store, the supply-chain
//!    service over the artifact store, the API's listener, the built-in traffic router, the
//!    engine with the change-control gate (whose allowing decisions the supply-chain service
//!    records as verification summaries), the API, and the background loops (checkpoints,
//!    event delivery).
//!
//! Shutdown is one root `CancellationToken`: cancelling it stops accepting requests, the
//! engine's loop and the background loops. The engine's loop is awaited in full (each rollout
//! leaves its state persisted for recovery), the other tasks in a `TaskTracker` drained under
//! the drain timeout; then the engine stops what it runs and a final checkpoint is signed.
#![forbid(unsafe_code)]

pub mod bootstrap;
pub mod config;
pub mod server;
pub mod shutdown;

pub use config::{Config, ReadConfig};
pub use server::{Server, run, serve_until_signalled};
pub use shutdown::stop_on_signal;

/// Why the server did not start or did not stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The configuration is refused: a data dir, key or policy file.
    #[error("{0}")]
    Config(String),
    /// A part did not start: the database, the listener, the router, the runtime.
    #[error("{0}")]
    Start(String),
    /// Serving failed.
    #[error("the server failed: {0}")]
    Serve(#[from] std::io::Error),
}
