//! Typed builders for test data. Each one starts from defaults a test need not repeat, takes
//! what the test cares about by name, and writes through the domain's own functions (so
//! validation, events and defaults are the platform's), returning the stored rows:
//!
//! ```no_run
//! # use kassa_testkit::TestApp;
//! # use kassa_testkit::builders::{OrderBuilder, ProductBuilder, VariantBuilder};
//! # async fn example(app: &TestApp, tenant: &kassa_domain::tenant::Tenant) {
//! let mug = ProductBuilder::new("mug")
//!     .title("Mug")
//!     .active()
//!     .variant(VariantBuilder::new("MUG").price(1000).stock(3))
//!     .create(app, tenant)
//!     .await;
//! let order = OrderBuilder::new().line(mug.variant().id, 2).place(app, tenant).await;
//! # let _ = order;
//! # }
//! ```
//!
//! `create` takes a [`TestApp`] (writing as the service, as the platform does) or a plain
//! [`PgPool`].

use kassa_domain::carts::{self as carts_domain, Cart, Owner};
use kassa_domain::catalog::{B2bSettings, Money, Translations};
use kassa_domain::collections::{
    self, Collection, CollectionDraft, CollectionKind, CollectionProducts, CollectionRules, CollectionSort,
};
use kassa_domain::customers::{accounts, passwords};
use kassa_domain::orders::{self, Order, OrderDraft, OrderLineDraft};
use kassa_domain::pricing::{
    self, CustomerGroup, CustomerGroupDraft, ListPriceRow, PriceList, PriceListDraft, PriceListStatus,
    PriceUpsert,
};
use kassa_domain::products::{self, Product, ProductDraft, ProductStatus};
use kassa_domain::resource::{self, Editable};
use kassa_domain::tenant::{self, NewTenant, Tenant, TenantDraft};
use kassa_domain::variants::{self, Variant, VariantDraft};
use kassa_domain::workflows::{Condition, ConditionOp, DEFAULT_MAX_ATTEMPTS, Step, Workflow, WorkflowDraft};
use serde_json::{Map, Value};
use sqlx::PgPool;
use uuid::Uuid;

use crate::TestApp;

/// Where builders write: a [`TestApp`]'s service pool, or a pool.
pub trait Db {
    fn pool(&self) -> &PgPool;
}

impl Db for TestApp {
    fn pool(&self) -> &PgPool {
        &self.state.db
    }
}

impl Db for PgPool {
    fn pool(&self) -> &PgPool {
        self
    }
}

// ---------------------------------------------------------------------------------------
// Tenants

/// A shop: by default "Shop <handle>", English and Dutch, euros, served on
/// `<handle>.shop.test`, its staff the Zitadel organisation `org-<handle>`.
#[derive(Debug, Clone)]
pub struct TenantBuilder {
    draft: TenantDraft,
}

impl TenantBuilder {
    pub fn new(handle: &str) -> Self {
        Self {
            draft: TenantDraft {
                locales: vec!["nl".to_owned()],
                domains: vec![format!("{handle}.shop.test")],
                zitadel_org_id: Some(format!("org-{handle}")),
                ..TenantDraft::new(handle, &format!("Shop {handle}"))
            },
        }
    }

    pub fn name(mut self, name: &str) -> Self {
        self.draft.name = name.to_owned();
        self
    }

    /// The locales besides the default one (replacing Dutch).
    pub fn locales(mut self, locales: &[&str]) -> Self {
        self.draft.locales = locales.iter().map(|l| (*l).to_owned()).collect();
        self
    }

    pub fn default_locale(mut self, locale: &str) -> Self {
        self.draft.default_locale = locale.to_owned();
        self
    }

    pub fn currency(mut self, currency: &str) -> Self {
        self.draft.default_currency = currency.to_owned();
        self
    }

    /// The host names the shop is served on (replacing `<handle>.shop.test`).
    pub fn domains(mut self, domains: &[&str]) -> Self {
        self.draft.domains = domains.iter().map(|d| (*d).to_owned()).collect();
        self
    }

