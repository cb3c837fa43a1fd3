//! Tenant reads in one round trip per statement, or fewer.
//!
//! A [`TenantRead`] sends each statement as one simple-protocol message that sets the scope
//! and executes it, which Postgres runs as one implicit transaction:
//!
//! ```sql
//! select set_config('role', 'kassa_app', true), set_config('app.tenant_id', '…', true),
//!        set_config('transaction_read_only', 'on', true), set_config('plan_cache_mode', '…', true);
//! execute k…('…', …)
//! ```
//!
//! The scope is the one [`begin_tenant_tx`](super::begin_tenant_tx) sets — the `kassa_app`
//! role under forced row-level security, the tenant, read only — and it ends with the message,
//! so the connection goes back to the pool clean and nothing is left to roll back. The
//! statement itself is prepared once per connection (`PREPARE`, with its parameters' types) and
//! executed by name with its values written as literals: Postgres keeps its plans as for any
//! prepared statement ([`Plans`]). A message whose statement this connection has not
//! prepared yet fails (`26000`) and is sent again with the `PREPARE`s of its statements in it:
//! one more round trip, the first time a connection meets a statement.
//!
//! Values reach the SQL only through [`Literal`]: UUIDs, integers and booleans as their own
//! digits, text as an escape string (`E'…'`, backslashes and quotes doubled, NUL refused), so
//! a value can never end its literal. The client encoding is UTF-8 (sqlx sets it), and an
//! escape string means the same whatever `standard_conforming_strings` says.
//!
//! A read whose later statements depend on what its first one returns (a page's product grids
//! on its document, a collection's members on its rules) can [`recall`](TenantRead::recall)
//! what the last read of the same shape ran: those statements go ahead in the first message,
//! and later statements that turn out to be the very same (text, values, plan mode) are answered
//! from their rows. So such a read also takes one round trip while its shape holds. A guess that
//! turns out wrong never answers a statement with another one's rows: it costs the server the
//! work, and one more round trip if a guessed statement fails (the message is sent again
//! without the guesses). Independent statements go in one message with
//! [`fetch_pair`](TenantRead::fetch_pair).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::TryStreamExt;
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgRow;
use sqlx::{Either, FromRow, PgConnection, PgPool, Postgres};
use uuid::Uuid;

use super::Plans;
use crate::tenant::TenantId;

/// When a message's `PREPARE`s would take a connection past this many statements prepared
/// here, it first deallocates them all: the number of statement shapes is bounded by the code,
/// but filters combine, and each prepared statement keeps its plans in the server's memory.
const PREPARED_LIMIT: usize = 256;

/// A value a [`ReadQuery`] can carry, written as a SQL literal of type [`Literal::TYPE`].
pub trait Literal {
    /// The parameter's type in the `PREPARE`.
    const TYPE: &'static str;
    /// Appends the literal (a `NUL` in text is refused: Postgres stores none).
    fn write(&self, out: &mut String) -> Result<(), NulInText>;
}

/// A value that can also be an array element ([`Vec`] of it is a [`Literal`]).
pub trait Element: Literal {
    /// The array type, e.g. `uuid[]`.
    const ARRAY: &'static str;
}

/// Text with a NUL character, which no Postgres literal (and no Postgres text) can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NulInText;

fn write_text(text: &str, out: &mut String) -> Result<(), NulInText> {
    if text.contains('\0') {
        return Err(NulInText);
    }
    out.reserve(text.len() + 3);
    out.push_str("E'");
    for c in text.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
    Ok(())
}

impl Literal for String {
    const TYPE: &'static str = "text";
    fn write(&self, out: &mut String) -> Result<(), NulInText> {
        write_text(self, out)
    }
}

impl Element for String {
    const ARRAY: &'static str = "text[]";
}

impl Literal for &str {
    const TYPE: &'static str = "text";
    fn write(&self, out: &mut String) -> Result<(), NulInText> {
        write_text(self, out)
    }
}

impl Literal for Uuid {
    const TYPE: &'static str = "uuid";
    fn write(&self, out: &mut String) -> Result<(), NulInText> {
        // Hex digits and dashes only.
        let _ = write!(out, "'{}'", self.hyphenated());
        Ok(())
    }
}

impl Element for Uuid {
    const ARRAY: &'static str = "uuid[]";
}

