//! Realm records on disk. `realms` reads and writes them in either of
//! Kukeon's layouts (documented `<run>/<realm>/realm.yaml`, or the shipped
//! `<run>/data/<realm>/metadata.json`); `atomic` holds the crash-safe write
//! and the sidecar locks every writer shares; `version` tells which Kukeon
//! release wrote a host, `order` keeps key order on a read-modify-write and
//! `gojson` writes JSON byte for byte as Go's encoder does.

pub mod atomic;
pub mod gojson;
pub mod order;
pub mod realms;
pub mod version;

pub use realms::{Layout, RealmEntry, RealmStore, RecordError};
pub use version::KukeonVersion;
