//! `BuiltinRouter`: the embedded `TrafficRouter`, one HTTP/1.1 listener per service in this
//! process, forwarding over keep-alive upstream connections held per client connection, shut
//! down gracefully under a `CancellationToken` with its connections drained.
//!
//! Every client connection starts on the fast path (`fast_path`), a hand-written HTTP/1.1
//! forwarder; at the first request it does not handle (HTTP/1.0, `Upgrade`, `Expect`, absolute
//! request targets, unusual transfer codings), the connection moves to the hyper server and
//! the hyper path in `proxy` for the rest of its life, its bytes already read replayed first.
//!
//! The data plane runs on its own threads, each a single-threaded Tokio runtime accepting from
//! every service's listener: a client connection and its upstream connections live on one
//! thread, so a proxied request never wakes a task on another core. The control plane
//! (`TrafficRouter` calls) runs wherever its caller does and only swaps the lock-free routing
//! tables the data plane reads.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use bytes::BytesMut;
use http::header::HeaderName;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::backend::{CanaryWeight, Instance, InstanceId};
use crate::error::RouterError;
use crate::fast_path;
use crate::metrics::{MetricsSnapshot, RouterMetrics};
use crate::prometheus::render_prometheus;
use crate::proxy::{ProxyContext, ServiceProxy};
use crate::table::{InstanceState, RoutingTable, ServiceRoutes, VersionPool};
use crate::traffic_router::TrafficRouter;
use crate::upstream::{ConnectionUpstreams, UpstreamPool};
use crate::upstream_tcp::IdleConnections;

/// Settings of the built-in router.
#[derive(Debug, Clone)]
pub struct RouterConfig {
    /// Request header that pins a request to a version (`stable` or `canary`).
    pub pin_header: HeaderName,
    /// Whether responses carry the pin header naming the version that served them.
    pub tag_responses: bool,
    /// Limit for opening an upstream connection.
    pub connect_timeout: Duration,
    /// Limit from forwarding a request to receiving the upstream's response head; `None` for
    /// no limit. A request over it is answered 504 and counted as an upstream error.
    pub request_timeout: Option<Duration>,
    /// Limit for a client to send a request head.
    pub header_read_timeout: Duration,
    /// How long an idle pooled upstream connection is kept.
    pub pool_idle_timeout: Duration,
    /// Idle pooled connections kept per upstream address.
    pub pool_max_idle_per_host: usize,
    /// How long `shutdown` waits for open connections to finish before dropping them.
    pub drain_timeout: Duration,
    /// Data-plane threads (each a single-threaded runtime); at least one.
    pub data_plane_threads: usize,
}

impl Default for RouterConfig {
    fn default() -> Self {
        RouterConfig {
            pin_header: HeaderName::from_static("x-slipway-version"),
            tag_responses: true,
            connect_timeout: Duration::from_secs(2),
            request_timeout: Some(Duration::from_secs(60)),
            header_read_timeout: Duration::from_secs(30),
            pool_idle_timeout: Duration::from_secs(60),
            pool_max_idle_per_host: 256,
            drain_timeout: Duration::from_secs(10),
            data_plane_threads: std::thread::available_parallelism().map_or(1, usize::from),
        }
    }
}

/// One served service.
#[derive(Debug)]
struct ServiceEntry {
    proxy: Arc<ServiceProxy>,
    requested: SocketAddr,
    local_addr: SocketAddr,
    token: CancellationToken,
}

/// Control-path state; the data path never locks it.
#[derive(Debug, Default)]
struct State {
    services: HashMap<String, ServiceEntry>,
    /// Every instance id of every service, with its owner.
    instances: HashMap<InstanceId, (String, Arc<InstanceState>)>,
}

#[derive(Debug)]
struct Inner {
    config: RouterConfig,
    context: Arc<ProxyContext>,
    server: http1::Builder,
    state: Mutex<State>,
    /// Cancelled to stop accepting and start draining.
    token: CancellationToken,
    /// Cancelled when the drain timeout runs out: connections still open are dropped.
    hard_stop: CancellationToken,
    tracker: TaskTracker,
    /// The data-plane runtimes; their threads end when `workers_stop` is cancelled.
    workers: Vec<tokio::runtime::Handle>,
    workers_stop: CancellationToken,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The last handle is gone: stop the listeners (their tasks do not hold `Inner`) and
        // the data-plane threads.
        self.token.cancel();
        self.workers_stop.cancel();
    }
}

