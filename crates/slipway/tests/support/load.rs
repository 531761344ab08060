//! A load generator: one thread sending GET requests to a service's router, about one every
//! 5 ms, and keeping what each got back (`200 example-service 2.0.0`, `500 …`, `error …`).

use super::wait::{PROCESS_DEADLINE, wait_until};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The pause between two requests.
const PACE: Duration = Duration::from_millis(5);

/// Requests running in the background until [`Load::stop`].
pub struct Load {
    stop: Option<mpsc::Sender<()>>,
    seen: Arc<Mutex<Vec<String>>>,
    thread: Option<JoinHandle<()>>,
}

impl Load {
    /// Starts sending requests to `url`.
    pub fn start(url: &str) -> Load {
        let (stop, stopped) = mpsc::channel();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let url = url.to_string();
        let thread = std::thread::spawn(move || {
            let client = reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .expect("an HTTP client");
            loop {
                let answer = match client.get(&url).send() {
                    Ok(r) => format!(
                        "{} {}",
                        r.status().as_u16(),
                        r.text().unwrap_or_default().trim()
                    ),
                    Err(e) => format!("error {e}"),
                };
                record.lock().expect("the load's record").push(answer);
                match stopped.recv_timeout(PACE) {
                    Err(RecvTimeoutError::Timeout) => continue,
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                }
            }
        });
        Load {
            stop: Some(stop),
            seen,
            thread: Some(thread),
        }
    }

    /// How many requests got an answer (or an error) so far.
    pub fn answered(&self) -> usize {
        self.seen.lock().expect("the load's record").len()
    }

    /// Waits until `more` requests beyond those answered now have been answered.
    pub fn wait_for_more(&self, more: usize) {
        let target = self.answered() + more;
        wait_until(
            PROCESS_DEADLINE,
            &format!("{more} more requests to be answered"),
            || {
                let answered = self.answered();
                (answered >= target).then_some(()).ok_or(answered)
            },
        );
    }

    /// Stops sending and returns every answer, in order.
    pub fn stop(mut self) -> Vec<String> {
        self.halt();
        std::mem::take(&mut *self.seen.lock().expect("the load's record"))
    }

    fn halt(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.halt();
    }
}
