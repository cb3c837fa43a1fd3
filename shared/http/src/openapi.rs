//! The OpenAPI 3.1 descriptions of the APIs, generated from the same route tables that build
//! the routers: every route carries a [`Doc`] naming its schemas. Generating (`document`,
//! feature `openapi`) is `kassa-cli`'s job; the functions serve the committed result
//! ([`serve_document`]) and, built without the feature, carry no schema code.

use std::borrow::Cow;
use std::collections::BTreeMap;

use utoipa::ToSchema;
use utoipa::openapi::schema::{
    AdditionalProperties, AnyOfBuilder, ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type,
};
use utoipa::openapi::{Ref, RefOr};

use crate::list::{ListFilters, params as list_params};

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
    /// The `Idempotency-Key` header the route reads, if any.
    pub idempotency_key: Option<HeaderDoc>,
    /// Whether the route reads `If-Match` ([`crate::rest::IfMatch`]).
    pub if_match: bool,
}

/// A header a route reads: whether it must be sent, and what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderDoc {
    pub required: bool,
    pub description: &'static str,
}

/// What the `Idempotency-Key` header may hold: 1–255 visible ASCII characters, as
/// [`crate::extract::IdempotencyKey`] checks.
pub const IDEMPOTENCY_KEY_PATTERN: &str = "^[!-~]{1,255}$";

/// A header parameter holding a string of `pattern`.
pub fn header(
    name: &str,
    pattern: &str,
    required: bool,
    description: &str,
) -> utoipa::openapi::path::Parameter {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    let required = if required { utoipa::openapi::Required::True } else { utoipa::openapi::Required::False };
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(required)
        .description(Some(description))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String).pattern(Some(pattern))))
        .build()
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
            idempotency_key: None,
            if_match: false,
        }
    }

    /// The route takes an optional `If-Match: "<version>"` ([`crate::rest::IfMatch`]).
    pub const fn if_match(mut self) -> Self {
        self.if_match = true;
        self
    }

    /// The route reads an optional `Idempotency-Key` ([`crate::extract::IdempotencyKey`]);
    /// `description` says what a retry with the same key gets.
    pub const fn idempotent(mut self, description: &'static str) -> Self {
        self.idempotency_key = Some(HeaderDoc { required: false, description });
        self
    }

    /// Like [`Doc::idempotent`], with the key required (400 `invalid_idempotency_key` without).
    pub const fn idempotency_required(mut self, description: &'static str) -> Self {
        self.idempotency_key = Some(HeaderDoc { required: true, description });
        self
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
        self.request = kept(request);
        self
    }

    pub const fn merge_patch(mut self, request: SchemaFn) -> Self {
        self.request = kept(request);
        self.merge_patch = true;
        self
    }

    pub const fn returns(mut self, status: u16, response: SchemaFn) -> Self {
        self.status = status;
        self.response = kept(response);
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
        self.query = kept(query);
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

    /// An update: a JSON merge patch of `D` in the body (and `If-Match`, as
    /// [`crate::rest::patched`] reads it), the updated `T`.
    pub fn patches<D: ToSchema, T: ToSchema>(self) -> Self {
        self.merge_patch(patch::<D>).if_match().returns(200, schema::<T>)
    }
}

#[cfg(feature = "openapi")]
mod generate;
#[cfg(feature = "openapi")]
pub use generate::document;

/// A schema (or parameters) function, kept only where documents are generated (feature
/// `openapi`, which `kassa-cli` turns on). The functions serve their documents as generated
/// ahead of time, so in a function's own build the route table holds no pointer to its
/// schemas and the linker leaves their code (every `ToSchema` type's) out of the binary.
const fn kept<F: Copy>(f: F) -> Option<F> {
    if cfg!(feature = "openapi") { Some(f) } else { None }
}

/// Answers an OpenAPI document generated ahead of time (`kassa_cli::openapi` writes them,
/// a test keeps them current), so a function need not link every other function's routes
/// and schemas to describe them.
pub fn serve_document(json: &'static str) -> axum::response::Response {
    use axum::response::IntoResponse;
    ([(http::header::CONTENT_TYPE, "application/json")], json).into_response()
}
