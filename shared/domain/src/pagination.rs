//! Keyset pagination: a bounded `limit` and an opaque cursor naming the last row seen, so a
//! page costs one index range scan however deep it is, and rows inserted meanwhile never
//! shift a page.

use chrono::{DateTime, Datelike, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{Violation, invalid};
use crate::tenant::TenantId;

pub const DEFAULT_LIMIT: i64 = 25;
pub const MAX_LIMIT: i64 = 100;

/// What a list's sort key is, so a cursor's key is checked before it reaches SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// An RFC 3339 timestamp (years 1–9999, which Postgres' `timestamptz` holds).
    Time,
    /// A 64-bit integer.
    Integer,
    /// Text without NUL characters, at most [`MAX_TEXT_KEY`] bytes.
    Text,
}

/// The longest text sort key a cursor may carry (titles and handles are far shorter).
pub const MAX_TEXT_KEY: usize = 2_048;

/// Where a page starts: after the row with this sort key and id, in this ordering of this
/// tenant's list.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cursor {
    /// The list and ordering the cursor belongs to (`products:title:nl:desc`, …).
    #[serde(rename = "o")]
    pub ordering: String,
    /// The tenant whose list handed the cursor out.
    #[serde(rename = "t")]
    pub tenant: Uuid,
    /// The last row's sort key, as text (timestamps in RFC 3339).
    #[serde(rename = "k")]
    pub key: Option<String>,
    #[serde(rename = "i")]
    pub id: Uuid,
}

impl Cursor {
    pub fn new(ordering: impl Into<String>, tenant: TenantId, key: Option<String>, id: Uuid) -> Self {
        Cursor { ordering: ordering.into(), tenant: tenant.as_uuid(), key, id }
    }

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Decodes a cursor that must belong to `ordering` of `tenant`'s list and carry a key of
    /// `kind` — anything else (bytes that do not decode, another list, sort or tenant, a key
    /// of another type) is an `invalid_cursor`, never a database error.
    pub fn decode(raw: &str, ordering: &str, tenant: TenantId, kind: KeyKind) -> Result<Self, Violation> {
        let refuse =
            || invalid("invalid_cursor", "the cursor is not one this list handed out for this sort order");
        if raw.len() > 4 * MAX_TEXT_KEY {
            return Err(refuse());
        }
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| refuse())?;
        let mut cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| refuse())?;
        if cursor.ordering != ordering || cursor.tenant != tenant.as_uuid() {
            return Err(refuse());
        }
        cursor.key = Some(check_key(cursor.key.as_deref().ok_or_else(refuse)?, kind).ok_or_else(refuse)?);
        Ok(cursor)
    }
}

/// A timestamp as a cursor's key: RFC 3339 in UTC to the microsecond, as Postgres keeps it, so
/// the next page starts exactly after the row.
pub fn time_key(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The key in its canonical form if it is a valid key of `kind`.
fn check_key(key: &str, kind: KeyKind) -> Option<String> {
    match kind {
        KeyKind::Time => {
            let at = DateTime::parse_from_rfc3339(key).ok()?.with_timezone(&Utc);
            (1..=9999).contains(&at.year()).then(|| time_key(&at))
        }
        KeyKind::Integer => key.parse::<i64>().ok().map(|n| n.to_string()),
        KeyKind::Text => (key.len() <= MAX_TEXT_KEY && !key.contains('\0')).then(|| key.to_owned()),
    }
}

/// Ascending or descending, as a client names it (`asc`, `desc`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    #[default]
    Asc,
    Desc,
}

/// Validates a requested page size.
pub fn limit(requested: Option<i64>) -> Result<i64, Violation> {
    match requested {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(invalid("invalid_limit", format!("limit must be between 1 and {MAX_LIMIT}"))),
    }
}

