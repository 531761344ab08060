//! The deployment gate: the engine's `Gatekeeper`, deciding from the environment's protection,
//! the change request the deployment names, the calendars (windows, freezes, lockdown) and the
//! break-glass grant, with `slipway_change::decide_gate`. Every decision that differs from the
//! previous one for the same subject is recorded as an audited `GateDecision` resource holding
//! every rule's outcome and the inputs, which `slipway gate explain` prints.
//!
//! A failing rule makes the deployment wait (an approval, a window or the end of a freeze may
//! come); only an invalid calendar set, a Rego policy's deny or a failing item of the
//! environment's promotion policy (`promotion`, over the Artifact's `status.supplyChain`)
//! denies. Where the environment does not require a change
//! request, the change rules are informational, and a deployment without an authorised change
//! is recorded as unauthorised for review.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use jiff::Timestamp;
use serde_json::json;
use slipway_change::gate::{EmergencyFacts, Promotion};
use slipway_change::request::ChangeType;
use slipway_change::{
    BreakGlassPolicy, Calendar, CalendarSet, ChangeRecord, GateInput, decide_gate_compiled,
};
use slipway_domain::diagnostic::Diagnostic;
use slipway_domain::governance_records::{GateDecisionSpec, GateRuleOutcome};
use slipway_domain::kinds::{
    self, Artifact, Environment, EnvironmentSpec, GateDecision, GatePolicy, Kind, Rollout, User,
    typed,
};
use slipway_domain::resource::parse_document;
use slipway_gate::{DecisionRecorded, GateError, GateRequest, GateVerdict, Gatekeeper};
use slipway_store::fresh::FreshRounds;
use slipway_store::{Actor, CachedStore, Mutation, Store, TypedStore};

use serde_json::Value;
use slipway_domain::governance_records::GatePolicySpec;
use slipway_policy::{PolicySet, PolicySource};

use crate::desk::{ChangeDesk, ChangeError, ChangeView, approvals_of, calendars_of, record_name};

/// Rules about the change request itself; informational where none is required.
const CHANGE_RULES: [&str; 3] = [
    "change-present",
    "change-covers-target",
    "change-authorised",
];

/// The label on a GateDecision recording a deployment that had no authorised change where none
/// was required: the review queue of unauthorised changes.
pub const UNAUTHORISED_LABEL: &str = "slipway.dev/unauthorised-change";

/// Records what the gate verified when it allows an artifact into an environment with a
/// promotion policy (the server attaches a signed SLSA Verification Summary to the artifact).
#[async_trait]
pub trait VerificationRecorder: Send + Sync {
    /// Called once per allowing decision that checked `supply-chain:*` rules.
    async fn record_verification(&self, decision: &GateDecisionSpec) -> Result<(), String>;
}

/// The gate built from change control.
pub struct GovernanceGate {
    store: Arc<dyn Store>,
    /// Every read of a decision comes from one snapshot of this cache: as fresh as the
    /// database, yet a burst of decisions shares one generation query instead of making a
    /// dozen reads each.
    cache: CachedStore,
    recorder: Option<Arc<dyn VerificationRecorder>>,
    /// The last verdict recorded per subject (and its record's write), so a waiting rollout
    /// is not recorded every poll.
    last: Mutex<HashMap<String, (Fingerprint, Durable)>>,
    sequence: Mutex<HashMap<String, u32>>,
    /// The compiled policies and the version of the GatePolicy kind they were compiled from.
    compiled: Mutex<Option<(u64, PolicySet)>>,
    /// The calendars, compiled, and the version of the Calendar kind they were read at.
    calendars: Mutex<Option<(u64, Arc<CompiledCalendars>)>>,
    /// Identical requests being decided: each waits for a decision begun after it arrived.
    rounds: Mutex<HashMap<String, Arc<DecisionRounds>>>,
    /// Group-commits decision records (started on first use, inside the runtime).
    writer: std::sync::OnceLock<DecisionWriter>,
}

