//! Lockdown pauses changes in flight: while an organisation calendar says `lockdown: true`,
//! every progressing rollout is paused (its `slipway.dev/control` annotation, the same switch an
//! operator uses, written as `system:lockdown` so it is audited), and marked so that lifting
//! the lockdown resumes exactly the rollouts it paused. New deployments are held at the gate.

use serde_json::Value;
use slipway_domain::kinds::Rollout;
use slipway_domain::resource::Resource;
use slipway_gate::CONTROL_ANNOTATION;
use slipway_store::{Actor, Mutation, Store, StoreError, TypedStore};

/// Marks a rollout the lockdown paused.
pub const LOCKDOWN_ANNOTATION: &str = "slipway.dev/paused-by-lockdown";

/// What lockdown asks of one rollout, if anything.
pub fn lockdown_step(rollout: &Resource, lockdown: bool) -> Option<Resource> {
    let phase = rollout
        .status
        .as_ref()
        .and_then(|s| s.get("phase"))
        .and_then(Value::as_str);
    let marked = rollout
        .metadata
        .annotations
        .contains_key(LOCKDOWN_ANNOTATION);
    let mut next = rollout.clone();
    next.metadata.revision = None;
    next.status = None;
    if lockdown && phase == Some("Progressing") && !marked {
        next.metadata
            .annotations
            .insert(CONTROL_ANNOTATION.into(), "pause".into());
        next.metadata
            .annotations
            .insert(LOCKDOWN_ANNOTATION.into(), "true".into());
        return Some(next);
    }
    if !lockdown && marked {
        next.metadata.annotations.remove(LOCKDOWN_ANNOTATION);
        next.metadata
            .annotations
            .insert(CONTROL_ANNOTATION.into(), "resume".into());
        return Some(next);
    }
    None
}

/// Pauses or resumes rollouts as the calendars' lockdown requires.
pub async fn reconcile(store: &dyn Store) -> Result<(), StoreError> {
    let lockdown = crate::desk::calendars(store)
        .await?
        .iter()
        .any(|c| c.spec.lockdown);
    let changes: Vec<Mutation> = store
        .kind::<Rollout>()
        .resources()
        .await?
        .iter()
        .filter_map(|r| lockdown_step(r, lockdown))
        .map(Mutation::Put)
        .collect();
    if changes.is_empty() {
        return Ok(());
    }
    tracing::info!(
        lockdown,
        rollouts = changes.len(),
        "lockdown: {} rollouts in flight",
        if lockdown { "pausing" } else { "resuming" }
    );
    store
        .apply(&Actor::system("lockdown"), changes, false)
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rollout(phase: &str, annotations: Value) -> Resource {
        let mut r = slipway_domain::resource::parse_document(&json!({
            "apiVersion": "slipway.dev/v1alpha1", "kind": "Rollout",
            "metadata": {"name": "r", "annotations": annotations},
            "spec": {"service": "s", "environment": "e", "artifact": "a", "listen": "127.0.0.1:1",
                     "strategy": {"direct": {}}}}))
        .unwrap_or_else(|d| panic!("{d:?}"));
        r.status = Some(json!({"phase": phase}));
        r
    }

    fn control(r: &Option<Resource>) -> Option<String> {
        r.as_ref()
            .and_then(|r| r.metadata.annotations.get(CONTROL_ANNOTATION).cloned())
    }

    #[test]
    fn lockdown_pauses_what_progresses_and_resumes_only_what_it_paused() {
        let fresh = rollout("Progressing", json!({}));
        assert_eq!(
            control(&lockdown_step(&fresh, true)).as_deref(),
            Some("pause")
        );
        assert_eq!(lockdown_step(&fresh, false), None);
        let paused = lockdown_step(&fresh, true).map(|mut r| {
            r.status = Some(json!({"phase": "Progressing"}));
            r
        });
        let paused = paused.unwrap_or_else(|| panic!("paused"));
        assert_eq!(lockdown_step(&paused, true), None, "paused once");
        let resumed = lockdown_step(&paused, false);
        assert_eq!(control(&resumed).as_deref(), Some("resume"));
        assert!(!resumed.is_some_and(|r| r.metadata.annotations.contains_key(LOCKDOWN_ANNOTATION)));
        // An operator's own pause is not lifted by the end of a lockdown.
        let operator = rollout("Progressing", json!({CONTROL_ANNOTATION: "pause"}));
        assert_eq!(lockdown_step(&operator, false), None);
        // Finished rollouts are left alone.
        assert_eq!(lockdown_step(&rollout("Promoted", json!({})), true), None);
    }
}
