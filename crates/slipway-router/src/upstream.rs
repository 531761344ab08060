//! Upstream connections of the hyper path (the client connections the fast path hands over):
//! each client connection keeps its own HTTP/1.1 connection to every upstream instance it has
//! used, and hands them to a shared idle pool when it closes.
//!
//! Why not one shared pooled client: HTTP/1.1 answers one request at a time per connection, so
//! a client connection never needs more than one upstream connection per instance. Holding it
//! for the client connection's lifetime means the data path touches no shared lock per request
//! (the shared pool is locked only when a client connection first reaches an instance and when
//! it closes). New client connections still start on warm upstream connections from the idle
//! pool. The fast path follows the same scheme with plain sockets (`upstream_tcp`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

type Sender = SendRequest<Incoming>;

/// Why a request could not be forwarded.
#[derive(Debug)]
pub(crate) enum UpstreamError {
    /// No connection could be opened (refused, unreachable, or over the connect timeout).
    Connect(std::io::Error),
    /// The connection failed before the response head arrived.
    Exchange(hyper::Error),
}

impl std::fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UpstreamError::Connect(error) => write!(f, "cannot connect: {error}"),
            UpstreamError::Exchange(error) => write!(f, "exchange failed: {error}"),
        }
    }
}

impl UpstreamError {
    pub(crate) fn is_connect(&self) -> bool {
        matches!(self, UpstreamError::Connect(_))
    }
}

/// Idle upstream connections shared by all client connections of one router.
#[derive(Debug)]
pub(crate) struct UpstreamPool {
    idle: Mutex<HashMap<SocketAddr, Vec<(Sender, Instant)>>>,
    max_idle_per_host: usize,
    idle_timeout: Duration,
    connect_timeout: Duration,
}

impl UpstreamPool {
    pub(crate) fn new(
        max_idle_per_host: usize,
        idle_timeout: Duration,
        connect_timeout: Duration,
    ) -> Self {
        UpstreamPool {
            idle: Mutex::new(HashMap::new()),
            max_idle_per_host,
            idle_timeout,
            connect_timeout,
        }
    }

    /// A live idle connection to `addr`, if one was returned recently enough.
    fn take_idle(&self, addr: SocketAddr) -> Option<Sender> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let list = idle.get_mut(&addr)?;
        while let Some((sender, since)) = list.pop() {
            if !sender.is_closed() && since.elapsed() < self.idle_timeout {
                return Some(sender);
            }
        }
        None
    }

    /// Keeps `sender` for another client connection, within the per-address limit.
    fn put_idle(&self, addr: SocketAddr, sender: Sender) {
        if sender.is_closed() || self.max_idle_per_host == 0 {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let list = idle.entry(addr).or_default();
        // Expired and closed connections go first; the list stays bounded.
        list.retain(|(sender, since)| !sender.is_closed() && since.elapsed() < self.idle_timeout);
        if list.len() < self.max_idle_per_host {
            list.push((sender, Instant::now()));
        }
    }

    /// Opens a new HTTP/1.1 connection to `addr`; its driver task ends when the connection does.
    async fn connect(&self, addr: SocketAddr) -> Result<Sender, UpstreamError> {
        let stream = tokio::time::timeout(self.connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| {
                UpstreamError::Connect(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!(
                        "connecting to {addr} took longer than {:?}",
                        self.connect_timeout
                    ),
                ))
            })?
            .map_err(UpstreamError::Connect)?;
        // Latency matters more than packet count for small proxied messages.
        let _ = stream.set_nodelay(true);
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(UpstreamError::Exchange)?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%addr, %error, "upstream connection ended with an error");
            }
        });
        Ok(sender)
    }
}

/// The upstream connections one client connection holds, one per instance address.
#[derive(Debug)]
pub(crate) struct ConnectionUpstreams {
    pool: Arc<UpstreamPool>,
    held: Mutex<Vec<(SocketAddr, Sender)>>,
}

impl ConnectionUpstreams {
    pub(crate) fn new(pool: Arc<UpstreamPool>) -> Self {
        ConnectionUpstreams {
            pool,
            held: Mutex::new(Vec::new()),
        }
    }

    fn take_held(&self, addr: SocketAddr) -> Option<Sender> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let index = held.iter().position(|(a, _)| *a == addr)?;
        Some(held.swap_remove(index).1)
    }

    fn put_held(&self, addr: SocketAddr, sender: Sender) {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((addr, sender));
    }

    /// A ready connection to `addr`: the one this client connection holds, an idle one from
    /// the pool, or a new one.
    async fn ready_sender(&self, addr: SocketAddr) -> Result<Sender, UpstreamError> {
        for mut sender in [self.take_held(addr), self.pool.take_idle(addr)]
            .into_iter()
            .flatten()
        {
            // Ready at once unless the previous response body is still being read; an error
            // means the upstream closed the connection while it was idle.
            if sender.ready().await.is_ok() {
                return Ok(sender);
            }
        }
        let mut sender = self.pool.connect(addr).await?;
        sender.ready().await.map_err(UpstreamError::Exchange)?;
        Ok(sender)
    }

    /// Sends `request` to `addr` and returns the response head with its streaming body.
    ///
    /// A request a reused connection could not even start writing (the upstream had just
    /// closed it) is sent once more on a new connection; one that was written is never resent.
    pub(crate) async fn send(
        &self,
        addr: SocketAddr,
        request: Request<Incoming>,
    ) -> Result<Response<Incoming>, UpstreamError> {
        let mut sender = self.ready_sender(addr).await?;
        let response = match sender.try_send_request(request).await {
            Ok(response) => response,
            Err(mut failed) => match failed.take_message() {
                Some(request) => {
                    sender = self.pool.connect(addr).await?;
                    sender.ready().await.map_err(UpstreamError::Exchange)?;
                    sender
                        .send_request(request)
                        .await
                        .map_err(UpstreamError::Exchange)?
                }
                None => return Err(UpstreamError::Exchange(failed.into_error())),
            },
        };
        self.put_held(addr, sender);
        Ok(response)
    }
}

impl Drop for ConnectionUpstreams {
    fn drop(&mut self) {
        let held = std::mem::take(self.held.get_mut().unwrap_or_else(PoisonError::into_inner));
        for (addr, sender) in held {
            self.pool.put_idle(addr, sender);
        }
    }
}
