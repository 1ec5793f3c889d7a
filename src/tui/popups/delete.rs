//! `d`: deleting a realm. An empty realm gets a y/n question; one with
//! contents shows the cascade plan and asks for its name to be typed. Then
//! per-step progress; a failure is shown and `r` retries with a fresh plan.

use super::{centered, field_line, frame_box};
use crate::ops::delete::{DeletePlan, DeleteStep};
use crate::tui::snapshot::Request;
use crate::tui::theme::Theme;
use crate::tui::widgets::input::TextInput;
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

#[derive(Debug)]
pub enum Stage {
    Planning,
    /// Nothing in it: a y/n question.
    ConfirmEmpty(Box<DeletePlan>),
    /// Contents: the plan, and the realm name to type.
    ConfirmCascade(Box<DeletePlan>, TextInput),
    Running {
        cascade: bool,
    },
    /// `cascade` is None when planning failed: nothing was confirmed yet,
    /// so a retry only plans again.
    Failed {
        error: String,
        cascade: Option<bool>,
    },
    Refused(String),
    Done,
}

#[derive(Debug)]
pub struct DeleteDialog {
    pub realm: String,
    pub stage: Stage,
    pub steps: Vec<String>,
    /// A retry re-plans and then runs without asking again.
    retrying: Option<bool>,
    force: bool,
}

impl DeleteDialog {
    pub fn new(realm: &str) -> Self {
        DeleteDialog {
            realm: realm.into(),
            stage: Stage::Planning,
            steps: Vec::new(),
            retrying: None,
            force: false,
        }
    }

    pub fn is_typing(&self) -> bool {
        matches!(self.stage, Stage::ConfirmCascade(..))
    }

    pub fn succeeded(&self) -> bool {
        matches!(self.stage, Stage::Done)
    }

    pub fn paste(&mut self, text: &str) {
        if let Stage::ConfirmCascade(_, typed) = &mut self.stage {
            typed.paste(text);
        }
    }

    /// The plan arrived; returns the request a retry sends straight away.
    pub fn on_plan(
        &mut self,
        result: Result<Box<DeletePlan>, String>,
        allow_system: bool,
    ) -> Option<Request> {
        let plan = match result {
            Err(error) => {
                self.stage = Stage::Failed {
                    error,
                    cascade: None,
                };
                return None;
            }
            Ok(plan) => plan,
        };
        if plan.system_realm && !allow_system {
            self.stage = Stage::Refused(format!(
                "{:?} is the system realm that runs the Kukeon daemon; start kuke-tui with --allow-system to delete it",
                self.realm
            ));
            return None;
        }
        self.force = plan.system_realm && allow_system;
        if let Some(cascade) = self.retrying.take() {
            self.stage = Stage::Running { cascade };
            return Some(Request::Delete {
                plan,
                cascade,
                force: self.force,
            });
        }
        if plan.is_gone() {
            self.stage = Stage::Refused(format!("realm {:?} no longer exists", self.realm));
        } else if plan.has_contents() {
            self.stage = Stage::ConfirmCascade(plan, TextInput::new());
        } else {
            self.stage = Stage::ConfirmEmpty(plan);
        }
        None
    }

    pub fn on_step(&mut self, step: &DeleteStep) {
        self.steps.push(format!(
            "{:<11} removed {:<4} {}",
            step.step, step.removed, step.detail
        ));
    }

    pub fn on_done(&mut self, result: Result<(), String>) {
        let cascade = matches!(self.stage, Stage::Running { cascade: true });
        self.stage = match result {
            Ok(()) => Stage::Done,
            Err(error) => Stage::Failed {
                error,
                cascade: Some(cascade),
            },
        };
    }

