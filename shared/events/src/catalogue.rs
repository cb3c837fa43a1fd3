//! The README's event catalogue, rendered from `kassa_domain::outbox::catalogue::CATALOGUE`
//! with the bus names of [`crate::envelope::bus_type`]. A test (`cargo test -p kassa-events
//! --test catalogue`) fails while the README's section differs and prints the text to paste.

use kassa_domain::outbox::catalogue::CATALOGUE;

use crate::envelope::bus_type;

/// The line before the generated table in the README.
pub const BEGIN: &str = "<!-- event-catalogue:begin (generated; edit kassa_domain::outbox::catalogue) -->";
/// The line after it.
pub const END: &str = "<!-- event-catalogue:end -->";

/// The catalogue as a Markdown table, between the [`BEGIN`] and [`END`] lines.
pub fn markdown() -> String {
    let cell = |text: &str| text.replace('|', "\\|");
    let mut out = String::new();
    out.push_str(BEGIN);
    out.push('\n');
    out.push_str(
        "| on the bus: CloudEvent `type`, routing key | outbox `event_type`, workflow `trigger` | `source` | emitted when | `data` is the JSON of |\n",
    );
    out.push_str("|---|---|---|---|---|\n");
    for kind in CATALOGUE {
        out.push_str(&format!(
            "| `{}` | `{}` | `kassa/{}` | {} | `{}` |\n",
            bus_type(kind.event_type),
            kind.event_type,
            kind.aggregate,
            cell(kind.emitted_when),
            (kind.data)(),
        ));
    }
    out.push_str(END);
    out
}
