//! The shop's payment settings against the Mollie simulator: the key is checked with Mollie,
//! stored only encrypted (under the shop's id) and never shown again.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use http::{Method, StatusCode};
use kassa_domain::payments::Sealed;
use kassa_domain::tenant::Tenant;
use kassa_runtime::config::{Config, SecretKey};
use kassa_runtime::secrets::{Keyring, SecretsError, payment_api_key};
use kassa_testkit::issuer::Issuer;
use kassa_testkit::mollie::MollieSim;
use kassa_testkit::{TestApp, TestResponse, problem_errors};
use serde_json::{Value, json};
use sqlx::PgPool;

const URI: &str = "/management/payment-settings";

struct Shops {
    app: TestApp,
    issuer: Issuer,
    demo: Tenant,
    other: Tenant,
}

fn keys(keys: &[(&str, u8)]) -> Vec<(String, SecretKey)> {
    keys.iter().map(|(kid, byte)| ((*kid).to_owned(), SecretKey::from_bytes([*byte; 32]))).collect()
}

/// The checkout function talking to `sim`, its keys encrypted under `kek`.
async fn shops(pool: PgPool, sim: &MollieSim, kek: &[(&str, u8)]) -> Shops {
    let issuer = Issuer::start().await;
    let config =
        Config { mollie_api_url: sim.url(), payment_key_encryption_keys: keys(kek), ..issuer.config() };
    let app = TestApp::with_config(pool, config, kassa_checkout::router);
    let demo = app.tenant("demo").await;
    let other = app.tenant("other").await;
    Shops { app, issuer, demo, other }
}

impl Shops {
    async fn put(&self, tenant: &Tenant, role: &str, body: &Value) -> TestResponse {
        self.app.staff(&self.issuer, tenant, role).call(Method::PUT, URI, Some(body), &[]).await
    }

    async fn get(&self, tenant: &Tenant, role: &str) -> TestResponse {
        self.app.staff(&self.issuer, tenant, role).get(URI).await
    }

    async fn stored(&self, tenant: &Tenant) -> Sealed {
        let (kid, nonce, ciphertext): (String, Vec<u8>, Vec<u8>) = sqlx::query_as(
            "select api_key_kid, api_key_nonce, api_key_ciphertext from payment_settings where tenant_id = $1",
        )
        .bind(tenant.id)
        .fetch_one(&self.app.owner)
        .await
        .unwrap();
        Sealed { kid, nonce, ciphertext }
    }

    async fn rows(&self) -> i64 {
        sqlx::query_scalar("select count(*) from payment_settings").fetch_one(&self.app.owner).await.unwrap()
    }
}

