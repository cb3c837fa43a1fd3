//! The JSON Schemas of the rules the validators enforce, for the OpenAPI documents: each
//! pattern here accepts exactly (or, where noted, a subset of) what its check accepts, so a
//! client generated from the documents sends only what the server takes. Tests generate
//! strings from every pattern and run them through the real checks.
//!
//! What a schema cannot say (a shop's own locales, uniqueness, references to other records,
//! one field compared with another) is said in its description.

use serde_json::{Value, json};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat,
    SchemaType, Type,
};

use crate::catalog::{MAX_AMOUNT, MAX_JSON_NUMBER};
use crate::currency;

/// No NUL character: the body extractor refuses one anywhere (Postgres stores none).
pub const NO_NUL: &str = r"^[^\u0000]*$";
/// Not blank (something besides Rust's `char::is_whitespace`, which `trim` removes) and no NUL.
pub const TEXT: &str = r"^[^\u0000]*[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028-\u2029\u202f\u205f\u3000][^\u0000]*$";
/// [`crate::catalog::check_handle`]: lowercase letters and digits, single inner hyphens.
pub const HANDLE: &str = r"^[a-z0-9]+(-[a-z0-9]+)*$";
/// A product's tax class: 1–50 of `a-z`, `0-9`, `_`, `-`.
pub const TAX_CLASS: &str = r"^[a-z0-9_-]{1,50}$";
/// An attribute name: 1–50 of `a-z`, `0-9`, `_`, `-`.
pub const ATTRIBUTE_NAME: &str = r"^[a-z0-9_-]{1,50}$";
/// A SKU: 1–100 visible ASCII characters.
pub const SKU: &str = r"^[!-~]{1,100}$";
/// An ISO 3166-1 alpha-2 shape.
pub const COUNTRY: &str = r"^[A-Z]{2}$";
/// A locale in the canonical case [`crate::locale::Locale::parse`] gives (`en`, `nl-BE`,
/// `zh-Hant-TW`, `es-419`): the form translations are keyed by.
pub const LOCALE: &str = r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$";
/// An event type, `<aggregate>.<what>` in lower snake case.
pub const EVENT_TYPE: &str = r"^[a-z0-9_]{1,50}\.[a-z0-9_]{1,50}$";
/// An email address as orders take it, in visible ASCII without `<`, `>`, `,` (a subset:
/// the server also takes non-ASCII letters): `local@domain.tld`, the domain neither starting
/// nor ending with a dot.
pub const EMAIL: &str =
    r"^[!-+\-./0-9:;=?A-~]+@[!-+\-/0-9:;=?A-~][!-+\-./0-9:;=?A-~]*\.[!-+\-./0-9:;=?A-~]*[!-+\-/0-9:;=?A-~]$";
/// A webhook URL: `http://` or `https://`, visible ASCII without `[` and `]` (a subset: the
/// server takes any character but whitespace, so bracketed IPv6 hosts too).
pub const HTTP_URL: &str = r"^https?://[!-Z\\^-~]*$";
/// A JSON Pointer into an event's data, in printable ASCII (a subset: the server takes any
/// 200 bytes).
pub const POINTER: &str = r"^(/[ -~]*)?$";

fn string(pattern: &str) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).pattern(Some(pattern))
}

fn integer(min: i64, max: i64) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(min as f64))
        .maximum(Some(max as f64))
}

fn nullable(types: Type) -> SchemaType {
    SchemaType::from_iter([types, Type::Null])
}

/// A name or label: not blank, at most `max` characters.
fn text(max: usize, description: &str) -> Schema {
    string(TEXT).min_length(Some(1)).max_length(Some(max)).description(Some(description)).into()
}

/// A person's or a postal address's text: not blank, no control characters (what
/// `char::is_control` refuses).
pub const PERSONAL: &str = r"^[^\u0000-\u001f\u007f-\u009f]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028-\u2029\u202f\u205f\u3000][^\u0000-\u001f\u007f-\u009f]*$";

fn personal(max: usize, description: &str) -> Schema {
    string(PERSONAL).min_length(Some(1)).max_length(Some(max)).description(Some(description)).into()
}

/// A first or last name, a city: 1–100 characters.
pub fn person_name() -> Schema {
    personal(100, "1–100 characters, not blank, no control characters")
}

