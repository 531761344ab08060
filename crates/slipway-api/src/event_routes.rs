//! Server-sent events: `GET /api/v1/rollouts/{name}/events` streams a rollout's history as it
//! happens (one `step` event per history line, then one `end` event with the final phase), for
//! dashboards and `curl -N`.

use crate::AppState;
use crate::access::authorize;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use axum::Router;
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures_util::stream::{self, Stream};
use slipway_domain::kinds::{Kind, Rollout, Verb};
use slipway_store::TypedStore;
use std::convert::Infallible;
use std::time::Duration;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/rollouts/{name}/events", get(events))
}

struct Cursor {
    state: AppState,
    name: String,
    sent: usize,
    done: bool,
}

#[utoipa::path(get, path = "/api/v1/rollouts/{name}/events", params(("name" = String, Path)),
    responses((status = 200, description = "text/event-stream of step and end events")), security(("bearer" = [])))]
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let rollout = state.store.kind::<Rollout>().get(&name).await?;
    let env = rollout.as_ref().map(|r| r.spec.environment.clone());
    authorize(&state, &caller, Verb::Get, Rollout::PLURAL, env, false).await?;
    if rollout.is_none() {
        return Err(ApiError::not_found(format!(
            "Rollout {name} does not exist"
        )));
    }
    let cursor = Cursor {
        state,
        name,
        sent: 0,
        done: false,
    };
    let stream = stream::unfold(cursor, |mut c| async move {
        loop {
            if c.done {
                return None;
            }
            let status = c
                .state
                .store
                .kind::<Rollout>()
                .resource(&c.name)
                .await
                .ok()
                .flatten()
                .and_then(|r| r.status)
                .unwrap_or_default();
            let history = status
                .get("history")
                .and_then(|h| h.as_array())
                .cloned()
                .unwrap_or_default();
            if let Some(step) = history.get(c.sent) {
                c.sent += 1;
                let event = Event::default().event("step").data(step.to_string());
                return Some((Ok(event), c));
            }
            let phase = status
                .get("phase")
                .and_then(|p| p.as_str())
                .unwrap_or("Pending");
            if matches!(phase, "Promoted" | "RolledBack" | "Failed") {
                c.done = true;
                let event = Event::default()
                    .event("end")
                    .data(serde_json::json!({"phase": phase}).to_string());
                return Some((Ok(event), c));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
