//! Rebuild the store when a migration changes: `embed_migrations!` reads the
//! migration folders at compile time, and cargo would not notice otherwise.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
