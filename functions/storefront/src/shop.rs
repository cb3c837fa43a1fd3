//! What a storefront request asks for: locale (query or Accept-Language), currency,
//! customer group and list parameters — normalised, so equal questions share a cache key.

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use kassa_domain::currency::Currency;
use kassa_domain::pagination::{self, Cursor};
use kassa_domain::storefront::{self, Audience, ShopQuery, ShopSort};
use kassa_domain::tenant::Tenant;
use kassa_http::ApiError;
use kassa_http::cache::{Cached, Lookup};
use kassa_http::rest::query_error;
use sqlx::PgPool;

fn bad(code: &'static str, message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, code, message)
}

/// A parsed storefront request.
#[derive(Debug)]
pub struct ShopRequest {
    pub locale: String,
    pub currency: String,
    pub group: Option<String>,
    /// The route's own parameters, sorted (the normalised query).
    pub params: Vec<(String, String)>,
}

/// The shop's locale that best serves `Accept-Language`: an exact tag, then the same
/// language, in the order of the header's weights.
pub fn negotiate(tenant: &Tenant, accept_language: Option<&str>) -> Option<String> {
    let mut wanted: Vec<(f32, String)> = accept_language?
        .split(',')
        .filter_map(|part| {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next()?.trim().to_ascii_lowercase();
            let weight = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
            (!tag.is_empty() && weight > 0.0).then_some((weight, tag))
        })
        .collect();
    wanted.sort_by(|a, b| b.0.total_cmp(&a.0));
    let language = |tag: &str| tag.split('-').next().unwrap_or_default().to_owned();
    wanted.iter().find_map(|(_, tag)| {
        tenant
            .locales
            .iter()
            .find(|l| l.to_ascii_lowercase() == *tag)
            .or_else(|| tenant.locales.iter().find(|l| language(&l.to_ascii_lowercase()) == language(tag)))
            .cloned()
    })
}

impl ShopRequest {
    /// Reads the shared parameters and keeps those in `allowed` (and `attr[…]` when
    /// `attributes`) as the route's own; anything else is a 400.
    pub fn parse(
        tenant: &Tenant,
        headers: &HeaderMap,
        params: Vec<(String, String)>,
        allowed: &[&str],
        attributes: bool,
    ) -> Result<Self, ApiError> {
        let (mut locale, mut currency, mut group) = (None, None, None);
        let mut own = Vec::new();
        for (key, value) in params {
            match key.as_str() {
                "locale" => locale = Some(value),
                "currency" => currency = Some(value),
                "customer_group" => group = Some(value),
                _ if allowed.contains(&key.as_str())
                    || (attributes && key.starts_with("attr[") && key.ends_with(']')) =>
                {
                    own.push((key, value))
                }
                _ => return Err(bad("invalid_query", format!("unknown query parameter '{key}'"))),
            }
        }
        own.sort();
        let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
        let locale = locale
            .and_then(|l| negotiate(tenant, Some(&l)))
            .or_else(|| negotiate(tenant, accept))
            .unwrap_or_else(|| tenant.default_locale.clone());
        let currency = match currency {
            None => tenant.default_currency.clone(),
            Some(raw) => Currency::parse(&raw).map_err(query_error)?.code().to_owned(),
        };
        if let Some(handle) = &group {
            kassa_domain::catalog::check_handle(handle, 100).map_err(query_error)?;
        }
        Ok(ShopRequest { locale, currency, group, params: own })
    }

    /// The normalised question, for the cache key.
    pub fn cache_key(&self, route: &str) -> String {
        let query: Vec<String> = self.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!(
            "{route}?{}|locale={}|currency={}|group={}",
            query.join("&"),
            self.locale,
            self.currency,
            self.group.as_deref().unwrap_or("")
        )
    }

    /// Who is asking: the customer group's id is looked up (only when computing an answer).
    pub async fn audience(&self, pool: &PgPool, tenant: &Tenant) -> Result<Audience, ApiError> {
        let group = match &self.group {
            None => None,
            Some(handle) => {
                let id = storefront::customer_group_id(pool, tenant, handle).await?.ok_or_else(|| {
                    bad("unknown_customer_group", format!("no customer group '{handle}' exists"))
                })?;
                Some((id, handle.clone()))
            }
        };
        Ok(Audience {
            locale: self.locale.clone(),
            currency: self.currency.clone(),
            group,
            at: chrono::Utc::now(),
        })
    }

