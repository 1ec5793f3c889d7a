//! Renders an ANSI screen capture (`tmux capture-pane -p -e`) as an SVG that
//! looks like a dark terminal window. std only.
//!
//!   tmux capture-pane -p -e -t S | cargo run --quiet --example ansi2svg -- \
//!       --cols 120 --rows 40 --title "kuke-tui" > shot.svg
//!
//! Understands SGR: reset, bold, dim, italic, underline, reverse (and their
//! offs), colours 30-37/90-97/40-47/100-107, 38;5;n / 48;5;n and
//! 38;2;r;g;b / 48;2;r;g;b. Other escape sequences are skipped.

use std::fmt::Write as _;
use std::io::Read;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Color {
    #[default]
    Default,
    Idx(u8),
    Rgb(u8, u8, u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Style {
    fg: Color,
    bg: Color,
    bold: bool,
    dim: bool,
    italic: bool,
    underline: bool,
    reverse: bool,
}

/// A run of equally styled characters starting at column `col`.
#[derive(Debug, PartialEq)]
struct Run {
    col: usize,
    width: usize,
    text: String,
    style: Style,
}

const CELL_W: f64 = 8.4;
const CELL_H: f64 = 18.0;
const FONT_SIZE: f64 = 14.0;
const PAD: f64 = 14.0;
const BAR: f64 = 30.0;
/// Fills overlap their neighbours by this much, so no hairline shows between.
const SEAM: f64 = 0.4;
const BG: &str = "#1d1f27";
const FG: &str = "#d4d7dd";
/// The 16 base colours (normal, then bright).
const PALETTE: [&str; 16] = [
    "#2e3440", "#e06c75", "#98c379", "#e5c07b", "#61afef", "#c678dd", "#56b6c2", "#c8ccd4",
    "#5c6370", "#ff7a85", "#b5e890", "#ffd68a", "#82c4ff", "#dd9cf0", "#7fd8e3", "#ffffff",
];

/// Applies the parameters of one `ESC [ ... m`.
fn apply_sgr(style: &mut Style, params: &str) {
    let p: Vec<u16> = params
        .split([';', ':'])
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            0 => *style = Style::default(),
            1 => style.bold = true,
            2 => style.dim = true,
            3 => style.italic = true,
            4 => style.underline = true,
            7 => style.reverse = true,
            22 => (style.bold, style.dim) = (false, false),
            23 => style.italic = false,
            24 => style.underline = false,
            27 => style.reverse = false,
            n @ 30..=37 => style.fg = Color::Idx((n - 30) as u8),
            n @ 90..=97 => style.fg = Color::Idx((n - 90 + 8) as u8),
            n @ 40..=47 => style.bg = Color::Idx((n - 40) as u8),
            n @ 100..=107 => style.bg = Color::Idx((n - 100 + 8) as u8),
            39 => style.fg = Color::Default,
            49 => style.bg = Color::Default,
            n @ (38 | 48) => {
                let color = match p.get(i + 1) {
                    Some(5) => {
                        i += 2;
                        Color::Idx(*p.get(i).unwrap_or(&0) as u8)
                    }
                    Some(2) => {
                        i += 4;
                        let c = |k: usize| *p.get(i + k - 2).unwrap_or(&0) as u8;
                        Color::Rgb(c(0), c(1), c(2))
                    }
                    _ => Color::Default,
                };
                if n == 38 {
                    style.fg = color
                } else {
                    style.bg = color
                }
            }
            _ => {}
        }
        i += 1;
    }
}

/// Columns a char takes: 2 for East Asian wide and emoji, else 1 (box
/// drawing and block elements included).
fn char_width(c: char) -> usize {
    let u = c as u32;
    let wide = matches!(u,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1F64F | 0x1F900..=0x1F9FF | 0x20000..=0x3FFFD);
    if wide {
        2
    } else {
        1
    }
}

/// One line into runs; `style` carries over from the previous line.
fn parse_line(line: &str, style: &mut Style) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    let mut col = 0;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            match chars.next() {
                Some('[') => {
                    let mut params = String::new();
                    for c in chars.by_ref() {
                        if ('\x40'..='\x7e').contains(&c) {
                            if c == 'm' {
                                apply_sgr(style, &params);
                            }
                            break;
                        }
                        params.push(c);
                    }
                }
                // OSC (e.g. hyperlinks): up to BEL or ESC \.
                Some(']') => {
                    while let Some(c) = chars.next() {
                        if c == '\x07' || (c == '\x1b' && chars.next_if_eq(&'\\').is_some()) {
                            break;
                        }
                    }
                }
                _ => {}
            }
            continue;
        }
        if c.is_control() {
            continue;
        }
        let width = char_width(c);
        match runs.last_mut() {
            Some(r) if r.style == *style && width == 1 && r.width == r.text.chars().count() => {
                r.text.push(c);
                r.width += 1;
            }
            _ => runs.push(Run {
                col,
                width,
                text: c.to_string(),
                style: *style,
            }),
        }
        col += width;
    }
    runs
}