/// Writes GateDecision records in batches: decisions made at the same moment (a release
/// starting a hundred rollouts) share one audited transaction, and each decision comes with
/// what waits until its record is durable (the engine waits for it before any traffic moves).
struct DecisionWriter {
    queue: tokio::sync::mpsc::UnboundedSender<(
        slipway_domain::resource::Resource,
        tokio::sync::watch::Sender<WriteOutcome>,
    )>,
}

/// What makes two decisions for one subject the same: the verdict and every rule's outcome.
type Fingerprint = (String, Vec<GateRuleOutcome>);

/// How a record's write ended (`None` while it is under way).
type WriteOutcome = Option<Result<(), String>>;

/// A decision record on its way to the disk; clones wait for the same write.
#[derive(Clone)]
struct Durable(tokio::sync::watch::Receiver<WriteOutcome>);

impl Durable {
    fn of(outcome: Result<(), String>) -> Self {
        Durable(tokio::sync::watch::channel(Some(outcome)).1)
    }

    /// Whether the write failed (the decision must be recorded again).
    fn failed(&self) -> bool {
        matches!(*self.0.borrow(), Some(Err(_)))
    }

    /// Waits until the record is durable.
    async fn wait(mut self) -> Result<(), GateError> {
        let refused = |reason: String| GateError::Refused {
            reasons: vec![format!("the gate decision could not be recorded: {reason}")],
        };
        let outcome = self
            .0
            .wait_for(Option::is_some)
            .await
            .map_err(|_| refused("the decision writer has stopped".into()))?
            .clone();
        outcome.unwrap_or(Ok(())).map_err(refused)
    }
}

impl DecisionWriter {
    /// Most records one transaction takes.
    const BATCH: usize = 256;

    fn start(store: Arc<dyn Store>) -> Self {
        let (queue, mut incoming) = tokio::sync::mpsc::unbounded_channel::<(
            slipway_domain::resource::Resource,
            tokio::sync::watch::Sender<WriteOutcome>,
        )>();
        tokio::spawn(async move {
            let actor = Actor::system("gate");
            while let Some(first) = incoming.recv().await {
                let mut batch = vec![first];
                while batch.len() < Self::BATCH {
                    match incoming.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                let (resources, waiters): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
                let result = store
                    .apply(
                        &actor,
                        resources.into_iter().map(Mutation::Put).collect(),
                        false,
                    )
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string());
                for waiter in waiters {
                    waiter.send_replace(Some(result.clone()));
                }
            }
        });
        DecisionWriter { queue }
    }

    /// Queues `resource` for the next transaction.
    fn submit(&self, resource: slipway_domain::resource::Resource) -> Durable {
        let (done, durable) = tokio::sync::watch::channel(None);
        if self.queue.send((resource, done)).is_err() {
            return Durable::of(Err("the decision writer has stopped".into()));
        }
        Durable(durable)
    }
}

impl GovernanceGate {
    pub fn new(store: Arc<dyn Store>) -> Self {
        GovernanceGate {
            cache: CachedStore::new(store.clone()),
            store,
            recorder: None,
            last: Mutex::new(HashMap::new()),
            sequence: Mutex::new(HashMap::new()),
            compiled: Mutex::new(None),
            calendars: Mutex::new(None),
            rounds: Mutex::new(HashMap::new()),
            writer: std::sync::OnceLock::new(),
        }
    }

