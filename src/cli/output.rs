//! Output shared by every subcommand: aligned tables, JSON and YAML.

use crate::ops::{OpError, OpResult};
use clap::ValueEnum;
use serde::Serialize;
use std::io::Write;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Wide,
    Json,
    Yaml,
}

/// Prints a serializable value as pretty JSON or YAML.
pub fn print_structured<T: Serialize>(value: &T, format: Format) -> OpResult<()> {
    let text = match format {
        Format::Json => serde_json::to_string_pretty(value)
            .map(|s| {
                let mut s = json_inert(&s);
                s.push('\n');
                s
            })
            .map_err(|e| OpError::failed(format!("cannot encode JSON: {e}")))?,
        _ => serde_yaml_ng::to_string(value)
            .map_err(|e| OpError::failed(format!("cannot encode YAML: {e}")))?,
    };
    write_stdout(&text)
}

/// serde_json escapes only C0 controls; C1 controls and bidi/zero-width
/// characters would reach a terminal raw. They can only occur inside JSON
/// strings, where `\uXXXX` is the same character to every JSON reader, so
/// the document stays faithful and becomes inert.
fn json_inert(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if ('\u{80}'..='\u{9f}').contains(&c) || crate::model::names::is_invisible(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{:04x}", unit));
            }
        } else {
            out.push(c);
        }
    }
    out
}

pub fn write_stdout(text: &str) -> OpResult<()> {
    let mut out = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth reporting.
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(OpError::failed(format!("cannot write output: {e}")))
        }
        _ => Ok(()),
    }
}

/// Widest a table cell gets, in terminal columns; longer values end in `…`
/// (`-o json`/`-o yaml` carry them whole).
pub const MAX_CELL_WIDTH: usize = 80;

/// A kubectl-style table: upper-case headers, columns three spaces apart.
/// Cells are shown inert and cut to `MAX_CELL_WIDTH`, and columns are
/// measured in terminal columns (wide CJK/emoji count two), so a hostile or
/// long value can neither drive the terminal nor push the columns apart.
pub struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: Vec<&'static str>) -> Self {
        Table {
            headers,
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(
            cells
                .into_iter()
                .map(|c| truncate_to_width(&inert(&c), MAX_CELL_WIDTH))
                .collect(),
        );
    }

    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.width()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                widths[i] = widths[i].max(cell.width());
            }
        }
        let mut out = String::new();
        let line = |cells: &mut dyn Iterator<Item = &str>, out: &mut String| {
            let mut text = String::new();
            for (i, cell) in cells.enumerate() {
                if i > 0 {
                    text.push_str("   ");
                }
                text.push_str(cell);
                text.extend(std::iter::repeat_n(' ', widths[i] - cell.width()));
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        line(&mut self.headers.iter().copied(), &mut out);
        for row in &self.rows {
            line(&mut row.iter().map(String::as_str), &mut out);
        }
        out
    }

    pub fn print(&self) -> OpResult<()> {
        write_stdout(&self.render())
    }
}

/// Cuts `s` to at most `max` terminal columns, ending in `…` when cut.
pub fn truncate_to_width(s: &str, max: usize) -> String {
    if s.width() <= max {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > max.saturating_sub(1) {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// Shows control characters (escape sequences, newlines, C1 controls) and
/// invisible or reordering ones (bidi, zero-width: `names::is_invisible`) as
/// inert `\u{..}` escapes, so a hostile name cannot drive the terminal,
/// disguise itself or break the table.
pub fn inert(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() || crate::model::names::is_invisible(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

pub fn dash<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

/// CPU time the way `ps` shows it: `9.5s`, `4m03s`, `2h05m`.
pub fn format_cpu_time(usec: u64) -> String {
    let secs = usec / 1_000_000;
    if secs < 60 {
        format!("{:.1}s", usec as f64 / 1e6)
    } else if secs < 3600 {
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else {
        format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_and_neutralizes_escapes() {
        let mut t = Table::new(vec!["NAME", "STATE"]);
        t.row(vec!["a".into(), "Ready".into()]);
        t.row(vec!["evil\u{1b}[2J\u{202e}".into(), "x".into()]);
        let text = t.render();
        assert!(!text.contains('\u{1b}'));
        assert!(!text.contains('\u{202e}'));
        assert!(text.starts_with("NAME"));
        let lines: Vec<_> = text.lines().collect();
        let col = lines[0].find("STATE").unwrap();
        assert_eq!(lines[1].find("Ready").unwrap(), col);
        assert_eq!(lines[2].rfind('x').unwrap(), col);
    }

    #[test]
    fn long_and_wide_cells_keep_the_columns() {
        let mut t = Table::new(vec!["NAME", "STATE"]);
        t.row(vec!["x".repeat(10_000), "A".into()]);
        t.row(vec!["日本語".into(), "B".into()]);
        t.row(vec!["a\u{200b}\u{61c}\u{e0041}".into(), "C".into()]);
        let text = t.render();
        let lines: Vec<_> = text.lines().collect();
        assert!(lines[1].contains('…'), "{}", lines[1]);
        let col = lines[0].width() - "STATE".len();
        for (line, want) in lines[1..].iter().zip(["A", "B", "C"]) {
            assert_eq!(line.width() - 1, col, "{line:?}");
            assert!(line.ends_with(want));
        }
        assert!(lines[3].starts_with("a\\u{200b}\\u{61c}\\u{e0041}"));
    }

    #[test]
    fn json_stays_faithful_and_inert() {
        let value = serde_json::json!({"k": "a\u{9b}b\u{202e}c\u{e0041}\u{1b}"});
        let mut text = Vec::new();
        let s = json_inert(&serde_json::to_string(&value).unwrap());
        text.extend(s.chars().filter(|c| !c.is_ascii()));
        assert!(text.is_empty(), "{s}");
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn cpu_time() {
        assert_eq!(format_cpu_time(9_500_000), "9.5s");
        assert_eq!(format_cpu_time(243_000_000), "4m03s");
        assert_eq!(format_cpu_time(7_500_000_000), "2h05m");
    }
}
