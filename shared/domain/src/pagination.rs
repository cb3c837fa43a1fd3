//! Keyset pagination: a bounded `limit` and an opaque cursor naming the last row seen, so a
//! page costs one index range scan however deep it is, and rows inserted meanwhile never
//! shift a page.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{Violation, invalid};

pub const DEFAULT_LIMIT: i64 = 25;
pub const MAX_LIMIT: i64 = 100;

/// Where a page starts: after the row with this sort key and id, in this ordering.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The ordering the cursor belongs to (`created_at:asc`, `handle:desc`, …).
    #[serde(rename = "o")]
    pub ordering: String,
    /// The last row's sort key, as text (timestamps in RFC 3339).
    #[serde(rename = "k")]
    pub key: Option<String>,
    #[serde(rename = "i")]
    pub id: Uuid,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Decodes a cursor that must belong to `ordering`.
    pub fn decode(raw: &str, ordering: &str) -> Result<Self, Violation> {
        let refuse =
            || invalid("invalid_cursor", "the cursor is not one this list handed out for this sort order");
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| refuse())?;
        let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| refuse())?;
        if cursor.ordering != ordering {
            return Err(refuse());
        }
        Ok(cursor)
    }
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
    fn cursors_round_trip_and_belong_to_their_ordering() {
        let cursor = Cursor { ordering: "handle:asc".into(), key: Some("mug".into()), id: Uuid::now_v7() };
        let encoded = cursor.encode();
        assert_eq!(Cursor::decode(&encoded, "handle:asc").unwrap(), cursor);
        assert!(Cursor::decode(&encoded, "handle:desc").is_err());
        assert!(Cursor::decode("not a cursor!", "handle:asc").is_err());
        assert!(Cursor::decode("bm90IGpzb24", "handle:asc").is_err());
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
        let cursor_of = |n: &u32| Cursor { ordering: "x".into(), key: Some(n.to_string()), id: Uuid::nil() };
        let page = Page::from_rows(rows.clone(), 3, cursor_of);
        assert_eq!(page.items, [0, 1, 2]);
        assert_eq!(Cursor::decode(&page.next_cursor.unwrap(), "x").unwrap().key.as_deref(), Some("2"));
        assert_eq!(Page::from_rows(rows, 4, cursor_of).next_cursor, None);
    }
}
