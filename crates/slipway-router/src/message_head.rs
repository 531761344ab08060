//! HTTP/1.1 message heads on the fast path: what a request or response head parsed by
//! `httparse` says about its body and its connection, and the heads the router writes on —
//! the same header lines minus the hop-by-hop ones, plus what the router adds.
//!
//! Requests the fast path leaves to the hyper path (`RequestVerdict::HandOver`): HTTP/1.0,
//! `CONNECT`, request targets not in origin form, `Upgrade`, `Expect`, transfer codings other
//! than plain `chunked`, and `Transfer-Encoding` together with `Content-Length`.

use std::time::SystemTime;

use http::StatusCode;
use http::header::HeaderName;

use crate::backend::Version;
use crate::body_framing::BodyFraming;

/// At most this many header lines in one head (hyper's default too).
pub(crate) const MAX_HEADERS: usize = 100;
/// A head that does not end within this many bytes is refused.
pub(crate) const MAX_HEAD_BYTES: usize = 64 * 1024;

/// What the pin header of a request says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pin {
    /// No pin header.
    Absent,
    /// Pinned to this version.
    To(Version),
    /// A pin header naming no version.
    Invalid,
}

/// What the fast path needs to know about a request it forwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RequestFacts {
    pub(crate) body: BodyFraming,
    /// The client asked to close the connection after this exchange.
    pub(crate) close: bool,
    /// A `HEAD` request: its response has no body whatever its headers say.
    pub(crate) is_head: bool,
    /// Retrying it on a fresh connection is harmless (RFC 9110 section 9.2.2).
    pub(crate) idempotent: bool,
    pub(crate) has_host: bool,
    /// The `Connection` header names other headers, which are then not forwarded.
    pub(crate) names_headers: bool,
    pub(crate) pin: Pin,
}

/// What to do with a request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestVerdict {
    Forward(RequestFacts),
    /// Something the fast path does not handle: the hyper path takes the connection over.
    HandOver,
    /// A head no server should accept (bad or conflicting `Content-Length`): 400.
    Reject,
}

