//! Logging: JSON lines in Lambda (or with `LOG_FORMAT=json`), readable lines otherwise.
//! `RUST_LOG` overrides the default filter with `target=level` directives (`warn`,
//! `info,sqlx=warn,lapin=off`); a value that does not parse leaves the default in force.
//! (`Targets`, not `EnvFilter`: Kassa filters by target only, and `EnvFilter`'s span and field
//! matching links a regex engine into every binary.)

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;

const DEFAULT_FILTER: &str = "info,sqlx=warn";

/// The filter `RUST_LOG` asks for, else [`DEFAULT_FILTER`].
fn targets(rust_log: Option<&str>) -> Targets {
    rust_log
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| DEFAULT_FILTER.parse().unwrap_or_default())
}

pub fn init(format: LogFormat) {
    let filter = targets(std::env::var("RUST_LOG").ok().as_deref());
    let builder = tracing_subscriber::fmt();
    // try_init: a second call (tests, a CLI command that serves) keeps the first subscriber.
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .finish()
            .with(filter)
            .try_init(),
        LogFormat::Pretty => builder.compact().finish().with(filter).try_init(),
    };
}

#[cfg(test)]
mod tests {
    use tracing::Level;
    use tracing_subscriber::filter::LevelFilter;

    use super::*;

    #[test]
    fn rust_log_sets_levels_per_target_and_a_bad_value_keeps_the_default() {
        let filter = targets(Some("warn,lapin=off,kassa_http=debug"));
        assert!(filter.would_enable("kassa_runtime", &Level::WARN));
        assert!(!filter.would_enable("kassa_runtime", &Level::INFO));
        assert!(!filter.would_enable("lapin::channel", &Level::ERROR));
        assert!(filter.would_enable("kassa_http::context", &Level::DEBUG));

        for unset_or_bad in [None, Some("info,=["), Some("kassa=loud")] {
            let filter = targets(unset_or_bad);
            assert!(filter.would_enable("kassa_runtime", &Level::INFO), "{unset_or_bad:?}");
            assert!(!filter.would_enable("kassa_runtime", &Level::DEBUG), "{unset_or_bad:?}");
            assert!(!filter.would_enable("sqlx::query", &Level::INFO), "{unset_or_bad:?}");
            assert!(filter.would_enable("sqlx::query", &Level::WARN), "{unset_or_bad:?}");
        }
        assert_eq!(targets(Some("off")).default_level(), Some(LevelFilter::OFF));
    }
}
