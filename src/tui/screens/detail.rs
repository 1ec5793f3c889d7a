//! One realm: its record and what is observed, CPU and memory over the last
//! five minutes, and tabs for tasks, images, credentials and the YAML.

use super::{bytes, memory_text, pct, window};
use crate::cgroup::Limit;
use crate::cli::output::{dash, format_cpu_time, inert};
use crate::model::units::{format_age, format_size_ctr};
use crate::tui::app::{App, Tab};
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Sparkline, Table, Tabs};
use ratatui::Frame;
use std::time::Duration;

pub fn draw(frame: &mut Frame, app: &App, realm: &str, tab: Tab, area: Rect, theme: &Theme) {
    // cgroup v2 realms get one more line: their pressure (PSI).
    let has_psi = app
        .realm(realm)
        .is_some_and(|r| r.summary.usage.pressure.is_some());
    let [top, tabs_area, body] = Layout::vertical([
        Constraint::Length(if has_psi { 9 } else { 8 }),
        Constraint::Length(1),
        Constraint::Min(3),
    ])
    .areas(area);
    let [meta_area, charts_area] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(top);
    draw_meta(frame, app, realm, meta_area, theme);
    draw_charts(frame, app, realm, charts_area, theme);
    let titles: Vec<Line> = Tab::ALL
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let count = app.detail.as_ref().map(|d| match t {
                Tab::Tasks => format!(" ({})", d.tasks.len()),
                Tab::Images => format!(" ({})", d.images.len()),
                Tab::Credentials => format!(" ({})", d.credentials.len()),
                Tab::Yaml => String::new(),
            });
            Line::from(format!(
                "{} {}{}",
                i + 1,
                t.title(),
                count.unwrap_or_default()
            ))
        })
        .collect();
    let selected = Tab::ALL.iter().position(|t| *t == tab).unwrap_or(0);
    frame.render_widget(
        Tabs::new(titles)
            .select(selected)
            .highlight_style(theme.selected())
            .divider("│"),
        tabs_area,
    );
    app.table_area.set(body);
    let Some(detail) = &app.detail else {
        frame.render_widget(Paragraph::new(Span::styled(" loading…", theme.dim())), body);
        return;
    };
    if let Some(error) = &detail.error {
        let [b, e] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(body);
        frame.render_widget(
            Paragraph::new(Span::styled(format!(" ! {}", inert(error)), theme.error())),
            e,
        );
        app.table_area.set(b);
        return draw_tab(frame, app, tab, b, theme);
    }
    draw_tab(frame, app, tab, body, theme)
}

