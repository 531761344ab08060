//! A client of the server under test, as one user: the `slipway` CLI run with that user's token
//! (exit code, stdout, stderr), raw HTTP with the same token, and waiting for a resource's
//! status to reach a phase.

use super::run::{Run, slipway};
use super::wait::{ROLLOUT_DEADLINE, wait_until};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

/// The phases a rollout or a release ends in.
pub const ENDED: &[&str] = &["Promoted", "RolledBack", "Failed"];

/// How long one raw HTTP request may take.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// One user of one server: its token (none for an anonymous client) and where it runs the CLI.
#[derive(Clone, Debug)]
pub struct Client {
    /// The user's name (`admin` for the first admin, `anonymous` without a token).
    pub name: String,
    url: String,
    token: Option<String>,
    config: PathBuf,
}

/// An HTTP response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Reply {
    /// The body parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}), status {}:\n{}", self.status, self.body))
    }
}

impl Client {
    /// A client of the server at `url`; `config` is the CLI's `SLIPWAY_CONFIG`.
    pub fn new(name: &str, url: &str, token: Option<String>, config: PathBuf) -> Client {
        Client {
            name: name.to_string(),
            url: url.to_string(),
            token,
            config,
        }
    }

    /// A client of any HTTP service at `url` (a router, Prometheus), for raw HTTP only.
    pub fn anonymous_at(url: &str) -> Client {
        Client::new(
            "anonymous",
            url,
            None,
            PathBuf::from("/nonexistent/slipway-config.json"),
        )
    }

    /// The same server as another user.
    pub fn with_token(&self, name: &str, token: &str) -> Client {
        Client::new(
            name,
            &self.url,
            Some(token.to_string()),
            self.config.clone(),
        )
    }

    /// The server's base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The bearer token, `slw_ID_SECRET`.
    #[track_caller]
    pub fn token(&self) -> &str {
        self.token
            .as_deref()
            .expect("an anonymous client has no token")
    }

    /// Runs `slipway ARGS` against the server as this user.
    pub fn cli(&self, args: &[&str]) -> Run {
        let mut env = vec![("SLIPWAY_SERVER", self.url.as_str())];
        if let Some(token) = &self.token {
            env.push(("SLIPWAY_TOKEN", token));
        }
        slipway(&self.config, &env, args)
    }

    /// `GET PATH` with this user's token.
    #[track_caller]
    pub fn get(&self, path: &str) -> Reply {
        self.send(reqwest::Method::GET, path, None)
    }

    /// `METHOD PATH` with this user's token and, when given, a JSON body.
    #[track_caller]
    pub fn send(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Reply {
        self.try_send(method.clone(), path, body, HTTP_TIMEOUT)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// Like [`Client::send`], but a transport failure is returned rather than failing the
    /// test (for probing a server that may not be up).
    pub fn try_send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        timeout: Duration,
    ) -> Result<Reply, reqwest::Error> {
        let client = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .build()?;
        let mut request = client.request(method, format!("{}{path}", self.url));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send()?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text()?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// The resource `/api/v1/PLURAL/NAME`, or `None` while it does not exist.
    #[track_caller]
    pub fn resource(&self, plural: &str, name: &str) -> Option<Value> {
        let reply = self.get(&format!("/api/v1/{plural}/{name}"));
        match reply.status {
            200 => Some(reply.json()),
            404 => None,
            other => panic!("GET /api/v1/{plural}/{name}: {other}\n{}", reply.body),
        }
    }

    /// Waits until the status of `PLURAL/NAME` (which may not be written yet) has one of
    /// `phases`; returns the status.
    #[track_caller]
    pub fn wait_for_phase(&self, plural: &str, name: &str, phases: &[&str]) -> Value {
        wait_until(
            ROLLOUT_DEADLINE,
            &format!("{plural}/{name} to reach {}", phases.join(" or ")),
            || {
                let status = self
                    .resource(plural, name)
                    .map(|r| r["status"].clone())
                    .ok_or("it does not exist".to_string())?;
                if phases.iter().any(|p| status["phase"] == *p) {
                    Ok(status)
                } else {
                    Err(status.to_string())
                }
            },
        )
    }

    /// Waits until rollout `name` has one of `phases`; returns its status.
    #[track_caller]
    pub fn wait_for_rollout(&self, name: &str, phases: &[&str]) -> Value {
        self.wait_for_phase("rollouts", name, phases)
    }

    /// Waits until rollout `name` ends (promoted, rolled back or failed); returns its status.
    #[track_caller]
    pub fn wait_for_rollout_end(&self, name: &str) -> Value {
        self.wait_for_phase("rollouts", name, ENDED)
    }

    /// Waits until release `name` ends; returns its status.
    #[track_caller]
    pub fn wait_for_release_end(&self, name: &str) -> Value {
        self.wait_for_phase("releases", name, ENDED)
    }

    /// Waits until rollout `name` (which may not be written yet) sends `weight` percent of
    /// the traffic to its canary.
    #[track_caller]
    pub fn wait_for_weight(&self, name: &str, weight: u64) {
        wait_until(
            ROLLOUT_DEADLINE,
            &format!("rollouts/{name} to reach a canary weight of {weight}%"),
            || {
                let status = self
                    .resource("rollouts", name)
                    .map(|r| r["status"].clone())
                    .ok_or("it does not exist".to_string())?;
                if status["weight"] == weight {
                    Ok(())
                } else {
                    Err(status.to_string())
                }
            },
        )
    }
}
