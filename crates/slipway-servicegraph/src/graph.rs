//! Pairing spans into service-graph edges, the way the OpenTelemetry Collector's servicegraph
//! connector and Tempo's service-graph processor do: a client (or producer) span and the
//! server (or consumer) span it caused form one call from the client's service to the
//! server's. Halves wait in a store keyed by trace and span id; a pair completes in either
//! order; halves left unpaired when they expire become calls to or from virtual nodes.

use crate::otlp::{KeyValue, SpanKind, TracesData, attribute};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// What kind of call an edge is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum ConnectionType {
    /// A plain client → server request.
    #[serde(rename = "")]
    Direct,
    /// A producer → consumer message.
    #[serde(rename = "messaging_system")]
    MessagingSystem,
    /// A client span to a database (no server span needed).
    #[serde(rename = "database")]
    Database,
    /// One side never reported: the other side is a virtual node.
    #[serde(rename = "virtual_node")]
    VirtualNode,
}

impl ConnectionType {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionType::Direct => "",
            ConnectionType::MessagingSystem => "messaging_system",
            ConnectionType::Database => "database",
            ConnectionType::VirtualNode => "virtual_node",
        }
    }
}

/// How to pair and label (the connector's configuration keys).
#[derive(Debug, Clone, PartialEq)]
pub struct GraphConfig {
    /// Attributes copied onto edges as `client_<k>` / `server_<k>` (resource, then span).
    pub dimensions: Vec<String>,
    /// Client-span attributes naming the server when the server never reports; empty turns
    /// virtual nodes off.
    pub virtual_node_peer_attributes: Vec<String>,
    /// Add `virtual_node` = `client` or `server` to virtual edges.
    pub virtual_node_extra_label: bool,
    /// Client-span attributes naming a database: such a call completes without a server span.
    pub database_name_attributes: Vec<String>,
    /// Pending halves kept at most; more are dropped (and counted).
    pub max_items: usize,
}

impl Default for GraphConfig {
    fn default() -> Self {
        GraphConfig {
            dimensions: Vec::new(),
            virtual_node_peer_attributes: [
                "peer.service",
                "peer.service.name",
                "db.name",
                "db.system",
            ]
            .map(str::to_owned)
            .to_vec(),
            virtual_node_extra_label: false,
            database_name_attributes: vec!["db.name".to_owned()],
            max_items: 1_000_000,
        }
    }
}

/// One series of calls: who called whom, how, whether it failed, with which dimensions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct EdgeKey {
    pub client: String,
    pub server: String,
    pub connection_type: ConnectionType,
    pub failed: bool,
    pub dimensions: BTreeMap<String, String>,
}

/// Calls of one series and their summed latencies.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EdgeStats {
    pub count: u64,
    pub client_seconds: f64,
    pub server_seconds: f64,
}

/// The calls between two nodes over every series: total and failed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ServiceEdge {
    pub client: String,
    pub server: String,
    pub calls: u64,
    pub errors: u64,
}

#[derive(Debug, Clone, Default)]
struct ClientHalf {
    service: String,
    seconds: f64,
    failed: bool,
    dimensions: Vec<(String, String)>,
    peer: Option<String>,
    messaging: bool,
    seen_at: u64,
}

#[derive(Debug, Clone, Default)]
struct ServerHalf {
    service: String,
    seconds: f64,
    failed: bool,
    dimensions: Vec<(String, String)>,
    messaging: bool,
    /// The key had no span id (a root server span): its caller is a user.
    root: bool,
    seen_at: u64,
}

#[derive(Debug, Default)]
struct Pending {
    client: Option<ClientHalf>,
    /// The client half already formed at least one call (a producer may form many).
    client_paired: bool,
    servers: Vec<ServerHalf>,
}

type Key = ([u8; 16], [u8; 8]);

/// Counters of what the aggregator did with the spans it saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct GraphStats {
    pub spans: u64,
    pub paired: u64,
    pub virtual_nodes: u64,
    pub expired_unpaired: u64,
    pub dropped: u64,
}

