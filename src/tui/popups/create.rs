//! `c`: the create-realm form. The name is checked as it is typed, the
//! namespace follows the name until edited, labels are `k=v` separated by
//! spaces or commas. Submitting shows each step as the collector reports it.

use super::{centered, field_line, frame_box};
use crate::model::names::{parse_label, validate_namespace, validate_realm_name};
use crate::ops::create::{CreateReport, CreateRequest, Step};
use crate::tui::snapshot::Request;
use crate::tui::theme::Theme;
use crate::tui::widgets::input::TextInput;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;
use std::collections::BTreeMap;

const FIELDS: usize = 3;
/// `REALM_NAME_RULE`, short enough for one line of the form.
const SHORT_RULE: &str = "a-z, 0-9 and '-'; letter or digit at both ends; at most 63";

#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    Editing,
    Running,
    Done { ok: bool, message: String },
}

#[derive(Debug)]
pub struct CreateForm {
    pub name: TextInput,
    pub namespace: TextInput,
    pub labels: TextInput,
    pub focus: usize,
    /// Once the user edits the namespace it stops following the name.
    namespace_edited: bool,
    pub phase: Phase,
    pub steps: Vec<String>,
    /// The layout's default namespace with `{name}` for the realm name.
    namespace_template: String,
    /// The layout's rule for the name (`RealmStore::new_name_rule`).
    name_rule: fn(&str) -> Result<(), String>,
}

impl Default for CreateForm {
    fn default() -> Self {
        Self::new(DEFAULT_TEMPLATE, validate_realm_name)
    }
}

/// The documented layout's default namespace.
pub const DEFAULT_TEMPLATE: &str = "kukeon-{name}";

impl CreateForm {
    pub fn new(namespace_template: &str, name_rule: fn(&str) -> Result<(), String>) -> Self {
        CreateForm {
            namespace_template: namespace_template.to_string(),
            name_rule,
            name: TextInput::new(),
            namespace: TextInput::new(),
            labels: TextInput::new(),
            focus: 0,
            namespace_edited: false,
            phase: Phase::Editing,
            steps: Vec::new(),
        }
    }

    pub fn is_editing(&self) -> bool {
        self.phase == Phase::Editing
    }

    pub fn created_realm(&self) -> Option<String> {
        matches!(self.phase, Phase::Done { ok: true, .. }).then(|| self.name.value())
    }

    /// The name's problem, if any (shown under the field as one types).
    pub fn name_error(&self) -> Option<String> {
        (self.name_rule)(&self.name.value()).err()
    }

    pub fn namespace_error(&self) -> Option<String> {
        let ns = self.namespace.value();
        (!ns.is_empty())
            .then(|| validate_namespace(&ns).err())
            .flatten()
    }

    pub fn labels_parsed(&self) -> Result<BTreeMap<String, String>, String> {
        self.labels
            .value()
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(parse_label)
            .collect()
    }

    pub fn request(&self) -> Result<CreateRequest, String> {
        if let Some(e) = self.name_error() {
            return Err(e);
        }
        if let Some(e) = self.namespace_error() {
            return Err(e);
        }
        let namespace = self.namespace.value();
        Ok(CreateRequest {
            name: self.name.value(),
            namespace: (!namespace.is_empty()).then_some(namespace),
            labels: self.labels_parsed()?,
        })
    }

    fn field(&mut self, i: usize) -> &mut TextInput {
        match i {
            0 => &mut self.name,
            1 => &mut self.namespace,
            _ => &mut self.labels,
        }
    }

    pub fn paste(&mut self, text: &str) {
        if self.is_editing() {
            let focus = self.focus;
            self.field(focus).paste(text);
            self.after_edit(focus);
        }
    }

    fn after_edit(&mut self, focus: usize) {
        match focus {
            0 if !self.namespace_edited => {
                let name = self.name.value();
                let ns = if name.is_empty() {
                    String::new()
                } else {
                    self.namespace_template.replace("{name}", &name)
                };
                self.namespace.set_value(&ns);
            }
            1 => self.namespace_edited = true,
            _ => {}
        }
    }

