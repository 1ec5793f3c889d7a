//! Plain data shared by every layer: the realm document, naming rules,
//! masking and human-readable units. No I/O lives here.

pub mod cgroup_names;
pub mod names;
pub mod realm;
pub mod units;

pub use realm::{RealmDoc, RegistryCredential};
