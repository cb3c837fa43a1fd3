//! The step registry: every step type a workflow can use, in one place. [`StepKind`] is
//! the parsed step (its serde tag is the stored step's `type`, its content the `config`);
//! [`StepKind::TYPES`] holds what the rest of the code reads about each type: its name,
//! description, config schema and whether its effect leaves Postgres. Validation
//! ([`StepKind::parse`]), `GET /management/workflow-step-types` and the engine (which runs a
//! kind by an exhaustive `match`) all read these two.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToSchema};
use uuid::Uuid;

use crate::orders::OrderStatus;

/// Attempts per step unless the step says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 5;

/// One step as stored: its type, its config and how often it may be attempted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The step's stable id: assigned when the step is created without one, kept as long as
    /// updates send it back. A webhook step's secret stays with its id (and its URL), not
    /// with its position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    /// A step type from `GET /management/workflow-step-types`.
    #[serde(rename = "type")]
    pub step_type: String,
    /// Validated by the step type's schema.
    #[serde(default = "empty_object")]
    pub config: Value,
    /// Attempts before the run fails (1–10, default 5); retries back off exponentially.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: i32,
}

/// The component schemas the step types' configs refer to.
fn step_schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    for step_type in StepKind::TYPES {
        (step_type.config_components)(schemas);
    }
}

/// A step as written: one alternative per step type, with that type's config schema.
impl utoipa::PartialSchema for Step {
    fn schema() -> RefOr<Schema> {
        crate::schemas::step(false).into()
    }
}

impl utoipa::ToSchema for Step {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        step_schemas(schemas);
    }
}

/// A step as reads show it: [`Step`] with webhook secrets redacted.
pub struct StoredStep;

impl utoipa::PartialSchema for StoredStep {
    fn schema() -> RefOr<Schema> {
        crate::schemas::step(true).into()
    }
}

impl utoipa::ToSchema for StoredStep {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        step_schemas(schemas);
    }
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

fn default_max_attempts() -> i32 {
    DEFAULT_MAX_ATTEMPTS
}

/// No settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoConfig {}

/// `send_email`: which message to send to the order's customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendEmailConfig {
    pub template: EmailTemplate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EmailTemplate {
    OrderConfirmation,
}

/// `http_request`: POST the event to `url`, signed with HMAC-SHA256 over
/// `"<timestamp>.<body>"` with `secret`, in `Kassa-Signature: t=<timestamp>,v1=<hex>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpRequestConfig {
    #[schema(schema_with = crate::schemas::webhook_url)]
    pub url: String,
    /// 16–200 characters, shared with the receiver.
    #[schema(schema_with = crate::schemas::webhook_secret)]
    pub secret: String,
    /// 100–30000 ms (default 5000).
    #[serde(default = "default_timeout_ms")]
    #[schema(schema_with = crate::schemas::timeout_ms)]
    pub timeout_ms: u64,
}

fn default_timeout_ms() -> u64 {
    5_000
}

/// `set_order_status`: the status the event's order gets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetOrderStatusConfig {
    pub status: OrderStatus,
}

/// A step's type with its parsed config: the registry's variants. The serde tag is the
/// stored step's `type` and the content its `config` (types without settings take
/// [`NoConfig`], so `{}` is their config, as stored steps have it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "config", rename_all = "snake_case", deny_unknown_fields)]
pub enum StepKind {
    DeductStock(NoConfig),
    CalculateTaxes(NoConfig),
    SendEmail(SendEmailConfig),
    HttpRequest(HttpRequestConfig),
    SetOrderStatus(SetOrderStatusConfig),
}

/// What the registry says about one step type.
#[derive(Debug, Clone, Copy)]
pub struct StepType {
    /// The stored step's `type`: the variant's serde name.
    pub name: &'static str,
    pub description: &'static str,
    /// Its effect lives outside Postgres: the engine runs it before recording the attempt
    /// (at least once), not inside that transaction (exactly once).
    pub external: bool,
    /// The JSON Schema of its config.
    pub config_schema: fn() -> RefOr<Schema>,
    /// Adds the component schemas its config refers to (`ToSchema::schemas`).
    pub config_components: fn(&mut Vec<(String, RefOr<Schema>)>),
}

