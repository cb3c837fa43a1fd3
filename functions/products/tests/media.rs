//! Product media: presigned uploads and attaching them (the must-holds of uploads), images by
//! URL, order, alt text and removal. Against the AWS emulator's S3 at `AWS_ENDPOINT_URL`.
//!
//! The emulator (moto) accepts any PUT to a presigned URL without checking its signature,
//! so what a real bucket refuses at upload time cannot be shown here; these tests show what
//! the URL signs (key, content type, length, 15 minutes) and that Kassa refuses, at attach,
//! anything the URL did not allow — so a bucket that let it through changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use http::StatusCode;
use kassa_runtime::media::MediaStore;
use kassa_testkit::{Issuer, ProductBuilder, StaffClient, TestApp, VariantBuilder, problem_errors};
use serde_json::{Value, json};
use sqlx::PgPool;

struct World {
    app: TestApp,
    issuer: Issuer,
    demo: kassa_domain::tenant::Tenant,
    other: kassa_domain::tenant::Tenant,
    store: MediaStore,
}

async fn world(pool: PgPool) -> World {
    let (app, issuer, demo, other) = TestApp::with_two_shops(pool, kassa_products::router).await;
    let store = MediaStore::shared(&app.state.config).await;
    store.ensure_bucket(&[]).await.unwrap();
    World { app, issuer, demo, other, store }
}

impl World {
    fn editor(&self) -> StaffClient<'_> {
        self.app.staff(&self.issuer, &self.demo, "editor")
    }
}

/// PUTs `body` to a presigned URL with this content type.
async fn put(url: &str, content_type: &str, body: Vec<u8>) -> reqwest::StatusCode {
    reqwest::Client::new()
        .put(url)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
}

fn query(url: &str, name: &str) -> String {
    let query = url.split_once('?').unwrap().1;
    form_urlencoded_pairs(query).into_iter().find(|(k, _)| k == name).map(|(_, v)| v).unwrap_or_default()
}

fn form_urlencoded_pairs(query: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(query).unwrap()
}