async fn registered_key(sim: &MollieSim) -> String {
    let key = MollieSim::new_test_key();
    sim.add_key(&key).await;
    key
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_key_mollie_accepts_is_saved_encrypted_and_never_shown_again(pool: PgPool) {
    let sim = MollieSim::start();
    let shops = shops(pool, &sim, &[("k1", 1)]).await;
    let key = registered_key(&sim).await;
    let saved = shops
        .put(&shops.demo, "admin", &json!({"api_key": key, "methods": ["ideal", "creditcard", "ideal"]}))
        .await;
    assert!(!String::from_utf8_lossy(&saved.body).contains(&key), "the answer holds the key");
    let saved = saved.expect(StatusCode::OK);
    assert_eq!(saved["mode"], "test");
    assert_eq!(saved["api_key_last4"], key[key.len() - 4..]);
    assert_eq!(saved["methods"], json!(["creditcard", "ideal"]));
    assert_eq!((saved["provider"].as_str(), saved["version"].as_i64()), (Some("mollie"), Some(1)));
    assert_eq!(saved.get("api_key"), None);

    let read = shops.get(&shops.demo, "viewer").await;
    assert!(!String::from_utf8_lossy(&read.body).contains(&key[5..]));
    assert_eq!(read.expect(StatusCode::OK), saved);

    let events = shops.app.outbox(&shops.demo).await;
    let (event_type, id, payload) = events.last().unwrap();
    assert_eq!(
        (event_type.as_str(), id.to_string()),
        ("payment_settings.updated", saved["id"].as_str().unwrap().to_owned())
    );
    assert_eq!(payload["data"]["api_key_last4"], saved["api_key_last4"]);
    for (_, _, payload) in &events {
        assert!(!payload.to_string().contains(&key[5..]), "an event holds the key: {payload}");
    }

    // At rest: ciphertext under the current kid that opens only under this shop's id.
    let sealed = shops.stored(&shops.demo).await;
    assert_eq!((sealed.kid.as_str(), sealed.nonce.len()), ("k1", 12));
    assert!(
        !sealed.ciphertext.windows(10).any(|w| w == &key.as_bytes()[5..15]),
        "the key is stored in clear"
    );
    let keyring = Keyring::new(&keys(&[("k1", 1)])).unwrap();
    assert_eq!(keyring.open_api_key(shops.demo.id, &sealed).unwrap().expose(), key);
    assert!(matches!(keyring.open_api_key(shops.other.id, &sealed), Err(SecretsError::Open)));
    let opened = payment_api_key(&shops.app.state.db, &keyring, &shops.demo).await.unwrap().unwrap();
    assert_eq!(opened.expose(), key);
    assert!(payment_api_key(&shops.app.state.db, &keyring, &shops.other).await.unwrap().is_none());

    // Saving again replaces the settings, with a fresh nonce.
    let again =
        shops.put(&shops.demo, "owner", &json!({"api_key": key, "profile_id": "pfl_QkEhN94Ba"})).await;
    let again = again.expect(StatusCode::OK);
    assert_eq!((again["version"].as_i64(), again["profile_id"].as_str()), (Some(2), Some("pfl_QkEhN94Ba")));
    assert_eq!(again["methods"], json!([]));
    assert_ne!(shops.stored(&shops.demo).await.nonce, sealed.nonce);
    assert_eq!(shops.rows().await, 1);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_key_mollie_refuses_is_422_and_a_malformed_one_never_reaches_mollie(pool: PgPool) {
    let sim = MollieSim::start();
    let shops = shops(pool, &sim, &[("k1", 1)]).await;
    let unknown = MollieSim::new_test_key();
    let refused = shops.put(&shops.demo, "admin", &json!({"api_key": unknown})).await;
    assert!(!String::from_utf8_lossy(&refused.body).contains(&unknown[5..]), "the problem repeats the key");
    let problem = refused.problem(StatusCode::UNPROCESSABLE_ENTITY, "payment_key_rejected");
    assert_eq!(problem_errors(&problem, "pointer"), ["/api_key"]);

    // A fault waits at the simulator: had the malformed bodies been sent, they would be 503s.
    sim.fail_next(1, 503).await;
    for (body, pointers) in [
        (json!({"api_key": "test_tooshort"}), vec!["/api_key"]),
        (json!({"api_key": "sk_live_abcdefghijklmnopqrstuvwxyz0123"}), vec!["/api_key"]),
        (
            json!({"api_key": "test_abcdefghijklmnopqrstuvwxyz0123", "profile_id": "x", "methods": ["cash"]}),
            vec!["/profile_id", "/methods/0"],
        ),
    ] {
        let problem = shops
            .put(&shops.demo, "admin", &body)
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(problem_errors(&problem, "pointer"), pointers, "{body}");
    }
    shops
        .put(&shops.demo, "admin", &json!({"api_key": unknown, "secret": 1}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    assert_eq!(shops.rows().await, 0);
    shops.get(&shops.demo, "admin").await.problem(StatusCode::NOT_FOUND, "not_found");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn mollie_down_is_a_503_and_keeps_the_settings_as_they_were(pool: PgPool) {
    let sim = MollieSim::start();
    let shops = shops(pool, &sim, &[("k1", 1)]).await;
    let first = registered_key(&sim).await;
    let saved = shops.put(&shops.demo, "admin", &json!({"api_key": first})).await.expect(StatusCode::OK);
    let second = registered_key(&sim).await;
    sim.fail_next(1, 503).await;
    shops
        .put(&shops.demo, "admin", &json!({"api_key": second, "methods": ["ideal"]}))
        .await
        .problem(StatusCode::SERVICE_UNAVAILABLE, "payment_provider_unavailable");
    assert_eq!(shops.get(&shops.demo, "admin").await.expect(StatusCode::OK), saved, "nothing changed");
    assert_eq!(shops.app.outbox(&shops.demo).await.len(), 1, "no event for the failed save");

    let fresh = shops.put(&shops.other, "admin", &json!({"api_key": second})).await;
    assert_eq!(fresh.status, StatusCode::OK, "Mollie is back: the next save works");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_viewer_reads_but_cannot_save_and_another_shop_sees_nothing(pool: PgPool) {
    let sim = MollieSim::start();
    let shops = shops(pool, &sim, &[("k1", 1)]).await;
    let key = registered_key(&sim).await;
    shops
        .put(&shops.demo, "viewer", &json!({"api_key": key}))
        .await
        .problem(StatusCode::FORBIDDEN, "insufficient_role");
    shops
        .put(&shops.demo, "editor", &json!({"api_key": key}))
        .await
        .problem(StatusCode::FORBIDDEN, "insufficient_role");
    assert_eq!(shops.rows().await, 0);
    shops.put(&shops.demo, "admin", &json!({"api_key": key})).await.expect(StatusCode::OK);
    shops.get(&shops.demo, "viewer").await.expect(StatusCode::OK);
    shops.get(&shops.other, "admin").await.problem(StatusCode::NOT_FOUND, "not_found");
    let anonymous = shops.app.get(URI, &[("x-tenant-id", "demo")]).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_ciphertext_copied_into_another_shops_row_does_not_decrypt(pool: PgPool) {
    let sim = MollieSim::start();
    let shops = shops(pool, &sim, &[("k1", 1)]).await;
    let (key_a, key_b) = (registered_key(&sim).await, registered_key(&sim).await);
    shops.put(&shops.demo, "admin", &json!({"api_key": key_a})).await.expect(StatusCode::OK);
    shops.put(&shops.other, "admin", &json!({"api_key": key_b})).await.expect(StatusCode::OK);
    sqlx::query(
        "update payment_settings b set api_key_nonce = a.api_key_nonce, api_key_ciphertext = a.api_key_ciphertext
           from payment_settings a where a.tenant_id = $1 and b.tenant_id = $2",
    )
    .bind(shops.demo.id)
    .bind(shops.other.id)
    .execute(&shops.app.owner)
    .await
    .unwrap();
    let keyring = Keyring::from_config(&shops.app.state.config).unwrap();
    let copied = payment_api_key(&shops.app.state.db, &keyring, &shops.other).await;
    assert!(matches!(copied, Err(SecretsError::Open)), "{copied:?}");
    let own = payment_api_key(&shops.app.state.db, &keyring, &shops.demo).await.unwrap().unwrap();
    assert_eq!(own.expose(), key_a);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn after_rotation_old_ciphertexts_still_decrypt_and_are_re_encrypted_under_the_new_key(pool: PgPool) {
    let sim = MollieSim::start();
    let shops = shops(pool, &sim, &[("k1", 1)]).await;
    let key = registered_key(&sim).await;
    shops.put(&shops.demo, "admin", &json!({"api_key": key})).await.expect(StatusCode::OK);
    let before = shops.stored(&shops.demo).await;
    assert_eq!(before.kid, "k1");

    // PAYMENT_KEY_ENCRYPTION_KEYS=k2=…,k1=…: the new key first, the old one kept.
    let rotated = Keyring::new(&keys(&[("k2", 2), ("k1", 1)])).unwrap();
    assert_eq!(rotated.open_api_key(shops.demo.id, &before).unwrap().expose(), key);
    let opened = payment_api_key(&shops.app.state.db, &rotated, &shops.demo).await.unwrap().unwrap();
    assert_eq!(opened.expose(), key);
    let after = shops.stored(&shops.demo).await;
    assert_eq!(after.kid, "k2", "read once, re-encrypted under the first key");
    assert_ne!(after.ciphertext, before.ciphertext);

    // Now k1 can go: k2 alone opens it; k1 alone no longer does.
    let only_new = Keyring::new(&keys(&[("k2", 2)])).unwrap();
    let again = payment_api_key(&shops.app.state.db, &only_new, &shops.demo).await.unwrap().unwrap();
    assert_eq!(again.expose(), key);
    let only_old = Keyring::new(&keys(&[("k1", 1)])).unwrap();
    let gone = payment_api_key(&shops.app.state.db, &only_old, &shops.demo).await;
    assert!(matches!(gone, Err(SecretsError::UnknownKid(kid)) if kid == "k2"));
    // The settings themselves did not change: same version, no new event.
    assert_eq!(shops.get(&shops.demo, "admin").await.expect(StatusCode::OK)["version"], 1);
    assert_eq!(shops.app.outbox(&shops.demo).await.len(), 1);
}
