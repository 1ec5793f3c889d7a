//! Realm records as another tool (or a disk fault) may leave them: the first
//! byte picks the layout (even: `realm.yaml`, odd: Kukeon's
//! `metadata.json`), the rest is the file. Parsing must never panic, and a
//! record we can read must survive our rewrite: the console rewrites records
//! when it adds a credential, so writing back what we read, then reading and
//! writing again, must give the same bytes (nothing lost on the second pass).
//! The one record we read but refuse to write is one using a mapping or list
//! as a key, and then the error must say so (`UNWRITABLE_KEY`).
#![no_main]

use kuke_tui::store::realms::UNWRITABLE_KEY;
use kuke_tui::store::{Layout, RealmStore};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    let layout = if which & 1 == 0 {
        Layout::Docs
    } else {
        Layout::Kukeon
    };
    let Ok(doc) = RealmStore::decode_as(layout, bytes) else {
        return;
    };
    // What listing and display do with any parsed record.
    let _ = doc.state();
    let _ = doc.explicit_namespace();
    let masked = doc.masked();
    let first = match RealmStore::encode_as(layout, &doc) {
        Ok(bytes) => bytes,
        Err(e) => {
            assert_eq!(e.to_string(), UNWRITABLE_KEY, "a parsed record does not encode");
            return;
        }
    };
    RealmStore::encode_as(layout, &masked).expect("a masked record encodes");

    let again = RealmStore::decode_as(layout, &first).expect("our own output parses");
    let second = RealmStore::encode_as(layout, &again).expect("it encodes again");
    assert!(
        first == second,
        "a rewrite changed the record:\n{}\n---\n{}",
        String::from_utf8_lossy(&first),
        String::from_utf8_lossy(&second)
    );
});
