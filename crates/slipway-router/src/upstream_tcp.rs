//! Upstream TCP connections of the fast path: each client connection holds at most one
//! connection per upstream address for its lifetime and hands them, when it closes, to an idle
//! pool shared by the router's data-plane threads, where later client connections find them.
//!
//! The pool keeps its sockets deregistered from any runtime: a Tokio socket stays registered
//! with the runtime that opened it, so a connection reused on another thread would have every
//! wake-up cross cores. Moving through the pool costs two `epoll_ctl` calls instead. The
//! pool's lock is taken only when a client connection first reaches an address and when it
//! closes; requests on a held connection touch nothing shared.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::net::TcpStream;

/// Read buffer size of a connection; responses that fit are relayed with one read.
pub(crate) const READ_BUFFER: usize = 16 * 1024;

/// One open connection to an upstream.
#[derive(Debug)]
pub(crate) struct UpstreamConnection {
    pub(crate) addr: SocketAddr,
    pub(crate) stream: TcpStream,
    /// Bytes read from the upstream and not relayed yet.
    pub(crate) input: BytesMut,
    /// Whether it carried an earlier request (and may have been closed by the upstream since).
    pub(crate) reused: bool,
}

/// Idle upstream connections of one data-plane thread, and how to open new ones.
#[derive(Debug)]
pub(crate) struct IdleConnections {
    idle: Mutex<HashMap<SocketAddr, Vec<(std::net::TcpStream, Instant)>>>,
    max_idle_per_host: usize,
    idle_timeout: Duration,
    connect_timeout: Duration,
}

impl IdleConnections {
    pub(crate) fn new(
        max_idle_per_host: usize,
        idle_timeout: Duration,
        connect_timeout: Duration,
    ) -> Self {
        IdleConnections {
            idle: Mutex::new(HashMap::new()),
            max_idle_per_host,
            idle_timeout,
            connect_timeout,
        }
    }

    /// A live idle connection to `addr`, if one was returned recently enough, registered with
    /// the calling thread's runtime.
    fn take(&self, addr: SocketAddr) -> Option<TcpStream> {
        loop {
            let (stream, since) = {
                let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
                idle.get_mut(&addr)?.pop()?
            };
            if since.elapsed() < self.idle_timeout
                && is_quiet_std(&stream)
                && let Ok(stream) = TcpStream::from_std(stream)
            {
                return Some(stream);
            }
        }
    }

    /// Keeps `stream` for a later client connection, within the per-address limit.
    fn put(&self, addr: SocketAddr, stream: TcpStream) {
        if self.max_idle_per_host == 0 || !is_quiet(&stream) {
            return;
        }
        let Ok(stream) = stream.into_std() else {
            return;
        };
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let list = idle.entry(addr).or_default();
        // Expired connections go first; the list stays bounded.
        list.retain(|(_, since)| since.elapsed() < self.idle_timeout);
        if list.len() < self.max_idle_per_host {
            list.push((stream, Instant::now()));
        }
    }

    /// Opens a new connection to `addr` within the connect timeout.
    pub(crate) async fn connect(&self, addr: SocketAddr) -> std::io::Result<UpstreamConnection> {
        let stream = tokio::time::timeout(self.connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!(
                        "connecting to {addr} took longer than {:?}",
                        self.connect_timeout
                    ),
                )
            })??;
        // Latency matters more than packet count for small proxied messages.
        stream.set_nodelay(true)?;
        Ok(UpstreamConnection {
            addr,
            stream,
            input: BytesMut::with_capacity(READ_BUFFER),
            reused: false,
        })
    }
}

/// Whether an idle connection has nothing to read: no data, no end of stream, no error. Costs
/// no system call unless the runtime has seen the socket become readable.
fn is_quiet(stream: &TcpStream) -> bool {
    let mut probe = [0u8; 1];
    matches!(stream.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

/// `is_quiet` for a socket outside any runtime (still in non-blocking mode): one `recv` call.
fn is_quiet_std(stream: &std::net::TcpStream) -> bool {
    let mut probe = [0u8; 1];
    matches!(stream.peek(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

/// The upstream connections one client connection holds, back to the idle pool when it ends.
#[derive(Debug)]
pub(crate) struct HeldConnections {
    pool: Arc<IdleConnections>,
    held: Vec<UpstreamConnection>,
}

impl HeldConnections {
    pub(crate) fn new(pool: Arc<IdleConnections>) -> Self {
        HeldConnections {
            pool,
            held: Vec::new(),
        }
    }

    /// A connection to `addr`: the one held, an idle one from the pool, or a new one.
    pub(crate) async fn checkout(
        &mut self,
        addr: SocketAddr,
    ) -> std::io::Result<UpstreamConnection> {
        if let Some(index) = self.held.iter().position(|c| c.addr == addr) {
            let connection = self.held.swap_remove(index);
            if is_quiet(&connection.stream) {
                return Ok(connection);
            }
        }
        if let Some(stream) = self.pool.take(addr) {
            return Ok(UpstreamConnection {
                addr,
                stream,
                input: BytesMut::with_capacity(READ_BUFFER),
                reused: true,
            });
        }
        self.pool.connect(addr).await
    }

    /// A new connection to `addr`, whatever is held.
    pub(crate) async fn connect(&self, addr: SocketAddr) -> std::io::Result<UpstreamConnection> {
        self.pool.connect(addr).await
    }

    /// Keeps a connection that finished an exchange cleanly for the next request.
    pub(crate) fn checkin(&mut self, mut connection: UpstreamConnection) {
        if connection.input.is_empty() {
            connection.reused = true;
            self.held.push(connection);
        }
    }
}

impl Drop for HeldConnections {
    fn drop(&mut self) {
        for connection in self.held.drain(..) {
            self.pool.put(connection.addr, connection.stream);
        }
    }
}
