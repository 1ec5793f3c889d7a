//! Realm records on disk. `docs` is Kukeon's documented layout
//! (`<run>/<realm>/realm.yaml`); `atomic` holds the crash-safe write and the
//! sidecar lock every writer shares.

pub mod atomic;
pub mod docs;

pub use docs::{DocsStore, RealmEntry, RecordError};