/// An address line, company or region: 1–200 characters.
pub fn address_line() -> Schema {
    personal(200, "1–200 characters, not blank, no control characters")
}

pub fn postal_code() -> Schema {
    personal(20, "1–20 characters, not blank")
}

pub fn phone() -> Schema {
    personal(40, "1–40 characters, not blank")
}

/// The name of a customer group, subscription plan, price list or workflow.
pub fn name() -> Schema {
    text(200, "1–200 characters, not blank")
}

/// The reason of a stock adjustment.
pub fn reason() -> Schema {
    text(
        200,
        "Why, for the record (`restock`, `damaged`, `count correction`, …): 1–200 characters, not blank",
    )
}

fn handle_of(description: &str) -> ObjectBuilder {
    string(HANDLE).min_length(Some(1)).max_length(Some(100)).description(Some(description))
}

/// A handle: URL slug, unique per shop.
pub fn handle() -> Schema {
    handle_of("URL slug, unique per shop: 1–100 lowercase letters, digits and single inner hyphens")
        .examples(["linen-apron"])
        .into()
}

/// The customer groups that see a B2B product.
pub fn customer_group_handles() -> Schema {
    ArrayBuilder::new()
        .schema_type(nullable(Type::Array))
        .items(handle_of("a customer group's handle"))
        .description(Some(
            "When set, only these customer groups (by handle) see the product; each must be an existing group \
             of the shop",
        ))
        .into()
}

/// At most `max` distinct tags.
fn tag_list(max: usize, description: &str) -> ArrayBuilder {
    ArrayBuilder::new()
        .items(string(HANDLE).min_length(Some(1)).max_length(Some(50)))
        .max_items(Some(max))
        .unique_items(true)
        .description(Some(description))
}

/// A product's tags.
pub fn tags() -> Schema {
    tag_list(
        50,
        "Short labels (at most 50, no repeats), each 1–50 lowercase letters, digits and single inner hyphens",
    )
    .examples([json!(["summer", "bestseller"])])
    .into()
}

/// An automatic collection's tag rule.
pub fn tag_rule() -> Schema {
    tag_list(20, "Products with any of these tags (at most 20, no repeats)").into()
}

/// An automatic collection's attribute rule.
pub fn attribute_rule() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .max_properties(Some(5))
        .property_names(Some(string(ATTRIBUTE_NAME)))
        .additional_properties(Some(
            ArrayBuilder::new()
                .items(string(NO_NUL).min_length(Some(1)).max_length(Some(200)))
                .min_items(Some(1))
                .max_items(Some(20)),
        ))
        .description(Some(
            "Attribute → values: some variant has, for every attribute named, one of its values (at most 5 \
             attributes of 1–20 values)",
        ))
        .examples([json!({"color": ["natural", "blue"]})])
        .into()
}

/// The content type of an image upload.
pub fn image_content_type() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(crate::media::CONTENT_TYPES.iter().map(|(t, _)| *t)))
        .description(Some("The upload must send exactly this Content-Type"))
        .into()
}

/// An image's alt text.
pub fn alt() -> Schema {
    translations(500, false)
}

/// A product's tax class.
pub fn tax_class() -> Schema {
    string(TAX_CLASS)
        .description(Some("1–50 of a-z, 0-9, `_` and `-`, e.g. `standard` or `reduced`"))
        .examples(["standard"])
        .into()
}

/// A SKU.
pub fn sku() -> Schema {
    string(SKU)
        .description(Some("Stock keeping unit, unique per shop: 1–100 visible ASCII characters, no spaces"))
        .examples(["APRON-LIN-NAT-M"])
        .into()
}

/// An ISO 3166-1 alpha-2 country code.
pub fn country() -> Schema {
    string(COUNTRY).description(Some("ISO 3166-1 alpha-2, upper case")).examples(["NL"]).into()
}

fn currency_object(types: SchemaType, null: bool) -> ObjectBuilder {
    let mut codes: Vec<Value> = currency::codes().map(Value::from).collect();
    if null {
        codes.push(Value::Null);
    }
    ObjectBuilder::new().schema_type(types).enum_values(Some(codes))
}

