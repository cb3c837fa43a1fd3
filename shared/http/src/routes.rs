//! A function's routes, recorded as they are added, so the router, the OpenAPI document and
//! the routes `template.yaml` must declare all come from one place.

use axum::Router;
use axum::extract::Request;
use axum::handler::Handler;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{MethodFilter, MethodRouter, on};
use http::Method;
use kassa_domain::outbox::PublishAfterCommit;

use crate::openapi::Doc;
use crate::staff::{Access, staff_gate};
use crate::state::AppState;
use crate::tenancy::resolve_tenant;

/// The HTTP methods Kassa routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Verb {
    pub fn method(self) -> Method {
        match self {
            Verb::Get => Method::GET,
            Verb::Post => Method::POST,
            Verb::Put => Method::PUT,
            Verb::Patch => Method::PATCH,
            Verb::Delete => Method::DELETE,
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            Verb::Get => MethodFilter::GET,
            Verb::Post => MethodFilter::POST,
            Verb::Put => MethodFilter::PUT,
            Verb::Patch => MethodFilter::PATCH,
            Verb::Delete => MethodFilter::DELETE,
        }
    }
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Anyone, no tenant (documents such as the OpenAPI description).
    Open,
    /// Anyone, for a resolved tenant ([`crate::CurrentTenant`]).
    Tenant,
    /// A staff member of the resolved tenant ([`crate::Staff`]).
    Staff(Access),
}

/// One route: method, axum path (`/management/products/{id}`), gate and documentation.
#[derive(Debug, Clone)]
pub struct RouteSpec {
    pub verb: Verb,
    pub path: String,
    pub gate: Gate,
    pub doc: Option<Doc>,
}

impl RouteSpec {
    pub fn method(&self) -> Method {
        self.verb.method()
    }
}

/// The routes of one deployed function (one Lambda), with the function's name recorded on
/// every request span.
pub struct FunctionRoutes {
    name: &'static str,
    routes: Vec<(RouteSpec, MethodRouter<AppState>)>,
}

impl FunctionRoutes {
    pub fn new(name: &'static str) -> Self {
        Self { name, routes: Vec::new() }
    }

    /// A public `GET path` for a resolved tenant; HEAD too.
    pub fn get<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.add(Verb::Get, path, Gate::Tenant, None, handler)
    }

    /// A documented public `GET path` for a resolved tenant (in the function's public
    /// OpenAPI document); HEAD too.
    pub fn public_get<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        doc: Doc,
        handler: H,
    ) -> Self {
        self.add(Verb::Get, path, Gate::Tenant, Some(doc), handler)
    }

    /// A documented public route of any method for a resolved tenant (storefront writes:
    /// customers, carts); the handler decides who the caller is (cart or customer token).
    pub fn public<H: Handler<T, AppState>, T: 'static>(
        self,
        verb: Verb,
        path: &'static str,
        doc: Doc,
        handler: H,
    ) -> Self {
        self.add(verb, path, Gate::Tenant, Some(doc), handler)
    }

    /// A route of any method that needs no tenant and has no documentation (callbacks such
    /// as payment-provider webhooks, which name their shop in the path).
    pub fn open<H: Handler<T, AppState>, T: 'static>(
        self,
        verb: Verb,
        path: &'static str,
        handler: H,
    ) -> Self {
        self.add(verb, path, Gate::Open, None, handler)
    }

    /// A public `GET path` that needs no tenant.
    pub fn open_get<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.add(Verb::Get, path, Gate::Open, None, handler)
    }

    /// A documented staff route: the caller's token and role in the tenant are checked
    /// before the handler runs.
    pub fn staff<H: Handler<T, AppState>, T: 'static>(
        self,
        verb: Verb,
        path: impl Into<String>,
        access: Access,
        doc: Doc,
        handler: H,
    ) -> Self {
        self.add(verb, path, Gate::Staff(access), Some(doc), handler)
    }

    fn add<H: Handler<T, AppState>, T: 'static>(
        mut self,
        verb: Verb,
        path: impl Into<String>,
        gate: Gate,
        doc: Option<Doc>,
        handler: H,
    ) -> Self {
        let spec = RouteSpec { verb, path: path.into(), gate, doc };
        let method_router = on(verb.filter(), handler);
        self.routes.push((spec, method_router));
        self
    }

    /// Only the routes `keep` accepts: for a document covering part of a function (the
    /// customers function's staff routes are in the management API, its public ones in the
    /// storefront's).
    pub fn filter(mut self, keep: impl Fn(&RouteSpec) -> bool) -> Self {
        self.routes.retain(|(spec, _)| keep(spec));
        self
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn routes(&self) -> impl Iterator<Item = &RouteSpec> {
        self.routes.iter().map(|(spec, _)| spec)
    }

    /// The function's router with its state, ready to be served alone (Lambda) or merged
    /// with the others (`kassa serve`), wrapped by [`crate::app`] either way.
    pub fn into_router(self, state: AppState) -> Router {
        let name = self.name;
        let router = self.routes.into_iter().fold(Router::new(), |router, (spec, method_router)| {
            // On the method router, so a wrong method is a 405 before any other check.
            let method_router = match spec.gate {
                Gate::Open => method_router,
                Gate::Tenant => {
                    method_router.route_layer(middleware::from_fn_with_state(state.clone(), resolve_tenant))
                }
                Gate::Staff(access) => method_router
                    .route_layer(middleware::from_fn_with_state((state.clone(), access), staff_gate)),
            };
            router.route(&spec.path, method_router)
        });
        // Without a publisher (reads only, or no EVENTS_QUEUE_URL) requests skip the layer.
        let router = match &state.events {
            Some(events) => {
                router.route_layer(middleware::from_fn_with_state(events.clone(), publish_after_commit))
            }
            None => router,
        };
        router
            .route_layer(middleware::from_fn(move |request: Request, next: Next| async move {
                tracing::Span::current().record("function", name);
                let response: Response = next.run(request).await;
                response
            }))
            .layer(crate::cors::layer(&state.config))
            .with_state(state)
    }
}

/// The fast path of event delivery (cloud): after the route's work, publish the outbox
/// events it committed before answering (see `kassa_events::fast_path`). Only on the routes
/// of a state built with `AppState::publishing`; elsewhere the relay publishes everything.
async fn publish_after_commit(
    axum::extract::State(events): axum::extract::State<std::sync::Arc<dyn PublishAfterCommit>>,
    request: Request,
    next: Next,
) -> Response {
    let (response, appended) = kassa_domain::outbox::collect(next.run(request)).await;
    events.publish_after_commit(&appended).await;
    response
}
