-- The storefront reads a tenant's settings (HTTP cache lifetimes, …) with its public
-- profile, so the resolver now returns them too.
drop function kassa_resolve_tenant(uuid, text, text);
create function kassa_resolve_tenant(p_id uuid, p_handle text, p_hostname text)
  returns table (id uuid, handle text, name text, default_locale text, locales text[],
                 default_currency text, zitadel_org_id text, settings jsonb)
  language sql stable security definer
  set search_path = public, pg_temp
  as $$
    select t.id, t.handle, t.name, t.default_locale, t.locales, t.default_currency::text, t.zitadel_org_id,
           t.settings
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

-- Storefront lists: active products of a tenant by price. The cheapest variant price per
-- product and currency is kept on the product by trigger, so price sorts and price ranges
-- use an index instead of aggregating every variant.
create table product_prices (
  tenant_id    uuid not null references tenants (id) on delete cascade,
  product_id   uuid not null,
  currency     char(3) not null,
  min_amount   bigint not null,
  constraint product_prices_pkey primary key (tenant_id, product_id, currency),
  constraint product_prices_product_fkey foreign key (tenant_id, product_id)
    references products (tenant_id, id) on delete cascade
);
create index product_prices_sort_idx on product_prices (tenant_id, currency, min_amount, product_id);
alter table product_prices enable row level security;
alter table product_prices force row level security;
create policy tenant_isolation on product_prices to kassa_app
  using (tenant_id = kassa_current_tenant()) with check (tenant_id = kassa_current_tenant());

create function kassa_refresh_product_prices() returns trigger language plpgsql as $$
declare
  r record;
begin
  for r in
    select distinct tenant_id, product_id from (
      select new.tenant_id, new.product_id where tg_op in ('INSERT', 'UPDATE')
      union all
      select old.tenant_id, old.product_id where tg_op in ('UPDATE', 'DELETE')
    ) changed (tenant_id, product_id)
  loop
    delete from product_prices where tenant_id = r.tenant_id and product_id = r.product_id;
    insert into product_prices (tenant_id, product_id, currency, min_amount)
      select v.tenant_id, v.product_id, v.currency, min(v.price_amount)
      from product_variants v
      where v.tenant_id = r.tenant_id and v.product_id = r.product_id
        -- a product being deleted takes its variants along: nothing to keep then
        and exists (select 1 from products p where p.tenant_id = r.tenant_id and p.id = r.product_id)
      group by v.tenant_id, v.product_id, v.currency;
  end loop;
  return null;
end
$$;
create trigger product_variants_prices after insert or update of price_amount, currency, product_id or delete
  on product_variants for each row execute function kassa_refresh_product_prices();

-- Storefront lists sort active products newest first by default.
create index products_storefront_idx on products (tenant_id, status, created_at desc, id desc);
