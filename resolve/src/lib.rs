//! Dependency sets, as pure logic over metadata. An organization installs
//! on a few target environments (Python versions × platforms); this crate
//! says which wheels fit them, which of a release's requirements apply on
//! which of them, which version a requirement should get, and what a
//! release's closure looks like once its edges are known: the tree, its
//! conflicts, cycles and gaps, and whether it is installable.
//!
//! It never touches a database or the network: the worker feeds it the
//! metadata and the candidates, and the store records its answers as rows.

pub mod file_selection;
pub mod targets;
pub mod wheel_tags;

pub use file_selection::{select_files, Choice, Listed, Selection};
pub use targets::{Platform, Target, TargetError, Targets};
pub use wheel_tags::WheelTags;
