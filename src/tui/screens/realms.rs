//! The home screen: one row per realm with live usage. Only the rows that
//! fit are built, so a thousand realms cost what a screenful costs.

use super::{memory_text, pct, window};
use crate::cli::output::inert;
use crate::model::units::format_age;
use crate::tui::app::{App, Column};
use crate::tui::history::spark;
use crate::tui::snapshot::{Connection, RealmRow};
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};
use ratatui::Frame;
use std::time::Duration;

pub fn draw(frame: &mut Frame, app: &App, area: Rect, theme: &Theme) {
    let Some(snapshot) = &app.snapshot else {
        frame.render_widget(
            Paragraph::new(Span::styled(" collecting…", theme.dim())),
            area,
        );
        return;
    };
    let rows = app.visible_realms();
    // The last line tells about the selected realm when it needs telling.
    let selected = rows.get(app.selected).copied();
    let note = selected
        .and_then(|r| {
            r.summary
                .error
                .as_ref()
                .map(|e| format!("! {}: {}", inert(&r.summary.name), inert(e)))
        })
        .or_else(|| match &snapshot.connection {
            Connection::Disconnected { error, .. } => Some(format!("! {}", inert(error))),
            _ => None,
        });
    // Up to two wrapped lines below the table.
    let note_height = if note.is_some() { 2 } else { 0 };
    let table_area = Rect {
        height: area.height.saturating_sub(note_height),
        ..area
    };
    app.table_area.set(table_area);
    if rows.is_empty() {
        let text = if snapshot.realms.is_empty() {
            " No realms found. Press c to create one.".to_string()
        } else {
            format!(
                " No realm matches the filter {:?} (Esc clears it).",
                app.filter.value()
            )
        };
        let hint = if app.options.readonly {
            text.replace(" Press c to create one.", "")
        } else {
            text
        };
        frame.render_widget(Paragraph::new(Span::styled(hint, theme.dim())), table_area);
        return;
    }
    let wide = area.width >= 100;
    let spark_width = if area.width >= 120 { 12 } else { 6 };
    let columns: Vec<(Column, Constraint)> = Column::ALL
        .iter()
        .filter(|c| wide || **c != Column::Namespace)
        .map(|c| {
            let width = match c {
                Column::Name => Constraint::Min(10),
                Column::State => Constraint::Length(9),
                Column::Namespace => Constraint::Min(12),
                Column::Cpu => Constraint::Length(6 + spark_width as u16),
                Column::Memory => Constraint::Length(13),
                Column::Pids => Constraint::Length(5),
                Column::Tasks => Constraint::Length(6),
                Column::Images => Constraint::Length(6),
                Column::Age => Constraint::Length(4),
            };
            (*c, width)
        })
        .collect();
    let header = Row::new(columns.iter().map(|(c, _)| {
        let arrow = if *c == app.sort {
            if app.sort_descending {
                "▼"
            } else {
                "▲"
            }
        } else {
            ""
        };
        Cell::from(format!("{}{arrow}", c.title()))
    }))
    .style(theme.header());
    let height = table_area.height.saturating_sub(1) as usize;
    let (start, end) = window(rows.len(), app.selected, height, app.table_offset.get());
    app.table_offset.set(start);
    let known = snapshot.containerd_at.is_some();
    let stale = !matches!(snapshot.connection, Connection::Connected);
    let body: Vec<Row> = rows[start..end]
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let cells = columns
                .iter()
                .map(|(c, _)| cell(app, row, *c, spark_width, known, stale, theme));
            let style = if start + i == app.selected {
                theme.selected()
            } else {
                Style::new()
            };
            Row::new(cells).style(style)
        })
        .collect();
    let table = Table::new(body, columns.iter().map(|(_, w)| *w))
        .header(header)
        .column_spacing(1);
    frame.render_widget(table, table_area);
    if let Some(note) = note {
        let y = area.y + area.height.saturating_sub(note_height);
        frame.render_widget(
            Paragraph::new(Span::styled(note, theme.error())).wrap(Wrap { trim: false }),
            Rect {
                x: area.x + 1,
                y,
                width: area.width.saturating_sub(2),
                height: note_height,
            },
        );
    }
}

fn cell<'a>(
    app: &App,
    row: &'a RealmRow,
    column: Column,
    spark_width: usize,
    known: bool,
    stale: bool,
    theme: &Theme,
) -> Cell<'a> {
    let s = &row.summary;
    // containerd figures: `?` before the first answer, dimmed while stale.
    let remote = |text: String| {
        if !known {
            Cell::from("?")
        } else if stale {
            Cell::from(Span::styled(text, theme.dim()))
        } else {
            Cell::from(text)
        }
    };
    match column {
        Column::Name => {
            let flag = if s.valid { "" } else { "!" };
            Cell::from(format!("{}{flag}", inert(&s.name)))
        }
        // The state comes from the record (status.state), which anyone may write.
        Column::State => Cell::from(Span::styled(inert(&s.state), theme.state(&s.state))),
        Column::Namespace => Cell::from(inert(&s.namespace)),
        Column::Cpu => {
            let cpu = row.rate.as_ref().and_then(|r| r.cpu_percent_of_core);
            let history = app.history.get(&s.name);
            let line = history
                .map(|h| {
                    let max = h.iter().filter_map(|p| p.cpu).fold(100.0f64, f64::max);
                    spark(h.iter().map(|p| p.cpu), spark_width, max)
                })
                .unwrap_or_else(|| " ".repeat(spark_width));
            Cell::from(Line::from(vec![
                Span::raw(format!("{:>5} ", pct(cpu))),
                Span::styled(line, theme.spark()),
            ]))
        }
        Column::Memory => Cell::from(memory_text(s.usage.working_set(), s.usage.memory_limit)),
        Column::Pids => Cell::from(
            s.usage
                .pids_current
                .map(|p| p.to_string())
                .unwrap_or_else(|| "-".into()),
        ),
        Column::Tasks => remote(format!("{}/{}", s.counts.running_tasks, s.counts.tasks)),
        Column::Images => remote(s.counts.images.to_string()),
        Column::Age => Cell::from(
            s.age_seconds
                .map(|a| format_age(Duration::from_secs(a)))
                .unwrap_or_else(|| "-".into()),
        ),
    }
}
