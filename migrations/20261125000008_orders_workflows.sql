-- Orders (minimal: enough for the "On order placed" workflow), tax rates, and workflows as
-- data with their runs and every attempt of every step. All tenant-owned, forced RLS,
-- composite (tenant_id, id) references.

create table tax_rates (
  id         uuid primary key,
  tenant_id  uuid not null references tenants (id) on delete cascade,
  country    char(2) not null check (country ~ '^[A-Z]{2}$'),
  tax_class  text not null check (tax_class ~ '^[a-z0-9_-]{1,50}$'),
  -- Basis points: 2100 = 21 %.
  rate_bp    integer not null check (rate_bp between 0 and 10000),
  version    bigint not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint tax_rates_tenant_id_id_key unique (tenant_id, id),
  constraint tax_rates_country_class_key unique (tenant_id, country, tax_class)
);
create index tax_rates_list_idx on tax_rates (tenant_id, created_at, id);

-- The last order number handed out per tenant; the row lock serialises numbering only.
create table order_numbers (
  tenant_id  uuid primary key references tenants (id) on delete cascade,
  last       bigint not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table orders (
  id                  uuid primary key,
  tenant_id           uuid not null references tenants (id) on delete cascade,
  number              bigint not null,
  customer_email      text not null check (char_length(customer_email) between 3 and 254),
  shipping_country    char(2) not null check (shipping_country ~ '^[A-Z]{2}$'),
  currency            char(3) not null,
  status              text not null default 'placed'
                        check (status in ('placed', 'needs_attention', 'processing', 'completed', 'cancelled')),
  status_reason       text,
  prices_include_tax  boolean not null,
  subtotal_amount     bigint not null check (subtotal_amount >= 0),
  -- null until the taxes are calculated.
  tax_amount          bigint check (tax_amount >= 0),
  total_amount        bigint not null check (total_amount >= 0),
  -- Guards that make the workflow's effects happen at most once per order.
  stock_deducted_at   timestamptz,
  taxes_calculated_at timestamptz,
  version             bigint not null default 1,
  created_at          timestamptz not null default now(),
  updated_at          timestamptz not null default now(),
  constraint orders_tenant_id_id_key unique (tenant_id, id),
  constraint orders_number_key unique (tenant_id, number)
);
create index orders_list_idx on orders (tenant_id, created_at, id);

create table order_lines (
  tenant_id         uuid not null references tenants (id) on delete cascade,
  order_id          uuid not null,
  position          integer not null check (position >= 0),
  -- No reference: a variant may be deleted later; the line keeps its SKU and title.
  variant_id        uuid not null,
  sku               text not null,
  title             text not null,
  quantity          integer not null check (quantity between 1 and 10000),
  unit_price_amount bigint not null check (unit_price_amount >= 0),
  tax_class         text not null,
  line_amount       bigint not null check (line_amount >= 0),
  tax_rate_bp       integer,
  tax_amount        bigint check (tax_amount >= 0),
  created_at        timestamptz not null default now(),
  updated_at        timestamptz not null default now(),
  constraint order_lines_pkey primary key (tenant_id, order_id, position),
  constraint order_lines_order_fkey foreign key (tenant_id, order_id)
    references orders (tenant_id, id) on delete cascade
);

create table workflows (
  id         uuid primary key,
  tenant_id  uuid not null references tenants (id) on delete cascade,
  name       text not null check (char_length(name) between 1 and 200),
  -- The event type that starts a run, e.g. `order.placed`.
  trigger    text not null,
  conditions jsonb not null default '[]' check (jsonb_typeof(conditions) = 'array'),
  steps      jsonb not null check (jsonb_typeof(steps) = 'array'),
  enabled    boolean not null default true,
  version    bigint not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint workflows_tenant_id_id_key unique (tenant_id, id),
  constraint workflows_name_key unique (tenant_id, name)
);
create index workflows_list_idx on workflows (tenant_id, created_at, id);
create index workflows_trigger_idx on workflows (tenant_id, trigger) where enabled;

create table workflow_runs (
  id              uuid primary key,
  tenant_id       uuid not null references tenants (id) on delete cascade,
  workflow_id     uuid not null,
  event_id        uuid not null,
  event_type      text not null,
  -- The CloudEvent that started the run, as received.
  event           jsonb not null,
  -- The workflow's steps as they were when the run started.
  steps           jsonb not null,
  status          text not null default 'running'
                    check (status in ('running', 'retrying', 'succeeded', 'stopped', 'failed')),
  -- The step to run next (= the number of finished steps).
  next_step       integer not null default 0,
  -- Attempts of `next_step` since it was reached or last retried by a person.
  step_attempts   integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  -- Whoever executes the run holds the lease; a lapsed lease lets another worker take over.
  lease_token     uuid,
  lease_until     timestamptz,
  finished_at     timestamptz,
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  constraint workflow_runs_tenant_id_id_key unique (tenant_id, id),
  -- One run per workflow and event: a redelivered event starts nothing new.
  constraint workflow_runs_event_key unique (tenant_id, workflow_id, event_id),
  constraint workflow_runs_workflow_fkey foreign key (tenant_id, workflow_id)
    references workflows (tenant_id, id) on delete cascade
);
create index workflow_runs_list_idx on workflow_runs (tenant_id, created_at, id);
create index workflow_runs_due_idx on workflow_runs (next_attempt_at) where status in ('running', 'retrying');

create table workflow_step_attempts (
  tenant_id   uuid not null references tenants (id) on delete cascade,
  run_id      uuid not null,
  position    integer not null,
  attempt     integer not null,
  step_type   text not null,
  status      text not null check (status in ('succeeded', 'stopped', 'failed')),
  output      jsonb,
  error       text,
  started_at  timestamptz not null,
  finished_at timestamptz not null,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now(),
  constraint workflow_step_attempts_pkey primary key (tenant_id, run_id, position, attempt),
  constraint workflow_step_attempts_run_fkey foreign key (tenant_id, run_id)
    references workflow_runs (tenant_id, id) on delete cascade
);

do $$
declare
  t text;
begin
  foreach t in array array['tax_rates', 'order_numbers', 'orders', 'order_lines', 'workflows',
                           'workflow_runs', 'workflow_step_attempts'] loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format('create policy tenant_isolation on %I to kassa_app
                      using (tenant_id = kassa_current_tenant()) with check (tenant_id = kassa_current_tenant())', t);
    execute format('create trigger %I before update on %I for each row execute function kassa_touch_updated_at()',
                   t || '_touch', t);
  end loop;
end
$$;

-- The sweeper finds due runs of every tenant (the relay's role: it reads ids, then works
-- inside each run's tenant scope).
grant select (id, tenant_id, status, next_attempt_at, lease_until) on workflow_runs to kassa_relay;
create policy sweeper on workflow_runs for select to kassa_relay using (true);
