//! Routing decisions shared by both data paths (which version and instance a request goes
//! to, and the answers the router gives itself), and the hyper path: one request in, the
//! request forwarded over the client connection's own keep-alive upstream connection, the
//! response streamed back, the outcome counted for its version. The hyper path serves the
//! client connections the fast path (`fast_path`) hands over.
//!
//! Answers the router gives itself: 400 for a pin header that names no version, 503 when no
//! allowed version has a ready instance, 502 when the upstream cannot be reached or fails
//! before its response head, 504 when it does not answer within the request timeout.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{
    CONNECTION, CONTENT_TYPE, HOST, HeaderName, HeaderValue, TE, TRAILER, TRANSFER_ENCODING,
    UPGRADE,
};
use http::uri::PathAndQuery;
use http::{HeaderMap, Request, Response, StatusCode, Uri};
use http_body_util::{Either, Full};
use hyper::body::Incoming;

use crate::backend::Version;
use crate::message_head::Pin;
use crate::metrics::{RouterMetrics, StatusClass};
use crate::table::{Choice, InstanceState, ServiceRoutes};
use crate::upstream::{ConnectionUpstreams, UpstreamPool};
use crate::upstream_tcp::IdleConnections;

/// Body of a response the router sends: the upstream's, streamed, or the router's own text.
pub(crate) type ProxyBody = Either<Incoming, Full<Bytes>>;

/// Settings and the idle connection pool, shared by every service of one router.
#[derive(Debug)]
pub(crate) struct ProxyContext {
    /// Idle connections of the hyper path.
    pub(crate) upstreams: Arc<UpstreamPool>,
    /// Idle connections of the fast path.
    pub(crate) idle: Arc<IdleConnections>,
    pub(crate) pin_header: HeaderName,
    pub(crate) tag_responses: bool,
    pub(crate) request_timeout: Option<Duration>,
}

/// Everything the data path of one service needs.
#[derive(Debug)]
pub(crate) struct ServiceProxy {
    pub(crate) name: String,
    pub(crate) routes: ServiceRoutes,
    pub(crate) metrics: Arc<RouterMetrics>,
    pub(crate) context: Arc<ProxyContext>,
}

/// Headers that describe one connection, not the message: never forwarded.
const HOP_BY_HOP: [HeaderName; 6] = [
    CONNECTION,
    TE,
    TRAILER,
    TRANSFER_ENCODING,
    UPGRADE,
    HeaderName::from_static("keep-alive"),
];
const PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

/// An answer the router gives itself instead of a response from an upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LocalAnswer {
    pub(crate) status: StatusCode,
    pub(crate) body: String,
}

/// Why an upstream gave no response head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UpstreamFailure {
    /// Not within the request timeout: 504.
    TimedOut,
    /// No connection could be opened: 502.
    Unreachable,
    /// The connection failed, or the upstream sent no usable response head: 502.
    Failed,
}

impl ServiceProxy {
    /// Chooses where a request goes from what its pin header says. A bad pin header (400) and
    /// no ready instance (503) are answered by the router and counted as unrouted.
    pub(crate) fn route(&self, pin: Pin) -> Result<(Version, Arc<InstanceState>), LocalAnswer> {
        let pin = match pin {
            Pin::Absent => None,
            Pin::To(version) => Some(version),
            Pin::Invalid => {
                self.metrics.record_unrouted();
                return Err(LocalAnswer {
                    status: StatusCode::BAD_REQUEST,
                    body: format!(
                        "slipway router: header {} must be \"stable\" or \"canary\"\n",
                        self.context.pin_header
                    ),
                });
            }
        };
        match self.routes.choose(pin) {
            Choice::Upstream(version, instance) => Ok((version, instance)),
            Choice::NoReadyInstance => {
                self.metrics.record_unrouted();
                let which = match pin {
                    Some(version) => format!(
                        "of version {version} (pinned by header {})",
                        self.context.pin_header
                    ),
                    None => "of any version".to_owned(),
                };
                Err(LocalAnswer {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    body: format!(
                        "slipway router: service {:?} has no ready instance {which}\n",
                        self.name
                    ),
                })
            }
        }
    }

