//! Where an HTTP/1.1 message body ends, found without decoding it: the fast path relays bodies
//! byte for byte (chunked ones stay chunked) and only needs to know how many of the bytes it
//! reads belong to the current message.
//!
//! `BodyProgress` follows one body through the bytes as they arrive, for every framing:
//! `Content-Length`, chunked transfer coding (with chunk extensions and trailers), and
//! "until the connection closes" for responses that declare neither.

/// How a message body is delimited (RFC 9112 section 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyFraming {
    /// No body at all.
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding, ended by the last chunk and its trailer section.
    Chunked,
    /// Everything up to the end of the connection (responses only).
    UntilClose,
}

/// A chunked body that breaks the chunked grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed chunked body")]
pub(crate) struct MalformedChunk;

/// Where the chunked scanner stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    /// Before the first hex digit of a chunk size.
    SizeStart,
    /// Reading the hex digits of a chunk size.
    Size(u64),
    /// After the size, in chunk extensions or whitespace, up to the CR.
    Extension(u64),
    /// After the CR that ends a size line.
    SizeLineFeed(u64),
    /// Inside chunk data, with this many bytes left.
    Data(u64),
    /// Expecting the CR after chunk data.
    DataCarriageReturn,
    /// Expecting the LF after chunk data.
    DataLineFeed,
    /// At the start of a trailer line or of the final empty line.
    TrailerStart,
    /// Inside a trailer line.
    TrailerLine,
    /// After the CR of a trailer line.
    TrailerLineFeed,
    /// After the CR of the final empty line.
    EndLineFeed,
    /// The body is complete.
    Done,
}

/// Follows one chunked body through its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChunkedScanner {
    state: ChunkState,
}

impl ChunkedScanner {
    pub(crate) fn new() -> Self {
        ChunkedScanner {
            state: ChunkState::SizeStart,
        }
    }

    pub(crate) fn is_done(&self) -> bool {
        self.state == ChunkState::Done
    }

    /// Consumes the body's bytes at the start of `data` and returns how many there were: all
    /// of `data` unless the body ends inside it.
    pub(crate) fn scan(&mut self, data: &[u8]) -> Result<usize, MalformedChunk> {
        let mut at = 0;
        while at < data.len() && !self.is_done() {
            if let ChunkState::Data(left) = self.state {
                // Chunk data is skipped in one step.
                let available = data.len() - at;
                let take = usize::try_from(left).map_or(available, |left| left.min(available));
                at += take;
                let left = left - take as u64;
                self.state = if left == 0 {
                    ChunkState::DataCarriageReturn
                } else {
                    ChunkState::Data(left)
                };
                continue;
            }
            let byte = data[at];
            at += 1;
            self.state = next_state(self.state, byte)?;
        }
        Ok(at)
    }
}

/// The scanner's step over one byte outside chunk data.
fn next_state(state: ChunkState, byte: u8) -> Result<ChunkState, MalformedChunk> {
    use ChunkState::*;
    Ok(match (state, byte) {
        (SizeStart, _) => Size(u64::from(hex_digit(byte).ok_or(MalformedChunk)?)),
        (Size(size), b'\r') | (Extension(size), b'\r') => SizeLineFeed(size),
        (Size(size), b';' | b' ' | b'\t') => Extension(size),
        (Size(size), _) => {
            let digit = hex_digit(byte).ok_or(MalformedChunk)?;
            let size = size
                .checked_mul(16)
                .and_then(|s| s.checked_add(u64::from(digit)))
                .ok_or(MalformedChunk)?;
            Size(size)
        }
        (Extension(_), b'\n') => return Err(MalformedChunk),
        (Extension(size), _) => Extension(size),
        (SizeLineFeed(0), b'\n') => TrailerStart,
        (SizeLineFeed(size), b'\n') => Data(size),
        (DataCarriageReturn, b'\r') => DataLineFeed,
        (DataLineFeed, b'\n') => SizeStart,
        (TrailerStart, b'\r') => EndLineFeed,
        (TrailerStart, b'\n') => return Err(MalformedChunk),
        (TrailerStart, _) | (TrailerLine, _) if byte != b'\r' && byte != b'\n' => TrailerLine,
        (TrailerLine, b'\r') => TrailerLineFeed,
        (TrailerLineFeed, b'\n') => TrailerStart,
        (EndLineFeed, b'\n') => Done,
        _ => return Err(MalformedChunk),
    })
}

