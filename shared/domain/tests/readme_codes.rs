//! The README's table of problem codes is the catalogue's, rendered: a code added, removed or
//! reworded in `kassa_domain::ErrorCode` without updating the README fails here.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use kassa_domain::ErrorCode;

#[test]
fn the_readme_lists_exactly_the_catalogues_error_codes() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
    let readme = std::fs::read_to_string(path).unwrap();
    let start = "<!-- error-codes:start -->\n";
    let end = "<!-- error-codes:end -->";
    let from = readme.find(start).expect("README has the error-codes start marker") + start.len();
    let to = readme.find(end).expect("README has the error-codes end marker");
    let expected = ErrorCode::markdown_table();
    assert!(
        readme[from..to] == expected,
        "README.md's error-code table is stale; put this between the markers:\n{expected}"
    );
}