impl Literal for TenantId {
    const TYPE: &'static str = "uuid";
    fn write(&self, out: &mut String) -> Result<(), NulInText> {
        self.as_uuid().write(out)
    }
}

impl Literal for i64 {
    const TYPE: &'static str = "int8";
    fn write(&self, out: &mut String) -> Result<(), NulInText> {
        // A leading minus would read as an operator in `EXECUTE s(-1)`: fine, but quoted it is
        // one token whatever surrounds it.
        let _ = write!(out, "'{self}'");
        Ok(())
    }
}

impl Literal for i32 {
    const TYPE: &'static str = "int4";
    fn write(&self, out: &mut String) -> Result<(), NulInText> {
        let _ = write!(out, "'{self}'");
        Ok(())
    }
}

impl Literal for bool {
    const TYPE: &'static str = "bool";
    fn write(&self, out: &mut String) -> Result<(), NulInText> {
        out.push_str(if *self { "true" } else { "false" });
        Ok(())
    }
}

impl Literal for DateTime<Utc> {
    const TYPE: &'static str = "timestamptz";
    fn write(&self, out: &mut String) -> Result<(), NulInText> {
        let _ = write!(out, "'{}'", self.to_rfc3339_opts(SecondsFormat::Micros, true));
        Ok(())
    }
}

impl Literal for serde_json::Value {
    const TYPE: &'static str = "jsonb";
    fn write(&self, out: &mut String) -> Result<(), NulInText> {
        write_text(&self.to_string(), out)
    }
}

impl Element for serde_json::Value {
    const ARRAY: &'static str = "jsonb[]";
}

impl<T: Element> Literal for Vec<T> {
    const TYPE: &'static str = T::ARRAY;
    fn write(&self, out: &mut String) -> Result<(), NulInText> {
        if self.is_empty() {
            let _ = write!(out, "'{{}}'::{}", T::ARRAY);
            return Ok(());
        }
        out.push_str("array[");
        for (i, item) in self.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            item.write(out)?;
        }
        let _ = write!(out, "]::{}", T::ARRAY);
        Ok(())
    }
}

impl<T: Literal> Literal for Option<T> {
    const TYPE: &'static str = T::TYPE;
    fn write(&self, out: &mut String) -> Result<(), NulInText> {
        match self {
            Some(value) => value.write(out),
            None => {
                out.push_str("null");
                Ok(())
            }
        }
    }
}

/// A statement for a [`TenantRead`], built as with sqlx's `QueryBuilder`: [`push`](Self::push)
/// SQL, [`push_bind`](Self::push_bind) a value (it becomes `$n`).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ReadQuery {
    sql: String,
    types: Vec<&'static str>,
    values: Vec<String>,
    refused: Option<NulInText>,
}

impl ReadQuery {
    pub fn new(sql: impl std::fmt::Display) -> Self {
        ReadQuery { sql: sql.to_string(), ..ReadQuery::default() }
    }

    /// Appends SQL (never a value: values go through [`push_bind`](Self::push_bind)).
    pub fn push(&mut self, sql: impl std::fmt::Display) -> &mut Self {
        let _ = write!(self.sql, "{sql}");
        self
    }

    /// Appends the next parameter (`$n`) and keeps `value` as its literal.
    pub fn push_bind<T: Literal>(&mut self, value: T) -> &mut Self {
        self.add(value);
        let _ = write!(self.sql, "${}", self.values.len());
        self
    }

    /// The value of the next parameter of a statement that names its parameters itself
    /// (`$1`, `$2`, … in order), as with `sqlx::query(…).bind(…)`.
    pub fn bind<T: Literal>(mut self, value: T) -> Self {
        self.add(value);
        self
    }

    fn add<T: Literal>(&mut self, value: T) {
        let mut literal = String::new();
        if let Err(err) = value.write(&mut literal) {
            self.refused.get_or_insert(err);
        }
        self.types.push(T::TYPE);
        self.values.push(literal);
    }

    /// The statement's text, `$n` where the values go.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The statement's name on a connection: a digest of its text and parameter types, so one
    /// name is always one statement.
    fn name(&self) -> String {
        let digest = |salt: u64| {
            let mut h = std::hash::DefaultHasher::new();
            salt.hash(&mut h);
            self.sql.hash(&mut h);
            self.types.hash(&mut h);
            h.finish()
        };
        format!("k{:016x}{:016x}", digest(1), digest(2))
    }