    /// Counts a request whose upstream gave no response head, logs why, and words the answer.
    pub(crate) fn upstream_failed(
        &self,
        version: Version,
        instance: &InstanceState,
        failure: UpstreamFailure,
        started: Instant,
        detail: &dyn std::fmt::Display,
    ) -> LocalAnswer {
        self.metrics
            .record(version, StatusClass::UpstreamError, started.elapsed());
        let (status, what) = match failure {
            UpstreamFailure::TimedOut => (StatusCode::GATEWAY_TIMEOUT, "did not answer in time"),
            UpstreamFailure::Unreachable => (StatusCode::BAD_GATEWAY, "is unreachable"),
            UpstreamFailure::Failed => (StatusCode::BAD_GATEWAY, "failed before answering"),
        };
        tracing::debug!(
            service = %self.name, %version, instance = %instance.id, addr = %instance.addr,
            error = %detail, "upstream {what}"
        );
        LocalAnswer {
            status,
            body: format!(
                "slipway router: the {version} upstream of service {:?} {what}\n",
                self.name
            ),
        }
    }

    /// Routes one request of a client connection (which holds `upstreams`) and returns the
    /// response to send to the client. This is the hyper path, which serves the connections
    /// the fast path hands over.
    pub(crate) async fn handle(
        &self,
        upstreams: &ConnectionUpstreams,
        request: Request<Incoming>,
    ) -> Response<ProxyBody> {
        let started = Instant::now();
        let context = &self.context;
        let pin = match request.headers().get(&context.pin_header) {
            None => Pin::Absent,
            Some(value) => Version::from_bytes(value.as_bytes()).map_or(Pin::Invalid, Pin::To),
        };
        let (version, instance) = match self.route(pin) {
            Ok(chosen) => chosen,
            Err(answer) => return local_response(answer),
        };

        let (mut parts, body) = request.into_parts();
        let path_and_query = parts
            .uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        // Origin form on the upstream connection; the client's Host header is passed through.
        parts.uri = Uri::from(path_and_query);
        strip_hop_by_hop(&mut parts.headers);
        if !parts.headers.contains_key(HOST)
            && let Ok(host) = HeaderValue::from_str(instance.authority.as_str())
        {
            parts.headers.insert(HOST, host);
        }
        // Upstream connections are HTTP/1.1 keep-alive whatever the client speaks.
        parts.version = http::Version::HTTP_11;
        let upstream_request = Request::from_parts(parts, body);

        let pending = upstreams.send(instance.addr, upstream_request);
        let result = match context.request_timeout {
            Some(limit) => tokio::time::timeout(limit, pending).await.map_err(|_| None),
            None => Ok(pending.await),
        }
        .and_then(|result| result.map_err(Some));

        let mut response = match result {
            Ok(response) => {
                self.metrics.record(
                    version,
                    StatusClass::of(response.status()),
                    started.elapsed(),
                );
                let (mut parts, body) = response.into_parts();
                strip_hop_by_hop(&mut parts.headers);
                Response::from_parts(parts, Either::Left(body))
            }
            Err(error) => {
                let failure = match &error {
                    None => UpstreamFailure::TimedOut,
                    Some(e) if e.is_connect() => UpstreamFailure::Unreachable,
                    Some(_) => UpstreamFailure::Failed,
                };
                let detail = error.map_or_else(|| "timed out".to_owned(), |e| e.to_string());
                local_response(self.upstream_failed(version, &instance, failure, started, &detail))
            }
        };
        if context.tag_responses {
            response.headers_mut().insert(
                context.pin_header.clone(),
                HeaderValue::from_static(version.as_str()),
            );
        }
        response
    }
}

/// Removes hop-by-hop headers, including those the `Connection` header names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let listed: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in listed {
        headers.remove(name);
    }
    for name in &HOP_BY_HOP {
        headers.remove(name);
    }
    headers.remove(PROXY_CONNECTION);
}

/// A plain-text response made by the router itself.
fn local_response(answer: LocalAnswer) -> Response<ProxyBody> {
    let mut response = Response::new(Either::Right(Full::new(Bytes::from(answer.body))));
    *response.status_mut() = answer.status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_and_connection_listed_ones_are_removed() {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONNECTION,
            HeaderValue::from_static("keep-alive, x-private"),
        );
        headers.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        headers.insert("x-private", HeaderValue::from_static("1"));
        headers.insert(TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        headers.insert("x-kept", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut headers);
        let names: Vec<_> = headers.keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["x-kept"]);
    }
}
