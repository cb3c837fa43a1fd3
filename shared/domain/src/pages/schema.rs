//! The page document's JSON Schema (draft 2020-12) for one shop, built from the built-in
//! block types and the shop's own, and the rules a shop's own settings schema must follow.
//!
//! One schema validates a whole document: its structure (layout, at most 50 sections of at
//! most 50 blocks, ids), which types may stand as sections and which blocks each section
//! type may hold, and every section's and block's `settings` against its type's schema
//! (`if type is T then settings matches T's schema`). The same document is served at
//! `/management/schemas/page.json`, so an editor generates its forms from what validates.
//!
//! Settings schemas share a few definitions by reference: `#/$defs/text` (a translatable
//! text: locale → string, the shop's locales only), `#/$defs/rich_text` (translatable HTML,
//! reduced to a safe subset on save), `#/$defs/image` (a media key under the shop's prefix,
//! or an https URL), `#/$defs/link` (an https, http or site-relative URL) and
//! `#/$defs/handle`. A shop's own schema may use these references and nothing else of
//! JSON Schema's referencing (no other `$ref`, no `$id`, `$anchor`, `$dynamicRef`, `$defs`),
//! so it cannot reach outside the document or fetch anything.

use serde_json::{Value, json};

use crate::tenant::Tenant;

/// The page layouts a document may name.
pub const LAYOUTS: &[&str] = &["default", "wide", "landing"];
pub const MAX_SECTIONS: usize = 50;
pub const MAX_BLOCKS: usize = 50;
/// A document's largest serialized size.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;
/// A shop's own settings schema's largest serialized size.
pub const MAX_SETTINGS_SCHEMA_BYTES: usize = 16 * 1024;

/// The shared definitions a settings schema may reference.
pub const TEXT: &str = "#/$defs/text";
pub const RICH_TEXT: &str = "#/$defs/rich_text";
pub const IMAGE: &str = "#/$defs/image";
pub const REFERENCES: &[&str] = &[TEXT, RICH_TEXT, IMAGE, "#/$defs/link", "#/$defs/handle"];

/// A type of section or block: built in, or a shop's own.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeSpec {
    pub name: String,
    pub label: String,
    /// May stand alone as a section.
    pub section: bool,
    /// The section types that may hold it as a block.
    pub blocks_in: Vec<String>,
    pub settings_schema: Value,
    pub builtin: bool,
}

fn builtin(name: &str, label: &str, section: bool, blocks_in: &[&str], settings_schema: Value) -> TypeSpec {
    TypeSpec {
        name: name.to_owned(),
        label: label.to_owned(),
        section,
        blocks_in: blocks_in.iter().map(|s| (*s).to_owned()).collect(),
        settings_schema,
        builtin: true,
    }
}

fn object(properties: Value, required: &[&str]) -> Value {
    json!({"type": "object", "additionalProperties": false, "properties": properties, "required": required})
}

/// The types every shop has.
pub fn builtins() -> Vec<TypeSpec> {
    let text = json!({"$ref": TEXT});
    let rich = json!({"$ref": RICH_TEXT});
    let image = json!({"$ref": "#/$defs/image"});
    let link = json!({"$ref": "#/$defs/link"});
    vec![
        builtin(
            "hero",
            "Hero",
            true,
            &[],
            object(
                json!({"heading": text, "subheading": text, "image": image, "cta_label": text, "cta_url": link}),
                &["heading"],
            ),
        ),
        builtin("rich-text", "Rich text", true, &["columns"], object(json!({"body": rich}), &["body"])),
        builtin(
            "image",
            "Image",
            true,
            &["columns"],
            object(json!({"image": image, "alt": text, "caption": text, "link": link}), &["image"]),
        ),
        builtin(
            "product-grid",
            "Product grid",
            true,
            &[],
            object(
                json!({
                    "heading": text,
                    "collection": {"$ref": "#/$defs/handle", "description": "Products of this collection (its handle); none: all active products"},
                    "sort": {"enum": ["newest", "title", "price_asc", "price_desc"], "default": "newest"},
                    "count": {"type": "integer", "minimum": 1, "maximum": 24, "default": 8}
                }),
                &[],
            ),
        ),
        builtin(
            "featured-product",
            "Featured product",
            true,
            &["columns"],
            object(json!({"product": {"$ref": "#/$defs/handle"}, "heading": text}), &["product"]),
        ),
        builtin(
            "call-to-action",
            "Call to action",
            true,
            &["columns"],
            object(json!({"heading": text, "label": text, "url": link}), &["label", "url"]),
        ),
        builtin("columns", "Columns", true, &[], object(json!({"heading": text}), &[])),
    ]
}

