//! Building an OpenAPI document from route tables (feature `openapi`: `kassa-cli` generates
//! the committed documents with it; the functions serve those and build without it).

use std::collections::BTreeMap;

use utoipa::openapi::path::{OperationBuilder, ParameterBuilder, ParameterIn, PathItemBuilder};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, HttpMethod, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, RefOr,
    Required, ResponseBuilder, ResponsesBuilder, Schema,
};

use super::{Schemas, ShopperToken, schema};
use crate::problem::{PROBLEM_JSON, Problem};
use crate::routes::{FunctionRoutes, Gate, Verb};

fn http_method(verb: Verb) -> HttpMethod {
    match verb {
        Verb::Get => HttpMethod::Get,
        Verb::Post => HttpMethod::Post,
        Verb::Put => HttpMethod::Put,
        Verb::Patch => HttpMethod::Patch,
        Verb::Delete => HttpMethod::Delete,
    }
}

/// The `{…}` segments of an axum path with their schemas: `min_quantity` is a number, a
/// `handle` a handle (the storefront's product pages), every other one a UUID.
fn path_params(path: &str) -> Vec<(&str, ObjectBuilder)> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| {
            let schema = match name {
                "min_quantity" => scalar(true),
                "handle" => scalar(false).pattern(Some(kassa_domain::schemas::HANDLE)).max_length(Some(100)),
                _ => scalar(false).format(Some(known(KnownFormat::Uuid))),
            };
            (name, schema)
        })
        .collect()
}

fn scalar(integer: bool) -> ObjectBuilder {
    if integer {
        ObjectBuilder::new().schema_type(Type::Integer).format(Some(known(KnownFormat::Int64)))
    } else {
        ObjectBuilder::new().schema_type(Type::String)
    }
}

fn known(format: KnownFormat) -> SchemaFormat {
    SchemaFormat::KnownFormat(format)
}

fn problem_response(description: &str, problem: RefOr<Schema>) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, ContentBuilder::new().schema(Some(problem)).build())
        .build()
}

/// The OpenAPI 3.1 document of every documented route of `functions`: staff routes (bearer
/// token) and public ones of a shop (no token).
///
/// Only with the feature `openapi` (elsewhere the route tables carry no schemas to build it
/// from).
pub fn document(functions: &[FunctionRoutes], title: &str, description: &str) -> OpenApi {
    let mut schemas = Schemas::default();
    let problem = schema::<Problem>(&mut schemas);
    let mut paths: BTreeMap<&str, Vec<(Verb, utoipa::openapi::path::Operation)>> = BTreeMap::new();
    let mut any_staff = false;
    let mut any_shopper = false;
    for spec in functions.iter().flat_map(FunctionRoutes::routes) {
        let Some(doc) = &spec.doc else { continue };
        let staff = match spec.gate {
            Gate::Staff(_) => true,
            Gate::Tenant => false,
            Gate::Open => continue,
        };
        let mut op = OperationBuilder::new()
            .operation_id(Some(doc.operation_id.clone()))
            .summary(Some(doc.summary.clone()));
        for (name, schema) in path_params(&spec.path) {
            let param =
                ParameterBuilder::new().name(name).parameter_in(ParameterIn::Path).required(Required::True);
            op = op.parameter(param.schema(Some(schema)));
        }
        for param in doc.query.map(|params| params()).unwrap_or_default() {
            op = op.parameter(param);
        }
        if doc.if_match {
            op = op.parameter(super::header(
                "If-Match",
                r#"^(\*|"[0-9]{1,18}")$"#,
                false,
                "The ETag (version) the change is based on, e.g. \"3\": at another version the change is refused \
                 (412 version_conflict); without it, or with *, the change applies to the current version",
            ));
        }
        if let Some(key) = doc.idempotency_key {
            op = op.parameter(super::header(
                "Idempotency-Key",
                super::IDEMPOTENCY_KEY_PATTERN,
                key.required,
                key.description,
            ));
        }
        if let Some(request) = doc.request {
            let content_type =
                if doc.merge_patch { "application/merge-patch+json" } else { "application/json" };
            op = op.request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content(content_type, ContentBuilder::new().schema(Some(request(&mut schemas))).build())
                    .build(),
            ));
        }
        let mut success = ResponseBuilder::new().description("success");
        if let Some(response) = doc.response {
            success = success.content(
                "application/json",
                ContentBuilder::new().schema(Some(response(&mut schemas))).build(),
            );
        }
        let mut responses = ResponsesBuilder::new()
            .response(doc.status.to_string(), success.build())
            .response(
                "400",
                problem_response("the request cannot be read (query, path, tenant)", problem.clone()),
            )
            .response("404", problem_response("no such shop or resource", problem.clone()))
            .response("500", problem_response("something failed on Kassa's side", problem.clone()));
        if !staff && doc.shopper != ShopperToken::None {
            responses = responses.response(
                "401",
                problem_response("a customer token that is invalid, expired or signed out", problem.clone()),
            );
        }
        if staff {
            responses = responses
                .response("401", problem_response("no valid bearer token", problem.clone()))
                .response(
                    "403",
                    problem_response("no role in this shop, or a role too weak", problem.clone()),
                );
        } else {
            responses = responses
                .response(
                    "304",
                    ResponseBuilder::new().description("If-None-Match names the current ETag").build(),
                )
                .response(
                    "429",
                    problem_response("too many uncached requests from this address", problem.clone()),
                );
        }
        if spec.verb != Verb::Get {
            responses = responses
                .response(
                    "409",
                    problem_response("a uniqueness rule or a reference prevents it", problem.clone()),
                )
                .response("412", problem_response("If-Match names another version", problem.clone()));
        }
        if doc.request.is_some() {
            responses = responses
                .response("413", problem_response("the body exceeds 1 MiB", problem.clone()))
                .response("415", problem_response("the body is not JSON", problem.clone()))
                .response("422", problem_response("the body is invalid; see errors", problem.clone()));
        }
        op = op.responses(responses.build());
        if staff {
            op = op.security(SecurityRequirement::new("zitadel", Vec::<String>::new()));
            any_staff = true;
        }
        match doc.shopper {
            ShopperToken::None => {}
            ShopperToken::Optional => {
                op = op
                    .security(SecurityRequirement::default())
                    .security(SecurityRequirement::new("customerToken", Vec::<String>::new()));
                any_shopper = true;
            }
            ShopperToken::Required => {
                op = op.security(SecurityRequirement::new("customerToken", Vec::<String>::new()));
                any_shopper = true;
            }
        }
        paths.entry(spec.path.as_str()).or_default().push((spec.verb, op.build()));
    }
    let mut builder = PathsBuilder::new();
    for (path, operations) in paths {
        let mut item = PathItemBuilder::new().build();
        for (verb, operation) in operations {
            item.merge_operations(PathItemBuilder::new().operation(http_method(verb), operation).build());
        }
        builder = builder.path(path, item);
    }
    let mut components = ComponentsBuilder::new();
    if any_staff {
        components = components.security_scheme(
            "zitadel",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build(),
            ),
        );
    }
    if any_shopper {
        components = components.security_scheme(
            "customerToken",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An access token from POST /storefront/customers/sign-in"))
                    .build(),
            ),
        );
    }
    for (name, schema) in schemas.0 {
        components = components.schema(name, schema);
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new().title(title).version(env!("CARGO_PKG_VERSION")).description(Some(description)),
        )
        .paths(builder.build())
        .components(Some(components.build()))
        .build()
}