/// Builds edges from spans, batch after batch.
#[derive(Debug)]
pub struct Aggregator {
    config: GraphConfig,
    pending: HashMap<Key, Pending>,
    edges: HashMap<EdgeKey, EdgeStats>,
    stats: GraphStats,
}

fn find_text(name: &str, resource: &[KeyValue], span: &[KeyValue]) -> Option<String> {
    attribute(resource, name)
        .or_else(|| attribute(span, name))
        .and_then(|v| v.as_text())
}

impl Aggregator {
    pub fn new(config: GraphConfig) -> Self {
        Aggregator {
            config,
            pending: HashMap::new(),
            edges: HashMap::new(),
            stats: GraphStats::default(),
        }
    }

    pub fn stats(&self) -> GraphStats {
        self.stats
    }

    fn dimensions(
        &self,
        side: &str,
        resource: &[KeyValue],
        span: &[KeyValue],
    ) -> Vec<(String, String)> {
        self.config
            .dimensions
            .iter()
            .filter_map(|name| {
                find_text(name, resource, span).map(|v| (format!("{side}_{name}"), v))
            })
            .collect()
    }

    /// Feeds one batch of spans. Resources without `service.name` are skipped.
    pub fn ingest(&mut self, data: &TracesData) {
        for resource_spans in &data.resource_spans {
            let resource = &resource_spans.resource.attributes;
            let Some(service) = attribute(resource, "service.name").and_then(|v| v.as_text())
            else {
                continue;
            };
            for scope in &resource_spans.scope_spans {
                for span in &scope.spans {
                    self.stats.spans += 1;
                    match span.kind {
                        SpanKind::Client | SpanKind::Producer => {
                            let messaging = span.kind == SpanKind::Producer;
                            let peer =
                                self.config
                                    .virtual_node_peer_attributes
                                    .iter()
                                    .find_map(|name| {
                                        attribute(&span.attributes, name).and_then(|v| v.as_text())
                                    });
                            let half = ClientHalf {
                                service: service.clone(),
                                seconds: span.duration_seconds(),
                                failed: span.status.error,
                                dimensions: self.dimensions("client", resource, &span.attributes),
                                peer,
                                messaging,
                                seen_at: span.end_time_unix_nano,
                            };
                            let database = self
                                .config
                                .database_name_attributes
                                .iter()
                                .find_map(|name| find_text(name, resource, &span.attributes));
                            if let Some(database) = database {
                                // a database call completes from its client span alone
                                self.complete(
                                    &half,
                                    &ServerHalf {
                                        service: database,
                                        seconds: half.seconds,
                                        ..ServerHalf::default()
                                    },
                                    ConnectionType::Database,
                                    None,
                                );
                                continue;
                            }
                            self.add_client((span.trace_id, span.span_id), half);
                        }
                        SpanKind::Server | SpanKind::Consumer => {
                            let messaging = span.kind == SpanKind::Consumer;
                            let half = ServerHalf {
                                service: service.clone(),
                                seconds: span.duration_seconds(),
                                failed: span.status.error,
                                dimensions: self.dimensions("server", resource, &span.attributes),
                                messaging,
                                root: false,
                                seen_at: span.end_time_unix_nano,
                            };
                            if messaging && !span.links.is_empty() {
                                for link in &span.links {
                                    self.add_server((link.trace_id, link.span_id), half.clone());
                                }
                            } else {
                                let root = span.parent_span_id == [0u8; 8];
                                self.add_server(
                                    (span.trace_id, span.parent_span_id),
                                    ServerHalf { root, ..half },
                                );
                            }
                        }
                        SpanKind::Internal | SpanKind::Unspecified => {}
                    }
                }
            }
        }
    }

    fn room_for(&mut self, key: &Key) -> bool {
        if self.pending.contains_key(key) || self.pending.len() < self.config.max_items {
            return true;
        }
        self.stats.dropped += 1;
        false
    }

    fn add_client(&mut self, key: Key, half: ClientHalf) {
        if !self.room_for(&key) {
            return;
        }
        let pending = self.pending.entry(key).or_default();
        let servers = std::mem::take(&mut pending.servers);
        let keep = half.messaging || servers.is_empty();
        if keep {
            pending.client = Some(half.clone());
            pending.client_paired = !servers.is_empty();
        }
        if servers.is_empty() {
            return;
        }
        if !keep {
            self.pending.remove(&key);
        }
        for server in &servers {
            self.pair(&half, server);
        }
    }

