//! The fast path: a hand-written HTTP/1.1 forwarder that serves a client connection until it
//! closes or sends a request the fast path leaves to the hyper path.
//!
//! Per request: the head is parsed once with `httparse` in the client connection's buffer, a
//! version and instance are chosen from the routing table, the head is written upstream with
//! only the hop-by-hop headers changed, the body follows byte for byte (chunked stays
//! chunked), the response head is parsed and rewritten the same way, and the response body is
//! relayed by its framing without being decoded. A message that fits in one read costs one
//! read and one write on each side. The upstream connection is the client connection's own
//! (see `upstream_tcp`), so nothing shared is locked per request; the outcome is counted with
//! atomics when the response head arrives.
//!
//! A malformed head is answered 400 (431 when too large) and the connection closed. An
//! upstream that closes in the middle of a response makes the router close the client
//! connection, the only way left to tell the client the response is incomplete. A request
//! whose body the router did not read whole (an early response, a local answer to a request
//! with a body over 1 MiB or chunked) ends the client connection after its response.

use std::mem::MaybeUninit;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use http::StatusCode;
use http::header::HeaderName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::backend::Version;
use crate::body_framing::{BodyFraming, BodyProgress};
use crate::message_head::{
    MAX_HEAD_BYTES, MAX_HEADERS, RequestFacts, RequestVerdict, ResponseFacts, ResponseVerdict,
    finish_head, inspect_request, inspect_response, write_client_response, write_local_response,
    write_upstream_request,
};
use crate::metrics::StatusClass;
use crate::proxy::{LocalAnswer, ServiceProxy, UpstreamFailure};
use crate::table::InstanceState;
use crate::upstream_tcp::{HeldConnections, READ_BUFFER, UpstreamConnection};

/// The largest body of a request answered by the router itself that is read and dropped to
/// keep the connection; a larger one closes it.
const DROPPED_BODY_LIMIT: u64 = 1024 * 1024;

/// How a client connection left the fast path.
#[derive(Debug)]
pub(crate) enum Ending {
    /// It is closed.
    Closed,
    /// It sent a request the fast path does not handle; `buffered` holds that request's
    /// bytes read so far, for the hyper path to read first.
    HandOver {
        stream: TcpStream,
        buffered: BytesMut,
    },
}

/// Serves a client connection on the fast path. `token` ends it between requests.
pub(crate) async fn serve(
    stream: TcpStream,
    proxy: &ServiceProxy,
    token: &CancellationToken,
    header_read_timeout: Duration,
) -> Ending {
    let mut client = ClientConnection {
        proxy,
        stream,
        input: BytesMut::with_capacity(READ_BUFFER),
        output: Vec::with_capacity(READ_BUFFER),
        upstreams: HeldConnections::new(Arc::clone(&proxy.context.idle)),
        token,
        header_read_timeout,
    };
    let mut timers = Timers::new(header_read_timeout);
    loop {
        match client.serve_request(&mut timers).await {
            Next::KeepAlive => {}
            Next::Close => {
                close_lingering(client.stream).await;
                return Ending::Closed;
            }
            Next::HandOver => {
                return Ending::HandOver {
                    stream: client.stream,
                    buffered: client.input,
                };
            }
        }
    }
}

/// What follows one request on its client connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    KeepAlive,
    Close,
    HandOver,
}

/// What to do with the bytes at the start of the client buffer.
#[derive(Debug)]
enum Plan {
    /// No complete head yet.
    Partial,
    /// Not for the fast path.
    HandOver,
    /// Refused without routing; the connection closes after the answer.
    Refuse(StatusCode),
    /// Answered by the router (bad pin header, no ready instance).
    Answer {
        head_len: usize,
        facts: RequestFacts,
        answer: LocalAnswer,
    },
    /// Forwarded: the upstream request head is in the output buffer.
    Forward {
        head_len: usize,
        facts: RequestFacts,
        version: Version,
        instance: Arc<InstanceState>,
    },
}

