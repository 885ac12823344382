//! Core metadata (METADATA / PKG-INFO) parsing.
#![no_main]

use airlock_inspect::CoreMetadata;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    std::hint::black_box(CoreMetadata::parse(data));
});
