//! kuke-tui: one shared operations core (`ops`) over three adapters
//! (`store` for realm records, `runtime` for containerd, `cgroup` for usage
//! and subtrees), with thin faces on top (`cli` now, the console later).

pub mod cgroup;
pub mod cli;
pub mod model;
pub mod ops;
pub mod runtime;
pub mod settings;
pub mod store;