    /// Returns (close the dialog, requests).
    pub fn on_key(&mut self, key: KeyEvent) -> (bool, Vec<Request>) {
        let stage = std::mem::replace(&mut self.stage, Stage::Planning);
        let (stage, close, requests) = match stage {
            Stage::Planning => (Stage::Planning, key.code == KeyCode::Esc, Vec::new()),
            Stage::ConfirmEmpty(plan) => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => {
                    let request = Request::Delete {
                        plan,
                        cascade: false,
                        force: self.force,
                    };
                    (Stage::Running { cascade: false }, false, vec![request])
                }
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => {
                    (Stage::Planning, true, Vec::new())
                }
                _ => (Stage::ConfirmEmpty(plan), false, Vec::new()),
            },
            Stage::ConfirmCascade(plan, mut typed) => match key.code {
                KeyCode::Esc => (Stage::Planning, true, Vec::new()),
                KeyCode::Enter if typed.value() == self.realm => {
                    let request = Request::Delete {
                        plan,
                        cascade: true,
                        force: self.force,
                    };
                    (Stage::Running { cascade: true }, false, vec![request])
                }
                _ => {
                    typed.handle_key(key);
                    (Stage::ConfirmCascade(plan, typed), false, Vec::new())
                }
            },
            Stage::Running { cascade } => (Stage::Running { cascade }, false, Vec::new()),
            Stage::Failed { error, cascade } => match key.code {
                KeyCode::Char('r') => {
                    self.retrying = cascade;
                    self.steps.clear();
                    (
                        Stage::Planning,
                        false,
                        vec![Request::PlanDelete(self.realm.clone())],
                    )
                }
                KeyCode::Esc | KeyCode::Enter => {
                    (Stage::Failed { error, cascade }, true, Vec::new())
                }
                _ => (Stage::Failed { error, cascade }, false, Vec::new()),
            },
            Stage::Refused(why) => (Stage::Refused(why), true, Vec::new()),
            Stage::Done => (Stage::Done, true, Vec::new()),
        };
        self.stage = stage;
        (close, requests)
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let realm = crate::cli::output::inert(&self.realm);
        let outer = frame_box(
            frame,
            centered(area, 76, 20),
            &format!("Delete realm {realm}"),
            theme,
        );
        // One column of margin; wrapped lines then keep the indent.
        let inner = Rect {
            x: outer.x + 1,
            width: outer.width.saturating_sub(2),
            ..outer
        };
        let mut lines: Vec<Line> = Vec::new();
        match &self.stage {
            Stage::Planning => lines.push(Line::from(Span::styled(
                "reading what the realm holds…",
                theme.dim(),
            ))),
            Stage::ConfirmEmpty(plan) => {
                lines.push(Line::from(format!(
                    "Realm {realm} holds no tasks, containers, images or spaces."
                )));
                lines.push(Line::from(format!(
                    "Delete its namespace {}, {} cgroup director{} and {} file(s)?",
                    crate::cli::output::inert(&plan.namespace),
                    plan.cgroup_dirs.len(),
                    if plan.cgroup_dirs.len() == 1 {
                        "y"
                    } else {
                        "ies"
                    },
                    plan.files.len()
                )));
                lines.push(Line::from(""));
                lines.push(Line::from(Span::styled("y delete   n cancel", theme.key())));
            }
            Stage::ConfirmCascade(plan, typed) => {
                lines.push(Line::from(Span::styled(
                    "This realm is not empty. The cascade removes:",
                    theme.warn(),
                )));
                for (what, n) in [
                    ("tasks (SIGTERM, then SIGKILL after 10s)", plan.tasks.len()),
                    ("containers", plan.containers.len()),
                    ("snapshots", plan.snapshots.len()),
                    ("images", plan.images.len()),
                    ("leases", plan.leases.len()),
                    ("content blobs", plan.content.len()),
                    ("spaces", plan.spaces.len()),
                    ("cgroup directories", plan.cgroup_dirs.len()),
                    ("files", plan.files.len()),
                ] {
                    lines.push(Line::from(format!("{n:>6}  {what}")));
                }
                lines.push(Line::from(format!(
                    "        namespace {}",
                    crate::cli::output::inert(&plan.namespace)
                )));
                if let Some(c) = &plan.companion {
                    lines.push(Line::from(format!(
                        "        and {} with {} object(s)",
                        crate::cli::output::inert(&c.namespace),
                        c.objects.len()
                    )));
                }
                if !plan.networks.is_empty() {
                    let objects: usize = plan.networks.iter().map(|n| n.count()).sum();
                    lines.push(Line::from(format!(
                        "        and {objects} object(s) of {} space network(s) first",
                        plan.networks.len()
                    )));
                }
                let remains: usize = plan.networks.iter().map(|n| n.would_remain.len()).sum();
                if remains > 0 {
                    lines.push(Line::from(Span::styled(
                        format!("{remains} network object(s) would remain (no plugins/iptables)"),
                        theme.warn(),
                    )));
                }
                lines.push(Line::from(""));
                lines.push(Line::from(
                    "To confirm, type the realm name and press Enter (Esc cancels):",
                ));
                // Every line above is shorter than the box: the field's row is known.
                let row = Rect {
                    y: inner.y + lines.len() as u16,
                    height: 1,
                    ..inner
                };
                lines.push(field_line(frame, "name", typed, true, row, theme));
                if !typed.is_empty() && typed.value() != self.realm {
                    lines.push(Line::from(Span::styled(
                        format!("{:>11}does not match", ""),
                        theme.dim(),
                    )));
                }
            }
            Stage::Running { .. } | Stage::Failed { .. } | Stage::Done => {
                // The latest steps that fit above the status and key lines
                // (space networks add seven steps per space).
                let reserve = match self.stage {
                    // The error may wrap onto a few lines.
                    Stage::Failed { .. } => 6,
                    _ => 3,
                };
                let room = (inner.height as usize).saturating_sub(reserve);
                let skip = match self.steps.len() > room {
                    true => self.steps.len() + 1 - room.max(1),
                    false => 0,
                };
                if skip > 0 {
                    lines.push(Line::from(Span::styled(
                        format!("✓ … {skip} earlier step(s)"),
                        theme.dim(),
                    )));
                }
                for step in self.steps.iter().skip(skip) {
                    lines.push(Line::from(Span::styled(format!("✓ {step}"), theme.ok())));
                }
                match &self.stage {
                    Stage::Running { .. } => {
                        lines.push(Line::from(Span::styled("deleting…", theme.warn())))
                    }
                    Stage::Failed { error, .. } => {
                        lines.push(Line::from(Span::styled(
                            format!("✗ {}", crate::cli::output::inert(error)),
                            theme.error(),
                        )));
                        lines.push(Line::from(Span::styled("r retry   Esc close", theme.key())));
                    }
                    _ => {
                        lines.push(Line::from(Span::styled(
                            format!("realm {realm} deleted"),
                            theme.ok(),
                        )));
                        lines.push(Line::from(Span::styled("any key closes", theme.key())));
                    }
                }
            }
            Stage::Refused(why) => {
                lines.push(Line::from(Span::styled(
                    crate::cli::output::inert(why),
                    theme.error(),
                )));
                lines.push(Line::from(Span::styled("any key closes", theme.key())));
            }
        }
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

