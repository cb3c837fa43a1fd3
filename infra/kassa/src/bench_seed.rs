//! The `bench` tenant for `make bench`: many active products with three variants each,
//! written in bulk statements (a benchmark fixture: no outbox events), plus a customer group
//! with a price list over every variant, and the demo's home page.

use kassa_domain::DomainError;
use kassa_domain::db::begin_tenant_tx;
use kassa_domain::tenant::{self, NewTenant, Tenant, TenantDraft, TenantKey};
use sqlx::PgPool;

pub const BENCH_HANDLE: &str = "bench";
const BATCH: i64 = 1_000;

/// Creates the bench shop `handle` (normally [`BENCH_HANDLE`]) with `products` products
/// (unless it has them already), calling `progress(done, total)` after every batch.
pub async fn seed_bench(
    pool: &PgPool,
    handle: &str,
    products: i64,
    progress: impl Fn(i64, i64),
) -> Result<Tenant, DomainError> {
    let key = TenantKey::Handle(handle.to_owned());
    let tenant = match tenant::resolve(pool, &key).await? {
        Some(tenant) => tenant,
        None => {
            let draft = TenantDraft {
                locales: vec!["nl".to_owned()],
                domains: vec![format!("{handle}.localhost")],
                ..TenantDraft::new(handle, "Bench Shop")
            };
            tenant::create(pool, &NewTenant::parse(&draft)?).await?
        }
    };
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let existing: i64 = sqlx::query_scalar("select count(*) from products where tenant_id = $1")
        .bind(tenant.id)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    let mut done = existing;
    while done < products {
        let to = (done + BATCH).min(products);
        let mut tx = begin_tenant_tx(pool, tenant.id).await?;
        sqlx::query(
            "insert into products (id, tenant_id, handle, title, description, status, first_activated_at, created_at)
             select gen_random_uuid(), $1, 'product-' || n,
                    jsonb_build_object(
                      'en', (array['Linen','Stoneware','Oak','Wool','Canvas','Cotton','Copper','Glass'])[1 + n % 8] || ' '
                            || (array['apron','mug','board','throw','tote','towel','lamp','vase','bowl','cushion'])[1 + n % 10]
                            || ' ' || n,
                      'nl', (array['Linnen','Steengoed','Eiken','Wollen','Canvas','Katoenen','Koperen','Glazen'])[1 + n % 8] || ' '
                            || (array['schort','mok','plank','plaid','tas','doek','lamp','vaas','kom','kussen'])[1 + n % 10]
                            || ' ' || n),
                    jsonb_build_object('en', 'Bench product ' || n || '.', 'nl', 'Benchproduct ' || n || '.'),
                    'active', now(), now() - make_interval(secs => n)
             from generate_series($2::bigint, $3::bigint) n",
        )
        .bind(tenant.id)
        .bind(done + 1)
        .bind(to)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "insert into product_variants (id, tenant_id, product_id, sku, price_amount, currency, stock, attributes, position)
             select gen_random_uuid(), p.tenant_id, p.id, upper(p.handle) || '-' || s,
                    900 + (n % 40) * 100 + s * 250, 'EUR', case when (n + s) % 11 = 0 then 0 else (n * 7 + s) % 30 end,
                    jsonb_build_object('color', (array['red','blue','green','black','white'])[1 + (n + s) % 5],
                                       'size', (array['S','M','L'])[s], 'material', (array['linen','oak','wool','glass'])[1 + n % 4]),
                    s - 1
             from generate_series($2::bigint, $3::bigint) n
             join products p on p.tenant_id = $1 and p.handle = 'product-' || n
             cross join generate_series(1, 3) s",
        )
        .bind(tenant.id)
        .bind(done + 1)
        .bind(to)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        done = to;
        progress(done, products);
    }
    seed_price_list(pool, &tenant).await?;
    seed_shoppers(pool, &tenant).await?;
    // The storefront page rows read its home page (a hero and two product grids).
    crate::seed::seed_pages(pool, &tenant, &mut crate::seed::SeedReport::default()).await?;
    // Fresh statistics, as a live database has them (autovacuum would get there later).
    sqlx::query("analyze products, product_variants, product_prices, price_list_prices, price_lists")
        .execute(pool)
        .await?;
    Ok(tenant)
}

/// The bench shop's shoppers: `shopper-<n>@bench.test` (n = 0..SHOPPERS), every even one in
/// `wholesale`, all with [`SHOPPER_PASSWORD`]; existing ones are kept.
pub const SHOPPERS: usize = 32;
pub const SHOPPER_PASSWORD: &str = "bench-shopper-pass";

async fn seed_shoppers(pool: &PgPool, tenant: &Tenant) -> Result<(), DomainError> {
    use kassa_domain::customers::{accounts, passwords};
    let wholesale: Option<uuid::Uuid> = kassa_domain::resource::find::<kassa_domain::pricing::CustomerGroup>(
        pool,
        tenant,
        "handle",
        "wholesale",
    )
    .await?
    .map(|g| g.id);
    let hash = passwords::hash(SHOPPER_PASSWORD).map_err(DomainError::Unexpected)?;
    for n in 0..SHOPPERS {
        let email = kassa_domain::types::Email::parse(&format!("shopper-{n}@bench.test"))
            .map_err(|v| DomainError::Unexpected(v.message))?;
        let groups: Vec<uuid::Uuid> = wholesale.filter(|_| n % 2 == 0).into_iter().collect();
        accounts::create_verified(pool, tenant, &email, &hash, ("Bench", "Shopper"), &groups).await?;
    }
    Ok(())
}

/// Customer group `wholesale` with one price list: 15 % off every variant.
async fn seed_price_list(pool: &PgPool, tenant: &Tenant) -> Result<(), DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    sqlx::query(
        "insert into customer_groups (id, tenant_id, handle, name) values (gen_random_uuid(), $1, 'wholesale', 'Wholesale')
         on conflict do nothing",
    )
    .bind(tenant.id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "insert into price_lists (id, tenant_id, name, customer_group_id, currency, priority)
         select gen_random_uuid(), $1, 'Bench wholesale', g.id, 'EUR', 1 from customer_groups g
         where g.tenant_id = $1 and g.handle = 'wholesale'
           and not exists (select 1 from price_lists l where l.tenant_id = $1 and l.name = 'Bench wholesale')",
    )
    .bind(tenant.id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "insert into price_list_prices (tenant_id, price_list_id, variant_id, min_quantity, amount)
         select $1, l.id, v.id, 1, v.price_amount * 85 / 100
         from price_lists l join product_variants v on v.tenant_id = l.tenant_id
         where l.tenant_id = $1 and l.name = 'Bench wholesale'
         on conflict do nothing",
    )
    .bind(tenant.id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
