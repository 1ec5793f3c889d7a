//! The space's bridge link, deleted with `ip link delete <name> type bridge`
//! as Kukeon's `IPBridgeRunner` does, in the caller's network namespace.

use super::exec;
use std::path::Path;
use std::time::Duration;

/// A Linux interface name (IFNAMSIZ-1, no `/`, no spaces): anything else in
/// a conflist is not passed to `ip`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 15
        && name != "."
        && name != ".."
        && !name.contains(['/', ' ', '\t', '\n', ':'])
}

/// Whether the link exists, by `ip link show dev <name>`.
pub fn exists(ip: &Path, name: &str, bound: Duration) -> Result<bool, String> {
    let ran = exec::run(ip, &["-o", "link", "show", "dev", name], &[], None, bound)?;
    if ran.ok {
        return Ok(true);
    }
    if absent(&ran) {
        return Ok(false);
    }
    Err(format!("ip link show {name}: {}", ran.said()))
}

/// Deletes the bridge; an absent one is success. True when it was there.
pub fn delete(ip: &Path, name: &str, bound: Duration) -> Result<bool, String> {
    let ran = exec::run(
        ip,
        &["link", "delete", name, "type", "bridge"],
        &[],
        None,
        bound,
    )?;
    if ran.ok {
        return Ok(true);
    }
    if absent(&ran) {
        return Ok(false);
    }
    Err(format!("ip link delete {name}: {}", ran.said()))
}

fn absent(ran: &exec::Ran) -> bool {
    let said = ran.said().to_lowercase();
    said.contains("does not exist") || said.contains("cannot find device")
}

#[cfg(test)]
mod tests {
    #[test]
    fn names() {
        assert!(super::valid_name("k-1234abcd"));
        assert!(!super::valid_name("a-very-long-bridge-name"));
        assert!(!super::valid_name("a/b"));
        assert!(!super::valid_name(""));
    }
}