/// Reads a parsed request head.
pub(crate) fn inspect_request(
    request: &httparse::Request<'_, '_>,
    pin_header: &HeaderName,
) -> RequestVerdict {
    let (Some(method), Some(path), Some(1)) = (request.method, request.path, request.version)
    else {
        return RequestVerdict::HandOver;
    };
    if method == "CONNECT" || !path.starts_with('/') {
        return RequestVerdict::HandOver;
    }
    let mut facts = RequestFacts {
        body: BodyFraming::Empty,
        close: false,
        is_head: method == "HEAD",
        idempotent: matches!(
            method,
            "GET" | "HEAD" | "OPTIONS" | "TRACE" | "PUT" | "DELETE"
        ),
        has_host: false,
        names_headers: false,
        pin: Pin::Absent,
    };
    let mut length = None;
    let mut chunked = false;
    for header in request.headers.iter() {
        let name = header.name.as_bytes();
        if name.eq_ignore_ascii_case(b"content-length") {
            match (parse_length(header.value), length) {
                (None, _) => return RequestVerdict::Reject,
                (Some(new), Some(old)) if new != old => return RequestVerdict::Reject,
                (Some(new), _) => length = Some(new),
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            if chunked || !header.value.trim_ascii().eq_ignore_ascii_case(b"chunked") {
                return RequestVerdict::HandOver;
            }
            chunked = true;
        } else if name.eq_ignore_ascii_case(b"connection") {
            for token in tokens(header.value) {
                if token.eq_ignore_ascii_case(b"close") {
                    facts.close = true;
                } else if token.eq_ignore_ascii_case(b"upgrade") {
                    return RequestVerdict::HandOver;
                } else if !token.eq_ignore_ascii_case(b"keep-alive") {
                    facts.names_headers = true;
                }
            }
        } else if name.eq_ignore_ascii_case(b"upgrade") || name.eq_ignore_ascii_case(b"expect") {
            return RequestVerdict::HandOver;
        } else if name.eq_ignore_ascii_case(b"host") {
            facts.has_host = true;
        } else if facts.pin == Pin::Absent
            && name.eq_ignore_ascii_case(pin_header.as_str().as_bytes())
        {
            facts.pin = Version::from_bytes(header.value).map_or(Pin::Invalid, Pin::To);
        }
    }
    facts.body = match (chunked, length) {
        (true, Some(_)) => return RequestVerdict::HandOver,
        (true, None) => BodyFraming::Chunked,
        (false, Some(length)) => BodyFraming::Length(length),
        (false, None) => BodyFraming::Empty,
    };
    RequestVerdict::Forward(facts)
}

/// Writes the request head to send upstream: origin form, HTTP/1.1, the client's headers minus
/// the hop-by-hop ones, `Host` when the client sent none, and the chunked coding when the body
/// is relayed chunked.
pub(crate) fn write_upstream_request(
    request: &httparse::Request<'_, '_>,
    facts: &RequestFacts,
    default_host: &str,
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(request.method.unwrap_or("GET").as_bytes());
    out.push(b' ');
    out.extend_from_slice(request.path.unwrap_or("/").as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for header in request.headers.iter() {
        if is_hop_by_hop(header.name.as_bytes())
            || (facts.names_headers && named_by_connection(request.headers, header.name))
        {
            continue;
        }
        write_header(out, header.name.as_bytes(), header.value);
    }
    if !facts.has_host {
        write_header(out, b"host", default_host.as_bytes());
    }
    if facts.body == BodyFraming::Chunked {
        out.extend_from_slice(b"transfer-encoding: chunked\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// What the fast path needs to know about a response head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ResponseFacts {
    pub(crate) status: u16,
    pub(crate) body: BodyFraming,
    /// The upstream connection may carry another request after this response.
    pub(crate) reusable: bool,
    names_headers: bool,
}

/// What a response head is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResponseVerdict {
    /// A 1xx interim response (not 101) to skip: the final one follows.
    Interim,
    Final(ResponseFacts),
    /// Not a response the router can relay: 101 to a request that asked for no upgrade, an
    /// HTTP version other than 1.x, an invalid or conflicting `Content-Length`.
    Unusable,
}

/// Reads a parsed response head to a request that was (`to_head`) or was not a `HEAD`.
pub(crate) fn inspect_response(
    response: &httparse::Response<'_, '_>,
    to_head: bool,
) -> ResponseVerdict {
    let (Some(status), Some(version)) = (response.code, response.version) else {
        return ResponseVerdict::Unusable;
    };
    match status {
        101 | 0..=99 => return ResponseVerdict::Unusable,
        100..=199 => return ResponseVerdict::Interim,
        _ => {}
    }
    // An HTTP/1.0 upstream keeps the connection only when it says so.
    let mut reusable = version == 1;
    let mut names_headers = false;
    let mut length = None;
    let mut coded = None;
    for header in response.headers.iter() {
        let name = header.name.as_bytes();
        if name.eq_ignore_ascii_case(b"content-length") {
            match (parse_length(header.value), length) {
                (None, _) => return ResponseVerdict::Unusable,
                (Some(new), Some(old)) if new != old => return ResponseVerdict::Unusable,
                (Some(new), _) => length = Some(new),
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            // Only the last coding decides whether the body is chunked.
            coded = tokens(header.value)
                .last()
                .map(|c| c.eq_ignore_ascii_case(b"chunked"));
        } else if name.eq_ignore_ascii_case(b"connection") {
            for token in tokens(header.value) {
                if token.eq_ignore_ascii_case(b"close") {
                    reusable = false;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    reusable = reusable || version == 0;
                } else {
                    names_headers = true;
                }
            }
        }
    }
    let body = if to_head || status == 204 || status == 304 {
        BodyFraming::Empty
    } else {
        match (coded, length) {
            (Some(true), _) => BodyFraming::Chunked,
            (Some(false), _) | (None, None) => BodyFraming::UntilClose,
            (None, Some(length)) => BodyFraming::Length(length),
        }
    };
    if body == BodyFraming::UntilClose {
        reusable = false;
    }
    ResponseVerdict::Final(ResponseFacts {
        status,
        body,
        reusable,
        names_headers,
    })
}

/// Writes the response head to send to the client, up to its final empty line (see
/// `finish_head`): HTTP/1.1, the upstream's status and reason, its headers minus the
/// hop-by-hop ones (the transfer coding stays: the body is relayed as it came), and the
/// version tag when asked for.
pub(crate) fn write_client_response(
    response: &httparse::Response<'_, '_>,
    facts: &ResponseFacts,
    tag: Option<(&HeaderName, Version)>,
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(b"HTTP/1.1 ");
    write_status_code(out, facts.status);
    out.push(b' ');
    out.extend_from_slice(response.reason.unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    let coded = matches!(facts.body, BodyFraming::Chunked | BodyFraming::UntilClose);
    for header in response.headers.iter() {
        let name = header.name.as_bytes();
        let dropped = if name.eq_ignore_ascii_case(b"transfer-encoding") {
            false
        } else if name.eq_ignore_ascii_case(b"content-length") {
            // With a transfer coding, the length is not the length of what is relayed.
            coded
        } else {
            is_hop_by_hop(name)
                || (facts.names_headers && named_by_connection(response.headers, header.name))
                || tag.is_some_and(|(pin, _)| name.eq_ignore_ascii_case(pin.as_str().as_bytes()))
        };
        if !dropped {
            write_header(out, name, header.value);
        }
    }
    if let Some((pin, version)) = tag {
        write_header(out, pin.as_str().as_bytes(), version.as_str().as_bytes());
    }
}

/// Ends a head written by `write_client_response`, saying `Connection: close` when the client
/// connection ends after this response.
pub(crate) fn finish_head(out: &mut Vec<u8>, close: bool) {
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Writes a whole response the router makes itself: plain text, with its length and date.
pub(crate) fn write_local_response(
    status: StatusCode,
    body: &str,
    tag: Option<(&HeaderName, Version)>,
    close: bool,
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(b"HTTP/1.1 ");
    write_status_code(out, status.as_u16());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\ncontent-type: text/plain; charset=utf-8\r\n");
    write_header(out, b"content-length", body.len().to_string().as_bytes());
    write_header(
        out,
        b"date",
        httpdate::fmt_http_date(SystemTime::now()).as_bytes(),
    );
    if let Some((pin, version)) = tag {
        write_header(out, pin.as_str().as_bytes(), version.as_str().as_bytes());
    }
    finish_head(out, close);
    out.extend_from_slice(body.as_bytes());
}

/// Headers that describe one connection, not the message: never forwarded (RFC 9110 section
/// 7.6.1, plus the `Proxy-Connection` and `Keep-Alive` of older clients).
fn is_hop_by_hop(name: &[u8]) -> bool {
    [
        &b"connection"[..],
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    ]
    .iter()
    .any(|hop| name.eq_ignore_ascii_case(hop))
}

/// Whether a `Connection` header among `headers` lists `name`.
fn named_by_connection(headers: &[httparse::Header<'_>], name: &str) -> bool {
    headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("connection"))
        .flat_map(|h| tokens(h.value))
        .any(|token| token.eq_ignore_ascii_case(name.as_bytes()))
}

/// The comma-separated tokens of a header value, trimmed, empty ones skipped.
fn tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|b| *b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|t| !t.is_empty())
}

/// A `Content-Length` value: decimal digits only, no sign, no overflow.
fn parse_length(value: &[u8]) -> Option<u64> {
    let digits = value.trim_ascii();
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, b| {
        if b.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

fn write_header(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Writes a status code as three digits (`httparse` only yields three-digit codes).
fn write_status_code(out: &mut Vec<u8>, status: u16) {
    let status = status.min(999);
    out.extend_from_slice(&[
        b'0' + (status / 100) as u8,
        b'0' + (status / 10 % 10) as u8,
        b'0' + (status % 10) as u8,
    ]);
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIN: HeaderName = HeaderName::from_static("x-slipway-version");

    fn with_request<T>(head: &str, f: impl FnOnce(&httparse::Request<'_, '_>) -> T) -> T {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut headers);
        let parsed = request.parse(head.as_bytes());
        assert!(
            matches!(parsed, Ok(httparse::Status::Complete(_))),
            "{head}"
        );
        f(&request)
    }

    fn verdict(head: &str) -> RequestVerdict {
        with_request(head, |r| inspect_request(r, &PIN))
    }

    fn facts(head: &str) -> RequestFacts {
        match verdict(head) {
            RequestVerdict::Forward(facts) => facts,
            other => panic!("{head}: {other:?}"),
        }
    }

    #[test]
    fn request_framing_pin_and_connection_are_read() {
        let f = facts("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(f.body, BodyFraming::Empty);
        assert!(f.has_host && !f.close && f.idempotent && !f.is_head);
        assert_eq!(f.pin, Pin::Absent);
        let f = facts(
            "POST /x HTTP/1.1\r\nContent-Length: 12\r\ncontent-length: 12\r\nX-Slipway-Version: Canary\r\nConnection: close\r\n\r\n",
        );
        assert_eq!(f.body, BodyFraming::Length(12));
        assert!(f.close && !f.idempotent && !f.has_host);
        assert_eq!(f.pin, Pin::To(Version::Canary));
        let f = facts(
            "PUT / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\nx-slipway-version: blue\r\n\r\n",
        );
        assert_eq!(f.body, BodyFraming::Chunked);
        assert_eq!(f.pin, Pin::Invalid);
        assert!(facts("HEAD / HTTP/1.1\r\n\r\n").is_head);
    }

    #[test]
    fn unusual_requests_go_to_the_hyper_path_and_bad_lengths_are_rejected() {
        for head in [
            "GET / HTTP/1.0\r\n\r\n",
            "CONNECT a:443 HTTP/1.1\r\n\r\n",
            "GET http://a/ HTTP/1.1\r\n\r\n",
            "OPTIONS * HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
            "POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
        ] {
            assert_eq!(verdict(head), RequestVerdict::HandOver, "{head}");
        }
        for head in [
            "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n",
        ] {
            assert_eq!(verdict(head), RequestVerdict::Reject, "{head}");
        }
    }

    #[test]
    fn the_upstream_request_drops_hop_by_hop_headers_and_adds_host() {
        let head = "POST /a?b=1 HTTP/1.1\r\nConnection: keep-alive, X-Private\r\nKeep-Alive: 5\r\nX-Private: 1\r\nTE: trailers\r\nTransfer-Encoding: chunked\r\nX-Kept: yes\r\n\r\n";
        let written = with_request(head, |r| {
            let f = match inspect_request(r, &PIN) {
                RequestVerdict::Forward(f) => f,
                other => panic!("{other:?}"),
            };
            let mut out = Vec::new();
            write_upstream_request(r, &f, "127.0.0.1:9", &mut out);
            String::from_utf8(out).unwrap()
        });
        assert_eq!(
            written,
            "POST /a?b=1 HTTP/1.1\r\nX-Kept: yes\r\nhost: 127.0.0.1:9\r\ntransfer-encoding: chunked\r\n\r\n"
        );
    }

    fn with_response<T>(head: &str, f: impl FnOnce(&httparse::Response<'_, '_>) -> T) -> T {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        let parsed = response.parse(head.as_bytes());
        assert!(
            matches!(parsed, Ok(httparse::Status::Complete(_))),
            "{head}"
        );
        f(&response)
    }

    fn response_facts(head: &str, to_head: bool) -> ResponseVerdict {
        with_response(head, |r| inspect_response(r, to_head))
    }

    fn final_facts(status: u16, body: BodyFraming, reusable: bool) -> ResponseVerdict {
        ResponseVerdict::Final(ResponseFacts {
            status,
            body,
            reusable,
            names_headers: false,
        })
    }

    #[test]
    fn response_framing_follows_rfc_9112() {
        let cases = [
            (
                "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
                false,
                final_facts(200, BodyFraming::Length(5), true),
            ),
            (
                "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
                true,
                final_facts(200, BodyFraming::Empty, true),
            ),
            (
                "HTTP/1.1 204 No Content\r\n\r\n",
                false,
                final_facts(204, BodyFraming::Empty, true),
            ),
            (
                "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
                false,
                final_facts(304, BodyFraming::Empty, true),
            ),
            (
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 5\r\n\r\n",
                false,
                final_facts(200, BodyFraming::Chunked, true),
            ),
            (
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
                false,
                final_facts(200, BodyFraming::UntilClose, false),
            ),
            (
                "HTTP/1.1 200 OK\r\n\r\n",
                false,
                final_facts(200, BodyFraming::UntilClose, false),
            ),
            (
                "HTTP/1.1 500 Oops\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
                false,
                final_facts(500, BodyFraming::Length(0), false),
            ),
            (
                "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n",
                false,
                final_facts(200, BodyFraming::Length(1), false),
            ),
            (
                "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n",
                false,
                final_facts(200, BodyFraming::Length(1), true),
            ),
            (
                "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n",
                false,
                ResponseVerdict::Interim,
            ),
            (
                "HTTP/1.1 101 Switching Protocols\r\n\r\n",
                false,
                ResponseVerdict::Unusable,
            ),
            (
                "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                false,
                ResponseVerdict::Unusable,
            ),
            (
                "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
                false,
                ResponseVerdict::Unusable,
            ),
        ];
        for (head, to_head, expected) in cases {
            assert_eq!(response_facts(head, to_head), expected, "{head}");
        }
    }

    #[test]
    fn the_client_response_keeps_the_coding_tags_the_version_and_says_close() {
        let head = "HTTP/1.1 200 Fine\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\nx-slipway-version: forged\r\nX-App: a\r\n\r\n";
        let written = with_response(head, |r| {
            let ResponseVerdict::Final(f) = inspect_response(r, false) else {
                panic!("not final");
            };
            let mut out = Vec::new();
            write_client_response(r, &f, Some((&PIN, Version::Canary)), &mut out);
            finish_head(&mut out, true);
            String::from_utf8(out).unwrap()
        });
        assert_eq!(
            written,
            "HTTP/1.1 200 Fine\r\nTransfer-Encoding: chunked\r\nX-App: a\r\nx-slipway-version: canary\r\nconnection: close\r\n\r\n"
        );
    }

    #[test]
    fn local_responses_carry_length_type_and_date() {
        let mut out = Vec::new();
        write_local_response(StatusCode::BAD_GATEWAY, "gone\n", None, false, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 5\r\ndate: "), "{text}");
        assert!(text.ends_with(" GMT\r\n\r\ngone\n"), "{text}");
    }
}