/// A client connection and everything it holds.
struct ClientConnection<'a> {
    proxy: &'a ServiceProxy,
    stream: TcpStream,
    /// Bytes read from the client and not forwarded yet.
    input: BytesMut,
    /// Heads (and small bodies) being written, reused from request to request.
    output: Vec<u8>,
    upstreams: HeldConnections,
    token: &'a CancellationToken,
    header_read_timeout: Duration,
}

impl<'a> ClientConnection<'a> {
    async fn serve_request(&mut self, timers: &mut Timers) -> Next {
        let deadline = tokio::time::Instant::now() + self.header_read_timeout;
        let plan = loop {
            if !self.input.is_empty() {
                match self.plan() {
                    Plan::Partial => {}
                    plan => break plan,
                }
            }
            if !self.read_more(&mut timers.head, deadline).await {
                return Next::Close;
            }
        };
        let started = Instant::now();
        match plan {
            Plan::Partial | Plan::HandOver => Next::HandOver,
            Plan::Refuse(status) => {
                let body = format!(
                    "slipway router: {}\n",
                    status
                        .canonical_reason()
                        .unwrap_or("bad request")
                        .to_lowercase()
                );
                self.answer(&LocalAnswer { status, body }, None, true).await;
                Next::Close
            }
            Plan::Answer {
                head_len,
                facts,
                answer,
            } => {
                self.input.advance(head_len);
                // A small body is read and dropped so the connection can carry the next
                // request; after any other, it cannot.
                let droppable = match facts.body {
                    BodyFraming::Empty => true,
                    BodyFraming::Length(length) => length <= DROPPED_BODY_LIMIT,
                    BodyFraming::Chunked | BodyFraming::UntilClose => false,
                };
                let next = self.answer(&answer, None, facts.close || !droppable).await;
                if next == Next::KeepAlive && !self.drop_body(facts.body).await {
                    return Next::Close;
                }
                next
            }
            Plan::Forward {
                head_len,
                facts,
                version,
                instance,
            } => {
                self.input.advance(head_len);
                self.forward(&facts, version, &instance, started, timers)
                    .await
            }
        }
    }

    /// Reads and drops a request body the router answered itself; false when the client did
    /// not send it whole in time.
    async fn drop_body(&mut self, body: BodyFraming) -> bool {
        let mut sink = tokio::io::sink();
        let drop_all = send_body(
            &mut self.stream,
            &mut self.input,
            &mut sink,
            BodyProgress::new(body),
        );
        matches!(
            tokio::time::timeout(self.header_read_timeout, drop_all).await,
            Ok(Ok(()))
        )
    }

    /// Reads more of a request head; false when the client closed, failed, took too long, or
    /// the router is draining and no request has started.
    async fn read_more(&mut self, timer: &mut Timer, deadline: tokio::time::Instant) -> bool {
        self.input.reserve(READ_BUFFER);
        let idle = self.input.is_empty();
        let token = self.token;
        let read = self.stream.read_buf(&mut self.input);
        let result = within(timer, Some(deadline), async {
            tokio::select! {
                biased;
                read = read => read,
                () = token.cancelled(), if idle => Ok(0),
            }
        })
        .await;
        matches!(result, Some(Ok(n)) if n > 0)
    }

