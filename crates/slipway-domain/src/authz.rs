//! Authorization: the one place that decides whether a principal may do something.
//!
//! Roles hold permission rules (verbs × kinds × optional environments); role bindings grant a role
//! to users and teams, optionally narrowed to environments. A request is allowed when some binding
//! that applies to the principal grants a role with a rule that covers the verb, the target and
//! the environment. Nothing else grants access: there is no implicit admin bypass.

use crate::kinds::{RoleBindingSpec, RoleSpec, SubjectKind, Verb};
use serde::Serialize;
use std::collections::BTreeMap;

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user: String,
    pub teams: Vec<String>,
}

/// What is asked: a verb on a target (a kind's plural name, or `tokens`, `audit`, `metrics`),
/// in an environment when the target belongs to one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRequest {
    pub verb: Verb,
    pub target: String,
    pub environment: Option<String>,
    /// Set when the request acts only on the principal's own things (their own tokens).
    pub own: bool,
}

/// The decision with the reason, for logs and error messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub allowed: bool,
    pub reason: String,
}

/// Roles and bindings as read from the store.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub roles: BTreeMap<String, RoleSpec>,
    pub bindings: BTreeMap<String, RoleBindingSpec>,
}

/// Decides `request` for `principal` under `policy`.
pub fn decide(policy: &Policy, principal: &Principal, request: &AccessRequest) -> Decision {
    if request.own && request.target == "tokens" {
        return Decision {
            allowed: true,
            reason: format!("{} may manage their own tokens", principal.user),
        };
    }
    for (binding_name, binding) in &policy.bindings {
        let applies = binding.subjects.iter().any(|s| match s.kind {
            SubjectKind::User => s.name == principal.user,
            SubjectKind::Team => principal.teams.contains(&s.name),
        });
        if !applies || !environment_allowed(binding.environments.as_deref(), request) {
            continue;
        }
        let Some(role) = policy.roles.get(&binding.role) else {
            continue;
        };
        for rule in &role.rules {
            let verb_ok = rule
                .verbs
                .iter()
                .any(|v| *v == Verb::Any || *v == request.verb);
            let target_ok = rule.kinds.iter().any(|k| k == "*" || *k == request.target);
            if verb_ok && target_ok && environment_allowed(rule.environments.as_deref(), request) {
                return Decision {
                    allowed: true,
                    reason: format!(
                        "role {} (binding {binding_name}) allows {} on {}",
                        binding.role,
                        request.verb.as_str(),
                        request.target
                    ),
                };
            }
        }
    }
    let scope = request
        .environment
        .as_deref()
        .map(|e| format!(" in environment {e}"))
        .unwrap_or_default();
    Decision {
        allowed: false,
        reason: format!(
            "{} has no role that allows {} on {}{scope}",
            principal.user,
            request.verb.as_str(),
            request.target
        ),
    }
}

/// An environment scope of `None` covers everything; a list covers only requests in one of its
/// environments (`*` covers any environment but still not environment-less targets).
fn environment_allowed(scope: Option<&[String]>, request: &AccessRequest) -> bool {
    match (scope, &request.environment) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(envs), Some(env)) => envs.iter().any(|e| e == "*" || e == env),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::{PermissionRule, Subject};

    fn policy() -> Policy {
        let mut p = Policy::default();
        p.roles.insert(
            "deployer".into(),
            RoleSpec {
                description: None,
                rules: vec![PermissionRule {
                    verbs: vec![Verb::Deploy, Verb::Get],
                    kinds: vec!["environments".into()],
                    environments: Some(vec!["staging".into()]),
                }],
            },
        );
        p.bindings.insert(
            "payments-deployers".into(),
            RoleBindingSpec {
                role: "deployer".into(),
                subjects: vec![Subject {
                    kind: SubjectKind::Team,
                    name: "payments".into(),
                }],
                environments: None,
            },
        );
        p
    }

    fn check(
        user: &str,
        teams: &[&str],
        verb: Verb,
        target: &str,
        env: Option<&str>,
        allowed: bool,
    ) {
        let principal = Principal {
            user: user.into(),
            teams: teams.iter().map(|t| t.to_string()).collect(),
        };
        let req = AccessRequest {
            verb,
            target: target.into(),
            environment: env.map(Into::into),
            own: false,
        };
        let d = decide(&policy(), &principal, &req);
        assert_eq!(
            d.allowed, allowed,
            "{user} {verb:?} {target} {env:?}: {}",
            d.reason
        );
    }

    #[test]
    fn environment_scoped_rules() {
        check(
            "ann",
            &["payments"],
            Verb::Deploy,
            "environments",
            Some("staging"),
            true,
        );
        check(
            "ann",
            &["payments"],
            Verb::Deploy,
            "environments",
            Some("production"),
            false,
        );
        check(
            "ann",
            &["payments"],
            Verb::Deploy,
            "environments",
            None,
            false,
        );
        check(
            "bob",
            &["search"],
            Verb::Deploy,
            "environments",
            Some("staging"),
            false,
        );
        check(
            "ann",
            &["payments"],
            Verb::Delete,
            "environments",
            Some("staging"),
            false,
        );
    }
}
