//! The client against the Mollie simulator (`infra/mollie-sim`): what Kassa sends is what
//! Mollie documents, and what Mollie answers reads into the typed payment, refund and errors.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use kassa_mollie::{
    Amount, MollieClient, MollieError, PaymentRequest, PaymentStatus, RefundStatus, Unavailable,
};
use kassa_testkit::mollie::{MollieSim, Outcome};
use serde_json::json;

async fn account(sim: &MollieSim) -> MollieClient {
    let key = MollieSim::new_test_key();
    sim.add_key(&key).await;
    MollieClient::new(&sim.url(), &key).unwrap()
}

fn request(minor: i64, currency: &str) -> PaymentRequest {
    PaymentRequest {
        amount: Amount::new(minor, currency).unwrap(),
        description: "Order 1001".into(),
        redirect_url: "https://shop.example/return".into(),
        webhook_url: Some("https://shop.example/webhooks/mollie/demo".into()),
        metadata: json!({"order_id": "o-1", "shop_id": "s-1"}),
        method: None,
    }
}

#[tokio::test]
async fn a_payment_is_created_read_and_paid_with_mollies_fields() {
    let sim = MollieSim::start();
    let mollie = account(&sim).await;
    let created = mollie.create_payment(&request(1234, "EUR"), "pay-1").await.unwrap();
    assert!(created.id.starts_with("tr_"), "{}", created.id);
    assert_eq!(created.status, PaymentStatus::Open);
    assert_eq!(created.amount, Amount { currency: "EUR".into(), value: "12.34".into() });
    assert_eq!(created.metadata, json!({"order_id": "o-1", "shop_id": "s-1"}));
    assert_eq!(created.mode.as_deref(), Some("test"));
    assert!(created.checkout_url().unwrap().contains(&created.id));
    assert!(created.expires_at.unwrap() > created.created_at);
    assert_eq!(created.amount_refunded, None);

    let jpy = mollie.create_payment(&request(1000, "JPY"), "pay-jpy").await.unwrap();
    assert_eq!(jpy.amount.value, "1000");

    sim.pay(&created.id, Outcome::Paid).await;
    let paid = mollie.get_payment(&created.id).await.unwrap();
    assert_eq!(paid.status, PaymentStatus::Paid);
    assert!(paid.paid_at.is_some());
    assert_eq!(paid.checkout_url(), None, "no checkout once paid");
    assert_eq!(paid.amount_remaining.unwrap().minor_units().unwrap(), 1234);
}

#[tokio::test]
async fn the_same_idempotency_key_gives_the_same_payment_and_another_request_is_refused() {
    let sim = MollieSim::start();
    let mollie = account(&sim).await;
    let first = mollie.create_payment(&request(1000, "EUR"), "order-7-payment").await.unwrap();
    let again = mollie.create_payment(&request(1000, "EUR"), "order-7-payment").await.unwrap();
    assert_eq!(again.id, first.id, "a retry must not create a second payment");
    let other = mollie.create_payment(&request(2000, "EUR"), "order-7-payment").await.unwrap_err();
    assert!(matches!(other, MollieError::Validation { .. }), "{other:?}");
    let fresh = mollie.create_payment(&request(1000, "EUR"), "order-8-payment").await.unwrap();
    assert_ne!(fresh.id, first.id);
}

#[tokio::test]
async fn an_open_bank_transfer_is_canceled_and_an_open_ideal_payment_is_not() {
    let sim = MollieSim::start();
    let mollie = account(&sim).await;
    let transfer = PaymentRequest { method: Some("banktransfer".into()), ..request(1000, "EUR") };
    let transfer = mollie.create_payment(&transfer, "t-1").await.unwrap();
    assert!(transfer.is_cancelable);
    let canceled = mollie.cancel_payment(&transfer.id).await.unwrap();
    assert_eq!(canceled.status, PaymentStatus::Canceled);
    assert!(canceled.canceled_at.is_some());

    let ideal = PaymentRequest { method: Some("ideal".into()), ..request(1000, "EUR") };
    let ideal = mollie.create_payment(&ideal, "i-1").await.unwrap();
    assert!(matches!(mollie.cancel_payment(&ideal.id).await, Err(MollieError::Validation { .. })));
}

