-- Storefront lists sorted by title: each product's sort title in every locale of its shop —
-- lower(its title in that locale, else in the shop's default locale, else ''), the key the
-- storefront sorted by — kept by triggers, so a title sort reads an index in order instead
-- of computing and sorting the key of every product of the shop on each request.
create table product_titles (
  tenant_id   uuid not null references tenants (id) on delete cascade,
  product_id  uuid not null,
  locale      text not null,
  sort_title  text not null,
  constraint product_titles_pkey primary key (tenant_id, product_id, locale),
  constraint product_titles_product_fkey foreign key (tenant_id, product_id)
    references products (tenant_id, id) on delete cascade
);
create index product_titles_sort_idx on product_titles (tenant_id, locale, sort_title, product_id);
alter table product_titles enable row level security;
alter table product_titles force row level security;
create policy tenant_isolation on product_titles to kassa_app
  using (tenant_id = kassa_current_tenant()) with check (tenant_id = kassa_current_tenant());

-- The key the storefront sorts by title on, in one place.
create function kassa_sort_title(title jsonb, locale text, default_locale text) returns text
  language sql immutable parallel safe
  as $$ select lower(coalesce(title ->> locale, title ->> default_locale, '')) $$;

-- A product's sort titles, from the row being written (one index probe each, however
-- large the shop).
create function kassa_product_titles_of_product() returns trigger language plpgsql as $$
begin
  delete from product_titles where tenant_id = new.tenant_id and product_id = new.id;
  insert into product_titles (tenant_id, product_id, locale, sort_title)
    select new.tenant_id, new.id, l.locale, kassa_sort_title(new.title, l.locale, t.default_locale)
    from tenants t cross join lateral (select distinct unnest(t.locales || t.default_locale) as locale) l
    where t.id = new.tenant_id;
  return null;
end
$$;
create trigger products_titles after insert or update of title on products
  for each row execute function kassa_product_titles_of_product();

-- Every sort title of a shop, anew (its locales changed, or the table is new).
create function kassa_refresh_shop_titles(shop uuid) returns void language sql as $$
  delete from product_titles where tenant_id = shop;
  insert into product_titles (tenant_id, product_id, locale, sort_title)
    select p.tenant_id, p.id, l.locale, kassa_sort_title(p.title, l.locale, t.default_locale)
    from products p
    join tenants t on t.id = p.tenant_id
    cross join lateral (select distinct unnest(t.locales || t.default_locale) as locale) l
    where p.tenant_id = shop;
$$;

create function kassa_product_titles_of_shop() returns trigger language plpgsql as $$
begin
  perform kassa_refresh_shop_titles(new.id);
  return null;
end
$$;
create trigger tenants_product_titles after update of locales, default_locale on tenants
  for each row when (old.locales is distinct from new.locales or old.default_locale is distinct from new.default_locale)
  execute function kassa_product_titles_of_shop();

-- The products that exist already, shop by shop as the application role (the tables'
-- row-level security is forced, and the role that migrates may be no superuser).
do $$
declare
  shop uuid;
begin
  foreach shop in array array(select id from tenants) loop
    perform set_config('role', 'kassa_app', true);
    perform set_config('app.tenant_id', shop::text, true);
    perform kassa_refresh_shop_titles(shop);
    perform set_config('role', 'none', true);
  end loop;
  perform set_config('app.tenant_id', '', true);
end
$$;