    /// Parses the head at the start of the input and decides what to do with its request.
    fn plan(&mut self) -> Plan {
        let mut headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut []);
        let head_len = match request.parse_with_uninit_headers(&self.input, &mut headers) {
            Ok(httparse::Status::Complete(head_len)) => head_len,
            Ok(httparse::Status::Partial) if self.input.len() >= MAX_HEAD_BYTES => {
                return Plan::Refuse(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
            }
            Ok(httparse::Status::Partial) => return Plan::Partial,
            Err(httparse::Error::TooManyHeaders) => {
                return Plan::Refuse(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
            }
            Err(_) => return Plan::Refuse(StatusCode::BAD_REQUEST),
        };
        let context = &self.proxy.context;
        let facts = match inspect_request(&request, &context.pin_header) {
            RequestVerdict::Forward(facts) => facts,
            RequestVerdict::HandOver => return Plan::HandOver,
            RequestVerdict::Reject => return Plan::Refuse(StatusCode::BAD_REQUEST),
        };
        match self.proxy.route(facts.pin) {
            Err(answer) => Plan::Answer {
                head_len,
                facts,
                answer,
            },
            Ok((version, instance)) => {
                self.output.clear();
                write_upstream_request(
                    &request,
                    &facts,
                    instance.authority.as_str(),
                    &mut self.output,
                );
                Plan::Forward {
                    head_len,
                    facts,
                    version,
                    instance,
                }
            }
        }
    }

    /// Sends a local answer; the connection closes after it when `close` is set or the router
    /// is draining.
    async fn answer(&mut self, answer: &LocalAnswer, tag: Option<Version>, close: bool) -> Next {
        let close = close || self.token.is_cancelled();
        let context = &self.proxy.context;
        let tag = tag
            .filter(|_| context.tag_responses)
            .map(|version| (&context.pin_header, version));
        self.output.clear();
        write_local_response(answer.status, &answer.body, tag, close, &mut self.output);
        match self.stream.write_all(&self.output).await {
            Ok(()) if !close => Next::KeepAlive,
            _ => Next::Close,
        }
    }

    /// Forwards a routed request whose upstream head is in the output buffer and relays the
    /// response.
    async fn forward(
        &mut self,
        facts: &RequestFacts,
        version: Version,
        instance: &InstanceState,
        started: Instant,
        timers: &mut Timers,
    ) -> Next {
        // A body already read whole goes upstream in the same write as the head.
        let buffered_body = match facts.body {
            BodyFraming::Empty => Some(0),
            BodyFraming::Length(length) => usize::try_from(length)
                .ok()
                .filter(|length| *length <= self.input.len()),
            BodyFraming::Chunked | BodyFraming::UntilClose => None,
        };
        match buffered_body {
            Some(length) => {
                self.output.extend_from_slice(&self.input[..length]);
                self.input.advance(length);
                self.forward_whole(facts, version, instance, started, &mut timers.response)
                    .await
            }
            None => {
                self.forward_streaming(facts, version, instance, started, &mut timers.response)
                    .await
            }
        }
    }

    /// The version tag responses get, if any.
    fn tag(&self, version: Version) -> Option<(&'a HeaderName, Version)> {
        let context = &self.proxy.context;
        context
            .tag_responses
            .then_some((&context.pin_header, version))
    }

    /// Counts a response head from the upstream of `version`.
    fn record(&self, version: Version, status: u16, started: Instant) {
        let class = StatusCode::from_u16(status).map_or(StatusClass::ServerError, StatusClass::of);
        self.proxy.metrics.record(version, class, started.elapsed());
    }

    /// Forwards a request held whole in the output buffer; it can be sent again if a reused
    /// upstream connection turns out to be closed.
    async fn forward_whole(
        &mut self,
        facts: &RequestFacts,
        version: Version,
        instance: &InstanceState,
        started: Instant,
        timer: &mut Timer,
    ) -> Next {
        let deadline = self.deadline();
        let result = within(
            timer,
            deadline,
            self.exchange_whole(instance, facts, version),
        )
        .await
        .unwrap_or_else(|| Err((UpstreamFailure::TimedOut, timed_out())));
        let (mut connection, response) = match result {
            Ok(exchanged) => exchanged,
            Err((failure, error)) => {
                let answer = self
                    .proxy
                    .upstream_failed(version, instance, failure, started, &error);
                return self.answer(&answer, Some(version), facts.close).await;
            }
        };
        self.record(version, response.status, started);
        let close =
            facts.close || response.body == BodyFraming::UntilClose || self.token.is_cancelled();
        finish_head(&mut self.output, close);
        let relayed = relay_body(
            &mut connection.stream,
            &mut connection.input,
            &mut self.stream,
            &mut self.output,
            response.body,
        )
        .await;
        match relayed {
            Ok(()) if response.reusable => self.upstreams.checkin(connection),
            Ok(()) => {}
            Err(()) => return Next::Close,
        }
        if close { Next::Close } else { Next::KeepAlive }
    }

    /// When the upstream's response head is due, if there is a request timeout.
    fn deadline(&self) -> Option<tokio::time::Instant> {
        self.proxy
            .context
            .request_timeout
            .map(|limit| tokio::time::Instant::now() + limit)
    }

    /// Sends the request in the output buffer and reads the response head, rewritten for the
    /// client, over it (without its final empty line).
    async fn exchange_whole(
        &mut self,
        instance: &InstanceState,
        facts: &RequestFacts,
        version: Version,
    ) -> Result<(UpstreamConnection, ResponseFacts), (UpstreamFailure, std::io::Error)> {
        let tag = self.tag(version);
        let mut connection = self
            .upstreams
            .checkout(instance.addr)
            .await
            .map_err(|e| (UpstreamFailure::Unreachable, e))?;
        let response = match send_whole(&mut connection, &mut self.output, facts.is_head, tag).await
        {
            Ok(response) => response,
            // The upstream closed a reused connection without answering: the request may
            // never have reached it, and resending it is harmless.
            Err(_) if connection.reused && facts.idempotent && connection.input.is_empty() => {
                connection = self
                    .upstreams
                    .connect(instance.addr)
                    .await
                    .map_err(|e| (UpstreamFailure::Unreachable, e))?;
                send_whole(&mut connection, &mut self.output, facts.is_head, tag)
                    .await
                    .map_err(|e| (UpstreamFailure::Failed, e))?
            }
            Err(error) => return Err((UpstreamFailure::Failed, error)),
        };
        Ok((connection, response))
    }

    /// Forwards a request whose body is not read yet: the body follows from the client as it
    /// arrives, while the response head is awaited (an upstream may answer before reading the
    /// body) and while the response body is relayed (an upstream may stream its answer while
    /// reading the body). The client connection closes unless the whole body went upstream.
    async fn forward_streaming(
        &mut self,
        facts: &RequestFacts,
        version: Version,
        instance: &InstanceState,
        started: Instant,
        timer: &mut Timer,
    ) -> Next {
        let proxy = self.proxy;
        let token = self.token;
        let tag = self.tag(version);
        let deadline = self.deadline();
        let mut connection =
            match within(timer, deadline, self.upstreams.checkout(instance.addr)).await {
                Some(Ok(connection)) => connection,
                failed => {
                    let (failure, error) = match failed {
                        Some(Err(error)) => (UpstreamFailure::Unreachable, error),
                        _ => (UpstreamFailure::TimedOut, timed_out()),
                    };
                    let answer = proxy.upstream_failed(version, instance, failure, started, &error);
                    return self.answer(&answer, Some(version), true).await;
                }
            };
        let outcome = {
            let (mut upstream_read, mut upstream_write) = connection.stream.split();
            let (mut client_read, mut client_write) = self.stream.split();
            let output = &mut self.output;
            let upstream_input = &mut connection.input;
            let head_written = upstream_write.write_all(output).await;
            let send = send_body(
                &mut client_read,
                &mut self.input,
                &mut upstream_write,
                BodyProgress::new(facts.body),
            );
            tokio::pin!(send);
            // None while the body is being forwarded, then whether all of it went.
            let mut sent = head_written.is_err().then_some(false);
            let head = {
                let head = within(
                    timer,
                    deadline,
                    read_response_head(
                        &mut upstream_read,
                        upstream_input,
                        output,
                        facts.is_head,
                        tag,
                    ),
                );
                match while_sending(send.as_mut(), &mut sent, head).await {
                    Some(head) => head,
                    None => return Next::Close,
                }
            };
            match head {
                None => StreamingOutcome::Failed(UpstreamFailure::TimedOut, timed_out()),
                Some(Err(error)) => StreamingOutcome::Failed(UpstreamFailure::Failed, error),
                Some(Ok(response)) => {
                    let class = StatusCode::from_u16(response.status)
                        .map_or(StatusClass::ServerError, StatusClass::of);
                    proxy.metrics.record(version, class, started.elapsed());
                    let close = facts.close
                        || sent == Some(false)
                        || response.body == BodyFraming::UntilClose
                        || token.is_cancelled();
                    finish_head(output, close);
                    let relay = relay_body(
                        &mut upstream_read,
                        upstream_input,
                        &mut client_write,
                        output,
                        response.body,
                    );
                    let Some(relayed) = while_sending(send.as_mut(), &mut sent, relay).await else {
                        return Next::Close;
                    };
                    StreamingOutcome::Relayed {
                        reusable: response.reusable && relayed.is_ok(),
                        keep_alive: !close && relayed.is_ok(),
                        sent: sent == Some(true),
                    }
                }
            }
        };
        match outcome {
            StreamingOutcome::Failed(failure, error) => {
                let answer = proxy.upstream_failed(version, instance, failure, started, &error);
                self.answer(&answer, Some(version), true).await
            }
            // A body not forwarded whole leaves both connections unusable.
            StreamingOutcome::Relayed {
                reusable,
                keep_alive,
                sent,
            } => {
                if reusable && sent {
                    self.upstreams.checkin(connection);
                }
                if keep_alive && sent {
                    Next::KeepAlive
                } else {
                    Next::Close
                }
            }
        }
    }
}

/// How forwarding a streamed request ended, short of the client going away.
#[derive(Debug)]
enum StreamingOutcome {
    /// No usable response head.
    Failed(UpstreamFailure, std::io::Error),
    /// A response was relayed, whole or not.
    Relayed {
        /// The upstream connection may carry another request.
        reusable: bool,
        /// The response did not say the client connection closes, and was relayed whole.
        keep_alive: bool,
        /// The whole request body went upstream.
        sent: bool,
    },
}

/// A connection's timer, armed again for every deadline.
type Timer = Pin<Box<tokio::time::Sleep>>;

/// The two timers of a client connection: one for request heads, one for response heads.
/// Each only ever moves later, which costs the runtime's timer wheel nothing (a fresh timeout
/// per request would be registered and removed every time, and wake the runtime's driver when
/// it was the only timer).
struct Timers {
    head: Timer,
    response: Timer,
}

impl Timers {
    fn new(first: Duration) -> Self {
        Timers {
            head: Box::pin(tokio::time::sleep(first)),
            response: Box::pin(tokio::time::sleep(first)),
        }
    }
}

/// Runs `work` until `deadline`, if any, on `timer`; `None` when the deadline passed.
async fn within<F: std::future::Future>(
    timer: &mut Timer,
    deadline: Option<tokio::time::Instant>,
    work: F,
) -> Option<F::Output> {
    let Some(deadline) = deadline else {
        return Some(work.await);
    };
    if timer.deadline() != deadline {
        timer.as_mut().reset(deadline);
    }
    tokio::select! {
        biased;
        output = work => Some(output),
        () = timer.as_mut() => None,
    }
}

fn timed_out() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::TimedOut, "no response head in time")
}

