-- Collections (a manual, ordered product list or an automatic rule set) and product tags.

alter table products add column tags text[] not null default '{}'
  check (cardinality(tags) <= 50);
create index products_tags_idx on products using gin (tags);

create table collections (
  id          uuid primary key,
  tenant_id   uuid not null references tenants (id) on delete cascade,
  handle      text not null,
  title       jsonb not null check (jsonb_typeof(title) = 'object'),
  description jsonb not null default '{}' check (jsonb_typeof(description) = 'object'),
  kind        text not null check (kind in ('manual', 'automatic')),
  -- The automatic rule set (kassa_domain::collections::CollectionRules); `{}` when manual.
  rules       jsonb not null default '{}' check (jsonb_typeof(rules) = 'object'),
  sort        text not null default 'newest'
                check (sort in ('manual', 'newest', 'title', 'price_asc', 'price_desc')),
  version     bigint not null default 1,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now(),
  constraint collections_tenant_id_id_key unique (tenant_id, id),
  constraint collections_handle_key unique (tenant_id, handle)
);
create index collections_list_idx on collections (tenant_id, created_at, id);

-- The products of a manual collection, in order.
create table collection_products (
  tenant_id     uuid not null references tenants (id) on delete cascade,
  collection_id uuid not null,
  product_id    uuid not null,
  position      integer not null,
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now(),
  constraint collection_products_pkey primary key (collection_id, product_id),
  constraint collection_products_collection_fkey foreign key (tenant_id, collection_id)
    references collections (tenant_id, id) on delete cascade,
  constraint collection_products_product_fkey foreign key (tenant_id, product_id)
    references products (tenant_id, id) on delete cascade
);
create index collection_products_position_idx on collection_products (tenant_id, collection_id, position);
create index collection_products_product_idx on collection_products (tenant_id, product_id);

do $$
declare
  t text;
begin
  foreach t in array array['collections', 'collection_products'] loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format('create policy tenant_isolation on %I to kassa_app
                      using (tenant_id = kassa_current_tenant()) with check (tenant_id = kassa_current_tenant())', t);
    execute format('create trigger %I before update on %I for each row execute function kassa_touch_updated_at()',
                   t || '_touch', t);
  end loop;
end
$$;
