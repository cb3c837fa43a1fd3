//! Row-level security: a tenant transaction sees and writes only its own tenant's rows,
//! for every tenant table the migrations create, even when the pool is a superuser.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use kassa_domain::db::{Plans, ReadQuery, begin_read, begin_tenant_tx};
use kassa_domain::resource::Editable;
use kassa_domain::tenant::{self, NewTenant, Tenant, TenantDraft, TenantId, TenantKey};
use kassa_domain::{orders, pricing, products, relay, taxes, variants, workflows};
use sqlx::PgPool;

/// Tables whose rows belong to a tenant: every table with a `tenant_id` column, plus
/// `tenants` itself (keyed by `id`).
async fn tenant_tables(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "select c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = 'public' and c.relkind in ('r', 'p')
           and (c.relname = 'tenants' or exists (
             select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped))
         order by 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

fn tenant_column(table: &str) -> &'static str {
    if table == "tenants" { "id" } else { "tenant_id" }
}

/// Writes at least one row of `tenant` into every tenant table. When a migration adds a
/// tenant table, extend this fixture: the test below fails until every table has a row.
async fn fill_every_tenant_table(pool: &PgPool, handle: &str) -> Tenant {
    let draft =
        TenantDraft { domains: vec![format!("{handle}.example")], ..TenantDraft::new(handle, handle) };
    let tenant = tenant::create(pool, &NewTenant::parse(&draft).unwrap()).await.unwrap();
    let group = pricing::CustomerGroup::create(
        pool,
        &tenant,
        &pricing::CustomerGroupDraft { handle: "wholesale".into(), name: "Wholesale".into() },
    )
    .await
    .unwrap();
    let plan = pricing::SubscriptionPlan::create(
        pool,
        &tenant,
        &serde_json::from_value(serde_json::json!({"name": "Monthly", "interval": "month"})).unwrap(),
    )
    .await
    .unwrap();
    let product: products::ProductDraft = serde_json::from_value(serde_json::json!({
        "handle": "mug", "title": {"en": "Mug"}, "subscription_plan_id": plan.id, "status": "active",
    }))
    .unwrap();
    let product = products::create(pool, &tenant, &product).await.unwrap();
    let variant: variants::VariantDraft = serde_json::from_value(
        serde_json::json!({"sku": format!("{handle}-MUG"), "price": {"amount": 900, "currency": "EUR"}}),
    )
    .unwrap();
    let variant = variants::create(pool, &tenant, product.id, &variant).await.unwrap();
    let list: pricing::PriceListDraft = serde_json::from_value(serde_json::json!({
        "name": "Wholesale", "customer_group_id": group.id, "currency": "EUR",
    }))
    .unwrap();
    let list = pricing::PriceList::create(pool, &tenant, &list).await.unwrap();
    let prices = pricing::PriceUpsert {
        prices: vec![pricing::ListPriceRow { variant_id: variant.id, amount: 800, min_quantity: 1 }],
    };
    pricing::upsert_prices(pool, &tenant, list.id, &prices).await.unwrap();
    let mut tx = begin_tenant_tx(pool, tenant.id).await.unwrap();
    assert!(relay::first_delivery(&mut tx, tenant.id, "fixture", uuid::Uuid::now_v7()).await.unwrap());
    tx.commit().await.unwrap();
    let rate = taxes::TaxRateDraft { country: "NL".into(), tax_class: "standard".into(), rate_bp: 2100 };
    taxes::TaxRate::create(pool, &tenant, &rate).await.unwrap();
    let order: orders::OrderDraft = serde_json::from_value(serde_json::json!({
        "customer_email": "anna@example.com", "shipping_country": "NL",
        "lines": [{"variant_id": variant.id, "quantity": 1}],
    }))
    .unwrap();
    let order = orders::place(pool, &tenant, &order).await.unwrap();
    // The order's stock reservation and payment, as a checkout writes them.
    sqlx::query(
        "insert into stock_reservations (tenant_id, order_id, variant_id, quantity) values ($1, $2, $3, 1)",
    )
    .bind(tenant.id)
    .bind(order.id)
    .bind(variant.id)
    .execute(pool)
    .await
    .unwrap();
    let payment = uuid::Uuid::now_v7();
    sqlx::query(
        "insert into payments (id, tenant_id, order_id, amount, currency, idempotency_key)
         values ($1, $2, $3, 900, 'EUR', $4)",
    )
    .bind(payment)
    .bind(tenant.id)
    .bind(order.id)
    .bind(format!("fixture-{handle}"))
    .execute(pool)
    .await
    .unwrap();
    // A page with a published revision, and a block type of the shop's own.
    let page = uuid::Uuid::now_v7();
    sqlx::query(
        "insert into pages (id, tenant_id, handle, title, draft) values ($1, $2, 'home', '{\"en\": \"Home\"}', '{}')",
    )
    .bind(page)
    .bind(tenant.id)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("insert into page_revisions (tenant_id, page_id, number, document) values ($1, $2, 1, '{}')")
        .bind(tenant.id)
        .bind(page)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query(
        "insert into block_types (id, tenant_id, name, label, settings_schema) values ($1, $2, 'quote', 'Quote', '{}')",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(tenant.id)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into refunds (id, tenant_id, order_id, payment_id, amount, currency, request_key, idempotency_key)
         values ($1, $2, $3, $4, 100, 'EUR', 'fixture', 'fixture')",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(tenant.id)
    .bind(order.id)
    .bind(payment)
    .execute(pool)
    .await
    .unwrap();
    // A run of the default workflow with one recorded attempt.
    let mut tx = begin_tenant_tx(pool, tenant.id).await.unwrap();
    let event = serde_json::json!({"source": "kassa/order", "subject": order.id});
    let runs =
        workflows::start_runs(&mut tx, tenant.id, order.id, "order.placed", &event, &event).await.unwrap();
    tx.commit().await.unwrap();
    let run = workflows::claim(pool, tenant.id, runs[0], 60.0).await.unwrap().unwrap();
    let mut tx = begin_tenant_tx(pool, tenant.id).await.unwrap();
    let outcome = workflows::AttemptOutcome::Failed("fixture".into());
    let wait = std::time::Duration::from_secs(1);
    workflows::record_attempt(&mut tx, &run, 1, chrono::Utc::now(), &outcome, wait).await.unwrap();
    tx.commit().await.unwrap();
    // A shopper in the group, with an address, a session (and its refresh token) and a code.
    use kassa_domain::customers::{accounts, addresses};
    let email = kassa_domain::types::Email::parse("anna@example.com").unwrap();
    let customer =
        accounts::create_verified(pool, &tenant, &email, "$argon2id$x", ("Anna", "J"), &[group.id])
            .await
            .unwrap();
    let address = serde_json::from_value(
        serde_json::json!({"first_name": "Anna", "last_name": "J", "line1": "Damrak 1",
        "postal_code": "1012", "city": "Amsterdam", "country": "NL"}),
    )
    .unwrap();
    addresses::add(pool, &tenant, customer, &address).await.unwrap();
    accounts::start_session(pool, &tenant, customer, handle.as_bytes(), chrono::Duration::days(1))
        .await
        .unwrap();
    let purpose = accounts::CodePurpose::VerifyEmail;
    accounts::issue_code(pool, &tenant, customer, purpose, b"digest", chrono::Duration::minutes(5))
        .await
        .unwrap();
    // Payment settings: the domain stores whatever ciphertext it is given.
    use kassa_domain::payments::{Sealed, SettingsDraft, settings};
    let draft: SettingsDraft =
        serde_json::from_value(serde_json::json!({"api_key": "test_abcdefghijklmnopqrstuvwxyz0123"}))
            .unwrap();
    let sealed = Sealed { kid: "fixture".into(), nonce: vec![0; 12], ciphertext: vec![7; 51] };
    settings::save(pool, &tenant, &draft.parse().unwrap(), &sealed).await.unwrap();
    // A shipping zone (and so its country rows) with a rate.
    use kassa_domain::shipping::{ShippingRate, ShippingZone};
    let zone =
        serde_json::from_value(serde_json::json!({"name": "Benelux", "countries": ["NL", "BE"]})).unwrap();
    let zone = ShippingZone::create(pool, &tenant, &zone).await.unwrap();
    let rate = serde_json::json!({"zone_id": zone.id, "name": "Standard", "currency": "EUR", "amount": 495});
    ShippingRate::create(pool, &tenant, &serde_json::from_value(rate).unwrap()).await.unwrap();
    // A manual collection holding the product; an issued upload and an image by URL.
    use kassa_domain::collections::{self, Collection, CollectionProducts};
    let collection = serde_json::json!({"handle": "featured", "title": {"en": "Featured"}, "kind": "manual"});
    let collection =
        Collection::create(pool, &tenant, &serde_json::from_value(collection).unwrap()).await.unwrap();
    let products = CollectionProducts { product_ids: vec![product.id] };
    collections::set_products(pool, &tenant, collection.id, &products).await.unwrap();
    use kassa_domain::media;
    let upload = media::UploadRequest { content_type: "image/png".into(), size: 100 };
    media::issue_upload(pool, &tenant, &upload).await.unwrap();
    let image = serde_json::from_value(serde_json::json!({"url": "https://images.example/mug.png"})).unwrap();
    media::attach(pool, &tenant, product.id, &image, |_key: String| async { Ok(None) }).await.unwrap();
    tenant
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn every_tenant_table_has_row_level_security_enabled_forced_and_a_policy(pool: PgPool) {
    let tables = tenant_tables(&pool).await;
    assert!(tables.contains(&"tenants".to_owned()) && tables.contains(&"tenant_domains".to_owned()));
    for table in &tables {
        let (enabled, forced): (bool, bool) = sqlx::query_as(
            "select relrowsecurity, relforcerowsecurity from pg_class where oid = $1::regclass",
        )
        .bind(table)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert!(enabled, "{table}: row level security is not enabled");
        assert!(forced, "{table}: row level security is not forced");
        let policies: i64 = sqlx::query_scalar(
            "select count(*) from pg_policies where tablename = $1 and policyname = 'tenant_isolation'
               and 'kassa_app' = any (roles) and cmd = 'ALL'",
        )
        .bind(table)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(policies, 1, "{table}: no tenant_isolation policy for kassa_app");
    }
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_tenant_sees_none_of_another_tenants_rows_even_without_a_where_clause(pool: PgPool) {
    let a = fill_every_tenant_table(&pool, "tenant-a").await;
    let b = fill_every_tenant_table(&pool, "tenant-b").await;

    for table in tenant_tables(&pool).await {
        let column = tenant_column(&table);
        // The pool is a superuser, which bypasses RLS: the rows really are there.
        let stored: i64 = sqlx::query_scalar(&format!("select count(*) from {table} where {column} = $1"))
            .bind(a.id)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert!(stored > 0, "{table}: the fixture wrote no row for tenant A; extend fill_every_tenant_table");

        let mut tx = begin_tenant_tx(&pool, b.id).await.unwrap();
        let rows: Vec<sqlx::types::Uuid> =
            sqlx::query_scalar(&format!("select {column} from {table}")).fetch_all(&mut *tx).await.unwrap();
        assert!(!rows.is_empty(), "{table}: tenant B does not see its own rows");
        assert!(rows.iter().all(|id| *id == b.id.as_uuid()), "{table}: tenant B sees another tenant's rows");
        tx.rollback().await.unwrap();
        // And the storefront's one-round-trip reads, which set their scope in the message
        // that executes the statement.
        let rows: Vec<(sqlx::types::Uuid,)> = begin_read(&pool, b.id, Plans::Generic)
            .await
            .unwrap()
            .fetch_all(&ReadQuery::new(format!("select {column} from {table}")))
            .await
            .unwrap();
        assert!(!rows.is_empty(), "{table}: tenant B does not see its own rows (TenantRead)");
        assert!(
            rows.iter().all(|(id,)| *id == b.id.as_uuid()),
            "{table}: tenant B sees another tenant's rows (TenantRead)"
        );
    }
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_tenant_read_is_the_application_role_writes_nothing_and_leaves_the_connection_clean(pool: PgPool) {
    let a = fill_every_tenant_table(&pool, "tenant-a").await;
    let pool = one_connection(&pool).await;
    let mut read = begin_read(&pool, a.id, Plans::Generic).await.unwrap();
    let scope = ReadQuery::new(
        "select current_user::text, current_setting('app.tenant_id'), current_setting('plan_cache_mode')",
    );
    let (user, tenant, plans): (String, String, String) = read.fetch_one(&scope).await.unwrap();
    assert_eq!(
        (user.as_str(), tenant, plans.as_str()),
        ("kassa_app", a.id.to_string(), "force_generic_plan")
    );
    read.plan(Plans::ForValues);
    let (_, _, plans): (String, String, String) = read.fetch_one(&scope).await.unwrap();
    assert_eq!(plans, "auto");
    let write = read
        .fetch_all::<(i64,)>(&ReadQuery::new(
            "with u as (update products set handle = handle || '-x' returning 1) select count(*) from u",
        ))
        .await;
    assert!(write.unwrap_err().to_string().contains("read-only"), "a read cannot write");
    drop(read);
    assert_clean(&pool).await;
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_read_carries_any_text_as_data_and_prepares_each_statement_once_per_connection(pool: PgPool) {
    let a = fill_every_tenant_table(&pool, "tenant-a").await;
    let pool = one_connection(&pool).await;
    let hostile = [
        "it's",
        r"back\slash\",
        r"\'; drop table products; --",
        "$1 $$ $q$ ?",
        "e'x'",
        "ünï \u{1F600} \t\n",
        "",
    ];
    let mut read = begin_read(&pool, a.id, Plans::Generic).await.unwrap();
    for text in hostile {
        let mut q = ReadQuery::new("select ");
        q.push_bind(text).push(", ").push_bind(vec![text.to_owned(), "x".to_owned()]).push(", ");
        q.push_bind(None::<String>)
            .push(", ")
            .push_bind(-7_i64)
            .push(", ")
            .push_bind(serde_json::json!({"k": text}));
        let (same, array, none, number, json): (String, Vec<String>, Option<String>, i64, serde_json::Value) =
            read.fetch_one(&q).await.unwrap();
        assert_eq!(
            (same.as_str(), array, none, number),
            (text, vec![text.to_owned(), "x".to_owned()], None, -7)
        );
        assert_eq!(json, serde_json::json!({"k": text}));
    }
    // Two statements in one message: the first time each is prepared, then both run at once.
    let mut evens = ReadQuery::new("select n from generate_series(0, ");
    evens.push_bind(6_i64).push(", 2) n");
    let mut words = ReadQuery::new("select w from unnest(");
    words.push_bind(vec!["a".to_owned(), "b".to_owned()]).push(") w");
    for _ in 0..2 {
        let (n, w): (Vec<(i64,)>, Vec<(String,)>) = read.fetch_pair(&evens, &words).await.unwrap();
        assert_eq!(n, [(0,), (2,), (4,), (6,)]);
        assert_eq!(w, [("a".to_owned(),), ("b".to_owned(),)]);
    }
    let mut nul = ReadQuery::new("select ");
    nul.push_bind("a\0b");
    assert!(read.fetch_all::<(String,)>(&nul).await.is_err(), "NUL cannot be sent");
    drop(read);
    // Seven texts, one statement: prepared once on the pool's one connection (beside the
    // pair's two).
    let mut conn = pool.acquire().await.unwrap();
    let prepared: Vec<String> = sqlx::query_scalar(
        "select statement from pg_prepared_statements where from_sql and statement like '%select $1, $2%'",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert_eq!(prepared.len(), 1, "{prepared:?}");
    let all: i64 = sqlx::query_scalar("select count(*) from pg_prepared_statements where from_sql")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(all, 3);
    assert!(prepared[0].contains("select $1, $2, $3, $4, $5"), "{prepared:?}");
    drop(conn);

    // Prepared statements are bounded per connection: past the limit they are dropped and
    // prepared again as used.
    let mut read = begin_read(&pool, a.id, Plans::Generic).await.unwrap();
    for n in 0..300 {
        let (echo,): (i64,) = read.fetch_one(&ReadQuery::new(format!("select {n}::int8"))).await.unwrap();
        assert_eq!(echo, n);
    }
    drop(read);
    let mut conn = pool.acquire().await.unwrap();
    let count: i64 = sqlx::query_scalar("select count(*) from pg_prepared_statements where from_sql")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert!((1..=256).contains(&count), "{count} statements prepared");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_read_prepares_its_statement_again_when_a_migration_changed_what_it_reads(pool: PgPool) {
    let a = fill_every_tenant_table(&pool, "tenant-a").await;
    let one = one_connection(&pool).await;
    sqlx::raw_sql("create view read_probe as select 7::int8 as x; grant select on read_probe to kassa_app")
        .execute(&pool)
        .await
        .unwrap();
    let probe = ReadQuery::new("select x::text from read_probe");
    let (x,): (String,) =
        begin_read(&one, a.id, Plans::Generic).await.unwrap().fetch_one(&probe).await.unwrap();
    assert_eq!(x, "7");
    // The statement prepared on `one` now plans to a different result type: Postgres refuses to
    // run it as prepared ("cached plan must not change result type").
    let star = ReadQuery::new("select * from read_probe");
    let (n,): (i64,) = begin_read(&one, a.id, Plans::Generic).await.unwrap().fetch_one(&star).await.unwrap();
    assert_eq!(n, 7);
    sqlx::raw_sql(
        "drop view read_probe; create view read_probe as select 'seven'::text as x; grant select on read_probe to kassa_app",
    )
    .execute(&pool)
    .await
    .unwrap();
    let (word,): (String,) =
        begin_read(&one, a.id, Plans::Generic).await.unwrap().fetch_one(&star).await.unwrap();
    assert_eq!(word, "seven");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_read_that_recalls_sends_ahead_what_the_last_one_ran_and_never_answers_from_a_wrong_guess(
    pool: PgPool,
) {
    let a = fill_every_tenant_table(&pool, "tenant-a").await;
    let b = fill_every_tenant_table(&pool, "tenant-b").await;
    let one = one_connection(&pool).await;
    // A read whose second statement depends on the first's rows, as a page's grids depend on
    // its document; the second is planned for its values, the first generically.
    async fn read(pool: &PgPool, tenant: TenantId, factor: i64) -> (i64, i64, String, usize) {
        let mut read = begin_read(pool, tenant, Plans::Generic).await.unwrap();
        read.recall("k");
        let mut first = ReadQuery::new("select count(*) from products where ");
        first.push_bind(factor).push(" > 0");
        let (count,): (i64,) = read.fetch_one(&first).await.unwrap();
        read.plan(Plans::ForValues);
        let second = ReadQuery::new(
            "select $1::int8 * (select count(*) from products where handle like '%-new'),
                    current_setting('app.tenant_id') || ' ' || current_setting('plan_cache_mode')",
        )
        .bind(count * factor);
        let (renamed, scope): (i64, String) = read.fetch_one(&second).await.unwrap();
        // What it ran after its first message is what the next read under "k" sends ahead.
        (count, renamed, scope, read.round_trips())
    }
    let rename = |tenant: TenantId| {
        sqlx::query("update products set handle = handle || '-new' where tenant_id = $1")
            .bind(tenant)
            .execute(&pool)
    };
    rename(a.id).await.unwrap();
    let a_scope = format!("{} auto", a.id);
    let (count, renamed, scope, trips) = read(&one, a.id, 1).await;
    assert!(count > 0);
    assert_eq!((renamed, scope.as_str()), (count * count, a_scope.as_str()));
    assert!(trips >= 2, "the first read cannot know its second statement ({trips})");
    // The same read again: both statements in one message, each in its own plan mode.
    assert_eq!(read(&one, a.id, 1).await, (count, count * count, a_scope.clone(), 1));
    // A wrong guess (the first statement now leads to another second one): the right rows, in
    // one more round trip.
    assert_eq!(read(&one, a.id, 3).await, (count, 3 * count * count, a_scope.clone(), 2));
    // Rows written since are read, not remembered: a guess runs with the first statement.
    sqlx::query("update products set handle = 'old' || id where tenant_id = $1")
        .bind(a.id)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(read(&one, a.id, 3).await, (count, 0, a_scope, 1));
    // Another shop under the same key guesses nothing from this one's reads, though its
    // statements are the very same (neither names the shop; the same fixture, the same count).
    rename(b.id).await.unwrap();
    let (count_b, renamed, scope, trips) = read(&one, b.id, 3).await;
    assert_eq!(count_b, count);
    assert_eq!((renamed, scope, trips), (3 * count * count, format!("{} auto", b.id), 2));
    // On a connection that has prepared none of them, the first message and its guesses are
    // prepared together in one more message — a statement guessed twice prepared once.
    let mut echo = ReadQuery::new("select 1 + ");
    echo.push_bind(4_i64);
    for (pool, trips) in [(&one, None), (&one_connection(&pool).await, Some(2))] {
        let mut read = begin_read(pool, a.id, Plans::Generic).await.unwrap();
        read.recall("twice");
        assert_eq!(read.fetch_one::<(i64,)>(&ReadQuery::new("select 0::int8")).await.unwrap(), (0,));
        for _ in 0..2 {
            assert_eq!(read.fetch_one::<(i64,)>(&echo).await.unwrap(), (5,));
        }
        if let Some(trips) = trips {
            assert_eq!(read.round_trips(), trips, "refused unprepared, then prepared and run");
        }
    }
    // A statement sent ahead that fails now (its view is gone) does not fail the read.
    sqlx::raw_sql(
        "create view recall_probe as select 7::int8 as x; grant select on recall_probe to kassa_app",
    )
    .execute(&pool)
    .await
    .unwrap();
    let probe = ReadQuery::new("select x from recall_probe");
    let mut first = begin_read(&one, a.id, Plans::Generic).await.unwrap();
    first.recall("probe");
    let _: (String,) = first.fetch_one(&ReadQuery::new("select 'a'")).await.unwrap();
    assert_eq!(first.fetch_one::<(i64,)>(&probe).await.unwrap(), (7,));
    drop(first);
    sqlx::raw_sql("drop view recall_probe").execute(&pool).await.unwrap();
    let mut second = begin_read(&one, a.id, Plans::Generic).await.unwrap();
    second.recall("probe");
    assert_eq!(
        second.fetch_one::<(String,)>(&ReadQuery::new("select 'a'")).await.unwrap(),
        ("a".to_owned(),)
    );
    assert_eq!(second.round_trips(), 2, "sent again without the guess that failed");
    drop(second);
    assert_clean(&one).await;
}

/// A pool of one connection to the same database, so that what one read leaves on its
/// connection is what the next one finds.
async fn one_connection(pool: &PgPool) -> PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with((*pool.connect_options()).clone())
        .await
        .unwrap()
}

/// A pooled connection after a tenant transaction: back to the login role, no tenant, and
/// outside any transaction (it writes again, which a read-only one would refuse).
async fn assert_clean(pool: &PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let (user, tenant): (String, Option<String>) =
        sqlx::query_as("select current_user::text, nullif(current_setting('app.tenant_id', true), '')")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(user, "postgres");
    assert_eq!(tenant, None);
    sqlx::query("create temporary table after_the_transaction (x int)").execute(&mut *conn).await.unwrap();
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_tenant_transaction_runs_as_the_application_role_without_bypass(pool: PgPool) {
    let a = fill_every_tenant_table(&pool, "tenant-a").await;
    let mut tx = begin_tenant_tx(&pool, a.id).await.unwrap();
    let (user, superuser, bypass): (String, bool, bool) = sqlx::query_as(
        "select current_user::text, rolsuper, rolbypassrls from pg_roles where rolname = current_user",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(user, "kassa_app");
    assert!(!superuser && !bypass);
    tx.commit().await.unwrap();

    // The role and tenant end with the transaction: the pooled connection is clean again.
    assert_clean(&pool).await;
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_tenant_cannot_write_rows_for_another_tenant(pool: PgPool) {
    let a = fill_every_tenant_table(&pool, "tenant-a").await;
    let b = fill_every_tenant_table(&pool, "tenant-b").await;
    let mut tx = begin_tenant_tx(&pool, b.id).await.unwrap();
    let err = sqlx::query("insert into tenant_domains (hostname, tenant_id) values ('sneaky.example', $1)")
        .bind(a.id)
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("row-level security"), "{err}");
    tx.rollback().await.unwrap();

    let mut tx = begin_tenant_tx(&pool, b.id).await.unwrap();
    let renamed = sqlx::query("update tenants set name = 'taken over'").execute(&mut *tx).await.unwrap();
    assert_eq!(renamed.rows_affected(), 1, "only B's own tenant row is reachable");
    tx.commit().await.unwrap();
    let a_now = tenant::resolve(&pool, &TenantKey::Id(a.id)).await.unwrap().unwrap();
    assert_eq!(a_now.name, "tenant-a");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn the_application_role_without_a_tenant_sees_nothing(pool: PgPool) {
    fill_every_tenant_table(&pool, "tenant-a").await;
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("set local role kassa_app").execute(&mut *tx).await.unwrap();
    for table in tenant_tables(&pool).await {
        let count: i64 =
            sqlx::query_scalar(&format!("select count(*) from {table}")).fetch_one(&mut *tx).await.unwrap();
        assert_eq!(count, 0, "{table} is visible without a tenant");
    }
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn tenants_resolve_across_tenants_only_through_the_resolver_function(pool: PgPool) {
    let a = fill_every_tenant_table(&pool, "tenant-a").await;
    let b = fill_every_tenant_table(&pool, "tenant-b").await;
    // From inside B's scope the resolver still finds A (that is its job) …
    let mut tx = begin_tenant_tx(&pool, b.id).await.unwrap();
    let found: Option<String> = sqlx::query_scalar("select handle from kassa_resolve_tenant(null, null, $1)")
        .bind("TENANT-A.example")
        .fetch_optional(&mut *tx)
        .await
        .unwrap();
    assert_eq!(found.as_deref(), Some("tenant-a"));
    // … while the table itself still shows B only.
    let visible: Vec<String> =
        sqlx::query_scalar("select handle from tenants").fetch_all(&mut *tx).await.unwrap();
    assert_eq!(visible, vec!["tenant-b".to_owned()]);
    tx.rollback().await.unwrap();

    for key in [
        TenantKey::Id(a.id),
        TenantKey::Handle("tenant-a".into()),
        TenantKey::Hostname(tenant::Hostname::parse("tenant-a.example").unwrap()),
    ] {
        assert_eq!(tenant::resolve(&pool, &key).await.unwrap().map(|t| t.id), Some(a.id), "{key:?}");
    }
    assert_eq!(tenant::resolve(&pool, &TenantKey::Handle("nobody".into())).await.unwrap(), None);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn handles_and_domains_are_unique_across_tenants(pool: PgPool) {
    fill_every_tenant_table(&pool, "tenant-a").await;
    let same_handle = NewTenant::parse(&TenantDraft::new("tenant-a", "x")).unwrap();
    let err = tenant::create(&pool, &same_handle).await.unwrap_err();
    assert!(
        matches!(err, kassa_domain::DomainError::Conflict { code: kassa_domain::ErrorCode::HandleTaken, .. }),
        "{err:?}"
    );

    let same_domain = NewTenant::parse(&TenantDraft {
        domains: vec!["tenant-a.example".into()],
        ..TenantDraft::new("tenant-c", "x")
    })
    .unwrap();
    let err = tenant::create(&pool, &same_domain).await.unwrap_err();
    assert!(
        matches!(err, kassa_domain::DomainError::Conflict { code: kassa_domain::ErrorCode::DomainTaken, .. }),
        "{err:?}"
    );
    // All or nothing: the failed tenant was not half-created.
    assert_eq!(tenant::resolve(&pool, &TenantKey::Handle("tenant-c".into())).await.unwrap(), None);
}

#[test]
fn a_new_tenant_reports_every_invalid_field_at_once() {
    let draft = TenantDraft {
        handle: "Bad Handle".into(),
        name: "".into(),
        default_locale: "english".into(),
        locales: vec!["nl".into(), "x_y".into()],
        default_currency: "EURO".into(),
        domains: vec!["-bad-.com".into()],
        zitadel_org_id: Some("org id with spaces".into()),
    };
    let err = NewTenant::parse(&draft).unwrap_err();
    let kassa_domain::DomainError::Validation(violations) = err else { panic!("{err:?}") };
    let pointers: Vec<&str> = violations.as_slice().iter().map(|v| v.pointer.as_str()).collect();
    assert_eq!(
        pointers,
        [
            "/handle",
            "/name",
            "/default_locale",
            "/locales/1",
            "/default_currency",
            "/domains/0",
            "/zitadel_org_id"
        ]
    );
}

#[test]
fn a_handle_that_reads_as_a_tenant_id_is_refused() {
    assert!(tenant::TenantHandle::parse("01a21415-2aeb-7023-95b1-b6810d9fa8df").is_err());
    assert!(tenant::TenantHandle::parse("my-shop-2").is_ok());
}

/// Storefront reads of a plain list or a product page use one generic plan per statement
/// and connection (`Plans::Generic`), made for whichever shop came first. On a single
/// connection every later read reuses it, and each shop still sees only its own rows: the
/// policies read the tenant when the plan runs. A search is planned for its values.
#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_generic_plan_made_for_one_shop_shows_every_other_shop_only_its_own_rows(pool: PgPool) {
    use kassa_domain::storefront::{self, Audience, ShopQuery, ShopSort};

    let a = fill_every_tenant_table(&pool, "tenant-a").await;
    let b = fill_every_tenant_table(&pool, "tenant-b").await;
    let extra: products::ProductDraft = serde_json::from_value(
        serde_json::json!({"handle": "plate", "title": {"en": "Plate"}, "status": "active"}),
    )
    .unwrap();
    products::create(&pool, &a, &extra).await.unwrap();
    let one = one_connection(&pool).await;
    let audience = Audience {
        locale: "en".into(),
        currency: "EUR".into(),
        groups: Vec::new(),
        at: chrono::Utc::now(),
        media_base_url: String::new(),
    };
    let browse = ShopQuery::first(10, ShopSort::Newest);
    let search = ShopQuery { q: Some("a".into()), ..browse.clone() };
    for _ in 0..4 {
        for shop in [&b, &a] {
            let mut own: Vec<String> = sqlx::query_scalar(
                "select handle from products where tenant_id = $1 and status = 'active' order by handle",
            )
            .bind(shop.id)
            .fetch_all(&pool)
            .await
            .unwrap();
            own.sort();
            for query in [&browse, &search] {
                let page = storefront::list(&one, shop, &audience, query).await.unwrap();
                let mut seen: Vec<String> = page.items.into_iter().map(|p| p.handle).collect();
                seen.sort();
                let wanted: Vec<String> =
                    own.iter().filter(|h| query.q.is_none() || h.contains('a')).cloned().collect();
                assert_eq!(seen, wanted, "{}: {:?}", shop.handle, query.q);
            }
            let mug = storefront::product(&one, shop, &audience, "mug").await.unwrap();
            let stored: sqlx::types::Uuid =
                sqlx::query_scalar("select id from products where tenant_id = $1 and handle = 'mug'")
                    .bind(shop.id)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            assert_eq!(mug.id, stored, "{}'s product page shows its own mug", shop.handle);
        }
    }
    let plate = storefront::product(&one, &b, &audience, "plate").await;
    assert!(matches!(plate, Err(kassa_domain::DomainError::NotFound { .. })), "B has no plate: {plate:?}");

    // The connection's prepared statements (`PREPARE k… as select …`): the plain list and the
    // product page ran on their generic plans every time, the search on plans for its values.
    let plans: Vec<(String, i64, i64)> = sqlx::query_as(
        "select statement, generic_plans, custom_plans from pg_prepared_statements
         where from_sql and statement like '%prepare k% as select p.id, p.handle,%'",
    )
    .fetch_all(&one)
    .await
    .unwrap();
    let counts = |what: &str, is: &dyn Fn(&str) -> bool| {
        let (_, generic, custom) = plans
            .iter()
            .find(|(s, _, _)| is(s))
            .unwrap_or_else(|| panic!("no statement for {what}: {plans:?}"));
        (*generic, *custom)
    };
    let plain =
        counts("the plain list", &|s| s.contains("order by p.created_at desc") && !s.contains("ilike"));
    assert_eq!(plain, (8, 0), "the plain list: its generic plan, 8 times");
    assert_eq!(counts("the product page", &|s| s.contains("p.handle = $")), (9, 0), "the product page");
    // Postgres's `auto` plans the first five executions for their values, then may settle.
    let (_, search_custom) = counts("the search", &|s| s.contains("ilike"));
    assert!(search_custom >= 5, "the search is planned for its values ({search_custom} custom plans)");
}
