//! Dialogs drawn over a screen; each owns its state, keys and drawing.

pub mod create;
pub mod credential;
pub mod delete;
pub mod help;

use super::theme::Theme;
use super::widgets::input::TextInput;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear};
use ratatui::Frame;

/// A centred box of at most `width` x `height`, inside `area`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// Clears the box, draws its border and title, returns the inner area.
pub fn frame_box(frame: &mut Frame, area: Rect, title: &str, theme: &Theme) -> Rect {
    frame.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.focus_border())
        .title(Span::styled(format!(" {title} "), theme.title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    inner
}

/// `label: [value]` with the cursor placed when focused.
pub fn field_line<'a>(
    frame: &mut Frame,
    label: &'a str,
    input: &TextInput,
    focused: bool,
    row: Rect,
    theme: &Theme,
) -> Line<'a> {
    let label_width = 11u16;
    let width = row.width.saturating_sub(label_width + 2) as usize;
    let (shown, cursor) = input.visible(width);
    if focused {
        frame.set_cursor_position((row.x + label_width + 1 + cursor as u16, row.y));
    }
    let style = if focused {
        theme.selected()
    } else {
        Style::new()
    };
    let pad = width.saturating_sub(unicode_width::UnicodeWidthStr::width(shown.as_str()));
    Line::from(vec![
        Span::styled(
            format!("{label:>10} "),
            if focused { theme.key() } else { theme.dim() },
        ),
        Span::raw("["),
        Span::styled(format!("{shown}{}", " ".repeat(pad)), style),
        Span::raw("]"),
    ])
}