#[tokio::test]
async fn refunds_are_created_listed_read_and_capped_at_the_remaining_amount() {
    let sim = MollieSim::start();
    let mollie = account(&sim).await;
    let payment = mollie.create_payment(&request(5000, "EUR"), "p").await.unwrap();
    let early = mollie.create_refund(&payment.id, &Amount::new(100, "EUR").unwrap(), "too early", "r0").await;
    assert!(matches!(early, Err(MollieError::Validation { .. })), "only a paid payment is refunded");
    sim.pay(&payment.id, Outcome::Paid).await;

    let part = Amount::new(1500, "EUR").unwrap();
    let refund = mollie.create_refund(&payment.id, &part, "one mug back", "refund-1").await.unwrap();
    assert!(refund.id.starts_with("re_"));
    assert_eq!((refund.status, refund.payment_id.as_str()), (RefundStatus::Pending, payment.id.as_str()));
    assert_eq!(refund.amount.value, "15.00");
    let replayed = mollie.create_refund(&payment.id, &part, "one mug back", "refund-1").await.unwrap();
    assert_eq!(replayed.id, refund.id, "a retried refund is the same refund");

    let too_much = Amount::new(3501, "EUR").unwrap();
    match mollie.create_refund(&payment.id, &too_much, "all and more", "refund-2").await {
        Err(MollieError::Validation { field, .. }) => assert_eq!(field.as_deref(), Some("amount")),
        other => panic!("{other:?}"),
    }

    sim.set_refund_status(&payment.id, &refund.id, "refunded").await;
    let read = mollie.get_refund(&payment.id, &refund.id).await.unwrap();
    assert_eq!(read.status, RefundStatus::Refunded);
    let all = mollie.list_refunds(&payment.id).await.unwrap();
    assert_eq!(all.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), [refund.id.as_str()]);
    let after = mollie.get_payment(&payment.id).await.unwrap();
    assert_eq!(after.amount_refunded.unwrap().minor_units().unwrap(), 1500);
    assert_eq!(after.amount_remaining.unwrap().minor_units().unwrap(), 3500);
}

#[tokio::test]
async fn a_wrong_key_is_unauthorized_and_another_accounts_payment_is_not_found() {
    let sim = MollieSim::start();
    let mollie = account(&sim).await;
    mollie.check_key().await.unwrap();
    let unknown = MollieClient::new(&sim.url(), &MollieSim::new_test_key()).unwrap();
    assert!(matches!(unknown.check_key().await, Err(MollieError::Unauthorized)));
    assert!(matches!(
        unknown.create_payment(&request(100, "EUR"), "k").await,
        Err(MollieError::Unauthorized)
    ));

    let payment = mollie.create_payment(&request(100, "EUR"), "k").await.unwrap();
    let other = account(&sim).await;
    assert!(matches!(other.get_payment(&payment.id).await, Err(MollieError::NotFound)));
    assert!(matches!(mollie.get_payment("tr_doesnotexist1").await, Err(MollieError::NotFound)));
}

#[tokio::test]
async fn mollie_down_is_unavailable_and_the_next_call_works_again() {
    let sim = MollieSim::start();
    let mollie = account(&sim).await;
    sim.fail_next(1, 503).await;
    match mollie.create_payment(&request(100, "EUR"), "down-1").await {
        Err(MollieError::Unavailable(Unavailable::Status(503))) => {}
        other => panic!("{other:?}"),
    }
    let payment = mollie.create_payment(&request(100, "EUR"), "down-1").await.unwrap();
    assert_eq!(payment.status, PaymentStatus::Open, "the failed attempt kept nothing under the key");

    let nobody =
        MollieClient::new(&format!("http://127.0.0.1:{}/v2", kassa_testkit::free_port()), "test_x").unwrap();
    assert!(matches!(nobody.check_key().await, Err(MollieError::Unavailable(Unavailable::Transport(_)))));
}

#[tokio::test]
async fn a_currency_mollie_does_not_take_is_refused_before_any_call() {
    let sim = MollieSim::start();
    let mollie = account(&sim).await;
    // Built by hand, as a caller that skipped Amount::new could: still never sent.
    let kwd = PaymentRequest {
        amount: Amount { currency: "KWD".into(), value: kassa_mollie::format_amount(1234, "KWD").unwrap() },
        ..request(1, "EUR")
    };
    sim.fail_next(1, 500).await;
    assert!(matches!(
        mollie.create_payment(&kwd, "kwd").await,
        Err(MollieError::UnsupportedCurrency { currency }) if currency == "KWD"
    ));
    // The injected fault is still pending: the refused request never reached the simulator.
    assert!(matches!(mollie.check_key().await, Err(MollieError::Unavailable(_))));
}
