//! Content digests (`sha256:<64 hex>`), hashing while copying, and a reader that checks a blob's
//! digest and size as it is read.
//!
//! A [`Digest`] can only hold a well-formed SHA-256 digest, so it is safe to turn into a file name
//! under `blobs/sha256/`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};
use std::fmt;
use std::io::{self, Read, Write};
use std::str::FromStr;

/// Size of the buffer used when streaming content through the hasher (1 MiB reads keep the
/// number of system calls small against the hashing cost).
pub const COPY_BUFFER_BYTES: usize = 1 << 20;

/// A SHA-256 content digest in OCI form: `sha256:` followed by 64 lower-case hex digits.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(String);

/// Why a string is not a digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a digest: expected sha256:<64 lower-case hex digits>")]
pub struct InvalidDigest(pub String);

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest::from_hash(Sha256::digest(bytes).as_slice())
    }

    fn from_hash(hash: &[u8]) -> Digest {
        Digest(format!("sha256:{}", hex::encode(hash)))
    }

    /// The 64 hex digits, which are also the blob's file name.
    pub fn hex(&self) -> &str {
        self.0.strip_prefix("sha256:").unwrap_or(&self.0)
    }

    /// The full form, `sha256:<hex>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Digest {
    type Err = InvalidDigest;
    fn from_str(s: &str) -> Result<Digest, InvalidDigest> {
        let hex = s
            .strip_prefix("sha256:")
            .ok_or_else(|| InvalidDigest(s.to_owned()))?;
        if hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Digest(s.to_owned()))
        } else {
            Err(InvalidDigest(s.to_owned()))
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Digest, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Buffers in flight between the hashing reader and the writer in [`copy_hashing`].
const BUFFERS_IN_FLIGHT: usize = 4;

/// Copies `from` into `to`, hashing what passes; returns the digest and the number of bytes
/// copied. Reading and hashing run on the calling thread while a second thread writes, so the
/// hash costs no time when writing (e.g. to disk) is the slower side.
pub fn copy_hashing(
    from: &mut impl Read,
    to: &mut (impl Write + Send),
) -> io::Result<(Digest, u64)> {
    let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(BUFFERS_IN_FLIGHT);
    let (empty_tx, empty_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    for _ in 0..=BUFFERS_IN_FLIGHT {
        // The receiver lives until the end of this function.
        let _ = empty_tx.send(Vec::with_capacity(COPY_BUFFER_BYTES));
    }
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> io::Result<()> {
            for buffer in full_rx {
                to.write_all(&buffer)?;
                // The reader may have stopped already; then the buffer is simply dropped.
                let _ = empty_tx.send(buffer);
            }
            to.flush()
        });
        let mut hasher = Sha256::new();
        let mut total = 0u64;
        let read_result = loop {
            let Ok(mut buffer) = empty_rx.recv() else {
                break Ok(()); // the writer stopped: its error is reported below
            };
            buffer.resize(COPY_BUFFER_BYTES, 0);
            let n = match from.read(&mut buffer) {
                Ok(0) => break Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break Err(e),
            };
            buffer.truncate(n);
            hasher.update(&buffer);
            total += n as u64;
            if full_tx.send(buffer).is_err() {
                break Ok(());
            }
        };
        drop(full_tx);
        let write_result = writer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the writing thread panicked")));
        read_result?;
        write_result?;
        Ok((Digest::from_hash(hasher.finalize().as_slice()), total))
    })
}

/// The digest and size of everything `from` yields.
pub fn hash_reader(from: &mut impl Read) -> io::Result<(Digest, u64)> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; COPY_BUFFER_BYTES];
    let mut total = 0u64;
    loop {
        match from.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buffer[..n]);
                total += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok((Digest::from_hash(hasher.finalize().as_slice()), total))
}

/// A reader over a blob that hashes what it yields and, at the end, fails with
/// [`io::ErrorKind::InvalidData`] when the content does not match the expected digest or size.
/// A caller that reads to the end has therefore read verified content.
pub struct VerifiedReader<R> {
    inner: R,
    hasher: Sha256,
    expected: Digest,
    expected_size: Option<u64>,
    read: u64,
    verified: bool,
}

impl<R: Read> VerifiedReader<R> {
    /// Wraps `inner`, which must yield the content of `expected` (of `expected_size` bytes when
    /// given).
    pub fn new(inner: R, expected: Digest, expected_size: Option<u64>) -> VerifiedReader<R> {
        VerifiedReader {
            inner,
            hasher: Sha256::new(),
            expected,
            expected_size,
            read: 0,
            verified: false,
        }
    }

