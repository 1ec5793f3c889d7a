//! Output shared by every subcommand: aligned tables, JSON and YAML.

use crate::ops::{OpError, OpResult};
use clap::ValueEnum;
use serde::Serialize;
use std::io::Write;

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
            .map(|mut s| {
                s.push('\n');
                s
            })
            .map_err(|e| OpError::failed(format!("cannot encode JSON: {e}")))?,
        _ => serde_yaml_ng::to_string(value)
            .map_err(|e| OpError::failed(format!("cannot encode YAML: {e}")))?,
    };
    write_stdout(&text)
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

/// A kubectl-style table: upper-case headers, columns three spaces apart.
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
        self.rows
            .push(cells.into_iter().map(|c| inert(&c)).collect());
    }

    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                widths[i] = widths[i].max(cell.chars().count());
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
                text.extend(std::iter::repeat_n(' ', widths[i] - cell.chars().count()));
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

/// Shows control characters (escape sequences, newlines, bidi and
/// zero-width marks) as inert escapes so a hostile name cannot drive the
/// terminal or break the table.
pub fn inert(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let invisible = matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}');
        if c.is_control() || invisible {
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
    fn cpu_time() {
        assert_eq!(format_cpu_time(9_500_000), "9.5s");
        assert_eq!(format_cpu_time(243_000_000), "4m03s");
        assert_eq!(format_cpu_time(7_500_000_000), "2h05m");
    }
}
