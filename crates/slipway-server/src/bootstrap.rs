//! `slipway init`: a new data dir with its signing key, schema, built-in roles, the first admin
//! and that admin's token, all written through the store so the audit log starts complete.

use serde_json::json;
use slipway_api::auth;
use slipway_domain::kinds::{Kind, Role, RoleBinding, User};
use slipway_domain::resource::{API_VERSION, Resource, parse_document};
use slipway_store::data_dir::DataDir;
use slipway_store::{Actor, Mutation, SqlStore, Store};

/// The roles every installation starts with. They are ordinary Role resources: edit them with
/// `slipway apply` like anything else.
pub fn builtin_roles() -> Vec<serde_json::Value> {
    let catalogue = [
        "teams",
        "users",
        "services",
        "environments",
        "roles",
        "rolebindings",
    ];
    vec![
        json!({"apiVersion": API_VERSION, "kind": Role::KIND, "metadata": {"name": "admin"},
            "spec": {"description": "everything, including users, roles, tokens and the audit log",
                     "rules": [{"verbs": ["*"], "kinds": ["*"]}]}}),
        json!({"apiVersion": API_VERSION, "kind": Role::KIND, "metadata": {"name": "editor"},
            "spec": {"description": "manage teams, services and environments; read the rest",
                     "rules": [{"verbs": ["get", "list", "create", "update", "delete"], "kinds": ["teams", "services", "environments"]},
                               {"verbs": ["get", "list"], "kinds": ["users", "roles", "rolebindings"]}]}}),
        json!({"apiVersion": API_VERSION, "kind": Role::KIND, "metadata": {"name": "viewer"},
            "spec": {"description": "read the catalogue", "rules": [{"verbs": ["get", "list"], "kinds": catalogue}]}}),
        json!({"apiVersion": API_VERSION, "kind": Role::KIND, "metadata": {"name": "auditor"},
            "spec": {"description": "read everything, including the audit log, tokens' metadata and metrics; change nothing",
                     "rules": [{"verbs": ["get", "list"], "kinds": ["*"]}]}}),
    ]
}

/// What `init` produced.
pub struct Initialised {
    pub admin_token: String,
    pub database: String,
}

fn doc(value: serde_json::Value) -> Result<Resource, String> {
    parse_document(&value).map_err(|d| {
        let reasons: Vec<String> = d.iter().map(ToString::to_string).collect();
        format!("built-in document is invalid: {}", reasons.join("; "))
    })
}

/// Initialises `dir` (creating it) with the database at `database_url` (the data dir's SQLite
/// file when `None`). Refuses a data dir that is already initialised.
pub async fn init(
    dir: &DataDir,
    database_url: Option<&str>,
    admin: &str,
) -> Result<Initialised, String> {
    if dir.is_initialised() {
        return Err(format!(
            "{} is already initialised (it has {}); use a new directory",
            dir.root.display(),
            dir.signing_key_path().display()
        ));
    }
    dir.create().map_err(|e| e.to_string())?;
    let url = database_url
        .map(str::to_string)
        .unwrap_or_else(|| dir.sqlite_url());
    let store = SqlStore::open(&url)
        .await
        .map_err(|e| format!("cannot open the database: {e}"))?;
    if store.audit_head().await.map_err(|e| e.to_string())?.0 != 0 {
        return Err(
            "the database already holds an audit log: initialise against an empty database".into(),
        );
    }
    let key = dir.create_signing_key().map_err(|e| e.to_string())?;
    store
        .set_meta(
            "audit_public_key",
            &hex::encode(key.verifying_key().as_bytes()),
        )
        .await
        .map_err(|e| e.to_string())?;
    let actor = Actor::system("init");
    let mut batch = Vec::new();
    for role in builtin_roles() {
        batch.push(Mutation::Put(doc(role)?));
    }
    batch.push(Mutation::Put(doc(
        json!({"apiVersion": API_VERSION, "kind": User::KIND, "metadata": {"name": admin},
            "spec": {"displayName": "first administrator"}}),
    )?));
    batch.push(Mutation::Put(
        doc(json!({"apiVersion": API_VERSION, "kind": RoleBinding::KIND, "metadata": {"name": format!("{admin}-admin")},
            "spec": {"role": "admin", "subjects": [{"kind": User::KIND, "name": admin}]}}))
?,
    ));
    store
        .apply(&actor, batch, false)
        .await
        .map_err(|e| e.to_string())?;
    let minted = auth::mint(admin, "created by slipway init", None).map_err(|e| e.body.message)?;
    store
        .create_token(&actor, minted.record)
        .await
        .map_err(|e| e.to_string())?;
    dir.write_admin_token(&minted.token)
        .map_err(|e| e.to_string())?;
    store.checkpoint(&key).await.map_err(|e| e.to_string())?;
    store.close().await;
    Ok(Initialised {
        admin_token: minted.token,
        database: if database_url.is_some() {
            "postgresql".into()
        } else {
            dir.database_path().display().to_string()
        },
    })
}
