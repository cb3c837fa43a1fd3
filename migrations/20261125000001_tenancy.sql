-- Tenancy foundation: tenants, their domains, the application role that every
-- tenant-scoped transaction switches to, and the one narrow path that crosses tenants.
--
-- Rules for every tenant-owned table added from here on:
--   * a `tenant_id uuid not null references tenants(id)` column,
--   * `alter table … enable row level security` and `… force row level security`,
--   * a policy `tenant_isolation` comparing tenant_id with kassa_current_tenant().
-- A test enumerates the catalog and fails if a table with tenant_id misses any of this.

-- Roles are cluster-wide while migrations run per database (tests run many databases at
-- once), so creation tolerates a concurrent or earlier creation.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'kassa_app') then
    begin
      create role kassa_app nologin nobypassrls;
    exception when duplicate_object or unique_violation then null;
    end;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'kassa_tenant_resolver') then
    begin
      create role kassa_tenant_resolver nologin nobypassrls;
    exception when duplicate_object or unique_violation then null;
    end;
  end if;
  -- A non-superuser that runs the platform (RDS) must be allowed to `set local role
  -- kassa_app`, and to hand the resolver function below to kassa_tenant_resolver.
  if not (select rolsuper from pg_roles where rolname = current_user) then
    if not pg_has_role(current_user, 'kassa_app', 'MEMBER') then
      execute format('grant kassa_app to %I', current_user);
    end if;
    if not pg_has_role(current_user, 'kassa_tenant_resolver', 'MEMBER') then
      execute format('grant kassa_tenant_resolver to %I', current_user);
    end if;
  end if;
end
$$;

grant usage on schema public to kassa_app, kassa_tenant_resolver;
alter default privileges in schema public grant select, insert, update, delete on tables to kassa_app;
alter default privileges in schema public grant usage, select on sequences to kassa_app;

-- The tenant of the current transaction, or null when none was set (then every policy
-- compares with null and matches nothing).
create function kassa_current_tenant() returns uuid
  language sql stable parallel safe
  as $$ select nullif(current_setting('app.tenant_id', true), '')::uuid $$;

create table tenants (
  id               uuid primary key,
  handle           text not null,
  name             text not null,
  default_locale   text not null,
  locales          text[] not null,
  default_currency char(3) not null,
  settings         jsonb not null default '{}'::jsonb,
  created_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now(),
  constraint tenants_handle_key unique (handle),
  constraint tenants_handle_format check (handle ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
  constraint tenants_default_locale_listed check (default_locale = any (locales)),
  constraint tenants_settings_object check (jsonb_typeof(settings) = 'object')
);

create table tenant_domains (
  hostname   text primary key,
  tenant_id  uuid not null references tenants (id) on delete cascade,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint tenant_domains_hostname_lowercase check (hostname = lower(hostname))
);
create index tenant_domains_tenant_id_idx on tenant_domains (tenant_id);

alter table tenants enable row level security;
alter table tenants force row level security;
create policy tenant_isolation on tenants to kassa_app
  using (id = kassa_current_tenant()) with check (id = kassa_current_tenant());

alter table tenant_domains enable row level security;
alter table tenant_domains force row level security;
create policy tenant_isolation on tenant_domains to kassa_app
  using (tenant_id = kassa_current_tenant()) with check (tenant_id = kassa_current_tenant());

-- The one path across tenants: resolving a request's tenant key (id, handle or hostname)
-- before any tenant is known. It runs as kassa_tenant_resolver, which may only read these
-- two tables and only their public columns; RLS stays on and forced.
grant select on tenants, tenant_domains to kassa_tenant_resolver;
create policy tenant_resolution on tenants for select to kassa_tenant_resolver using (true);
create policy tenant_resolution on tenant_domains for select to kassa_tenant_resolver using (true);

create function kassa_resolve_tenant(p_id uuid, p_handle text, p_hostname text)
  returns table (id uuid, handle text, name text, default_locale text, locales text[], default_currency text)
  language sql stable security definer
  set search_path = public, pg_temp
  as $$
    select t.id, t.handle, t.name, t.default_locale, t.locales, t.default_currency::text
    from tenants t
    where (p_id is not null and t.id = p_id)
       or (p_handle is not null and t.handle = p_handle)
       or (p_hostname is not null and t.id = (select d.tenant_id from tenant_domains d where d.hostname = lower(p_hostname)))
    limit 1
  $$;
-- A new owner needs create on the schema; it is granted only for the hand-over.
grant create on schema public to kassa_tenant_resolver;
alter function kassa_resolve_tenant(uuid, text, text) owner to kassa_tenant_resolver;
revoke create on schema public from kassa_tenant_resolver;
revoke all on function kassa_resolve_tenant(uuid, text, text) from public;
grant execute on function kassa_resolve_tenant(uuid, text, text) to kassa_app;

-- Keep updated_at honest without every statement having to remember it.
create function kassa_touch_updated_at() returns trigger language plpgsql as $$
begin
  new.updated_at := now();
  return new;
end
$$;
create trigger tenants_touch before update on tenants
  for each row execute function kassa_touch_updated_at();
create trigger tenant_domains_touch before update on tenant_domains
  for each row execute function kassa_touch_updated_at();
