// Release builds of `kassa` link with the functions that start-up and the storefront's reads
// execute placed first, in the order infra/layout/kassa.order gives (`make layout` writes it;
// infra/layout/link.py, run by the linker wrapper of .cargo/config.toml, applies it). Debug
// builds and tests link as they are.
use std::path::PathBuf;

fn main() {
    let Ok(manifest) = std::env::var("CARGO_MANIFEST_DIR") else {
        return;
    };
    let layout = PathBuf::from(manifest).join("../layout");
    // The folder, not the file: a build without the file must not run this again every time.
    println!("cargo:rerun-if-changed={}", layout.display());
    let release = std::env::var("PROFILE").is_ok_and(|profile| profile == "release");
    if release && let Ok(order) = layout.join("kassa.order").canonicalize() {
        println!("cargo:rustc-env=KASSA_LINK_ORDER={}", order.display());
    }
}
