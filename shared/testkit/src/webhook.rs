//! A webhook receiver that accepts connections and never answers: the worst a shop's
//! receiver can do to the engine.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;

use crate::WorkflowBuilder;

pub struct SilentReceiver {
    /// `http://127.0.0.1:<port>/hook`.
    pub url: String,
    accepted: Arc<AtomicUsize>,
}

impl SilentReceiver {
    /// Listens on a free port of 127.0.0.1, holding every connection open unread.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                open.push(socket); // held, never read nor answered
            }
        });
        Self { url, accepted }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// "Tell the ERP" on `order.placed`: one webhook step to this receiver that waits the
    /// longest timeout (30 s), up to the most attempts (10).
    pub fn workflow(&self) -> WorkflowBuilder {
        let config = json!({"url": self.url, "secret": "whsec_0123456789", "timeout_ms": 30_000});
        WorkflowBuilder::new("Tell the ERP").step_attempts("http_request", config, 10)
    }
}