    pub fn plan(realm: &str, tasks: usize) -> Box<DeletePlan> {
        Box::new(DeletePlan {
            realm: realm.into(),
            namespace: format!("kukeon-{realm}"),
            cgroup_path: format!("/kukeon/{realm}"),
            record_present: true,
            system_realm: realm == "kukeon-system",
            spaces: vec![],
            namespace_exists: true,
            tasks: (0..tasks)
                .map(|i| crate::ops::delete::PlannedTask {
                    id: format!("t{i}"),
                    pid: 100 + i as u32,
                    status: "Running".into(),
                })
                .collect(),
            containers: (0..tasks).map(|i| format!("t{i}")).collect(),
            snapshots: vec![],
            images: vec![],
            leases: vec![],
            content: vec![],
            cgroup_dirs: vec![format!("/sys/fs/cgroup/kukeon/{realm}").into()],
            files: vec![format!("/opt/kukeon/{realm}/realm.yaml").into()],
            companion: None,
            networks: Vec::new(),
        })
    }

    #[test]
    fn empty_realm_asks_yes_or_no() {
        let mut d = DeleteDialog::new("a");
        assert!(d.on_plan(Ok(plan("a", 0)), false).is_none());
        assert!(matches!(d.stage, Stage::ConfirmEmpty(_)));
        assert!(!d.is_typing(), "y/n is not a text field");
        let (close, requests) = d.on_key(key(KeyCode::Char('y')));
        assert!(!close);
        assert!(matches!(
            requests.as_slice(),
            [Request::Delete { cascade: false, .. }]
        ));
        d.on_done(Ok(()));
        assert!(d.succeeded());
    }

