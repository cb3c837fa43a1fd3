//! Shipping zones and rates under `/management/shipping-zones` and `/management/shipping-rates`:
//! generic CRUD for the shop's settings staff, a country in one zone per shop, events through
//! the outbox, and what `kassa_domain::shipping::available_methods` makes of them.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use http::StatusCode;
use kassa_domain::currency::Currency;
use kassa_domain::shipping::available_methods;
use kassa_domain::types::Country;
use kassa_testkit::{TestApp, problem_errors};
use serde_json::json;
use sqlx::PgPool;

const ZONES: &str = "/management/shipping-zones";
const RATES: &str = "/management/shipping-rates";

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn an_admin_creates_lists_updates_and_deletes_zones_and_rates_and_each_write_is_an_event(pool: PgPool) {
    let (app, issuer, demo, _) = TestApp::with_two_shops(pool, kassa_checkout::router).await;
    let admin = app.staff(&issuer, &demo, "admin");
    let zone = admin
        .post(ZONES, &json!({"name": "Benelux", "countries": ["NL", "BE"]}))
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(zone["countries"], json!(["NL", "BE"]));
    let zone_id = zone["id"].as_str().unwrap().to_owned();
    let zone_uri = format!("{ZONES}/{zone_id}");
    let patched = admin
        .patch(&zone_uri, &json!({"countries": ["NL", "BE", "LU"]}), Some(zone["version"].as_i64().unwrap()))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        (patched["name"].as_str(), &patched["countries"]),
        (Some("Benelux"), &json!(["NL", "BE", "LU"]))
    );

    let rate = admin
        .post(
            RATES,
            &json!({"zone_id": zone_id, "name": "PostNL", "currency": "eur", "amount": 495, "free_above": 5000}),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!((rate["currency"].as_str(), rate["tax_class"].as_str()), (Some("EUR"), Some("standard")));
    let rate_uri = format!("{RATES}/{}", rate["id"].as_str().unwrap());
    let rate = admin
        .patch(&rate_uri, &json!({"max_weight_grams": 20000}), Some(rate["version"].as_i64().unwrap()))
        .await
        .expect(StatusCode::OK);
    assert_eq!((rate["amount"].as_i64(), rate["max_weight_grams"].as_i64()), (Some(495), Some(20_000)));
    let listed = admin.get(RATES).await.expect(StatusCode::OK);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(admin.get(&zone_uri).await.expect(StatusCode::OK)["name"], "Benelux");

    // What checkout will offer: in the zone, under and at the threshold, in and out of the band.
    let (nl, eur) = (Country::parse("LU").unwrap(), Currency::parse("EUR").unwrap());
    let methods = available_methods(&app.state.db, &demo, &nl, &eur, 4_999, 1_000).await.unwrap();
    assert_eq!(methods.iter().map(|m| (m.name.as_str(), m.amount)).collect::<Vec<_>>(), [("PostNL", 495)]);
    let free = available_methods(&app.state.db, &demo, &nl, &eur, 5_000, 1_000).await.unwrap();
    assert_eq!(free[0].amount, 0);
    assert!(available_methods(&app.state.db, &demo, &nl, &eur, 0, 20_000).await.unwrap().is_empty());
    let us = Country::parse("US").unwrap();
    assert!(available_methods(&app.state.db, &demo, &us, &eur, 0, 0).await.unwrap().is_empty());

    // A zone with rates stays until its rates go.
    admin.delete(&zone_uri).await.problem(StatusCode::CONFLICT, "in_use");
    admin.delete(&rate_uri).await.expect(StatusCode::NO_CONTENT);
    admin.delete(&zone_uri).await.expect(StatusCode::NO_CONTENT);
    admin.get(&zone_uri).await.problem(StatusCode::NOT_FOUND, "not_found");

    let events: Vec<String> = app.outbox(&demo).await.into_iter().map(|(t, _, _)| t).collect();
    assert_eq!(
        events,
        [
            "shipping_zone.created",
            "shipping_zone.updated",
            "shipping_rate.created",
            "shipping_rate.updated",
            "shipping_rate.deleted",
            "shipping_zone.deleted",
        ]
    );
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_country_already_in_another_zone_of_the_shop_is_refused_with_a_conflict(pool: PgPool) {
    let (app, issuer, demo, other) = TestApp::with_two_shops(pool, kassa_checkout::router).await;
    let admin = app.staff(&issuer, &demo, "admin");
    admin
        .post(ZONES, &json!({"name": "Benelux", "countries": ["NL", "BE"]}))
        .await
        .expect(StatusCode::CREATED);
    let eu = admin
        .post(ZONES, &json!({"name": "EU", "countries": ["DE", "FR"]}))
        .await
        .expect(StatusCode::CREATED);
    let problem = admin
        .post(ZONES, &json!({"name": "Home", "countries": ["BE"]}))
        .await
        .problem(StatusCode::CONFLICT, "shipping_country_taken");
    assert!(problem["detail"].as_str().unwrap().contains("one zone at most"), "{problem}");
    // Moving a country into another zone by update is refused the same way, and changes nothing.
    let uri = format!("{ZONES}/{}", eu["id"].as_str().unwrap());
    admin
        .patch(&uri, &json!({"countries": ["DE", "FR", "NL"]}), Some(1))
        .await
        .problem(StatusCode::CONFLICT, "shipping_country_taken");
    assert_eq!(admin.get(&uri).await.expect(StatusCode::OK)["countries"], json!(["DE", "FR"]));
    // Another shop may ship to the same countries.
    app.staff(&issuer, &other, "admin")
        .post(ZONES, &json!({"name": "Benelux", "countries": ["NL", "BE"]}))
        .await
        .expect(StatusCode::CREATED);
    // A country twice in one zone, or not a country, is a validation problem at its index.
    let problem = admin
        .post(ZONES, &json!({"name": "", "countries": ["AT", "at", "AT"]}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem_errors(&problem, "pointer"), ["/name", "/countries/1", "/countries/2"]);
    assert_eq!(problem_errors(&problem, "code"), ["invalid_name", "invalid_country", "duplicate_country"]);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn bad_rates_are_refused_with_every_violation_and_an_unknown_zone_is_a_422(pool: PgPool) {
    let (app, issuer, demo, other) = TestApp::with_two_shops(pool, kassa_checkout::router).await;
    let admin = app.staff(&issuer, &demo, "admin");
    let problem = admin
        .post(
            RATES,
            &json!({"zone_id": "0190a000-0000-7000-8000-000000000000", "name": "X", "currency": "XXZ",
                    "amount": -1, "min_weight_grams": 500, "max_weight_grams": 500, "position": -1}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(
        problem_errors(&problem, "pointer"),
        ["/currency", "/amount", "/max_weight_grams", "/position"]
    );
    // Another shop's zone is no zone here.
    let theirs = app
        .staff(&issuer, &other, "admin")
        .post(ZONES, &json!({"name": "Benelux", "countries": ["NL"]}))
        .await
        .expect(StatusCode::CREATED);
    let problem = admin
        .post(RATES, &json!({"zone_id": theirs["id"], "name": "PostNL", "currency": "EUR", "amount": 495}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem_errors(&problem, "pointer"), ["/zone_id"]);
    assert_eq!(problem_errors(&problem, "code"), ["unknown_reference"]);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_viewer_reads_but_cannot_write_and_another_shop_sees_nothing(pool: PgPool) {
    let (app, issuer, demo, other) = TestApp::with_two_shops(pool, kassa_checkout::router).await;
    let admin = app.staff(&issuer, &demo, "admin");
    let viewer = app.staff(&issuer, &demo, "viewer");
    let zone =
        admin.post(ZONES, &json!({"name": "Benelux", "countries": ["NL"]})).await.expect(StatusCode::CREATED);
    let uri = format!("{ZONES}/{}", zone["id"].as_str().unwrap());
    assert_eq!(viewer.get(ZONES).await.expect(StatusCode::OK)["items"][0]["id"], zone["id"]);
    viewer
        .post(ZONES, &json!({"name": "EU", "countries": ["DE"]}))
        .await
        .problem(StatusCode::FORBIDDEN, "insufficient_role");
    viewer
        .patch(&uri, &json!({"name": "Holland"}), Some(1))
        .await
        .problem(StatusCode::FORBIDDEN, "insufficient_role");
    viewer.delete(&uri).await.problem(StatusCode::FORBIDDEN, "insufficient_role");
    let rate = json!({"zone_id": zone["id"], "name": "PostNL", "currency": "EUR", "amount": 495});
    viewer.post(RATES, &rate).await.problem(StatusCode::FORBIDDEN, "insufficient_role");

    let theirs = app.staff(&issuer, &other, "admin");
    assert_eq!(theirs.get(ZONES).await.expect(StatusCode::OK)["items"], json!([]));
    theirs.get(&uri).await.problem(StatusCode::NOT_FOUND, "not_found");
    theirs.delete(&uri).await.problem(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(admin.get(&uri).await.expect(StatusCode::OK)["name"], "Benelux");
    let events: Vec<String> = app.outbox(&demo).await.into_iter().map(|(t, _, _)| t).collect();
    assert_eq!(events, ["shipping_zone.created"], "refused writes leave no event");
}