/// An ISO 4217 currency code Kassa knows.
pub fn currency() -> Schema {
    currency_object(Type::String.into(), false)
        .description(Some("ISO 4217 code (active codes; also taken in lower case)"))
        .examples(["EUR"])
        .into()
}

/// An order's currency: a code, or null for the shop's.
pub fn order_currency() -> Schema {
    currency_object(nullable(Type::String), true)
        .description(Some(
            "ISO 4217 code (also taken in lower case); defaults to the shop's currency. Every variant must be \
             priced in it",
        ))
        .into()
}

/// An amount of money in minor units.
pub fn amount() -> Schema {
    integer(0, MAX_AMOUNT).description(Some("Minor units: 1999 is €19.99, 1999 is ¥1999")).into()
}

/// An email address.
pub fn email() -> Schema {
    string(EMAIL)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
        .min_length(Some(3))
        .max_length(Some(254))
        .examples(["anna@example.com"])
        .into()
}

/// Text in several languages: the shop's locales → text of at most `max` characters. When
/// `required`, the shop's default locale must have a non-blank text.
pub fn translations(max: usize, required: bool) -> Schema {
    let mut description = format!(
        "Locale → text of at most {max} characters. Only the shop's locales are taken (`GET /storefront/tenant` \
         lists them)"
    );
    if required {
        description.push_str(
            "; the shop's default locale is required, with a text that is not blank (per shop, so this \
             schema cannot say which)",
        );
    }
    let mut object = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property_names(Some(string(LOCALE).max_length(Some(15))))
        .additional_properties(Some(string(NO_NUL).max_length(Some(max))))
        .description(Some(description));
    if required {
        object =
            object.min_properties(Some(1)).examples([json!({"en": "Linen apron", "nl": "Linnen schort"})]);
    }
    object.into()
}

/// A product's title.
pub fn title() -> Schema {
    translations(500, true)
}

/// A product's description.
pub fn description() -> Schema {
    translations(20_000, false)
}

/// A variant's attributes.
pub fn attributes() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .max_properties(Some(50))
        .property_names(Some(string(ATTRIBUTE_NAME)))
        .additional_properties(Some(
            ObjectBuilder::new()
                .schema_type(SchemaType::from_iter([Type::String, Type::Number, Type::Boolean]))
                .min_length(Some(1))
                .max_length(Some(200))
                .pattern(Some(NO_NUL))
                .minimum(Some(-MAX_JSON_NUMBER))
                .maximum(Some(MAX_JSON_NUMBER))
                .description(Some("a string of 1–200 characters, a number from -1e15 to 1e15 or a boolean")),
        ))
        .description(Some(
            "Flat scalar attributes (at most 50), e.g. `{\"color\": \"natural\", \"size\": \"M\"}`; names are 1–50 \
             of a-z, 0-9, `_` and `-`",
        ))
        .examples([json!({"color": "natural", "size": "M"})])
        .into()
}

/// Units in stock, or null when not tracked.
pub fn stock() -> Schema {
    integer(0, i64::from(i32::MAX))
        .schema_type(nullable(Type::Integer))
        .description(Some("Units in stock (0–2147483647); null when stock is not tracked. Defaults to 0"))
        .into()
}

/// A stock adjustment's delta: a non-zero 32-bit whole number.
pub fn delta() -> Schema {
    OneOfBuilder::new()
        .item(integer(i64::from(i32::MIN), -1))
        .item(integer(1, i64::from(i32::MAX)))
        .description(Some(
            "Units to add (positive) or remove (negative); never 0. Stock never goes below 0 (409) nor above \
             2147483647 (422)",
        ))
        .into()
}

/// The id of an existing record, e.g. a customer group's.
pub fn reference(description: &str, null: bool) -> Schema {
    let types = if null { nullable(Type::String) } else { Type::String.into() };
    ObjectBuilder::new()
        .schema_type(types)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
        .description(Some(description))
        .into()
}

pub fn customer_group_id() -> Schema {
    reference("The customer group whose members get these prices; it must exist in the shop", false)
}

pub fn subscription_plan_id() -> Schema {
    reference("The subscription plan the product is sold on, if any; it must exist in the shop", true)
}

