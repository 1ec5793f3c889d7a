//! Add a registry credential, or change the password of one. The password
//! field is masked; the value only ever leaves in the request.

use super::{centered, field_line, frame_box};
use crate::model::names::{validate_server, validate_username};
use crate::tui::snapshot::Request;
use crate::tui::theme::Theme;
use crate::tui::widgets::input::TextInput;
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

#[derive(Debug)]
pub struct CredentialForm {
    pub realm: String,
    pub server: TextInput,
    pub username: TextInput,
    pub password: TextInput,
    /// Editing an existing entry: server and username are fixed.
    pub editing_existing: bool,
    pub focus: usize,
    pub saving: bool,
    pub error: Option<String>,
}

impl CredentialForm {
    pub fn add(realm: &str) -> Self {
        CredentialForm {
            realm: realm.into(),
            server: TextInput::new(),
            username: TextInput::new(),
            password: TextInput::masked(),
            editing_existing: false,
            focus: 0,
            saving: false,
            error: None,
        }
    }

    pub fn edit(realm: &str, server: &str, username: &str) -> Self {
        CredentialForm {
            server: TextInput::with_value(server),
            username: TextInput::with_value(username),
            editing_existing: true,
            focus: 2,
            ..Self::add(realm)
        }
    }

    pub fn title(&self) -> &'static str {
        if self.editing_existing {
            "Edit credential"
        } else {
            "Add credential"
        }
    }

    pub fn is_editing(&self) -> bool {
        !self.saving
    }

    fn editable(&self) -> Vec<usize> {
        if self.editing_existing {
            vec![2]
        } else {
            vec![0, 1, 2]
        }
    }

    fn field(&mut self, i: usize) -> &mut TextInput {
        match i {
            0 => &mut self.server,
            1 => &mut self.username,
            _ => &mut self.password,
        }
    }

    pub fn problem(&self) -> Option<String> {
        validate_server(&self.server.value())
            .err()
            .or_else(|| validate_username(&self.username.value()).err())
            .or_else(|| {
                self.password
                    .is_empty()
                    .then(|| "the password is empty".to_string())
            })
    }

    pub fn paste(&mut self, text: &str) {
        if !self.saving {
            let focus = self.focus;
            self.field(focus).paste(text);
        }
    }

    pub fn on_error(&mut self, error: String) {
        self.saving = false;
        self.error = Some(error);
    }

    pub fn on_key(&mut self, key: KeyEvent) -> (bool, Vec<Request>) {
        if self.saving {
            return (false, Vec::new());
        }
        let fields = self.editable();
        let pos = fields.iter().position(|f| *f == self.focus).unwrap_or(0);
        match key.code {
            KeyCode::Esc => return (true, Vec::new()),
            KeyCode::Tab | KeyCode::Down => self.focus = fields[(pos + 1) % fields.len()],
            KeyCode::BackTab | KeyCode::Up => {
                self.focus = fields[(pos + fields.len() - 1) % fields.len()]
            }
            KeyCode::Enter => {
                if let Some(problem) = self.problem() {
                    self.error = Some(problem);
                } else {
                    self.saving = true;
                    self.error = None;
                    return (
                        false,
                        vec![Request::UpsertCredential {
                            realm: self.realm.clone(),
                            server: self.server.value(),
                            username: self.username.value(),
                            password: crate::model::realm::Secret(self.password.value()),
                        }],
                    );
                }
            }
            _ => {
                let focus = self.focus;
                if self.field(focus).handle_key(key) {
                    self.error = None;
                }
            }
        }
        (false, Vec::new())
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let title = format!(
            "{} in {}",
            self.title(),
            crate::cli::output::inert(&self.realm)
        );
        let inner = frame_box(frame, centered(area, 70, 11), &title, theme);
        let row = |i: u16| Rect {
            y: inner.y + i,
            height: 1,
            ..inner
        };
        let live = !self.saving;
        let mut lines = vec![
            field_line(
                frame,
                "server",
                &self.server,
                live && self.focus == 0,
                row(0),
                theme,
            ),
            field_line(
                frame,
                "username",
                &self.username,
                live && self.focus == 1,
                row(1),
                theme,
            ),
            field_line(
                frame,
                "password",
                &self.password,
                live && self.focus == 2,
                row(2),
                theme,
            ),
            Line::from(""),
        ];
        if let Some(error) = &self.error {
            lines.push(Line::from(Span::styled(
                format!("  ✗ {}", crate::cli::output::inert(error)),
                theme.error(),
            )));
        }
        let hint = if self.saving {
            "  saving…"
        } else {
            "  Enter save   Tab next field   Esc cancel"
        };
        lines.push(Line::from(Span::styled(hint, theme.key())));
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn password_is_masked_and_required() {
        let mut form = CredentialForm::add("r");
        form.paste("registry.example.com");
        form.on_key(key(KeyCode::Tab));
        form.paste("robot");
        form.on_key(key(KeyCode::Tab));
        assert!(form.on_key(key(KeyCode::Enter)).1.is_empty());
        assert!(form.error.as_deref().unwrap().contains("password is empty"));
        for c in "s3cret".chars() {
            form.on_key(key(KeyCode::Char(c)));
        }
        assert_eq!(form.password.display(), "••••••");
        let (_, requests) = form.on_key(key(KeyCode::Enter));
        match requests.as_slice() {
            [Request::UpsertCredential {
                server,
                username,
                password,
                ..
            }] => {
                assert_eq!(
                    (server.as_str(), username.as_str(), password.0.as_str()),
                    ("registry.example.com", "robot", "s3cret")
                );
            }
            other => panic!("{other:?}"),
        }
        let shown = format!("{requests:?} {form:?}");
        assert!(
            !shown.contains("s3cret"),
            "Debug shows the password: {shown}"
        );
        assert!(form.saving);
        form.on_error("disk full".into());
        assert!(!form.saving && form.error.is_some());
    }

    #[test]
    fn editing_keeps_server_and_username() {
        let mut form = CredentialForm::edit("r", "ghcr.io", "bot");
        assert_eq!(form.focus, 2);
        form.on_key(key(KeyCode::Tab));
        assert_eq!(form.focus, 2, "only the password is editable");
        form.on_key(key(KeyCode::Char('x')));
        assert_eq!(form.server.value(), "ghcr.io");
        assert_eq!(form.password.value(), "x");
    }

    #[test]
    fn bad_server_is_refused() {
        let mut form = CredentialForm::add("r");
        form.paste("bad host");
        form.on_key(key(KeyCode::Tab));
        form.paste("u");
        form.on_key(key(KeyCode::Tab));
        form.paste("p");
        assert!(form.on_key(key(KeyCode::Enter)).1.is_empty());
        assert!(form.error.as_deref().unwrap().contains("--server"));
    }
}
