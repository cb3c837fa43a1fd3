-- Checkout, part two: the shipping method an order was charged for, who may read an order's
-- status on the storefront, reservations that time out, and refunds.

-- Shipping as charged at checkout. The rate is not referenced: staff may delete or change it
-- later, the order keeps what it charged (name, amount, tax).
alter table orders add column shipping_rate_id uuid;
alter table orders add column shipping_method text check (char_length(shipping_method) between 1 and 200);
alter table orders add column shipping_amount bigint not null default 0 check (shipping_amount >= 0);
alter table orders add column shipping_tax_rate_bp integer check (shipping_tax_rate_bp between 0 and 10000);
alter table orders add column shipping_tax_amount bigint check (shipping_tax_amount >= 0);
-- The SHA-256 (hex) of the Cart-Token of the anonymous cart the order came from: whoever holds
-- that token may read the order's status on the return page (a customer's orders are read
-- with the customer's token instead).
alter table orders add column cart_token_sha256 text check (cart_token_sha256 ~ '^[0-9a-f]{64}$');
-- A checkout's reservation holds until this moment; the sweeper releases it afterwards
-- (order `expired`) unless the payment succeeded first.
alter table orders add column reserved_until timestamptz;
create index orders_reserved_until_idx on orders (reserved_until) where status = 'pending_payment';
-- Money given back so far (refunds that did not fail or get canceled), minor units.
alter table orders add column refunded_amount bigint not null default 0 check (refunded_amount >= 0);
alter table payments add column amount_refunded bigint not null default 0 check (amount_refunded >= 0);

-- The sweeper (kassa_relay, across shops) finds timed-out reservations; it changes them in
-- a tenant transaction.
grant select (id, tenant_id, status, reserved_until) on orders to kassa_relay;
create policy sweeper on orders for select to kassa_relay using (true);

create table refunds (
  id              uuid primary key,
  tenant_id       uuid not null references tenants (id) on delete cascade,
  order_id        uuid not null,
  payment_id      uuid not null,
  -- `re_…`, once Mollie answered.
  provider_id     text check (provider_id ~ '^re_[A-Za-z0-9]{1,64}$'),
  status          text not null default 'pending'
                    check (status in ('queued', 'pending', 'processing', 'refunded', 'failed', 'canceled')),
  amount          bigint not null check (amount > 0),
  currency        char(3) not null,
  description     text check (char_length(description) between 1 and 255),
  -- The staff request's Idempotency-Key: the same key is the same refund.
  request_key     text not null check (char_length(request_key) between 1 and 255),
  -- Sent to Mollie as its Idempotency-Key; derived from `id`, stored before the call.
  idempotency_key text not null check (char_length(idempotency_key) between 1 and 255),
  version         bigint not null default 1,
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  constraint refunds_request_key unique (tenant_id, request_key),
  constraint refunds_provider_id_key unique (tenant_id, provider_id),
  constraint refunds_payment_fkey foreign key (tenant_id, payment_id)
    references payments (tenant_id, id) on delete cascade,
  constraint refunds_order_fkey foreign key (tenant_id, order_id)
    references orders (tenant_id, id) on delete cascade
);
create index refunds_order_idx on refunds (tenant_id, order_id);

alter table refunds enable row level security;
alter table refunds force row level security;
create policy tenant_isolation on refunds to kassa_app
  using (tenant_id = kassa_current_tenant()) with check (tenant_id = kassa_current_tenant());
create trigger refunds_touch before update on refunds for each row execute function kassa_touch_updated_at();

-- A customer's own orders, newest first (`GET /storefront/customers/me/orders`).
create index orders_customer_idx on orders (tenant_id, customer_id, created_at, id) where customer_id is not null;
