//! The platform serves as `kassa_service`, not as a superuser: row-level security does not
//! rest on one `SET ROLE` per transaction, because the login itself can read no tenant row.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use kassa_domain::db::{SERVICE_ROLE, begin_tenant_tx, check_service_login};
use kassa_domain::tenant::{self, NewTenant, TenantDraft};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

fn service(owner: &PgPool) -> PgPool {
    let options = (*owner.connect_options()).clone().username(SERVICE_ROLE);
    PgPoolOptions::new().max_connections(2).connect_lazy_with(options)
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn the_serving_login_is_no_superuser_bypasses_nothing_owns_nothing_and_reads_no_tenant_row_alone(
    owner: PgPool,
) {
    let service = service(&owner);
    let (user, superuser, bypass, inherits): (String, bool, bool, bool) = sqlx::query_as(
        "select current_user::text, rolsuper, rolbypassrls, rolinherit from pg_roles where rolname = current_user",
    )
    .fetch_one(&service)
    .await
    .unwrap();
    assert_eq!((user.as_str(), superuser, bypass, inherits), (SERVICE_ROLE, false, false, false));
    let owned: i64 = sqlx::query_scalar(
        "select count(*) from pg_class c join pg_roles r on r.oid = c.relowner where r.rolname = $1",
    )
    .bind(SERVICE_ROLE)
    .fetch_one(&owner)
    .await
    .unwrap();
    assert_eq!(owned, 0, "the service role owns no relation");
    check_service_login(&service).await.unwrap();
    assert!(check_service_login(&owner).await.is_err(), "a superuser login is refused for serving");

    // Shops created through the service login (tenant transactions).
    let demo = tenant::create(&service, &NewTenant::parse(&TenantDraft::new("demo", "Demo")).unwrap())
        .await
        .unwrap();
    tenant::create(&service, &NewTenant::parse(&TenantDraft::new("other", "Other")).unwrap()).await.unwrap();

    // Outside a tenant transaction the login reads no tenant table at all.
    for table in ["tenants", "products", "orders", "outbox", "workflows"] {
        let err = sqlx::query_scalar::<_, i64>(&format!("select count(*) from {table}"))
            .fetch_one(&service)
            .await
            .unwrap_err();
        let code = err.as_database_error().and_then(|e| e.code()).map(|c| c.into_owned());
        assert_eq!(code.as_deref(), Some("42501"), "{table}: {err}");
    }
    // Inside one, exactly its own tenant.
    let mut tx = begin_tenant_tx(&service, demo.id).await.unwrap();
    let seen: Vec<String> =
        sqlx::query_scalar("select handle from tenants").fetch_all(&mut *tx).await.unwrap();
    assert_eq!(seen, ["demo"]);
    tx.commit().await.unwrap();
    // Tenants are found through the security-definer resolver.
    let found = tenant::resolve(&service, &tenant::TenantKey::Handle("other".into())).await.unwrap();
    assert_eq!(found.unwrap().handle, "other");
}

/// Kassa's Postgres client speaks TLS (RDS Proxy requires it in the template): with
/// `sslmode=require` the server reports the session encrypted. The local server has TLS on
/// (Debian's default certificate); where it has not, the test says so and fails.
#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn the_service_connects_over_tls_when_asked(owner: PgPool) {
    let on: String = sqlx::query_scalar("show ssl").fetch_one(&owner).await.unwrap();
    assert_eq!(on, "on", "this Postgres serves no TLS: the test needs ssl = on");
    let options = (*owner.connect_options())
        .clone()
        .username(SERVICE_ROLE)
        .ssl_mode(sqlx::postgres::PgSslMode::Require);
    let service = PgPoolOptions::new().max_connections(1).connect_with(options).await.unwrap();
    let encrypted: bool = sqlx::query_scalar("select ssl from pg_stat_ssl where pid = pg_backend_pid()")
        .fetch_one(&service)
        .await
        .unwrap();
    assert!(encrypted);
}
