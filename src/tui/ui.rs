//! The whole frame: a header with the host and connection, the current
//! screen, a footer with the breadcrumb, the last notice or error and the
//! main keys, and any popup on top. Reads only the app's state.

use super::app::{App, Popup, Screen};
use super::keys::footer;
use super::screens;
use super::snapshot::Connection;
use super::theme::Theme;
use crate::cli::output::inert;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

pub fn draw(frame: &mut Frame, app: &App) {
    let theme = Theme::new(app.options.no_color);
    let area = frame.area();
    let [header, body, status, keys] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_header(frame, app, header, &theme);
    match &app.screen {
        Screen::Realms => screens::realms::draw(frame, app, body, &theme),
        Screen::Detail { realm, tab } => {
            screens::detail::draw(frame, app, realm, *tab, body, &theme)
        }
    }
    draw_status(frame, app, status, &theme);
    frame.render_widget(
        Paragraph::new(Span::styled(
            footer(&app.screen, app.options.readonly),
            theme.dim(),
        )),
        keys,
    );
    match &app.popup {
        Some(Popup::Help) => super::popups::help::draw(frame, app, area, &theme),
        Some(Popup::Create(form)) => form.draw(frame, area, &theme),
        Some(Popup::Credential(form)) => form.draw(frame, area, &theme),
        Some(Popup::Delete(dialog)) => dialog.draw(frame, area, &theme),
        Some(Popup::ConfirmCredentialDelete {
            server, username, ..
        }) => {
            let outer = super::popups::frame_box(
                frame,
                super::popups::centered(area, 70, 7),
                "Delete credential",
                &theme,
            );
            let inner = Rect {
                x: outer.x + 1,
                width: outer.width.saturating_sub(2),
                ..outer
            };
            let lines = vec![
                Line::from(format!(
                    "Remove the credential for {} ({})?",
                    inert(server),
                    inert(username)
                )),
                Line::from(""),
                Line::from(Span::styled("y remove   n keep", theme.key())),
            ];
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
        }
        None => {}
    }
}

fn draw_header(frame: &mut Frame, app: &App, area: Rect, theme: &Theme) {
    let (state, style) = match app.snapshot.as_ref().map(|s| &s.connection) {
        None | Some(Connection::Connecting) => ("○ connecting".to_string(), theme.warn()),
        Some(Connection::Connected) => ("● connected".to_string(), theme.ok()),
        Some(Connection::Disconnected { retry_in_secs, .. }) => (
            format!("✗ disconnected, retrying every {retry_in_secs}s"),
            theme.error(),
        ),
    };
    let count = app.snapshot.as_ref().map(|s| s.realms.len()).unwrap_or(0);
    let shown = app.visible_realms().len();
    let realms = if shown == count {
        format!("{count} realms")
    } else {
        format!("{shown}/{count} realms")
    };
    let mut first = vec![
        Span::styled(" kuke-tui ", theme.title()),
        Span::styled(state, style),
        Span::raw(format!(
            "  {realms}  every {}",
            humantime::format_duration(app.interval)
        )),
    ];
    // kukeond once asked: `kukeond v0.6.1`, `no daemon`, `kukeond not answering`.
    if let Some(daemon) = app.snapshot.as_ref().and_then(|s| s.host.daemon.as_ref()) {
        use crate::ops::daemon::DaemonState;
        let style = match daemon.state {
            DaemonState::Answering => theme.ok(),
            DaemonState::Absent => theme.dim(),
            _ => theme.warn(),
        };
        first.push(Span::styled(format!("  {}", inert(&daemon.label())), style));
    }
    if app.options.readonly {
        first.push(Span::styled("  READ-ONLY", theme.warn()));
    }
    if app.filter_editing || !app.filter.is_empty() {
        let (shown, _) = app.filter.visible(24);
        first.push(Span::styled(format!("  /{shown}"), theme.key()));
        if app.filter_editing {
            first.push(Span::styled("▏", theme.key()));
        }
    }
    let second = match &app.snapshot {
        None => " reading the host…".to_string(),
        Some(s) => format!(
            " containerd {} at {} │ cgroup {} │ run path {}",
            s.host.containerd_version.as_deref().unwrap_or("?"),
            s.host.containerd_socket,
            // "v1 (hybrid) at /sys/fs/cgroup/{...}": the version is what matters here.
            s.host.cgroup.split(" at ").next().unwrap_or(&s.host.cgroup),
            s.host.run_path
        ),
    };
    let lines = vec![
        Line::from(first),
        Line::from(Span::styled(inert(&second), theme.dim())),
    ];
    frame.render_widget(Paragraph::new(lines), area);
}

fn draw_status(frame: &mut Frame, app: &App, area: Rect, theme: &Theme) {
    let mut spans = vec![Span::styled(format!(" {} ", app.breadcrumb()), theme.key())];
    if let Some(notice) = &app.notice {
        spans.push(Span::raw(format!(" {}", inert(notice))));
    } else if let Some(error) = app.snapshot.as_ref().and_then(|s| s.error.as_ref()) {
        spans.push(Span::styled(
            format!(" last error: {}", inert(error)),
            theme.error(),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