    /// Returns (close the dialog, requests).
    pub fn on_key(&mut self, key: KeyEvent) -> (bool, Vec<Request>) {
        match &self.phase {
            Phase::Running => (false, Vec::new()),
            Phase::Done { ok, .. } => {
                if !ok && key.code == KeyCode::Char('e') {
                    // Back to the form, values kept, to fix and resubmit.
                    self.phase = Phase::Editing;
                    self.steps.clear();
                    return (false, Vec::new());
                }
                (
                    matches!(key.code, KeyCode::Enter | KeyCode::Esc),
                    Vec::new(),
                )
            }
            Phase::Editing => match key.code {
                KeyCode::Esc => (true, Vec::new()),
                KeyCode::Tab | KeyCode::Down => {
                    self.focus = (self.focus + 1) % FIELDS;
                    (false, Vec::new())
                }
                KeyCode::BackTab | KeyCode::Up => {
                    self.focus = (self.focus + FIELDS - 1) % FIELDS;
                    (false, Vec::new())
                }
                KeyCode::Enter => match self.request() {
                    Ok(req) => {
                        self.phase = Phase::Running;
                        self.steps.clear();
                        (false, vec![Request::Create(req)])
                    }
                    // Problems are already shown beside the fields.
                    Err(_) => (false, Vec::new()),
                },
                _ if key.modifiers.contains(KeyModifiers::CONTROL)
                    && key.code == KeyCode::Char('s') =>
                {
                    self.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE))
                }
                _ => {
                    let focus = self.focus;
                    if self.field(focus).handle_key(key) {
                        self.after_edit(focus);
                    }
                    (false, Vec::new())
                }
            },
        }
    }

    pub fn on_step(&mut self, step: &Step) {
        self.steps.push(format!(
            "{:<10} {:<16} {}",
            step.step,
            step.outcome.as_str(),
            step.detail
        ));
    }

    pub fn on_done(&mut self, result: Result<CreateReport, String>) {
        self.phase = match result {
            Ok(report) => Phase::Done {
                ok: true,
                message: format!(
                    "realm {:?} is Ready (namespace {})",
                    report.realm, report.namespace
                ),
            },
            Err(message) => Phase::Done { ok: false, message },
        };
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let inner = frame_box(frame, centered(area, 76, 18), "Create realm", theme);
        let row = |i: u16| Rect {
            y: inner.y + i,
            height: 1,
            ..inner
        };
        let editing = self.is_editing();
        let mut lines = Vec::new();
        lines.push(field_line(
            frame,
            "name",
            &self.name,
            editing && self.focus == 0,
            row(0),
            theme,
        ));
        lines.push(match (self.name.is_empty(), self.name_error()) {
            (true, _) => Line::from(Span::styled(format!("{:>11}{SHORT_RULE}", ""), theme.dim())),
            (false, Some(e)) => Line::from(Span::styled(
                format!("{:>11}{}", "", short(&e)),
                theme.error(),
            )),
            (false, None) => Line::from(Span::styled(format!("{:>11}ok", ""), theme.ok())),
        });
        lines.push(field_line(
            frame,
            "namespace",
            &self.namespace,
            editing && self.focus == 1,
            row(2),
            theme,
        ));
        lines.push(match self.namespace_error() {
            Some(e) => Line::from(Span::styled(
                format!("{:>11}{}", "", short(&e)),
                theme.error(),
            )),
            None => Line::from(Span::styled(
                format!(
                    "{:>11}containerd namespace; follows the name until edited",
                    ""
                ),
                theme.dim(),
            )),
        });
        lines.push(field_line(
            frame,
            "labels",
            &self.labels,
            editing && self.focus == 2,
            row(4),
            theme,
        ));
        lines.push(match self.labels_parsed() {
            Err(e) => Line::from(Span::styled(format!("{:>11}{e}", ""), theme.error())),
            Ok(_) => Line::from(Span::styled(
                format!("{:>11}key=value, separated by spaces or commas", ""),
                theme.dim(),
            )),
        });
        // Fields keep fixed rows (the cursor is placed by row); the
        // outcome below may wrap.
        frame.render_widget(
            Paragraph::new(lines),
            Rect {
                height: 6.min(inner.height),
                ..inner
            },
        );
        let mut lines = Vec::new();
        for step in &self.steps {
            lines.push(Line::from(Span::styled(format!("✓ {step}"), theme.ok())));
        }
        match &self.phase {
            Phase::Editing => lines.push(Line::from(Span::styled(
                "Enter create   Tab next field   Esc cancel",
                theme.key(),
            ))),
            Phase::Running => lines.push(Line::from(Span::styled("creating…", theme.warn()))),
            Phase::Done { ok: true, message } => {
                lines.push(Line::from(Span::styled(message.clone(), theme.ok())));
                lines.push(Line::from(Span::styled("Enter close", theme.key())));
            }
            Phase::Done { ok: false, message } => {
                lines.push(Line::from(Span::styled(
                    format!("✗ {}", crate::cli::output::inert(message)),
                    theme.error(),
                )));
                lines.push(Line::from(Span::styled(
                    "e edit and retry   Esc close",
                    theme.key(),
                )));
            }
        }
        let below = Rect {
            y: inner.y + 7,
            height: inner.height.saturating_sub(7),
            ..inner
        };
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), below);
    }
}