/// Light box-drawing characters as a path: arms from the cell's centre to
/// the edges it connects (up, down, left, right).
fn box_path(c: char, x: f64, y: f64) -> Option<String> {
    let [up, down, left, right] = match c {
        '─' => [false, false, true, true],
        '│' => [true, true, false, false],
        '┌' | '╭' => [false, true, false, true],
        '┐' | '╮' => [false, true, true, false],
        '└' | '╰' => [true, false, false, true],
        '┘' | '╯' => [true, false, true, false],
        '├' => [true, true, false, true],
        '┤' => [true, true, true, false],
        '┬' => [false, true, true, true],
        '┴' => [true, false, true, true],
        '┼' => [true; 4],
        _ => return None,
    };
    let (cx, cy) = (x + CELL_W / 2.0, y + CELL_H / 2.0);
    let mut d = String::new();
    for (on, (x2, y2)) in [
        (up, (cx, y)),
        (down, (cx, y + CELL_H)),
        (left, (x, cy)),
        (right, (x + CELL_W, cy)),
    ] {
        if on {
            let _ = write!(d, "M{cx:.1} {cy:.1}L{x2:.1} {y2:.1}");
        }
    }
    Some(d)
}

/// Block elements as a rectangle in cell fractions (x, y, width, height).
fn block_rect(c: char) -> Option<(f64, f64, f64, f64)> {
    let u = c as u32;
    Some(match u {
        0x2580 => (0.0, 0.0, 1.0, 0.5),
        // ▁ to █: the lower k eighths
        0x2581..=0x2588 => {
            let k = (u - 0x2580) as f64 / 8.0;
            (0.0, 1.0 - k, 1.0, k)
        }
        // ▉ to ▏: the left k eighths
        0x2589..=0x258F => (0.0, 0.0, (0x2590 - u) as f64 / 8.0, 1.0),
        0x2590 => (0.5, 0.0, 0.5, 1.0),
        _ => return None,
    })
}

