//! Who may do what: staff roles (granted in Zitadel, per organisation) and the actions they
//! permit. Handlers ask for an action; only this table knows which roles allow it.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

/// A role a Zitadel project grants. Names are Zitadel's role keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the shop: everything an admin may do.
    Owner,
    /// Manages the shop's catalog, content, orders, workflows and settings.
    Admin,
    /// Edits the catalog and content; reads everything else.
    Editor,
    /// Reads everything, changes nothing.
    Viewer,
    /// Operates the Kassa deployment (granted in the platform organisation only).
    PlatformAdmin,
}

impl Role {
    /// The role with this Zitadel role key; other keys (roles of other apps) are not Kassa's.
    pub fn from_key(key: &str) -> Option<Self> {
        match key {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "editor" => Some(Role::Editor),
            "viewer" => Some(Role::Viewer),
            "platform_admin" => Some(Role::PlatformAdmin),
            _ => None,
        }
    }
}

/// Something a caller may be allowed to do, named `area:verb` in APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    CatalogRead,
    CatalogWrite,
    ContentRead,
    ContentWrite,
    OrdersRead,
    OrdersWrite,
    WorkflowsRead,
    WorkflowsWrite,
    SettingsRead,
    SettingsWrite,
    /// Create and manage tenants (platform operators only).
    TenantsManage,
}

impl Action {
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::CatalogRead => "catalog:read",
            Action::CatalogWrite => "catalog:write",
            Action::ContentRead => "content:read",
            Action::ContentWrite => "content:write",
            Action::OrdersRead => "orders:read",
            Action::OrdersWrite => "orders:write",
            Action::WorkflowsRead => "workflows:read",
            Action::WorkflowsWrite => "workflows:write",
            Action::SettingsRead => "settings:read",
            Action::SettingsWrite => "settings:write",
            Action::TenantsManage => "tenants:manage",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl utoipa::PartialSchema for Action {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let names = ALL.iter().map(Action::as_str);
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(names))
            .into()
    }
}

impl utoipa::ToSchema for Action {}

/// Every action, for documentation; the one only platform operators get, last.
const ALL: &[Action] = &[
    Action::CatalogRead,
    Action::CatalogWrite,
    Action::ContentRead,
    Action::ContentWrite,
    Action::OrdersRead,
    Action::OrdersWrite,
    Action::WorkflowsRead,
    Action::WorkflowsWrite,
    Action::SettingsRead,
    Action::SettingsWrite,
    Action::TenantsManage,
];

impl Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

const READ: &[Action] = &[
    Action::CatalogRead,
    Action::ContentRead,
    Action::OrdersRead,
    Action::WorkflowsRead,
    Action::SettingsRead,
];

/// The permission table: what each role allows. The one place that maps roles to actions.
pub fn permitted(role: Role) -> &'static [Action] {
    use Action::*;
    match role {
        // Everything but the last action, `TenantsManage`.
        Role::Owner | Role::Admin => ALL.split_at(ALL.len() - 1).0,
        Role::Editor => {
            &[CatalogRead, CatalogWrite, ContentRead, ContentWrite, OrdersRead, WorkflowsRead, SettingsRead]
        }
        Role::Viewer => READ,
        Role::PlatformAdmin => &[TenantsManage],
    }
}

/// Every action any of `roles` allows.
pub fn actions_of<'a>(roles: impl IntoIterator<Item = &'a Role>) -> BTreeSet<Action> {
    roles.into_iter().flat_map(|role| permitted(*role).iter().copied()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewers_read_everything_and_write_nothing() {
        let actions = actions_of(&[Role::Viewer]);
        assert!(actions.contains(&Action::CatalogRead) && actions.contains(&Action::OrdersRead));
        assert!(!actions.iter().any(|a| a.to_string().ends_with(":write")));
    }

    #[test]
    fn editors_write_catalog_and_content_only() {
        let writes: Vec<String> = actions_of(&[Role::Editor])
            .iter()
            .map(Action::to_string)
            .filter(|a| a.ends_with(":write"))
            .collect();
        assert_eq!(writes, ["catalog:write", "content:write"]);
    }

    #[test]
    fn only_platform_admins_manage_tenants() {
        for role in [Role::Owner, Role::Admin, Role::Editor, Role::Viewer] {
            assert!(!permitted(role).contains(&Action::TenantsManage), "{role:?}");
        }
        assert_eq!(permitted(Role::PlatformAdmin), [Action::TenantsManage]);
    }

    #[test]
    fn owners_and_admins_may_do_everything_in_their_shop() {
        for role in [Role::Owner, Role::Admin] {
            let mut granted = permitted(role).to_vec();
            granted.push(Action::TenantsManage);
            assert_eq!(granted, ALL, "{role:?}");
        }
    }

    #[test]
    fn role_keys_are_zitadels_and_unknown_keys_are_ignored() {
        assert_eq!(Role::from_key("editor"), Some(Role::Editor));
        assert_eq!(Role::from_key("platform_admin"), Some(Role::PlatformAdmin));
        assert_eq!(Role::from_key("Editor"), None);
        assert_eq!(Role::from_key("billing"), None);
    }
}
