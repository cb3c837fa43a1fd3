//! Applies the embedded migrations as the database owner (`DATABASE_OWNER_URL`), sets the
//! `kassa_service` login's password from `DATABASE_URL` (as `kassa migrate` does), and creates
//! shops as `kassa tenant create` does.
//!
//! Two kinds of event:
//! - a CloudFormation custom resource request (`RequestType` Create/Update/Delete with a
//!   `ResponseURL`): Create and Update migrate, Delete does nothing; the outcome is always
//!   PUT to the `ResponseURL`, so a failed migration fails the deploy instead of hanging it;
//! - a direct invoke: `{"command": "migrate"}` or `{"command": "tenant-create", "handle": …,
//!   "name": …, "domains": […], …}`, answered with what was done.

use std::sync::Arc;

use kassa_domain::tenant::{self, NewTenant, TenantDraft};
use kassa_runtime::Config;
use lambda_runtime::LambdaEvent;
use serde::Deserialize;
use serde_json::{Value, json};

/// What the function was asked to do.
#[derive(Debug, Deserialize)]
#[serde(tag = "command", rename_all = "kebab-case")]
pub enum Command {
    Migrate,
    /// The shop as `kassa tenant create` takes it (the payload's fields: [`TenantDraft`]).
    TenantCreate(TenantDraft),
}

/// The fields of a CloudFormation custom resource request this function reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CustomResourceRequest {
    pub request_type: String,
    #[serde(rename = "ResponseURL")]
    pub response_url: String,
    pub stack_id: String,
    pub request_id: String,
    pub logical_resource_id: String,
    #[serde(default)]
    pub physical_resource_id: Option<String>,
}

type Error = Box<dyn std::error::Error + Send + Sync>;

pub async fn handle(config: Arc<Config>, event: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
    let payload = event.payload;
    if payload.get("ResponseURL").is_some() {
        let request: CustomResourceRequest = serde_json::from_value(payload)?;
        let outcome = match request.request_type.as_str() {
            "Create" | "Update" => migrate(&config).await.map(|applied| json!({ "Applied": applied })),
            // Deleting the stack keeps the database (it has its own deletion policy).
            _ => Ok(json!({})),
        };
        if let Err(err) = &outcome {
            tracing::error!(error = %err, "migrations failed");
        }
        respond(&request, &outcome).await?;
        return Ok(json!({ "status": if outcome.is_ok() { "SUCCESS" } else { "FAILED" } }));
    }
    let command: Command = serde_json::from_value(payload)?;
    run(&config, command).await
}

/// Runs a direct-invoke command.
pub async fn run(config: &Config, command: Command) -> Result<Value, Error> {
    match command {
        Command::Migrate => Ok(json!({ "applied": migrate(config).await? })),
        Command::TenantCreate(draft) => {
            let new = NewTenant::parse(&draft)?;
            let pool = sqlx::PgPool::connect(config.database_url.expose()).await?;
            let tenant = tenant::create(&pool, &new).await?;
            pool.close().await;
            Ok(json!({ "created": { "id": tenant.id, "handle": tenant.handle } }))
        }
    }
}

/// Applies the migrations as the owner and sets the service login's password from
/// DATABASE_URL ([`kassa_domain::db::migrate`]); returns how many migrations the database
/// now has.
pub async fn migrate(config: &Config) -> Result<usize, Error> {
    let pool = sqlx::PgPool::connect(config.database_owner_url.expose()).await?;
    let migrated = kassa_domain::db::migrate(&pool, config.service_password().as_deref()).await;
    pool.close().await;
    Ok(migrated?)
}

/// The response body CloudFormation expects at the request's ResponseURL.
pub fn response_body(request: &CustomResourceRequest, outcome: &Result<Value, Error>) -> Value {
    let (status, reason, data) = match outcome {
        Ok(data) => ("SUCCESS", "migrations applied".to_owned(), data.clone()),
        // CloudFormation shows at most 4 KB of reason; the log has the whole chain.
        Err(err) => ("FAILED", format!("migrations failed: {err}").chars().take(1000).collect(), json!({})),
    };
    json!({
        "Status": status,
        "Reason": reason,
        "PhysicalResourceId": request.physical_resource_id.clone().unwrap_or_else(|| "kassa-migrations".to_owned()),
        "StackId": request.stack_id,
        "RequestId": request.request_id,
        "LogicalResourceId": request.logical_resource_id,
        "Data": data,
    })
}

async fn respond(request: &CustomResourceRequest, outcome: &Result<Value, Error>) -> Result<(), Error> {
    let body = serde_json::to_vec(&response_body(request, outcome))?;
    // The presigned S3 URL was signed without a content type: send none.
    reqwest::Client::new()
        .put(&request.response_url)
        .header("content-type", "")
        .body(body)
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}