fn draw_tab(frame: &mut Frame, app: &App, tab: Tab, area: Rect, theme: &Theme) {
    let Some(d) = &app.detail else { return };
    let (headers, widths, rows): (Vec<&str>, Vec<Constraint>, Vec<Vec<String>>) = match tab {
        Tab::Yaml => {
            let lines: Vec<Line> = d.yaml.lines().map(|l| Line::from(inert(l))).collect();
            frame.render_widget(Paragraph::new(lines).scroll((app.yaml_scroll, 0)), area);
            return;
        }
        Tab::Tasks => (
            vec![
                "ID",
                "STATUS",
                "PID",
                "CPU",
                "MEMORY",
                "SPACE/STACK/CELL",
                "IMAGE",
            ],
            vec![
                Constraint::Min(12),
                Constraint::Length(8),
                Constraint::Length(7),
                Constraint::Length(7),
                Constraint::Length(13),
                Constraint::Min(12),
                Constraint::Min(10),
            ],
            d.tasks
                .iter()
                .map(|t| {
                    let place = match (&t.space, &t.stack, &t.cell) {
                        (None, None, None) if !t.managed => "unmanaged".to_string(),
                        (a, b, c) => format!(
                            "{}/{}/{}",
                            dash(a.as_deref()),
                            dash(b.as_deref()),
                            dash(c.as_deref())
                        ),
                    };
                    vec![
                        t.id.clone(),
                        t.status.clone(),
                        dash(t.pid),
                        dash(t.usage.cpu_usage_usec.map(format_cpu_time)),
                        memory_text(t.usage.working_set(), t.usage.memory_limit),
                        place,
                        t.image.clone(),
                    ]
                })
                .collect(),
        ),
        Tab::Images => (
            vec!["REFERENCE", "SIZE", "CREATED", "DIGEST"],
            vec![
                Constraint::Min(20),
                Constraint::Length(10),
                Constraint::Length(20),
                Constraint::Min(12),
            ],
            d.images
                .iter()
                .map(|i| {
                    vec![
                        i.reference.clone(),
                        dash(i.size_bytes.map(format_size_ctr)),
                        dash(i.created_at.clone()),
                        i.digest.clone(),
                    ]
                })
                .collect(),
        ),
        Tab::Credentials => (
            vec!["SERVER", "USERNAME", "PASSWORD"],
            vec![
                Constraint::Min(20),
                Constraint::Min(12),
                Constraint::Length(10),
            ],
            d.credentials
                .iter()
                .map(|c| vec![c.server.clone(), c.username.clone(), c.password.clone()])
                .collect(),
        ),
    };
    if rows.is_empty() {
        let what = match tab {
            Tab::Tasks => " No containers in this realm's namespace.",
            Tab::Images => " No images in this realm's namespace.",
            _ if app.options.readonly => " No registry credentials.",
            _ => " No registry credentials. Press a to add one.",
        };
        frame.render_widget(Paragraph::new(Span::styled(what, theme.dim())), area);
        return;
    }
    let height = area.height.saturating_sub(1) as usize;
    let (start, end) = window(
        rows.len(),
        app.detail_selected,
        height,
        app.table_offset.get(),
    );
    app.table_offset.set(start);
    let body: Vec<Row> = rows[start..end]
        .iter()
        .enumerate()
        .map(|(i, cells)| {
            let style = if start + i == app.detail_selected {
                theme.selected()
            } else {
                Style::new()
            };
            Row::new(cells.iter().map(|c| Cell::from(inert(c)))).style(style)
        })
        .collect();
    let table = Table::new(body, widths)
        .header(Row::new(headers).style(theme.header()))
        .column_spacing(1);
    frame.render_widget(table, area);
}

