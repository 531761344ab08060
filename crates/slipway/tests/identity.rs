//! Users, tokens and access: a token shown once, what a viewer may and may not do, revocation,
//! forged tokens, a deleted user's tokens, and secrets kept out of every output, the server's
//! log and the audit log.

use crate::support::snapshot;
use crate::support::*;
use std::time::Duration;

/// Every CLI run of [`identity_walkthrough`], and alice's token.
struct Walkthrough {
    runs: Vec<Run>,
    alice_token: String,
}

/// A second user, a token for her shown once, what she may and may not do, and revocation.
fn identity_walkthrough(server: &Server) -> Walkthrough {
    let mut runs = Vec::new();
    runs.push(server.apply(&examples_dir().join("teams.yaml")));
    runs.push(
        server
            .cli(&[
                "user", "create", "alice", "--team", "payments", "--role", "viewer",
            ])
            .expect(OK),
    );

    let created = server
        .cli(&["token", "create", "--user", "alice", "--expires", "1d"])
        .expect(OK);
    let alice_token = created.stdout.trim().to_string();
    assert!(alice_token.starts_with("slw_"), "{}", created.stdout);
    assert_eq!(created.stdout.lines().count(), 1, "{}", created.stdout);
    assert!(
        !created.stderr.contains(&alice_token),
        "the token is printed twice: {}",
        created.stderr
    );
    created.says(&["shown only this once"]);
    runs.push(created);
    let alice = server.with_token("alice", &alice_token);

    let me = alice.cli(&["whoami"]).expect(OK);
    assert!(
        me.stdout.starts_with("alice (teams: payments"),
        "{}",
        me.stdout
    );
    runs.push(me);

    let services = examples_dir().join("services.yaml");
    let refused = alice
        .cli(&["apply", "-f", path_str(&services)])
        .expect(DENIED);
    refused.says(&["alice"]);
    runs.push(refused);
    runs.push(alice.cli(&["get", "teams"]).expect(OK));

    let listed = server
        .cli(&["token", "list", "--user", "alice", "-o", "json"])
        .expect(OK);
    let secret = alice_token.rsplit('_').next().expect("slw_ID_SECRET");
    assert!(!listed.stdout.contains(secret), "{}", listed.stdout);
    let tokens = listed.json();
    let tokens = tokens.as_array().expect("a list of tokens");
    assert_eq!(tokens.len(), 1, "{}", listed.stdout);
    let id = tokens[0]["id"].as_str().expect("a token id").to_string();
    assert!(alice_token.starts_with(&format!("slw_{id}_")));
    runs.push(listed);
    let table = server.cli(&["token", "list", "--user", "alice"]).expect(OK);
    assert!(!table.stdout.contains(secret), "{}", table.stdout);
    snapshot::assert_table("token-list", &table);
    runs.push(table);
    let table = server.cli(&["token", "list"]).expect(OK);
    assert!(!table.stdout.contains(secret), "{}", table.stdout);
    runs.push(table);

    runs.push(server.cli(&["token", "revoke", &id]).expect(OK));
    let revoked = alice.cli(&["whoami"]).expect(DENIED);
    revoked.says(&["invalid, expired or revoked"]);
    snapshot::assert_error("revoked-token", &revoked);
    runs.push(revoked);

    runs.push(
        server
            .with_token("x", "garbage")
            .cli(&["whoami"])
            .expect(DENIED),
    );
    let forged = format!("slw_{id}_{}", "0".repeat(64));
    runs.push(
        server
            .with_token("x", &forged)
            .cli(&["whoami"])
            .expect(DENIED),
    );
    Walkthrough { runs, alice_token }
}

#[test]
fn identity_tokens_access_and_revocation() {
    let server = Server::start();
    identity_walkthrough(&server);
}

