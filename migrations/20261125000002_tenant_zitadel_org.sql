-- Staff sign in with Zitadel; a tenant's staff are the users holding a role in the tenant's
-- Zitadel organisation. One organisation belongs to at most one tenant.
alter table tenants add column zitadel_org_id text;
alter table tenants add constraint tenants_zitadel_org_id_key unique (zitadel_org_id);
alter table tenants add constraint tenants_zitadel_org_id_format
  check (zitadel_org_id ~ '^[A-Za-z0-9_-]{1,64}$');

-- The resolver now also returns the organisation (its result type changes, so it is
-- recreated, and handed to kassa_tenant_resolver exactly as in the first migration).
drop function kassa_resolve_tenant(uuid, text, text);
create function kassa_resolve_tenant(p_id uuid, p_handle text, p_hostname text)
  returns table (id uuid, handle text, name text, default_locale text, locales text[],
                 default_currency text, zitadel_org_id text)
  language sql stable security definer
  set search_path = public, pg_temp
  as $$
    select t.id, t.handle, t.name, t.default_locale, t.locales, t.default_currency::text, t.zitadel_org_id
    from tenants t
    where (p_id is not null and t.id = p_id)
       or (p_handle is not null and t.handle = p_handle)
       or (p_hostname is not null and t.id = (select d.tenant_id from tenant_domains d where d.hostname = lower(p_hostname)))
    limit 1
  $$;
grant create on schema public to kassa_tenant_resolver;
alter function kassa_resolve_tenant(uuid, text, text) owner to kassa_tenant_resolver;
revoke create on schema public from kassa_tenant_resolver;
revoke all on function kassa_resolve_tenant(uuid, text, text) from public;
grant execute on function kassa_resolve_tenant(uuid, text, text) to kassa_app;