/// The reason part of a validation error (the rule is on its own line).
fn short(error: &str) -> String {
    let reason = error.split(": ").nth(1).unwrap_or(error);
    reason.split("; use ").next().unwrap_or(reason).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn type_text(form: &mut CreateForm, text: &str) {
        for c in text.chars() {
            form.on_key(key(KeyCode::Char(c)));
        }
    }

    #[test]
    fn name_is_validated_as_typed_and_namespace_follows() {
        let mut form = CreateForm::default();
        assert!(form.name_error().is_some(), "empty is not a name");
        type_text(&mut form, "Web");
        assert!(form.name_error().unwrap().contains("other than a-z"));
        form.on_key(key(KeyCode::Backspace));
        form.on_key(key(KeyCode::Backspace));
        form.on_key(key(KeyCode::Backspace));
        type_text(&mut form, "web");
        assert_eq!(form.name_error(), None);
        assert_eq!(form.namespace.value(), "kukeon-web");
        // Edited namespace stops following.
        form.on_key(key(KeyCode::Tab));
        form.on_key(key(KeyCode::Char('x')));
        form.on_key(key(KeyCode::BackTab));
        type_text(&mut form, "2");
        assert_eq!(form.namespace.value(), "kukeon-webx");
    }

    #[test]
    fn the_form_checks_names_by_the_layouts_rule() {
        let mut docs = CreateForm::default();
        type_text(&mut docs, "volumes");
        assert!(
            docs.name_error().is_some(),
            "reserved in the documented layout"
        );
        let mut kukeon = CreateForm::new(
            "{name}.kukeon.io",
            crate::model::names::validate_kukeon_realm_name,
        );
        type_text(&mut kukeon, "volumes");
        assert_eq!(kukeon.name_error(), None, "a realm name in Kukeon's layout");
        assert_eq!(kukeon.namespace.value(), "volumes.kukeon.io");
    }

    #[test]
    fn enter_submits_only_valid_input() {
        let mut form = CreateForm::default();
        type_text(&mut form, "bad_name");
        let (close, requests) = form.on_key(key(KeyCode::Enter));
        assert!(!close && requests.is_empty());
        assert!(form.is_editing());
        for _ in 0..5 {
            form.on_key(key(KeyCode::Backspace));
        }
        type_text(&mut form, "ok");
        form.on_key(key(KeyCode::Tab));
        form.on_key(key(KeyCode::Tab));
        type_text(&mut form, "team=core, tier=web");
        let (_, requests) = form.on_key(key(KeyCode::Enter));
        match requests.as_slice() {
            [Request::Create(req)] => {
                assert_eq!(req.name, "badok");
                assert_eq!(req.namespace.as_deref(), Some("kukeon-badok"));
                assert_eq!(req.labels.len(), 2);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(form.phase, Phase::Running);
        assert!(!form.is_editing(), "q no longer types while running");
    }

    #[test]
    fn bad_labels_block_submit_and_failure_can_be_edited() {
        let mut form = CreateForm::default();
        type_text(&mut form, "r");
        form.on_key(key(KeyCode::Up));
        type_text(&mut form, "novalue");
        assert!(form.labels_parsed().is_err());
        assert!(form.on_key(key(KeyCode::Enter)).1.is_empty());
        form.labels.set_value("");
        form.on_key(key(KeyCode::Enter));
        form.on_done(Err(
            "create realm \"r\" failed at step cgroup: boom; rolled back: namespace, record".into(),
        ));
        assert!(matches!(form.phase, Phase::Done { ok: false, .. }));
        form.on_key(key(KeyCode::Char('e')));
        assert!(form.is_editing());
        assert_eq!(form.name.value(), "r");
    }

    #[test]
    fn paste_goes_to_the_focused_field_without_controls() {
        let mut form = CreateForm::default();
        form.paste("pasted\n");
        assert_eq!(form.name.value(), "pasted");
        assert_eq!(form.namespace.value(), "kukeon-pasted");
    }
}
