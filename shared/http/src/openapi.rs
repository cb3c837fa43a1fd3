//! The OpenAPI 3.1 description of the management API, generated from the same route table
//! that builds the routers: every staff route carries a [`Doc`] naming its schemas.

use std::borrow::Cow;
use std::collections::BTreeMap;

use utoipa::ToSchema;
use utoipa::openapi::path::{OperationBuilder, ParameterBuilder, ParameterIn, PathItemBuilder};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{
    AdditionalProperties, AnyOfBuilder, ArrayBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat,
    SchemaType, Type,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, HttpMethod, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref,
    RefOr, Required, ResponseBuilder, ResponsesBuilder,
};

use crate::list::{ListFilters, params as list_params};
use crate::problem::{PROBLEM_JSON, Problem};
use crate::routes::{FunctionRoutes, Gate, Verb};

/// The component schemas an OpenAPI document collects while its operations are built.
#[derive(Default)]
pub struct Schemas(BTreeMap<String, RefOr<Schema>>);

impl Schemas {
    fn add(&mut self, name: &str, schema: RefOr<Schema>) -> RefOr<Schema> {
        self.0.entry(name.to_owned()).or_insert(schema);
        RefOr::Ref(Ref::from_schema_name(name))
    }
}

/// Builds (and registers) a schema.
pub type SchemaFn = fn(&mut Schemas) -> RefOr<Schema>;

/// `T`'s schema, registered with everything it refers to.
pub fn schema<T: ToSchema>(schemas: &mut Schemas) -> RefOr<Schema> {
    let mut nested = Vec::new();
    T::schemas(&mut nested);
    for (name, schema) in nested {
        schemas.add(&name, schema);
    }
    schemas.add(&T::name(), T::schema())
}

/// A keyset page of `T`: `{items: [T], next_cursor: string | null}`.
pub fn page<T: ToSchema>(schemas: &mut Schemas) -> RefOr<Schema> {
    let item = schema::<T>(schemas);
    let page = ObjectBuilder::new()
        .property("items", ArrayBuilder::new().items(item))
        .property(
            "next_cursor",
            ObjectBuilder::new()
                .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
                .description(Some("pass as ?cursor= for the next page; null on the last page")),
        )
        .required("items")
        .required("next_cursor")
        .build();
    schemas.add(&format!("{}Page", T::name()), RefOr::T(Schema::Object(page)))
}

/// A JSON merge patch of `T`: `T`'s fields, none required. A field `T` does not require may
/// also be `null`, which removes it (RFC 7396), as if it had never been sent.
pub fn patch<T: ToSchema>(schemas: &mut Schemas) -> RefOr<Schema> {
    let name = format!("{}Patch", T::name());
    let mut nested = Vec::new();
    T::schemas(&mut nested);
    for (n, s) in nested {
        schemas.add(&n, s);
    }
    let patch = match T::schema() {
        RefOr::T(Schema::Object(mut object)) => {
            let required = std::mem::take(&mut object.required);
            for (field, schema) in object.properties.iter_mut().filter(|(field, _)| !required.contains(field))
            {
                let null = ObjectBuilder::new().schema_type(Type::Null).description(Some(format!(
                    "null removes `{field}` (RFC 7396), as if it had never been sent"
                )));
                let either = AnyOfBuilder::new().item(schema.clone()).item(null).build();
                *schema = RefOr::T(Schema::AnyOf(either));
            }
            // An unknown field sent as null removes nothing and is taken; any other is refused.
            if matches!(object.additional_properties.as_deref(), Some(AdditionalProperties::FreeForm(false)))
            {
                let null = ObjectBuilder::new().schema_type(Type::Null).build();
                // No key holds a NUL: the body extractor refuses one anywhere.
                object.property_names = Some(Box::new(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .pattern(Some(kassa_domain::schemas::NO_NUL))
                        .into(),
                ));
                object.additional_properties =
                    Some(Box::new(AdditionalProperties::RefOr(RefOr::T(null.into()))));
            }
            RefOr::T(Schema::Object(object))
        }
        other => other,
    };
    schemas.add(&name, patch)
}