pub fn variant_id() -> Schema {
    reference("A variant of the shop", false)
}

/// A workflow trigger.
pub fn event_type() -> Schema {
    string(EVENT_TYPE)
        .description(Some(
            "The event type that starts a run, `<aggregate>.<what>` in lower snake case (1–50 each), e.g. \
             `order.placed`",
        ))
        .examples(["order.placed"])
        .into()
}

/// A scalar condition operand (or list element): what a schema can say of "any JSON without
/// NUL" (objects and nested lists are taken too).
fn operand(types: impl IntoIterator<Item = Type>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter(types))
        .pattern(Some(NO_NUL))
        .minimum(Some(-MAX_JSON_NUMBER))
        .maximum(Some(MAX_JSON_NUMBER))
}

fn condition_of(ops: &[&str], value: RefOr<Schema>, stored: bool) -> ObjectBuilder {
    let pointer = if stored { ObjectBuilder::new().schema_type(Type::String) } else { string(POINTER) };
    let pointer = pointer.max_length(Some(200)).description(Some(
        "A JSON Pointer into the event's data (empty: the whole data), e.g. `/shipping_country`",
    ));
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        .property("pointer", pointer)
        .required("pointer")
        .property("op", ObjectBuilder::new().schema_type(Type::String).enum_values(Some(ops.to_vec())))
        .required("op")
        .property("value", value)
        .required("value")
}

/// A workflow condition: the operand's type follows the operator. `stored`: as reads show it,
/// which is all the server took (any JSON for `eq`, `ne`, `exists`; any pointer of 200
/// bytes) where the request schema promises a subset.
pub fn condition(stored: bool) -> Schema {
    let scalar = || operand([Type::Null, Type::Boolean, Type::Number, Type::String]);
    let list = || ArrayBuilder::new().items(scalar());
    let any: RefOr<Schema> = if stored {
        ObjectBuilder::new()
            .schema_type(SchemaType::AnyValue)
            .description(Some("`eq`, `ne`: the value to compare with (unused by `exists`)"))
            .into()
    } else {
        OneOfBuilder::new()
            .item(scalar())
            .item(list())
            .description(Some(
                "`eq`, `ne`: the value to compare with (unused by `exists`); the server also takes objects and \
                 nested lists (without NUL, numbers from -1e15 to 1e15)",
            ))
            .into()
    };
    let in_list = list().description(Some("`in`: the values to match"));
    let number = ObjectBuilder::new()
        .schema_type(Type::Number)
        .minimum(Some(-MAX_JSON_NUMBER))
        .maximum(Some(MAX_JSON_NUMBER))
        .description(Some("`gt`, `gte`, `lt`, `lte`: a number from -1e15 to 1e15"));
    // `eq`, `ne` and `exists` take any value, or none (null).
    let mut loose = condition_of(&["eq", "ne", "exists"], any, stored).build();
    loose.required.retain(|key| key != "value");
    OneOfBuilder::new()
        .item(loose)
        .item(condition_of(&["in"], in_list.into(), stored))
        .item(condition_of(&["gt", "gte", "lt", "lte"], number.into(), stored))
        .description(Some("`pointer` (into the event's data) compared by `op` with `value`"))
        .into()
}

/// An `http_request` step's URL.
pub fn webhook_url() -> Schema {
    string(HTTP_URL)
        .max_length(Some(2_000))
        .description(Some("An http(s) URL of at most 2,000 characters"))
        .examples(["https://example.com/hooks/kassa"])
        .into()
}

/// An `http_request` step's secret, as written.
pub fn webhook_secret() -> Schema {
    string(NO_NUL)
        .min_length(Some(16))
        .max_length(Some(200))
        .description(Some(
            "16–200 characters, shared with the receiver. Reads show `********`; sent back in an update for a \
             step with the same id and URL, it keeps the stored secret",
        ))
        .into()
}

/// The timeout of an `http_request` step.
pub fn timeout_ms() -> Schema {
    integer(100, 30_000).description(Some("100–30000 ms (default 5000)")).into()
}

