//! One problem body per catalogue code, pinned: a change of status, title, type or shape of
//! any problem shows up as a snapshot diff.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use kassa_domain::ErrorCode;
use kassa_http::Problem;

#[test]
fn every_error_code_has_a_pinned_problem_body() {
    let bodies: serde_json::Map<String, serde_json::Value> = ErrorCode::ALL
        .iter()
        .map(|code| {
            let body =
                serde_json::to_value(Problem::new(*code, format!("what went wrong ({code})"))).unwrap();
            (code.as_str().to_owned(), body)
        })
        .collect();
    insta::assert_json_snapshot!("problem_bodies", bodies);
}
