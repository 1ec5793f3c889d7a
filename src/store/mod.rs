//! Realm records on disk. `realms` reads and writes them in either of
//! Kukeon's layouts (documented `<run>/<realm>/realm.yaml`, or v0.5's
//! `<run>/data/<realm>/metadata.json`); `atomic` holds the crash-safe write
//! and the sidecar locks every writer shares.

pub mod atomic;
pub mod realms;

pub use realms::{Layout, RealmEntry, RealmStore, RecordError};