    fn add_server(&mut self, key: Key, half: ServerHalf) {
        if !self.room_for(&key) {
            return;
        }
        let pending = self.pending.entry(key).or_default();
        let Some(client) = pending.client.clone() else {
            pending.servers.push(half);
            return;
        };
        if client.messaging {
            pending.client_paired = true;
        } else {
            // one request, one response: the pair is done
            self.pending.remove(&key);
        }
        self.pair(&client, &half);
    }

    fn pair(&mut self, client: &ClientHalf, server: &ServerHalf) {
        self.stats.paired += 1;
        let connection = if client.messaging || server.messaging {
            ConnectionType::MessagingSystem
        } else {
            ConnectionType::Direct
        };
        self.complete(client, server, connection, None);
    }

    fn complete(
        &mut self,
        client: &ClientHalf,
        server: &ServerHalf,
        connection: ConnectionType,
        virtual_side: Option<&str>,
    ) {
        let mut dimensions: BTreeMap<String, String> = client
            .dimensions
            .iter()
            .chain(&server.dimensions)
            .cloned()
            .collect();
        if let Some(side) = virtual_side
            && self.config.virtual_node_extra_label
        {
            dimensions.insert("virtual_node".to_owned(), side.to_owned());
        }
        let key = EdgeKey {
            client: client.service.clone(),
            server: server.service.clone(),
            connection_type: connection,
            failed: client.failed || server.failed,
            dimensions,
        };
        let stats = self.edges.entry(key).or_default();
        stats.count += 1;
        stats.client_seconds += client.seconds;
        stats.server_seconds += server.seconds;
    }

    /// Expires every half last seen before `before` (nanoseconds since the epoch): an
    /// unpaired client becomes a call to a virtual server (named by its first peer
    /// attribute, or `unknown`), a root server span a call from `user`; other server halves
    /// are dropped.
    pub fn expire(&mut self, before: u64) {
        let keys: Vec<Key> = self
            .pending
            .iter()
            .filter(|(_, p)| {
                p.client.as_ref().is_none_or(|c| c.seen_at < before)
                    && p.servers.iter().all(|s| s.seen_at < before)
            })
            .map(|(key, _)| *key)
            .collect();
        for key in keys {
            if let Some(pending) = self.pending.remove(&key) {
                self.expire_one(pending);
            }
        }
    }

    /// Expires everything still pending (the end of the input).
    pub fn flush(&mut self) {
        self.expire(u64::MAX);
    }

    fn expire_one(&mut self, pending: Pending) {
        let virtual_nodes = !self.config.virtual_node_peer_attributes.is_empty();
        match pending.client {
            Some(_) if pending.client_paired => {}
            Some(client) => {
                if virtual_nodes {
                    let server = ServerHalf {
                        service: client.peer.clone().unwrap_or_else(|| "unknown".to_owned()),
                        ..ServerHalf::default()
                    };
                    self.stats.virtual_nodes += 1;
                    self.complete(
                        &client,
                        &server,
                        ConnectionType::VirtualNode,
                        Some("server"),
                    );
                } else {
                    self.stats.expired_unpaired += 1;
                }
            }
            None => {
                for server in pending.servers {
                    if server.root && virtual_nodes {
                        let client = ClientHalf {
                            service: "user".to_owned(),
                            ..ClientHalf::default()
                        };
                        self.stats.virtual_nodes += 1;
                        self.complete(
                            &client,
                            &server,
                            ConnectionType::VirtualNode,
                            Some("client"),
                        );
                    } else {
                        self.stats.expired_unpaired += 1;
                    }
                }
            }
        }
    }

    /// Every series with its calls, sorted.
    pub fn edges(&self) -> Vec<(EdgeKey, EdgeStats)> {
        let mut edges: Vec<(EdgeKey, EdgeStats)> = self
            .edges
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        edges.sort_by(|a, b| a.0.cmp(&b.0));
        edges
    }