    fn prepare(&self, name: &str) -> String {
        format!("prepare {name}{} as {}", list(&self.types), self.sql)
    }

    fn execute(&self, name: &str) -> String {
        format!("execute {name}{}", list(&self.values))
    }
}

/// `(a, b, …)`, or nothing for no items.
fn list(items: &[impl AsRef<str>]) -> String {
    if items.is_empty() {
        return String::new();
    }
    let items: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    format!("({})", items.join(", "))
}

/// Reads of one tenant's rows, each statement in one round trip (see the module's docs).
/// Only [`begin_read`] makes one; like a [`TenantTx`](super::TenantTx) it cannot be pointed
/// at another tenant. Statements read committed data each on its own snapshot, as each
/// statement of a read-committed transaction does; a statement answered from rows
/// [recalled](TenantRead::recall) ahead read them when the message that carried it ran.
pub struct TenantRead {
    conn: PoolConnection<Postgres>,
    tenant: TenantId,
    plans: Plans,
    messages: usize,
    recall: Option<Recall>,
}

/// A statement as a read ran it, planned as it was.
#[derive(Debug, Clone)]
struct Ran {
    query: ReadQuery,
    plans: Plans,
}

/// What a read that [recalls](TenantRead::recall) a key carries: the statements the last
/// read under that key ran after its first message (until sent ahead), the rows of those sent
/// ahead and not asked for yet, and the statements this read ran after its first message.
struct Recall {
    key: u64,
    expected: Option<Arc<[Ran]>>,
    fetched: Vec<(Ran, Vec<PgRow>)>,
    later: Vec<Ran>,
}

impl Drop for Recall {
    /// However the read ended (a page found gone ends it early), the next read under the key
    /// expects what this one ran after its first message.
    fn drop(&mut self) {
        let later = std::mem::take(&mut self.later);
        if later.is_empty() {
            recalled().forget(self.key);
        } else {
            recalled().keep(self.key, later);
        }
    }
}

/// About this many bytes of statements are remembered, all keys together (when one more would
/// not fit, keys are forgotten until half of it is free): a page's statements take a few KB.
const RECALLED_BYTES: usize = 1 << 20;

/// What reads under each key ran (by a digest of the tenant and the key), and the bytes of
/// their statements' text and values.
#[derive(Default)]
struct Recalled {
    reads: HashMap<u64, Arc<[Ran]>>,
    bytes: usize,
}

static RECALLED: LazyLock<Mutex<Recalled>> = LazyLock::new(Default::default);

impl Ran {
    /// Whether this is `query` planned as `plans`: the very same statement.
    fn is(&self, query: &ReadQuery, plans: Plans) -> bool {
        self.plans == plans && self.query == *query
    }

    /// Its text, values and types, and a rough allowance for the containers.
    fn bytes(&self) -> usize {
        let query = &self.query;
        64 + query.sql.len()
            + query.values.iter().map(|v| v.len() + 24).sum::<usize>()
            + query.types.len() * 16
    }
}

fn bytes(ran: &[Ran]) -> usize {
    ran.iter().map(Ran::bytes).sum()
}

impl Recalled {
    fn forget(&mut self, key: u64) {
        if let Some(ran) = self.reads.remove(&key) {
            self.bytes -= bytes(&ran);
        }
    }

    fn keep(&mut self, key: u64, ran: Vec<Ran>) {
        self.forget(key);
        let size = bytes(&ran);
        if size > RECALLED_BYTES / 2 {
            return;
        }
        if self.bytes + size > RECALLED_BYTES {
            // Any keys (the map's order): a key forgotten costs its next read one round trip.
            let mut room = self.bytes;
            self.reads.retain(|_, ran| {
                let keep = room + size <= RECALLED_BYTES / 2;
                if !keep {
                    room -= bytes(ran);
                }
                keep
            });
            self.bytes = room;
        }
        self.bytes += size;
        self.reads.insert(key, ran.into());
    }
}