#[test]
fn secrets_stay_out_of_outputs_logs_and_the_audit_log() {
    // Debug logging: the most a server ever writes.
    let mut server = Server::builder().log_filter("debug").start();
    let walkthrough = identity_walkthrough(&server);
    let admin = server.token().to_string();
    let alice = walkthrough.alice_token.clone();
    let secret_of = |token: &str| token.rsplit('_').next().expect("slw_ID_SECRET").to_string();
    let secrets = [
        admin.clone(),
        secret_of(&admin),
        alice.clone(),
        secret_of(&alice),
    ];

    for run in &walkthrough.runs {
        assert!(
            !run.stdout.contains(&admin) && !run.stderr.contains(&admin),
            "`{}` printed the admin token",
            run.command
        );
        if !run.command.starts_with("slipway token create") {
            for secret in &secrets {
                assert!(
                    !run.stdout.contains(secret) && !run.stderr.contains(secret),
                    "`{}` printed a token secret",
                    run.command
                );
            }
        }
    }
    let entries = server
        .cli(&["audit", "entries", "--limit", "10000", "-o", "json"])
        .expect(OK);
    assert!(entries.json().as_array().is_some_and(|e| e.len() > 10));
    server.stop();
    let log = server.log();
    assert!(log.contains("slipway server listening"), "{log}");
    for secret in &secrets {
        assert!(
            !entries.stdout.contains(secret),
            "a token secret is in the audit log"
        );
        for line in log.lines() {
            assert!(
                !line.contains(secret),
                "a token secret is in the server log: {line}"
            );
        }
    }
}

#[test]
fn tokens_of_a_deleted_user_do_not_return_with_the_name() {
    let server = Server::start();
    server.apply(&examples_dir().join("teams.yaml"));
    let old = server.user("carol").team("payments").create();
    old.cli(&["whoami"]).expect(OK);
    let issued: jiff::Timestamp = server
        .cli(&["token", "list", "--user", "carol", "-o", "json"])
        .expect(OK)
        .json()[0]["createdAt"]
        .as_str()
        .expect("the token's creation time")
        .parse()
        .expect("an RFC 3339 time");
    server.cli(&["delete", "user", "carol"]).expect(OK);
    old.cli(&["whoami"]).expect(DENIED);
    // Someone else gets the name later (a token belongs to the user who held the name when it
    // was made): the first carol's token must stay dead.
    wait_until(
        Duration::from_secs(1),
        "the clock to pass the first carol's token",
        || jiff::Timestamp::now() > issued + jiff::SignedDuration::from_millis(1),
    );
    let new = server.user("carol").team("platform").create();
    old.cli(&["whoami"]).expect(DENIED);
    new.cli(&["whoami"]).expect(OK).prints(&["platform"]);
}

/// A custom role bound in staging only: its holder may change rollouts there and nowhere else,
/// and the refusal names what was missing.
#[test]
fn a_custom_role_bound_in_one_environment_allows_exactly_that() {
    let server = Server::builder().with_examples().start();
    server.apply_text("build.yaml", &build_document("1.0.0", ""));
    let dora = server
        .user("dora")
        .team("payments")
        .custom_role(
            "rollout-editor",
            "[{verbs: [get, list, create, update], kinds: [rollouts]}]",
        )
        .environment("staging")
        .create();
    dora.cli(&["whoami"]).expect(OK).prints(&["dora"]);
    let rollout = |environment: &str| {
        rollout_document("r", "1.0.0", &loopback_address(), "{direct: {}}")
            .replace(
                "environment: production",
                &format!("environment: {environment}"),
            )
            .replace("  change: chg-tests\n", "")
    };
    let staging = server.write("staging.yaml", rollout("staging"));
    let production = server.write("production.yaml", rollout("production"));
    dora.cli(&["diff", "-f", path_str(&staging)])
        .expect(OK)
        .prints(&["Rollout r would be created"]);
    let refused = dora
        .cli(&["diff", "-f", path_str(&production)])
        .expect(DENIED);
    snapshot::assert_error("custom-role-outside-its-environment", &refused);
    // The role applies to rollouts only.
    dora.cli(&["diff", "-f", path_str(&examples_dir().join("teams.yaml"))])
        .expect(DENIED);
}
