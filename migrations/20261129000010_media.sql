-- Product media: images uploaded to S3 through presigned URLs, or external https URLs.

-- Every presigned upload Kassa handed out: what may be attached under that key (its content
-- type and size) and until when it may have been uploaded.
create table media_uploads (
  tenant_id    uuid not null references tenants (id) on delete cascade,
  key          text not null,
  content_type text not null,
  max_bytes    bigint not null check (max_bytes > 0),
  expires_at   timestamptz not null,
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now(),
  constraint media_uploads_pkey primary key (tenant_id, key)
);
create index media_uploads_expiry_idx on media_uploads (expires_at);

create table product_media (
  id           uuid primary key,
  tenant_id    uuid not null references tenants (id) on delete cascade,
  product_id   uuid not null,
  -- The variant the image shows, if only one.
  variant_id   uuid,
  position     integer not null default 0,
  -- Exactly one of: an uploaded object's key in MEDIA_BUCKET, or an external https URL.
  key          text,
  url          text,
  content_type text,
  size_bytes   bigint,
  alt          jsonb not null default '{}' check (jsonb_typeof(alt) = 'object'),
  version      bigint not null default 1,
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now(),
  constraint product_media_source check ((key is null) <> (url is null)),
  constraint product_media_key_key unique (tenant_id, key),
  constraint product_media_product_fkey foreign key (tenant_id, product_id)
    references products (tenant_id, id) on delete cascade,
  constraint product_media_variant_fkey foreign key (tenant_id, variant_id)
    references product_variants (tenant_id, id) on delete set null (variant_id)
);
create index product_media_product_idx on product_media (tenant_id, product_id, position, id);

do $$
declare
  t text;
begin
  foreach t in array array['media_uploads', 'product_media'] loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format('create policy tenant_isolation on %I to kassa_app
                      using (tenant_id = kassa_current_tenant()) with check (tenant_id = kassa_current_tenant())', t);
    execute format('create trigger %I before update on %I for each row execute function kassa_touch_updated_at()',
                   t || '_touch', t);
  end loop;
end
$$;