/// The page document schema of `tenant` with `types` (built-ins first, then the shop's).
pub fn page_schema(tenant: &Tenant, types: &[TypeSpec]) -> Value {
    let id = json!({"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"});
    let sections: Vec<&str> = types.iter().filter(|t| t.section).map(|t| t.name.as_str()).collect();
    let blocks: Vec<&str> =
        types.iter().filter(|t| !t.blocks_in.is_empty()).map(|t| t.name.as_str()).collect();
    let settings_rules = |kind: &str| -> Vec<Value> {
        types
            .iter()
            .filter(|t| if kind == "section" { t.section } else { !t.blocks_in.is_empty() })
            .map(|t| {
                json!({
                    "if": {"properties": {"type": {"const": t.name}}, "required": ["type"]},
                    "then": {"properties": {"settings": t.settings_schema}}
                })
            })
            .collect()
    };
    let mut section_rules = settings_rules("section");
    for section in types.iter().filter(|t| t.section) {
        let allowed: Vec<&str> =
            types.iter().filter(|t| t.blocks_in.contains(&section.name)).map(|t| t.name.as_str()).collect();
        let blocks_rule = if allowed.is_empty() {
            json!({"maxItems": 0})
        } else {
            json!({"items": {"properties": {"type": {"enum": allowed}}}})
        };
        section_rules.push(json!({
            "if": {"properties": {"type": {"const": section.name}}, "required": ["type"]},
            "then": {"properties": {"blocks": blocks_rule}}
        }));
    }
    let media_prefix = format!("^tenants/{}/[A-Za-z0-9._/-]{{1,400}}$", tenant.id);
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": format!("urn:kassa:shop:{}:page", tenant.handle),
        "title": "Kassa page document",
        "type": "object",
        "additionalProperties": false,
        "required": ["layout", "sections"],
        "properties": {
            "layout": {"enum": LAYOUTS},
            "sections": {"type": "array", "maxItems": MAX_SECTIONS, "items": {"$ref": "#/$defs/section"}}
        },
        "$defs": {
            "section": {
                "type": "object",
                "additionalProperties": false,
                "required": ["id", "type", "settings"],
                "properties": {
                    "id": id,
                    "type": {"enum": sections},
                    "settings": {"type": "object"},
                    "blocks": {"type": "array", "maxItems": MAX_BLOCKS, "items": {"$ref": "#/$defs/block"}}
                },
                "allOf": section_rules
            },
            "block": {
                "type": "object",
                "additionalProperties": false,
                "required": ["id", "type", "settings"],
                "properties": {"id": id, "type": {"enum": blocks}, "settings": {"type": "object"}},
                "allOf": settings_rules("block")
            },
            "text": {
                "description": "Translatable text: the shop's locales to strings",
                "type": "object",
                "propertyNames": {"enum": tenant.locales},
                "additionalProperties": {"type": "string", "maxLength": 2000}
            },
            "rich_text": {
                "description": "Translatable HTML; reduced on save to p, br, strong, em, u, s, a (http, https, mailto), ul, ol, li, h2–h4, blockquote, code",
                "type": "object",
                "propertyNames": {"enum": tenant.locales},
                "additionalProperties": {"type": "string", "maxLength": 20000}
            },
            "image": {
                "description": "An uploaded image (its media key) or an https URL",
                "type": "object",
                "additionalProperties": false,
                "minProperties": 1,
                "maxProperties": 1,
                "properties": {
                    "key": {"type": "string", "pattern": media_prefix},
                    "url": {"type": "string", "pattern": "^https://[^\\s]{1,2040}$"}
                }
            },
            "link": {"type": "string", "pattern": "^(https?://|mailto:|/)[^\\s]{0,2040}$"},
            "handle": {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$", "maxLength": 100}
        }
    })
}