fn hex_digit(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// How far one body has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyProgress {
    /// This many bytes are still to come.
    Remaining(u64),
    /// A chunked body in progress.
    Chunked(ChunkedScanner),
    /// Everything until the connection closes.
    UntilClose,
    /// Complete.
    Done,
}

impl BodyProgress {
    pub(crate) fn new(framing: BodyFraming) -> Self {
        match framing {
            BodyFraming::Empty | BodyFraming::Length(0) => BodyProgress::Done,
            BodyFraming::Length(length) => BodyProgress::Remaining(length),
            BodyFraming::Chunked => BodyProgress::Chunked(ChunkedScanner::new()),
            BodyFraming::UntilClose => BodyProgress::UntilClose,
        }
    }

    /// Whether the body is complete (a body that runs until the close never is).
    pub(crate) fn is_done(&self) -> bool {
        *self == BodyProgress::Done
    }

    /// Consumes the body's bytes at the start of `data` and returns how many there were.
    pub(crate) fn advance(&mut self, data: &[u8]) -> Result<usize, MalformedChunk> {
        match self {
            BodyProgress::Done => Ok(0),
            BodyProgress::UntilClose => Ok(data.len()),
            BodyProgress::Remaining(left) => {
                let take = usize::try_from(*left).map_or(data.len(), |left| left.min(data.len()));
                *left -= take as u64;
                if *left == 0 {
                    *self = BodyProgress::Done;
                }
                Ok(take)
            }
            BodyProgress::Chunked(scanner) => {
                let taken = scanner.scan(data)?;
                if scanner.is_done() {
                    *self = BodyProgress::Done;
                }
                Ok(taken)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `body` to a fresh scanner in pieces of `step` bytes; returns the bytes consumed
    /// and whether the body ended.
    fn scan_in_steps(body: &[u8], step: usize) -> Result<(usize, bool), MalformedChunk> {
        let mut scanner = ChunkedScanner::new();
        let mut consumed = 0;
        for piece in body.chunks(step) {
            let taken = scanner.scan(piece)?;
            consumed += taken;
            if taken < piece.len() {
                break;
            }
        }
        Ok((consumed, scanner.is_done()))
    }

    #[test]
    fn a_chunked_body_ends_after_its_last_chunk_and_trailers_whatever_the_split() {
        let body = b"5\r\nhello\r\n1A;name=value\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nx-trailer: 1\r\n\r\n";
        let mut with_next = body.to_vec();
        with_next.extend_from_slice(b"GET / HTTP/1.1\r\n");
        for step in [1, 2, 3, 7, 64, 1000] {
            assert_eq!(
                scan_in_steps(&with_next, step),
                Ok((body.len(), true)),
                "step {step}"
            );
        }
    }

    #[test]
    fn an_unfinished_chunked_body_is_not_done() {
        assert_eq!(scan_in_steps(b"5\r\nhel", 4), Ok((6, false)));
        assert_eq!(scan_in_steps(b"0\r\n\r", 4), Ok((4, false)));
    }

    #[test]
    fn chunked_grammar_violations_are_rejected() {
        for bad in [
            &b"x\r\n"[..],
            b"\r\n",
            b"5\nhello",
            b"5\r\nhelloX\r\n",
            b"0\r\n\n",
            b"11111111111111111\r\n",
            b"5;ext\n",
        ] {
            assert_eq!(
                scan_in_steps(bad, 1),
                Err(MalformedChunk),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn progress_counts_lengths_and_passes_close_delimited_bodies() {
        let mut length = BodyProgress::new(BodyFraming::Length(5));
        assert_eq!(length.advance(b"abc"), Ok(3));
        assert!(!length.is_done());
        assert_eq!(length.advance(b"defgh"), Ok(2));
        assert!(length.is_done());
        assert_eq!(length.advance(b"more"), Ok(0));
        assert!(BodyProgress::new(BodyFraming::Length(0)).is_done());
        assert!(BodyProgress::new(BodyFraming::Empty).is_done());
        let mut until_close = BodyProgress::new(BodyFraming::UntilClose);
        assert_eq!(until_close.advance(b"anything"), Ok(8));
        assert!(!until_close.is_done());
        let mut chunked = BodyProgress::new(BodyFraming::Chunked);
        assert_eq!(chunked.advance(b"0\r\n\r\nrest"), Ok(5));
        assert!(chunked.is_done());
    }
}
