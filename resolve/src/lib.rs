//! Dependency sets, as pure logic over metadata. An organization installs
//! on a few target environments (Python versions × platforms); this crate
//! says which wheels fit them, which of a release's requirements apply on
//! which of them, which version a requirement should get, and what a
//! release's closure looks like once its edges are known: the tree, its
//! conflicts, cycles and gaps, and whether it is installable.
//!
//! It never touches a database or the network: the worker feeds it the
//! metadata and the candidates, and the store records its answers as rows.

pub mod choose;
pub mod closure;
pub mod file_selection;
pub mod lockfile;
pub mod pylock;
pub mod requirement;
pub mod requirements_txt;
pub mod targets;
pub mod wheel_tags;

pub use choose::{choose, Candidate, CandidateFile, Choice, Known, Standing};
pub use closure::{analyze, Closure, Edge, EdgeKind, Node, TreeLine};
pub use file_selection::{select_files, Listed, Selection};
pub use requirement::{dependencies, Dependency, Unfollowable};
pub use targets::{Platform, Target, TargetError, Targets};
pub use wheel_tags::WheelTags;