/// Writes the response head in `output` and the response body to the client. `Err` when
/// either side failed or the upstream ended the body early: the client connection must close.
async fn relay_body<R, W>(
    upstream: &mut R,
    upstream_input: &mut BytesMut,
    client: &mut W,
    output: &mut Vec<u8>,
    framing: BodyFraming,
) -> Result<(), ()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut progress = BodyProgress::new(framing);
    // What arrived with the head goes out with the head.
    let taken = progress.advance(upstream_input).map_err(drop)?;
    output.extend_from_slice(&upstream_input[..taken]);
    upstream_input.advance(taken);
    client.write_all(output).await.map_err(drop)?;
    while !progress.is_done() {
        upstream_input.reserve(READ_BUFFER);
        if upstream.read_buf(upstream_input).await.map_err(drop)? == 0 {
            // The end of a close-delimited body; any other body is cut short.
            return if progress == BodyProgress::UntilClose {
                Ok(())
            } else {
                Err(())
            };
        }
        let taken = progress.advance(upstream_input).map_err(drop)?;
        client
            .write_all(&upstream_input[..taken])
            .await
            .map_err(drop)?;
        upstream_input.advance(taken);
    }
    Ok(())
}

/// Writes the whole request in `output` and reads the response head into it.
async fn send_whole(
    connection: &mut UpstreamConnection,
    output: &mut Vec<u8>,
    to_head: bool,
    tag: Option<(&HeaderName, Version)>,
) -> std::io::Result<ResponseFacts> {
    connection.stream.write_all(output).await?;
    read_response_head(
        &mut connection.stream,
        &mut connection.input,
        output,
        to_head,
        tag,
    )
    .await
}