/// What is wrong with a shop's own settings schema, as `(pointer into it, message)`: it must
/// be a JSON object schema of at most 16 KiB, valid for draft 2020-12, and reference only
/// [`REFERENCES`].
pub fn check_settings_schema(schema: &Value) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    if serde_json::to_vec(schema).map_or(usize::MAX, |b| b.len()) > MAX_SETTINGS_SCHEMA_BYTES {
        problems.push((String::new(), "a settings schema is at most 16 KiB".to_owned()));
        return problems;
    }
    if schema.get("type") != Some(&json!("object")) {
        problems.push((
            "/type".to_owned(),
            "a settings schema describes an object: \"type\": \"object\"".to_owned(),
        ));
    }
    walk_references(schema, "", &mut problems);
    // Postgres keeps any number, but one near the float limit comes back as digits that no
    // longer parse as a float: every read of the type would fail.
    if let Some(at) = crate::catalog::number_out_of_range(schema) {
        problems.push((at, "numbers in a settings schema are from -1e15 to 1e15".to_owned()));
    }
    if problems.is_empty()
        && let Err(err) = jsonschema::meta::validate(schema)
    {
        problems.push((err.instance_path().as_str().to_owned(), format!("not a valid JSON Schema: {err}")));
    }
    problems
}

fn walk_references(value: &Value, pointer: &str, problems: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let at = format!("{pointer}/{}", crate::catalog::escape_pointer(key));
                match key.as_str() {
                    "$ref" if inner.as_str().is_some_and(|r| REFERENCES.contains(&r)) => {}
                    "$ref" => problems
                        .push((at, format!("only these references are allowed: {}", REFERENCES.join(", ")))),
                    "$id" | "$anchor" | "$dynamicRef" | "$dynamicAnchor" | "$defs" | "definitions"
                    | "$schema" | "$vocabulary" => {
                        problems.push((at, format!("{key} is not allowed in a settings schema")))
                    }
                    _ => walk_references(inner, &at, problems),
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk_references(item, &format!("{pointer}/{i}"), problems);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

    use super::*;

    #[test]
    fn built_in_settings_schemas_follow_the_rules_for_a_shops_own() {
        for spec in builtins() {
            assert_eq!(check_settings_schema(&spec.settings_schema), Vec::new(), "{}", spec.name);
        }
    }

    #[test]
    fn numbers_past_1e15_are_refused_so_the_stored_type_always_reads_back() {
        let schema = json!({"type": "object", "properties": {"n": {"type": "number", "maximum": 1.7976931348623157e308}}, "x": [[{}], -2e15]});
        let problems = check_settings_schema(&schema);
        assert_eq!(
            problems,
            [(
                "/properties/n/maximum".to_owned(),
                "numbers in a settings schema are from -1e15 to 1e15".to_owned()
            )]
        );
        let fine = json!({"type": "object", "properties": {"n": {"type": "number", "maximum": 1e15, "minimum": -1e15}}});
        assert_eq!(check_settings_schema(&fine), Vec::new());
    }

    #[test]
    fn a_settings_schema_may_not_reach_outside_the_document() {
        for (schema, pointer) in [
            (
                json!({"type": "object", "properties": {"x": {"$ref": "https://evil.example/s.json"}}}),
                "/properties/x/$ref",
            ),
            (json!({"type": "object", "$id": "urn:x"}), "/$id"),
            (json!({"type": "object", "$defs": {"a": {}}}), "/$defs"),
            (
                json!({"type": "object", "properties": {"x": {"$dynamicRef": "#a"}}}),
                "/properties/x/$dynamicRef",
            ),
            (json!({"type": "string"}), "/type"),
            (json!({"type": "object", "properties": {"x": {"type": 5}}}), "/properties/x/type"),
        ] {
            let problems = check_settings_schema(&schema);
            assert!(problems.iter().any(|(p, _)| p == pointer), "{schema}: {problems:?}");
        }
        let ok =
            json!({"type": "object", "properties": {"quote": {"$ref": TEXT}, "stars": {"type": "integer"}}});
        assert_eq!(check_settings_schema(&ok), Vec::new());
    }
}
