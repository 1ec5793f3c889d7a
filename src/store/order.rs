//! Key order on a read-modify-write. serde writes a struct's fields in
//! declaration order (Kukeon's Go struct order) and the keys it does not
//! know after them; this puts every key back where the file on disk had it,
//! and a key the file did not have right after the key that precedes it in
//! the new document (so a new `generation` lands after `labels`, as Kukeon
//! writes it).

use serde_yaml_ng::{Mapping, Value};

/// `new` with the keys of every mapping in the order `old` has them.
pub fn arrange(new: Value, old: &Value) -> Value {
    match (new, old) {
        (Value::Mapping(new), Value::Mapping(old)) => Value::Mapping(arrange_map(new, old)),
        (Value::Sequence(new), Value::Sequence(old)) => Value::Sequence(
            new.into_iter()
                .enumerate()
                .map(|(i, item)| match counterpart(&item, i, old) {
                    Some(was) => arrange(item, was),
                    None => item,
                })
                .collect(),
        ),
        (new, _) => new,
    }
}

/// The old list item a new one came from: the one with the same
/// `serverAddress` and `username` (a registry credential), else the one at
/// the same index.
fn counterpart<'a>(item: &Value, index: usize, old: &'a [Value]) -> Option<&'a Value> {
    let identity = |v: &Value| {
        let m = v.as_mapping()?;
        Some((m.get("serverAddress").cloned(), m.get("username").cloned()))
    };
    let id = identity(item);
    id.as_ref()
        .and_then(|id| old.iter().find(|o| identity(o).as_ref() == Some(id)))
        .or_else(|| old.get(index))
}

fn arrange_map(mut new: Mapping, old: &Mapping) -> Mapping {
    let new_keys: Vec<Value> = new.keys().cloned().collect();
    let mut order: Vec<Value> = old
        .keys()
        .filter(|k| new.contains_key(*k))
        .cloned()
        .collect();
    for (i, key) in new_keys.iter().enumerate() {
        if order.contains(key) {
            continue;
        }
        let at = new_keys[..i]
            .iter()
            .rev()
            .find_map(|before| order.iter().position(|o| o == before))
            .map_or(0, |p| p + 1);
        order.insert(at, key.clone());
    }
    let mut out = Mapping::with_capacity(order.len());
    for key in order {
        if let Some(value) = new.remove(&key) {
            let value = match old.get(&key) {
                Some(was) => arrange(value, was),
                None => value,
            };
            out.insert(key, value);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Value {
        serde_yaml_ng::from_str(text).unwrap()
    }

    fn keys(v: &Value) -> Vec<&str> {
        v.as_mapping()
            .unwrap()
            .keys()
            .map(|k| k.as_str().unwrap())
            .collect()
    }

    #[test]
    fn old_order_kept_and_new_keys_follow_their_predecessor() {
        let old = yaml("{b: 1, x: {q: 1, p: 2}, a: 2}");
        let new = yaml("{a: 3, g: 0, b: 1, x: {p: 2, q: 1, r: 3}, z: 9}");
        let got = arrange(new, &old);
        assert_eq!(keys(&got), ["b", "x", "z", "a", "g"]);
        // `r` follows `q`, its predecessor in the new document.
        assert_eq!(keys(&got["x"]), ["q", "r", "p"]);
        assert_eq!(got["a"], yaml("3"));
    }

    #[test]
    fn list_items_follow_the_item_they_came_from() {
        let old =
            yaml("[{serverAddress: r1, extra: 1, username: u}, {username: v, serverAddress: r2}]");
        let new = yaml("[{username: v, serverAddress: r2, password: p}, {username: u, serverAddress: r1, extra: 1}]");
        let got = arrange(new, &old);
        assert_eq!(keys(&got[0]), ["username", "serverAddress", "password"]);
        assert_eq!(keys(&got[1]), ["serverAddress", "extra", "username"]);
    }
}
