//! The generated OpenAPI document, served unauthenticated at `/api/v1/openapi.json`.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Slipway API", description = "Release governance and progressive delivery control plane."),
    paths(
        crate::resource_routes::list_kinds,
        crate::resource_routes::list,
        crate::resource_routes::get_one,
        crate::resource_routes::put_one,
        crate::resource_routes::delete_one,
        crate::resource_routes::apply,
        crate::audit_routes::entries,
        crate::audit_routes::checkpoints,
        crate::audit_routes::create_checkpoint,
        crate::audit_routes::inclusion,
        crate::audit_routes::consistency,
        crate::audit_routes::export,
        crate::audit_routes::verify,
        crate::change_routes::act,
        crate::change_routes::view,
        crate::change_routes::rates,
        crate::change_routes::unauthorised_changes,
        crate::change_routes::explain,
        crate::change_routes::evidence,
        crate::change_routes::calendar_decision,
        crate::token_routes::create,
        crate::token_routes::list,
        crate::token_routes::revoke,
        crate::token_routes::whoami,
        crate::event_routes::events,
        crate::artifact_routes::content::push,
        crate::artifact_routes::content::pull,
        crate::artifact_routes::content::list,
        crate::artifact_routes::content::inspect,
        crate::artifact_routes::referrers::attach,
        crate::artifact_routes::referrers::list_referrers,
        crate::artifact_routes::holds::hold,
        crate::artifact_routes::holds::release_hold,
        crate::artifact_routes::retention::retention,
        crate::artifact_routes::archive::export,
        crate::artifact_routes::archive::import,
        crate::vulndb_routes::import_vulndb,
        crate::observability::healthz,
        crate::observability::readyz,
        crate::observability::metrics_text,
    ),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
