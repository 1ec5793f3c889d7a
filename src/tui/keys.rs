//! The key bindings of each screen, as shown by `?` and the footer.

use super::app::{Screen, Tab};

pub struct Binding {
    pub keys: &'static str,
    pub action: &'static str,
    /// Hidden in --readonly mode.
    pub mutates: bool,
}

const fn b(keys: &'static str, action: &'static str) -> Binding {
    Binding {
        keys,
        action,
        mutates: false,
    }
}
const fn m(keys: &'static str, action: &'static str) -> Binding {
    Binding {
        keys,
        action,
        mutates: true,
    }
}

const REALMS: &[Binding] = &[
    b("↑↓ j k", "move"),
    b("PgUp PgDn g G", "page, first, last"),
    b("Enter →", "open realm"),
    b("/", "filter (Enter keeps, Esc clears)"),
    b("1-9", "sort by column (again: reverse)"),
    b("s r", "next sort column, reverse"),
    b("+ -", "refresh faster, slower"),
    m("c", "create realm"),
    m("d", "delete realm"),
    b("mouse", "click selects, wheel scrolls"),
    b("?", "help"),
    b("q Ctrl-C", "quit"),
];

const DETAIL: &[Binding] = &[
    b("Esc ←", "back to realms"),
    b("Tab ] [ 1-4", "switch tab"),
    b("↑↓ j k g G", "move, scroll"),
    b("+ -", "refresh faster, slower"),
    m("a", "add credential (Credentials tab)"),
    m("e Enter", "edit credential password"),
    m("x Del", "delete credential"),
    m("d", "delete realm"),
    b("?", "help"),
    b("q Ctrl-C", "quit"),
];

pub fn bindings(screen: &Screen, readonly: bool) -> Vec<&'static Binding> {
    let all = match screen {
        Screen::Realms => REALMS,
        Screen::Detail { .. } => DETAIL,
    };
    all.iter().filter(|b| !(readonly && b.mutates)).collect()
}

/// The few keys worth a place in the footer.
pub fn footer(screen: &Screen, readonly: bool) -> &'static str {
    match (screen, readonly) {
        (Screen::Realms, false) => {
            "Enter open  / filter  1-9 sort  c create  d delete  ? help  q quit"
        }
        (Screen::Realms, true) => "Enter open  / filter  1-9 sort  +- interval  ? help  q quit",
        (
            Screen::Detail {
                tab: Tab::Credentials,
                ..
            },
            false,
        ) => "Esc back  Tab tab  a add  e edit  x remove  d delete  ? help",
        (Screen::Detail { .. }, false) => {
            "Esc back  Tab tab  ↑↓ move  d delete realm  ? help  q quit"
        }
        (Screen::Detail { .. }, true) => "Esc back  Tab tab  ↑↓ move  ? help  q quit",
    }
}
