//! Users with roles: `server.user("alice").team("payments").role("viewer").create()` applies
//! the user, any custom role and the bindings as the admin, issues a token and returns a
//! [`Client`] for that user.

use super::client::Client;
use super::run::OK;
use super::server::Server;

/// A user about to be created on a server; see [`Server::user`].
#[must_use]
pub struct NewUser<'a> {
    server: &'a Server,
    name: String,
    teams: Vec<String>,
    roles: Vec<String>,
    environments: Vec<String>,
    custom_roles: Vec<(String, String)>,
}

impl Server {
    /// A user `name` to create: add teams and roles, then [`NewUser::create`].
    pub fn user(&self, name: &str) -> NewUser<'_> {
        NewUser {
            server: self,
            name: name.to_string(),
            teams: Vec::new(),
            roles: Vec::new(),
            environments: Vec::new(),
            custom_roles: Vec::new(),
        }
    }
}

impl NewUser<'_> {
    /// A team the user belongs to (the team must exist).
    pub fn team(mut self, team: &str) -> Self {
        self.teams.push(team.to_string());
        self
    }

    /// A role bound to the user (built in, or applied before).
    pub fn role(mut self, role: &str) -> Self {
        self.roles.push(role.to_string());
        self
    }

    /// A role created for this user from its `rules` (a YAML flow sequence, e.g.
    /// `[{verbs: [get, list], kinds: [services]}]`) and bound to it.
    pub fn custom_role(mut self, role: &str, rules: &str) -> Self {
        self.custom_roles
            .push((role.to_string(), rules.to_string()));
        self.role(role)
    }

    /// Limits the user's role bindings to an environment.
    pub fn environment(mut self, environment: &str) -> Self {
        self.environments.push(environment.to_string());
        self
    }

    /// Applies the roles and the user with its bindings, issues a token (one day) and returns
    /// a client for the user.
    pub fn create(self) -> Client {
        for (role, rules) in &self.custom_roles {
            self.server.apply_text(
                &format!("role-{role}.yaml"),
                &format!(
                    "apiVersion: slipway.dev/v1alpha1\nkind: Role\nmetadata: {{name: {role}}}\nspec:\n  description: made by the test harness\n  rules: {rules}\n"
                ),
            );
        }
        let mut args = vec!["user", "create", self.name.as_str()];
        for team in &self.teams {
            args.extend(["--team", team]);
        }
        for role in &self.roles {
            args.extend(["--role", role]);
        }
        for environment in &self.environments {
            args.extend(["--environment", environment]);
        }
        self.server.cli(&args).expect(OK);
        let token = self
            .server
            .cli(&["token", "create", "--user", &self.name, "--expires", "1d"])
            .expect(OK)
            .stdout
            .trim()
            .to_string();
        self.server.with_token(&self.name, &token)
    }
}
