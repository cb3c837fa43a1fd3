-- Shipping: per-shop zones (sets of countries) and their rates (flat, free from a cart
-- amount, optionally for a weight band). A country is in at most one zone of a shop:
-- `shipping_zone_countries` mirrors every zone's `countries` (kept by a trigger) under a
-- primary key on (tenant_id, country), so a second zone claiming a country fails with
-- `shipping_zone_countries_country_key` (409 `shipping_country_taken`).

create table shipping_zones (
  id         uuid primary key,
  tenant_id  uuid not null references tenants (id) on delete cascade,
  name       text not null check (char_length(name) between 1 and 200),
  -- ISO 3166-1 alpha-2, upper case, no repeats (the domain refuses them first).
  countries  text[] not null default '{}' check (cardinality(countries) <= 250),
  version    bigint not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint shipping_zones_tenant_id_id_key unique (tenant_id, id)
);
create index shipping_zones_list_idx on shipping_zones (tenant_id, created_at, id);

create table shipping_zone_countries (
  tenant_id  uuid not null references tenants (id) on delete cascade,
  zone_id    uuid not null,
  country    text not null check (country ~ '^[A-Z]{2}$'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint shipping_zone_countries_country_key primary key (tenant_id, country),
  constraint shipping_zone_countries_zone_fkey foreign key (tenant_id, zone_id)
    references shipping_zones (tenant_id, id) on delete cascade
);
create index shipping_zone_countries_zone_idx on shipping_zone_countries (tenant_id, zone_id);

-- Runs as the writer (kassa_app under the zone's tenant): it only touches that tenant's rows.
create function kassa_shipping_zone_countries() returns trigger language plpgsql as $$
begin
  delete from shipping_zone_countries where tenant_id = new.tenant_id and zone_id = new.id;
  insert into shipping_zone_countries (tenant_id, zone_id, country)
    select new.tenant_id, new.id, c from unnest(new.countries) as c;
  return null;
end
$$;
create trigger shipping_zones_countries after insert or update of countries on shipping_zones
  for each row execute function kassa_shipping_zone_countries();

-- A rate applies to carts in its zone and currency; `amount` is charged unless the cart's
-- subtotal reaches `free_above` (then 0); a weight band is min_weight_grams inclusive to
-- max_weight_grams exclusive, either end open when null.
create table shipping_rates (
  id               uuid primary key,
  tenant_id        uuid not null references tenants (id) on delete cascade,
  zone_id          uuid not null,
  name             text not null check (char_length(name) between 1 and 200),
  currency         text not null check (currency ~ '^[A-Z]{3}$'),
  amount           bigint not null check (amount between 0 and 1000000000000),
  free_above       bigint check (free_above between 0 and 1000000000000),
  min_weight_grams integer check (min_weight_grams >= 0),
  max_weight_grams integer check (max_weight_grams > 0),
  tax_class        text not null default 'standard',
  position         integer not null default 0,
  version          bigint not null default 1,
  created_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now(),
  constraint shipping_rates_weight_band_check
    check (min_weight_grams is null or max_weight_grams is null or min_weight_grams < max_weight_grams),
  -- A zone with rates cannot be deleted (409 in_use): delete its rates first.
  constraint shipping_rates_zone_fkey foreign key (tenant_id, zone_id)
    references shipping_zones (tenant_id, id)
);
create index shipping_rates_list_idx on shipping_rates (tenant_id, created_at, id);
create index shipping_rates_zone_idx on shipping_rates (tenant_id, zone_id, position);

do $$
declare
  t text;
begin
  foreach t in array array['shipping_zones', 'shipping_zone_countries', 'shipping_rates'] loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format('create policy tenant_isolation on %I to kassa_app
                      using (tenant_id = kassa_current_tenant()) with check (tenant_id = kassa_current_tenant())', t);
    execute format('create trigger %I before update on %I for each row execute function kassa_touch_updated_at()',
                   t || '_touch', t);
  end loop;
end
$$;
