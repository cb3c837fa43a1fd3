//! Tenant reads in one round trip per statement.
//!
//! A [`TenantRead`] sends each statement as one simple-protocol message of two statements,
//! which Postgres runs as one implicit transaction:
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
//! prepared statement ([`Plans`]). The first use on a connection finds no such statement
//! (`26000`) and sends the same message with the `PREPARE` in it: one more round trip, once per
//! statement and connection.
//!
//! Values reach the SQL only through [`Literal`]: UUIDs, integers and booleans as their own
//! digits, text as an escape string (`E'…'`, backslashes and quotes doubled, NUL refused), so
//! a value can never end its literal. The client encoding is UTF-8 (sqlx sets it), and an
//! escape string means the same whatever `standard_conforming_strings` says.

use std::fmt::Write as _;
use std::hash::{Hash, Hasher};

use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::TryStreamExt;
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgRow;
use sqlx::{Either, FromRow, PgConnection, PgPool, Postgres};
use uuid::Uuid;

use super::Plans;
use crate::tenant::TenantId;

/// Once a connection holds this many statements prepared here, the next `PREPARE` on it
/// first deallocates them all: the number of statement shapes is bounded by the code, but
/// filters combine, and each prepared statement keeps its plans in the server's memory.
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
#[derive(Debug, Clone, Copy)]
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
#[derive(Debug, Default)]
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
/// statement of a read-committed transaction does.
pub struct TenantRead {
    conn: PoolConnection<Postgres>,
    tenant: TenantId,
    plans: Plans,
}

/// A read of `tenant`'s rows, its statements planned as `plans` says. Takes a connection
/// from the pool and sends nothing.
pub async fn begin_read(pool: &PgPool, tenant: TenantId, plans: Plans) -> Result<TenantRead, sqlx::Error> {
    Ok(TenantRead { conn: pool.acquire().await?, tenant, plans })
}

impl TenantRead {
    /// Plans the statements from here on as `plans` says (sent with the next statement).
    pub fn plan(&mut self, plans: Plans) {
        self.plans = plans;
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

    /// Two independent statements in one round trip (one message, one implicit transaction:
    /// both see the same committed data).
    pub async fn fetch_pair<A, B>(
        &mut self,
        a: &ReadQuery,
        b: &ReadQuery,
    ) -> Result<(Vec<A>, Vec<B>), sqlx::Error>
    where
        A: for<'r> FromRow<'r, PgRow>,
        B: for<'r> FromRow<'r, PgRow>,
    {
        let (a_rows, b_rows) = match self.batch(&[a, b]).await? {
            Some(mut rows) => {
                let b_rows = rows.pop().unwrap_or_default();
                (rows.pop().unwrap_or_default(), b_rows)
            }
            // Not both prepared on this connection yet: one at a time, each prepared as needed.
            None => (self.rows(a).await?, self.rows(b).await?),
        };
        Ok((
            a_rows.iter().map(A::from_row).collect::<Result<_, _>>()?,
            b_rows.iter().map(B::from_row).collect::<Result<_, _>>()?,
        ))
    }

    /// The scope statement; the tenant id is a UUID formatted here, the plan mode one of two
    /// constants.
    fn scope(&self) -> String {
        format!(
            "select set_config('role', 'kassa_app', true), set_config('app.tenant_id', '{}', true), \
             set_config('transaction_read_only', 'on', true), set_config('plan_cache_mode', '{}', true)",
            self.tenant.as_uuid().hyphenated(),
            self.plans.setting()
        )
    }

    /// The statements' rows, executed in one message; `None` when one of them must be prepared
    /// (again) on this connection first (what ran before it is discarded).
    async fn batch(&mut self, queries: &[&ReadQuery]) -> Result<Option<Vec<Vec<PgRow>>>, sqlx::Error> {
        let mut sql = self.scope();
        for query in queries {
            refuse_nul(query)?;
            sql.push_str("; ");
            sql.push_str(&query.execute(&query.name()));
        }
        match run(&mut self.conn, &sql).await {
            Ok(mut rows) => {
                rows.resize_with(queries.len() + 1, Vec::new);
                Ok(Some(rows.split_off(1)))
            }
            // 26000: no statement of that name on this connection yet. 0A000: "cached plan
            // must not change result type", after a migration changed what it reads.
            Err(sqlx::Error::Database(err)) if matches!(err.code().as_deref(), Some("26000" | "0A000")) => {
                Ok(None)
            }
            Err(err) => Err(err),
        }
    }

    async fn rows(&mut self, query: &ReadQuery) -> Result<Vec<PgRow>, sqlx::Error> {
        if let Some(mut rows) = self.batch(&[query]).await? {
            return Ok(rows.pop().unwrap_or_default());
        }
        // (Re)prepare it. The `do` block runs before the scope, as the login role: it drops a
        // stale statement of this name, and all of them once there are too many. The name is
        // hex digits.
        let name = query.name();
        let forget = format!(
            "do $$ declare s text; begin \
             if exists (select 1 from pg_prepared_statements where name = '{name}') then \
             execute 'deallocate {name}'; end if; \
             if (select count(*) from pg_prepared_statements where from_sql) >= {PREPARED_LIMIT} then \
             for s in select p.name from pg_prepared_statements p where p.from_sql loop \
             execute format('deallocate %I', s); end loop; end if; end $$"
        );
        let sql = format!("{forget}; {}; {}; {}", self.scope(), query.prepare(&name), query.execute(&name));
        // The last statement is the `execute`.
        Ok(run(&mut self.conn, &sql).await?.into_iter().last().unwrap_or_default())
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

/// Runs a simple-protocol message and returns each statement's rows, by statement (a
/// statement that returns no rows may be missing from the end).
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
