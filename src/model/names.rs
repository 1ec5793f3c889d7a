//! Naming rules. New realm names become a directory under the run path, a
//! containerd namespace and a cgroup directory, so they must be safe for all
//! three at once.

/// The rule, stated once so every error says the same thing.
pub const REALM_NAME_RULE: &str =
    "lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters";

/// Directory names the documented layout's run path keeps for other things
/// (`run/`, and the folder names Kukeon uses, kept free there too). Kukeon's
/// own layout reserves none of them: its realms live under `data/`, where
/// `volumes` is an ordinary realm name (`validate_kukeon_realm_name`).
pub const RESERVED_REALM_NAMES: &[&str] = &[
    "run",
    "secrets",
    "blueprints",
    "configs",
    "volumes",
    "volume-meta",
];

/// Checks a name for a new realm (or a namespace we create).
pub fn validate_realm_name(name: &str) -> Result<(), String> {
    validate_dns_label(name).map_err(|why| {
        format!(
            "invalid realm name {}: {why}; use {REALM_NAME_RULE}",
            quote(name)
        )
    })?;
    if RESERVED_REALM_NAMES.contains(&name) {
        return Err(format!(
            "invalid realm name {}: the run path keeps that name for its own directory; choose another name",
            quote(name)
        ));
    }
    Ok(())
}

/// Checks a name for a new realm in Kukeon's layout: the same rule, without
/// the documented layout's reserved names (Kukeon keeps `secrets/`,
/// `volumes/`, ... only inside a realm or space, never beside the realms).
pub fn validate_kukeon_realm_name(name: &str) -> Result<(), String> {
    validate_dns_label(name).map_err(|why| {
        format!(
            "invalid realm name {}: {why}; use {REALM_NAME_RULE}",
            quote(name)
        )
    })
}

/// Checks a containerd namespace given with `--namespace`: containerd's own
/// identifier rule (alphanumeric runs joined by single '.', '_' or '-', at
/// most 76 characters), which admits Kukeon's `<realm>.kukeon.io`.
pub fn validate_namespace(ns: &str) -> Result<(), String> {
    let ok = !ns.is_empty()
        && ns.len() <= 76
        && ns
            .split(['.', '_', '-'])
            .all(|run| !run.is_empty() && run.bytes().all(|b| b.is_ascii_alphanumeric()));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid namespace {}: use letters and digits joined by single '.', '_' or '-', at most 76 characters",
            quote(ns)
        ))
    }
}

fn validate_dns_label(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("it is empty");
    }
    if name.len() > 63 {
        return Err("it is longer than 63 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err("it has a character other than a-z, 0-9 and '-'");
    }
    let first = name.as_bytes()[0];
    let last = name.as_bytes()[name.len() - 1];
    if first == b'-' || last == b'-' {
        return Err("it starts or ends with '-'");
    }
    Ok(())
}

/// Whether an existing directory name may be treated as a realm at all
/// (listed, deleted). Looser than the creation rule: anything that is a
/// single, non-special path component.
pub fn is_listable_realm_dir(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && name != "run" && !name.contains('/')
}

/// Whether a name given on the command line for an existing realm is a single
/// path component that cannot escape the run path.
pub fn validate_existing_realm_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(format!(
            "invalid realm name {}: it is not a single path component; realm names are {REALM_NAME_RULE}",
            quote(name)
        ));
    }
    // No directory name is longer (NAME_MAX); refusing it here says so
    // instead of a misleading "not found".
    if name.len() > MAX_DIR_NAME {
        return Err(format!(
            "invalid realm name {}: it is longer than {MAX_DIR_NAME} bytes, so no realm directory can have it; realm names are {REALM_NAME_RULE}",
            quote(name)
        ));
    }
    Ok(())
}

/// The longest directory name Linux file systems allow (NAME_MAX).
const MAX_DIR_NAME: usize = 255;
/// Longest registry server or username accepted: a host name is at most 253
/// characters, and no registry account name comes close.
const MAX_CREDENTIAL_FIELD: usize = 255;

