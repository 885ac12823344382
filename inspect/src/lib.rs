//! airlock-inspect: static inspection of Python distributions. Pure: bytes
//! in, a [`Report`] out. It never writes files, never touches the network and
//! never executes anything it reads: package contents are attacker-controlled,
//! and hostile archives are normal input. Every limit it hits and every
//! malformation it meets becomes a finding, never a panic.

pub mod archive;
pub mod capabilities;
pub mod compare;
pub mod declared;
pub mod delta;
pub mod filename;
pub mod finding;
pub mod metadata;
pub mod name;
pub mod native;
pub mod paths;
pub mod python;
pub mod report;
pub mod rules;

pub use archive::{ArchiveEntry, EntryKind, Limits};
pub use capabilities::Capability;
pub use filename::DistFilename;
pub use finding::{Finding, Severity};
pub use metadata::CoreMetadata;
pub use paths::distribution_files;
pub use report::{inspect_archive, inspect_source, read_distribution, read_distribution_from, DistKind, Report};
