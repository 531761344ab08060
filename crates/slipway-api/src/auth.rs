//! Authentication: API tokens.
//!
//! A token is `slw_<id>_<secret>`: `id` (12 hex digits) finds the record, `secret` (64 hex
//! digits, 256 random bits) is checked against its stored SHA-256 in constant time. Tokens are
//! shown once at creation, expire, and can be revoked; a disabled or deleted user's tokens stop
//! working at once.

use crate::AppState;
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use slipway_domain::authz::Principal;
use slipway_domain::kinds::User;
use slipway_store::{TokenRecord, TypedStore};
use std::time::Duration;

/// A freshly minted token: the record to store and the secret to show once.
pub struct MintedToken {
    pub record: TokenRecord,
    pub token: String,
}

fn random_hex(bytes: usize) -> Result<String, ApiError> {
    let mut buf = vec![0u8; bytes];
    getrandom::getrandom(&mut buf).map_err(|_| ApiError::internal("no randomness available"))?;
    Ok(hex::encode(buf))
}

fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Mints a token for `user` that expires after `expires_in` (never, when `None`).
pub fn mint(
    user: &str,
    description: &str,
    expires_in: Option<Duration>,
) -> Result<MintedToken, ApiError> {
    let id = random_hex(6)?;
    let secret = random_hex(32)?;
    let now = time::OffsetDateTime::now_utc();
    let fmt = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .map_err(|_| ApiError::internal("cannot format a timestamp"))
    };
    let expires_at = match expires_in {
        Some(d) => {
            let d = time::Duration::try_from(d)
                .map_err(|_| ApiError::bad_request("expiry is too far away"))?;
            let at = now
                .checked_add(d)
                .ok_or_else(|| ApiError::bad_request("expiry is too far away"))?;
            Some(fmt(at)?)
        }
        None => None,
    };
    Ok(MintedToken {
        token: format!("slw_{id}_{secret}"),
        record: TokenRecord {
            id,
            user: user.to_string(),
            secret_hash: hash_secret(&secret),
            description: description.to_string(),
            revision: 1,
            created_at: fmt(now)?,
            expires_at,
            revoked_at: None,
        },
    })
}

/// Parses a duration like `90m`, `12h`, `30d` or `2w`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (n, unit) = text.split_at(split);
    let n: u64 = n.parse().map_err(|_| {
        format!("{text:?} is not a duration: use a number and s, m, h, d or w (e.g. 30d)")
    })?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => {
            return Err(format!(
                "{text:?} has an unknown unit {unit:?}: use s, m, h, d or w"
            ));
        }
    };
    n.checked_mul(secs)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is too long"))
}

/// The authenticated caller, extracted from `Authorization: Bearer slw_…`.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub token_id: String,
    pub request_id: String,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let request_id = parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| ApiError::unauthenticated("missing Authorization: Bearer token"))?;
        let token = header.strip_prefix("Bearer ").ok_or_else(|| {
            ApiError::unauthenticated("the Authorization header must be 'Bearer <token>'")
        })?;
        let principal_and_id = authenticate(state, token.trim()).await?;
        Ok(Caller {
            principal: principal_and_id.0,
            token_id: principal_and_id.1,
            request_id,
        })
    }
}

/// Checks a token and returns the principal and token id. Every failure gives the same message,
/// so a caller cannot probe which tokens exist.
pub async fn authenticate(state: &AppState, token: &str) -> Result<(Principal, String), ApiError> {
    let refused = || ApiError::unauthenticated("the token is invalid, expired or revoked");
    let rest = token.strip_prefix("slw_").ok_or_else(refused)?;
    let (id, secret) = rest.split_once('_').ok_or_else(refused)?;
    let record = state.store.token(id).await?.ok_or_else(refused)?;
    if !constant_time_eq::constant_time_eq(
        hash_secret(secret).as_bytes(),
        record.secret_hash.as_bytes(),
    ) {
        return Err(refused());
    }
    if record.revoked_at.is_some() {
        return Err(refused());
    }
    if let Some(expires) = &record.expires_at {
        let at =
            time::OffsetDateTime::parse(expires, &time::format_description::well_known::Rfc3339)
                .map_err(|_| refused())?;
        if at <= time::OffsetDateTime::now_utc() {
            return Err(refused());
        }
    }
    let user = state
        .store
        .kind::<User>()
        .get(&record.user)
        .await?
        .ok_or_else(refused)?;
    // A token belongs to the user who held the name when it was made: if the user was deleted
    // and the name created again later, the old tokens must not work for the new user.
    let parse = |t: &str| {
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
    };
    let user_created = user.metadata.created_at.as_deref().and_then(parse);
    match (user_created, parse(&record.created_at)) {
        (Some(u), Some(t)) if u <= t => {}
        _ => return Err(refused()),
    }
    let spec = user.spec;
    if spec.disabled {
        return Err(refused());
    }
    Ok((
        Principal {
            user: record.user,
            teams: spec.teams,
        },
        record.id,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_duration("90m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("3 months").is_err());
        assert!(parse_duration("d").is_err());
        assert!(parse_duration("99999999999999999999w").is_err());
    }

    #[test]
    fn minted_tokens_hide_the_secret() {
        let m = mint("ann", "ci", None).unwrap();
        let secret = m.token.rsplit('_').next().unwrap();
        assert_eq!(secret.len(), 64);
        assert_ne!(m.record.secret_hash, secret);
        assert!(m.token.starts_with(&format!("slw_{}_", m.record.id)));
    }
}
