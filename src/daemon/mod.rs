//! kukeond, Kukeon's daemon (v0.6 and later): where it listens (`address`),
//! Go's `net/rpc` JSON-RPC 1.0 wire format over its unix socket (`rpc`), and
//! the `KukeonV1` argument and reply structs (`wire`). This adapter knows
//! nothing of records, containerd or cgroups; `ops::daemon` decides when to
//! use it.

pub mod address;
pub mod rpc;
pub mod wire;

pub use address::{parse_address, Address, DEFAULT_HOST};
pub use rpc::{CallError, Client};
