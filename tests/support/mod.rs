//! Test support shared by the end-to-end tests: fixture packages built in
//! memory, a local upstream index serving them, and the real `airlock`
//! binary under test.
#![allow(dead_code)]

pub mod airlock;
pub mod fixtures;
pub mod upstream;