    /// Records a verification summary through `recorder` whenever a deployment is allowed after
    /// supply-chain rules were checked.
    pub fn with_verification_recorder(mut self, recorder: Arc<dyn VerificationRecorder>) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// Decides without recording: the decision and the inputs it was computed from.
    pub async fn evaluate(
        &self,
        request: &GateRequest,
        now: Timestamp,
    ) -> Result<GateDecisionSpec, GateError> {
        let pinned = self
            .cache
            .snapshot()
            .await
            .map_err(GateError::unavailable)?;
        let compiled_calendars = self.calendars(&pinned).await?;
        let policies = self.policies(&pinned).await?;
        let snapshot: Arc<dyn Store> = Arc::new(pinned);
        let store = snapshot.as_ref();
        let environment = store
            .kind::<Environment>()
            .resource(&request.environment)
            .await
            .map_err(GateError::unavailable)?
            .and_then(|r| typed::<EnvironmentSpec>(&r.spec));
        let required = environment
            .as_ref()
            .is_some_and(|e| e.protection.require_change_request);
        let deployer = store
            .updated_by(&request.subject_kind, &request.subject)
            .await
            .map_err(GateError::unavailable)?;
        let view = match &request.change {
            Some(name) => match ChangeDesk::new(snapshot.clone())
                .view(name, deployer.as_deref())
                .await
            {
                Ok(view) => Some(view),
                Err(ChangeError::NotFound(_)) => None,
                Err(ChangeError::Store(e)) => return Err(GateError::unavailable(e)),
                Err(e) => {
                    return Err(GateError::Refused {
                        reasons: vec![e.to_string()],
                    });
                }
            },
            None => None,
        };
        let calendars = &compiled_calendars.calendars;
        let emergency = match view.as_ref().map(|v| &v.record) {
            Some(record) if record.spec.change_type == ChangeType::Emergency => Some(
                EmergencyContext::read(snapshot.clone(), record, request)
                    .await
                    .map_err(|e| match e {
                        ChangeError::Store(e) => GateError::unavailable(e),
                        other => GateError::Refused {
                            reasons: vec![other.to_string()],
                        },
                    })?,
            ),
            _ => None,
        };
        let input = GateInput {
            change: view.as_ref().map(|v| &v.record),
            service: &request.service,
            environment: &request.environment,
            now,
            calendars,
            checks: &[],
            required_checks: &[],
            break_glass: None,
            exception_approved: view.as_ref().is_some_and(|v| v.exception_approved),
            emergency: emergency.as_ref().map(|e| e.facts(&request.artifact)),
        };
        let decision = decide_gate_compiled(&input, &compiled_calendars.compiled);
        let mut rules: Vec<GateRuleOutcome> = decision
            .reasons
            .iter()
            .map(|r| GateRuleOutcome {
                rule: r.rule.clone(),
                passed: r.passed,
                detail: r.detail.clone(),
            })
            .collect();
        // Where no change is required, a failing change rule passes and says why the
        // deployment is recorded as unauthorised (the review queue lists these reasons).
        let mut unauthorised_reasons: Vec<String> = Vec::new();
        if !required {
            for rule in rules
                .iter_mut()
                .filter(|r| CHANGE_RULES.contains(&r.rule.as_str()))
            {
                if !rule.passed {
                    rule.passed = true;
                    rule.detail = format!(
                        "not required in {} (recorded as an unauthorised change for review): {}",
                        request.environment, rule.detail
                    );
                    unauthorised_reasons.push(rule.detail.clone());
                }
            }
        }
        if let Some(view) = &view
            && view
                .approvals
                .ignored
                .iter()
                .any(|i| Some(&i.approver) == deployer.as_ref())
        {
            rules.push(GateRuleOutcome {
                rule: "separation-of-duties".into(),
                passed: true,
                detail: format!(
                    "the approval of {} does not count: they trigger this deployment",
                    deployer.as_deref().unwrap_or_default()
                ),
            });
        }
        // The environment's promotion policy over the artifact's supply-chain status: a failing
        // item denies (waiting does not change the artifact).
        let mut supply_denied = false;
        if let Some(policy) = environment
            .as_ref()
            .and_then(|e| e.promotion_policy.as_ref())
        {
            let supply = store
                .kind::<Artifact>()
                .resource(&request.artifact)
                .await
                .map_err(GateError::unavailable)?
                .and_then(|a| a.status)
                .and_then(|s| s.get("supplyChain").cloned());
            let supply_rules =
                crate::promotion::supply_chain_rules(policy, &request.artifact, supply.as_ref());
            supply_denied = supply_rules.iter().any(|r| !r.passed);
            rules.extend(supply_rules);
        }
        // Custom policies in Rego, over the documented input document.
        // (The input document is built only when there are policies to read it.)
        let mut policy_denied = false;
        let policy_input = if policies.is_empty() {
            Value::Null
        } else {
            policy_input(
                store,
                request,
                view.as_ref(),
                deployer.as_deref(),
                &rules,
                now,
            )
            .await?
        };
        if !policies.is_empty() {
            match policies.evaluate(&policy_input) {
                Ok(verdict) => {
                    for outcome in &verdict.policies {
                        let denies = outcome.denies();
                        policy_denied |= denies;
                        let mut detail = if denies {
                            outcome.deny.join("; ")
                        } else {
                            "no deny".to_string()
                        };
                        if let Some(error) = &outcome.error {
                            detail = format!("evaluation failed: {error}");
                        }
                        if !outcome.warn.is_empty() {
                            detail.push_str(&format!(" (warnings: {})", outcome.warn.join("; ")));
                        }
                        rules.push(GateRuleOutcome {
                            rule: format!("policy:{}", outcome.name),
                            passed: !denies,
                            detail,
                        });
                    }
                }
                Err(e) => {
                    policy_denied = true;
                    rules.push(GateRuleOutcome {
                        rule: "policies".into(),
                        passed: false,
                        detail: e.to_string(),
                    });
                }
            }
        }
        let allowed = rules.iter().all(|r| r.passed);
        let broken_calendars = rules
            .iter()
            .any(|r| r.rule == "calendars-valid" && !r.passed);
        // A policy's deny is final for this rollout, as written; what may change by itself
        // (an approval, a window, the end of a freeze) makes it wait.
        let verdict = match (allowed, broken_calendars || policy_denied || supply_denied) {
            (true, _) => "allow",
            (false, true) => "deny",
            (false, false) => "wait",
        };
        Ok(GateDecisionSpec {
            subject_kind: request.subject_kind.clone(),
            subject: request.subject.clone(),
            service: request.service.clone(),
            environment: request.environment.clone(),
            artifact: request.artifact.clone(),
            change: request.change.clone(),
            step: request.step.clone(),
            at: now.to_string(),
            verdict: verdict.into(),
            rules,
            inputs: json!({
                "changeRequired": required,
                "unauthorisedChange": !unauthorised_reasons.is_empty(),
                "unauthorisedReasons": unauthorised_reasons,
                "deployer": deployer,
                "change": view.as_ref().map(|v| json!({
                    "state": v.record.state.as_str(),
                    "contentDigest": v.content_digest,
                    "authorisedDigest": v.record.authorised_digest,
                    "approvals": v.approvals.summary(),
                })),
                "calendars": calendars.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
                "policyInput": policy_input,
            }),
        })
    }

