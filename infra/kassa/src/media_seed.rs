//! The demo shop's merchandising: two collections (a manual "Featured" list and an automatic
//! "Under €20" by price) and an image for every demo product — a coloured tile generated here
//! (a small PNG encoder; nothing is downloaded) and uploaded into the media bucket through
//! the same upload-and-attach path staff use.
//!
//! Like the rest of the seed it only adds what is missing: a collection whose handle exists
//! is the shop's (left as staff left it); a product that has any image, or is gone, gets
//! none. Without a reachable bucket the images are skipped with the reason printed.

use kassa_domain::DomainError;
use kassa_domain::collections::{Collection, CollectionDraft, CollectionProducts};
use kassa_domain::media::{MediaDraft, UploadRequest};
use kassa_domain::resource::{self, Editable};
use kassa_domain::tenant::Tenant;
use kassa_domain::{collections, media, products};
use kassa_runtime::Config;
use kassa_runtime::media::MediaStore;
use serde_json::json;
use sqlx::PgPool;

use crate::catalog_seed::demo_catalog;
use crate::seed::SeedReport;

/// The demo products "Featured" lists, in order.
pub const FEATURED: [&str; 6] = [
    "natural-apron",
    "indigo-mug",
    "sage-candle",
    "charcoal-notebook",
    "sage-plant-pot",
    "natural-throw-blanket",
];

/// Adds the demo collections that are missing.
pub async fn seed_collections(
    pool: &PgPool,
    tenant: &Tenant,
    report: &mut SeedReport,
) -> Result<(), DomainError> {
    let drafts = [
        json!({"handle": "featured", "title": {"en": "Featured", "nl": "Uitgelicht"},
               "description": {"en": "Our picks of the season.", "nl": "Onze keuze van het seizoen."},
               "kind": "manual", "sort": "manual"}),
        json!({"handle": "under-20", "title": {"en": "Under €20", "nl": "Onder €20"},
               "kind": "automatic", "sort": "price_asc",
               "rules": {"price": {"currency": "EUR", "max": 2000}}}),
    ];
    for draft in drafts {
        let draft: CollectionDraft =
            serde_json::from_value(draft).map_err(|e| DomainError::Unexpected(e.to_string()))?;
        if resource::find::<Collection>(pool, tenant, "handle", &draft.handle).await?.is_some() {
            continue;
        }
        let collection = match Collection::create(pool, tenant, &draft).await {
            Ok(collection) => collection,
            Err(e @ (DomainError::Conflict { .. } | DomainError::Validation(_))) => {
                report.skip(tenant, format!("collection {}", draft.handle), e.to_string());
                continue;
            }
            Err(e) => return Err(e),
        };
        report.add(tenant, format!("collection {}", draft.handle));
        if collection.kind == collections::CollectionKind::Manual {
            let mut product_ids = Vec::new();
            for handle in FEATURED {
                if let Some(product) = products::find_by_handle(pool, tenant, handle).await? {
                    product_ids.push(product.id);
                }
            }
            collections::set_products(pool, tenant, collection.id, &CollectionProducts { product_ids })
                .await?;
        }
    }
    Ok(())
}

