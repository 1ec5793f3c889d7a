//! The daemon address, resolved as Kukeon's `kuke` does: `--host`, else
//! `KUKEON_HOST`, else `unix:///run/kukeon/kukeond.sock`. Only `unix://` is
//! served; `ssh://` is planned in Kukeon and refused here with what to use.

use std::path::PathBuf;

/// Kukeon's default `KUKEON_HOST`.
pub const DEFAULT_HOST: &str = "unix:///run/kukeon/kukeond.sock";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Unix(PathBuf),
}

impl Address {
    pub fn socket(&self) -> &std::path::Path {
        match self {
            Address::Unix(path) => path,
        }
    }
}

/// Parses a `--host` / `KUKEON_HOST` value; the error is one line naming
/// the value and what to write instead.
pub fn parse_address(text: &str) -> Result<Address, String> {
    if let Some(path) = text.strip_prefix("unix://") {
        if path.is_empty() {
            return Err(format!(
                "--host {text:?} names no socket; write unix:///run/kukeon/kukeond.sock"
            ));
        }
        if !path.starts_with('/') {
            return Err(format!(
                "--host {text:?} is not an absolute socket path; write unix:///absolute/path/kukeond.sock"
            ));
        }
        return Ok(Address::Unix(PathBuf::from(path)));
    }
    if text.starts_with("ssh://") {
        return Err(format!(
            "--host {text:?}: ssh:// daemons are not supported yet; run kuke-tui on that host (unix:///run/kukeon/kukeond.sock) or pass --direct"
        ));
    }
    Err(format!(
        "--host {text:?} is not a kukeond address; write unix:///run/kukeon/kukeond.sock (ssh:// is not supported yet)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_addresses() {
        assert_eq!(
            parse_address(DEFAULT_HOST).unwrap(),
            Address::Unix("/run/kukeon/kukeond.sock".into())
        );
        assert!(parse_address("unix://")
            .unwrap_err()
            .contains("names no socket"));
        assert!(parse_address("unix://rel/sock")
            .unwrap_err()
            .contains("absolute"));
    }

    #[test]
    fn other_schemes_are_one_line_each() {
        let ssh = parse_address("ssh://root@box").unwrap_err();
        assert!(
            ssh.contains("not supported yet") && ssh.contains("unix://"),
            "{ssh}"
        );
        let tcp = parse_address("tcp://1.2.3.4:9").unwrap_err();
        assert!(tcp.contains("not a kukeond address"), "{tcp}");
        assert!(!ssh.contains('\n') && !tcp.contains('\n'));
    }
}
