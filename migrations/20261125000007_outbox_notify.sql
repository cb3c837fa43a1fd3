-- The relay's fast path: every outbox insert notifies `kassa_outbox` when its transaction
-- commits (NOTIFY is transactional), so a listening relay publishes at once instead of at its
-- next poll. Several inserts in one transaction fold into one notification.
create function kassa_outbox_notify() returns trigger language plpgsql as $$
begin
  perform pg_notify('kassa_outbox', '');
  return null;
end
$$;
create trigger outbox_notify after insert on outbox
  for each statement execute function kassa_outbox_notify();