    /// Every GatePolicy resource, compiled (once per version of the kind).
    async fn policies(&self, store: &CachedStore) -> Result<PolicySet, GateError> {
        let version = store
            .version(GatePolicy::KIND)
            .await
            .map_err(GateError::unavailable)?;
        if let Some((cached, set)) = self
            .compiled
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            && *cached == version
        {
            return Ok(set.clone());
        }
        let (version, resources) = store
            .list_versioned(GatePolicy::KIND)
            .await
            .map_err(GateError::unavailable)?;
        let sources: Vec<PolicySource> = resources
            .into_iter()
            .filter_map(|r| {
                typed::<GatePolicySpec>(&r.spec).map(|s| PolicySource {
                    name: r.metadata.name,
                    rego_text: s.rego,
                })
            })
            .collect();
        let set = PolicySet::load(sources).map_err(|e| GateError::Refused {
            reasons: vec![format!("gate policies do not load: {e}")],
        })?;
        *self.compiled.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((version, set.clone()));
        Ok(set)
    }

    /// Every Calendar, compiled (once per version of the kind).
    async fn calendars(&self, store: &CachedStore) -> Result<Arc<CompiledCalendars>, GateError> {
        let version = store
            .version(kinds::Calendar::KIND)
            .await
            .map_err(GateError::unavailable)?;
        if let Some((cached, set)) = self
            .calendars
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            && *cached == version
        {
            return Ok(set.clone());
        }
        let (version, resources) = store
            .list_versioned(kinds::Calendar::KIND)
            .await
            .map_err(GateError::unavailable)?;
        let calendars = calendars_of(resources);
        let set = Arc::new(CompiledCalendars {
            compiled: CalendarSet::compile(&calendars),
            calendars,
        });
        *self
            .calendars
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some((version, set.clone()));
        Ok(set)
    }