async fn ticket(staff: &StaffClient<'_>, content_type: &str, size: usize) -> Value {
    staff
        .post("/management/uploads", &json!({"content_type": content_type, "size": size}))
        .await
        .expect(StatusCode::CREATED)
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn an_upload_url_signs_one_key_type_and_length_for_15_minutes_and_the_image_reaches_the_product(
    pool: PgPool,
) {
    let world = world(pool).await;
    let editor = world.editor();
    let product = ProductBuilder::new("mug")
        .variant(VariantBuilder::new("MUG-1"))
        .create(&world.app, &world.demo)
        .await;
    let png = vec![7_u8; 2_048];
    let ticket = ticket(&editor, "image/png", png.len()).await;
    let key = ticket["key"].as_str().unwrap();
    let url = ticket["upload_url"].as_str().unwrap();
    assert!(
        key.starts_with(&format!("tenants/{}/uploads/", world.demo.id)) && key.ends_with(".png"),
        "{key}"
    );
    assert!(url.contains(&format!("/{key}?")), "the URL is for the key: {url}");
    // Signed for what is left of the upload's 15 minutes.
    let seconds: i64 = query(url, "X-Amz-Expires").parse().unwrap();
    assert!((890..=900).contains(&seconds), "{seconds}");
    let signed = query(url, "X-Amz-SignedHeaders");
    for header in ["content-length", "content-type", "host"] {
        assert!(signed.split(';').any(|h| h == header), "{header} is not signed: {signed}");
    }
    assert_eq!(ticket["headers"], json!({"Content-Type": "image/png", "Content-Length": "2048"}));
    let expires: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(ticket["expires_at"].clone()).unwrap();
    let ttl = expires - chrono::Utc::now();
    assert!(ttl > chrono::Duration::minutes(14) && ttl <= chrono::Duration::minutes(15), "{ttl}");

    assert!(put(url, "image/png", png).await.is_success());
    let stored = world.store.head(key).await.unwrap().unwrap();
    assert_eq!((stored.content_type.as_deref(), stored.size), (Some("image/png"), 2_048));
    let uri = format!("/management/products/{}/media", product.product.id);
    let variant = product.variant().id;
    let image = editor
        .post(&uri, &json!({"key": key, "variant_id": variant, "alt": {"en": "A mug", "nl": "Een mok"}}))
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(
        (image["key"].as_str(), image["content_type"].as_str(), image["size_bytes"].as_i64()),
        (Some(key), Some("image/png"), Some(2_048))
    );
    assert_eq!(image["variant_id"], json!(variant));
    // The same upload cannot be attached twice.
    editor.post(&uri, &json!({"key": key})).await.problem(StatusCode::CONFLICT, "in_use");
    let events: Vec<String> = world.app.outbox(&world.demo).await.into_iter().map(|(t, _, _)| t).collect();
    assert!(events.contains(&"product_media.created".to_owned()), "{events:?}");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn what_the_upload_url_did_not_allow_is_refused_at_attach_with_a_pointer(pool: PgPool) {
    let world = world(pool).await;
    let editor = world.editor();
    let product = ProductBuilder::new("mug").create(&world.app, &world.demo).await.product;
    let uri = format!("/management/products/{}/media", product.id);
    let attach = |key: String| {
        let editor = &editor;
        let uri = &uri;
        async move { editor.post(uri, &json!({"key": key})).await }
    };
    let refused = |response: kassa_testkit::TestResponse, code: &str| {
        let problem = response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(problem_errors(&problem, "pointer"), ["/key"], "{problem}");
        assert_eq!(problem_errors(&problem, "code"), [code], "{problem}");
    };

    // Another content type than the one signed.
    let jpeg = ticket(&editor, "image/jpeg", 100).await;
    put(jpeg["upload_url"].as_str().unwrap(), "text/html", vec![b'<'; 100]).await;
    refused(attach(jpeg["key"].as_str().unwrap().to_owned()).await, "wrong_content_type");

    // Larger than the size signed (the emulator stores it anyway).
    let small = ticket(&editor, "image/png", 100).await;
    put(small["upload_url"].as_str().unwrap(), "image/png", vec![0; 5_000]).await;
    refused(attach(small["key"].as_str().unwrap().to_owned()).await, "too_large");

    // Another key than the one signed: the emulator stores it, but Kassa issued no such upload.
    let png = ticket(&editor, "image/png", 100).await;
    let (url, key) = (png["upload_url"].as_str().unwrap(), png["key"].as_str().unwrap());
    let forged_key = key.replace("/uploads/", "/uploads/x");
    put(&url.replace(key, &forged_key), "image/png", vec![0; 100]).await;
    refused(attach(forged_key).await, "unknown_upload");

    // Issued, but nothing uploaded.
    refused(attach(key.to_owned()).await, "not_uploaded");

    // Uploaded after the URL expired (the emulator does not check expiry; Kassa does).
    let late = ticket(&editor, "image/png", 100).await;
    sqlx::query("update media_uploads set expires_at = now() - interval '1 minute' where key = $1")
        .bind(late["key"].as_str().unwrap())
        .execute(&world.app.owner)
        .await
        .unwrap();
    put(late["upload_url"].as_str().unwrap(), "image/png", vec![0; 100]).await;
    refused(attach(late["key"].as_str().unwrap().to_owned()).await, "upload_expired");

    // Another shop's upload, uploaded and all: not this shop's prefix.
    let owner_other = world.app.staff(&world.issuer, &world.other, "owner");
    let theirs = ticket(&owner_other, "image/png", 100).await;
    put(theirs["upload_url"].as_str().unwrap(), "image/png", vec![0; 100]).await;
    refused(attach(theirs["key"].as_str().unwrap().to_owned()).await, "foreign_key");

    // Nothing of this was attached.
    assert_eq!(editor.get(&uri).await.expect(StatusCode::OK)["items"], json!([]));
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn upload_requests_outside_the_limits_are_refused_before_anything_is_signed(pool: PgPool) {
    let world = world(pool).await;
    let editor = world.editor();
    let problem = editor
        .post("/management/uploads", &json!({"content_type": "image/gif", "size": 10 * 1024 * 1024 + 1}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem_errors(&problem, "pointer"), ["/content_type", "/size"]);
    let at_limit = ticket(&editor, "image/avif", 10 * 1024 * 1024).await;
    assert!(at_limit["key"].as_str().unwrap().ends_with(".avif"));
    let viewer = world.app.staff(&world.issuer, &world.demo, "viewer");
    viewer
        .post("/management/uploads", &json!({"content_type": "image/png", "size": 1}))
        .await
        .problem(StatusCode::FORBIDDEN, "insufficient_role");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn images_by_url_are_ordered_described_and_removed_and_another_shop_sees_none(pool: PgPool) {
    let world = world(pool).await;
    let editor = world.editor();
    let product = ProductBuilder::new("mug").create(&world.app, &world.demo).await.product;
    let uri = format!("/management/products/{}/media", product.id);
    let mut ids = Vec::new();
    for n in 1..=3 {
        let image = editor
            .post(&uri, &json!({"url": format!("https://images.example/mug-{n}.webp")}))
            .await
            .expect(StatusCode::CREATED);
        assert_eq!(image["position"], n - 1);
        ids.push(image["id"].as_str().unwrap().to_owned());
    }
    for bad in [json!({"url": "http://images.example/x.png"}), json!({"url": "https://a b"})] {
        let problem =
            editor.post(&uri, &bad).await.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(problem_errors(&problem, "pointer"), ["/url"]);
    }
    let both = json!({"url": "https://images.example/x.png", "key": "tenants/x", "alt": {"fr": "Non"}});
    let problem =
        editor.post(&uri, &both).await.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem_errors(&problem, "pointer"), ["/alt/fr", ""]);

    // Reorder: every image once.
    let order = json!({"media_ids": [ids[2], ids[0], ids[1]]});
    let listed = editor.call(http::Method::PUT, &uri, Some(&order), &[]).await.expect(StatusCode::OK);
    let urls: Vec<&str> =
        listed["items"].as_array().unwrap().iter().map(|i| i["url"].as_str().unwrap()).collect();
    assert_eq!(
        urls,
        [
            "https://images.example/mug-3.webp",
            "https://images.example/mug-1.webp",
            "https://images.example/mug-2.webp"
        ]
    );
    let partial = json!({"media_ids": [ids[0]]});
    let problem = editor
        .call(http::Method::PUT, &uri, Some(&partial), &[])
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem_errors(&problem, "code"), ["incomplete"]);

    // Alt text, with If-Match.
    let image_uri = format!("{uri}/{}", ids[0]);
    let image = editor.get(&image_uri).await.expect(StatusCode::OK);
    let version = image["version"].as_i64().unwrap();
    let patched = editor
        .patch(&image_uri, &json!({"alt": {"en": "Mug", "nl": "Mok"}}), Some(version))
        .await
        .expect(StatusCode::OK);
    assert_eq!(patched["alt"], json!({"en": "Mug", "nl": "Mok"}));
    editor
        .patch(&image_uri, &json!({"alt": {}}), Some(version))
        .await
        .problem(StatusCode::PRECONDITION_FAILED, "version_conflict");

    // Another shop's staff see nothing of it.
    let other = world.app.staff(&world.issuer, &world.other, "owner");
    other.get(&uri).await.problem(StatusCode::NOT_FOUND, "not_found");
    other.delete(&image_uri).await.problem(StatusCode::NOT_FOUND, "not_found");

    assert_eq!(editor.delete(&image_uri).await.status, StatusCode::NO_CONTENT);
    editor.get(&image_uri).await.problem(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(editor.get(&uri).await.expect(StatusCode::OK)["items"].as_array().unwrap().len(), 2);
}
