//! kuke-tui: one shared operations core (`ops`) over three adapters
//! (`store` for realm records, `runtime` for containerd, `cgroup` for usage
//! and subtrees), with two thin faces on top: `cli` (headless subcommands) and `tui` (the
//! interactive console).

pub mod cgroup;
pub mod cli;
pub mod daemon;
pub mod model;
pub mod network;
pub mod ops;
pub mod runtime;
pub mod settings;
pub mod store;
pub mod tui;