    /// Records `decision` unless it repeats the subject's previous one (then the caller waits
    /// for that one's record instead).
    fn record(&self, decision: &GateDecisionSpec) -> Result<Durable, GateError> {
        let key = format!(
            "{}/{}/{}/{}",
            decision.subject_kind,
            decision.subject,
            decision.service,
            decision.step.as_deref().unwrap_or("")
        );
        let fingerprint = (decision.verdict.clone(), decision.rules.clone());
        {
            let last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((recorded, durable)) = last.get(&key)
                && *recorded == fingerprint
                && !durable.failed()
            {
                return Ok(durable.clone());
            }
        }
        let sequence = {
            let mut sequences = self.sequence.lock().unwrap_or_else(PoisonError::into_inner);
            let n = sequences.entry(decision.subject.clone()).or_insert(0);
            *n += 1;
            *n
        };
        let name = record_name(
            &format!("gate-{}", decision.subject),
            sequence,
            &[&key, &decision.at, &decision.verdict],
        );
        let mut labels = json!({
            "slipway.dev/subject": label_value(&decision.subject),
            "slipway.dev/verdict": decision.verdict});
        if decision.inputs["unauthorisedChange"] == json!(true) {
            // The review queue of `GET /api/v1/unauthorised-changes`.
            labels[UNAUTHORISED_LABEL] = json!("true");
        }
        let document = json!({"apiVersion": "slipway.dev/v1alpha1", "kind": GateDecision::KIND,
            "metadata": {"name": name, "labels": labels},
            "spec": decision});
        let resource = parse_document(&document).map_err(|d| GateError::Refused {
            reasons: d.iter().map(ToString::to_string).collect(),
        })?;
        let durable = self
            .writer
            .get_or_init(|| DecisionWriter::start(self.store.clone()))
            .submit(resource);
        self.last
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, (fingerprint, durable.clone()));
        Ok(durable)
    }
}

