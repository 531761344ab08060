//! An HTTP endpoint that records every request it receives and answers `202 Accepted`: a
//! stand-in for the receivers Slipway calls out to (event sinks, webhooks), so a test can see
//! exactly what was sent.

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex};

/// One request received: its header lines, lower-cased, and its body.
#[derive(Clone, Debug)]
pub struct Received {
    pub headers: String,
    pub body: String,
}

/// A listening recorder; its thread serves until the test process exits.
pub struct Recorder {
    pub url: String,
    seen: Arc<Mutex<Vec<Received>>>,
}

impl Recorder {
    /// Listens on a free loopback port; `url` ends in `path`.
    pub fn start(path: &str) -> Recorder {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback listener");
        let url = format!(
            "http://{}{path}",
            listener.local_addr().expect("its address")
        );
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let Ok(read_half) = stream.try_clone() else {
                    return;
                };
                let mut reader = BufReader::new(read_half);
                let mut headers = String::new();
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    let lower = line.to_ascii_lowercase();
                    if let Some(v) = lower.strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    headers.push_str(&lower);
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                record
                    .lock()
                    .expect("the recorder's record")
                    .push(Received {
                        headers,
                        body: String::from_utf8_lossy(&body).into_owned(),
                    });
                let _ = stream.write_all(
                    b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            }
        });
        Recorder { url, seen }
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.seen.lock().expect("the recorder's record").clone()
    }
}