/// Starts `count` data-plane threads, each driving a single-threaded runtime until `stop`.
fn start_workers(
    count: usize,
    stop: &CancellationToken,
) -> std::io::Result<Vec<tokio::runtime::Handle>> {
    let mut handles = Vec::new();
    for index in 0..count.max(1) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        handles.push(runtime.handle().clone());
        let stop = stop.clone();
        std::thread::Builder::new()
            .name(format!("slipway-router-{index}"))
            .spawn(move || runtime.block_on(stop.cancelled()))?;
    }
    Ok(handles)
}

/// The built-in HTTP traffic router. Cheap to clone; all clones drive the same listeners.
#[derive(Debug, Clone)]
pub struct BuiltinRouter {
    inner: Arc<Inner>,
}

impl BuiltinRouter {
    /// A router with no services. It stops accepting when `shutdown` is called or `parent` is
    /// cancelled; call `shutdown` in both cases to wait for connections to drain. Fails only
    /// when the data-plane threads cannot be started.
    pub fn new(config: RouterConfig, parent: &CancellationToken) -> Result<Self, RouterError> {
        let workers_stop = CancellationToken::new();
        let workers = start_workers(config.data_plane_threads, &workers_stop)
            .map_err(RouterError::Workers)?;
        let upstreams = Arc::new(UpstreamPool::new(
            config.pool_max_idle_per_host,
            config.pool_idle_timeout,
            config.connect_timeout,
        ));
        let mut server = http1::Builder::new();
        server
            .keep_alive(true)
            .timer(TokioTimer::new())
            .header_read_timeout(config.header_read_timeout);
        let context = Arc::new(ProxyContext {
            upstreams,
            idle: Arc::new(IdleConnections::new(
                config.pool_max_idle_per_host,
                config.pool_idle_timeout,
                config.connect_timeout,
            )),
            pin_header: config.pin_header.clone(),
            tag_responses: config.tag_responses,
            request_timeout: config.request_timeout,
        });
        Ok(BuiltinRouter {
            inner: Arc::new(Inner {
                config,
                context,
                server,
                state: Mutex::new(State::default()),
                token: parent.child_token(),
                hard_stop: CancellationToken::new(),
                tracker: TaskTracker::new(),
                workers,
                workers_stop,
            }),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // matters more than stopping routing would; keep going.
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Where a service listens.
    pub fn local_addr(&self, service: &str) -> Option<SocketAddr> {
        self.state().services.get(service).map(|e| e.local_addr)
    }

    /// A service's live metrics, for an evaluator that snapshots them every second without
    /// going through the async trait.
    pub fn metrics_handle(&self, service: &str) -> Option<Arc<RouterMetrics>> {
        self.state()
            .services
            .get(service)
            .map(|e| Arc::clone(&e.proxy.metrics))
    }

    /// A service's current canary weight.
    pub fn canary_weight(&self, service: &str) -> Option<CanaryWeight> {
        self.state()
            .services
            .get(service)
            .map(|e| e.proxy.routes.weight())
    }

    /// Every service's metrics in Prometheus text format, services sorted by name.
    pub fn render_prometheus(&self) -> String {
        let mut snapshots: Vec<(String, MetricsSnapshot)> = self
            .state()
            .services
            .iter()
            .map(|(name, e)| (name.clone(), e.proxy.metrics.snapshot()))
            .collect();
        snapshots.sort_by(|a, b| a.0.cmp(&b.0));
        let borrowed: Vec<(&str, &MetricsSnapshot)> =
            snapshots.iter().map(|(n, s)| (n.as_str(), s)).collect();
        let mut out = String::new();
        render_prometheus(&mut out, &borrowed);
        out
    }

    /// Stops accepting on every listener, lets in-flight requests finish and closes idle
    /// connections, waiting up to the drain timeout; connections still open then are dropped
    /// and reported as an error.
    pub async fn shutdown(&self) -> Result<(), RouterError> {
        let inner = &self.inner;
        inner.token.cancel();
        inner.tracker.close();
        let result = if tokio::time::timeout(inner.config.drain_timeout, inner.tracker.wait())
            .await
            .is_ok()
        {
            Ok(())
        } else {
            let open = inner.tracker.len();
            inner.hard_stop.cancel();
            inner.tracker.wait().await;
            Err(RouterError::DrainTimeout { open })
        };
        inner.workers_stop.cancel();
        result
    }

    fn existing_addr(
        &self,
        state: &State,
        service: &str,
        listen: SocketAddr,
    ) -> Option<Result<SocketAddr, RouterError>> {
        let entry = state.services.get(service)?;
        Some(
            if listen.port() == 0 || listen == entry.requested || listen == entry.local_addr {
                Ok(entry.local_addr)
            } else {
                Err(RouterError::ListenerConflict {
                    service: service.to_owned(),
                    existing: entry.local_addr,
                    requested: listen,
                })
            },
        )
    }

    fn set_backends_now(
        &self,
        service: &str,
        stable: Vec<Instance>,
        canary: Vec<Instance>,
    ) -> Result<(), RouterError> {
        let mut state = self.state();
        let State {
            services,
            instances,
        } = &mut *state;
        let entry = services
            .get(service)
            .ok_or_else(|| RouterError::UnknownService(service.to_owned()))?;
        let mut seen = HashSet::new();
        for instance in stable.iter().chain(canary.iter()) {
            if !seen.insert(&instance.id) {
                return Err(RouterError::DuplicateInstance {
                    service: service.to_owned(),
                    id: instance.id.clone(),
                });
            }
            if let Some((owner, _)) = instances.get(&instance.id)
                && owner != service
            {
                return Err(RouterError::InstanceOfOtherService {
                    service: service.to_owned(),
                    owner: owner.clone(),
                    id: instance.id.clone(),
                });
            }
        }
        let build = |list: Vec<Instance>| -> Result<Vec<Arc<InstanceState>>, RouterError> {
            list.into_iter()
                .map(|instance| match instances.get(&instance.id) {
                    // Same id, same address: the same state, readiness and all.
                    Some((_, known)) if known.addr == instance.addr => Ok(Arc::clone(known)),
                    // Same id, new address: keep the readiness the router knows.
                    known => {
                        let ready = known.map_or(instance.ready, |(_, k)| k.is_ready());
                        InstanceState::new(instance.id.clone(), instance.addr, ready)
                            .map(Arc::new)
                            .ok_or(RouterError::BadAddress {
                                id: instance.id,
                                addr: instance.addr,
                            })
                    }
                })
                .collect()
        };
        let table = RoutingTable {
            stable: VersionPool::new(build(stable)?),
            canary: VersionPool::new(build(canary)?),
        };
        instances.retain(|_, (owner, _)| owner != service);
        for instance in table.instances() {
            instances.insert(
                instance.id.clone(),
                (service.to_owned(), Arc::clone(instance)),
            );
        }
        entry.proxy.routes.set_table(table);
        Ok(())
    }
}

#[async_trait]
impl TrafficRouter for BuiltinRouter {
    async fn ensure_service(
        &self,
        service: &str,
        listen: SocketAddr,
    ) -> Result<SocketAddr, RouterError> {
        if self.inner.token.is_cancelled() {
            return Err(RouterError::ShutDown);
        }
        if let Some(existing) = self.existing_addr(&self.state(), service, listen) {
            return existing;
        }
        let bind_error = |source| RouterError::Bind {
            service: service.to_owned(),
            addr: listen,
            source,
        };
        let listener = TcpListener::bind(listen).await.map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;
        // Every data-plane thread accepts from its own handle on the one listening socket.
        let listener = listener.into_std().map_err(bind_error)?;
        let mut listeners = Vec::new();
        for _ in &self.inner.workers {
            listeners.push(listener.try_clone().map_err(bind_error)?);
        }
        let mut state = self.state();
        // Another caller may have added the service while this one was binding.
        if let Some(existing) = self.existing_addr(&state, service, listen) {
            return existing;
        }
        let proxy = Arc::new(ServiceProxy {
            name: service.to_owned(),
            routes: ServiceRoutes::new(),
            metrics: Arc::new(RouterMetrics::new()),
            context: Arc::clone(&self.inner.context),
        });
        let token = self.inner.token.child_token();
        for (worker, listener) in self.inner.workers.iter().zip(listeners) {
            let tracker = &self.inner.tracker;
            let connections = ConnectionSettings {
                proxy: Arc::clone(&proxy),
                server: self.inner.server.clone(),
                header_read_timeout: self.inner.config.header_read_timeout,
                token: token.clone(),
                hard_stop: self.inner.hard_stop.clone(),
            };
            worker.spawn(tracker.track_future(accept_loop(listener, connections, tracker.clone())));
        }
        state.services.insert(
            service.to_owned(),
            ServiceEntry {
                proxy,
                requested: listen,
                local_addr,
                token,
            },
        );
        tracing::info!(service, %local_addr, "router listening");
        Ok(local_addr)
    }

    async fn remove_service(&self, service: &str) -> Result<(), RouterError> {
        let mut state = self.state();
        if let Some(entry) = state.services.remove(service) {
            entry.token.cancel();
            state.instances.retain(|_, (owner, _)| owner != service);
        }
        Ok(())
    }

    async fn set_backends(
        &self,
        service: &str,
        stable: Vec<Instance>,
        canary: Vec<Instance>,
    ) -> Result<(), RouterError> {
        self.set_backends_now(service, stable, canary)
    }

    async fn set_canary_weight(
        &self,
        service: &str,
        weight: CanaryWeight,
    ) -> Result<(), RouterError> {
        let state = self.state();
        let entry = state
            .services
            .get(service)
            .ok_or_else(|| RouterError::UnknownService(service.to_owned()))?;
        entry.proxy.routes.set_weight(weight);
        Ok(())
    }

    async fn set_ready(&self, instance: &InstanceId, ready: bool) -> Result<(), RouterError> {
        let state = self.state();
        let (_, known) = state
            .instances
            .get(instance)
            .ok_or_else(|| RouterError::UnknownInstance(instance.clone()))?;
        known
            .ready
            .store(ready, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    async fn metrics(&self, service: &str) -> Result<MetricsSnapshot, RouterError> {
        self.metrics_handle(service)
            .map(|m| m.snapshot())
            .ok_or_else(|| RouterError::UnknownService(service.to_owned()))
    }
}

/// What every client connection of one service on one data-plane thread is served with.
#[derive(Debug, Clone)]
struct ConnectionSettings {
    proxy: Arc<ServiceProxy>,
    /// The hyper server for connections the fast path hands over.
    server: http1::Builder,
    header_read_timeout: Duration,
    /// Cancelled to stop accepting and drain.
    token: CancellationToken,
    /// Cancelled when the drain timeout runs out.
    hard_stop: CancellationToken,
}

/// Accepts connections of one service on this data-plane thread until its token is cancelled.
async fn accept_loop(
    listener: std::net::TcpListener,
    settings: ConnectionSettings,
    tracker: TaskTracker,
) {
    let name = &settings.proxy.name;
    let listener = match TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!(service = %name, %error, "router listener unusable");
            return;
        }
    };
    loop {
        let accepted = tokio::select! {
            biased;
            () = settings.token.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _peer)) => {
                tracker.spawn(serve_connection(stream, settings.clone()));
            }
            Err(error) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(service = %name, %error, "router accept failed");
                tokio::select! {
                    () = settings.token.cancelled() => break,
                    () = tokio::time::sleep(Duration::from_millis(50)) => {}
                }
            }
        }
    }
    tracing::debug!(service = %name, "router listener closed");
}

