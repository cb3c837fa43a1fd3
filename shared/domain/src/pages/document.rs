//! Page documents: validated against the shop's page schema ([`super::schema::page_schema`]),
//! rich text reduced to a safe subset before anything is stored, and text resolved for a
//! locale when the storefront renders one.
//!
//! A document: `{"layout": "default", "sections": [{"id", "type", "settings", "blocks":
//! [{"id", "type", "settings"}]}]}`. Ids are the editor's (unique in the document).

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::schema::{IMAGE, MAX_DOCUMENT_BYTES, RICH_TEXT, TEXT, TypeSpec, page_schema};
use crate::error::{DomainError, Violations};
use crate::tenant::Tenant;

/// The document a new page starts with.
pub fn empty() -> Value {
    serde_json::json!({"layout": "default", "sections": []})
}

/// `document` checked for `tenant` with `types`, its rich text made safe; or every violation
/// with a JSON Pointer into the document.
pub fn check(tenant: &Tenant, types: &[TypeSpec], document: &Value) -> Result<Value, DomainError> {
    let mut v = Violations::default();
    if serde_json::to_vec(document).map_or(usize::MAX, |b| b.len()) > MAX_DOCUMENT_BYTES {
        v.push("", "document_too_large", "a page document is at most 256 KiB");
        return Err(DomainError::Validation(v));
    }
    let schema = page_schema(tenant, types);
    let validator = jsonschema::draft202012::new(&schema)
        .map_err(|err| DomainError::Unexpected(format!("the page schema does not compile: {err}")))?;
    for error in validator.iter_errors(document) {
        v.push(error.instance_path().as_str(), code(error.kind()), error.to_string());
    }
    check_ids(document, &mut v);
    // Postgres keeps any number, but one near the float limit comes back as digits that no
    // longer parse as a float: every read of the page would fail.
    if let Some(at) = crate::catalog::number_out_of_range(document) {
        v.push(at, "number_out_of_range", "numbers in a page document are from -1e15 to 1e15");
    }
    if !v.is_empty() {
        return Err(DomainError::Validation(v));
    }
    let mut safe = document.clone();
    for_each_settings(&mut safe, types, &mut |settings, schema| sanitize(settings, schema));
    Ok(safe)
}

/// The violation code for a JSON Schema error.
fn code(kind: &jsonschema::error::ValidationErrorKind) -> &'static str {
    use jsonschema::error::ValidationErrorKind as K;
    match kind {
        K::Required { .. } => "required",
        K::AdditionalProperties { .. } | K::UnevaluatedProperties { .. } => "unknown_field",
        K::Enum { .. } | K::Constant { .. } | K::PropertyNames { .. } => "not_allowed",
        K::Type { .. } => "wrong_type",
        K::MaxItems { .. } | K::MaxProperties { .. } => "too_many",
        K::MinItems { .. } | K::MinProperties { .. } => "too_few",
        K::MaxLength { .. } => "too_long",
        K::MinLength { .. } => "too_short",
        K::Pattern { .. } | K::Format { .. } => "invalid_format",
        K::Maximum { .. } | K::Minimum { .. } | K::ExclusiveMaximum { .. } | K::ExclusiveMinimum { .. } => {
            "out_of_range"
        }
        _ => "invalid",
    }
}

/// Section and block ids are unique in the document.
fn check_ids(document: &Value, v: &mut Violations) {
    let mut seen = HashSet::new();
    let mut check = |node: &Value, pointer: String| {
        if let Some(id) = node.get("id").and_then(Value::as_str)
            && !seen.insert(id.to_owned())
        {
            v.push(
                format!("{pointer}/id"),
                "duplicate_id",
                format!("another section or block has id '{id}'"),
            );
        }
    };
    let sections = document.get("sections").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    for (i, section) in sections.iter().enumerate() {
        check(section, format!("/sections/{i}"));
        let blocks = section.get("blocks").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        for (j, block) in blocks.iter().enumerate() {
            check(block, format!("/sections/{i}/blocks/{j}"));
        }
    }
}

/// Calls `visit` with every section's and block's settings and its type's settings schema.
pub fn for_each_settings(
    document: &mut Value,
    types: &[TypeSpec],
    visit: &mut dyn FnMut(&mut Value, &Value),
) {
    let Some(sections) = document.get_mut("sections").and_then(Value::as_array_mut) else { return };
    for section in sections {
        visit_one(section, types, visit);
        if let Some(blocks) = section.get_mut("blocks").and_then(Value::as_array_mut) {
            for block in blocks {
                visit_one(block, types, visit);
            }
        }
    }
}

fn visit_one(item: &mut Value, types: &[TypeSpec], visit: &mut dyn FnMut(&mut Value, &Value)) {
    let Some(name) = item.get("type").and_then(Value::as_str).map(str::to_owned) else { return };
    let Some(spec) = types.iter().find(|t| t.name == name) else { return };
    if let Some(settings) = item.get_mut("settings") {
        visit(settings, &spec.settings_schema);
    }
}

