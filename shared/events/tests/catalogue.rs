//! The README's event catalogue is the code's: rendered from
//! `kassa_domain::outbox::catalogue::CATALOGUE` and the bus's naming, compared with the
//! README's section. When it fails, paste the printed text over the section.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use kassa_events::catalogue::{BEGIN, END, markdown};

#[test]
fn the_readme_event_catalogue_is_the_one_rendered_from_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
    let readme = std::fs::read_to_string(path).unwrap();
    let expected = markdown();
    let section = readme.find(BEGIN).and_then(|start| {
        let end = readme[start..].find(END)? + start + END.len();
        Some(&readme[start..end])
    });
    if section != Some(expected.as_str()) {
        panic!(
            "README.md's event catalogue is {}; replace it (from its begin line to its end line) with:\n\n{expected}\n",
            if section.is_some() { "stale" } else { "missing" }
        );
    }
}

#[test]
fn every_catalogued_event_has_one_bus_name_starting_with_event() {
    let rendered = markdown();
    for kind in kassa_domain::outbox::catalogue::CATALOGUE {
        let bus = kassa_events::envelope::bus_type(kind.event_type);
        assert_eq!(bus, format!("event.{}", kind.event_type));
        assert_eq!(kassa_events::envelope::domain_type(&bus), kind.event_type);
        assert_eq!(rendered.matches(&format!("| `{bus}` |")).count(), 1, "{bus}");
    }
}