/// A page of items and the cursor of the next one, if there is one.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows: the extra row only tells that more follow.
    pub fn from_rows(mut rows: Vec<T>, limit: i64, cursor_of: impl Fn(&T) -> Cursor) -> Self {
        let more = rows.len() as i64 > limit;
        rows.truncate(usize::try_from(limit).unwrap_or(0));
        let next_cursor = if more { rows.last().map(|row| cursor_of(row).encode()) } else { None };
        Page { items: rows, next_cursor }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next_cursor: self.next_cursor }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_belong_to_their_ordering_and_tenant() {
        let tenant = TenantId::new();
        let cursor = Cursor::new("handle:asc", tenant, Some("mug".into()), Uuid::now_v7());
        let encoded = cursor.encode();
        assert_eq!(Cursor::decode(&encoded, "handle:asc", tenant, KeyKind::Text).unwrap(), cursor);
        assert!(Cursor::decode(&encoded, "handle:desc", tenant, KeyKind::Text).is_err());
        assert!(Cursor::decode(&encoded, "handle:asc", TenantId::new(), KeyKind::Text).is_err());
        assert!(Cursor::decode(&encoded, "handle:asc", tenant, KeyKind::Time).is_err());
        assert!(Cursor::decode(&encoded, "handle:asc", tenant, KeyKind::Integer).is_err());
        assert!(Cursor::decode("not a cursor!", "handle:asc", tenant, KeyKind::Text).is_err());
        assert!(Cursor::decode("bm90IGpzb24", "handle:asc", tenant, KeyKind::Text).is_err());
    }

    #[test]
    fn forged_cursor_keys_that_would_break_a_database_cast_are_refused() {
        let tenant = TenantId::new();
        let forge = |key: &str| Cursor::new("x", tenant, Some(key.to_owned()), Uuid::nil()).encode();
        for (key, kind) in [
            ("yesterday", KeyKind::Time),
            ("0000-01-01T00:00:00Z", KeyKind::Time),
            ("9999999999", KeyKind::Time),
            ("1e3", KeyKind::Integer),
            ("99999999999999999999", KeyKind::Integer),
            ("a\0b", KeyKind::Text),
        ] {
            assert!(Cursor::decode(&forge(key), "x", tenant, kind).is_err(), "{key:?} as {kind:?}");
        }
        let missing = Cursor::new("x", tenant, None, Uuid::nil()).encode();
        assert!(Cursor::decode(&missing, "x", tenant, KeyKind::Text).is_err());
        // Valid keys come back canonical.
        let time = Cursor::decode(&forge("2026-11-29T03:00:00+01:00"), "x", tenant, KeyKind::Time).unwrap();
        assert_eq!(time.key.as_deref(), Some("2026-11-29T02:00:00.000000Z"));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_decode_into_an_unchecked_cursor(raw in proptest::collection::vec(proptest::num::u8::ANY, 0..300), kind in 0..3u8) {
            let kind = [KeyKind::Time, KeyKind::Integer, KeyKind::Text][usize::from(kind)];
            let tenant = TenantId::new();
            for candidate in [String::from_utf8_lossy(&raw).into_owned(), URL_SAFE_NO_PAD.encode(&raw)] {
                if let Ok(cursor) = Cursor::decode(&candidate, "x", tenant, kind) {
                    proptest::prop_assert!(check_key(cursor.key.as_deref().unwrap_or_default(), kind).is_some());
                }
            }
        }
    }

    #[test]
    fn limits_are_bounded() {
        assert_eq!(limit(None).unwrap(), DEFAULT_LIMIT);
        assert_eq!(limit(Some(100)).unwrap(), 100);
        assert!(limit(Some(0)).is_err() && limit(Some(101)).is_err());
    }

    #[test]
    fn a_page_of_limit_plus_one_rows_has_a_next_cursor() {
        let rows: Vec<u32> = (0..4).collect();
        let tenant = TenantId::new();
        let cursor_of = |n: &u32| Cursor::new("x", tenant, Some(n.to_string()), Uuid::nil());
        let page = Page::from_rows(rows.clone(), 3, cursor_of);
        assert_eq!(page.items, [0, 1, 2]);
        let next = Cursor::decode(&page.next_cursor.unwrap(), "x", tenant, KeyKind::Integer).unwrap();
        assert_eq!(next.key.as_deref(), Some("2"));
        assert_eq!(Page::from_rows(rows, 4, cursor_of).next_cursor, None);
    }
}
