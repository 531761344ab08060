//! What the deployment tests share: builds of `payments-api` (the slipway binary's hidden
//! `example-service`, told how to misbehave through its environment), Rollout documents for
//! production, the standard change that production requires, and [`Payments`]: a server with
//! 1.0.0 serving in production behind the built-in router.

use super::client::Client;
use super::run::OK;
use super::server::{Server, loopback_address};
use serde_json::Value;
use std::time::Duration;

/// The example services, in dependency order.
pub const EXAMPLE_SERVICES: [&str; 4] = ["auth-api", "ledger", "payments-api", "checkout-web"];

/// A build of payments-api, `payments-api-X-Y-Z`, whose example service gets `env` (the body
/// of a YAML flow mapping, e.g. `EXAMPLE_ERROR_RATE: "0.3"`).
pub fn build_document(version: &str, env: &str) -> String {
    format!(
        "apiVersion: slipway.dev/v1alpha1\nkind: Artifact\nmetadata: {{name: payments-api-{}}}\nspec: {{service: payments-api, version: \"{version}\", location: \"{{program}}\", args: [example-service], env: {{{env}}}}}\n",
        version.replace('.', "-")
    )
}

/// A build `SERVICE-SUFFIX` of `service` at `version`, as JSON.
pub fn service_build_document(service: &str, suffix: &str, version: &str) -> String {
    format!(
        "{{\"apiVersion\": \"slipway.dev/v1alpha1\", \"kind\": \"Artifact\", \"metadata\": {{\"name\": \"{service}-{suffix}\"}}, \"spec\": {{\"service\": \"{service}\", \"version\": \"{version}\", \"location\": \"{{program}}\", \"args\": [\"example-service\"]}}}}"
    )
}

/// A rollout of payments-api `version` to production behind `listen`, two instances,
/// guarded by `error_rate > 5% for 200ms`, under the standard change `chg-tests`.
pub fn rollout_document(name: &str, version: &str, listen: &str, strategy: &str) -> String {
    format!(
        "apiVersion: slipway.dev/v1alpha1\nkind: Rollout\nmetadata: {{name: {name}}}\nspec:\n  service: payments-api\n  environment: production\n  artifact: payments-api-{}\n  instances: 2\n  listen: \"{listen}\"\n  strategy: {strategy}\n  guardrails: [\"error_rate > 5% for 200ms\"]\n  change: chg-tests\n",
        version.replace('.', "-")
    )
}

/// The example production environment requires a change request: a standard (pre-approved)
/// change `chg-tests` covering every example service in both environments, submitted and in
/// Implement, which the tests' rollouts and releases name.
pub fn open_standard_change(server: &Server) {
    let now = jiff::Timestamp::now();
    let document = format!(
        "apiVersion: slipway.dev/v1alpha1\nkind: ChangeRequest\nmetadata: {{name: chg-tests}}\nspec:\n  type: standard\n  title: test deployments\n  requester: admin\n  services: [{}]\n  environments: [staging, production]\n  implementationPlan: roll out\n  backoutPlan: roll back\n  plannedStart: \"{}\"\n  plannedEnd: \"{}\"\n",
        EXAMPLE_SERVICES.join(", "),
        now - jiff::SignedDuration::from_mins(1),
        now + jiff::SignedDuration::from_hours(4)
    );
    let file = server.write("chg-tests.yaml", document);
    server
        .cli(&["change", "create", "-f", super::server::path_str(&file)])
        .expect(OK);
    server.cli(&["change", "submit", "chg-tests"]).expect(OK);
    server.cli(&["change", "implement", "chg-tests"]).expect(OK);
}

