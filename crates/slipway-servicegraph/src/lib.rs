//! Observed service dependencies. Traces (OTLP/JSON) are paired into calls between services
//! the way the OpenTelemetry Collector's servicegraph connector and Tempo's service-graph
//! processor pair them ([`Aggregator`]); Jaeger's dependency JSON is read as already counted
//! calls ([`parse_jaeger_dependencies`]); [`drift`] compares what is observed with what is
//! declared.
//!
//! Pure: every function takes text or values and returns values.

mod drift;
mod graph;
mod jaeger;
pub mod otlp;

pub use drift::{DeclaredEdge, Drift, drift};
pub use graph::{
    Aggregator, ConnectionType, EdgeKey, EdgeStats, GraphConfig, GraphStats, ServiceEdge,
};
pub use jaeger::parse_jaeger_dependencies;
pub use otlp::parse_traces;

/// Why input could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    #[error("{document}: {reason}")]
    Trace { document: String, reason: String },
    #[error("{document}: {reason}")]
    Dependencies { document: String, reason: String },
}

/// Pairs every span of the given OTLP/JSON documents and returns the calls per service pair
/// (a convenience over [`Aggregator`] for a finished set of traces).
///
/// # Errors
///
/// The first document that cannot be read.
pub fn edges_from_traces(
    config: GraphConfig,
    documents: &[(&str, &str)],
) -> Result<Vec<ServiceEdge>, GraphError> {
    let mut aggregator = Aggregator::new(config);
    for (name, text) in documents {
        aggregator.ingest(&parse_traces(name, text)?);
    }
    aggregator.flush();
    Ok(aggregator.service_edges())
}
