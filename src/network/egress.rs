//! A space's egress policy in iptables, as Kukeon's `netpolicy` writes it:
//! a per-space chain `KUKE-EGR-<fnv32a("<realm>/<space>")>` and its dispatch
//! rule(s) `-A KUKEON-EGRESS -i <bridge> ... -j <chain>` in the shared master
//! chain. The master chain (and its jump from FORWARD) stays: other spaces
//! use it. Runs the `iptables` binary in the caller's network namespace.

use super::exec;
use std::path::Path;
use std::time::Duration;

pub const MASTER_CHAIN: &str = "KUKEON-EGRESS";

/// Kukeon's chain name for a space.
pub fn chain_name(realm: &str, space: &str) -> String {
    format!(
        "KUKE-EGR-{:08x}",
        super::fnv1a32(&format!("{realm}/{space}"))
    )
}

/// What iptables holds for a space now.
#[derive(Debug, Default)]
pub struct Found {
    pub chain: bool,
    /// `-A KUKEON-EGRESS ...` lines that jump to the chain.
    pub dispatch: Vec<String>,
}

pub fn find(iptables: &Path, chain: &str, bound: Duration) -> Result<Found, String> {
    // The whole filter table in one listing: `-S <chain>` on a missing
    // chain says "incompatible" rather than "no chain" on some nf_tables
    // builds, so a per-chain listing cannot tell absent from broken.
    let all = exec::run(iptables, &["-w", "-S"], &[], None, bound)?;
    if !all.ok {
        return Err(format!("iptables -S: {}", all.said()));
    }
    Ok(Found {
        chain: all
            .stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["-N", chain]),
        dispatch: all
            .stdout
            .lines()
            .filter(|l| jumps_to(l, chain))
            .map(|l| l.trim().to_string())
            .collect(),
    })
}

/// Deletes the dispatch rules, then flushes and deletes the chain. Returns
/// how many objects went (rules + chain). Idempotent.
pub fn remove(iptables: &Path, chain: &str, bound: Duration) -> Result<usize, String> {
    let found = find(iptables, chain, bound)?;
    let mut removed = 0;
    for line in &found.dispatch {
        let mut args = split_rule(line)?;
        if args.first().map(String::as_str) != Some("-A") {
            continue;
        }
        args[0] = "-D".into();
        let mut argv: Vec<&str> = vec!["-w"];
        argv.extend(args.iter().map(String::as_str));
        let ran = exec::run(iptables, &argv, &[], None, bound)?;
        if !ran.ok && !is_no_chain(&ran) {
            return Err(format!("iptables -D {line:?}: {}", ran.said()));
        }
        removed += ran.ok as usize;
    }
    if found.chain {
        for op in ["-F", "-X"] {
            let ran = exec::run(iptables, &["-w", op, chain], &[], None, bound)?;
            if !ran.ok && !is_no_chain(&ran) {
                return Err(format!("iptables {op} {chain}: {}", ran.said()));
            }
        }
        removed += 1;
    }
    Ok(removed)
}

/// A rule line whose `-j` target is exactly `chain`.
fn jumps_to(line: &str, chain: &str) -> bool {
    let words: Vec<&str> = line.split_whitespace().collect();
    words.first() == Some(&"-A")
        && words.get(1) == Some(&MASTER_CHAIN)
        && words.windows(2).any(|w| w[0] == "-j" && w[1] == chain)
}

/// `iptables -S` quotes values with spaces (comments): those stay one
/// argument, without the quotes.
fn split_rule(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            _ => cur.push(c),
        }
    }
    if quoted {
        return Err(format!("unterminated quote in iptables rule {line:?}"));
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

fn is_no_chain(ran: &exec::Ran) -> bool {
    let said = ran.said().to_lowercase();
    said.contains("no chain/target/match") || said.contains("does not exist")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_names_match_kukeons() {
        // FNV-1a 32 of "main/default", as Go's hash/fnv computes it.
        assert_eq!(
            chain_name("main", "default"),
            format!("KUKE-EGR-{:08x}", super::super::fnv1a32("main/default"))
        );
        assert_eq!(super::super::fnv1a32(""), 0x811c9dc5);
        assert_eq!(super::super::fnv1a32("a"), 0xe40c292c);
        assert!(chain_name("main", "default").len() <= 28);
    }

    #[test]
    fn dispatch_lines_are_matched_exactly() {
        let l = "-A KUKEON-EGRESS -i k-1 -m comment --comment \"kukeon:a b:dispatch\" -j KUKE-EGR-0000000a";
        assert!(jumps_to(l, "KUKE-EGR-0000000a"));
        assert!(!jumps_to(l, "KUKE-EGR-0000000"));
        assert!(!jumps_to(
            "-A FORWARD -j KUKE-EGR-0000000a",
            "KUKE-EGR-0000000a"
        ));
        assert_eq!(
            split_rule(l).unwrap(),
            [
                "-A",
                "KUKEON-EGRESS",
                "-i",
                "k-1",
                "-m",
                "comment",
                "--comment",
                "kukeon:a b:dispatch",
                "-j",
                "KUKE-EGR-0000000a"
            ]
        );
        assert!(split_rule("-A X \"open").is_err());
    }
}