    /// Calls and failed calls per (client, server), over every series.
    pub fn service_edges(&self) -> Vec<ServiceEdge> {
        let mut by_pair: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
        for (key, stats) in &self.edges {
            let entry = by_pair
                .entry((key.client.clone(), key.server.clone()))
                .or_default();
            entry.0 += stats.count;
            if key.failed {
                entry.1 += stats.count;
            }
        }
        by_pair
            .into_iter()
            .map(|((client, server), (calls, errors))| ServiceEdge {
                client,
                server,
                calls,
                errors,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_traces;

    /// A span as (trace, span, parent, kind, end time).
    type TestSpan = (u8, u8, u8, u8, u64);

    /// A document with one resource per (service, spans).
    fn document(resources: &[(&str, &[TestSpan])]) -> TracesData {
        let resources: Vec<String> = resources
            .iter()
            .map(|(service, spans)| {
                let spans: Vec<String> = spans
                    .iter()
                    .map(|(trace, span, parent, kind, end)| {
                        let parent = if *parent == 0 { String::new() } else { format!("{parent:016x}") };
                        format!(
                            r#"{{"traceId":"{trace:032x}","spanId":"{span:016x}","parentSpanId":"{parent}","kind":{kind},"startTimeUnixNano":"0","endTimeUnixNano":"{end}"}}"#
                        )
                    })
                    .collect();
                format!(
                    r#"{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"{service}"}}}}]}},"scopeSpans":[{{"spans":[{}]}}]}}"#,
                    spans.join(",")
                )
            })
            .collect();
        parse_traces(
            "t.json",
            &format!(r#"{{"resourceSpans":[{}]}}"#, resources.join(",")),
        )
        .unwrap()
    }

    fn calls(aggregator: &Aggregator) -> Vec<(String, String, u64)> {
        aggregator
            .service_edges()
            .into_iter()
            .map(|e| (e.client, e.server, e.calls))
            .collect()
    }

    #[test]
    fn halves_pair_across_batches_in_either_order() {
        let mut aggregator = Aggregator::new(GraphConfig::default());
        aggregator.ingest(&document(&[("api", &[(1, 2, 1, 2, 10)])]));
        assert!(calls(&aggregator).is_empty());
        aggregator.ingest(&document(&[("web", &[(1, 1, 0, 3, 10)])]));
        assert_eq!(calls(&aggregator), vec![("web".into(), "api".into(), 1)]);
        // a second server span under the same client span does not pair again
        aggregator.ingest(&document(&[("api", &[(1, 3, 1, 2, 10)])]));
        aggregator.flush();
        assert_eq!(calls(&aggregator), vec![("web".into(), "api".into(), 1)]);
        assert_eq!(aggregator.stats().expired_unpaired, 1);
    }

    #[test]
    fn expiry_follows_the_time_given() {
        let mut aggregator = Aggregator::new(GraphConfig::default());
        aggregator.ingest(&document(&[(
            "web",
            &[(1, 1, 0, 3, 100), (2, 1, 0, 3, 300)],
        )]));
        aggregator.expire(200);
        assert_eq!(
            calls(&aggregator),
            vec![("web".into(), "unknown".into(), 1)]
        );
        aggregator.ingest(&document(&[("api", &[(2, 2, 1, 2, 310)])]));
        assert_eq!(
            calls(&aggregator),
            vec![
                ("web".into(), "api".into(), 1),
                ("web".into(), "unknown".into(), 1)
            ]
        );
    }

    #[test]
    fn a_full_store_drops_new_halves() {
        let config = GraphConfig {
            max_items: 1,
            virtual_node_peer_attributes: Vec::new(),
            ..GraphConfig::default()
        };
        let mut aggregator = Aggregator::new(config);
        aggregator.ingest(&document(&[("web", &[(1, 1, 0, 3, 1), (2, 1, 0, 3, 1)])]));
        assert_eq!(aggregator.stats().dropped, 1);
        aggregator.flush();
        assert!(calls(&aggregator).is_empty(), "virtual nodes are off");
        assert_eq!(aggregator.stats().expired_unpaired, 1);
    }
}