fn recalled() -> MutexGuard<'static, Recalled> {
    // Every change to the map is made whole under the lock, so a panic elsewhere while it was
    // held leaves it consistent.
    RECALLED.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A read of `tenant`'s rows, its statements planned as `plans` says. Takes a connection
/// from the pool and sends nothing.
pub async fn begin_read(pool: &PgPool, tenant: TenantId, plans: Plans) -> Result<TenantRead, sqlx::Error> {
    Ok(TenantRead { conn: pool.acquire().await?, tenant, plans, messages: 0, recall: None })
}

impl TenantRead {
    /// Plans the statements from here on as `plans` says (sent with the next statement).
    pub fn plan(&mut self, plans: Plans) {
        self.plans = plans;
    }

    /// Call before the first statement. Sends, with this read's first message, the statements
    /// the last read under `key` (of this tenant) ran after its own first message, and answers
    /// them from those rows when they are asked for: a read whose later statements depend on
    /// what its first one returns (a page, then its product grids) takes one round trip as long
    /// as they turn out the same. A statement is answered ahead only when it is the very same
    /// (text, values and plan mode); anything else is sent as always (see the module's docs
    /// for what a wrong guess costs). When the read ends, what it ran after its first message
    /// is what the next read under `key` expects.
    pub fn recall(&mut self, key: impl Hash) {
        let mut h = std::hash::DefaultHasher::new();
        self.tenant.as_uuid().hash(&mut h);
        key.hash(&mut h);
        let key = h.finish();
        let expected = recalled().reads.get(&key).cloned();
        self.recall = Some(Recall { key, expected, fetched: Vec::new(), later: Vec::new() });
    }

    /// The messages this read has sent to Postgres (each one round trip).
    pub fn round_trips(&self) -> usize {
        self.messages
    }

    pub async fn fetch_all<T>(&mut self, query: &ReadQuery) -> Result<Vec<T>, sqlx::Error>
    where
        T: for<'r> FromRow<'r, PgRow>,
    {
        self.rows(query).await?.iter().map(T::from_row).collect()
    }

    pub async fn fetch_optional<T>(&mut self, query: &ReadQuery) -> Result<Option<T>, sqlx::Error>
    where
        T: for<'r> FromRow<'r, PgRow>,
    {
        self.rows(query).await?.first().map(T::from_row).transpose()
    }

    pub async fn fetch_one<T>(&mut self, query: &ReadQuery) -> Result<T, sqlx::Error>
    where
        T: for<'r> FromRow<'r, PgRow>,
    {
        self.fetch_optional(query).await?.ok_or(sqlx::Error::RowNotFound)
    }

    /// Two independent statements in one round trip (one message, one implicit transaction;
    /// each statement on its own snapshot, as always).
    pub async fn fetch_pair<A, B>(
        &mut self,
        a: &ReadQuery,
        b: &ReadQuery,
    ) -> Result<(Vec<A>, Vec<B>), sqlx::Error>
    where
        A: for<'r> FromRow<'r, PgRow>,
        B: for<'r> FromRow<'r, PgRow>,
    {
        let mut rows = self.fetch(&[a, b]).await?;
        let b_rows = rows.pop().unwrap_or_default();
        let a_rows = rows.pop().unwrap_or_default();
        Ok((
            a_rows.iter().map(A::from_row).collect::<Result<_, _>>()?,
            b_rows.iter().map(B::from_row).collect::<Result<_, _>>()?,
        ))
    }

    async fn rows(&mut self, query: &ReadQuery) -> Result<Vec<PgRow>, sqlx::Error> {
        Ok(self.fetch(&[query]).await?.pop().unwrap_or_default())
    }

