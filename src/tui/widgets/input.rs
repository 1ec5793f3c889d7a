//! A one-line text field: cursor movement, editing keys, paste, and an
//! optional mask for passwords. Control characters never enter the value,
//! so nothing typed or pasted can reach the terminal as an escape.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use unicode_width::UnicodeWidthChar;

pub const MASK_CHAR: char = '•';
/// Longer values are refused as typed; no realm, label or password needs more.
pub const MAX_CHARS: usize = 1024;

/// Debug is written by hand (below): a masked field's value is not shown.
#[derive(Clone, Default, PartialEq)]
pub struct TextInput {
    chars: Vec<char>,
    /// Cursor position in chars, 0..=len.
    cursor: usize,
    masked: bool,
}

/// A masked field (a password) prints neither its value nor its length, so a
/// form printed with `{:?}` carries no secret.
impl std::fmt::Debug for TextInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = f.debug_struct("TextInput");
        if self.masked {
            s.field("value", &crate::model::realm::MASK);
        } else {
            s.field("value", &self.value())
                .field("cursor", &self.cursor);
        }
        s.field("masked", &self.masked).finish()
    }
}

impl TextInput {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn masked() -> Self {
        TextInput {
            masked: true,
            ..Self::default()
        }
    }

    pub fn with_value(value: &str) -> Self {
        let mut input = Self::new();
        input.set_value(value);
        input
    }

    pub fn value(&self) -> String {
        self.chars.iter().collect()
    }

    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    pub fn is_masked(&self) -> bool {
        self.masked
    }

    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Replaces the value and puts the cursor at its end.
    pub fn set_value(&mut self, value: &str) {
        self.chars.clear();
        self.cursor = 0;
        self.insert_str(value);
    }

    /// Handles one key; returns whether the value or cursor changed.
    pub fn handle_key(&mut self, key: KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let before = (self.chars.len(), self.cursor);
        match key.code {
            KeyCode::Char('a') if ctrl => self.cursor = 0,
            KeyCode::Char('e') if ctrl => self.cursor = self.chars.len(),
            KeyCode::Char('b') if ctrl => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Char('f') if ctrl => self.cursor = (self.cursor + 1).min(self.chars.len()),
            KeyCode::Char('u') if ctrl => {
                self.chars.drain(..self.cursor);
                self.cursor = 0;
            }
            KeyCode::Char('k') if ctrl => self.chars.truncate(self.cursor),
            KeyCode::Char('w') if ctrl => self.delete_word_back(),
            KeyCode::Backspace if alt => self.delete_word_back(),
            KeyCode::Char('b') if alt => self.cursor = self.word_start(),
            KeyCode::Char('f') if alt => self.cursor = self.word_end(),
            KeyCode::Left if ctrl || alt => self.cursor = self.word_start(),
            KeyCode::Right if ctrl || alt => self.cursor = self.word_end(),
            KeyCode::Char(c) if !ctrl && !alt => self.insert_char(c),
            KeyCode::Backspace => {
                if self.cursor > 0 {
                    self.cursor -= 1;
                    self.chars.remove(self.cursor);
                }
            }
            KeyCode::Delete => {
                if self.cursor < self.chars.len() {
                    self.chars.remove(self.cursor);
                }
            }
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(self.chars.len()),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = self.chars.len(),
            _ => return false,
        }
        before != (self.chars.len(), self.cursor) || matches!(key.code, KeyCode::Char(_))
    }

    /// Inserts pasted text at the cursor; line breaks and other control
    /// characters are dropped (a field is one line).
    pub fn paste(&mut self, text: &str) {
        self.insert_str(text);
    }

    fn insert_str(&mut self, text: &str) {
        for c in text.chars() {
            self.insert_char(c);
        }
    }

    fn insert_char(&mut self, c: char) {
        if c.is_control() || self.chars.len() >= MAX_CHARS {
            return;
        }
        self.chars.insert(self.cursor, c);
        self.cursor += 1;
    }

    fn word_start(&self) -> usize {
        let mut i = self.cursor;
        while i > 0 && self.chars[i - 1].is_whitespace() {
            i -= 1;
        }
        while i > 0 && !self.chars[i - 1].is_whitespace() {
            i -= 1;
        }
        i
    }

    fn word_end(&self) -> usize {
        let mut i = self.cursor;
        let n = self.chars.len();
        while i < n && self.chars[i].is_whitespace() {
            i += 1;
        }
        while i < n && !self.chars[i].is_whitespace() {
            i += 1;
        }
        i
    }

    fn delete_word_back(&mut self) {
        let start = self.word_start();
        self.chars.drain(start..self.cursor);
        self.cursor = start;
    }

    /// What the field shows: the value, or one mask character per char.
    /// Invisible formatting characters are shown escaped so they cannot
    /// reorder or hide what is on screen.
    pub fn display(&self) -> String {
        if self.masked {
            return std::iter::repeat_n(MASK_CHAR, self.chars.len()).collect();
        }
        crate::cli::output::inert(&self.value())
    }