    /// No Zitadel organisation: nobody can sign in as its staff.
    pub fn without_staff(mut self) -> Self {
        self.draft.zitadel_org_id = None;
        self
    }

    pub async fn create(self, db: &impl Db) -> Tenant {
        let new = NewTenant::parse(&self.draft).expect("valid test tenant");
        tenant::create(db.pool(), &new).await.expect("tenant created")
    }
}

// ---------------------------------------------------------------------------------------
// Products and variants

/// A product (a draft titled with its handle unless told otherwise) and the variants it is
/// created with, in order.
#[derive(Debug, Clone)]
pub struct ProductBuilder {
    draft: ProductDraft,
    variants: Vec<VariantBuilder>,
}

/// A product as created, with its variants in the order they were given.
#[derive(Debug, Clone)]
pub struct ProductWithVariants {
    pub product: Product,
    pub variants: Vec<Variant>,
}

impl ProductWithVariants {
    /// The product's one variant (panics unless it has exactly one).
    pub fn variant(&self) -> &Variant {
        assert_eq!(self.variants.len(), 1, "the product has {} variants, not one", self.variants.len());
        &self.variants[0]
    }
}

impl ProductBuilder {
    pub fn new(handle: &str) -> Self {
        let draft = ProductDraft {
            handle: handle.to_owned(),
            title: Translations::from([("en".to_owned(), handle.to_owned())]),
            description: Translations::new(),
            status: ProductStatus::Draft,
            b2b_settings: B2bSettings::default(),
            subscription_plan_id: None,
            tax_class: "standard".to_owned(),
            tags: Vec::new(),
        };
        Self { draft, variants: Vec::new() }
    }

    /// The usual thing to sell: an active product "Product <SKU>" (handle: the SKU in lower
    /// case) whose one variant is `variant`.
    pub fn selling(variant: VariantBuilder) -> Self {
        let sku = variant.draft.sku.clone();
        Self::new(&sku.to_lowercase()).title(&format!("Product {sku}")).active().variant(variant)
    }

    /// The English title (the default locale of a test shop).
    pub fn title(self, text: &str) -> Self {
        self.title_in("en", text)
    }

    /// The title in `locale`, besides those already given.
    pub fn title_in(mut self, locale: &str, text: &str) -> Self {
        self.draft.title.insert(locale.to_owned(), text.to_owned());
        self
    }

    /// Replaces every title with `titles` (locale → text).
    pub fn titles(mut self, titles: &[(&str, &str)]) -> Self {
        self.draft.title = titles.iter().map(|(l, t)| ((*l).to_owned(), (*t).to_owned())).collect();
        self
    }

    pub fn description(mut self, text: &str) -> Self {
        self.draft.description.insert("en".to_owned(), text.to_owned());
        self
    }

    pub fn status(mut self, status: ProductStatus) -> Self {
        self.draft.status = status;
        self
    }

    pub fn active(self) -> Self {
        self.status(ProductStatus::Active)
    }

    pub fn archived(self) -> Self {
        self.status(ProductStatus::Archived)
    }

    pub fn tax_class(mut self, class: &str) -> Self {
        self.draft.tax_class = class.to_owned();
        self
    }

    pub fn subscription_plan(mut self, plan: Uuid) -> Self {
        self.draft.subscription_plan_id = Some(plan);
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, tag: &str) -> Self {
        self.draft.tags.push(tag.to_owned());
        self
    }

    pub fn b2b(mut self, settings: B2bSettings) -> Self {
        self.draft.b2b_settings = settings;
        self
    }

    /// Adds a variant, created after the product in the order given.
    pub fn variant(mut self, variant: VariantBuilder) -> Self {
        self.variants.push(variant);
        self
    }

    /// The product draft as built (without its variants).
    pub fn draft(&self) -> ProductDraft {
        self.draft.clone()
    }

    pub async fn create(self, db: &impl Db, tenant: &Tenant) -> ProductWithVariants {
        let product = products::create(db.pool(), tenant, &self.draft)
            .await
            .unwrap_or_else(|e| panic!("product {} created: {e:?}", self.draft.handle));
        let mut variants = Vec::with_capacity(self.variants.len());
        for variant in self.variants {
            variants.push(variant.create(db, tenant, product.id).await);
        }
        ProductWithVariants { product, variants }
    }
}

