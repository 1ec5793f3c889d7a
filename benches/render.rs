//! Render cost of the realms screen: the whole console frame (header, table,
//! status and key lines) drawn into a ratatui `TestBackend` from synthetic
//! snapshots, no containerd, no cgroups.
//!
//! Figures for 1,000 rows at 120x40 (sorted by name, and by CPU, which is
//! what a busy operator looks at), plus 40 rows for comparison: the screen
//! builds only the rows that fit, so 1,000 rows should cost about what 40
//! cost plus the filter and sort of every row. p50/p99 from individually
//! timed frames, then criterion's own median.
//!
//!   cargo bench --bench render

mod common;

use common::{criterion_median, ms, percentiles};
use criterion::Criterion;
use kuke_tui::cgroup::{Limit, Usage};
use kuke_tui::ops::realms::{Counts, Observed, RealmSummary};
use kuke_tui::ops::usage::RealmRate;
use kuke_tui::ops::HostInfo;
use kuke_tui::tui::app::{App, Column, Options};
use kuke_tui::tui::snapshot::{Connection, Message, RealmRow, Snapshot};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::hint::black_box;
use std::time::{Duration, UNIX_EPOCH};

const MI: u64 = 1024 * 1024;
const WIDTH: u16 = 120;
const HEIGHT: u16 = 40;
/// Snapshots fed before drawing, so every sparkline has a history.
const TICKS: u64 = 12;

fn row(i: usize, tick: u64) -> RealmRow {
    let name = format!("realm-{i:04}");
    // A different, deterministic load per realm and tick.
    let cpu = ((i as u64 * 37 + tick * 11) % 100) as f64;
    let usage = Usage {
        cpu_usage_usec: Some(1_000_000 * (100 + tick)),
        memory_current: Some((64 + (i as u64 % 200)) * MI),
        memory_inactive_file: Some(8 * MI),
        memory_limit: Some(if i.is_multiple_of(3) {
            Limit::Value(512 * MI)
        } else {
            Limit::Unlimited
        }),
        pids_current: Some(2 + i as u64 % 7),
        pids_max: Some(Limit::Unlimited),
        io_read_bytes: Some(10 * MI),
        io_write_bytes: Some(2 * MI),
        pressure: None,
    };
    let summary = RealmSummary {
        name: name.clone(),
        state: "Ready".into(),
        valid: true,
        error: None,
        namespace: format!("kukeon-{name}"),
        cgroup_path: format!("/kukeon/{name}"),
        labels: Default::default(),
        created_at: Some("2023-11-09T10:00:00Z".into()),
        age_seconds: Some(86_400 + i as u64),
        observed: Observed {
            namespace_exists: true,
            cgroup_exists: true,
        },
        counts: Counts {
            tasks: 2,
            running_tasks: 2,
            containers: 2,
            images: 1,
            spaces: 0,
            registry_credentials: 0,
        },
        usage: usage.clone(),
    };
    let rate = RealmRate {
        realm: name,
        cgroup_path: summary.cgroup_path.clone(),
        cgroup_exists: true,
        cpu_percent_of_core: Some(cpu),
        cpu_percent_of_host: Some(cpu / 2.0),
        memory_bytes: usage.working_set(),
        memory_current_bytes: usage.memory_current,
        memory_limit: usage.memory_limit,
        pids_current: usage.pids_current,
        pids_max: usage.pids_max,
        io_read_bytes_per_sec: Some(0.0),
        io_write_bytes_per_sec: Some(512.0),
        pressure: None,
    };
    RealmRow {
        summary,
        rate: Some(rate),
    }
}

fn app(rows: usize, sort: Column) -> App {
    let mut app = App::new(
        Options {
            no_color: false,
            ..Options::default()
        },
        Duration::from_secs(1),
    );
    let at = |tick: u64| UNIX_EPOCH + Duration::from_secs(1_700_000_000 + tick);
    for tick in 0..TICKS {
        app.on_message(Message::Snapshot(Box::new(Snapshot {
            host: HostInfo {
                run_path: "/opt/kukeon".into(),
                containerd_socket: "/run/containerd/containerd.sock".into(),
                containerd_version: Some("1.6.20".into()),
                cgroup: "v2 at /sys/fs/cgroup".into(),
                daemon: None,
            },
            connection: Connection::Connected,
            realms: (0..rows).map(|i| row(i, tick)).collect(),
            containerd_at: Some(at(tick)),
            taken_at: at(tick),
            error: None,
        })));
    }
    app.sort = sort;
    app.sort_descending = sort == Column::Cpu;
    // Somewhere in the middle, so the window is neither the first nor the last.
    app.selected = rows / 2;
    app
}

fn draw(terminal: &mut Terminal<TestBackend>, app: &App) {
    terminal
        .draw(|f| kuke_tui::tui::ui::draw(f, app))
        .expect("draw");
}

fn main() {
    let cases = [
        ("1000_rows_by_name", 1000, Column::Name),
        ("1000_rows_by_cpu", 1000, Column::Cpu),
        ("40_rows_by_name", 40, Column::Name),
    ];
    let mut p50s = Vec::new();
    for (name, rows, sort) in cases {
        let app = app(rows, sort);
        let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("terminal");
        draw(&mut terminal, &app);
        // Only a screenful is on screen: the middle row and its neighbours.
        let text = terminal.backend().to_string();
        let drawn = text.lines().filter(|l| l.contains("realm-")).count();
        assert!(
            drawn < HEIGHT as usize,
            "{drawn} rows drawn on {HEIGHT} lines"
        );
        let common::Figures { p50, p99, .. } = percentiles(20, 2000, Duration::MAX, || {
            draw(&mut terminal, black_box(&app))
        });
        eprintln!(
            "render {name} ({WIDTH}x{HEIGHT}, {drawn} rows on screen): p50 {} p99 {} over 2000 frames",
            ms(p50),
            ms(p99)
        );
        p50s.push((name, p50));
    }
    eprintln!(
        "render: 1000 rows cost {:.2}x what 40 rows cost (p50, by name)",
        p50s[0].1.as_secs_f64() / p50s[2].1.as_secs_f64()
    );

    let mut c = Criterion::default()
        .configure_from_args()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let mut group = c.benchmark_group("render");
    for (name, rows, sort) in cases {
        let app = app(rows, sort);
        let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("terminal");
        group.bench_function(name, |b| b.iter(|| draw(&mut terminal, black_box(&app))));
    }
    group.finish();
    c.final_summary();
    for (name, _, _) in cases {
        match criterion_median("render", name) {
            Some(m) => eprintln!("render {name}: criterion median {}", ms(m)),
            None => eprintln!("render {name}: criterion median not found (estimates.json)"),
        }
    }
}
