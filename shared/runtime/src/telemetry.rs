//! Logging: JSON lines in Lambda (or with `LOG_FORMAT=json`), readable lines otherwise.
//! `RUST_LOG` overrides the default filter.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    // try_init: a second call (tests, a CLI command that serves) keeps the first subscriber.
    let _ = match format {
        LogFormat::Json => {
            builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init()
        }
        LogFormat::Pretty => builder.compact().try_init(),
    };
}
