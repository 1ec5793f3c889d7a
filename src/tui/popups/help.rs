//! `?`: every key of the current screen.

use super::{centered, frame_box};
use crate::tui::app::App;
use crate::tui::keys::bindings;
use crate::tui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub fn draw(frame: &mut Frame, app: &App, area: Rect, theme: &Theme) {
    let keys = bindings(&app.screen, app.options.readonly);
    let height = keys.len() as u16 + 4;
    let inner = frame_box(frame, centered(area, 62, height), "Keys", theme);
    let mut lines: Vec<Line> = keys
        .iter()
        .map(|b| {
            Line::from(vec![
                Span::styled(format!("{:>16}  ", b.keys), theme.key()),
                Span::raw(b.action),
            ])
        })
        .collect();
    lines.push(Line::from(""));
    let mode = if app.options.readonly {
        "read-only mode: no changes offered"
    } else {
        "any key closes"
    };
    lines.push(Line::from(Span::styled(
        format!("{:>16}  {mode}", ""),
        theme.dim(),
    )));
    frame.render_widget(Paragraph::new(lines), inner);
}