/// Reads up to the final response head (skipping 1xx interim ones) and writes its rewritten
/// form, without the final empty line, over `output`.
async fn read_response_head<R: AsyncRead + Unpin>(
    upstream: &mut R,
    input: &mut BytesMut,
    output: &mut Vec<u8>,
    to_head: bool,
    tag: Option<(&HeaderName, Version)>,
) -> std::io::Result<ResponseFacts> {
    loop {
        if !input.is_empty() {
            let mut headers =
                [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
            let mut response = httparse::Response::new(&mut []);
            let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
                &mut response,
                input,
                &mut headers,
            );
            match parsed {
                Ok(httparse::Status::Complete(head_len)) => {
                    match inspect_response(&response, to_head) {
                        ResponseVerdict::Interim => input.advance(head_len),
                        ResponseVerdict::Final(facts) => {
                            output.clear();
                            write_client_response(&response, &facts, tag, output);
                            input.advance(head_len);
                            return Ok(facts);
                        }
                        ResponseVerdict::Unusable => return Err(invalid("unusable response head")),
                    }
                    continue;
                }
                Ok(httparse::Status::Partial) if input.len() < MAX_HEAD_BYTES => {}
                Ok(httparse::Status::Partial) => return Err(invalid("response head too large")),
                Err(error) => return Err(invalid(error)),
            }
        }
        input.reserve(READ_BUFFER);
        if upstream.read_buf(input).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    }
}