    /// The rows of each of `queries`: those fetched ahead from what was recalled, the others
    /// in one message, with what is still expected sent ahead in it. Statements are copied
    /// only for a read that recalls (to remember them, or the rows sent ahead).
    async fn fetch(&mut self, queries: &[&ReadQuery]) -> Result<Vec<Vec<PgRow>>, sqlx::Error> {
        let plans = self.plans;
        let first = self.messages == 0;
        let mut out: Vec<Option<Vec<PgRow>>> = queries.iter().map(|_| None).collect();
        let mut sent: Vec<(&ReadQuery, Plans)> = Vec::new();
        for (&query, slot) in queries.iter().zip(&mut out) {
            refuse_nul(query)?;
            let Some(recall) = &mut self.recall else {
                sent.push((query, plans));
                continue;
            };
            match recall.fetched.iter().position(|(ran, _)| ran.is(query, plans)) {
                Some(i) => *slot = Some(recall.fetched.swap_remove(i).1),
                None => sent.push((query, plans)),
            }
            if !first {
                recall.later.push(Ran { query: query.clone(), plans });
            }
        }
        if sent.is_empty() {
            return Ok(out.into_iter().map(Option::unwrap_or_default).collect());
        }
        // What the last read under the key ran later goes with this message (a statement sent
        // anyway is not sent twice).
        let count = sent.len();
        let expected = self.recall.as_mut().and_then(|r| r.expected.take());
        if let Some(expected) = &expected {
            let mut matched = vec![false; count];
            for ran in expected.iter() {
                match (0..count).find(|&i| !matched[i] && ran.is(sent[i].0, sent[i].1)) {
                    Some(i) => matched[i] = true,
                    None => sent.push((&ran.query, ran.plans)),
                }
            }
        }
        let mut rows = match self.send(&sent).await {
            Ok(rows) => rows,
            // A statement sent ahead failed (its table is gone, say): this read goes on without
            // them. Not when the server cancelled the message (a timeout): that would only
            // take as long again.
            Err(sqlx::Error::Database(err))
                if sent.len() > count && err.code().as_deref() != Some("57014") =>
            {
                sent.truncate(count);
                self.send(&sent).await?
            }
            Err(err) => return Err(err),
        };
        if let Some(recall) = &mut self.recall {
            let ahead = sent.drain(count..).map(|(query, plans)| Ran { query: query.clone(), plans });
            recall.fetched.extend(ahead.zip(rows.drain(count..)));
        }
        let mut rows = rows.into_iter();
        for slot in out.iter_mut().filter(|slot| slot.is_none()) {
            *slot = rows.next();
        }
        Ok(out.into_iter().map(Option::unwrap_or_default).collect())
    }

    /// Runs `statements` in one message; when one of them is not prepared on this connection
    /// (or was prepared for a result type a migration has changed since), in a second message
    /// that prepares them all again.
    async fn send(&mut self, statements: &[(&ReadQuery, Plans)]) -> Result<Vec<Vec<PgRow>>, sqlx::Error> {
        match self.run(statements, false).await {
            // 26000: no statement of that name on this connection yet. 0A000: "cached plan
            // must not change result type", after a migration changed what it reads.
            Err(sqlx::Error::Database(err)) if matches!(err.code().as_deref(), Some("26000" | "0A000")) => {
                self.run(statements, true).await
            }
            result => result,
        }
    }

    /// One message: (when `prepare`) a `do` block that drops these statements if this
    /// connection has them, and all of ours once there would be too many, then the scope,
    /// (when `prepare`) each statement's `PREPARE`, and each `EXECUTE`, preceded by a change
    /// of plan mode where it differs from the one before. The rows of each `EXECUTE`.
    async fn run(
        &mut self,
        statements: &[(&ReadQuery, Plans)],
        prepare: bool,
    ) -> Result<Vec<Vec<PgRow>>, sqlx::Error> {
        let Some(&(_, first_plans)) = statements.first() else { return Ok(Vec::new()) };
        let names: Vec<String> = statements.iter().map(|(query, _)| query.name()).collect();
        let mut unique: Vec<(&str, &ReadQuery)> = Vec::new();
        for (name, &(query, _)) in names.iter().zip(statements) {
            if !unique.iter().any(|(n, _)| n == name) {
                unique.push((name, query));
            }
        }
        let mut sql = Vec::new();
        if prepare {
            // The `do` block runs before the scope, as the login role. Names are hex digits.
            let quoted: Vec<String> = unique.iter().map(|(name, _)| format!("'{name}'")).collect();
            sql.push(format!(
                "do $$ declare s text; begin \
                 for s in select p.name from pg_prepared_statements p where p.name in ({}) loop \
                 execute format('deallocate %I', s); end loop; \
                 if (select count(*) from pg_prepared_statements where from_sql) + {} > {PREPARED_LIMIT} then \
                 for s in select p.name from pg_prepared_statements p where p.from_sql loop \
                 execute format('deallocate %I', s); end loop; end if; end $$",
                quoted.join(", "),
                unique.len(),
            ));
        }
        sql.push(self.scope(first_plans));
        if prepare {
            sql.extend(unique.iter().map(|(name, query)| query.prepare(name)));
        }
        let mut executes = Vec::with_capacity(statements.len());
        let mut plans = first_plans;
        for (name, &(query, mode)) in names.iter().zip(statements) {
            if mode != plans {
                plans = mode;
                sql.push(format!("select set_config('plan_cache_mode', '{}', true)", plans.setting()));
            }
            executes.push(sql.len());
            sql.push(query.execute(name));
        }
        self.messages += 1;
        let mut results = run(&mut self.conn, &sql.join("; ")).await?;
        Ok(executes.into_iter().map(|i| results.get_mut(i).map(std::mem::take).unwrap_or_default()).collect())
    }

