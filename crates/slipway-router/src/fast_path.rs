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
//! whose body the router did not read whole (an early response, a local answer) ends the
//! client connection after its response.

use std::mem::MaybeUninit;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use http::StatusCode;
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
    loop {
        match client.serve_request().await {
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

/// Why an exchange with the upstream produced no response head.
#[derive(Debug)]
enum ExchangeError {
    Upstream(UpstreamFailure, std::io::Error),
    /// The client went away or broke the framing of its body while it was being forwarded.
    Client,
}

/// A response head received and rewritten into the output buffer.
#[derive(Debug)]
struct Exchanged {
    connection: UpstreamConnection,
    response: ResponseFacts,
    /// Whether the client's whole request body went upstream.
    request_sent: bool,
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

impl ClientConnection<'_> {
    async fn serve_request(&mut self) -> Next {
        let deadline = tokio::time::Instant::now() + self.header_read_timeout;
        let plan = loop {
            if !self.input.is_empty() {
                match self.plan() {
                    Plan::Partial => {}
                    plan => break plan,
                }
            }
            if !self.read_more(deadline).await {
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
                // The body was not read: the connection cannot carry another request.
                let close = facts.close || facts.body != BodyFraming::Empty;
                self.answer(&answer, None, close).await
            }
            Plan::Forward {
                head_len,
                facts,
                version,
                instance,
            } => {
                self.input.advance(head_len);
                self.forward(&facts, version, &instance, started).await
            }
        }
    }

    /// Reads more of a request head; false when the client closed, failed, took too long, or
    /// the router is draining and no request has started.
    async fn read_more(&mut self, deadline: tokio::time::Instant) -> bool {
        self.input.reserve(READ_BUFFER);
        let idle = self.input.is_empty();
        let token = self.token;
        let read = self.stream.read_buf(&mut self.input);
        let result = tokio::time::timeout_at(deadline, async {
            tokio::select! {
                biased;
                read = read => read,
                () = token.cancelled(), if idle => Ok(0),
            }
        })
        .await;
        matches!(result, Ok(Ok(n)) if n > 0)
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
    ) -> Next {
        // A body already read whole goes upstream in the same write as the head, and can be
        // sent again if a reused connection turns out to be closed.
        let buffered_body = match facts.body {
            BodyFraming::Empty => Some(0),
            BodyFraming::Length(length) => usize::try_from(length)
                .ok()
                .filter(|length| *length <= self.input.len()),
            BodyFraming::Chunked | BodyFraming::UntilClose => None,
        };
        if let Some(length) = buffered_body {
            self.output.extend_from_slice(&self.input[..length]);
            self.input.advance(length);
        }
        let whole = buffered_body.is_some();
        let request_timeout = self.proxy.context.request_timeout;
        let pending = self.exchange(instance, facts, version, whole);
        let result = match request_timeout {
            Some(limit) => tokio::time::timeout(limit, pending)
                .await
                .unwrap_or_else(|_| {
                    Err(ExchangeError::Upstream(
                        UpstreamFailure::TimedOut,
                        std::io::ErrorKind::TimedOut.into(),
                    ))
                }),
            None => pending.await,
        };
        let exchanged = match result {
            Ok(exchanged) => exchanged,
            Err(ExchangeError::Client) => return Next::Close,
            Err(ExchangeError::Upstream(failure, error)) => {
                let answer = self
                    .proxy
                    .upstream_failed(version, instance, failure, started, &error);
                // A body not read whole leaves the connection unusable.
                return self.answer(&answer, Some(version), !whole).await;
            }
        };
        self.proxy.metrics.record(
            version,
            StatusCode::from_u16(exchanged.response.status)
                .map_or(StatusClass::ServerError, StatusClass::of),
            started.elapsed(),
        );
        let close = facts.close
            || !exchanged.request_sent
            || exchanged.response.body == BodyFraming::UntilClose
            || self.token.is_cancelled();
        finish_head(&mut self.output, close);
        let Exchanged {
            mut connection,
            response,
            request_sent,
        } = exchanged;
        match self.relay_body(&mut connection, response.body).await {
            Ok(()) if response.reusable && request_sent => self.upstreams.checkin(connection),
            Ok(()) => {}
            Err(()) => return Next::Close,
        }
        if close { Next::Close } else { Next::KeepAlive }
    }

    /// Sends the request upstream and reads the response head, rewritten for the client into
    /// the output buffer (without its final empty line). With `whole`, the output buffer holds
    /// the whole request; otherwise the body is forwarded from the client as it arrives, while
    /// the response head is awaited (an upstream may answer before reading the body).
    async fn exchange(
        &mut self,
        instance: &InstanceState,
        facts: &RequestFacts,
        version: Version,
        whole: bool,
    ) -> Result<Exchanged, ExchangeError> {
        let context = &self.proxy.context;
        let tag = context
            .tag_responses
            .then_some((&context.pin_header, version));
        let mut connection = self
            .upstreams
            .checkout(instance.addr)
            .await
            .map_err(|e| ExchangeError::Upstream(UpstreamFailure::Unreachable, e))?;
        if whole {
            let first = send_whole(&mut connection, &mut self.output, facts.is_head, tag).await;
            let retry = connection.reused && facts.idempotent && connection.input.is_empty();
            let response = match first {
                Ok(response) => response,
                // The upstream closed a reused connection before answering: the request may
                // never have reached it, and resending it is harmless.
                Err(_) if retry => {
                    connection =
                        self.upstreams.connect(instance.addr).await.map_err(|e| {
                            ExchangeError::Upstream(UpstreamFailure::Unreachable, e)
                        })?;
                    send_whole(&mut connection, &mut self.output, facts.is_head, tag)
                        .await
                        .map_err(|e| ExchangeError::Upstream(UpstreamFailure::Failed, e))?
                }
                Err(error) => return Err(ExchangeError::Upstream(UpstreamFailure::Failed, error)),
            };
            return Ok(Exchanged {
                connection,
                response,
                request_sent: true,
            });
        }

        let (response, sent) = {
            let (mut upstream_read, mut upstream_write) = connection.stream.split();
            upstream_write
                .write_all(&self.output)
                .await
                .map_err(|e| ExchangeError::Upstream(UpstreamFailure::Failed, e))?;
            let (mut client_read, _) = self.stream.split();
            let send = send_body(
                &mut client_read,
                &mut self.input,
                &mut upstream_write,
                BodyProgress::new(facts.body),
            );
            let head = read_response_head(
                &mut upstream_read,
                &mut connection.input,
                &mut self.output,
                facts.is_head,
                tag,
            );
            tokio::pin!(send, head);
            let mut sent = None;
            let response = loop {
                tokio::select! {
                    result = &mut send, if sent.is_none() => match result {
                        Ok(()) => sent = Some(true),
                        Err(BodyError::Client) => return Err(ExchangeError::Client),
                        // The upstream may still answer (it refused the body early).
                        Err(BodyError::Upstream) => sent = Some(false),
                    },
                    response = &mut head => break response,
                }
            };
            (response, sent)
        };
        let response = response.map_err(|e| ExchangeError::Upstream(UpstreamFailure::Failed, e))?;
        Ok(Exchanged {
            connection,
            response,
            request_sent: sent == Some(true),
        })
    }

    /// Writes the response head in the output buffer and the response body to the client.
    /// `Err` when either side failed or the upstream ended the body early: the client
    /// connection must close.
    async fn relay_body(
        &mut self,
        connection: &mut UpstreamConnection,
        framing: BodyFraming,
    ) -> Result<(), ()> {
        let mut progress = BodyProgress::new(framing);
        // What arrived with the head goes out with the head.
        let taken = progress.advance(&connection.input).map_err(drop)?;
        self.output.extend_from_slice(&connection.input[..taken]);
        connection.input.advance(taken);
        self.stream.write_all(&self.output).await.map_err(drop)?;
        while !progress.is_done() {
            connection.input.reserve(READ_BUFFER);
            let read = connection
                .stream
                .read_buf(&mut connection.input)
                .await
                .map_err(drop)?;
            if read == 0 {
                // The end of a close-delimited body; any other body is cut short.
                return if progress == BodyProgress::UntilClose {
                    Ok(())
                } else {
                    Err(())
                };
            }
            let taken = progress.advance(&connection.input).map_err(drop)?;
            self.stream
                .write_all(&connection.input[..taken])
                .await
                .map_err(drop)?;
            connection.input.advance(taken);
        }
        Ok(())
    }
}

/// Writes the whole request in `output` and reads the response head into it.
async fn send_whole(
    connection: &mut UpstreamConnection,
    output: &mut Vec<u8>,
    to_head: bool,
    tag: Option<(&http::HeaderName, Version)>,
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
    tag: Option<(&http::HeaderName, Version)>,
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