    /// The part of `display()` that fits `width` columns with the cursor
    /// visible, and the cursor's column within it.
    pub fn visible(&self, width: usize) -> (String, usize) {
        let shown: Vec<(char, usize)> = if self.masked {
            self.chars.iter().map(|_| (MASK_CHAR, 1)).collect()
        } else {
            // Each char becomes its inert form; track widths per original char.
            self.chars
                .iter()
                .map(|c| {
                    let text = crate::cli::output::inert(&c.to_string());
                    let w = text.chars().map(|c| c.width().unwrap_or(0)).sum();
                    (*c, w)
                })
                .collect()
        };
        let width = width.max(1);
        let col_of = |upto: usize| shown[..upto].iter().map(|(_, w)| w).sum::<usize>();
        let cursor_col = col_of(self.cursor);
        // Scroll so the cursor stays inside the field.
        let mut start = 0;
        while cursor_col - col_of(start) >= width && start < self.cursor {
            start += 1;
        }
        let mut out = String::new();
        let mut used = 0;
        for (i, (_, w)) in shown.iter().enumerate().skip(start) {
            if used + w > width {
                break;
            }
            let piece = if self.masked {
                MASK_CHAR.to_string()
            } else {
                crate::cli::output::inert(&self.chars[i].to_string())
            };
            out.push_str(&piece);
            used += w;
        }
        (out, cursor_col - col_of(start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }
    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }
    fn typed(text: &str) -> TextInput {
        let mut input = TextInput::new();
        for c in text.chars() {
            input.handle_key(key(KeyCode::Char(c)));
        }
        input
    }

    #[test]
    fn typing_and_cursor_movement() {
        let mut input = typed("realm");
        assert_eq!((input.value().as_str(), input.cursor()), ("realm", 5));
        input.handle_key(key(KeyCode::Home));
        input.handle_key(key(KeyCode::Char('x')));
        assert_eq!(input.value(), "xrealm");
        input.handle_key(key(KeyCode::End));
        input.handle_key(key(KeyCode::Left));
        input.handle_key(key(KeyCode::Backspace));
        assert_eq!((input.value().as_str(), input.cursor()), ("xream", 4));
        input.handle_key(key(KeyCode::Delete));
        assert_eq!(input.value(), "xrea");
        input.handle_key(key(KeyCode::Right));
        input.handle_key(key(KeyCode::Right));
        assert_eq!(input.cursor(), 4, "cursor stops at the end");
    }

    #[test]
    fn line_editing_shortcuts() {
        let mut input = typed("team=core owner=ops");
        input.handle_key(ctrl('w'));
        assert_eq!(input.value(), "team=core ");
        input.handle_key(ctrl('a'));
        input.handle_key(ctrl('k'));
        assert_eq!(input.value(), "");
        let mut input = typed("abc def");
        input.handle_key(KeyEvent::new(KeyCode::Left, KeyModifiers::CONTROL));
        assert_eq!(input.cursor(), 4);
        input.handle_key(ctrl('u'));
        assert_eq!((input.value().as_str(), input.cursor()), ("def", 0));
    }

    #[test]
    fn paste_drops_control_characters() {
        let mut input = TextInput::new();
        input.paste("web\n\u{1b}[31m-1\r\t");
        assert_eq!(input.value(), "web[31m-1");
        let mut input = typed("ab");
        input.handle_key(key(KeyCode::Left));
        input.paste("XY");
        assert_eq!((input.value().as_str(), input.cursor()), ("aXYb", 3));
    }

    #[test]
    fn masking_never_shows_the_value() {
        let mut input = TextInput::masked();
        input.paste("hunter2");
        assert_eq!(input.display(), "•••••••");
        let (shown, col) = input.visible(20);
        assert_eq!((shown.as_str(), col), ("•••••••", 7));
        assert!(!format!("{:?}", input.visible(3)).contains("hunter"));
        let debug = format!("{input:?}");
        assert!(!debug.contains("hunter") && !debug.contains('7'), "{debug}");
        assert!(format!("{:?}", typed("plain")).contains("plain"));
        assert_eq!(input.value(), "hunter2");
    }

    #[test]
    fn visible_window_follows_the_cursor() {
        let input = typed("abcdefghij");
        let (shown, col) = input.visible(4);
        assert_eq!(
            (shown.as_str(), col),
            ("hij", 3),
            "the cursor sits after the last char"
        );
        let mut input = input;
        input.handle_key(key(KeyCode::Home));
        assert_eq!(input.visible(4), ("abcd".to_string(), 0));
    }

    #[test]
    fn invisible_unicode_is_shown_inert_and_length_is_bounded() {
        let mut input = TextInput::new();
        input.paste("a\u{202e}b");
        assert!(!input.display().contains('\u{202e}'));
        let mut input = TextInput::new();
        input.paste(&"x".repeat(10_000));
        assert_eq!(input.value().len(), MAX_CHARS);
    }
}