/// Serves one client connection, on the fast path and, from the first request the fast path
/// does not handle, on the hyper path; on cancellation, finishes the request in flight and
/// closes. Drops the connection when `hard_stop` is cancelled.
async fn serve_connection(stream: TcpStream, settings: ConnectionSettings) {
    // Latency matters more than packet count for small proxied messages.
    let _ = stream.set_nodelay(true);
    // This connection's own tokens: waiting on them locks nothing other connections share.
    let token = settings.token.child_token();
    let hard_stop = settings.hard_stop.child_token();
    let proxy = &settings.proxy;
    let served = async {
        let ending = fast_path::serve(stream, proxy, &token, settings.header_read_timeout).await;
        if let fast_path::Ending::HandOver { stream, buffered } = ending {
            serve_with_hyper(stream, buffered, proxy, &settings.server, &token).await;
        }
    };
    tokio::select! {
        biased;
        () = served => {}
        () = hard_stop.cancelled() => {}
    }
}

/// Serves the rest of a client connection with hyper, `buffered` being what the fast path
/// already read from it.
async fn serve_with_hyper(
    stream: TcpStream,
    buffered: BytesMut,
    proxy: &Arc<ServiceProxy>,
    server: &http1::Builder,
    token: &CancellationToken,
) {
    let (read, write) = stream.into_split();
    let io = tokio::io::join(std::io::Cursor::new(buffered.freeze()).chain(read), write);
    // This connection's own upstream connections, back to the idle pool when it closes.
    let upstreams = Arc::new(ConnectionUpstreams::new(Arc::clone(
        &proxy.context.upstreams,
    )));
    let proxy = Arc::clone(proxy);
    let service = service_fn(move |request| {
        let proxy = Arc::clone(&proxy);
        let upstreams = Arc::clone(&upstreams);
        async move { Ok::<_, Infallible>(proxy.handle(&upstreams, request).await) }
    });
    let connection = server.serve_connection(TokioIo::new(io), service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = token.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.as_mut().await
        }
    };
    if let Err(error) = result {
        tracing::debug!(%error, "router connection ended with an error");
    }
}
