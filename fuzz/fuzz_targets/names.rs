//! Names, labels and credential fields as typed or found on disk. None of
//! the checks may panic, and what they accept must be safe where it is used:
//! a realm name is one path component and gives a namespace containerd takes
//! (or is refused up front), and every error line shows the input inert.
#![no_main]

use kuke_tui::model::names::{
    is_listable_realm_dir, parse_label, quote, validate_existing_realm_name, validate_namespace,
    validate_realm_name, validate_server, validate_username,
};
use kuke_tui::model::realm::default_namespace;
use libfuzzer_sys::fuzz_target;

/// No byte that could drive a terminal: C0/C1 controls, DEL, bidi and
/// zero-width format characters.
fn inert(line: &str) -> bool {
    !line.chars().any(|c| {
        c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let s = text.as_ref();

    assert!(inert(&quote(s)), "quote leaves {s:?} live");
    for result in [
        validate_realm_name(s),
        validate_namespace(s),
        validate_existing_realm_name(s),
        validate_server(s),
        validate_username(s),
        parse_label(s).map(|_| ()),
    ] {
        if let Err(message) = result {
            assert!(inert(&message), "error line not inert: {message:?}");
            assert!(!message.contains('\n'), "error spans lines: {message:?}");
        }
    }

    if validate_realm_name(s).is_ok() {
        assert!((1..=63).contains(&s.len()));
        assert!(s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
        assert!(is_listable_realm_dir(s), "{s:?} valid but not listable");
        assert!(validate_existing_realm_name(s).is_ok());
        let ns = default_namespace(s);
        // Either containerd takes the namespace, or create refuses the name
        // up front (ops::create::check_request); both are fine, but the
        // namespace check itself must agree with containerd's identifier rule.
        let containerd_ok = ns.len() <= 76
            && ns
                .split(['.', '_', '-'])
                .all(|run| !run.is_empty() && run.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(validate_namespace(&ns).is_ok(), containerd_ok, "{ns:?}");
    }
    if validate_existing_realm_name(s).is_ok() {
        assert!(!s.contains('/') && !s.contains('\0') && s != "." && s != ".." && !s.is_empty());
    }
    if let Ok((k, v)) = parse_label(s) {
        assert_eq!(format!("{k}={v}"), s);
        assert!(!k.contains('='));
        assert!(!v.chars().any(char::is_control));
    }
});