/// A variant: by default €10.00, no stock (0, tracked), no attributes, placed last.
#[derive(Debug, Clone)]
pub struct VariantBuilder {
    draft: VariantDraft,
}

impl VariantBuilder {
    pub fn new(sku: &str) -> Self {
        let draft = VariantDraft {
            sku: sku.to_owned(),
            price: Money { amount: 1_000, currency: "EUR".to_owned() },
            stock: Some(0),
            attributes: Map::new(),
            position: None,
        };
        Self { draft }
    }

    /// The price in euro cents.
    pub fn price(self, cents: i64) -> Self {
        self.price_in(cents, "EUR")
    }

    /// The price in minor units of `currency`.
    pub fn price_in(mut self, amount: i64, currency: &str) -> Self {
        self.draft.price = Money { amount, currency: currency.to_owned() };
        self
    }

    pub fn stock(mut self, units: i64) -> Self {
        self.draft.stock = Some(units);
        self
    }

    /// Stock not tracked: always available.
    pub fn untracked(mut self) -> Self {
        self.draft.stock = None;
        self
    }

    pub fn attribute(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.draft.attributes.insert(name.to_owned(), value.into());
        self
    }

    pub fn position(mut self, position: i32) -> Self {
        self.draft.position = Some(position);
        self
    }

    pub fn draft(&self) -> VariantDraft {
        self.draft.clone()
    }

    /// Creates the variant on an existing product.
    pub async fn create(self, db: &impl Db, tenant: &Tenant, product: Uuid) -> Variant {
        variants::create(db.pool(), tenant, product, &self.draft)
            .await
            .unwrap_or_else(|e| panic!("variant {} created: {e:?}", self.draft.sku))
    }
}

// ---------------------------------------------------------------------------------------
// Collections

/// A collection titled with its handle: manual and sorted manually unless given rules.
#[derive(Debug, Clone)]
pub struct CollectionBuilder {
    draft: CollectionDraft,
    products: Vec<Uuid>,
}

impl CollectionBuilder {
    pub fn new(handle: &str) -> Self {
        let draft = CollectionDraft {
            handle: handle.to_owned(),
            title: Translations::from([("en".to_owned(), handle.to_owned())]),
            description: Translations::new(),
            kind: CollectionKind::Manual,
            rules: CollectionRules::default(),
            sort: CollectionSort::Manual,
        };
        Self { draft, products: Vec::new() }
    }

    pub fn title_in(mut self, locale: &str, text: &str) -> Self {
        self.draft.title.insert(locale.to_owned(), text.to_owned());
        self
    }

    /// A manual collection's next product.
    pub fn product(mut self, product: Uuid) -> Self {
        self.products.push(product);
        self
    }

    /// Automatic, with these rules (sorted newest first unless told otherwise).
    pub fn rules(mut self, rules: serde_json::Value) -> Self {
        self.draft.kind = CollectionKind::Automatic;
        self.draft.rules = serde_json::from_value(rules).expect("valid collection rules");
        if self.draft.sort == CollectionSort::Manual {
            self.draft.sort = CollectionSort::Newest;
        }
        self
    }

    pub fn sort(mut self, sort: CollectionSort) -> Self {
        self.draft.sort = sort;
        self
    }

    pub fn draft(&self) -> CollectionDraft {
        self.draft.clone()
    }

    pub async fn create(self, db: &impl Db, tenant: &Tenant) -> Collection {
        let collection = Collection::create(db.pool(), tenant, &self.draft)
            .await
            .unwrap_or_else(|e| panic!("collection {} created: {e:?}", self.draft.handle));
        if self.products.is_empty() {
            return collection;
        }
        let products = CollectionProducts { product_ids: self.products };
        collections::set_products(db.pool(), tenant, collection.id, &products)
            .await
            .unwrap_or_else(|e| panic!("products of {} set: {e:?}", self.draft.handle))
    }
}

// ---------------------------------------------------------------------------------------
// Orders

