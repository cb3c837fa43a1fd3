-- Kassa serves as `kassa_service`, a login role that is no superuser, cannot bypass
-- row-level security and owns nothing: only migrations run as the owner. It holds no table
-- privilege of its own (NOINHERIT), so every query it makes runs inside a transaction that
-- switched to `kassa_app` (one tenant, forced row-level security) or `kassa_relay` (the
-- outbox relay and workflow sweeper's narrow cross-tenant reads). Tenants are resolved
-- through the security-definer `kassa_resolve_tenant()`, which it may execute.
--
-- `kassa migrate` sets the role's password when DATABASE_URL carries one.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'kassa_service') then
    begin
      create role kassa_service login noinherit nosuperuser nobypassrls nocreatedb nocreaterole;
    exception when duplicate_object or unique_violation then null;
    end;
  end if;
end
$$;

grant kassa_app to kassa_service;
grant kassa_relay to kassa_service;
grant execute on function kassa_resolve_tenant(uuid, text, text) to kassa_service;