/// Characters that are invisible or reorder text on a terminal without being
/// `char::is_control`: zero-width and joiner marks, bidirectional embeddings,
/// overrides, isolates and marks, the soft hyphen, line/paragraph separators,
/// invisible operators, interlinear annotation marks and Unicode tag
/// characters. A name or label holding one can look like a different name.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{34f}'
            | '\u{61c}'
            | '\u{115f}'..='\u{1160}'
            | '\u{17b4}'..='\u{17b5}'
            | '\u{180b}'..='\u{180f}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{3164}'
            | '\u{feff}'
            | '\u{ffa0}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{e0000}'..='\u{e007f}'
    )
}

/// Control characters, or invisible/reordering ones (`is_invisible`).
fn has_hidden(s: &str) -> bool {
    s.chars().any(|c| c.is_control() || is_invisible(c))
}

/// Checks a `k=v` label. Keys follow the Kubernetes shape loosely: printable,
/// no spaces, no '='; values are printable without control characters.
pub fn parse_label(text: &str) -> Result<(String, String), String> {
    let Some((k, v)) = text.split_once('=') else {
        return Err(format!("invalid label {}: expected key=value", quote(text)));
    };
    // Why the parts: a key like `../x` or `a//b` is not a label anyone means;
    // as in Kubernetes, an optional `prefix/` and a name, each starting and
    // ending with a letter or digit.
    let part_ok = |p: &str| {
        p.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && p.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric())
    };
    let key_ok = !k.is_empty()
        && k.len() <= 253
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        && k.split('/').count() <= 2
        && k.split('/').all(part_ok);
    if !key_ok {
        return Err(format!(
            "invalid label key {}: use letters, digits, '-', '_' and '.', starting and ending with a letter or digit, with an optional prefix/ (such as kukeon.io/team), at most 253 characters",
            quote(k)
        ));
    }
    if v.len() > 1024 || has_hidden(v) {
        return Err(format!(
            "invalid label value for {k}: no control, zero-width or bidirectional characters, at most 1024 characters"
        ));
    }
    Ok((k.to_string(), v.to_string()))
}

/// Checks a registry server address: non-empty, no whitespace or control characters.
pub fn validate_server(server: &str) -> Result<(), String> {
    if server.is_empty() {
        return Err(
            "invalid --server: it is empty; give a registry host such as registry.example.com"
                .into(),
        );
    }
    if server.chars().any(char::is_whitespace) || has_hidden(server) {
        return Err(format!(
            "invalid --server {}: it contains spaces, control, zero-width or bidirectional characters; give a registry host such as registry.example.com",
            quote(server)
        ));
    }
    if server.chars().count() > MAX_CREDENTIAL_FIELD {
        return Err(format!(
            "invalid --server {}: it is longer than {MAX_CREDENTIAL_FIELD} characters; give a registry host such as registry.example.com",
            quote(server)
        ));
    }
    Ok(())
}

/// Checks a username: non-empty, no control characters.
pub fn validate_username(username: &str) -> Result<(), String> {
    if username.is_empty() {
        return Err("invalid --username: it is empty; give the registry account name".into());
    }
    // Why: a bidi override or zero-width mark makes one account name look
    // like another in every listing.
    if has_hidden(username) {
        return Err(format!(
            "invalid --username {}: it contains control, zero-width or bidirectional characters; give the registry account name as plain text",
            quote(username)
        ));
    }
    if username.chars().count() > MAX_CREDENTIAL_FIELD {
        return Err(format!(
            "invalid --username {}: it is longer than {MAX_CREDENTIAL_FIELD} characters; give the registry account name",
            quote(username)
        ));
    }
    Ok(())
}

