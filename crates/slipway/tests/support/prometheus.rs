//! A real Prometheus (Debian's package; the README's test command installs it) scraping the
//! server's `/metrics` every second with the admin's token.

use super::client::Client;
use super::run::signal;
use super::server::{Server, loopback_address};
use super::wait::{PROCESS_DEADLINE, try_wait_until};
use std::fs::File;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Prometheus {
    pub url: String,
    child: Child,
}

impl Prometheus {
    /// Starts Prometheus (its files under the server's scratch directory) and waits until it is
    /// ready.
    pub fn start(server: &Server) -> Prometheus {
        let dir = server.path("prometheus");
        let token_file = server.write("prometheus/token", server.token());
        let target = server.listen();
        let config = server.write(
            "prometheus/prometheus.yml",
            format!(
                "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\nscrape_configs:\n  - job_name: slipway\n    authorization: {{credentials_file: {}}}\n    static_configs: [{{targets: [\"{target}\"]}}]\n",
                token_file.display()
            ),
        );
        let listen = loopback_address();
        let log_path = dir.join("prometheus.log");
        let log = File::create(&log_path).expect("prometheus.log");
        let mut child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={listen}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect(
                "prometheus is installed (the README's test command, scripts/test, installs it)",
            );
        let url = format!("http://{listen}");
        let probe = Client::anonymous_at(&url);
        let ready = try_wait_until(PROCESS_DEADLINE, "prometheus to be ready", || {
            if let Ok(Some(status)) = child.try_wait() {
                return Ok(Err(format!("it exited with {status}")));
            }
            match probe.try_send(
                reqwest::Method::GET,
                "/-/ready",
                None,
                Duration::from_secs(1),
            ) {
                Ok(reply) if reply.status == 200 => Ok(Ok(())),
                Ok(reply) => Err(reply.status.to_string()),
                Err(e) => Err(e.to_string()),
            }
        });
        if let Err(problem) = ready.and_then(|exited| exited) {
            signal(child.id(), "KILL");
            let _ = child.wait();
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!("prometheus did not become ready: {problem}\n{log}");
        }
        Prometheus { url, child }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        signal(self.child.id(), "TERM");
        let _ = try_wait_until(PROCESS_DEADLINE, "prometheus to exit", || {
            self.child.try_wait().ok().flatten()
        });
        signal(self.child.id(), "KILL");
        let _ = self.child.wait();
    }
}
