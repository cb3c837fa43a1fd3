//! A function's routes, recorded as they are added, so the router and the list of routes
//! that `template.yaml` must declare come from one place.

use axum::Router;
use axum::extract::Request;
use axum::handler::Handler;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{MethodFilter, MethodRouter, on};
use http::Method;

use crate::state::AppState;
use crate::tenancy::resolve_tenant;

/// One route: an HTTP method and an axum path such as `/storefront/products/{handle}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RouteSpec {
    pub method: Method,
    pub path: &'static str,
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

    /// `GET path` for a resolved tenant ([`crate::CurrentTenant`]); HEAD is answered too.
    pub fn get<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.tenant_route(Method::GET, MethodFilter::GET, path, handler)
    }

    fn tenant_route<H: Handler<T, AppState>, T: 'static>(
        mut self,
        method: Method,
        filter: MethodFilter,
        path: &'static str,
        handler: H,
    ) -> Self {
        self.routes.push((RouteSpec { method, path }, on(filter, handler)));
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
            // On the method router, so a wrong method is a 405 before any tenant lookup.
            let method_router =
                method_router.route_layer(middleware::from_fn_with_state(state.clone(), resolve_tenant));
            router.route(spec.path, method_router)
        });
        router
            .route_layer(middleware::from_fn(move |request: Request, next: Next| async move {
                tracing::Span::current().record("function", name);
                let response: Response = next.run(request).await;
                response
            }))
            .with_state(state)
    }
}