fn invalid(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, error)
}

/// Which side failed while a request body was forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyError {
    Client,
    Upstream,
}

/// Forwards a request body from the client (`input` first) to the upstream, byte for byte.
async fn send_body<R, W>(
    client: &mut R,
    input: &mut BytesMut,
    upstream: &mut W,
    mut progress: BodyProgress,
) -> Result<(), BodyError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    while !progress.is_done() {
        if input.is_empty() {
            input.reserve(READ_BUFFER);
            match client.read_buf(input).await {
                Ok(0) | Err(_) => return Err(BodyError::Client),
                Ok(_) => {}
            }
        }
        let taken = progress.advance(input).map_err(|_| BodyError::Client)?;
        upstream
            .write_all(&input[..taken])
            .await
            .map_err(|_| BodyError::Upstream)?;
        input.advance(taken);
    }
    Ok(())
}

/// Closes a client connection so that a response just written survives: the write side is
/// shut first, then what the client still sends is read and dropped for a moment, since
/// closing a socket with unread input would reset the connection.
async fn close_lingering(mut stream: TcpStream) {
    const LINGER: Duration = Duration::from_millis(500);
    const LINGER_BYTES: usize = 256 * 1024;
    if stream.shutdown().await.is_err() {
        return;
    }
    let mut sink = vec![0u8; 8192];
    let _ = tokio::time::timeout(LINGER, async {
        let mut dropped = 0;
        while dropped < LINGER_BYTES {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => dropped += n,
            }
        }
    })
    .await;
}

/// Runs `work` to its end while the request body keeps flowing upstream through `send` (as
/// long as `sent` is `None`, which it then sets to whether all of the body went); `None` when
/// the client failed mid-body.
async fn while_sending<S, W>(
    mut send: std::pin::Pin<&mut S>,
    sent: &mut Option<bool>,
    work: W,
) -> Option<W::Output>
where
    S: std::future::Future<Output = Result<(), BodyError>>,
    W: std::future::Future,
{
    tokio::pin!(work);
    loop {
        tokio::select! {
            result = &mut send, if sent.is_none() => match result {
                Ok(()) => *sent = Some(true),
                Err(BodyError::Client) => return None,
                // The upstream may still answer (it refused the body early).
                Err(BodyError::Upstream) => *sent = Some(false),
            },
            done = &mut work => return Some(done),
        }
    }
}
