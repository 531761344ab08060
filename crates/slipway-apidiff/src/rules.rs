//! The rule table: every rule id with its default level and the side of the exchange it is
//! about. The ids and levels are oasdiff's (v1.28.0), so findings can be compared with it.

use crate::Level;

/// Which side of an exchange a rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Request,
    Response,
    None,
}

/// One rule: its id, its default level and the side it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub id: &'static str,
    pub level: Level,
    pub direction: Direction,
}

/// Every rule, in oasdiff's order.
pub const RULES: &[Rule] = &[
    Rule {
        id: "request-property-deprecated",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-deprecated-with-sunset",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-deprecated-sunset-missing",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-deprecated-sunset-invalid",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-reactivated",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-sunset-date-too-small",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "response-property-deprecated",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-deprecated-with-sunset",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-deprecated-sunset-missing",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-deprecated-sunset-invalid",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-reactivated",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-sunset-date-too-small",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "endpoint-added",
        level: Level::Info,
        direction: Direction::None,
    },
    Rule {
        id: "api-security-component-removed",
        level: Level::Info,
        direction: Direction::None,
    },
    Rule {
        id: "api-security-component-added",
        level: Level::Info,
        direction: Direction::None,
    },
    Rule {
        id: "api-security-component-oauth-url-changed",
        level: Level::Info,
        direction: Direction::None,
    },
    Rule {
        id: "api-security-component-type-changed",
        level: Level::Info,
        direction: Direction::None,
    },
    Rule {
        id: "api-security-component-oauth-token-url-changed",
        level: Level::Info,
        direction: Direction::None,
    },
    Rule {
        id: "api-security-component-oauth-scope-added",
        level: Level::Info,
        direction: Direction::None,
    },
    Rule {
        id: "api-security-component-oauth-scope-removed",
        level: Level::Info,
        direction: Direction::None,
    },
    Rule {
        id: "api-security-component-oauth-scope-changed",
        level: Level::Info,
        direction: Direction::None,
    },
    Rule {
        id: "api-security-removed",
        level: Level::Info,
        direction: Direction::None,
    },
    Rule {
        id: "api-security-added",
        level: Level::Info,
        direction: Direction::None,
    },
    Rule {
        id: "api-security-scope-added",
        level: Level::Info,
        direction: Direction::None,
    },
    Rule {
        id: "api-security-scope-removed",
        level: Level::Info,
        direction: Direction::None,
    },
    Rule {
        id: "api-global-security-removed",
        level: Level::Info,
        direction: Direction::None,
    },
    Rule {
        id: "api-global-security-added",
        level: Level::Info,
        direction: Direction::None,
    },
    Rule {
        id: "api-global-security-scope-added",
        level: Level::Info,
        direction: Direction::None,
    },
    Rule {
        id: "api-global-security-scope-removed",
        level: Level::Info,
        direction: Direction::None,
    },
    Rule {
        id: "api-version-not-bumped",
        level: Level::Info,
        direction: Direction::None,
    },
    Rule {
        id: "api-version-decreased",
        level: Level::Info,
        direction: Direction::None,
    },
    Rule {
        id: "api-major-version-not-bumped",
        level: Level::Info,
        direction: Direction::None,
    },
    Rule {
        id: "api-stability-decreased",
        level: Level::Err,
        direction: Direction::None,
    },
    Rule {
        id: "api-stability-increased",
        level: Level::Info,
        direction: Direction::None,
    },
    Rule {
        id: "request-property-stability-decreased",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-stability-increased",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "response-property-stability-decreased",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-stability-increased",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "endpoint-reactivated",
        level: Level::Info,
        direction: Direction::None,
    },
    Rule {
        id: "api-deprecated-sunset-parse",
        level: Level::Err,
        direction: Direction::None,
    },
    Rule {
        id: "api-deprecated-sunset-missing",
        level: Level::Err,
        direction: Direction::None,
    },
    Rule {
        id: "api-invalid-stability-level",
        level: Level::Err,
        direction: Direction::None,
    },
    Rule {
        id: "api-sunset-date-too-small",
        level: Level::Err,
        direction: Direction::None,
    },
    Rule {
        id: "endpoint-deprecated",
        level: Level::Info,
        direction: Direction::None,
    },
    Rule {
        id: "endpoint-deprecated-with-sunset",
        level: Level::Info,
        direction: Direction::None,
    },
    Rule {
        id: "request-parameter-reactivated",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-deprecated-sunset-missing",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-sunset-date-too-small",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-deprecated",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "api-path-removed-without-deprecation",
        level: Level::Err,
        direction: Direction::None,
    },
    Rule {
        id: "api-path-removed-with-deprecation",
        level: Level::Info,
        direction: Direction::None,
    },
    Rule {
        id: "api-path-sunset-parse",
        level: Level::Err,
        direction: Direction::None,
    },
    Rule {
        id: "api-path-removed-before-sunset",
        level: Level::Err,
        direction: Direction::None,
    },
    Rule {
        id: "api-removed-without-deprecation",
        level: Level::Err,
        direction: Direction::None,
    },
    Rule {
        id: "api-removed-with-deprecation",
        level: Level::Info,
        direction: Direction::None,
    },
    Rule {
        id: "api-removed-before-sunset",
        level: Level::Err,
        direction: Direction::None,
    },
    Rule {
        id: "sunset-deleted",
        level: Level::Err,
        direction: Direction::None,
    },
    Rule {
        id: "api-sunset-date-changed-too-small",
        level: Level::Err,
        direction: Direction::None,
    },
    Rule {
        id: "request-parameter-sunset-deleted",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-sunset-date-changed-too-small",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-added-required",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-added-optional",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "new-required-request-default-parameter-to-existing-path",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "new-optional-request-default-parameter-to-existing-path",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "new-required-request-parameter",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "new-optional-request-parameter",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "new-request-path-parameter",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "new-required-request-header-property",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-became-enum",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-media-type-added",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-media-type-removed",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-media-type-schema-added",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-media-type-schema-removed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "response-body-media-type-schema-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-media-type-schema-removed",
        level: Level::Warn,
        direction: Direction::Response,
    },
    Rule {
        id: "request-body-removed",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-became-optional",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-became-required",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-discriminator-added",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-discriminator-removed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-discriminator-property-name-changed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-discriminator-mapping-added",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-discriminator-mapping-deleted",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-discriminator-mapping-changed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-discriminator-added",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-discriminator-removed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-discriminator-property-name-changed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-discriminator-mapping-added",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-discriminator-mapping-deleted",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-discriminator-mapping-changed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-header-property-became-enum",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-header-property-became-required",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-became-enum",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-became-nullable",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-became-not-nullable",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-property-became-nullable",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-property-became-not-nullable",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-default-value-changed",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-default-value-added",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-default-value-removed",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-enum-value-added",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-enum-value-removed",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-property-enum-value-added",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-property-enum-value-removed",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-max-items-increased",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-max-items-decreased",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-max-length-set",
        level: Level::Warn,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-max-length-increased",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-max-length-decreased",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-max-set",
        level: Level::Warn,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-exclusive-max-set",
        level: Level::Warn,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-max-increased",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-max-decreased",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-exclusive-max-increased",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-exclusive-max-decreased",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-min-items-set",
        level: Level::Warn,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-min-items-increased",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-min-items-decreased",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-min-length-increased",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-min-length-decreased",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-min-set",
        level: Level::Warn,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-exclusive-min-set",
        level: Level::Warn,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-min-increased",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-min-decreased",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-exclusive-min-increased",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-exclusive-min-decreased",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-pattern-added",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-pattern-removed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-pattern-changed",
        level: Level::Warn,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-pattern-generalized",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-removed",
        level: Level::Warn,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-removed-with-deprecation",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-sunset-parse",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-removed-before-sunset",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-became-required",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-became-optional",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-type-changed",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-type-generalized",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-property-type-changed",
        level: Level::Warn,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-property-type-generalized",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-property-type-specialized",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-x-extensible-enum-value-removed",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-all-of-added",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-all-of-removed",
        level: Level::Warn,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-all-of-added",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-all-of-removed",
        level: Level::Warn,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-all-of-added-annotation-only",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-all-of-removed-annotation-only",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-all-of-added-annotation-only",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-all-of-removed-annotation-only",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-any-of-added",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-any-of-removed",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-any-of-added",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-any-of-removed",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-became-enum",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-became-not-nullable",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-became-nullable",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-became-not-nullable",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-became-nullable",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-default-value-added",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-default-value-removed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-default-value-changed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-default-value-added",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-default-value-removed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-default-value-changed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-const-added",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-const-removed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-const-changed",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-const-added",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-const-removed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-const-changed",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-enum-value-removed",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-read-only-property-enum-value-removed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-enum-value-added",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-max-decreased",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-max-increased",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-max-decreased",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-read-only-property-max-decreased",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-max-increased",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-exclusive-max-decreased",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-exclusive-max-increased",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-exclusive-max-decreased",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-read-only-property-exclusive-max-decreased",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-exclusive-max-increased",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-max-length-set",
        level: Level::Warn,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-max-length-set",
        level: Level::Warn,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-max-length-decreased",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-max-length-increased",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-max-length-decreased",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-read-only-property-max-length-decreased",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-max-length-increased",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-max-set",
        level: Level::Warn,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-max-set",
        level: Level::Warn,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-exclusive-max-set",
        level: Level::Warn,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-exclusive-max-set",
        level: Level::Warn,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-min-increased",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-min-decreased",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-min-increased",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-read-only-property-min-increased",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-min-decreased",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-exclusive-min-increased",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-exclusive-min-decreased",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-exclusive-min-increased",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-read-only-property-exclusive-min-increased",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-exclusive-min-decreased",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-min-items-increased",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-min-items-increased",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-min-items-set",
        level: Level::Warn,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-min-items-set",
        level: Level::Warn,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-min-length-increased",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-min-length-decreased",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-min-length-increased",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-min-length-decreased",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-min-set",
        level: Level::Warn,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-min-set",
        level: Level::Warn,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-exclusive-min-set",
        level: Level::Warn,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-exclusive-min-set",
        level: Level::Warn,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-one-of-added",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-one-of-removed",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-one-of-added",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-one-of-removed",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-pattern-removed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-pattern-added",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-pattern-changed",
        level: Level::Warn,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-pattern-generalized",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-became-required",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-became-required-with-default",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-became-optional",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-type-generalized",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-type-compatible",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-type-changed",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-type-generalized",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-type-compatible",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-type-changed",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-removed",
        level: Level::Warn,
        direction: Direction::Request,
    },
    Rule {
        id: "new-required-request-property",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "new-required-request-property-with-default",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "new-optional-request-property",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-wrapped-in-one-of",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-optional-property-became-not-write-only",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-optional-property-became-write-only",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-optional-property-became-read-only",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-optional-property-became-not-read-only",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-required-property-became-not-write-only",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-required-property-became-write-only",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-required-property-became-read-only",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-required-property-became-not-read-only",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-x-extensible-enum-value-removed",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "response-body-discriminator-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-discriminator-removed",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-discriminator-property-name-changed",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-discriminator-mapping-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-discriminator-mapping-deleted",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-discriminator-mapping-changed",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-discriminator-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-discriminator-removed",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-discriminator-property-name-changed",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-discriminator-mapping-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-discriminator-mapping-deleted",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-discriminator-mapping-changed",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-header-became-optional",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "required-response-header-removed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "optional-response-header-removed",
        level: Level::Warn,
        direction: Direction::Response,
    },
    Rule {
        id: "response-header-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-header-type-changed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-header-type-generalized",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-header-type-specialized",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-header-type-compatible",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-header-became-nullable",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-header-became-not-nullable",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-media-type-removed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-media-type-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-media-type-name-changed",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-media-type-name-generalized",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-media-type-name-specialized",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-optional-property-removed",
        level: Level::Warn,
        direction: Direction::Response,
    },
    Rule {
        id: "response-optional-write-only-property-removed",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-optional-property-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-optional-write-only-property-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-optional-property-became-not-write-only",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-optional-property-became-write-only",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-optional-property-became-read-only",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-optional-property-became-not-read-only",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-pattern-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-pattern-changed",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-pattern-removed",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-all-of-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-all-of-removed",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-all-of-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-all-of-removed",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-all-of-added-annotation-only",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-all-of-removed-annotation-only",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-all-of-added-annotation-only",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-all-of-removed-annotation-only",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-any-of-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-any-of-removed",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-any-of-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-any-of-removed",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-became-nullable",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-became-nullable",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-became-not-nullable",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-became-not-nullable",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-became-optional",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-write-only-property-became-optional",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-became-required",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-write-only-property-became-required",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-default-value-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-default-value-removed",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-default-value-changed",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-default-value-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-default-value-removed",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-default-value-changed",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-const-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-const-removed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-const-changed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-const-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-const-removed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-const-changed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-enum-value-added",
        level: Level::Warn,
        direction: Direction::Response,
    },
    Rule {
        id: "response-write-only-property-enum-value-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-max-increased",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-max-increased",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-exclusive-max-increased",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-exclusive-max-increased",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-max-length-increased",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-max-length-increased",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-max-length-unset",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-max-length-unset",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-min-decreased",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-min-decreased",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-exclusive-min-decreased",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-exclusive-min-decreased",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-min-items-decreased",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-min-items-decreased",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-min-items-unset",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-min-items-unset",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-min-length-decreased",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-min-length-decreased",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-one-of-added",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-one-of-removed",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-one-of-added",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-one-of-removed",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-type-changed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-type-generalized",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-type-specialized",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-type-compatible",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-type-changed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-type-generalized",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-type-specialized",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-type-compatible",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-required-property-removed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-required-write-only-property-removed",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-required-property-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-required-write-only-property-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-wrapped-in-one-of",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-required-property-became-not-write-only",
        level: Level::Warn,
        direction: Direction::Response,
    },
    Rule {
        id: "response-required-property-became-write-only",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-required-property-became-read-only",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-required-property-became-not-read-only",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-success-status-removed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-success-status-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-non-success-status-removed",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-non-success-status-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "api-operation-id-removed",
        level: Level::Info,
        direction: Direction::None,
    },
    Rule {
        id: "api-operation-id-added",
        level: Level::Info,
        direction: Direction::None,
    },
    Rule {
        id: "api-tag-removed",
        level: Level::Info,
        direction: Direction::None,
    },
    Rule {
        id: "api-tag-added",
        level: Level::Info,
        direction: Direction::None,
    },
    Rule {
        id: "webhook-added",
        level: Level::Info,
        direction: Direction::None,
    },
    Rule {
        id: "webhook-removed",
        level: Level::Err,
        direction: Direction::None,
    },
    Rule {
        id: "api-schema-removed",
        level: Level::Info,
        direction: Direction::None,
    },
    Rule {
        id: "response-property-enum-value-removed",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-mediatype-enum-value-removed",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "request-body-enum-value-removed",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-list-of-types-widened",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-list-of-types-narrowed",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-list-of-types-widened",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-list-of-types-narrowed",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "response-body-list-of-types-widened",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-list-of-types-narrowed",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-list-of-types-widened",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-list-of-types-narrowed",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "request-parameter-list-of-types-widened",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-list-of-types-narrowed",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-property-list-of-types-widened",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-parameter-property-list-of-types-narrowed",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-prefix-items-added",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-prefix-items-removed",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-prefix-items-added",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-prefix-items-removed",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "response-body-prefix-items-added",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-prefix-items-removed",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-prefix-items-added",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-prefix-items-removed",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "request-body-if-added",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-if-removed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-then-added",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-then-removed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-else-added",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-else-removed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-if-added",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-if-removed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-then-added",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-then-removed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-else-added",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-else-removed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "response-body-if-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-if-removed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-then-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-then-removed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-else-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-else-removed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-if-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-if-removed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-then-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-then-removed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-else-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-else-removed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "request-body-contains-added",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-contains-removed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-min-contains-increased",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-min-contains-decreased",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-max-contains-increased",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-max-contains-decreased",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-contains-added",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-contains-removed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-min-contains-increased",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-min-contains-decreased",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-max-contains-increased",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-max-contains-decreased",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "response-body-contains-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-contains-removed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-min-contains-increased",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-min-contains-decreased",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-max-contains-increased",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-max-contains-decreased",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-contains-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-contains-removed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-min-contains-increased",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-min-contains-decreased",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-max-contains-increased",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-max-contains-decreased",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "request-body-dependent-required-added",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-dependent-required-removed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-dependent-required-changed",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-dependent-required-added",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-dependent-required-removed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-dependent-required-changed",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "response-body-dependent-required-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-dependent-required-removed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-dependent-required-changed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-dependent-required-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-dependent-required-removed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-dependent-required-changed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "request-body-dependent-schema-added",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-dependent-schema-removed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-dependent-schema-added",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-dependent-schema-removed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "response-body-dependent-schema-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-dependent-schema-removed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-dependent-schema-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-dependent-schema-removed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "request-body-pattern-property-added",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-pattern-property-removed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-pattern-property-added",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-pattern-property-removed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "response-body-pattern-property-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-pattern-property-removed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-pattern-property-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-pattern-property-removed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "request-body-property-names-added",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-property-names-removed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-property-names-added",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-property-names-removed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "response-body-property-names-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-property-names-removed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-property-names-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-property-names-removed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "request-body-unevaluated-items-added",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-unevaluated-items-removed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-unevaluated-properties-added",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-unevaluated-properties-removed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-unevaluated-items-added",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-unevaluated-items-removed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-unevaluated-properties-added",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-unevaluated-properties-removed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "response-body-unevaluated-items-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-unevaluated-items-removed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-unevaluated-properties-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-unevaluated-properties-removed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-unevaluated-items-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-unevaluated-items-removed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-unevaluated-properties-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-unevaluated-properties-removed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "request-body-content-schema-added",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-content-schema-removed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-content-media-type-changed",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-body-content-encoding-changed",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-content-schema-added",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-content-schema-removed",
        level: Level::Info,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-content-media-type-changed",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "request-property-content-encoding-changed",
        level: Level::Err,
        direction: Direction::Request,
    },
    Rule {
        id: "response-body-content-schema-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-content-schema-removed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-content-media-type-changed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-body-content-encoding-changed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-content-schema-added",
        level: Level::Info,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-content-schema-removed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-content-media-type-changed",
        level: Level::Err,
        direction: Direction::Response,
    },
    Rule {
        id: "response-property-content-encoding-changed",
        level: Level::Err,
        direction: Direction::Response,
    },
];

/// The rule with this id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    static BY_ID: std::sync::OnceLock<std::collections::HashMap<&'static str, &'static Rule>> =
        std::sync::OnceLock::new();
    BY_ID
        .get_or_init(|| RULES.iter().map(|rule| (rule.id, rule)).collect())
        .get(id)
        .copied()
}

/// The versioning-policy rules, reported only when asked for.
pub const VERSIONING_RULES: [&str; 3] = [
    "api-version-not-bumped",
    "api-version-decreased",
    "api-major-version-not-bumped",
];
