-- A shop's payment provider settings: one row per shop. The Mollie API key is stored only
-- encrypted (AES-256-GCM under a key-encryption key from PAYMENT_KEY_ENCRYPTION_KEYS, the
-- tenant id as associated data, so a ciphertext copied to another shop does not decrypt):
-- the kid of that key, a random 96-bit nonce and the ciphertext with its tag. The last four
-- characters and the mode (from the key's prefix) are kept in clear to show staff.

create table payment_settings (
  id                 uuid primary key,
  tenant_id          uuid not null references tenants (id) on delete cascade,
  provider           text not null default 'mollie' check (provider = 'mollie'),
  mode               text not null check (mode in ('test', 'live')),
  api_key_kid        text not null check (api_key_kid ~ '^[A-Za-z0-9_-]{1,32}$'),
  api_key_nonce      bytea not null check (octet_length(api_key_nonce) = 12),
  -- At least the 16-byte tag plus a 35-character key.
  api_key_ciphertext bytea not null check (octet_length(api_key_ciphertext) between 51 and 1024),
  api_key_last4      text not null check (char_length(api_key_last4) = 4),
  profile_id         text check (profile_id ~ '^pfl_[A-Za-z0-9]{1,64}$'),
  methods            text[] not null default '{}' check (cardinality(methods) <= 64),
  version            bigint not null default 1,
  created_at         timestamptz not null default now(),
  updated_at         timestamptz not null default now(),
  constraint payment_settings_tenant_key unique (tenant_id)
);

do $$
declare
  t text;
begin
  foreach t in array array['payment_settings'] loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format('create policy tenant_isolation on %I to kassa_app
                      using (tenant_id = kassa_current_tenant()) with check (tenant_id = kassa_current_tenant())', t);
    execute format('create trigger %I before update on %I for each row execute function kassa_touch_updated_at()',
                   t || '_touch', t);
  end loop;
end
$$;