/// A manual order: by default anna@example.com shipping to NL, in the shop's currency.
#[derive(Debug, Clone)]
pub struct OrderBuilder {
    draft: OrderDraft,
}

impl Default for OrderBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl OrderBuilder {
    pub fn new() -> Self {
        let draft = OrderDraft {
            customer_email: "anna@example.com".to_owned(),
            shipping_country: "NL".to_owned(),
            currency: None,
            lines: Vec::new(),
        };
        Self { draft }
    }

    pub fn customer(mut self, email: &str) -> Self {
        self.draft.customer_email = email.to_owned();
        self
    }

    pub fn ship_to(mut self, country: &str) -> Self {
        self.draft.shipping_country = country.to_owned();
        self
    }

    pub fn currency(mut self, currency: &str) -> Self {
        self.draft.currency = Some(currency.to_owned());
        self
    }

    pub fn line(mut self, variant: Uuid, quantity: i64) -> Self {
        self.draft.lines.push(OrderLineDraft { variant_id: variant, quantity });
        self
    }

    pub fn draft(&self) -> OrderDraft {
        self.draft.clone()
    }

    /// The order as a client sends it to `POST /management/orders`.
    pub fn json(&self) -> Value {
        serde_json::to_value(&self.draft).expect("an order draft serialises")
    }

    pub async fn place(self, db: &impl Db, tenant: &Tenant) -> Order {
        orders::place(db.pool(), tenant, &self.draft).await.unwrap_or_else(|e| panic!("order placed: {e:?}"))
    }
}

// ---------------------------------------------------------------------------------------
// Workflows

/// A workflow: by default enabled, triggered by `order.placed`, without conditions.
#[derive(Debug, Clone)]
pub struct WorkflowBuilder {
    draft: WorkflowDraft,
    replacing: Option<String>,
}

impl WorkflowBuilder {
    pub fn new(name: &str) -> Self {
        let draft = WorkflowDraft {
            name: name.to_owned(),
            trigger: "order.placed".to_owned(),
            conditions: Vec::new(),
            steps: Vec::new(),
            enabled: true,
        };
        Self { draft, replacing: None }
    }

    pub fn trigger(mut self, event_type: &str) -> Self {
        self.draft.trigger = event_type.to_owned();
        self
    }

    pub fn condition(mut self, pointer: &str, op: ConditionOp, value: Value) -> Self {
        self.draft.conditions.push(Condition { pointer: pointer.to_owned(), op, value });
        self
    }

    /// A step of `step_type` with `config` (`json!({})` for none), attempted up to the
    /// default number of times.
    pub fn step(self, step_type: &str, config: Value) -> Self {
        self.step_attempts(step_type, config, DEFAULT_MAX_ATTEMPTS)
    }

    /// A step attempted up to `max_attempts` times.
    pub fn step_attempts(mut self, step_type: &str, config: Value, max_attempts: i32) -> Self {
        self.draft.steps.push(Step { id: None, step_type: step_type.to_owned(), config, max_attempts });
        self
    }

    pub fn disabled(mut self) -> Self {
        self.draft.enabled = false;
        self
    }

    /// Deletes the shop's workflow called `name` (which must exist) before creating this
    /// one: e.g. `"On order placed"`, which every new shop has.
    pub fn replacing(mut self, name: &str) -> Self {
        self.replacing = Some(name.to_owned());
        self
    }

    pub fn draft(&self) -> WorkflowDraft {
        self.draft.clone()
    }

    pub async fn create(self, db: &impl Db, tenant: &Tenant) -> Workflow {
        let pool = db.pool();
        if let Some(name) = &self.replacing {
            let old: Workflow = resource::find(pool, tenant, "name", name)
                .await
                .expect("workflows readable")
                .unwrap_or_else(|| panic!("the shop has a workflow {name:?} to replace"));
            resource::delete::<Workflow>(pool, tenant, old.id).await.expect("workflow deleted");
        }
        Workflow::create(pool, tenant, &self.draft)
            .await
            .unwrap_or_else(|e| panic!("workflow {} created: {e:?}", self.draft.name))
    }
}

