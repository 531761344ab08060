//! The HTTP client of the API: sends the token, decodes the `{code, message, details}` error
//! body and maps it to an exit code.

use crate::failure::{self, CliResult, Failure};
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use slipway_api::error::ErrorBody;

pub struct ApiClient {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl ApiClient {
    pub fn new(server: &str, token: Option<String>) -> CliResult<Self> {
        let base = server.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Failure::new(
                failure::INVALID,
                format!("server {base:?} must start with http:// or https://"),
            ));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("slipway/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(ApiClient { base, token, http })
    }

    pub fn server(&self) -> &str {
        &self.base
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> CliResult<T> {
        self.send::<(), T>(Method::GET, path, None).await
    }

    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> CliResult<T> {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn put<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> CliResult<T> {
        self.send(Method::PUT, path, Some(body)).await
    }

    pub async fn delete<T: DeserializeOwned>(&self, path: &str) -> CliResult<T> {
        self.send::<(), T>(Method::DELETE, path, None).await
    }

    pub async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> CliResult<T> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method, &url);
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await.map_err(|e| {
            Failure::new(
                failure::UNREACHABLE,
                format!(
                    "cannot reach the slipway server at {}: {}",
                    self.base,
                    root_cause(&e)
                ),
            )
        })?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| {
            Failure::new(
                failure::UNREACHABLE,
                format!("reading the response from {}: {e}", self.base),
            )
        })?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| {
                Failure::new(
                    1,
                    format!("the server's answer to {path} is not what this client expects: {e}"),
                )
            });
        }
        Err(refusal(status, &bytes, path))
    }

    /// A request with the token, for bodies or answers that are not JSON (artifact files).
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let req = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => req.bearer_auth(token),
            None => req,
        }
    }

    /// Sends a request made by [`ApiClient::request`]; an error answer becomes the same failure
    /// (and exit code) as for JSON calls.
    pub async fn execute(
        &self,
        path: &str,
        req: reqwest::RequestBuilder,
    ) -> CliResult<reqwest::Response> {
        let resp = req.send().await.map_err(|e| {
            Failure::new(
                failure::UNREACHABLE,
                format!(
                    "cannot reach the slipway server at {}: {}",
                    self.base,
                    root_cause(&e)
                ),
            )
        })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let bytes = resp.bytes().await.unwrap_or_default();
        Err(refusal(status, &bytes, path))
    }

    /// Decodes a JSON answer from [`ApiClient::execute`].
    pub async fn json<T: DeserializeOwned>(
        &self,
        path: &str,
        resp: reqwest::Response,
    ) -> CliResult<T> {
        let bytes = resp.bytes().await.map_err(|e| {
            Failure::new(
                failure::UNREACHABLE,
                format!("reading the response from {}: {e}", self.base),
            )
        })?;
        serde_json::from_slice(&bytes).map_err(|e| {
            Failure::new(
                1,
                format!("the server's answer to {path} is not what this client expects: {e}"),
            )
        })
    }
}

/// The failure for an error answer: its message (with every detail) and the exit code its
/// `code` maps to.
fn refusal(status: reqwest::StatusCode, bytes: &[u8], path: &str) -> Failure {
    let body: ErrorBody = serde_json::from_slice(bytes).unwrap_or(ErrorBody {
        code: "http".into(),
        message: format!("{status} from {path}"),
        details: Vec::new(),
    });
    let exit = match body.code.as_str() {
        "invalid" | "bad_request" => failure::INVALID,
        "not_found" => failure::NOT_FOUND,
        "conflict" | "stale_revision" => failure::CONFLICT,
        "unauthenticated" | "forbidden" => failure::DENIED,
        _ => 1,
    };
    let mut message = body.message.clone();
    if body.details.len() > 1 {
        for d in &body.details {
            message.push_str(&format!("\n  - {d}"));
        }
    }
    Failure::new(exit, message)
}

fn root_cause(e: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