/// Uploads and attaches an image to every demo product without one. Returns how many it
/// added; a bucket that cannot be reached is a skip in the report, not a failure.
pub async fn seed_images(
    pool: &PgPool,
    config: &Config,
    tenant: &Tenant,
    report: &mut SeedReport,
) -> Result<usize, DomainError> {
    let store = MediaStore::connect(config).await;
    let origins: Vec<&str> = config.admin_origins.iter().map(String::as_str).collect();
    if let Err(err) = store.ensure_bucket(&origins).await {
        report.skip(tenant, "product images".to_owned(), format!("the media bucket is unavailable: {err}"));
        return Ok(0);
    }
    let mut added = 0;
    for (n, demo) in demo_catalog().iter().enumerate() {
        let handle = &demo.draft.handle;
        let Some(product) = products::find_by_handle(pool, tenant, handle).await? else { continue };
        if !media::list(pool, tenant, product.id).await?.is_empty() {
            continue;
        }
        let color = demo.variants.first().and_then(|v| v.attributes.get("color")).and_then(|c| c.as_str());
        let png = tile(colour_of(color.unwrap_or_default()), n);
        let request = UploadRequest { content_type: "image/png".to_owned(), size: png.len() as i64 };
        let upload = media::issue_upload(pool, tenant, &request).await?;
        if let Err(err) = store.put(&upload.key, "image/png", png).await {
            report.skip(
                tenant,
                "product images".to_owned(),
                format!("the media bucket refused an upload: {err}"),
            );
            return Ok(added);
        }
        let title = demo.draft.title.clone();
        let draft = MediaDraft { key: Some(upload.key), url: None, variant_id: None, alt: title };
        match kassa_runtime::media::attach(pool, &store, tenant, product.id, &draft).await {
            Ok(_) => added += 1,
            Err(e @ (DomainError::Validation(_) | DomainError::Conflict { .. })) => {
                report.skip(tenant, format!("image of {handle}"), e.to_string());
            }
            Err(e) => return Err(e),
        }
    }
    if added > 0 {
        report.add(tenant, format!("{added} product images"));
    }
    Ok(added)
}

/// The RGB of a demo `color` attribute.
fn colour_of(color: &str) -> [u8; 3] {
    match color {
        "natural" => [0xe8, 0xdc, 0xc4],
        "blue" => [0x2e, 0x3f, 0x7c],
        "grey" => [0x44, 0x47, 0x4c],
        "green" => [0x8f, 0xa8, 0x8a],
        "red" => [0xc0, 0x62, 0x3e],
        _ => [0x99, 0x99, 0x99],
    }
}

/// A 128×128 tile of `rgb` with a lighter band whose place says which product it is.
pub fn tile(rgb: [u8; 3], n: usize) -> Vec<u8> {
    const SIZE: usize = 128;
    let band = (n * 11) % (SIZE - 24);
    let mut raw = Vec::with_capacity(SIZE * (SIZE * 3 + 1));
    for y in 0..SIZE {
        raw.push(0); // filter: none
        for _ in 0..SIZE {
            let light = (band..band + 24).contains(&y);
            raw.extend(rgb.map(|c| if light { c.saturating_add((255 - c) / 2) } else { c }));
        }
    }
    png(SIZE as u32, SIZE as u32, &raw)
}

/// An 8-bit RGB PNG of `raw` scanlines (each led by its filter byte), deflated as stored
/// blocks: valid, uncompressed, dependency-free.
fn png(width: u32, height: u32, raw: &[u8]) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::with_capacity(13);
    header.extend(width.to_be_bytes());
    header.extend(height.to_be_bytes());
    header.extend([8, 2, 0, 0, 0]); // 8 bits, RGB, deflate, no filter method, no interlace
    chunk(&mut out, b"IHDR", &header);
    let mut zlib = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        zlib.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        zlib.extend(len.to_le_bytes());
        zlib.extend((!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    zlib.extend(adler32(raw).to_be_bytes());
    chunk(&mut out, b"IDAT", &zlib);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend((data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend(crc.to_be_bytes());
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffff_u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1_u32, 0_u32);
    for &byte in bytes {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_their_published_check_values() {
        // The check values of CRC-32/ISO-HDLC and Adler-32 for "123456789".
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(adler32(b"123456789"), 0x091e_01de);
    }

    #[test]
    fn a_tile_is_a_png_of_its_size() {
        let png = tile([1, 2, 3], 0);
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(u32::from_be_bytes([png[16], png[17], png[18], png[19]]), 128);
        assert!(png.ends_with(&[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xae, 0x42, 0x60, 0x82]));
    }
}