    #[test]
    fn cascade_needs_the_exact_name() {
        let mut d = DeleteDialog::new("web");
        d.on_plan(Ok(plan("web", 2)), false);
        assert!(d.is_typing());
        for c in "we".chars() {
            d.on_key(key(KeyCode::Char(c)));
        }
        assert!(
            d.on_key(key(KeyCode::Enter)).1.is_empty(),
            "a prefix is not the name"
        );
        d.on_key(key(KeyCode::Char('b')));
        let (_, requests) = d.on_key(key(KeyCode::Enter));
        assert!(matches!(
            requests.as_slice(),
            [Request::Delete {
                cascade: true,
                force: false,
                ..
            }]
        ));
    }

    #[test]
    fn failure_is_shown_and_retry_replans_then_runs() {
        let mut d = DeleteDialog::new("web");
        d.on_plan(Ok(plan("web", 1)), false);
        d.paste("web");
        d.on_key(key(KeyCode::Enter));
        d.on_done(Err(
            "delete realm \"web\" failed at step cgroup: busy".into()
        ));
        assert!(matches!(
            d.stage,
            Stage::Failed {
                cascade: Some(true),
                ..
            }
        ));
        let (_, requests) = d.on_key(key(KeyCode::Char('r')));
        assert!(matches!(requests.as_slice(), [Request::PlanDelete(r)] if r == "web"));
        let request = d.on_plan(Ok(plan("web", 0)), false);
        assert!(
            matches!(request, Some(Request::Delete { cascade: true, .. })),
            "no second confirmation"
        );
    }

    #[test]
    fn many_steps_keep_the_error_on_screen() {
        use ratatui::{backend::TestBackend, Terminal};
        let mut d = DeleteDialog::new("web");
        d.on_plan(Ok(plan("web", 1)), false);
        d.paste("web");
        d.on_key(key(KeyCode::Enter));
        // Three spaces' network steps, then a failure.
        for i in 0..21 {
            d.on_step(&DeleteStep {
                step: "ipam",
                removed: 1,
                detail: format!("web-s{i}: host-local state"),
            });
        }
        d.on_done(Err("delete realm \"web\" failed at step network of space \"s3\": iptables -X KUKE-EGR-00000000: busy; run the same command again to finish".into()));
        let mut term = Terminal::new(TestBackend::new(100, 30)).unwrap();
        let theme = crate::tui::theme::Theme::new(true);
        term.draw(|f| d.draw(f, f.area(), &theme)).unwrap();
        let text: String = term
            .backend()
            .buffer()
            .content()
            .iter()
            .map(|c| c.symbol())
            .collect();
        assert!(text.contains("earlier step(s)"), "{text}");
        assert!(text.contains("web-s20"), "the latest step shows");
        assert!(text.contains("r retry"), "the key line shows: {text}");
        assert!(text.contains("✗ delete realm"), "{text}");
    }

    #[test]
    fn system_realm_needs_allow_system() {
        let mut d = DeleteDialog::new("kukeon-system");
        d.on_plan(Ok(plan("kukeon-system", 0)), false);
        assert!(matches!(&d.stage, Stage::Refused(why) if why.contains("--allow-system")));
        let mut d = DeleteDialog::new("kukeon-system");
        d.on_plan(Ok(plan("kukeon-system", 0)), true);
        let (_, requests) = d.on_key(key(KeyCode::Char('y')));
        assert!(matches!(
            requests.as_slice(),
            [Request::Delete { force: true, .. }]
        ));
    }
}
