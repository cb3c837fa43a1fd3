//! Deleting a product deletes its uploaded images' objects — not in the request, but when the
//! worker handles the `product_media.deleted` events the deletion appended. Against the AWS
//! emulator's S3 at `AWS_ENDPOINT_URL`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use axum::Router;
use kassa_domain::media::{self, MediaDraft, UploadRequest};
use kassa_domain::products::{self, DeleteOutcome};
use kassa_domain::relay::OutboxEvent;
use kassa_domain::tenant::Tenant;
use kassa_engine::{Backoff, Engine, Mailer};
use kassa_events::{Envelope, Handled};
use kassa_runtime::media::MediaStore;
use kassa_testkit::{ProductBuilder, TestApp};
use sqlx::PgPool;

/// Uploads `bytes` as a PNG the shop was issued, and attaches it to `product`.
async fn attach_upload(app: &TestApp, store: &MediaStore, shop: &Tenant, product: uuid::Uuid) -> String {
    let png = b"\x89PNG\r\n\x1a\nnot much of an image".to_vec();
    let request = UploadRequest { content_type: "image/png".into(), size: png.len() as i64 };
    let upload = media::issue_upload(&app.state.db, shop, &request).await.unwrap();
    store.put(&upload.key, "image/png", png).await.unwrap();
    let draft =
        MediaDraft { key: Some(upload.key.clone()), url: None, variant_id: None, alt: Default::default() };
    kassa_runtime::media::attach(&app.state.db, store, shop, product, &draft).await.unwrap();
    upload.key
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn deleting_a_product_deletes_its_objects_through_the_worker_not_the_request(pool: PgPool) {
    let app = TestApp::new(pool, |_| Router::new());
    let shop = app.tenant("shop").await;
    let store = MediaStore::shared(&app.state.config).await;
    store.ensure_bucket(&[]).await.unwrap();
    let product = ProductBuilder::new("sketch").create(&app, &shop).await.product;
    let keys = [
        attach_upload(&app, &store, &shop, product.id).await,
        attach_upload(&app, &store, &shop, product.id).await,
    ];
    // An image by URL has no object; another product's upload stays.
    let url = MediaDraft {
        key: None,
        url: Some("https://images.example/sketch.png".into()),
        variant_id: None,
        alt: Default::default(),
    };
    media::attach(&app.state.db, &shop, product.id, &url, |_| async { Ok(None) }).await.unwrap();
    let keeper = ProductBuilder::new("keeper").create(&app, &shop).await.product;
    let kept = attach_upload(&app, &store, &shop, keeper.id).await;

    let outcome = products::delete(&app.state.db, &shop, product.id).await.unwrap();
    assert_eq!(outcome, DeleteOutcome::Deleted);
    for key in &keys {
        assert!(store.head(key).await.unwrap().is_some(), "the request itself deleted {key}");
    }

    let events: Vec<OutboxEvent> = sqlx::query_as(
        "select id, seq, tenant_id, event_type, aggregate_type, aggregate_id, occurred_at, payload
         from outbox where event_type = 'product_media.deleted' order by seq",
    )
    .fetch_all(&app.owner)
    .await
    .unwrap();
    assert_eq!(events.len(), 3, "one event per image of the deleted product");
    let mailer = Mailer::new("smtp://127.0.0.1:1", "Shop <shop@shop.test>").unwrap();
    let engine =
        Engine::with_parts(&app.state, mailer, Backoff::new(std::time::Duration::from_millis(5))).unwrap();
    for event in &events {
        let envelope = Envelope::from(event);
        assert_eq!(engine.handle(&envelope).await, Handled::Done);
        // Delivered again (at least once): still fine.
        assert_eq!(engine.handle(&envelope).await, Handled::Done);
    }
    for key in &keys {
        assert!(store.head(key).await.unwrap().is_none(), "{key} is still in the bucket");
    }
    assert!(store.head(&kept).await.unwrap().is_some(), "another product's image was deleted");
}