    /// The list parameters, validated for `audience`.
    pub fn list_query(&self, audience: &Audience) -> Result<ShopQuery, ApiError> {
        let mut query = ShopQuery {
            limit: pagination::DEFAULT_LIMIT,
            sort: ShopSort::Newest,
            cursor: None,
            attributes: Vec::new(),
            price_min: None,
            price_max: None,
            q: None,
            facets: Vec::new(),
        };
        let mut cursor = None;
        let number = |key: &str, value: &str| {
            value
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| bad("invalid_query", format!("{key} is a whole number ≥ 0")))
        };
        for (key, value) in &self.params {
            match key.as_str() {
                "limit" => query.limit = pagination::limit(Some(number(key, value)?)).map_err(query_error)?,
                "cursor" => cursor = Some(value.clone()),
                "sort" => {
                    query.sort = ShopSort::parse(value).ok_or_else(|| {
                        bad("invalid_sort", "sort by newest, title, price_asc or price_desc".to_owned())
                    })?
                }
                "price_min" => query.price_min = Some(number(key, value)?),
                "price_max" => query.price_max = Some(number(key, value)?),
                "q" => query.q = Some(value.clone()),
                "facets" => {
                    query.facets.extend(value.split(',').filter(|f| !f.is_empty()).map(str::to_owned))
                }
                _ => {
                    let name = key.trim_start_matches("attr[").trim_end_matches(']').to_owned();
                    let values = value.split(',').filter(|v| !v.is_empty()).map(str::to_owned);
                    match query.attributes.iter_mut().find(|(n, _)| *n == name) {
                        Some((_, existing)) => existing.extend(values),
                        None => query.attributes.push((name, values.collect())),
                    }
                }
            }
        }
        query.cursor =
            cursor.map(|c| Cursor::decode(&c, &query.ordering(audience))).transpose().map_err(query_error)?;
        Ok(query)
    }
}

/// The HTTP answer for a (cached) response: `Cache-Control` from the shop's settings, the
/// strong ETag (304 when the client has it), the language and what it varies on.
pub fn respond(tenant: &Tenant, request: &HeaderMap, cached: Cached, lookup: Lookup) -> Response {
    let setting = |name: &str, default: u64| {
        tenant
            .settings
            .get("storefront")
            .and_then(|s| s.get(name))
            .and_then(|v| v.as_u64())
            .unwrap_or(default)
    };
    let cache_control = format!(
        "public, max-age={}, stale-while-revalidate={}",
        setting("max_age", 60),
        setting("stale_while_revalidate", 300)
    );
    let not_modified = request.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(',').any(|tag| tag.trim().trim_start_matches("W/") == cached.etag || tag.trim() == "*")
    });
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut ok = cached.body.into_response();
        ok.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        ok
    };
    let headers = response.headers_mut();
    let mut set = |name: header::HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set(header::ETAG, &cached.etag);
    set(header::CACHE_CONTROL, &cache_control);
    set(header::CONTENT_LANGUAGE, &cached.content_language);
    set(header::VARY, "Accept-Language, X-Tenant-ID");
    set(header::HeaderName::from_static("x-cache"), lookup.as_str());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop(locales: &[&str]) -> Tenant {
        Tenant {
            id: kassa_domain::tenant::TenantId::new(),
            handle: "demo".into(),
            name: "Demo".into(),
            default_locale: locales[0].into(),
            locales: locales.iter().map(|l| (*l).to_owned()).collect(),
            default_currency: "EUR".into(),
            zitadel_org_id: None,
            settings: serde_json::json!({}),
        }
    }

    #[test]
    fn accept_language_picks_the_best_locale_the_shop_has() {
        let demo = shop(&["en", "nl", "de-CH"]);
        assert_eq!(negotiate(&demo, Some("nl-BE,nl;q=0.9,en;q=0.8")).as_deref(), Some("nl"));
        assert_eq!(negotiate(&demo, Some("fr;q=0.9, de;q=0.5, en;q=0.7")).as_deref(), Some("en"));
        assert_eq!(negotiate(&demo, Some("de-DE")).as_deref(), Some("de-CH"));
        assert_eq!(negotiate(&demo, Some("fr, es")), None);
        assert_eq!(negotiate(&demo, Some("nl;q=0")), None);
        assert_eq!(negotiate(&demo, Some("")), None);
    }
}