    /// The digest this reader checks against.
    pub fn expected(&self) -> &Digest {
        &self.expected
    }

    fn mismatch(&self, what: String) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("blob {} is corrupt: {what}", self.expected),
        )
    }
}

impl<R: Read> Read for VerifiedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.verified {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if let Some(size) = self.expected_size
            && self.read > size
        {
            return Err(self.mismatch(format!("longer than its recorded size {size}")));
        }
        if n > 0 {
            self.hasher.update(&buf[..n]);
            return Ok(n);
        }
        if let Some(size) = self.expected_size
            && self.read != size
        {
            return Err(self.mismatch(format!(
                "{} bytes where its recorded size is {size}",
                self.read
            )));
        }
        let actual = Digest::from_hash(self.hasher.clone().finalize().as_slice());
        if actual != self.expected {
            return Err(self.mismatch(format!("its content hashes to {actual}")));
        }
        self.verified = true;
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors
    use super::*;

    fn check(text: &str, expected: Result<&str, ()>) {
        let parsed = text.parse::<Digest>();
        match expected {
            Ok(hex) => assert_eq!(parsed.unwrap().hex(), hex, "{text}"),
            Err(()) => assert!(parsed.is_err(), "{text} should be rejected"),
        }
    }

    #[test]
    fn parses_only_well_formed_sha256_digests() {
        let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        check(&format!("sha256:{hex}"), Ok(hex));
        check(hex, Err(()));
        check(&format!("sha512:{hex}"), Err(()));
        check(&format!("sha256:{}", hex.to_uppercase()), Err(()));
        check(&format!("sha256:{}", &hex[1..]), Err(()));
        check("sha256:../../../../etc/passwd", Err(()));
        check("", Err(()));
    }

    #[test]
    fn digest_of_empty_input_is_the_known_value() {
        assert_eq!(
            Digest::of(b"").hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let (d, n) = hash_reader(&mut &b"{}"[..]).unwrap();
        assert_eq!(d, Digest::of(b"{}"));
        assert_eq!(n, 2);
    }

    /// A writer that fails after `limit` bytes.
    struct FailingWriter {
        written: usize,
        limit: usize,
    }
    impl Write for FailingWriter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.written + buf.len() > self.limit {
                return Err(io::Error::other("disk full"));
            }
            self.written += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn copy_hashing_copies_and_hashes_and_reports_write_errors() {
        let content: Vec<u8> = (0..5 * COPY_BUFFER_BYTES + 123)
            .map(|i| (i % 251) as u8)
            .collect();
        let mut copy = Vec::new();
        let (digest, n) = copy_hashing(&mut content.as_slice(), &mut copy).unwrap();
        assert_eq!(copy, content);
        assert_eq!((digest, n), (Digest::of(&content), content.len() as u64));
        assert_eq!(
            hash_reader(&mut content.as_slice()).unwrap(),
            (Digest::of(&content), content.len() as u64)
        );

        let mut failing = FailingWriter {
            written: 0,
            limit: 2 * COPY_BUFFER_BYTES,
        };
        let err = copy_hashing(&mut content.as_slice(), &mut failing).unwrap_err();
        assert_eq!(err.to_string(), "disk full");

        let mut broken_source = content.as_slice().chain(FailingReader);
        let err = copy_hashing(&mut broken_source, &mut Vec::new()).unwrap_err();
        assert_eq!(err.to_string(), "connection reset");
    }

    /// A reader that always fails.
    struct FailingReader;
    impl Read for FailingReader {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("connection reset"))
        }
    }

    fn read_all(content: &[u8], expected: Digest, size: Option<u64>) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        VerifiedReader::new(content, expected, size).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn verified_reader_accepts_matching_content_and_rejects_the_rest() {
        let content = vec![7u8; 3 * COPY_BUFFER_BYTES + 5];
        let digest = Digest::of(&content);
        let size = content.len() as u64;
        assert_eq!(
            read_all(&content, digest.clone(), Some(size)).unwrap(),
            content
        );
        assert_eq!(read_all(&content, digest.clone(), None).unwrap(), content);

        let mut tampered = content.clone();
        tampered[10] = 8;
        let err = read_all(&tampered, digest.clone(), Some(size)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("hashes to"), "{err}");

        let err = read_all(&content[1..], digest.clone(), Some(size)).unwrap_err();
        assert!(err.to_string().contains("recorded size"), "{err}");
        let err = read_all(&content, digest, Some(size - 1)).unwrap_err();
        assert!(err.to_string().contains("longer than"), "{err}");
    }
}
