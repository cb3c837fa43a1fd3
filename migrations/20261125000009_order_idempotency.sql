-- Placing an order is idempotent per `Idempotency-Key`: a repeated request with the same key
-- and body returns the order it placed; the same key with another body is refused.
alter table orders add column idempotency_key text check (char_length(idempotency_key) between 1 and 255);
alter table orders add column request jsonb;
alter table orders add constraint orders_idempotency_key unique (tenant_id, idempotency_key);