impl StepKind {
    /// Every step type, in the order `GET /management/workflow-step-types` lists them. A
    /// variant without a row here does not parse (its type is unknown), so it can be neither
    /// stored nor run; `every_registered_step_type_is_a_variant_and_every_variant_is_registered`
    /// checks both ways.
    pub const TYPES: [StepType; 5] = [
        StepType {
            name: "deduct_stock",
            description: "Deduct the stock of every line of the event's order, all or nothing",
            external: false,
            config_schema: NoConfig::schema,
            config_components: NoConfig::schemas,
        },
        StepType {
            name: "calculate_taxes",
            description: "Calculate the order's taxes from the shop's tax rates and store them",
            external: false,
            config_schema: NoConfig::schema,
            config_components: NoConfig::schemas,
        },
        StepType {
            name: "send_email",
            description: "Email the order's customer (SMTP)",
            external: true,
            config_schema: SendEmailConfig::schema,
            config_components: SendEmailConfig::schemas,
        },
        StepType {
            name: "http_request",
            description: "POST the event to a URL, signed with HMAC-SHA256 (a webhook out)",
            external: true,
            config_schema: HttpRequestConfig::schema,
            config_components: HttpRequestConfig::schemas,
        },
        StepType {
            name: "set_order_status",
            description: "Set the order's status",
            external: false,
            config_schema: SetOrderStatusConfig::schema,
            config_components: SetOrderStatusConfig::schemas,
        },
    ];

    /// Parses a stored step's type and config; the error says what is wrong.
    pub fn parse(step: &Step) -> Result<Self, StepError> {
        let name = step.step_type.as_str();
        if StepType::named(name).is_none() {
            return Err(StepError::UnknownType(format!("no step type '{name}'")));
        }
        let tagged = serde_json::json!({ "type": name, "config": step.config });
        let kind: StepKind =
            serde_json::from_value(tagged).map_err(|e| StepError::InvalidConfig(e.to_string()))?;
        kind.check()?;
        Ok(kind)
    }

    /// The rules of a config that its type does not express.
    fn check(&self) -> Result<(), StepError> {
        let invalid = |message: &str| Err(StepError::InvalidConfig(message.to_owned()));
        match self {
            StepKind::HttpRequest(c) => {
                let url_ok = (c.url.starts_with("https://") || c.url.starts_with("http://"))
                    && c.url.len() <= 2_000
                    && !c.url.chars().any(char::is_whitespace);
                if !url_ok {
                    return invalid("url must be an http(s) URL");
                }
                if !(16..=200).contains(&c.secret.chars().count()) {
                    return invalid("secret must be 16–200 characters");
                }
                if !(100..=30_000).contains(&c.timeout_ms) {
                    return invalid("timeout_ms must be 100–30000");
                }
                Ok(())
            }
            StepKind::DeductStock(_)
            | StepKind::CalculateTaxes(_)
            | StepKind::SendEmail(_)
            | StepKind::SetOrderStatus(_) => Ok(()),
        }
    }

    /// This kind's row of [`StepKind::TYPES`] (found by its serde tag; [`StepKind::parse`]
    /// makes only registered kinds).
    pub fn step_type(&self) -> Option<&'static StepType> {
        let tagged = serde_json::to_value(self).ok()?;
        StepType::named(tagged.get("type")?.as_str()?)
    }

    /// Steps whose effect lives outside Postgres (at-least-once; see the engine).
    pub fn is_external(&self) -> bool {
        self.step_type().is_some_and(|t| t.external)
    }
}

impl StepType {
    /// The registered type called `name`.
    pub fn named(name: &str) -> Option<&'static StepType> {
        StepKind::TYPES.iter().find(|t| t.name == name)
    }
}

/// Every step type's name and description ([`StepKind::TYPES`], read by `schemas::step`).
pub const STEP_TYPES: [(&str, &str); StepKind::TYPES.len()] = {
    let mut pairs = [("", ""); StepKind::TYPES.len()];
    let mut i = 0;
    while i < pairs.len() {
        pairs[i] = (StepKind::TYPES[i].name, StepKind::TYPES[i].description);
        i += 1;
    }
    pairs
};