/// Which shared definition a property schema references, if any.
fn reference(schema: &Value) -> Option<&str> {
    schema.get("$ref").and_then(Value::as_str)
}

/// Walks `value` along `schema` (`properties`, `items`), calling `at` on every value whose
/// schema references `target`.
fn walk(value: &mut Value, schema: &Value, target: &str, at: &mut dyn FnMut(&mut Value)) {
    if reference(schema) == Some(target) {
        at(value);
        return;
    }
    if let (Some(map), Some(properties)) =
        (value.as_object_mut(), schema.get("properties").and_then(Value::as_object))
    {
        for (name, inner) in map.iter_mut() {
            if let Some(property) = properties.get(name) {
                walk(inner, property, target, at);
            }
        }
    }
    if let (Some(items), Some(item_schema)) = (value.as_array_mut(), schema.get("items")) {
        for item in items {
            walk(item, item_schema, target, at);
        }
    }
}

/// Reduces every rich text in `settings` to the safe subset.
fn sanitize(settings: &mut Value, schema: &Value) {
    walk(settings, schema, RICH_TEXT, &mut |texts| {
        if let Some(map) = texts.as_object_mut() {
            for html in map.values_mut() {
                if let Some(raw) = html.as_str() {
                    *html = Value::String(safe_html(raw));
                }
            }
        }
    });
}

/// HTML reduced to paragraphs, line breaks, emphasis, lists, headings 2–4, quotes, code and
/// links to http, https and mailto (which get `rel="noopener noreferrer nofollow"`); every
/// other tag is removed (its text kept; script and style with their content), every other
/// attribute dropped.
pub fn safe_html(raw: &str) -> String {
    ammonia::Builder::default()
        .tags(
            [
                "p",
                "br",
                "strong",
                "em",
                "u",
                "s",
                "a",
                "ul",
                "ol",
                "li",
                "h2",
                "h3",
                "h4",
                "blockquote",
                "code",
            ]
            .into(),
        )
        .tag_attributes([("a", ["href"].into())].into())
        .generic_attributes(std::collections::HashSet::new())
        .url_schemes(["http", "https", "mailto"].into())
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(raw)
        .to_string()
}

/// Every image in `settings` that names an upload's `key` gets its public `url`
/// (`{media_base_url}/{key}`); an image by URL keeps its URL.
pub fn resolve_images(settings: &mut Value, schema: &Value, media_base_url: &str) {
    walk(settings, schema, IMAGE, &mut |image| {
        if let Some(map) = image.as_object_mut()
            && let Some(key) = map.get("key").and_then(Value::as_str).map(str::to_owned)
        {
            map.insert("url".to_owned(), Value::String(format!("{media_base_url}/{key}")));
        }
    });
}

/// Every translatable text and rich text in `settings` replaced by its text in `locale`, else
/// in `fallback`, else any (a text with none at all becomes the empty string).
pub fn localize(settings: &mut Value, schema: &Value, locale: &str, fallback: &str) {
    for target in [TEXT, RICH_TEXT] {
        walk(settings, schema, target, &mut |texts| {
            let chosen = texts.as_object().and_then(|map: &Map<String, Value>| {
                map.get(locale).or_else(|| map.get(fallback)).or_else(|| map.values().next()).cloned()
            });
            *texts = chosen.unwrap_or_else(|| Value::String(String::new()));
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_and_event_handlers_never_survive_rich_text() {
        for attack in [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "<a href=\"javascript:alert(1)\">x</a>",
            "<a href=\"JaVaScRiPt:alert(1)\">x</a>",
            "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
            "<svg><script>alert(1)</script></svg>",
            "<iframe src=\"https://evil.example\"></iframe>",
            "<p style=\"background:url(javascript:alert(1))\" onclick=\"alert(1)\">x</p>",
            "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>",
            "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>",
            "<object data=\"x.swf\"></object><embed src=\"x\">",
            "<form action=\"https://evil.example\"><input name=x></form>",
            "<p>ok</p><!--<script>alert(1)</script>-->",
            "<scr<script>ipt>alert(1)</script>",
        ] {
            let safe = safe_html(attack).to_ascii_lowercase();
            for banned in [
                "<script",
                "onerror",
                "onclick",
                "javascript:",
                "<iframe",
                "<img",
                "<svg",
                "style=",
                "data:",
                "<object",
                "<embed",
                "<form",
                "<input",
            ] {
                assert!(!safe.contains(banned), "{attack} → {safe} contains {banned}");
            }
        }
        assert_eq!(
            safe_html("<p>Hi <strong>there</strong> <a href=\"https://kassa.example\">site</a></p>"),
            "<p>Hi <strong>there</strong> <a href=\"https://kassa.example\" rel=\"noopener noreferrer nofollow\">site</a></p>"
        );
    }
}
