//! A function's routes, recorded as they are added, so the router and the list of routes
//! that `template.yaml` must declare come from one place.

use axum::Router;
use axum::extract::Request;
use axum::handler::Handler;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{MethodFilter, MethodRouter, on};
use http::Method;

use crate::staff::{Access, staff_gate};
use crate::state::AppState;
use crate::tenancy::resolve_tenant;

/// One route: an HTTP method, an axum path such as `/storefront/products/{handle}`, and
/// what it requires of the caller (`None`: public, tenant only).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RouteSpec {
    pub method: Method,
    pub path: &'static str,
    pub access: Option<Access>,
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

    /// A public `GET path` for a resolved tenant ([`crate::CurrentTenant`]); HEAD too.
    pub fn get<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.add(RouteSpec { method: Method::GET, path, access: None }, on(MethodFilter::GET, handler))
    }

    /// A staff `GET path`: the caller's token and role in the tenant are checked first
    /// ([`crate::Staff`]).
    pub fn staff_get<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        access: Access,
        handler: H,
    ) -> Self {
        self.add(
            RouteSpec { method: Method::GET, path, access: Some(access) },
            on(MethodFilter::GET, handler),
        )
    }

    fn add(mut self, spec: RouteSpec, handler: MethodRouter<AppState>) -> Self {
        self.routes.push((spec, handler));
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
            let method_router = match spec.access {
                None => {
                    method_router.route_layer(middleware::from_fn_with_state(state.clone(), resolve_tenant))
                }
                Some(access) => method_router
                    .route_layer(middleware::from_fn_with_state((state.clone(), access), staff_gate)),
            };
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
