//! The console's state and what keys, mouse and messages do to it. Pure:
//! no I/O here; changes to the host are returned as `Request`s for the
//! collector, so every behaviour is testable without a terminal.

use super::history::{History, Point};
use super::popups::create::CreateForm;
use super::popups::credential::CredentialForm;
use super::popups::delete::DeleteDialog;
use super::snapshot::{DetailData, Message, RealmRow, Request, Snapshot};
use super::widgets::input::TextInput;
use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::Rect;
use std::cell::Cell;
use std::time::Duration;

pub const NOTICE_TTL: Duration = Duration::from_secs(8);

/// Refresh intervals `+` and `-` step through.
pub const INTERVALS_MS: [u64; 7] = [250, 500, 1000, 2000, 5000, 10_000, 30_000];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Tasks,
    Images,
    Credentials,
    Yaml,
}

impl Tab {
    pub const ALL: [Tab; 4] = [Tab::Tasks, Tab::Images, Tab::Credentials, Tab::Yaml];
    pub fn title(self) -> &'static str {
        match self {
            Tab::Tasks => "Tasks",
            Tab::Images => "Images",
            Tab::Credentials => "Credentials",
            Tab::Yaml => "YAML",
        }
    }
    fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Screen {
    Realms,
    Detail { realm: String, tab: Tab },
}

/// Columns of the realms table, in display order; also the sort keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Name,
    State,
    Namespace,
    Cpu,
    Memory,
    Pids,
    Tasks,
    Images,
    Age,
}

impl Column {
    pub const ALL: [Column; 9] = [
        Column::Name,
        Column::State,
        Column::Namespace,
        Column::Cpu,
        Column::Memory,
        Column::Pids,
        Column::Tasks,
        Column::Images,
        Column::Age,
    ];
    pub fn title(self) -> &'static str {
        match self {
            Column::Name => "NAME",
            Column::State => "STATE",
            Column::Namespace => "NAMESPACE",
            Column::Cpu => "CPU%",
            Column::Memory => "MEMORY",
            Column::Pids => "PIDS",
            Column::Tasks => "TASKS",
            Column::Images => "IMAGES",
            Column::Age => "AGE",
        }
    }
}

#[derive(Debug)]
pub enum Popup {
    Help,
    Create(CreateForm),
    Credential(CredentialForm),
    /// y/n before removing one credential.
    ConfirmCredentialDelete {
        realm: String,
        server: String,
        username: String,
    },
    Delete(DeleteDialog),
}

impl Popup {
    /// Whether keys go to a text field (then `q` types a q).
    fn captures_text(&self) -> bool {
        match self {
            Popup::Create(form) => form.is_editing(),
            Popup::Credential(form) => form.is_editing(),
            Popup::Delete(dialog) => dialog.is_typing(),
            Popup::Help | Popup::ConfirmCredentialDelete { .. } => false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    pub readonly: bool,
    pub allow_system: bool,
    pub no_color: bool,
    /// The layout's default namespace, `{name}` standing for the realm.
    pub namespace_template: String,
    /// The layout's rule for a new realm's name (the create form checks it as one types).
    pub name_rule: fn(&str) -> Result<(), String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            readonly: false,
            allow_system: false,
            no_color: false,
            namespace_template: super::popups::create::DEFAULT_TEMPLATE.into(),
            name_rule: crate::model::names::validate_realm_name,
        }
    }
}

pub struct App {
    pub options: Options,
    pub snapshot: Option<Snapshot>,
    pub detail: Option<DetailData>,
    pub history: History,
    pub screen: Screen,
    pub popup: Option<Popup>,
    pub interval: Duration,
    /// Selected row of the realms table, as an index into `visible_realms()`.
    pub selected: usize,
    /// Selected row of the detail table (tasks, images or credentials).
    pub detail_selected: usize,
    pub yaml_scroll: u16,
    pub sort: Column,
    pub sort_descending: bool,
    pub filter: TextInput,
    pub filter_editing: bool,
    /// A short notice for the status line (a mutation's outcome); it gives
    /// way to the last error after `NOTICE_TTL`.
    pub notice: Option<String>,
    pub notice_at: Option<std::time::Instant>,
    pub should_quit: bool,
    /// Where the body table was last drawn, for mouse hits (set by the draw path).
    pub table_area: Cell<Rect>,
    /// First row index drawn in the body table (set by the draw path).
    pub table_offset: Cell<usize>,
}

