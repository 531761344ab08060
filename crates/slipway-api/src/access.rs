//! Authorization at the API edge: reads roles and bindings from the store and asks
//! [`slipway_domain::authz::decide`], the one place decisions are made. Handlers call
//! [`authorize`] with the verb and target of what they are about to do; a refusal is a 403 that
//! says which permission was missing.

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use slipway_domain::authz::{AccessRequest, Policy, decide};
use slipway_domain::kinds::{Role, RoleBinding, RoleBindingSpec, RoleSpec, Verb, typed};
use slipway_store::TypedStore;

/// Reads the current policy from the store. Invalid stored roles are skipped (they cannot be
/// written through the API, which validates them).
pub async fn load_policy(state: &AppState) -> Result<Policy, ApiError> {
    let mut policy = Policy::default();
    for role in state.store.kind::<Role>().resources().await? {
        if let Some(spec) = typed::<RoleSpec>(&role.spec) {
            policy.roles.insert(role.metadata.name, spec);
        }
    }
    for binding in state.store.kind::<RoleBinding>().resources().await? {
        if let Some(spec) = typed::<RoleBindingSpec>(&binding.spec) {
            policy.bindings.insert(binding.metadata.name, spec);
        }
    }
    Ok(policy)
}

/// Allows or refuses `verb` on `target` (in `environment`) for the caller.
pub async fn authorize(
    state: &AppState,
    caller: &Caller,
    verb: Verb,
    target: &str,
    environment: Option<String>,
    own: bool,
) -> Result<(), ApiError> {
    let policy = load_policy(state).await?;
    let request = AccessRequest {
        verb,
        target: target.to_string(),
        environment,
        own,
    };
    let decision = decide(&policy, &caller.principal, &request);
    if decision.allowed {
        tracing::debug!(user = %caller.principal.user, reason = %decision.reason, "allowed");
        Ok(())
    } else {
        tracing::info!(user = %caller.principal.user, reason = %decision.reason, "refused");
        Err(ApiError::forbidden(decision.reason))
    }
}