/// Quotes a user-supplied string for an error line with control characters
/// and escapes shown inert, so nothing typed can drive the terminal. Long
/// input is cut (with its length said) so the error stays one readable line.
pub fn quote(s: &str) -> String {
    const SHOWN: usize = 64;
    let n = s.chars().count();
    if n <= SHOWN {
        format!("{:?}", s)
    } else {
        let head: String = s.chars().take(SHOWN).collect();
        format!("{head:?}… ({n} characters)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_dns_labels() {
        for ok in ["a", "main", "team-42", "0", "a-b-c", &"a".repeat(63)] {
            assert!(validate_realm_name(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_everything_else_with_the_rule() {
        for bad in [
            "",
            "../x",
            "a/b",
            "A",
            "-x",
            "x-",
            "a_b",
            ".",
            "..",
            "a b",
            "a\nb",
            "é",
            &"a".repeat(64),
        ] {
            let err = validate_realm_name(bad).unwrap_err();
            assert!(err.contains(REALM_NAME_RULE), "{bad}: {err}");
            assert!(!err.contains('\n'), "one line for {bad:?}");
        }
    }

    #[test]
    fn reserved_directory_names_are_refused() {
        // Found by the fuzzer: "run" passed, then was never listed.
        for name in RESERVED_REALM_NAMES {
            let err = validate_realm_name(name).unwrap_err();
            assert!(err.contains("keeps that name"), "{name}: {err}");
        }
        assert!(validate_realm_name("runner").is_ok());
        // Kukeon's layout keeps none of them beside its realms.
        for name in [
            "secrets",
            "blueprints",
            "configs",
            "volumes",
            "volume-meta",
            "run",
        ] {
            assert!(validate_kukeon_realm_name(name).is_ok(), "{name}");
        }
        assert!(validate_kukeon_realm_name("a_b").is_err());
    }

    #[test]
    fn existing_names_cannot_escape() {
        assert!(validate_existing_realm_name("Old_Realm").is_ok());
        for bad in ["", ".", "..", "a/b", "../etc"] {
            assert!(validate_existing_realm_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn labels_and_servers() {
        assert_eq!(
            parse_label("team=a=b").unwrap(),
            ("team".into(), "a=b".into())
        );
        assert!(parse_label("noequals").is_err());
        assert!(parse_label("=v").is_err());
        assert!(parse_label("kukeon.io/team=a").is_ok());
        for bad in ["../x=v", "a//b=v", "/a=v", "a/=v", "a/b/c=v", "-a=v"] {
            assert!(parse_label(bad).is_err(), "{bad}");
        }
        assert!(parse_label("k=\u{1b}[31m").is_err());
        assert!(validate_server("registry.example.com:5000").is_ok());
        assert!(validate_server("bad host").is_err());
        assert!(validate_server("").is_err());
        assert!(validate_username("").is_err());
        assert!(validate_namespace("web.kukeon.io").is_ok());
        assert!(validate_namespace("kukeon-web").is_ok());
        for bad in ["", "a..b", "-a", "a_", "a/b", "a b", &"a".repeat(77)] {
            assert!(validate_namespace(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn invisible_and_long_values_are_refused_and_quoted_short() {
        let long = "x".repeat(10_000);
        for bad in [
            "r\u{202e}io",
            "r\u{2066}.io",
            "\u{200b}r.io",
            "\u{feff}r.io",
            &long,
        ] {
            assert!(validate_server(bad).is_err(), "{bad:?}");
            assert!(validate_username(bad).is_err(), "{bad:?}");
            assert!(parse_label(&format!("k={bad}")).is_err(), "{bad:?}");
        }
        assert!(validate_username("robot@example").is_ok());
        assert!(parse_label("k=日本").is_ok());
        assert!(validate_existing_realm_name(&"a".repeat(255)).is_ok());
        let err = validate_existing_realm_name(&long).unwrap_err();
        assert!(
            err.contains("(10000 characters)") && err.len() < 400,
            "{err}"
        );
        assert_eq!(quote("a\u{1b}"), "\"a\\u{1b}\"");
    }
}
