//! `login`, `whoami`, `user` and `token`: identity commands, as a client of the API.

use crate::GlobalArgs;
use crate::client::ApiClient;
use crate::config::{self, ClientConfig};
use crate::failure::{self, CliResult, Failure};
use crate::output::{Format, print_data, table};
use clap::{Args, Subcommand};
use serde_json::json;
use slipway_api::resource_routes::{ApplyDocument, ApplyRequest, ApplyResponse};
use slipway_api::token_routes::{CreatedToken, WhoAmI};
use slipway_store::TokenRecord;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Read the token from this file (e.g. DATA_DIR/admin-token) instead of --token.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
}

pub async fn login(g: &GlobalArgs, args: LoginArgs) -> CliResult {
    let server = g
        .server
        .clone()
        .ok_or_else(|| Failure::new(failure::INVALID, "login needs --server URL"))?;
    let token = match (&args.token_file, &g.token) {
        (Some(path), _) => std::fs::read_to_string(path)
            .map(|t| t.trim().to_string())
            .map_err(|e| Failure::new(failure::INVALID, format!("{}: {e}", path.display())))?,
        (None, Some(t)) => t.clone(),
        (None, None) => {
            return Err(Failure::new(
                failure::INVALID,
                "login needs --token or --token-file",
            ));
        }
    };
    let client = ApiClient::new(&server, Some(token.clone()))?;
    let me: WhoAmI = client.get("/api/v1/whoami").await?;
    let path = config::save(&ClientConfig {
        server: Some(server.clone()),
        token: Some(token),
    })?;
    println!(
        "logged in to {server} as {}; saved to {}",
        me.user,
        path.display()
    );
    Ok(())
}

pub async fn whoami(client: &ApiClient) -> CliResult {
    let me: WhoAmI = client.get("/api/v1/whoami").await?;
    println!(
        "{} (teams: {}; token {}) at {}",
        me.user,
        me.teams.join(", "),
        me.token,
        client.server()
    );
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create (or update) a user, its team memberships and role bindings.
    Create {
        name: String,
        /// A team the user belongs to (repeatable).
        #[arg(long = "team")]
        teams: Vec<String>,
        /// A role to bind to the user (repeatable); binding NAME-ROLE is created.
        #[arg(long = "role")]
        roles: Vec<String>,
        /// Limit the role bindings to these environments (repeatable).
        #[arg(long = "environment")]
        environments: Vec<String>,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        email: Option<String>,
    },
}

pub async fn user(client: &ApiClient, cmd: UserCommand) -> CliResult {
    let UserCommand::Create {
        name,
        teams,
        roles,
        environments,
        display_name,
        email,
    } = cmd;
    let mut documents = vec![ApplyDocument {
        source: Some("user create".into()),
        document: json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "User", "metadata": {"name": name},
            "spec": {"teams": teams, "displayName": display_name, "email": email}}),
    }];
    for role in &roles {
        let mut spec = json!({"role": role, "subjects": [{"kind": "User", "name": name}]});
        if !environments.is_empty() {
            spec["environments"] = json!(environments);
        }
        documents.push(ApplyDocument {
            source: Some(format!("user create --role {role}")),
            document: json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "RoleBinding",
                "metadata": {"name": format!("{name}-{role}")}, "spec": spec}),
        });
    }
    let response: ApplyResponse = client
        .post(
            "/api/v1/apply",
            &ApplyRequest {
                documents,
                dry_run: false,
                change_ref: None,
            },
        )
        .await?;
    for r in response.results {
        println!(
            "{} {} {} (revision {})",
            r.kind, r.name, r.action, r.revision
        );
    }
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; it is printed once and never again.
    Create {
        #[arg(long)]
        user: String,
        /// Lifetime, e.g. 30d, 12h, 2w; no expiry when absent.
        #[arg(long)]
        expires: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(short, long, value_enum, default_value_t = Format::Table)]
        output: Format,
    },
    /// List tokens (metadata only).
    List {
        #[arg(long)]
        user: Option<String>,
        #[arg(short, long, value_enum, default_value_t = Format::Table)]
        output: Format,
    },
    /// Revoke a token by id.
    Revoke { id: String },
}

pub async fn token(client: &ApiClient, cmd: TokenCommand) -> CliResult {
    match cmd {
        TokenCommand::Create {
            user,
            expires,
            description,
            output,
        } => {
            let created: CreatedToken = client
                .post(
                    "/api/v1/tokens",
                    &json!({"user": user, "expiresIn": expires, "description": description}),
                )
                .await?;
            if output == Format::Table {
                println!("{}", created.token);
                eprintln!(
                    "token {} for {} (expires {}); it is shown only this once",
                    created.record.id,
                    created.record.user,
                    created.record.expires_at.as_deref().unwrap_or("never")
                );
                Ok(())
            } else {
                print_data(output, &created)
            }
        }
        TokenCommand::List { user, output } => {
            let query = user.map(|u| format!("?user={u}")).unwrap_or_default();
            let tokens: Vec<TokenRecord> = client.get(&format!("/api/v1/tokens{query}")).await?;
            if output != Format::Table {
                return print_data(output, &tokens);
            }
            let mut t = table(vec![
                "ID",
                "USER",
                "DESCRIPTION",
                "CREATED",
                "EXPIRES",
                "REVOKED",
            ]);
            for tok in tokens {
                t.add_row(vec![
                    tok.id,
                    tok.user,
                    tok.description,
                    tok.created_at,
                    tok.expires_at.unwrap_or_else(|| "never".into()),
                    tok.revoked_at.unwrap_or_default(),
                ]);
            }
            println!("{t}");
            Ok(())
        }
        TokenCommand::Revoke { id } => {
            let _: serde_json::Value = client.delete(&format!("/api/v1/tokens/{id}")).await?;
            println!("token {id} revoked");
            Ok(())
        }
    }
}
