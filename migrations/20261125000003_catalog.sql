-- The catalog: subscription plans, customer groups, products, variants, price lists and
-- their prices, plus the transactional outbox every catalog write appends to.
-- Every table is tenant-owned with forced row-level security. References between tenant
-- tables are composite (tenant_id, id) foreign keys, so a row can never point at another
-- tenant's row even if a query forgot its filter.

create table subscription_plans (
  id             uuid primary key,
  tenant_id      uuid not null references tenants (id) on delete cascade,
  name           text not null check (char_length(name) between 1 and 200),
  interval       text not null check (interval in ('day', 'week', 'month', 'year')),
  interval_count integer not null default 1 check (interval_count between 1 and 365),
  trial_days     integer not null default 0 check (trial_days between 0 and 730),
  version        bigint not null default 1,
  created_at     timestamptz not null default now(),
  updated_at     timestamptz not null default now(),
  constraint subscription_plans_tenant_id_id_key unique (tenant_id, id)
);
create index subscription_plans_list_idx on subscription_plans (tenant_id, created_at, id);

create table customer_groups (
  id         uuid primary key,
  tenant_id  uuid not null references tenants (id) on delete cascade,
  handle     text not null,
  name       text not null check (char_length(name) between 1 and 200),
  version    bigint not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint customer_groups_tenant_id_id_key unique (tenant_id, id),
  constraint customer_groups_handle_key unique (tenant_id, handle)
);
create index customer_groups_list_idx on customer_groups (tenant_id, created_at, id);

create table products (
  id                   uuid primary key,
  tenant_id            uuid not null references tenants (id) on delete cascade,
  handle               text not null,
  title                jsonb not null check (jsonb_typeof(title) = 'object'),
  description          jsonb not null default '{}' check (jsonb_typeof(description) = 'object'),
  status               text not null default 'draft' check (status in ('draft', 'active', 'archived')),
  b2b_settings         jsonb not null default '{}' check (jsonb_typeof(b2b_settings) = 'object'),
  subscription_plan_id uuid,
  tax_class            text not null default 'standard',
  -- Set the first time the product goes active: from then on orders may refer to it, so
  -- deleting it archives it instead.
  first_activated_at   timestamptz,
  version              bigint not null default 1,
  created_at           timestamptz not null default now(),
  updated_at           timestamptz not null default now(),
  constraint products_tenant_id_id_key unique (tenant_id, id),
  constraint products_handle_key unique (tenant_id, handle),
  constraint products_subscription_plan_fkey foreign key (tenant_id, subscription_plan_id)
    references subscription_plans (tenant_id, id) on delete restrict
);
create index products_created_idx on products (tenant_id, created_at, id);
create index products_updated_idx on products (tenant_id, updated_at, id);
create index products_status_idx on products (tenant_id, status, created_at, id);

create table product_variants (
  id           uuid primary key,
  tenant_id    uuid not null references tenants (id) on delete cascade,
  product_id   uuid not null,
  sku          text not null check (char_length(sku) between 1 and 100),
  price_amount bigint not null check (price_amount >= 0),
  currency     char(3) not null,
  -- null: stock is not tracked (always available).
  stock        integer check (stock >= 0),
  attributes   jsonb not null default '{}' check (jsonb_typeof(attributes) = 'object'),
  position     integer not null default 0,
  version      bigint not null default 1,
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now(),
  constraint product_variants_tenant_id_id_key unique (tenant_id, id),
  constraint product_variants_sku_key unique (tenant_id, sku),
  constraint product_variants_product_fkey foreign key (tenant_id, product_id)
    references products (tenant_id, id) on delete cascade
);
create index product_variants_product_idx on product_variants (tenant_id, product_id, position, id);
create index product_variants_attributes_idx on product_variants using gin (attributes jsonb_path_ops);

create table price_lists (
  id                uuid primary key,
  tenant_id         uuid not null references tenants (id) on delete cascade,
  name              text not null check (char_length(name) between 1 and 200),
  customer_group_id uuid not null,
  currency          char(3) not null,
  starts_at         timestamptz,
  ends_at           timestamptz,
  priority          integer not null default 0,
  status            text not null default 'active' check (status in ('draft', 'active')),
  version           bigint not null default 1,
  created_at        timestamptz not null default now(),
  updated_at        timestamptz not null default now(),
  constraint price_lists_tenant_id_id_key unique (tenant_id, id),
  constraint price_lists_window check (starts_at is null or ends_at is null or starts_at < ends_at),
  constraint price_lists_customer_group_fkey foreign key (tenant_id, customer_group_id)
    references customer_groups (tenant_id, id) on delete restrict
);
create index price_lists_list_idx on price_lists (tenant_id, created_at, id);
create index price_lists_group_idx on price_lists (tenant_id, customer_group_id, currency);

create table price_list_prices (
  tenant_id     uuid not null references tenants (id) on delete cascade,
  price_list_id uuid not null,
  variant_id    uuid not null,
  min_quantity  integer not null default 1 check (min_quantity >= 1),
  amount        bigint not null check (amount >= 0),
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now(),
  constraint price_list_prices_pkey primary key (price_list_id, variant_id, min_quantity),
  constraint price_list_prices_price_list_fkey foreign key (tenant_id, price_list_id)
    references price_lists (tenant_id, id) on delete cascade,
  constraint price_list_prices_variant_fkey foreign key (tenant_id, variant_id)
    references product_variants (tenant_id, id) on delete cascade
);
create index price_list_prices_variant_idx on price_list_prices (tenant_id, variant_id);

-- The transactional outbox: one row per domain event, written in the transaction of the
-- change it describes. `seq` gives commit-independent ordering per aggregate for the relay.
create table outbox (
  id             uuid primary key,
  seq            bigint generated always as identity,
  tenant_id      uuid not null references tenants (id) on delete cascade,
  event_type     text not null,
  aggregate_type text not null,
  aggregate_id   uuid not null,
  occurred_at    timestamptz not null default now(),
  payload        jsonb not null,
  published_at   timestamptz,
  created_at     timestamptz not null default now(),
  updated_at     timestamptz not null default now()
);
create index outbox_unpublished_idx on outbox (seq) where published_at is null;
create index outbox_aggregate_idx on outbox (tenant_id, aggregate_id, seq);

do $$
declare
  t text;
begin
  foreach t in array array['subscription_plans', 'customer_groups', 'products', 'product_variants',
                           'price_lists', 'price_list_prices', 'outbox'] loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format('create policy tenant_isolation on %I to kassa_app
                      using (tenant_id = kassa_current_tenant()) with check (tenant_id = kassa_current_tenant())', t);
    execute format('create trigger %I before update on %I for each row execute function kassa_touch_updated_at()',
                   t || '_touch', t);
  end loop;
end
$$;
