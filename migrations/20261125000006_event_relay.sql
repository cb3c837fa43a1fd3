-- The outbox relay reads and marks every tenant's events, so it gets its own narrow role,
-- like the tenant resolver: it may read the outbox and set published_at, nothing else.
-- Consumers record the events they handled in `inbox`, in the transaction of their effects.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'kassa_relay') then
    begin
      create role kassa_relay nologin nobypassrls;
    exception when duplicate_object or unique_violation then null;
    end;
  end if;
  if not (select rolsuper from pg_roles where rolname = current_user)
     and not pg_has_role(current_user, 'kassa_relay', 'MEMBER') then
    execute format('grant kassa_relay to %I', current_user);
  end if;
end
$$;

grant usage on schema public to kassa_relay;
grant select, update (published_at) on outbox to kassa_relay;
create policy relay on outbox for select to kassa_relay using (true);
create policy relay_publish on outbox for update to kassa_relay using (true) with check (true);

create table inbox (
  tenant_id   uuid not null references tenants (id) on delete cascade,
  consumer    text not null,
  event_id    uuid not null,
  handled_at  timestamptz not null default now(),
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now(),
  constraint inbox_pkey primary key (consumer, event_id)
);
alter table inbox enable row level security;
alter table inbox force row level security;
create policy tenant_isolation on inbox to kassa_app
  using (tenant_id = kassa_current_tenant()) with check (tenant_id = kassa_current_tenant());