fn draw_meta(frame: &mut Frame, app: &App, realm: &str, area: Rect, theme: &Theme) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border())
        .title(Span::styled(format!(" {} ", inert(realm)), theme.title()));
    let Some(row) = app.realm(realm) else {
        frame.render_widget(Paragraph::new("gone").block(block), area);
        return;
    };
    let s = &row.summary;
    let yes_no = |b: bool| {
        if b {
            Span::styled("✓", theme.ok())
        } else {
            Span::styled("✗", theme.error())
        }
    };
    let labels = if s.labels.is_empty() {
        "-".to_string()
    } else {
        s.labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut lines = vec![
        Line::from(vec![
            Span::raw("state      "),
            // Recorded by whoever wrote the record: show it inert.
            Span::styled(inert(&s.state), theme.state(&s.state)),
            Span::raw(format!(
                "   age {}",
                dash(s.age_seconds.map(|a| format_age(Duration::from_secs(a))))
            )),
        ]),
        Line::from(vec![
            Span::raw(format!("namespace  {} ", inert(&s.namespace))),
            yes_no(s.observed.namespace_exists),
        ]),
        Line::from(vec![
            Span::raw(format!("cgroup     {} ", inert(&s.cgroup_path))),
            yes_no(s.observed.cgroup_exists),
        ]),
        Line::from(format!(
            "tasks      {}/{} running   images {}",
            s.counts.running_tasks, s.counts.tasks, s.counts.images
        )),
        Line::from(format!(
            "spaces     {}   credentials {}",
            s.counts.spaces, s.counts.registry_credentials
        )),
        Line::from(format!("labels     {}", inert(&labels))),
    ];
    if let Some(p) = &s.usage.pressure {
        lines.push(Line::from(pressure_text(p)));
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// `psi some/full  cpu 12.5/-  mem 0.4/0.2  io 3.1/2.9`: avg10 in percent.
fn pressure_text(p: &crate::cgroup::Pressure) -> String {
    let pair = |r: Option<crate::cgroup::PsiAvg10>| {
        let v = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{x:.1}"));
        r.map_or("-".to_string(), |r| {
            format!("{}/{}", v(r.some_avg10), v(r.full_avg10))
        })
    };
    format!(
        "psi some/full  cpu {}  mem {}  io {}",
        pair(p.cpu),
        pair(p.memory),
        pair(p.io)
    )
}

fn draw_charts(frame: &mut Frame, app: &App, realm: &str, area: Rect, theme: &Theme) {
    let [cpu_area, mem_area] =
        Layout::vertical([Constraint::Length(4), Constraint::Length(4)]).areas(area);
    let history = app.history.get(realm);
    let row = app.realm(realm);
    let cpu_now = row
        .and_then(|r| r.rate.as_ref())
        .and_then(|r| r.cpu_percent_of_core);
    let mem_now = row.and_then(|r| r.summary.usage.working_set());
    let limit = row.and_then(|r| r.summary.usage.memory_limit);
    // Sparklines hold whole numbers: CPU in hundredths of a percent.
    let width = cpu_area.width.saturating_sub(2) as usize;
    let cpu: Vec<u64> = history
        .map(|h| {
            h.iter()
                .rev()
                .take(width)
                .rev()
                .map(|p| (p.cpu.unwrap_or(0.0) * 100.0) as u64)
                .collect()
        })
        .unwrap_or_default();
    let mem: Vec<u64> = history
        .map(|h| {
            h.iter()
                .rev()
                .take(width)
                .rev()
                .map(|p| p.memory.unwrap_or(0))
                .collect()
        })
        .unwrap_or_default();
    let peak_cpu = cpu.iter().copied().max().unwrap_or(0) as f64 / 100.0;
    let peak_mem = mem.iter().copied().max();
    let span = humantime::format_duration(Duration::from_secs(
        (app.interval.as_secs_f64() * cpu.len().max(1) as f64).round() as u64,
    ));
    let titled = |title: String| {
        Block::default()
            .borders(Borders::TOP | Borders::LEFT | Borders::RIGHT)
            .border_style(theme.border())
            .title(title)
    };
    frame.render_widget(
        Sparkline::default()
            .block(titled(if cpu_area.width >= 56 {
                format!(
                    " CPU {}% of a core (peak {peak_cpu:.1}, last {span}) ",
                    pct(cpu_now)
                )
            } else {
                format!(" CPU {}% (peak {peak_cpu:.1}, {span}) ", pct(cpu_now))
            }))
            .data(&cpu)
            .max(cpu.iter().copied().max().unwrap_or(0).max(10_000))
            .style(theme.spark()),
        cpu_area,
    );
    frame.render_widget(
        Sparkline::default()
            .block(titled(format!(
                " memory {} (peak {}) ",
                memory_text(mem_now, limit),
                bytes(peak_mem)
            )))
            .data(&mem)
            // Against the limit when there is one; else headroom above the
            // peak, so a flat line reads as flat, not full.
            .max(match limit {
                Some(Limit::Value(l)) => l.max(peak_mem.unwrap_or(0)),
                _ => peak_mem.unwrap_or(0) + peak_mem.unwrap_or(0) / 4 + 1,
            })
            .style(theme.memory()),
        mem_area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroup::{Pressure, PsiAvg10};

    #[test]
    fn pressure_line() {
        let p = Pressure {
            cpu: Some(PsiAvg10 {
                some_avg10: Some(12.5),
                full_avg10: None,
            }),
            memory: None,
            io: Some(PsiAvg10 {
                some_avg10: Some(3.12),
                full_avg10: Some(2.9),
            }),
        };
        assert_eq!(
            pressure_text(&p),
            "psi some/full  cpu 12.5/-  mem -  io 3.1/2.9"
        );
    }
}
