-- Pages: documents of sections and blocks (JSON, validated by JSON Schema in the domain),
-- a draft per page and immutable published revisions; and each shop's own block types (the
-- built-in ones live in code, `kassa_domain::pages::builtins`).

create table block_types (
  id              uuid primary key,
  tenant_id       uuid not null references tenants (id) on delete cascade,
  -- Lower-case name (`testimonial`); never a built-in's.
  name            text not null check (name ~ '^[a-z][a-z0-9-]{0,49}$'),
  label           text not null check (char_length(label) between 1 and 200),
  -- May stand alone as a section of a page.
  section         boolean not null default true,
  -- The section types that may hold it as one of their blocks.
  blocks_in       text[] not null default '{}' check (cardinality(blocks_in) <= 50),
  -- A JSON Schema (2020-12) its `settings` must satisfy.
  settings_schema jsonb not null,
  version         bigint not null default 1,
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  constraint block_types_name_key unique (tenant_id, name)
);

create table pages (
  id                 uuid primary key,
  tenant_id          uuid not null references tenants (id) on delete cascade,
  handle             text not null check (handle ~ '^[a-z0-9]+(-[a-z0-9]+)*$' and char_length(handle) <= 100),
  -- Locale → text.
  title              jsonb not null,
  seo_title          jsonb not null default '{}',
  seo_description    jsonb not null default '{}',
  -- The document being edited; valid whenever stored.
  draft              jsonb not null,
  -- The revision the storefront shows (null: not published).
  published_revision integer,
  published_at       timestamptz,
  -- A scheduled publication of the draft as it will be then.
  publish_at         timestamptz,
  version            bigint not null default 1,
  created_at         timestamptz not null default now(),
  updated_at         timestamptz not null default now(),
  constraint pages_tenant_id_id_key unique (tenant_id, id),
  constraint pages_handle_key unique (tenant_id, handle)
);
create index pages_publish_at_idx on pages (publish_at) where publish_at is not null;

-- Published documents. Never changed: no UPDATE is granted, and a trigger refuses one even
-- to the owner.
create table page_revisions (
  tenant_id    uuid not null references tenants (id) on delete cascade,
  page_id      uuid not null,
  number       integer not null check (number >= 1),
  document     jsonb not null,
  -- The revision this one was restored from, if any.
  restored_from integer,
  created_at   timestamptz not null default now(),
  constraint page_revisions_pkey primary key (tenant_id, page_id, number),
  constraint page_revisions_page_fkey foreign key (tenant_id, page_id)
    references pages (tenant_id, id) on delete cascade
);
revoke update on page_revisions from kassa_app;

create function kassa_page_revisions_immutable() returns trigger language plpgsql as $$
begin
  raise exception 'a published page revision never changes' using errcode = 'check_violation';
end
$$;
create trigger page_revisions_immutable before update on page_revisions
  for each row execute function kassa_page_revisions_immutable();

-- The sweeper (kassa_relay, across shops) finds pages due to be published; it publishes them
-- in a tenant transaction.
grant select (id, tenant_id, publish_at) on pages to kassa_relay;
create policy sweeper on pages for select to kassa_relay using (true);

do $$
declare
  t text;
begin
  foreach t in array array['block_types', 'pages', 'page_revisions'] loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format('create policy tenant_isolation on %I to kassa_app
                      using (tenant_id = kassa_current_tenant()) with check (tenant_id = kassa_current_tenant())', t);
  end loop;
  foreach t in array array['block_types', 'pages'] loop
    execute format('create trigger %I before update on %I for each row execute function kassa_touch_updated_at()',
                   t || '_touch', t);
  end loop;
end
$$;