// ---------------------------------------------------------------------------------------
// Customer groups and price lists

/// A customer group named like its handle unless told otherwise.
#[derive(Debug, Clone)]
pub struct CustomerGroupBuilder {
    draft: CustomerGroupDraft,
}

impl CustomerGroupBuilder {
    pub fn new(handle: &str) -> Self {
        Self { draft: CustomerGroupDraft { handle: handle.to_owned(), name: handle.to_owned() } }
    }

    pub fn name(mut self, name: &str) -> Self {
        self.draft.name = name.to_owned();
        self
    }

    pub async fn create(self, db: &impl Db, tenant: &Tenant) -> CustomerGroup {
        CustomerGroup::create(db.pool(), tenant, &self.draft)
            .await
            .unwrap_or_else(|e| panic!("customer group {} created: {e:?}", self.draft.handle))
    }
}

/// A shopper of one shop: by default verified, with [`CustomerBuilder::PASSWORD`], in no
/// customer group.
#[derive(Debug, Clone)]
pub struct CustomerBuilder {
    email: String,
    password: String,
    names: (String, String),
    groups: Vec<Uuid>,
}

/// A customer signed in the way the customers function signs one in: a session, and an
/// access token minted with the app's keys.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub customer_id: Uuid,
    pub session_id: Uuid,
    /// `Bearer <access token>`, for the `authorization` header.
    pub authorization: String,
}

impl CustomerBuilder {
    pub const PASSWORD: &'static str = "correct horse battery";

    pub fn new(email: &str) -> Self {
        Self {
            email: email.to_owned(),
            password: Self::PASSWORD.to_owned(),
            names: ("Anna".to_owned(), "Jansen".to_owned()),
            groups: Vec::new(),
        }
    }

    pub fn password(mut self, password: &str) -> Self {
        self.password = password.to_owned();
        self
    }

    pub fn name(mut self, first: &str, last: &str) -> Self {
        self.names = (first.to_owned(), last.to_owned());
        self
    }

    pub fn in_group(mut self, group: Uuid) -> Self {
        self.groups.push(group);
        self
    }

    /// The customer's id.
    pub async fn create(self, db: &impl Db, tenant: &Tenant) -> Uuid {
        let email = kassa_domain::types::Email::parse(&self.email).expect("a valid email");
        let hash = passwords::hash(&self.password).expect("the password hashes");
        let names = (self.names.0.as_str(), self.names.1.as_str());
        accounts::create_verified(db.pool(), tenant, &email, &hash, names, &self.groups)
            .await
            .unwrap_or_else(|e| panic!("customer {} created: {e:?}", self.email))
    }

    /// Creates the customer and signs them in.
    pub async fn signed_in(self, app: &TestApp, tenant: &Tenant) -> SignedIn {
        let customer_id = self.create(app, tenant).await;
        let refresh = Uuid::new_v4().to_string();
        let session = accounts::start_session(
            &app.state.db,
            tenant,
            customer_id,
            refresh.as_bytes(),
            chrono::Duration::days(1),
        )
        .await
        .expect("a session starts");
        let token = app.state.customer_tokens.mint(tenant.id, &session).expect("a token is minted");
        SignedIn { customer_id, session_id: session.id, authorization: format!("Bearer {}", token.token) }
    }
}

/// A price list for a customer group: by default active, in euros, always valid, priority 0,
/// with the prices given.
#[derive(Debug, Clone)]
pub struct PriceListBuilder {
    draft: PriceListDraft,
    prices: Vec<ListPriceRow>,
}

impl PriceListBuilder {
    pub fn new(name: &str, customer_group: Uuid) -> Self {
        let draft = PriceListDraft {
            name: name.to_owned(),
            customer_group_id: customer_group,
            currency: "EUR".to_owned(),
            starts_at: None,
            ends_at: None,
            priority: 0,
            status: PriceListStatus::Active,
        };
        Self { draft, prices: Vec::new() }
    }

    pub fn currency(mut self, currency: &str) -> Self {
        self.draft.currency = currency.to_owned();
        self
    }