/// The query parameters of an operation, from the type that parses them
/// (`crate::list::params::<F>` for a list).
pub type ParamsFn = fn() -> Vec<utoipa::openapi::path::Parameter>;

/// What the OpenAPI document says about one route.
#[derive(Clone)]
pub struct Doc {
    pub operation_id: Cow<'static, str>,
    pub summary: Cow<'static, str>,
    pub request: Option<SchemaFn>,
    /// The request is a JSON merge patch (`application/merge-patch+json`).
    pub merge_patch: bool,
    pub status: u16,
    pub response: Option<SchemaFn>,
    pub query: Option<ParamsFn>,
    /// Whether a storefront route takes a shopper's access token.
    pub shopper: ShopperToken,
}

/// How a public (storefront) route treats `Authorization: Bearer <customer access token>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShopperToken {
    /// Not read.
    None,
    /// Anonymous without it; with it, answered for that customer (a bad token is a 401).
    Optional,
    /// Required (401 without).
    Required,
}

impl std::fmt::Debug for Doc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Doc").field("operation_id", &self.operation_id).finish_non_exhaustive()
    }
}

impl Doc {
    /// An operation answering `200` with no documented body yet.
    pub const fn new(operation_id: &'static str, summary: &'static str) -> Self {
        Doc::named(Cow::Borrowed(operation_id), Cow::Borrowed(summary))
    }

    /// Like [`Doc::new`], with an operation id and summary built at run time (the generic
    /// CRUD routes name theirs after the resource).
    pub const fn named(operation_id: Cow<'static, str>, summary: Cow<'static, str>) -> Self {
        Doc {
            operation_id,
            summary,
            request: None,
            merge_patch: false,
            status: 200,
            response: None,
            query: None,
            shopper: ShopperToken::None,
        }
    }

    /// The route needs a signed-in shopper's access token.
    pub const fn signed_in(mut self) -> Self {
        self.shopper = ShopperToken::Required;
        self
    }

    /// The route answers anonymous shoppers and, with their access token, signed-in ones.
    pub const fn shopper_optional(mut self) -> Self {
        self.shopper = ShopperToken::Optional;
        self
    }

    pub const fn body(mut self, request: SchemaFn) -> Self {
        self.request = Some(request);
        self
    }

    pub const fn merge_patch(mut self, request: SchemaFn) -> Self {
        self.request = Some(request);
        self.merge_patch = true;
        self
    }

    pub const fn returns(mut self, status: u16, response: SchemaFn) -> Self {
        self.status = status;
        self.response = Some(response);
        self
    }

    /// `204 No Content`.
    pub const fn no_content(mut self) -> Self {
        self.status = 204;
        self.response = None;
        self
    }

    /// The operation's query parameters, e.g. `list::params::<ProductFilters>`.
    pub const fn query(mut self, query: ParamsFn) -> Self {
        self.query = Some(query);
        self
    }

    /// A keyset list: `F`'s query parameters (besides `limit` and `cursor`), a page of `T`.
    pub fn lists<F: ListFilters, T: ToSchema>(self) -> Self {
        self.query(list_params::<F>).returns(200, page::<T>)
    }

    /// A create: a `D` in the body, `201 Created` with the `T` made.
    pub fn creates<D: ToSchema, T: ToSchema>(self) -> Self {
        self.body(schema::<D>).returns(201, schema::<T>)
    }

    /// An update: a JSON merge patch of `D` in the body, the updated `T`.
    pub fn patches<D: ToSchema, T: ToSchema>(self) -> Self {
        self.merge_patch(patch::<D>).returns(200, schema::<T>)
    }
}

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

/// Answers an OpenAPI document generated ahead of time (`kassa_cli::openapi` writes them,
/// a test keeps them current), so a function need not link every other function's routes
/// and schemas to describe them.
pub fn serve_document(json: &'static str) -> axum::response::Response {
    use axum::response::IntoResponse;
    ([(http::header::CONTENT_TYPE, "application/json")], json).into_response()
}
