-- Checkout: a shopper's cart becomes an order in `pending_payment` with its stock reserved
-- and a Mollie payment row, all in one transaction; the Mollie call happens after it.
--
-- Reservations: a `reserved` counter on each variant, changed only by guarded single
-- statements (`set reserved = reserved + $n where stock is null or stock - reserved >= $n`),
-- plus one `stock_reservations` row per order line as the ledger of who holds what. The
-- counter, not `stock − sum(active reservations)`, decides availability: a sum over other
-- rows cannot be guarded by one statement (two READ COMMITTED transactions would both see
-- the same sum and both insert), while the guarded update takes the variant's row lock and
-- re-checks the condition on the latest row, so concurrent checkouts never take more than
-- there is. A release sets `released_at` on the reservation (guarded by `released_at is
-- null`, so it happens once) and subtracts the same quantity in the same transaction.

alter table product_variants add column reserved integer not null default 0;
alter table product_variants add constraint product_variants_reserved_check check (reserved >= 0);

alter table orders drop constraint orders_status_check;
alter table orders add constraint orders_status_check check (status in (
  'pending_payment', 'placed', 'needs_attention', 'processing', 'completed', 'cancelled',
  'payment_failed', 'canceled', 'expired'));
alter table orders add column customer_id uuid;
alter table orders add constraint orders_customer_fkey foreign key (tenant_id, customer_id)
  references customers (tenant_id, id) on delete set null (customer_id);
-- The storefront's Idempotency-Key of the checkout that created the order.
alter table orders add column checkout_key text check (char_length(checkout_key) between 1 and 255);
alter table orders add constraint orders_checkout_key unique (tenant_id, checkout_key);
-- The cart the order came from and the addresses as they were at checkout.
alter table orders add column cart_id uuid;
alter table orders add column shipping_address jsonb;
alter table orders add column billing_address jsonb;
-- Where Mollie sends the shopper back to.
alter table orders add column redirect_url text check (char_length(redirect_url) between 1 and 2048);

create table stock_reservations (
  tenant_id   uuid not null references tenants (id) on delete cascade,
  order_id    uuid not null,
  -- No reference: the variant's `reserved` counter goes with the variant.
  variant_id  uuid not null,
  quantity    integer not null check (quantity between 1 and 10000),
  released_at timestamptz,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now(),
  constraint stock_reservations_pkey primary key (tenant_id, order_id, variant_id),
  constraint stock_reservations_order_fkey foreign key (tenant_id, order_id)
    references orders (tenant_id, id) on delete cascade
);
create index stock_reservations_active_idx on stock_reservations (tenant_id, variant_id) where released_at is null;

create table payments (
  id              uuid primary key,
  tenant_id       uuid not null references tenants (id) on delete cascade,
  order_id        uuid not null,
  provider        text not null default 'mollie' check (provider = 'mollie'),
  -- `tr_…`, once Mollie answered.
  provider_id     text check (provider_id ~ '^tr_[A-Za-z0-9]{1,64}$'),
  status          text not null default 'open'
                    check (status in ('open', 'pending', 'authorized', 'paid', 'canceled', 'expired', 'failed')),
  amount          bigint not null check (amount >= 0),
  currency        char(3) not null,
  -- Sent as Mollie's Idempotency-Key; derived from `id` and stored before the call, so a
  -- retry sends the same key.
  idempotency_key text not null check (char_length(idempotency_key) between 1 and 255),
  checkout_url    text,
  version         bigint not null default 1,
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  constraint payments_tenant_id_id_key unique (tenant_id, id),
  constraint payments_idempotency_key unique (tenant_id, idempotency_key),
  constraint payments_provider_id_key unique (tenant_id, provider_id),
  constraint payments_order_fkey foreign key (tenant_id, order_id)
    references orders (tenant_id, id) on delete cascade
);
create index payments_order_idx on payments (tenant_id, order_id);

do $$
declare
  t text;
begin
  foreach t in array array['stock_reservations', 'payments'] loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format('create policy tenant_isolation on %I to kassa_app
                      using (tenant_id = kassa_current_tenant()) with check (tenant_id = kassa_current_tenant())', t);
    execute format('create trigger %I before update on %I for each row execute function kassa_touch_updated_at()',
                   t || '_touch', t);
  end loop;
end
$$;
