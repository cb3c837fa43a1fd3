//! Customer groups: a handle shoppers are placed in (B2B), which price lists and B2B
//! products are for.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::check_name;
use crate::ErrorCode;
use crate::error::{Constraint, DomainError, Violations};
use crate::resource::{Editable, Resource, WriteQuery};
use crate::types::Handle;

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct CustomerGroup {
    pub id: Uuid,
    pub handle: String,
    pub name: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerGroupDraft {
    #[schema(schema_with = crate::schemas::handle)]
    pub handle: String,
    #[schema(schema_with = crate::schemas::name)]
    pub name: String,
}

impl From<&CustomerGroup> for CustomerGroupDraft {
    fn from(g: &CustomerGroup) -> Self {
        CustomerGroupDraft { handle: g.handle.clone(), name: g.name.clone() }
    }
}

impl Resource for CustomerGroup {
    const NAME: &'static str = "customer group";
    const PLURAL: &'static str = "customer groups";
    const AGGREGATE: &'static str = "customer_group";
    const TABLE: &'static str = "customer_groups";
    const COLUMNS: &'static str = "id, handle, name, version, created_at, updated_at";
    const CONSTRAINTS: &'static [Constraint] = &[
        Constraint::Unique(
            "customer_groups_handle_key",
            ErrorCode::HandleTaken,
            "another customer group uses this handle",
        ),
        Constraint::InUse(
            "price_lists_customer_group_fkey",
            ErrorCode::InUse,
            "price lists still refer to this customer group",
        ),
    ];

    fn id(&self) -> Uuid {
        self.id
    }

    fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
}

/// The draft's handle, once every field is valid.
fn check_group(draft: &CustomerGroupDraft) -> Result<Handle, DomainError> {
    let mut v = Violations::default();
    let handle = v.check("/handle", Handle::parse(&draft.handle, 100));
    check_name(&mut v, &draft.name);
    match handle {
        Some(handle) if v.is_empty() => Ok(handle),
        _ => Err(DomainError::Validation(v)),
    }
}

impl Editable for CustomerGroup {
    type Draft = CustomerGroupDraft;

    // A group's handle decides which B2B products and prices a shopper sees.
    const SHOWN_IN_STOREFRONT: bool = true;

    const WRITES: &'static [&'static str] = &["handle", "name"];

    fn bind_draft<'q>(
        draft: &'q CustomerGroupDraft,
        query: WriteQuery<'q, Self>,
    ) -> Result<WriteQuery<'q, Self>, DomainError> {
        let handle = check_group(draft)?;
        Ok(query.bind(handle).bind(draft.name.trim()))
    }

    fn version(&self) -> i64 {
        self.version
    }
}