/// A server with the examples, the standard change, and every example service given an
/// endpoint per environment and a 2.0.0 build `SERVICE-2`.
pub fn with_release_builds() -> Server {
    let server = Server::builder().with_examples().start();
    open_standard_change(&server);
    let mut docs = Vec::new();
    for s in EXAMPLE_SERVICES {
        let mut doc = server.resource("services", s).expect("an example service");
        doc.as_object_mut().expect("a document").remove("status");
        doc["spec"]["endpoints"] =
            serde_json::json!({"staging": loopback_address(), "production": loopback_address()});
        docs.push(doc.to_string());
        docs.push(service_build_document(s, "2", "2.0.0"));
    }
    server.apply_text("release/services.json", &format!("[{}]", docs.join(",")));
    server
}

/// payments-api in production: a server with the examples, the standard change, builds
/// 1.0.0, 2.0.0 and 3.0.0 (which fails 30% of its requests), and a router at `listen`.
pub struct Payments {
    pub server: Server,
    pub listen: String,
}

impl Payments {
    /// Everything set up, and 1.0.0 rolled out directly and serving.
    pub fn v1_serving() -> Payments {
        let payments = Payments::not_yet_serving();
        let status = payments.roll("v1", "1.0.0", "{direct: {}}");
        assert_eq!(status["phase"], "Promoted", "{status}");
        payments
    }

    /// Everything set up, nothing rolled out yet.
    pub fn not_yet_serving() -> Payments {
        let server = Server::builder().with_examples().start();
        open_standard_change(&server);
        let builds = [
            build_document("1.0.0", ""),
            build_document("2.0.0", ""),
            build_document("3.0.0", "EXAMPLE_ERROR_RATE: \"0.3\""),
        ];
        server.apply_text("release/artifacts.yaml", &builds.join("---\n"));
        Payments {
            server,
            listen: loopback_address(),
        }
    }

    /// Adds build `version` whose example service gets `env` (see [`build_document`]).
    pub fn add_build(&self, version: &str, env: &str) {
        self.server.apply_text(
            &format!("release/build-{version}.yaml"),
            &build_document(version, env),
        );
    }

    /// A rollout of `version` behind this router (see [`rollout_document`]).
    pub fn rollout_document(&self, name: &str, version: &str, strategy: &str) -> String {
        rollout_document(name, version, &self.listen, strategy)
    }

    /// Applies a rollout of `version` and returns at once.
    pub fn start_rollout(&self, name: &str, version: &str, strategy: &str) {
        self.apply_rollout(name, &self.rollout_document(name, version, strategy));
    }

    /// Applies rollout document `document` (named `name`) and returns at once.
    pub fn apply_rollout(&self, name: &str, document: &str) {
        self.server
            .apply_text(&format!("release/{name}.yaml"), document);
    }

    /// Applies a rollout of `version` and waits until it ends; returns its status.
    pub fn roll(&self, name: &str, version: &str, strategy: &str) -> Value {
        self.start_rollout(name, version, strategy);
        self.server.wait_for_rollout_end(name)
    }

    /// The router's URL, `http://127.0.0.1:PORT/`.
    pub fn router_url(&self) -> String {
        format!("http://{}/", self.listen)
    }

    /// What the router answers at `/` now, e.g. `example-service 1.0.0`.
    #[track_caller]
    pub fn serving(&self) -> String {
        self.try_serving()
            .unwrap_or_else(|e| panic!("GET {}: {e}", self.router_url()))
    }

    /// [`Payments::serving`], or why the router did not answer.
    pub fn try_serving(&self) -> Result<String, String> {
        Client::anonymous_at(&format!("http://{}", self.listen))
            .try_send(reqwest::Method::GET, "/", None, Duration::from_secs(10))
            .map(|reply| reply.body.trim().to_string())
            .map_err(|e| e.to_string())
    }

    /// Points payments-api's production endpoint at this router, so a release deploys there.
    pub fn route_releases_here(&self) {
        let mut service = self
            .server
            .resource("services", "payments-api")
            .expect("payments-api");
        service
            .as_object_mut()
            .expect("a document")
            .remove("status");
        service["spec"]["endpoints"] = serde_json::json!({"production": self.listen});
        self.server
            .apply_text("release/payments-api.json", &service.to_string());
    }
}
