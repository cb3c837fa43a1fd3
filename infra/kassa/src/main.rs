//! `kassa`: the local server and operator CLI.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use kassa_cli::bench_workflows::Bus;
use kassa_domain::DomainError;
use kassa_domain::tenant::{self, NewTenant, TenantDraft};
use kassa_events::rabbitmq::Topology;
use kassa_http::config::EventBus;
use kassa_http::{AppState, Config, telemetry};
use sqlx::migrate::MigrateDatabase;

#[derive(Parser)]
#[command(name = "kassa", version, about = "Kassa: multi-tenant headless commerce")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The bus `kassa bench-relay` measures.
#[derive(Clone, Copy, ValueEnum)]
enum BenchBus {
    Rabbitmq,
    Sqs,
}

#[derive(Subcommand)]
enum Command {
    /// Run every function in one process (KASSA_LISTEN, default 127.0.0.1:8080).
    Serve,
    /// Create the database if it is missing and apply the migrations.
    Migrate,
    /// Manage tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Create the demo shops and catalog (idempotent).
    SeedDemo,
    /// Measure outbox commit → consumer done latency (the `bench` shop must exist): through
    /// the relay loop and RabbitMQ, or (`--bus sqs`) through the functions' publish-after-commit
    /// and SQS on the AWS emulator at AWS_ENDPOINT_URL, with no relay running.
    BenchRelay {
        #[arg(long, default_value_t = 1_000)]
        events: usize,
        #[arg(long, value_enum, default_value_t = BenchBus::Rabbitmq)]
        bus: BenchBus,
    },
    /// Measure order commit → "On order placed" finished through RabbitMQ and the worker, or
    /// (`--bus sqs`) through publish-after-commit, SQS on the AWS emulator and the worker
    /// (the `bench` shop must exist; mail goes to SMTP_URL).
    BenchWorkflows {
        #[arg(long, default_value_t = 200)]
        orders: usize,
        #[arg(long, value_enum, default_value_t = BenchBus::Rabbitmq)]
        bus: BenchBus,
    },
    /// Create the `bench` shop for `make bench` with many products (idempotent).
    SeedBench {
        #[arg(long, default_value_t = 10_000)]
        products: i64,
        /// The shop's handle (a second, smaller shop compares how misses scale).
        #[arg(long, default_value = kassa_cli::bench_seed::BENCH_HANDLE)]
        handle: String,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant (a shop).
    Create {
        #[arg(long)]
        handle: String,
        #[arg(long)]
        name: String,
        /// A hostname the shop is served on; repeat for several.
        #[arg(long = "domain")]
        domains: Vec<String>,
        #[arg(long, default_value = "en")]
        default_locale: String,
        /// Further locales, e.g. `--locale nl --locale de`.
        #[arg(long = "locale")]
        locales: Vec<String>,
        #[arg(long, default_value = "EUR")]
        currency: String,
        /// The Zitadel organisation whose members are the shop's staff.
        #[arg(long = "zitadel-org")]
        zitadel_org: Option<String>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            match err.downcast_ref::<DomainError>() {
                Some(DomainError::Validation(violations)) => eprintln!("error: {violations}"),
                _ => eprintln!("error: {err:#}"),
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::from_env()?;
    telemetry::init(config.log_format);
    match cli.command {
        Command::Serve => serve(config).await,
        Command::Migrate => migrate(&config).await,
        Command::Tenant {
            command:
                TenantCommand::Create { handle, name, domains, default_locale, locales, currency, zitadel_org },
        } => {
            let state = AppState::connect(config)?;
            let draft = TenantDraft {
                handle,
                name,
                default_locale,
                locales,
                default_currency: currency,
                domains,
                zitadel_org_id: zitadel_org,
            };
            let new = NewTenant::parse(&draft)?;
            let tenant = tenant::create(&state.db, &new).await?;
            println!("created tenant {} ({})", tenant.handle, tenant.id);
            Ok(())
        }
        Command::BenchRelay { events, bus } => {
            use kassa_cli::bench_relay::{measure, measure_sqs};
            let (state, bench, bus) = bench_setup(config, bus).await?;
            let latencies = match &bus {
                Bus::RabbitMq(url) => measure(&state.db, &bench, url, events).await?,
                Bus::Sqs(endpoint) => measure_sqs(&state.db, &bench, endpoint, events).await?,
            };
            print_latencies("events", events, &latencies);
            Ok(())
        }
        Command::BenchWorkflows { orders, bus } => {
            let (state, bench, bus) = bench_setup(config, bus).await?;
            let latencies = kassa_cli::bench_workflows::measure(&state, &bench, &bus, orders).await?;
            print_latencies("orders", orders, &latencies);
            Ok(())
        }
        Command::SeedBench { products, handle } => {
            // Bulk loading and ANALYZE are the owner's work.
            let config = Config { database_url: config.database_owner_url.clone(), ..config };
            let state = AppState::connect(config)?;
            let started = std::time::Instant::now();
            let tenant = kassa_cli::bench_seed::seed_bench(&state.db, &handle, products, |done, total| {
                eprintln!("  seeded {done}/{total} products ({:.1} s)", started.elapsed().as_secs_f64());
            })
            .await?;
            println!("bench tenant {} ({}) with {products} products", tenant.handle, tenant.id);
            Ok(())
        }
        Command::SeedDemo => {
            let state = AppState::connect(config)?;
            let mut seeded = kassa_cli::seed::seed_demo_reporting(&state.db).await?;
            if let Some(demo) = seeded.tenants.first() {
                kassa_cli::media_seed::seed_images(&state.db, &state.config, demo, &mut seeded.report)
                    .await?;
            }
            for (tenant, shop) in seeded.tenants.iter().zip(&kassa_cli::seed::DEMO_SHOPS) {
                println!("demo tenant {} ({}) on {}", tenant.handle, tenant.id, shop.domain);
            }
            let added = &seeded.report.added;
            if !added.is_empty() {
                let shown = added.iter().take(10).cloned().collect::<Vec<_>>().join("; ");
                let more =
                    if added.len() > 10 { format!("; and {} more", added.len() - 10) } else { String::new() };
                println!("  added {} missing: {shown}{more}", added.len());
            }
            for skipped in &seeded.report.skipped {
                println!("  skipped {skipped}");
            }
            // `make dev` hands the Mollie simulator's key: the demo shop takes payments with it
            // unless staff saved settings of their own.
            if let (Ok(key), Some(demo)) = (std::env::var("DEMO_MOLLIE_KEY"), seeded.tenants.first())
                && kassa_domain::payments::settings::sealed_key(&state.db, demo).await?.is_none()
            {
                let draft: kassa_domain::payments::SettingsDraft =
                    serde_json::from_value(serde_json::json!({ "api_key": key }))?;
                let valid = draft.parse()?;
                let keyring = kassa_runtime::secrets::Keyring::from_config(&state.config)?;
                let sealed = keyring.seal_api_key(demo.id, &valid.api_key)?;
                kassa_domain::payments::settings::save(&state.db, demo, &valid, &sealed).await?;
                println!("  demo takes payments with the Mollie key in DEMO_MOLLIE_KEY");
            }
            Ok(())
        }
    }
}

/// What a bus bench measures with: the state, the bench shop and the bus (`--bus sqs` needs
/// the AWS emulator).
async fn bench_setup(config: Config, bus: BenchBus) -> anyhow::Result<(AppState, tenant::Tenant, Bus)> {
    let bus = match bus {
        BenchBus::Rabbitmq => Bus::RabbitMq(config.rabbitmq_url.expose().to_owned()),
        BenchBus::Sqs => Bus::Sqs(
            config
                .aws_endpoint_url
                .clone()
                .context("--bus sqs measures on the AWS emulator: set AWS_ENDPOINT_URL")?,
        ),
    };
    let state = AppState::connect(config)?;
    let bench = bench_shop(&state).await?;
    Ok((state, bench, bus))
}

async fn bench_shop(state: &AppState) -> anyhow::Result<tenant::Tenant> {
    let key = tenant::TenantKey::Handle(kassa_cli::bench_seed::BENCH_HANDLE.to_owned());
    tenant::resolve(&state.db, &key).await?.context("run kassa seed-bench first")
}

/// One JSON line: how many, and the p50, p99 and max latency in milliseconds.
fn print_latencies(what: &str, count: usize, latencies: &[f64]) {
    let q = |p| kassa_cli::bench_relay::quantile(latencies, p);
    println!(
        "{{\"{what}\": {count}, \"p50\": {:.2}, \"p99\": {:.2}, \"max\": {:.2}}}",
        q(0.5),
        q(0.99),
        q(1.0)
    );
}

/// Creates the database if missing and applies the migrations, as the owner
/// (DATABASE_OWNER_URL). The migrations create the `kassa_service` login role the platform
/// serves as; when DATABASE_URL gives it a password, that password is set here.
async fn migrate(config: &Config) -> anyhow::Result<()> {
    let url = config.database_owner_url.expose();
    if !sqlx::Postgres::database_exists(url).await.context("cannot reach Postgres at DATABASE_OWNER_URL")? {
        sqlx::Postgres::create_database(url).await.context("cannot create the database")?;
        println!("created the database");
    }
    let pool = sqlx::PgPool::connect(url).await.context("cannot connect to DATABASE_OWNER_URL")?;
    let password = config.service_password();
    kassa_domain::db::migrate(&pool, password.as_deref()).await.context("migrations failed")?;
    println!("migrations applied");
    if config.cart_store == kassa_http::config::CartStore::DynamoDb {
        let store =
            kassa_store::DynamoStore::shared(config.aws_endpoint_url.as_deref(), &config.carts_table).await;
        store.ensure_table().await.context("cannot create the DynamoDB carts table")?;
        println!("DynamoDB table {} is ready", config.carts_table);
    }
    if password.is_some() {
        println!("password of {} set from DATABASE_URL", kassa_domain::db::SERVICE_ROLE);
    }
    if let Some((user, _)) = config.database_login()
        && user != kassa_domain::db::SERVICE_ROLE
    {
        eprintln!(
            "warning: DATABASE_URL logs in as '{user}', not '{}': kassa serve refuses a superuser or a role that bypasses row-level security",
            kassa_domain::db::SERVICE_ROLE
        );
    }
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listen = config.listen;
    let state = AppState::connect(config)?;
    kassa_domain::db::check_service_login(&state.db)
        .await
        .context("DATABASE_URL must log in as the kassa_service role (see README: Security model)")?;
    // The outbox relay and the workflow worker run beside the server, as the scheduled
    // outbox-relay and the worker-engine functions do in the cloud.
    let engine = kassa_engine::Engine::new(&state).context("cannot start the workflow engine")?;
    let config = state.config.clone();
    match config.event_bus {
        EventBus::RabbitMq => {
            let url = config.rabbitmq_url.expose().to_owned();
            tokio::spawn(kassa_events::relay::run(state.db.clone(), url.clone(), Topology::default()));
            tokio::spawn(engine.clone().consume_rabbitmq(url, Topology::default()));
        }
        EventBus::Sqs => {
            let client = kassa_events::sqs::client(config.aws_endpoint_url.as_deref()).await;
            let urls = kassa_events::sqs::ensure_queue(&client, "kassa-events", 5)
                .await
                .context("cannot create the SQS events queue")?;
            tokio::spawn(kassa_events::relay::run_sqs(state.db.clone(), client.clone(), urls.queue.clone()));
            tokio::spawn(engine.clone().consume_sqs(client, urls.queue));
        }
        EventBus::Off => {}
    }
    if config.event_bus != EventBus::Off {
        tokio::spawn(engine.sweep_forever(std::time::Duration::from_secs(1)));
    }
    let listener =
        tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    tracing::info!(%listen, "kassa serving every function");
    // The peer address is the client IP the storefront's rate limit counts.
    let app = kassa_http::app(kassa_cli::local_routes(state))
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            // If the signal handler cannot be installed, serve until killed.
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        })
        .await
        .context("server failed")
}