    /// The scope statement; the tenant id is a UUID formatted here, the plan mode one of two
    /// constants.
    fn scope(&self, plans: Plans) -> String {
        format!(
            "select set_config('role', 'kassa_app', true), set_config('app.tenant_id', '{}', true), \
             set_config('transaction_read_only', 'on', true), set_config('plan_cache_mode', '{}', true)",
            self.tenant.as_uuid().hyphenated(),
            plans.setting()
        )
    }
}

fn refuse_nul(query: &ReadQuery) -> Result<(), sqlx::Error> {
    match query.refused {
        Some(NulInText) => {
            Err(sqlx::Error::Encode("text with a NUL character cannot be sent to Postgres".into()))
        }
        None => Ok(()),
    }
}

/// Runs a simple-protocol message and returns each statement's rows, by statement (every
/// statement completes with a `CommandComplete`, rows or none).
async fn run(conn: &mut PgConnection, sql: &str) -> Result<Vec<Vec<PgRow>>, sqlx::Error> {
    let mut statements = vec![Vec::new()];
    let mut results = sqlx::raw_sql(sql).fetch_many(conn);
    while let Some(item) = results.try_next().await? {
        match item {
            Either::Left(_) => statements.push(Vec::new()),
            Either::Right(row) => {
                if let Some(rows) = statements.last_mut() {
                    rows.push(row);
                }
            }
        }
    }
    // The entry opened by the last statement's completion holds nothing.
    statements.pop();
    Ok(statements)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn literal<T: Literal>(value: T) -> String {
        let mut out = String::new();
        value.write(&mut out).unwrap();
        out
    }

    #[test]
    fn text_cannot_end_its_literal() {
        assert_eq!(literal("it's"), "E'it''s'");
        assert_eq!(literal(r"a\'; drop table products; --"), r"E'a\\''; drop table products; --'");
        assert_eq!(literal("$1 $$ ü"), "E'$1 $$ ü'");
        assert!("a\0b".write(&mut String::new()).is_err());
    }

    #[test]
    fn values_are_typed_and_arrays_cast() {
        assert_eq!(literal(-3_i64), "'-3'");
        assert_eq!(literal(Vec::<Uuid>::new()), "'{}'::uuid[]");
        assert_eq!(literal(vec!["a".to_owned(), "b'".to_owned()]), "array[E'a', E'b''']::text[]");
        assert_eq!(literal(None::<String>), "null");
        let mut q = ReadQuery::new("select ");
        q.push_bind(1_i64).push(" + ").push_bind(Some(2_i64));
        assert_eq!(q.sql(), "select $1 + $2");
        assert_eq!(q.execute("k"), "execute k('1', '2')");
        assert_eq!(q.prepare("k"), "prepare k(int8, int8) as select $1 + $2");
        let named = ReadQuery::new("select $1 + $2").bind(1_i64).bind(Some(2_i64));
        assert_eq!((named.sql(), named.execute("k")), (q.sql(), q.execute("k")));
    }

    #[test]
    fn one_name_is_one_statement() {
        let mut a = ReadQuery::new("select ");
        a.push_bind(1_i64);
        let mut b = ReadQuery::new("select ");
        b.push_bind(1_i32);
        let mut c = ReadQuery::new("select ");
        c.push_bind(7_i64);
        assert_ne!(a.name(), b.name());
        assert_eq!(a.name(), c.name());
        assert!(a.name().len() < 64);
    }
}