fn css(color: Color, default: &str) -> String {
    match color {
        Color::Default => default.to_string(),
        Color::Idx(n) if n < 16 => PALETTE[n as usize].to_string(),
        Color::Idx(n) if n >= 232 => {
            let v = 8 + 10 * (n - 232);
            format!("#{v:02x}{v:02x}{v:02x}")
        }
        Color::Idx(n) => {
            let level = |x: u8| if x == 0 { 0 } else { 55 + 40 * x };
            let n = n - 16;
            let (r, g, b) = (level(n / 36), level(n / 6 % 6), level(n % 6));
            format!("#{r:02x}{g:02x}{b:02x}")
        }
        Color::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn render(input: &str, cols: usize, rows: usize, title: &str) -> String {
    let (w, h) = (cols as f64 * CELL_W, rows as f64 * CELL_H);
    let (total_w, total_h) = (w + 2.0 * PAD, h + 2.0 * PAD + BAR);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{total_w}" height="{total_h}" viewBox="0 0 {total_w} {total_h}" font-family="'DejaVu Sans Mono', 'Cascadia Mono', Menlo, Consolas, 'Liberation Mono', monospace" font-size="{FONT_SIZE}">
<title>{t}</title>
<rect width="100%" height="100%" rx="8" fill="{BG}"/>
<rect width="100%" height="{BAR}" rx="8" fill="#2b2e38"/><rect y="{y}" width="100%" height="8" fill="#2b2e38"/>
<circle cx="18" cy="15" r="6" fill="#ff5f57"/><circle cx="38" cy="15" r="6" fill="#febc2e"/><circle cx="58" cy="15" r="6" fill="#28c840"/>
<text x="{cx}" y="20" fill="#9aa0ab" text-anchor="middle" font-size="13">{t}</text>
<g xml:space="preserve">
"##,
        t = escape(title),
        y = BAR - 8.0,
        cx = total_w / 2.0
    );
    let mut style = Style::default();
    for (row, line) in input.lines().take(rows).enumerate() {
        let top = BAR + PAD + row as f64 * CELL_H;
        for run in parse_line(line, &mut style) {
            if run.col >= cols {
                break;
            }
            let s = run.style;
            let (mut fg, mut bg) = (css(s.fg, FG), css(s.bg, BG));
            if s.reverse {
                std::mem::swap(&mut fg, &mut bg);
            }
            let x = PAD + run.col as f64 * CELL_W;
            let len = run.width.min(cols - run.col) as f64 * CELL_W;
            if bg != BG {
                let _ = writeln!(
                    svg,
                    r#"<rect x="{x:.1}" y="{top:.1}" width="{:.1}" height="{}" fill="{bg}"/>"#,
                    len + SEAM,
                    CELL_H + SEAM
                );
            }
            // Lines and blocks are drawn, so they join whatever the font.
            let opacity = if s.dim { 0.6 } else { 1.0 };
            let mut text = String::new();
            let (mut lines, mut blocks) = (String::new(), String::new());
            for (i, c) in run.text.chars().enumerate() {
                let cx = x + i as f64 * CELL_W;
                if let Some(d) = box_path(c, cx, top) {
                    lines.push_str(&d);
                } else if let Some((bx, by, bw, bh)) = block_rect(c) {
                    // One path for all: no hairlines between neighbours.
                    let _ = write!(
                        blocks,
                        "M{:.1} {:.1}h{:.1}v{:.1}h{:.1}z",
                        cx + bx * CELL_W,
                        top + by * CELL_H,
                        bw * CELL_W,
                        bh * CELL_H + SEAM,
                        -bw * CELL_W
                    );
                } else {
                    text.push(c);
                    continue;
                }
                text.push(' ');
            }
            if !lines.is_empty() {
                let _ = writeln!(
                    svg,
                    r#"<path d="{lines}" stroke="{fg}" stroke-opacity="{opacity}" stroke-width="1.2" stroke-linecap="square" fill="none"/>"#
                );
            }
            if !blocks.is_empty() {
                let _ = writeln!(
                    svg,
                    r#"<path d="{blocks}" fill="{fg}" fill-opacity="{opacity}"/>"#
                );
            }
            if text.trim().is_empty() {
                continue;
            }
            let mut attrs = format!(r#" fill="{fg}" fill-opacity="{opacity}""#);
            for (on, attr) in [
                (s.bold, r#" font-weight="bold""#),
                (s.italic, r#" font-style="italic""#),
                (s.underline, r#" text-decoration="underline""#),
            ] {
                if on {
                    attrs.push_str(attr);
                }
            }
            let _ = writeln!(
                svg,
                r#"<text x="{x:.1}" y="{:.1}" textLength="{len:.1}" lengthAdjust="spacingAndGlyphs"{attrs}>{}</text>"#,
                top + CELL_H * 0.76,
                escape(&text)
            );
        }
    }
    svg.push_str("</g>\n</svg>\n");
    svg
}

fn main() {
    let (mut cols, mut rows, mut title) = (120usize, 40usize, String::from("terminal"));
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next().unwrap_or_else(|| {
                eprintln!("ansi2svg: {arg} needs a value");
                std::process::exit(2)
            })
        };
        match arg.as_str() {
            "--cols" => cols = value().parse().expect("--cols N"),
            "--rows" => rows = value().parse().expect("--rows N"),
            "--title" => title = value(),
            _ => {
                eprintln!("usage: ansi2svg [--cols N] [--rows M] [--title T] < capture > out.svg");
                std::process::exit(2);
            }
        }
    }
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .expect("read the capture from stdin");
    print!("{}", render(&input, cols, rows, &title));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sgr_colours_and_attributes() {
        let mut s = Style::default();
        apply_sgr(&mut s, "1;36");
        assert_eq!((s.bold, s.fg), (true, Color::Idx(6)));
        apply_sgr(&mut s, "38;5;196;48;2;1;2;3");
        assert_eq!((s.fg, s.bg), (Color::Idx(196), Color::Rgb(1, 2, 3)));
        apply_sgr(&mut s, "2;7;94;101");
        assert!(s.dim && s.reverse && s.bold);
        assert_eq!((s.fg, s.bg), (Color::Idx(12), Color::Idx(9)));
        apply_sgr(&mut s, "22;27;39");
        assert!(!s.bold && !s.dim && !s.reverse);
        assert_eq!(s.fg, Color::Default);
        apply_sgr(&mut s, "");
        assert_eq!(s, Style::default(), "ESC[m resets");
        assert_eq!(css(Color::Idx(16 + 36 * 5), FG), "#ff0000");
        assert_eq!(css(Color::Idx(232), FG), "#080808");
    }

    #[test]
    fn runs_split_on_style_and_keep_columns() {
        let mut s = Style::default();
        let runs = parse_line("│ab\x1b[1;32mOK\x1b[0m 中x\x1b]8;;http://x\x1b\\y", &mut s);
        let cols: Vec<(usize, usize, &str)> = runs
            .iter()
            .map(|r| (r.col, r.width, r.text.as_str()))
            .collect();
        assert_eq!(
            cols,
            vec![
                (0, 3, "│ab"),
                (3, 2, "OK"),
                (5, 1, " "),
                (6, 2, "中"),
                (8, 2, "xy")
            ]
        );
        assert!(runs[1].style.bold && runs[1].style.fg == Color::Idx(2));
        assert_eq!(escape(r#"<a & "b">"#), "&lt;a &amp; &quot;b&quot;&gt;");
        assert_eq!(block_rect('▂'), Some((0.0, 0.75, 1.0, 0.25)));
        assert_eq!(block_rect('▏'), Some((0.0, 0.0, 0.125, 1.0)));
        assert!(box_path('┌', 0.0, 0.0).is_some() && box_path('x', 0.0, 0.0).is_none());
    }
}