/// The JSON Schema of a step type's config ([`StepType::config_schema`]).
pub fn config_schema(step_type: &str) -> Option<RefOr<Schema>> {
    StepType::named(step_type).map(|t| (t.config_schema)())
}

/// Why a step does not parse: its type, or its config.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    #[error("{0}")]
    UnknownType(String),
    #[error("{0}")]
    InvalidConfig(String),
}

impl StepError {
    /// The field of the step at fault (`type` or `config`) and its violation code.
    pub fn field_and_code(&self) -> (&'static str, &'static str) {
        match self {
            StepError::UnknownType(_) => ("type", "unknown_step_type"),
            StepError::InvalidConfig(_) => ("config", "invalid_config"),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn step(step_type: &str, config: Value) -> Step {
        Step { id: None, step_type: step_type.to_owned(), config, max_attempts: DEFAULT_MAX_ATTEMPTS }
    }

    #[test]
    fn every_registered_step_type_is_a_variant_and_every_variant_is_registered() {
        // Each row's name is a variant's tag: its empty config is at worst invalid, never an
        // unknown type, and a kind serializes back to its row.
        for step_type in StepKind::TYPES {
            match StepKind::parse(&step(step_type.name, json!({}))) {
                Ok(kind) => assert_eq!(kind.step_type().map(|t| t.name), Some(step_type.name)),
                Err(StepError::InvalidConfig(message)) => {
                    assert!(message.starts_with("missing field"), "{}: {message}", step_type.name);
                }
                Err(err) => panic!("{}: {err}", step_type.name),
            }
        }
        // One kind of each variant (the match fails to compile when a variant is added)
        // has a row.
        let http =
            HttpRequestConfig { url: "https://x.example".into(), secret: "s".repeat(16), timeout_ms: 5_000 };
        for kind in [
            StepKind::DeductStock(NoConfig {}),
            StepKind::CalculateTaxes(NoConfig {}),
            StepKind::SendEmail(SendEmailConfig { template: EmailTemplate::OrderConfirmation }),
            StepKind::HttpRequest(http),
            StepKind::SetOrderStatus(SetOrderStatusConfig { status: OrderStatus::Processing }),
        ] {
            let registered = kind.step_type().is_some();
            match kind {
                StepKind::DeductStock(_)
                | StepKind::CalculateTaxes(_)
                | StepKind::SendEmail(_)
                | StepKind::HttpRequest(_)
                | StepKind::SetOrderStatus(_) => assert!(registered, "{kind:?}"),
            }
        }
    }

    #[test]
    fn outside_steps_are_the_email_and_the_webhook() {
        let external: Vec<&str> = StepKind::TYPES.iter().filter(|t| t.external).map(|t| t.name).collect();
        assert_eq!(external, ["send_email", "http_request"]);
        let email = StepKind::parse(&step("send_email", json!({ "template": "order_confirmation" })));
        assert!(email.is_ok_and(|kind| kind.is_external()));
        assert!(!StepKind::DeductStock(NoConfig {}).is_external());
    }

    #[test]
    fn a_step_is_refused_at_its_type_or_its_config() {
        let unknown = StepKind::parse(&step("launch_rocket", json!({}))).unwrap_err();
        assert_eq!(unknown, StepError::UnknownType("no step type 'launch_rocket'".to_owned()));
        let extra = StepKind::parse(&step("deduct_stock", json!({ "extra": 1 }))).unwrap_err();
        assert_eq!(extra.field_and_code(), ("config", "invalid_config"));
        let null = StepKind::parse(&step("calculate_taxes", Value::Null)).unwrap_err();
        assert_eq!(null.field_and_code(), ("config", "invalid_config"));
        let short =
            StepKind::parse(&step("http_request", json!({ "url": "https://x.example", "secret": "short" })));
        assert_eq!(short, Err(StepError::InvalidConfig("secret must be 16–200 characters".to_owned())));
    }

    #[test]
    fn the_step_types_view_and_the_schemas_follow_the_registry() {
        let names: Vec<&str> = STEP_TYPES.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            names,
            ["deduct_stock", "calculate_taxes", "send_email", "http_request", "set_order_status"]
        );
        for (name, _) in STEP_TYPES {
            assert!(config_schema(name).is_some(), "{name}");
        }
        assert!(config_schema("launch_rocket").is_none());
    }
}
