-- Shoppers: customer accounts per shop, their customer groups, address book, sessions
-- (refresh-token families) and mailed one-time codes. A customer of shop A is nobody in
-- shop B: every table is tenant-scoped under forced row-level security like the catalog.

create table customers (
  id                uuid primary key,
  tenant_id         uuid not null references tenants (id) on delete cascade,
  -- Lower-cased; unique per shop.
  email             text not null check (char_length(email) between 3 and 254),
  -- argon2id in PHC string form; null until the shopper chooses a password.
  password_hash     text,
  first_name        text not null default '' check (char_length(first_name) <= 100),
  last_name         text not null default '' check (char_length(last_name) <= 100),
  phone             text check (char_length(phone) <= 40),
  email_verified_at timestamptz,
  blocked_at        timestamptz,
  version           bigint not null default 1,
  created_at        timestamptz not null default now(),
  updated_at        timestamptz not null default now(),
  constraint customers_tenant_id_id_key unique (tenant_id, id),
  constraint customers_email_key unique (tenant_id, email)
);
create index customers_list_idx on customers (tenant_id, created_at, id);

create table customer_group_members (
  tenant_id         uuid not null references tenants (id) on delete cascade,
  customer_id       uuid not null,
  customer_group_id uuid not null,
  created_at        timestamptz not null default now(),
  updated_at        timestamptz not null default now(),
  constraint customer_group_members_pkey primary key (tenant_id, customer_id, customer_group_id),
  constraint customer_group_members_customer_fkey foreign key (tenant_id, customer_id)
    references customers (tenant_id, id) on delete cascade,
  constraint customer_group_members_group_fkey foreign key (tenant_id, customer_group_id)
    references customer_groups (tenant_id, id) on delete cascade
);
create index customer_group_members_group_idx on customer_group_members (tenant_id, customer_group_id);

create table customer_addresses (
  id          uuid primary key,
  tenant_id   uuid not null references tenants (id) on delete cascade,
  customer_id uuid not null,
  first_name  text not null check (char_length(first_name) between 1 and 100),
  last_name   text not null check (char_length(last_name) between 1 and 100),
  company     text check (char_length(company) <= 200),
  line1       text not null check (char_length(line1) between 1 and 200),
  line2       text check (char_length(line2) <= 200),
  postal_code text not null check (char_length(postal_code) between 1 and 20),
  city        text not null check (char_length(city) between 1 and 100),
  region      text check (char_length(region) <= 100),
  country     text not null check (country ~ '^[A-Z]{2}$'),
  phone       text check (char_length(phone) <= 40),
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now(),
  constraint customer_addresses_customer_fkey foreign key (tenant_id, customer_id)
    references customers (tenant_id, id) on delete cascade
);
create index customer_addresses_customer_idx on customer_addresses (tenant_id, customer_id, created_at, id);

-- A session is one sign-in: a family of refresh tokens, each used once. Access tokens name
-- it (`sid`), so revoking it ends the family at once.
create table customer_sessions (
  id             uuid primary key,
  tenant_id      uuid not null references tenants (id) on delete cascade,
  customer_id    uuid not null,
  expires_at     timestamptz not null,
  revoked_at     timestamptz,
  revoked_reason text check (revoked_reason in ('signed_out', 'refresh_token_reused', 'blocked', 'password_changed')),
  created_at     timestamptz not null default now(),
  updated_at     timestamptz not null default now(),
  constraint customer_sessions_tenant_id_id_key unique (tenant_id, id),
  constraint customer_sessions_customer_fkey foreign key (tenant_id, customer_id)
    references customers (tenant_id, id) on delete cascade
);
create index customer_sessions_customer_idx on customer_sessions (tenant_id, customer_id);

-- Refresh tokens are stored as SHA-256 only; `used_at` set when one is exchanged.
create table customer_refresh_tokens (
  token_hash bytea primary key,
  tenant_id  uuid not null references tenants (id) on delete cascade,
  session_id uuid not null,
  used_at    timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint customer_refresh_tokens_session_fkey foreign key (tenant_id, session_id)
    references customer_sessions (tenant_id, id) on delete cascade
);
create index customer_refresh_tokens_session_idx on customer_refresh_tokens (tenant_id, session_id);

-- Mailed one-time codes (email verification, password reset), stored as SHA-256; a few
-- attempts each, then dead.
create table customer_codes (
  id          uuid primary key,
  tenant_id   uuid not null references tenants (id) on delete cascade,
  customer_id uuid not null,
  purpose     text not null check (purpose in ('verify_email', 'reset_password')),
  code_hash   bytea not null,
  expires_at  timestamptz not null,
  attempts    integer not null default 0,
  used_at     timestamptz,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now(),
  constraint customer_codes_customer_fkey foreign key (tenant_id, customer_id)
    references customers (tenant_id, id) on delete cascade
);
create index customer_codes_customer_idx on customer_codes (tenant_id, customer_id, purpose);

do $$
declare
  t text;
begin
  foreach t in array array['customers', 'customer_group_members', 'customer_addresses',
                           'customer_sessions', 'customer_refresh_tokens', 'customer_codes'] loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format('create policy tenant_isolation on %I to kassa_app
                      using (tenant_id = kassa_current_tenant()) with check (tenant_id = kassa_current_tenant())', t);
    execute format('create trigger %I before update on %I for each row execute function kassa_touch_updated_at()',
                   t || '_touch', t);
  end loop;
end
$$;
