//! Read-your-writes across processes with the in-process cache: two `kassa serve` processes
//! share one Valkey and one database; a write on one is followed by a read on the other,
//! 1,000 times, and no read may show what was there before the write. Each read is followed
//! by a second one, which the reading process answers from memory — so every first read
//! after a write is a read whose process held the old answer in memory.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::process::{Child, Command, Stdio};

use kassa_cli::seed;
use kassa_testkit::issuer::{PLATFORM_ORG, PROJECT_ID};
use kassa_testkit::{Issuer, json_of, service_pool, spawn_listening};
use serde_json::{Value, json};
use sqlx::PgPool;

/// A `kassa serve` child, stopped when dropped.
struct Serve {
    child: Child,
    base: String,
}

impl Serve {
    fn start(database: &str, issuer: &Issuer) -> Self {
        let (child, port) = spawn_listening("kassa serve", |port| {
            let mut command = Command::new(env!("CARGO_BIN_EXE_kassa"));
            command
                .arg("serve")
                .env("DATABASE_URL", format!("postgres://kassa_service@127.0.0.1:5432/{database}"))
                .env("ZITADEL_ISSUER", &issuer.url)
                .env("ZITADEL_PROJECT_ID", PROJECT_ID)
                .env("ZITADEL_PLATFORM_ORG_ID", PLATFORM_ORG)
                .env("KASSA_LISTEN", format!("127.0.0.1:{port}"))
                .env("EVENT_BUS", "off")
                .env("STOREFRONT_MISS_LIMIT", "0")
                // A loaded test machine is no Valkey outage (see `test_config`).
                .env("VALKEY_TIMEOUT_MS", "2000")
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null());
            command
        });
        Serve { child, base: format!("http://127.0.0.1:{port}") }
    }

    /// A counter of `GET /metrics`.
    async fn metric(&self, http: &reqwest::Client, name: &str) -> u64 {
        let text = http.get(format!("{}/metrics", self.base)).send().await.unwrap().text().await.unwrap();
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} in /metrics:\n{text}"))
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_write_on_one_process_is_never_followed_by_a_stale_read_on_the_other(pool: PgPool) {
    let issuer = Issuer::start().await;
    let shops = seed::seed_demo(&service_pool(&pool)).await.unwrap();
    let demo = shops.iter().find(|t| t.handle == "demo").unwrap();
    let token = issuer.token("owner-user", &[("owner", demo.zitadel_org_id.as_deref().unwrap())]);
    let database = pool.connect_options().get_database().unwrap().to_owned();
    let processes = [Serve::start(&database, &issuer), Serve::start(&database, &issuer)];
    let http = reqwest::Client::new();

    let created = json_of(
        http.post(format!("{}/management/products", processes[0].base))
            .bearer_auth(&token)
            .header("x-tenant-id", "demo")
            .json(&json!({"handle": "two-sides", "title": {"en": "Title 0"}, "status": "active"})),
    )
    .await;
    let id = created["id"].as_str().expect("the product was created").to_owned();

    let read = |process: &Serve| {
        http.get(format!("{}/storefront/products/two-sides?locale=en", process.base))
            .header("x-tenant-id", "demo")
            .send()
    };
    let mut stale = Vec::new();
    for round in 1..=1000 {
        let (writer, reader) =
            if round % 2 == 0 { (&processes[0], &processes[1]) } else { (&processes[1], &processes[0]) };
        // The reader holds the current answer in memory before the write.
        let before = read(reader).await.unwrap();
        assert_eq!(before.status(), 200);
        let title = format!("Title {round}");
        let written = http
            .patch(format!("{}/management/products/{id}", writer.base))
            .bearer_auth(&token)
            .header("x-tenant-id", "demo")
            .json(&json!({"title": {"en": title}}))
            .send()
            .await
            .unwrap();
        assert!(written.status().is_success(), "write {round}: {}", written.status());
        for attempt in ["first", "second"] {
            let body: Value = read(reader).await.unwrap().json().await.unwrap();
            if body["title"] != title.as_str() {
                stale.push(format!("round {round}, {attempt} read: {} instead of {title}", body["title"]));
            }
        }
    }
    assert!(stale.is_empty(), "{} stale reads: {:?}", stale.len(), &stale[..stale.len().min(10)]);

    // The second read after each write came from memory (the read before a write finds the
    // version the reader's own last write moved, so it asks Valkey).
    let mut local_hits = 0;
    for process in &processes {
        local_hits += process.metric(&http, "kassa_storefront_cache_local_hits_total").await;
    }
    assert!(local_hits >= 900, "only {local_hits} of the 1,000 second reads came from memory");
}