    /// Valid from this RFC 3339 moment (inclusive).
    pub fn starts_at(mut self, at: &str) -> Self {
        self.draft.starts_at = Some(serde_json::from_value(Value::from(at)).expect("an RFC 3339 moment"));
        self
    }

    /// Valid until this RFC 3339 moment (exclusive).
    pub fn ends_at(mut self, at: &str) -> Self {
        self.draft.ends_at = Some(serde_json::from_value(Value::from(at)).expect("an RFC 3339 moment"));
        self
    }

    pub fn priority(mut self, priority: i32) -> Self {
        self.draft.priority = priority;
        self
    }

    pub fn inactive(mut self) -> Self {
        self.draft.status = PriceListStatus::Draft;
        self
    }

    /// `amount` for `variant` from `min_quantity` units on.
    pub fn price(mut self, variant: Uuid, min_quantity: i64, amount: i64) -> Self {
        self.prices.push(ListPriceRow { variant_id: variant, amount, min_quantity });
        self
    }

    pub async fn create(self, db: &impl Db, tenant: &Tenant) -> PriceList {
        let list = PriceList::create(db.pool(), tenant, &self.draft)
            .await
            .unwrap_or_else(|e| panic!("price list {} created: {e:?}", self.draft.name));
        if !self.prices.is_empty() {
            let upsert = PriceUpsert { prices: self.prices };
            pricing::upsert_prices(db.pool(), tenant, list.id, &upsert)
                .await
                .unwrap_or_else(|e| panic!("prices of {} upserted: {e:?}", self.draft.name));
        }
        list
    }
}

// ---------------------------------------------------------------------------------------
// Carts

/// A cart in the app's cart store (`CART_STORE`): by default anonymous and empty; its lines
/// pass the domain's rules (stock, B2B settings) as if a shopper added them.
#[derive(Debug, Clone, Default)]
pub struct CartBuilder {
    customer: Option<Uuid>,
    lines: Vec<(Uuid, i64)>,
    shipping_country: Option<String>,
}

/// A stored cart and, for an anonymous one, the token that opens it.
#[derive(Debug, Clone)]
pub struct BuiltCart {
    pub cart: Cart,
    pub token: Option<String>,
}

impl CartBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Owned by this customer (and their current cart), not anonymous.
    pub fn owned_by(mut self, customer: Uuid) -> Self {
        self.customer = Some(customer);
        self
    }

    pub fn line(mut self, variant: Uuid, quantity: i64) -> Self {
        self.lines.push((variant, quantity));
        self
    }

    pub fn ship_to(mut self, country: &str) -> Self {
        self.shipping_country = Some(country.to_owned());
        self
    }

    pub async fn create(self, app: &TestApp, tenant: &Tenant) -> BuiltCart {
        let store = kassa_store::AnyStore::for_state(&app.state).await.expect("the cart store is configured");
        let buyer = carts_domain::buyer(&app.state.db, tenant, &[]).await.expect("a buyer");
        let (owner, token) = match self.customer {
            Some(customer_id) => (Owner::Customer { customer_id }, None),
            None => {
                let (token, hash) = kassa_store::token::new_token().expect("a token");
                (Owner::Anonymous { token_sha256: hash }, Some(token))
            }
        };
        let mut cart = Cart::new(owner, &tenant.default_currency, chrono::Utc::now());
        cart.shipping_country = self.shipping_country;
        let ids: Vec<Uuid> = self.lines.iter().map(|(id, _)| *id).collect();
        let catalog =
            carts_domain::load_catalog(&app.state.db, tenant, &ids, &buyer).await.expect("catalog rows");
        for (variant, quantity) in self.lines {
            let row = catalog.iter().find(|c| c.variant_id == variant);
            cart.add(row, variant, quantity, &buyer)
                .unwrap_or_else(|e| panic!("line {variant} added: {e:?}"));
        }
        kassa_store::carts::insert(&store, tenant.id, &mut cart).await.expect("cart stored");
        if let Some(customer) = self.customer {
            kassa_store::carts::set_customer_cart(&store, tenant.id, customer, cart.id)
                .await
                .expect("cart owned");
        }
        BuiltCart { cart, token }
    }
}