/// The policy input document (`slipway-policy`'s `POLICY_INPUT.md`).
async fn policy_input(
    store: &dyn Store,
    request: &GateRequest,
    view: Option<&ChangeView>,
    deployer: Option<&str>,
    rules: &[GateRuleOutcome],
    now: Timestamp,
) -> Result<Value, GateError> {
    let change = view.map(|v| {
        let r = &v.record;
        let level = match r.risk.as_ref().map(|x| x.level.as_str()) {
            Some("moderate") => "medium",
            Some("very_high") => "critical",
            Some(other) => other,
            None => "low",
        };
        json!({
            "id": r.id, "type": r.spec.change_type.as_str(), "state": r.state.as_str(),
            "risk": {"score": r.risk.as_ref().map_or(0, |x| x.score.min(100)), "level": level},
            "services": r.spec.services, "environments": r.spec.environments,
            "approvals": approvals_of(&v.events).iter()
                .filter(|a| a.decision == slipway_change::Decision::Approve)
                .map(|a| json!({"approver": a.approver, "groups": a.groups_of_approver, "at": a.at.to_string()}))
                .collect::<Vec<_>>(),
            "requester": r.spec.requester,
            "planned": {"start": r.spec.planned_start.map(|t| t.to_string()),
                        "end": r.spec.planned_end.map(|t| t.to_string())},
        })
    });
    let rollout = store
        .get(&request.subject_kind, &request.subject)
        .await
        .map_err(GateError::unavailable)?;
    let strategy = rollout
        .as_ref()
        .and_then(|r| r.spec.get("strategy"))
        .and_then(Value::as_object)
        .and_then(|o| o.keys().next().cloned())
        .unwrap_or_else(|| "direct".into());
    let artifact = store
        .kind::<Artifact>()
        .resource(&request.artifact)
        .await
        .map_err(GateError::unavailable)?;
    let version = artifact
        .as_ref()
        .and_then(|a| a.spec.get("version"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let digest = artifact
        .as_ref()
        .and_then(|a| a.spec.get("digest"))
        .and_then(Value::as_str)
        .filter(|d| d.contains(':'))
        .unwrap_or("sha256:0000000000000000000000000000000000000000000000000000000000000000")
        .to_string();
    let supply = artifact
        .as_ref()
        .and_then(|a| a.status.as_ref())
        .and_then(|s| s.get("supplyChain"))
        .cloned()
        .unwrap_or(Value::Null);
    let rule = |name: &str| rules.iter().find(|r| r.rule == name);
    let freeze_rule = rule("freeze");
    let window_rule = rule("window");
    let teams = match deployer {
        Some(user) => store
            .kind::<User>()
            .resource(user)
            .await
            .map_err(GateError::unavailable)?
            .and_then(|u| u.spec.get("teams").cloned())
            .unwrap_or_else(|| json!([])),
        None => json!([]),
    };
    Ok(json!({
        "change": change,
        "rollout": {
            "name": request.subject, "service": request.service,
            "environment": request.environment, "strategy": strategy,
            "version": version, "previous_version": Value::Null,
            "artifact": {
                "digest": digest,
                "signed": supply.get("signed").and_then(Value::as_bool).unwrap_or(false),
                "vulnerabilities": supply.get("vulnerabilities").cloned()
                    .unwrap_or_else(|| json!({"critical": 0, "high": 0, "medium": 0, "low": 0})),
                "licenses_ok": supply.get("licensesOk").and_then(Value::as_bool).unwrap_or(true),
                "sarif_errors": supply.get("sarifErrors").and_then(Value::as_u64).unwrap_or(0),
                "provenance": supply.get("provenance").cloned().unwrap_or(Value::Null),
            },
        },
        "calendar": {
            "inside_window": window_rule.is_none_or(|r| r.passed),
            "window": window_rule.filter(|r| r.passed).map(|r| r.detail.clone()),
            "freezes": freeze_rule.filter(|r| !r.passed)
                .map(|r| vec![json!({"name": r.detail})]).unwrap_or_default(),
        },
        "checks": rules.iter().map(|r| json!({"name": r.rule, "passed": r.passed})).collect::<Vec<_>>(),
        "actor": {"name": deployer.unwrap_or("unknown"), "teams": teams},
        "now": now.to_string(),
    }))
}

/// What `previous-emergency-reviewed` reads for a deployment under an emergency change: the
/// change's model and break-glass policy and, only when that policy blocks, every change record
/// and the service's promotions in the environment.
struct EmergencyContext {
    model: Option<String>,
    policy: BreakGlassPolicy,
    records: Vec<ChangeRecord>,
    promotions: Vec<Promotion>,
}

impl EmergencyContext {
    async fn read(
        store: Arc<dyn Store>,
        record: &ChangeRecord,
        request: &GateRequest,
    ) -> Result<Self, ChangeError> {
        let desk = ChangeDesk::new(store.clone());
        let policy = desk.model_for(&record.spec).await?.break_glass_policy();
        let mut context = EmergencyContext {
            model: record.spec.model.clone(),
            policy,
            records: Vec::new(),
            promotions: Vec::new(),
        };
        if !context.policy.block_while_previous_review_overdue {
            return Ok(context);
        }
        context.records = desk.records().await?;
        for rollout in store.kind::<Rollout>().list().await? {
            let Some(status) = rollout.status.as_ref() else {
                continue;
            };
            if status.get("phase").and_then(Value::as_str) != Some("Promoted")
                || rollout.spec.service != request.service
                || rollout.spec.environment != request.environment
            {
                continue;
            }
            // When it was promoted: its last history step, or its last declared change.
            let at = status
                .get("history")
                .and_then(Value::as_array)
                .and_then(|h| h.last())
                .and_then(|step| step.get("atMs"))
                .and_then(Value::as_i64)
                .and_then(|ms| Timestamp::from_millisecond(ms).ok())
                .or_else(|| {
                    rollout
                        .metadata
                        .updated_at
                        .as_deref()
                        .and_then(|t| t.parse().ok())
                });
            if let Some(at) = at {
                context.promotions.push(Promotion {
                    artifact: rollout.spec.artifact.clone(),
                    at,
                });
            }
        }
        Ok(context)
    }

    fn facts<'a>(&'a self, artifact: &'a str) -> EmergencyFacts<'a> {
        EmergencyFacts {
            model: self.model.as_deref(),
            policy: &self.policy,
            others: &self.records,
            artifact,
            promotions: &self.promotions,
        }
    }
}

/// The calendars as read, and compiled.
struct CompiledCalendars {
    calendars: Vec<Calendar>,
    compiled: Result<CalendarSet, Vec<Diagnostic>>,
}

/// Label values are limited like names; long subjects are cut.
fn label_value(subject: &str) -> String {
    subject.chars().take(63).collect()
}

/// The decisions of one request: identical requests arriving together share a decision begun
/// after they arrived (see [`FreshRounds`]), so none misses a write committed before its call.
type DecisionRounds = FreshRounds<(GateVerdict, Durable)>;

impl GovernanceGate {
    /// `decide` for a request, sharing decisions between identical requests (see
    /// [`DecisionRounds`]).
    async fn decide_shared(
        &self,
        request: &GateRequest,
    ) -> Result<(GateVerdict, Durable), GateError> {
        let key = [
            request.subject_kind.as_str(),
            &request.subject,
            &request.service,
            &request.environment,
            &request.artifact,
            request.change.as_deref().unwrap_or(""),
            request.step.as_deref().unwrap_or(""),
        ]
        .join("\u{0}");
        let rounds = self
            .rounds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key.clone())
            .or_default()
            .clone();
        let outcome = rounds.fresh(|| self.decide_now(request)).await;
        // Forget the request once nobody else is deciding it.
        let mut all = self.rounds.lock().unwrap_or_else(PoisonError::into_inner);
        if Arc::strong_count(&rounds) == 2 {
            all.remove(&key);
        }
        outcome
    }

    /// Evaluates one request and queues its record: the verdict, and what waits for the
    /// record.
    async fn decide_now(&self, request: &GateRequest) -> Result<(GateVerdict, Durable), GateError> {
        let decision = self.evaluate(request, Timestamp::now()).await?;
        let durable = self.record(&decision)?;
        if decision.verdict == "allow"
            && decision
                .rules
                .iter()
                .any(|r| r.rule.starts_with("supply-chain:"))
            && let Some(recorder) = &self.recorder
        {
            // A verification summary vouches only for a decision that is on record.
            durable.clone().wait().await?;
            if let Err(e) = recorder.record_verification(&decision).await {
                tracing::warn!(artifact = %decision.artifact, error = %e, "could not record the verification summary");
            }
        }
        let failing: Vec<String> = decision
            .rules
            .iter()
            .filter(|r| !r.passed)
            .map(|r| format!("{}: {}", r.rule, r.detail))
            .collect();
        let verdict = match decision.verdict.as_str() {
            "allow" => GateVerdict::Allow {
                summary: format!("{} rule(s) passed", decision.rules.len()),
            },
            "deny" => GateVerdict::Deny { reasons: failing },
            _ => GateVerdict::Wait { reasons: failing },
        };
        Ok((verdict, durable))
    }
}

#[async_trait]
impl Gatekeeper for GovernanceGate {
    async fn decide(&self, request: &GateRequest) -> Result<GateVerdict, GateError> {
        let (verdict, durable) = self.decide_shared(request).await?;
        durable.wait().await?;
        Ok(verdict)
    }

    async fn decide_deferred(
        &self,
        request: &GateRequest,
    ) -> Result<(GateVerdict, DecisionRecorded), GateError> {
        let (verdict, durable) = self.decide_shared(request).await?;
        Ok((verdict, Box::pin(durable.wait())))
    }
}