impl App {
    pub fn new(options: Options, interval: Duration) -> Self {
        App {
            options,
            snapshot: None,
            detail: None,
            history: History::new(interval),
            screen: Screen::Realms,
            popup: None,
            interval,
            selected: 0,
            detail_selected: 0,
            yaml_scroll: 0,
            sort: Column::Name,
            sort_descending: false,
            filter: TextInput::new(),
            filter_editing: false,
            notice: None,
            notice_at: None,
            should_quit: false,
            table_area: Cell::new(Rect::default()),
            table_offset: Cell::new(0),
        }
    }

    /// Realms after the filter, in the chosen order.
    pub fn visible_realms(&self) -> Vec<&RealmRow> {
        let Some(snapshot) = &self.snapshot else {
            return Vec::new();
        };
        let needle = self.filter.value().to_lowercase();
        let mut rows: Vec<&RealmRow> = snapshot
            .realms
            .iter()
            .filter(|r| {
                needle.is_empty()
                    || r.summary.name.to_lowercase().contains(&needle)
                    || r.summary.namespace.to_lowercase().contains(&needle)
                    || r.summary.state.to_lowercase().contains(&needle)
            })
            .collect();
        rows.sort_by(|a, b| {
            let ord = compare(self.sort, a, b).then_with(|| a.summary.name.cmp(&b.summary.name));
            if self.sort_descending {
                ord.reverse()
            } else {
                ord
            }
        });
        rows
    }

    pub fn selected_realm(&self) -> Option<&RealmRow> {
        match &self.screen {
            Screen::Realms => self.visible_realms().get(self.selected).copied(),
            Screen::Detail { realm, .. } => self.realm(realm),
        }
    }

    pub fn realm(&self, name: &str) -> Option<&RealmRow> {
        self.snapshot
            .as_ref()?
            .realms
            .iter()
            .find(|r| r.summary.name == name)
    }

    /// A message from the collector.
    pub fn on_message(&mut self, message: Message) -> Vec<Request> {
        match message {
            Message::Snapshot(snapshot) => {
                if self.notice_at.is_some_and(|at| at.elapsed() > NOTICE_TTL) {
                    self.notice = None;
                    self.notice_at = None;
                }
                self.history.push_all(snapshot.realms.iter().map(|r| {
                    let point = Point {
                        cpu: r.rate.as_ref().and_then(|x| x.cpu_percent_of_core),
                        memory: r.summary.usage.working_set(),
                    };
                    (r.summary.name.as_str(), point)
                }));
                self.snapshot = Some(*snapshot);
                self.clamp_selection();
                // The realm shown in detail was deleted elsewhere: back home.
                if let Screen::Detail { realm, .. } = &self.screen {
                    if self.realm(realm).is_none() && !matches!(self.popup, Some(Popup::Delete(_)))
                    {
                        self.set_notice(format!("realm {realm:?} is gone"));
                        self.screen = Screen::Realms;
                        return vec![Request::Focus(None)];
                    }
                }
            }
            Message::Detail(detail) => {
                if matches!(&self.screen, Screen::Detail { realm, .. } if *realm == detail.realm) {
                    self.detail = Some(*detail);
                    self.clamp_detail_selection();
                }
            }
            Message::CreateStep(step) => {
                if let Some(Popup::Create(form)) = &mut self.popup {
                    form.on_step(&step);
                }
            }
            Message::CreateDone(result) => {
                if let Some(Popup::Create(form)) = &mut self.popup {
                    form.on_done(result);
                }
            }
            Message::Plan(result) => {
                if let Some(Popup::Delete(dialog)) = &mut self.popup {
                    if let Some(request) = dialog.on_plan(result, self.options.allow_system) {
                        return vec![request];
                    }
                }
            }
            Message::DeleteStep(step) => {
                if let Some(Popup::Delete(dialog)) = &mut self.popup {
                    dialog.on_step(&step);
                }
            }
            Message::DeleteDone(result) => {
                if let Some(Popup::Delete(dialog)) = &mut self.popup {
                    dialog.on_done(result);
                }
            }
            Message::CredentialDone(result) => match result {
                Ok(text) => {
                    self.set_notice(text);
                    if matches!(self.popup, Some(Popup::Credential(_))) {
                        self.popup = None;
                    }
                }
                Err(error) => {
                    if let Some(Popup::Credential(form)) = &mut self.popup {
                        form.on_error(error);
                    } else {
                        self.set_notice(error);
                    }
                }
            },
        }
        Vec::new()
    }

