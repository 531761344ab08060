//! Errors of the routing control operations (the data path answers clients with HTTP statuses
//! instead: see the `proxy` module).

use std::net::SocketAddr;

use crate::backend::InstanceId;

/// Why a routing operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    /// The service has no listener in this router (see `TrafficRouter::ensure_service`).
    #[error("unknown service {0:?}: it has no listener in this router")]
    UnknownService(String),
    /// No service of this router has an instance with this id.
    #[error("unknown instance \"{0}\": no service of this router has it")]
    UnknownInstance(InstanceId),
    /// A canary weight above 1000 per mille.
    #[error("canary weight {0} per mille is out of range: expected 0 to 1000")]
    WeightOutOfRange(u32),
    /// A string that is neither `stable` nor `canary`.
    #[error("{0:?} is not a version: expected \"stable\" or \"canary\"")]
    ParseVersion(String),
    /// The same instance id twice in one `set_backends` call.
    #[error("instance \"{id}\" is listed more than once for service {service:?}")]
    DuplicateInstance {
        /// The service being configured.
        service: String,
        /// The repeated id.
        id: InstanceId,
    },
    /// An instance id that another service already uses.
    #[error("instance \"{id}\" already belongs to service {owner:?}, not {service:?}")]
    InstanceOfOtherService {
        /// The service being configured.
        service: String,
        /// The service that has the id.
        owner: String,
        /// The id.
        id: InstanceId,
    },
    /// An instance address that cannot be written as a URI authority.
    #[error("instance \"{id}\" has address {addr}, which is not usable in a URI")]
    BadAddress {
        /// The instance.
        id: InstanceId,
        /// Its address.
        addr: SocketAddr,
    },
    /// The service already listens somewhere else.
    #[error("service {service:?} already listens on {existing}, not on {requested}")]
    ListenerConflict {
        /// The service.
        service: String,
        /// Where it listens.
        existing: SocketAddr,
        /// Where it was asked to listen.
        requested: SocketAddr,
    },
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr} for service {service:?}: {source}")]
    Bind {
        /// The service.
        service: String,
        /// The requested address.
        addr: SocketAddr,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The data-plane threads could not be started.
    #[error("cannot start the router's data-plane threads: {0}")]
    Workers(std::io::Error),
    /// The router was shut down; it accepts no new services.
    #[error("the router is shut down")]
    ShutDown,
    /// Connections were still open when the drain timeout ran out (they were then dropped).
    #[error("{open} connection(s) still open when the drain timeout ran out")]
    DrainTimeout {
        /// How many connection tasks were still running.
        open: usize,
    },
}