/// A workflow step: one alternative per step type, each with its type's config. `stored`:
/// as reads show it (a webhook secret redacted).
pub fn step(stored: bool) -> Schema {
    let mut one_of = OneOfBuilder::new().description(Some(
        "One step: a type from `GET /management/workflow-step-types` with that type's config",
    ));
    for (step_type, description) in crate::workflows::STEP_TYPES {
        let Some(RefOr::T(Schema::Object(mut config))) = crate::workflows::config_schema(step_type) else {
            continue;
        };
        if stored && let Some(url) = config.properties.get_mut("url") {
            *url = ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(2_000))
                .description(Some("An http(s) URL"))
                .into();
        }
        if stored && let Some(secret) = config.properties.get_mut("secret") {
            *secret = ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("always `********`: secrets never leave"))
                .into();
        }
        let needs_config = !config.required.is_empty();
        let id = ObjectBuilder::new()
            .schema_type(nullable(Type::String))
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
            .description(Some(
                "The step's stable id: assigned when the step is created without one, kept as long as updates \
                 send it back; unique within the workflow",
            ));
        let max_attempts = integer(1, 10)
            .description(Some("Attempts before the run fails (1–10, default 5); retries back off"));
        let mut alternative = ObjectBuilder::new()
            .schema_type(Type::Object)
            .title(Some(step_type))
            .description(Some(description))
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .property("id", id)
            .property("type", ObjectBuilder::new().schema_type(Type::String).enum_values(Some([step_type])))
            .required("type")
            .property("config", config)
            .property("max_attempts", max_attempts);
        if needs_config {
            alternative = alternative.required("config");
        }
        one_of = one_of.item(alternative);
    }
    one_of.into()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

    use proptest::prelude::*;
    use serde_json::{Map, Value, json};

    use super::*;
    use crate::catalog::{Money, check_attributes, check_handle};
    use crate::error::Violations;
    use crate::locale::Locale;
    use crate::taxes::{TaxRateDraft, check_country};
    use crate::variants::VariantDraft;
    use crate::workflows::{Condition, ConditionOp, Step, StepKind, WorkflowDraft};

    /// Strings a client generates from `pattern` (anchored at both ends) and a length range.
    fn from(pattern: &'static str, chars: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
        let inner = pattern.strip_prefix('^').and_then(|p| p.strip_suffix('$')).expect("anchored");
        proptest::string::string_regex(inner)
            .expect("a pattern proptest reads")
            .prop_filter("length", move |s| chars.contains(&s.chars().count()))
    }

    fn no_violation(check: impl FnOnce(&mut Violations)) -> Result<(), TestCaseError> {
        let mut v = Violations::default();
        check(&mut v);
        prop_assert!(v.is_empty(), "{v}");
        Ok(())
    }

    fn workflow(name: &str, trigger: &str, conditions: Vec<Condition>, steps: Vec<Step>) -> WorkflowDraft {
        WorkflowDraft { name: name.to_owned(), trigger: trigger.to_owned(), conditions, steps, enabled: true }
    }

    fn step(step_type: &str, config: Value) -> Step {
        Step { id: None, step_type: step_type.to_owned(), config, max_attempts: 5 }
    }

    #[test]
    fn the_text_pattern_calls_blank_exactly_what_trim_removes() {
        // The class after NUL in TEXT, rebuilt from char::is_whitespace over every character.
        let mut ranges: Vec<(u32, u32)> = Vec::new();
        for c in (0..=0x10ffff).filter_map(char::from_u32).filter(|c| c.is_whitespace()) {
            match ranges.last_mut() {
                Some((_, end)) if *end + 1 == c as u32 => *end = c as u32,
                _ => ranges.push((c as u32, c as u32)),
            }
        }
        let class: String = ranges
            .iter()
            .map(|(a, b)| if a == b { format!("\\u{a:04x}") } else { format!("\\u{a:04x}-\\u{b:04x}") })
            .collect();
        assert!(TEXT.contains(&format!("[^\\u0000{class}]")), "{class}");
    }

    #[test]
    fn every_currency_of_the_enum_parses() {
        for code in currency::codes() {
            assert_eq!(crate::currency::Currency::parse(code).unwrap().code(), code);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn handles_generated_from_the_schema_are_valid_handles(raw in from(HANDLE, 1..=100)) {
            prop_assert!(check_handle(&raw, 100).is_ok(), "{raw:?}");
        }

        #[test]
        fn addresses_generated_from_the_schema_pass_the_address_check(
            name in from(PERSONAL, 1..=100),
            line in from(PERSONAL, 1..=200),
            postal in from(PERSONAL, 1..=20),
            country in from(COUNTRY, 2..=2),
        ) {
            let draft = crate::customers::PostalAddress {
                first_name: name.clone(), last_name: name.clone(), company: Some(line.clone()),
                line1: line.clone(), line2: None, postal_code: postal, city: name.clone(),
                region: Some(name), country, phone: None,
            };
            no_violation(|v| draft.check("", v))?;
        }

        #[test]
        fn names_generated_from_the_schema_pass_the_name_check(raw in from(TEXT, 1..=200)) {
            prop_assert!(!raw.contains('\0'));
            no_violation(|v| crate::pricing::check_name(v, &raw))?;
            let draft = workflow(&raw, "order.placed", vec![], vec![step("deduct_stock", json!({}))]);
            let v = crate::workflows::workflow_violations(&draft, &[]);
            prop_assert!(v.is_empty(), "{v}");
        }

        #[test]
        fn tax_rates_generated_from_the_schema_pass(country in from(COUNTRY, 2..=2), class in from(TAX_CLASS, 1..=50)) {
            let draft = TaxRateDraft { country, tax_class: class, rate_bp: 2100 };
            prop_assert!(crate::taxes::check_rate(&draft).is_ok(), "{draft:?}");
            no_violation(|v| drop(check_country(v, "/c", &draft.country)))?;
        }

        #[test]
        fn variants_generated_from_the_schema_pass(
            sku in from(SKU, 1..=100),
            names in proptest::collection::vec(from(ATTRIBUTE_NAME, 1..=50), 0..5),
            text in from(NO_NUL, 1..=200),
            currency in proptest::sample::select(currency::codes().collect::<Vec<_>>()),
        ) {
            let mut attributes = Map::new();
            for (i, name) in names.into_iter().enumerate() {
                let value = if i % 2 == 0 { json!(text) } else { json!(-MAX_JSON_NUMBER) };
                attributes.insert(name, value);
            }
            no_violation(|v| check_attributes(v, "/attributes", &attributes))?;
            let draft = VariantDraft {
                sku,
                price: Money { amount: crate::catalog::MAX_AMOUNT, currency: currency.to_owned() },
                stock: Some(i64::from(i32::MAX)),
                attributes,
                position: Some(0),
            };
            prop_assert!(crate::variants::check(&draft).is_ok(), "{draft:?}");
        }

        #[test]
        fn locales_generated_from_the_schema_are_canonical_tags(raw in from(LOCALE, 2..=15)) {
            let parsed = Locale::parse(&raw).unwrap();
            prop_assert_eq!(parsed.as_str(), raw.as_str());
        }

        #[test]
        fn emails_generated_from_the_schema_pass_the_email_check(raw in from(EMAIL, 3..=254)) {
            no_violation(|v| drop(crate::orders::check_email(v, &raw)))?;
        }

        #[test]
        fn workflows_generated_from_the_schema_pass(
            trigger in from(EVENT_TYPE, 3..=101),
            pointer in from(POINTER, 0..=200),
            url in from(HTTP_URL, 7..=2_000),
            secret in from(NO_NUL, 16..=200),
            timeout_ms in 100u64..=30_000,
        ) {
            let conditions = vec![
                Condition { pointer: pointer.clone(), op: ConditionOp::Exists, value: Value::Null },
                Condition { pointer: pointer.clone(), op: ConditionOp::In, value: json!(["a", 1, null]) },
                Condition { pointer, op: ConditionOp::Gte, value: json!(MAX_JSON_NUMBER) },
            ];
            let webhook = step("http_request", json!({"url": url, "secret": secret, "timeout_ms": timeout_ms}));
            prop_assert!(StepKind::parse(&webhook).is_ok(), "{webhook:?}");
            let steps = vec![webhook, step("send_email", json!({"template": "order_confirmation"}))];
            let draft = workflow("On order placed", &trigger, conditions, steps);
            let v = crate::workflows::workflow_violations(&draft, &[]);
            prop_assert!(v.is_empty(), "{v}");
        }
    }
}