    /// A terminal event; returns the requests it causes.
    pub fn on_event(&mut self, event: Event) -> Vec<Request> {
        match event {
            Event::Key(key) if key.kind != KeyEventKind::Release => self.on_key(key),
            Event::Paste(text) => {
                self.on_paste(&text);
                Vec::new()
            }
            Event::Mouse(mouse) => {
                self.on_mouse(mouse);
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn on_paste(&mut self, text: &str) {
        match &mut self.popup {
            Some(Popup::Create(form)) => form.paste(text),
            Some(Popup::Credential(form)) => form.paste(text),
            Some(Popup::Delete(dialog)) => dialog.paste(text),
            Some(_) => {}
            None if self.filter_editing => self.filter.paste(text),
            None => {}
        }
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Request> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && key.code == KeyCode::Char('c') {
            self.should_quit = true;
            return Vec::new();
        }
        let in_text = self.filter_editing || self.popup.as_ref().is_some_and(Popup::captures_text);
        if !in_text && key.code == KeyCode::Char('q') {
            self.should_quit = true;
            return Vec::new();
        }
        if let Some(popup) = self.popup.take() {
            return self.on_popup_key(popup, key);
        }
        if self.filter_editing {
            match key.code {
                KeyCode::Enter => self.filter_editing = false,
                KeyCode::Esc => {
                    self.filter_editing = false;
                    self.filter.set_value("");
                }
                _ => {
                    self.filter.handle_key(key);
                    self.selected = 0;
                }
            }
            return Vec::new();
        }
        if key.code == KeyCode::Char('?') {
            self.popup = Some(Popup::Help);
            return Vec::new();
        }
        match self.screen.clone() {
            Screen::Realms => self.on_realms_key(key),
            Screen::Detail { realm, tab } => self.on_detail_key(key, realm, tab),
        }
    }

    fn on_realms_key(&mut self, key: KeyEvent) -> Vec<Request> {
        let rows = self.visible_realms().len();
        let page = self.page();
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => self.selected = self.selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => {
                self.selected = (self.selected + 1).min(rows.saturating_sub(1))
            }
            KeyCode::PageUp => self.selected = self.selected.saturating_sub(page),
            KeyCode::PageDown => self.selected = (self.selected + page).min(rows.saturating_sub(1)),
            KeyCode::Home | KeyCode::Char('g') => self.selected = 0,
            KeyCode::End | KeyCode::Char('G') => self.selected = rows.saturating_sub(1),
            KeyCode::Char('/') => self.filter_editing = true,
            KeyCode::Esc => self.filter.set_value(""),
            KeyCode::Char(c @ '1'..='9') => {
                self.sort_by(Column::ALL[(c as usize) - ('1' as usize)])
            }
            KeyCode::Char('s') => {
                let next = (Column::ALL
                    .iter()
                    .position(|c| *c == self.sort)
                    .unwrap_or(0)
                    + 1)
                    % Column::ALL.len();
                self.sort = Column::ALL[next];
                self.sort_descending = false;
            }
            KeyCode::Char('r') => self.sort_descending = !self.sort_descending,
            KeyCode::Char('+') | KeyCode::Char('=') => return self.step_interval(1),
            KeyCode::Char('-') | KeyCode::Char('_') => return self.step_interval(-1),
            KeyCode::Enter | KeyCode::Right | KeyCode::Char('l') => {
                if let Some(row) = self.selected_realm() {
                    let realm = row.summary.name.clone();
                    return self.open_detail(realm);
                }
            }
            KeyCode::Char('c') if !self.options.readonly => {
                self.popup = Some(Popup::Create(CreateForm::new(
                    &self.options.namespace_template,
                    self.options.name_rule,
                )))
            }
            KeyCode::Char('d') if !self.options.readonly => return self.open_delete(),
            KeyCode::Char('c') | KeyCode::Char('d') => {
                self.set_notice("read-only: started with --readonly")
            }
            _ => {}
        }
        Vec::new()
    }

    fn on_detail_key(&mut self, key: KeyEvent, realm: String, tab: Tab) -> Vec<Request> {
        let rows = self.detail_rows(tab);
        let set_tab = |app: &mut App, tab: Tab| {
            app.screen = Screen::Detail {
                realm: realm.clone(),
                tab,
            };
            app.detail_selected = 0;
            app.yaml_scroll = 0;
        };
        match key.code {
            KeyCode::Esc | KeyCode::Left | KeyCode::Char('h') | KeyCode::Backspace => {
                self.screen = Screen::Realms;
                self.detail = None;
                return vec![Request::Focus(None)];
            }
            KeyCode::Tab | KeyCode::Char(']') => {
                set_tab(self, Tab::ALL[(tab.index() + 1) % Tab::ALL.len()])
            }
            KeyCode::BackTab | KeyCode::Char('[') => set_tab(
                self,
                Tab::ALL[(tab.index() + Tab::ALL.len() - 1) % Tab::ALL.len()],
            ),
            KeyCode::Char(c @ '1'..='4') => set_tab(self, Tab::ALL[(c as usize) - ('1' as usize)]),
            KeyCode::Up | KeyCode::Char('k') if tab == Tab::Yaml => {
                self.yaml_scroll = self.yaml_scroll.saturating_sub(1)
            }
            KeyCode::Down | KeyCode::Char('j') if tab == Tab::Yaml => {
                self.yaml_scroll = self.yaml_scroll.saturating_add(1)
            }
            KeyCode::PageUp if tab == Tab::Yaml => {
                self.yaml_scroll = self.yaml_scroll.saturating_sub(self.page() as u16)
            }
            KeyCode::PageDown if tab == Tab::Yaml => {
                self.yaml_scroll = self.yaml_scroll.saturating_add(self.page() as u16)
            }
            KeyCode::Up | KeyCode::Char('k') => {
                self.detail_selected = self.detail_selected.saturating_sub(1)
            }
            KeyCode::Down | KeyCode::Char('j') => {
                self.detail_selected = (self.detail_selected + 1).min(rows.saturating_sub(1))
            }
            KeyCode::Home | KeyCode::Char('g') => self.detail_selected = 0,
            KeyCode::End | KeyCode::Char('G') => self.detail_selected = rows.saturating_sub(1),
            KeyCode::Char('+') | KeyCode::Char('=') => return self.step_interval(1),
            KeyCode::Char('-') | KeyCode::Char('_') => return self.step_interval(-1),
            KeyCode::Char('d') if !self.options.readonly => return self.open_delete(),
            KeyCode::Char('a') if !self.options.readonly && tab == Tab::Credentials => {
                self.popup = Some(Popup::Credential(CredentialForm::add(&realm)));
            }
            KeyCode::Char('e') | KeyCode::Enter
                if !self.options.readonly && tab == Tab::Credentials =>
            {
                if let Some(c) = self
                    .detail
                    .as_ref()
                    .and_then(|d| d.credentials.get(self.detail_selected))
                {
                    self.popup = Some(Popup::Credential(CredentialForm::edit(
                        &realm,
                        &c.server,
                        &c.username,
                    )));
                }
            }
            KeyCode::Char('x') | KeyCode::Delete
                if !self.options.readonly && tab == Tab::Credentials =>
            {
                if let Some(c) = self
                    .detail
                    .as_ref()
                    .and_then(|d| d.credentials.get(self.detail_selected))
                {
                    self.popup = Some(Popup::ConfirmCredentialDelete {
                        realm: realm.clone(),
                        server: c.server.clone(),
                        username: c.username.clone(),
                    });
                }
            }
            KeyCode::Char('a' | 'e' | 'x' | 'd') | KeyCode::Delete if self.options.readonly => {
                self.set_notice("read-only: started with --readonly")
            }
            _ => {}
        }
        Vec::new()
    }

    fn on_popup_key(&mut self, popup: Popup, key: KeyEvent) -> Vec<Request> {
        match popup {
            Popup::Help => {
                // Any key closes help; it is not also acted on.
                Vec::new()
            }
            Popup::ConfirmCredentialDelete {
                realm,
                server,
                username,
            } => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => {
                    vec![Request::DeleteCredential {
                        realm,
                        server,
                        username,
                    }]
                }
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => Vec::new(),
                _ => {
                    self.popup = Some(Popup::ConfirmCredentialDelete {
                        realm,
                        server,
                        username,
                    });
                    Vec::new()
                }
            },
            Popup::Create(mut form) => {
                let (close, requests) = form.on_key(key);
                if close {
                    if let Some(name) = form.created_realm() {
                        self.select_realm(&name);
                    }
                } else {
                    self.popup = Some(Popup::Create(form));
                }
                requests
            }
            Popup::Credential(mut form) => {
                let (close, requests) = form.on_key(key);
                if !close {
                    self.popup = Some(Popup::Credential(form));
                }
                requests
            }
            Popup::Delete(mut dialog) => {
                let (close, requests) = dialog.on_key(key);
                if close {
                    if dialog.succeeded() {
                        self.set_notice(format!("realm {:?} deleted", dialog.realm));
                        if matches!(self.screen, Screen::Detail { .. }) {
                            self.screen = Screen::Realms;
                            self.detail = None;
                            let mut out = requests;
                            out.push(Request::Focus(None));
                            return out;
                        }
                    }
                } else {
                    self.popup = Some(Popup::Delete(dialog));
                }
                requests
            }
        }
    }

    fn on_mouse(&mut self, mouse: MouseEvent) {
        if self.popup.is_some() {
            return;
        }
        let area = self.table_area.get();
        match mouse.kind {
            MouseEventKind::ScrollDown => self.move_selection(3),
            MouseEventKind::ScrollUp => self.move_selection(-3),
            MouseEventKind::Down(MouseButton::Left) => {
                // The first line of the table area is its header.
                let inside = mouse.column >= area.x
                    && mouse.column < area.x + area.width
                    && mouse.row > area.y
                    && mouse.row < area.y + area.height;
                if inside {
                    let index = self.table_offset.get() + (mouse.row - area.y - 1) as usize;
                    match &self.screen {
                        Screen::Realms if index < self.visible_realms().len() => {
                            self.selected = index
                        }
                        Screen::Detail { tab, .. } if index < self.detail_rows(*tab) => {
                            self.detail_selected = index
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }

    fn move_selection(&mut self, delta: isize) {
        match &self.screen {
            Screen::Realms => {
                let max = self.visible_realms().len().saturating_sub(1);
                self.selected = self.selected.saturating_add_signed(delta).min(max);
            }
            Screen::Detail { tab: Tab::Yaml, .. } => {
                self.yaml_scroll = (self.yaml_scroll as isize + delta).max(0) as u16;
            }
            Screen::Detail { tab, .. } => {
                let max = self.detail_rows(*tab).saturating_sub(1);
                self.detail_selected = self.detail_selected.saturating_add_signed(delta).min(max);
            }
        }
    }

    fn sort_by(&mut self, column: Column) {
        if self.sort == column {
            self.sort_descending = !self.sort_descending;
        } else {
            self.sort = column;
            // Busiest first is what one sorts usage for.
            self.sort_descending = matches!(
                column,
                Column::Cpu | Column::Memory | Column::Pids | Column::Tasks | Column::Images
            );
        }
    }

    fn step_interval(&mut self, direction: isize) -> Vec<Request> {
        let ms = self.interval.as_millis() as u64;
        let pos = INTERVALS_MS
            .iter()
            .position(|i| *i >= ms)
            .unwrap_or(INTERVALS_MS.len() - 1);
        let next = (pos as isize + direction).clamp(0, INTERVALS_MS.len() as isize - 1) as usize;
        let interval = Duration::from_millis(INTERVALS_MS[next]);
        if interval == self.interval {
            return Vec::new();
        }
        self.interval = interval;
        self.history.set_interval(interval);
        self.set_notice(format!(
            "refresh every {}",
            humantime::format_duration(interval)
        ));
        vec![Request::SetInterval(interval)]
    }

    fn open_detail(&mut self, realm: String) -> Vec<Request> {
        self.screen = Screen::Detail {
            realm: realm.clone(),
            tab: Tab::Tasks,
        };
        self.detail = None;
        self.detail_selected = 0;
        self.yaml_scroll = 0;
        vec![Request::Focus(Some(realm))]
    }

    fn open_delete(&mut self) -> Vec<Request> {
        let Some(row) = self.selected_realm() else {
            return Vec::new();
        };
        let realm = row.summary.name.clone();
        self.popup = Some(Popup::Delete(DeleteDialog::new(&realm)));
        vec![Request::PlanDelete(realm)]
    }

    fn select_realm(&mut self, name: &str) {
        if let Some(i) = self
            .visible_realms()
            .iter()
            .position(|r| r.summary.name == name)
        {
            self.selected = i;
        }
    }

    fn detail_rows(&self, tab: Tab) -> usize {
        let Some(d) = &self.detail else { return 0 };
        match tab {
            Tab::Tasks => d.tasks.len(),
            Tab::Images => d.images.len(),
            Tab::Credentials => d.credentials.len(),
            Tab::Yaml => d.yaml.lines().count(),
        }
    }

    fn page(&self) -> usize {
        (self.table_area.get().height as usize)
            .saturating_sub(2)
            .max(1)
    }

    fn clamp_selection(&mut self) {
        let rows = self.visible_realms().len();
        self.selected = self.selected.min(rows.saturating_sub(1));
    }

    fn clamp_detail_selection(&mut self) {
        if let Screen::Detail { tab, .. } = &self.screen {
            let rows = self.detail_rows(*tab);
            self.detail_selected = self.detail_selected.min(rows.saturating_sub(1));
        }
    }

    fn set_notice(&mut self, text: impl Into<String>) {
        self.notice = Some(text.into());
        self.notice_at = Some(std::time::Instant::now());
    }

    /// Where the user is, for the status line.
    pub fn breadcrumb(&self) -> String {
        let mut crumbs = vec!["Realms".to_string()];
        if let Screen::Detail { realm, tab } = &self.screen {
            crumbs.push(crate::cli::output::inert(realm));
            crumbs.push(tab.title().to_string());
        }
        match &self.popup {
            Some(Popup::Help) => crumbs.push("Help".into()),
            Some(Popup::Create(_)) => crumbs.push("Create realm".into()),
            Some(Popup::Credential(form)) => crumbs.push(form.title().into()),
            Some(Popup::ConfirmCredentialDelete { .. }) => crumbs.push("Delete credential".into()),
            Some(Popup::Delete(_)) => crumbs.push("Delete realm".into()),
            None => {}
        }
        crumbs.join(" › ")
    }
}

fn compare(column: Column, a: &RealmRow, b: &RealmRow) -> std::cmp::Ordering {
    let (x, y) = (&a.summary, &b.summary);
    let cpu = |r: &RealmRow| {
        r.rate
            .as_ref()
            .and_then(|r| r.cpu_percent_of_core)
            .unwrap_or(-1.0)
    };
    match column {
        Column::Name => x.name.cmp(&y.name),
        Column::State => x.state.cmp(&y.state),
        Column::Namespace => x.namespace.cmp(&y.namespace),
        Column::Cpu => cpu(a).total_cmp(&cpu(b)),
        Column::Memory => x.usage.working_set().cmp(&y.usage.working_set()),
        Column::Pids => x.usage.pids_current.cmp(&y.usage.pids_current),
        Column::Tasks => {
            (x.counts.running_tasks, x.counts.tasks).cmp(&(y.counts.running_tasks, y.counts.tasks))
        }
        Column::Images => x.counts.images.cmp(&y.counts.images),
        Column::Age => x.age_seconds.cmp(&y.age_seconds),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroup::Usage;
    use crate::ops::realms::{Counts, Observed, RealmSummary};
    use crate::ops::HostInfo;
    use crate::tui::snapshot::Connection;
    use crossterm::event::KeyModifiers;

    fn row(name: &str) -> RealmRow {
        RealmRow {
            summary: RealmSummary {
                name: name.into(),
                state: "Ready".into(),
                valid: true,
                error: None,
                namespace: format!("kukeon-{name}"),
                cgroup_path: format!("/kukeon/{name}"),
                labels: Default::default(),
                created_at: None,
                age_seconds: Some(60),
                observed: Observed {
                    namespace_exists: true,
                    cgroup_exists: true,
                },
                counts: Counts::default(),
                usage: Usage::default(),
            },
            rate: None,
        }
    }

    fn app_with(names: &[&str], readonly: bool) -> App {
        let mut app = App::new(
            Options {
                readonly,
                ..Options::default()
            },
            Duration::from_secs(1),
        );
        app.on_message(Message::Snapshot(Box::new(Snapshot {
            host: HostInfo {
                run_path: "/opt/kukeon".into(),
                containerd_socket: "/run/containerd/containerd.sock".into(),
                containerd_version: None,
                cgroup: "v2".into(),
                daemon: None,
            },
            connection: Connection::Connected,
            realms: names.iter().map(|n| row(n)).collect(),
            containerd_at: None,
            taken_at: std::time::SystemTime::UNIX_EPOCH,
            error: None,
        })));
        app
    }

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn q_quits_outside_text_fields_only() {
        let mut app = app_with(&["a"], false);
        app.on_key(key(KeyCode::Char('/')));
        app.on_key(key(KeyCode::Char('q')));
        assert!(!app.should_quit, "q types into the filter");
        assert_eq!(app.filter.value(), "q");
        app.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
        assert!(app.should_quit, "Ctrl-C quits from anywhere");
        let mut app = app_with(&["a"], false);
        app.on_key(key(KeyCode::Char('q')));
        assert!(app.should_quit);
    }

    #[test]
    fn enter_focuses_and_esc_returns() {
        let mut app = app_with(&["a", "b"], false);
        app.on_key(key(KeyCode::Down));
        let requests = app.on_key(key(KeyCode::Enter));
        assert!(matches!(requests.as_slice(), [Request::Focus(Some(r))] if r == "b"));
        assert_eq!(app.breadcrumb(), "Realms › b › Tasks");
        let requests = app.on_key(key(KeyCode::Esc));
        assert!(matches!(requests.as_slice(), [Request::Focus(None)]));
        assert_eq!(app.screen, Screen::Realms);
    }

    #[test]
    fn interval_steps_and_is_sent_to_the_collector() {
        let mut app = app_with(&["a"], false);
        let requests = app.on_key(key(KeyCode::Char('+')));
        assert!(
            matches!(requests.as_slice(), [Request::SetInterval(d)] if *d == Duration::from_secs(2))
        );
        app.on_key(key(KeyCode::Char('-')));
        app.on_key(key(KeyCode::Char('-')));
        assert_eq!(app.interval, Duration::from_millis(500));
        for _ in 0..10 {
            app.on_key(key(KeyCode::Char('-')));
        }
        assert_eq!(app.interval, Duration::from_millis(250), "bounded");
    }

    #[test]
    fn mouse_click_selects_and_wheel_scrolls() {
        let mut app = app_with(&["a", "b", "c", "d", "e"], false);
        app.table_area.set(Rect {
            x: 0,
            y: 2,
            width: 80,
            height: 10,
        });
        let click = |row: u16| {
            Event::Mouse(MouseEvent {
                kind: MouseEventKind::Down(MouseButton::Left),
                column: 5,
                row,
                modifiers: KeyModifiers::NONE,
            })
        };
        app.on_event(click(2 + 1 + 3));
        assert_eq!(app.selected_realm().unwrap().summary.name, "d");
        app.on_event(click(2));
        assert_eq!(app.selected, 3, "the header row selects nothing");
        app.on_event(Event::Mouse(MouseEvent {
            kind: MouseEventKind::ScrollUp,
            column: 5,
            row: 5,
            modifiers: KeyModifiers::NONE,
        }));
        assert_eq!(app.selected, 0);
    }

    #[test]
    fn readonly_offers_no_mutation() {
        let mut app = app_with(&["a"], true);
        app.on_key(key(KeyCode::Char('c')));
        assert!(app.popup.is_none());
        assert!(app.on_key(key(KeyCode::Char('d'))).is_empty());
        assert!(app.popup.is_none());
        assert!(app.notice.as_deref().unwrap().contains("read-only"));
    }

    #[test]
    fn filter_and_sort() {
        let mut app = app_with(&["web", "db", "web-2"], false);
        app.on_key(key(KeyCode::Char('/')));
        app.on_event(Event::Paste("web".into()));
        app.on_key(key(KeyCode::Enter));
        let names: Vec<_> = app
            .visible_realms()
            .iter()
            .map(|r| r.summary.name.clone())
            .collect();
        assert_eq!(names, ["web", "web-2"]);
        app.on_key(key(KeyCode::Char('1')));
        let names: Vec<_> = app
            .visible_realms()
            .iter()
            .map(|r| r.summary.name.clone())
            .collect();
        assert_eq!(
            names,
            ["web-2", "web"],
            "sorting by the sorted column again reverses"
        );
        app.on_key(key(KeyCode::Esc));
        assert_eq!(app.visible_realms().len(), 3);
    }
}
