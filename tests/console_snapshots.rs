//! Snapshots of every screen and dialog of the console, drawn on a
//! `TestBackend` at 80x24 and 120x40 from fixed data: no containerd, no
//! cgroups, no clock. The app is driven only through its public API
//! (`on_message`, `on_event`), the way the event loop drives it.
//!
//! Update after an intended change with
//! `INSTA_UPDATE=always cargo test --test console_snapshots`
//! and review the `.snap` diffs in tests/snapshots/.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use kuke_tui::cgroup::{Limit, Usage};
use kuke_tui::ops::create::{CreateReport, Outcome, Step};
use kuke_tui::ops::credentials::CredentialView;
use kuke_tui::ops::delete::{DeletePlan, DeleteStep, PlannedSnapshot, PlannedTask};
use kuke_tui::ops::realms::{Counts, Observed, RealmSummary};
use kuke_tui::ops::usage::RealmRate;
use kuke_tui::ops::workloads::{ContainerView, ImageView};
use kuke_tui::ops::HostInfo;
use kuke_tui::tui::app::{App, Options, Popup, Screen};
use kuke_tui::tui::snapshot::{Connection, DetailData, Message, RealmRow, Snapshot};
use ratatui::backend::TestBackend;
use ratatui::style::Modifier;
use ratatui::Terminal;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];
const KI: u64 = 1024;
const MI: u64 = 1024 * KI;
const GI: u64 = 1024 * MI;
/// Typed into the credential form; must never appear on screen.
const SECRET: &str = "hunter2";

// ---------------------------------------------------------------- fixtures

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn host() -> HostInfo {
    HostInfo {
        run_path: "/opt/kukeon".into(),
        containerd_socket: "/run/containerd/containerd.sock".into(),
        containerd_version: Some("1.6.20".into()),
        cgroup: "v2 at /sys/fs/cgroup".into(),
        daemon: None,
    }
}

/// One realm of the fixture; usage figures are per tick so sparklines move.
struct Fixture {
    name: &'static str,
    state: &'static str,
    valid: bool,
    error: Option<&'static str>,
    labels: &'static [(&'static str, &'static str)],
    age_seconds: Option<u64>,
    observed: (bool, bool),
    /// running, total, containers, images, spaces, credentials
    counts: (usize, usize, usize, usize, usize, usize),
    /// Percent of one core at the top of the wave; None: no rate at all.
    cpu_peak: Option<f64>,
    /// memory.current, inactive_file; None: unreadable.
    memory: Option<(u64, u64)>,
    limit: Option<Limit>,
    pids: Option<u64>,
}

const FIXTURES: &[Fixture] = &[
    Fixture {
        name: "web",
        state: "Ready",
        valid: true,
        error: None,
        labels: &[("team", "core"), ("tier", "frontend")],
        age_seconds: Some(5 * 86_400 + 3_600),
        observed: (true, true),
        counts: (3, 4, 4, 2, 1, 2),
        cpu_peak: Some(62.0),
        memory: Some((212 * MI, 32 * MI)),
        limit: Some(Limit::Value(512 * MI)),
        pids: Some(31),
    },
    Fixture {
        name: "analytics-batch-workers",
        state: "Ready",
        valid: true,
        error: None,
        labels: &[("team", "data")],
        age_seconds: Some(12 * 86_400),
        observed: (true, true),
        counts: (6, 6, 6, 3, 2, 0),
        cpu_peak: Some(180.0),
        memory: Some((GI + GI / 2, 200 * MI)),
        limit: Some(Limit::Value(4 * GI)),
        pids: Some(57),
    },
    Fixture {
        name: "broken",
        state: "Invalid",
        valid: false,
        error: Some(
            "/opt/kukeon/broken/realm.yaml line 4: spec.namespace: invalid type: sequence, expected a string",
        ),
        labels: &[],
        age_seconds: None,
        observed: (false, false),
        counts: (0, 0, 0, 0, 0, 0),
        cpu_peak: None,
        memory: None,
        limit: None,
        pids: None,
    },
    Fixture {
        name: "cache",
        state: "Degraded",
        valid: true,
        error: None,
        labels: &[],
        age_seconds: Some(3 * 3_600 + 120),
        observed: (false, true),
        counts: (0, 0, 0, 0, 0, 0),
        cpu_peak: Some(0.4),
        memory: Some((8 * MI, 0)),
        limit: Some(Limit::Value(256 * MI)),
        pids: Some(0),
    },
    Fixture {
        name: "db",
        state: "Ready",
        valid: true,
        error: None,
        labels: &[("team", "core"), ("tier", "db")],
        age_seconds: Some(40 * 86_400),
        observed: (true, true),
        counts: (1, 1, 1, 1, 0, 1),
        cpu_peak: Some(35.0),
        memory: Some((700 * MI, 0)),
        limit: Some(Limit::Unlimited),
        pids: Some(23),
    },
    Fixture {
        name: "edge-west",
        state: "Creating",
        valid: true,
        error: None,
        labels: &[],
        age_seconds: Some(45),
        observed: (true, false),
        counts: (0, 0, 0, 0, 0, 0),
        cpu_peak: None,
        memory: None,
        limit: None,
        pids: None,
    },
    Fixture {
        name: "kukeon-system",
        state: "Ready",
        valid: true,
        error: None,
        labels: &[("kukeon.io/system", "true")],
        age_seconds: Some(90 * 86_400),
        observed: (true, true),
        counts: (2, 2, 2, 2, 0, 0),
        cpu_peak: Some(2.5),
        memory: Some((96 * MI, 4 * MI)),
        limit: None,
        pids: Some(14),
    },
];

/// A fixed wave of CPU load, as a share of each realm's peak.
const WAVE: [f64; 12] = [0.2, 0.5, 0.9, 0.6, 0.3, 1.0, 0.8, 0.4, 0.7, 0.1, 0.5, 0.75];
/// Ticks fed before any screenshot: the first has no rates yet.
const TICKS: usize = 13;

fn summary(f: &Fixture, tick: usize) -> RealmSummary {
    let usage = match f.memory {
        None => Usage::default(),
        Some((current, inactive)) => Usage {
            cpu_usage_usec: Some(1_000_000 * (100 + tick as u64)),
            // Grows a little each tick so the memory chart has a shape.
            memory_current: Some(current + (tick as u64 % 5) * 3 * MI),
            memory_inactive_file: Some(inactive),
            memory_limit: f.limit,
            pids_current: f.pids,
            pids_max: Some(Limit::Unlimited),
            io_read_bytes: Some(10 * MI),
            io_write_bytes: Some(2 * MI),
            pressure: None,
        },
    };
    let (running, tasks, containers, images, spaces, creds) = f.counts;
    RealmSummary {
        name: f.name.into(),
        state: f.state.into(),
        valid: f.valid,
        error: f.error.map(str::to_string),
        namespace: format!("kukeon-{}", f.name),
        cgroup_path: format!("/kukeon/{}", f.name),
        labels: f
            .labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        created_at: f.age_seconds.map(|_| "2023-11-09T10:00:00Z".to_string()),
        age_seconds: f.age_seconds,
        observed: Observed {
            namespace_exists: f.observed.0,
            cgroup_exists: f.observed.1,
        },
        counts: Counts {
            tasks,
            running_tasks: running,
            containers,
            images,
            spaces,
            registry_credentials: creds,
        },
        usage,
    }
}

fn row(f: &Fixture, tick: usize) -> RealmRow {
    let summary = summary(f, tick);
    // No rate before the second reading, nor for realms without a cgroup.
    let rate = (tick > 0 && f.memory.is_some()).then(|| {
        let cpu = f.cpu_peak.map(|p| p * WAVE[tick % WAVE.len()]);
        RealmRate {
            realm: f.name.into(),
            cgroup_path: summary.cgroup_path.clone(),
            cgroup_exists: f.observed.1,
            cpu_percent_of_core: cpu,
            cpu_percent_of_host: cpu.map(|c| c / 8.0),
            memory_bytes: summary.usage.working_set(),
            memory_current_bytes: summary.usage.memory_current,
            memory_limit: f.limit,
            pids_current: f.pids,
            pids_max: Some(Limit::Unlimited),
            io_read_bytes_per_sec: Some(0.0),
            io_write_bytes_per_sec: Some(512.0),
            pressure: None,
        }
    });
    RealmRow { summary, rate }
}

fn snapshot(tick: usize) -> Snapshot {
    Snapshot {
        host: host(),
        connection: Connection::Connected,
        realms: FIXTURES.iter().map(|f| row(f, tick)).collect(),
        containerd_at: Some(at(1_700_000_000 + tick as u64)),
        taken_at: at(1_700_000_000 + tick as u64),
        error: None,
    }
}

fn options() -> Options {
    Options {
        no_color: true,
        ..Options::default()
    }
}

/// An app that has seen `TICKS` snapshots of the fixture.
fn home_with(options: Options) -> App {
    let mut app = App::new(options, Duration::from_secs(1));
    for tick in 0..TICKS {
        app.on_message(Message::Snapshot(Box::new(snapshot(tick))));
    }
    app
}

fn home() -> App {
    home_with(options())
}

fn detail_data(realm: &str) -> DetailData {
    let task = |id: &str, status: &str, pid: Option<u32>, cpu: u64, mem: u64, place: [&str; 3]| {
        ContainerView {
            id: id.into(),
            image: "registry.example.com/core/web:1.4.2".into(),
            status: status.into(),
            pid,
            exit_code: None,
            space: Some(place[0].into()),
            stack: Some(place[1].into()),
            cell: Some(place[2].into()),
            container_type: Some("container".into()),
            managed: true,
            cgroup_path: Some(format!("/kukeon/{realm}/{}", place.join("/"))),
            usage: Usage {
                cpu_usage_usec: Some(cpu),
                memory_current: Some(mem),
                memory_inactive_file: Some(0),
                memory_limit: Some(Limit::Value(128 * MI)),
                pids_current: Some(4),
                ..Usage::default()
            },
        }
    };
    let mut tasks = vec![
        task(
            "web-frontend-1",
            "RUNNING",
            Some(4121),
            9_500_000,
            64 * MI,
            ["default", "frontend", "nginx"],
        ),
        task(
            "web-frontend-2",
            "RUNNING",
            Some(4190),
            243_000_000,
            71 * MI,
            ["default", "frontend", "nginx"],
        ),
        task(
            "web-api",
            "RUNNING",
            Some(5022),
            7_500_000_000,
            40 * MI,
            ["default", "api", "app"],
        ),
        task(
            "web-migrate",
            "STOPPED",
            None,
            1_200_000,
            0,
            ["default", "api", "migrate"],
        ),
    ];
    tasks[3].exit_code = Some(0);
    tasks[3].usage = Usage::default();
    tasks.push(ContainerView {
        id: "debug-shell".into(),
        image: "docker.io/library/busybox:1.36".into(),
        status: "NoTask".into(),
        pid: None,
        exit_code: None,
        space: None,
        stack: None,
        cell: None,
        container_type: None,
        managed: false,
        cgroup_path: None,
        usage: Usage::default(),
    });
    DetailData {
        realm: realm.into(),
        tasks,
        images: vec![
            ImageView {
                reference: "registry.example.com/core/web:1.4.2".into(),
                digest: "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
                    .into(),
                size_bytes: Some(48_512_000),
                created_at: Some("2023-11-01T08:30:00Z".into()),
            },
            ImageView {
                reference: "docker.io/library/busybox:1.36".into(),
                digest: "sha256:3f39c1a8f0e3c5b2e0b1f5a0d5c1a9b8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2"
                    .into(),
                size_bytes: None,
                created_at: None,
            },
        ],
        credentials: vec![
            CredentialView {
                server: "registry.example.com".into(),
                username: "robot$ci".into(),
                password: "********".into(),
            },
            CredentialView {
                server: "ghcr.io".into(),
                username: "octo-bot".into(),
                password: "********".into(),
            },
        ],
        yaml: format!(
            "apiVersion: kukeon.io/v1\n\
             kind: Realm\n\
             metadata:\n\
             \x20 name: {realm}\n\
             \x20 labels:\n\
             \x20   team: core\n\
             \x20   tier: frontend\n\
             spec:\n\
             \x20 namespace: kukeon-{realm}\n\
             \x20 registryCredentials:\n\
             \x20 - server: registry.example.com\n\
             \x20   username: robot$ci\n\
             \x20   password: '********'\n\
             \x20 - server: ghcr.io\n\
             \x20   username: octo-bot\n\
             \x20   password: '********'\n\
             status:\n\
             \x20 state: Ready\n\
             \x20 cgroupPath: /kukeon/{realm}\n\
             \x20 createdAt: '2023-11-09T10:00:00Z'\n"
        ),
        error: None,
    }
}

fn cascade_plan(realm: &str) -> DeletePlan {
    DeletePlan {
        realm: realm.into(),
        namespace: format!("kukeon-{realm}"),
        cgroup_path: format!("/kukeon/{realm}"),
        record_present: true,
        system_realm: false,
        spaces: vec!["default".into()],
        namespace_exists: true,
        tasks: ["web-frontend-1", "web-frontend-2", "web-api"]
            .iter()
            .zip([4121, 4190, 5022])
            .map(|(id, pid)| PlannedTask {
                id: id.to_string(),
                pid,
                status: "RUNNING".into(),
            })
            .collect(),
        containers: ["web-frontend-1", "web-frontend-2", "web-api", "web-migrate"]
            .map(String::from)
            .to_vec(),
        snapshots: (1..=4)
            .map(|i| PlannedSnapshot {
                snapshotter: "overlayfs".into(),
                key: format!("web-{i}"),
            })
            .collect(),
        images: vec![
            "registry.example.com/core/web:1.4.2".into(),
            "docker.io/library/busybox:1.36".into(),
        ],
        leases: vec!["web-lease".into()],
        content: (0..9).map(|i| format!("sha256:{i:064x}")).collect(),
        cgroup_dirs: vec![
            PathBuf::from(format!("/sys/fs/cgroup/kukeon/{realm}/default")),
            PathBuf::from(format!("/sys/fs/cgroup/kukeon/{realm}")),
        ],
        files: vec![
            PathBuf::from(format!("/opt/kukeon/{realm}/default/space.yaml")),
            PathBuf::from(format!("/opt/kukeon/{realm}/default")),
            PathBuf::from(format!("/opt/kukeon/{realm}/realm.yaml")),
            PathBuf::from(format!("/opt/kukeon/{realm}")),
        ],
        companion: None,
        networks: Vec::new(),
    }
}

fn empty_plan(realm: &str) -> DeletePlan {
    DeletePlan {
        spaces: Vec::new(),
        tasks: Vec::new(),
        containers: Vec::new(),
        snapshots: Vec::new(),
        images: Vec::new(),
        leases: Vec::new(),
        content: Vec::new(),
        cgroup_dirs: vec![PathBuf::from(format!("/sys/fs/cgroup/kukeon/{realm}"))],
        files: vec![
            PathBuf::from(format!("/opt/kukeon/{realm}/realm.yaml")),
            PathBuf::from(format!("/opt/kukeon/{realm}")),
        ],
        ..cascade_plan(realm)
    }
}

// ---------------------------------------------------------------- driving

fn press(app: &mut App, code: KeyCode) {
    app.on_event(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn typ(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}

/// Moves the realms selection onto `name` with j/k only.
fn select(app: &mut App, name: &str) {
    press(app, KeyCode::Char('g'));
    for _ in 0..app.visible_realms().len() {
        if app.selected_realm().map(|r| r.summary.name.as_str()) == Some(name) {
            return;
        }
        press(app, KeyCode::Char('j'));
    }
    assert_eq!(
        app.selected_realm().map(|r| r.summary.name.as_str()),
        Some(name),
        "realm {name} is not listed"
    );
}

/// The detail screen of `web` with its data, on the tab of `tab_key`.
fn detail(options: Options, tab_key: char) -> App {
    let mut app = home_with(options);
    select(&mut app, "web");
    press(&mut app, KeyCode::Enter);
    app.on_message(Message::Detail(Box::new(detail_data("web"))));
    press(&mut app, KeyCode::Char(tab_key));
    app
}

fn render(app: &App, width: u16, height: u16) -> TestBackend {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| kuke_tui::tui::ui::draw(f, app)).unwrap();
    terminal.backend().clone()
}

/// Builds the app afresh for each size (the draw path remembers the table
/// offset), renders it and compares it with `<name>_<w>x<h>`.
fn check(name: &str, build: impl Fn() -> App) {
    for (w, h) in SIZES {
        let app = build();
        let backend = render(&app, w, h);
        let text = backend.to_string();
        assert!(
            !text.contains(SECRET),
            "{name} at {w}x{h} shows the typed password"
        );
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), backend);
    }
}

// ---------------------------------------------------------------- realms

#[test]
fn realms_home() {
    check("realms", home);
}

#[test]
fn realms_sorted_by_cpu() {
    check("realms_sort_cpu", || {
        let mut app = home();
        press(&mut app, KeyCode::Char('4'));
        assert!(app.sort_descending, "CPU sorts busiest first");
        app
    });
}

#[test]
fn realms_filtered() {
    check("realms_filter", || {
        let mut app = home();
        press(&mut app, KeyCode::Char('/'));
        typ(&mut app, "we");
        press(&mut app, KeyCode::Enter);
        assert_eq!(
            app.visible_realms()
                .iter()
                .map(|r| r.summary.name.as_str())
                .collect::<Vec<_>>(),
            ["edge-west", "web"]
        );
        app
    });
}

#[test]
fn realms_filter_while_typing() {
    check("realms_filter_typing", || {
        let mut app = home();
        press(&mut app, KeyCode::Char('/'));
        typ(&mut app, "ca");
        app
    });
}

#[test]
fn realms_filter_matches_nothing() {
    check("realms_filter_none", || {
        let mut app = home();
        press(&mut app, KeyCode::Char('/'));
        typ(&mut app, "zzz");
        press(&mut app, KeyCode::Enter);
        assert!(app.visible_realms().is_empty());
        app
    });
}

#[test]
fn realms_empty_host() {
    check("realms_empty", || {
        let mut app = App::new(options(), Duration::from_secs(1));
        app.on_message(Message::Snapshot(Box::new(Snapshot {
            realms: Vec::new(),
            ..snapshot(0)
        })));
        app
    });
}

#[test]
fn realms_before_first_snapshot() {
    check("realms_collecting", || {
        App::new(options(), Duration::from_secs(1))
    });
}

#[test]
fn realms_disconnected() {
    check("realms_disconnected", || {
        let mut app = home();
        let error = "cannot reach containerd at /run/containerd/containerd.sock: No such file or directory; start containerd or pass --containerd-socket / KUKEON_CONTAINERD_SOCKET";
        app.on_message(Message::Snapshot(Box::new(Snapshot {
            host: HostInfo {
                containerd_version: None,
                ..host()
            },
            connection: Connection::Disconnected {
                error: error.into(),
                retry_in_secs: 4,
            },
            containerd_at: None,
            // The collector repeats the connection error as the last error.
            error: Some(error.into()),
            ..snapshot(TICKS)
        })));
        app
    });
}

#[test]
fn realms_invalid_realm_selected() {
    check("realms_invalid_selected", || {
        let mut app = home();
        select(&mut app, "broken");
        app
    });
}

#[test]
fn realms_readonly() {
    check("realms_readonly", || {
        home_with(Options {
            readonly: true,
            ..options()
        })
    });
}

#[test]
fn realms_readonly_refuses_create() {
    check("realms_readonly_create_refused", || {
        let mut app = home_with(Options {
            readonly: true,
            ..options()
        });
        press(&mut app, KeyCode::Char('c'));
        assert!(app.popup.is_none());
        app
    });
}

#[test]
fn thousand_realms_draw_only_visible_rows() {
    let mut app = App::new(options(), Duration::from_secs(1));
    let template = row(&FIXTURES[0], 1);
    let realms: Vec<RealmRow> = (0..1000)
        .map(|i| {
            let mut r = template.clone();
            r.summary.name = format!("realm-{i:04}");
            r.summary.namespace = format!("kukeon-realm-{i:04}");
            r
        })
        .collect();
    app.on_message(Message::Snapshot(Box::new(Snapshot {
        realms,
        ..snapshot(1)
    })));
    let (w, h) = (80, 24);
    let first = render(&app, w, h).to_string();
    assert!(first.contains("realm-0000"));
    assert!(!first.contains("realm-0999"));

    press(&mut app, KeyCode::Char('G'));
    assert_eq!(app.selected, 999);
    let backend = render(&app, w, h);
    let text = backend.to_string();
    assert!(text.contains("realm-0999"), "{text}");
    assert!(!text.contains("realm-0000"), "{text}");
    // Body = 24 - header 2 - status 1 - keys 1 = 20 lines, one the header.
    let drawn: Vec<&str> = text.lines().filter(|l| l.contains("realm-0")).collect();
    assert_eq!(drawn.len(), 19, "{text}");
    assert!(drawn[0].contains("realm-0981"), "{text}");
    // The selected (last) row is the one drawn reversed.
    let buffer = backend.buffer();
    let y = (0..h)
        .find(|y| {
            (0..w)
                .map(|x| buffer[(x, *y)].symbol())
                .collect::<String>()
                .contains("realm-0999")
        })
        .expect("the selected row is drawn");
    assert!(buffer[(0, y)].modifier.contains(Modifier::REVERSED));
    assert_eq!(y, h - 3, "last row of the body");

    // And back: g shows the first page again.
    press(&mut app, KeyCode::Char('g'));
    let text = render(&app, w, h).to_string();
    assert!(text.contains("realm-0000") && !text.contains("realm-0999"));
}

#[test]
fn colour_changes_no_text() {
    for (w, h) in SIZES {
        let plain = render(&home(), w, h).to_string();
        let coloured = render(
            &home_with(Options {
                no_color: false,
                ..options()
            }),
            w,
            h,
        )
        .to_string();
        assert_eq!(plain, coloured);
    }
}

// ---------------------------------------------------------------- help

#[test]
fn help_on_realms() {
    check("help_realms", || {
        let mut app = home();
        press(&mut app, KeyCode::Char('?'));
        assert!(matches!(app.popup, Some(Popup::Help)));
        app
    });
}

#[test]
fn help_on_realms_readonly() {
    check("help_realms_readonly", || {
        let mut app = home_with(Options {
            readonly: true,
            ..options()
        });
        press(&mut app, KeyCode::Char('?'));
        app
    });
}

#[test]
fn help_on_detail() {
    check("help_detail", || {
        let mut app = detail(options(), '1');
        press(&mut app, KeyCode::Char('?'));
        assert!(matches!(app.popup, Some(Popup::Help)));
        app
    });
}

// ---------------------------------------------------------------- detail

#[test]
fn detail_loading() {
    check("detail_loading", || {
        let mut app = home();
        select(&mut app, "web");
        press(&mut app, KeyCode::Enter);
        app
    });
}

#[test]
fn detail_tasks() {
    check("detail_tasks", || detail(options(), '1'));
}

#[test]
fn detail_images() {
    check("detail_images", || detail(options(), '2'));
}

#[test]
fn detail_credentials() {
    check("detail_credentials", || detail(options(), '3'));
}

#[test]
fn detail_yaml() {
    check("detail_yaml", || detail(options(), '4'));
}

#[test]
fn detail_with_error() {
    check("detail_error", || {
        let mut app = detail(options(), '1');
        app.on_message(Message::Detail(Box::new(DetailData {
            error: Some("list tasks in kukeon-web: containerd: deadline exceeded".into()),
            ..detail_data("web")
        })));
        app
    });
}

#[test]
fn detail_of_empty_realm() {
    check("detail_empty", || {
        let mut app = home();
        select(&mut app, "cache");
        press(&mut app, KeyCode::Enter);
        app.on_message(Message::Detail(Box::new(DetailData {
            realm: "cache".into(),
            yaml: "kind: Realm\n".into(),
            ..DetailData::default()
        })));
        press(&mut app, KeyCode::Char('3'));
        app
    });
}

#[test]
fn detail_readonly_credentials() {
    check("detail_credentials_readonly", || {
        detail(
            Options {
                readonly: true,
                ..options()
            },
            '3',
        )
    });
}

// ---------------------------------------------------------------- create

fn create_form() -> App {
    let mut app = home();
    press(&mut app, KeyCode::Char('c'));
    assert!(matches!(app.popup, Some(Popup::Create(_))));
    app
}

fn create_filled() -> App {
    let mut app = create_form();
    typ(&mut app, "web-2");
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    typ(&mut app, "team=core tier=web");
    app
}

fn create_running() -> App {
    let mut app = create_filled();
    press(&mut app, KeyCode::Enter);
    app.on_message(Message::CreateStep(Step {
        step: "record",
        outcome: Outcome::Created,
        detail: "/opt/kukeon/web-2/realm.yaml".into(),
    }));
    app.on_message(Message::CreateStep(Step {
        step: "namespace",
        outcome: Outcome::Created,
        detail: "kukeon-web-2".into(),
    }));
    app
}

#[test]
fn create_empty() {
    check("create_empty", create_form);
}

#[test]
fn create_invalid_name() {
    check("create_invalid_name", || {
        let mut app = create_form();
        typ(&mut app, "Web_1");
        app
    });
}

#[test]
fn create_valid_with_labels() {
    check("create_filled", create_filled);
}

#[test]
fn create_bad_label() {
    check("create_bad_label", || {
        let mut app = create_form();
        typ(&mut app, "web-2");
        press(&mut app, KeyCode::Up);
        typ(&mut app, "team");
        app
    });
}

#[test]
fn create_running_steps() {
    check("create_running", create_running);
}

#[test]
fn create_done_ok() {
    check("create_done", || {
        let mut app = create_running();
        app.on_message(Message::CreateStep(Step {
            step: "cgroup",
            outcome: Outcome::Created,
            detail: "/sys/fs/cgroup/kukeon/web-2".into(),
        }));
        app.on_message(Message::CreateStep(Step {
            step: "ready",
            outcome: Outcome::Updated,
            detail: "state Ready".into(),
        }));
        app.on_message(Message::CreateDone(Ok(CreateReport {
            realm: "web-2".into(),
            namespace: "kukeon-web-2".into(),
            cgroup_path: "/kukeon/web-2".into(),
            steps: Vec::new(),
        })));
        app
    });
}

#[test]
fn create_done_failed() {
    check("create_failed", || {
        let mut app = create_running();
        app.on_message(Message::CreateDone(Err(
            "create realm \"web-2\" failed at step cgroup: cannot create /sys/fs/cgroup/kukeon/web-2: Permission denied (os error 13); rolled back: namespace, record".into(),
        )));
        app
    });
}

// ---------------------------------------------------------------- credentials

fn credential_add() -> App {
    let mut app = detail(options(), '3');
    press(&mut app, KeyCode::Char('a'));
    assert!(matches!(app.popup, Some(Popup::Credential(_))));
    typ(&mut app, "quay.io");
    press(&mut app, KeyCode::Tab);
    typ(&mut app, "deploy");
    press(&mut app, KeyCode::Tab);
    typ(&mut app, SECRET);
    app
}

#[test]
fn credential_add_form_masks_the_password() {
    // `check` asserts the secret is on no rendered screen.
    check("credential_add", credential_add);
    let text = render(&credential_add(), 80, 24).to_string();
    assert!(text.contains("•••••••"), "{text}");
}

#[test]
fn credential_add_saving() {
    check("credential_add_saving", || {
        let mut app = credential_add();
        press(&mut app, KeyCode::Enter);
        app
    });
}

#[test]
fn credential_add_error() {
    check("credential_add_error", || {
        let mut app = detail(options(), '3');
        press(&mut app, KeyCode::Char('a'));
        typ(&mut app, "bad host");
        press(&mut app, KeyCode::Enter);
        app
    });
}

#[test]
fn credential_edit() {
    check("credential_edit", || {
        let mut app = detail(options(), '3');
        press(&mut app, KeyCode::Char('j'));
        press(&mut app, KeyCode::Char('e'));
        typ(&mut app, SECRET);
        assert!(matches!(app.popup, Some(Popup::Credential(_))));
        app
    });
}

#[test]
fn credential_delete_confirm() {
    check("credential_delete", || {
        let mut app = detail(options(), '3');
        press(&mut app, KeyCode::Char('x'));
        assert!(matches!(
            app.popup,
            Some(Popup::ConfirmCredentialDelete { .. })
        ));
        app
    });
}

// ---------------------------------------------------------------- delete

fn delete_of(realm: &str) -> App {
    let mut app = home();
    select(&mut app, realm);
    press(&mut app, KeyCode::Char('d'));
    assert!(matches!(app.popup, Some(Popup::Delete(_))));
    app
}

fn delete_cascade_running() -> App {
    let mut app = delete_of("web");
    app.on_message(Message::Plan(Ok(Box::new(cascade_plan("web")))));
    typ(&mut app, "web");
    press(&mut app, KeyCode::Enter);
    for (step, removed, detail) in [
        ("tasks", 3, "SIGTERM; all exited within the grace period"),
        ("containers", 4, ""),
        ("snapshots", 4, "overlayfs"),
    ] {
        app.on_message(Message::DeleteStep(DeleteStep {
            step,
            removed,
            detail: detail.into(),
        }));
    }
    app
}

#[test]
fn delete_planning() {
    check("delete_planning", || delete_of("web"));
}

#[test]
fn delete_empty_realm() {
    check("delete_empty", || {
        let mut app = delete_of("edge-west");
        app.on_message(Message::Plan(Ok(Box::new(empty_plan("edge-west")))));
        app
    });
}

#[test]
fn delete_cascade_partially_typed() {
    check("delete_cascade", || {
        let mut app = delete_of("web");
        app.on_message(Message::Plan(Ok(Box::new(cascade_plan("web")))));
        typ(&mut app, "we");
        app
    });
}

#[test]
fn delete_cascade_from_detail() {
    check("delete_cascade_detail", || {
        let mut app = detail(options(), '1');
        press(&mut app, KeyCode::Char('d'));
        app.on_message(Message::Plan(Ok(Box::new(cascade_plan("web")))));
        app
    });
}

#[test]
fn delete_running() {
    check("delete_running", delete_cascade_running);
}

#[test]
fn delete_failed() {
    check("delete_failed", || {
        let mut app = delete_cascade_running();
        app.on_message(Message::DeleteDone(Err(
            "delete realm \"web\" failed at step cgroup: cannot remove /sys/fs/cgroup/kukeon/web: Device or resource busy (os error 16)".into(),
        )));
        app
    });
}

#[test]
fn delete_plan_failed() {
    check("delete_plan_failed", || {
        let mut app = delete_of("web");
        app.on_message(Message::Plan(Err(
            "containerd is not connected: cannot reach containerd at /run/containerd/containerd.sock".into(),
        )));
        app
    });
}

#[test]
fn delete_done() {
    check("delete_done", || {
        let mut app = delete_cascade_running();
        for (step, removed, detail) in [
            ("images", 2, ""),
            ("leases", 1, ""),
            ("content", 9, ""),
            ("namespace", 1, "kukeon-web"),
            ("cgroup", 2, "/kukeon/web"),
            ("files", 4, "/opt/kukeon/web"),
        ] {
            app.on_message(Message::DeleteStep(DeleteStep {
                step,
                removed,
                detail: detail.into(),
            }));
        }
        app.on_message(Message::DeleteDone(Ok(())));
        app
    });
}

#[test]
fn delete_closed_after_done() {
    check("delete_closed", || {
        let mut app = home();
        select(&mut app, "edge-west");
        press(&mut app, KeyCode::Char('d'));
        app.on_message(Message::Plan(Ok(Box::new(empty_plan("edge-west")))));
        press(&mut app, KeyCode::Char('y'));
        app.on_message(Message::DeleteDone(Ok(())));
        press(&mut app, KeyCode::Enter);
        assert!(app.popup.is_none());
        assert_eq!(app.screen, Screen::Realms);
        // The collector's next snapshot no longer has it.
        let mut next = snapshot(TICKS);
        next.realms.retain(|r| r.summary.name != "edge-west");
        app.on_message(Message::Snapshot(Box::new(next)));
        app
    });
}

#[test]
fn delete_system_realm_refused() {
    check("delete_system_refused", || {
        let mut app = delete_of("kukeon-system");
        app.on_message(Message::Plan(Ok(Box::new(DeletePlan {
            system_realm: true,
            ..cascade_plan("kukeon-system")
        }))));
        app
    });
}

// ---------------------------------------------------------------- cursor

/// Where `needle` starts on screen, in cells.
fn find(backend: &TestBackend, needle: &str) -> Option<(u16, u16)> {
    let buffer = backend.buffer();
    let area = buffer.area;
    for y in 0..area.height {
        let mut line = String::new();
        let mut starts = Vec::new();
        for x in 0..area.width {
            starts.push((line.len(), x));
            line.push_str(buffer[(x, y)].symbol());
        }
        if let Some(at) = line.find(needle) {
            let x = starts
                .iter()
                .find(|(offset, _)| *offset == at)
                .map(|(_, x)| *x)?;
            return Some((x, y));
        }
    }
    None
}

/// Renders and returns where the terminal cursor was left ((0, 0): never placed).
fn render_cursor(app: &App, width: u16, height: u16) -> (TestBackend, (u16, u16)) {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| kuke_tui::tui::ui::draw(f, app)).unwrap();
    let pos = terminal.get_cursor_position().unwrap();
    (terminal.backend().clone(), (pos.x, pos.y))
}

/// The cursor is after the `typed` chars of the field labelled `label`.
fn assert_cursor_in_field(app: &App, label: &str, typed: usize) {
    for (w, h) in SIZES {
        let (backend, cursor) = render_cursor(app, w, h);
        let (x, y) = find(&backend, &format!("{label} ["))
            .unwrap_or_else(|| panic!("no {label} field at {w}x{h}:\n{backend}"));
        let expected = (x + label.chars().count() as u16 + 2 + typed as u16, y);
        assert_eq!(cursor, expected, "cursor of {label} at {w}x{h}:\n{backend}");
    }
}

#[test]
fn cursor_follows_the_focused_field() {
    let mut app = create_form();
    typ(&mut app, "web-2");
    assert_cursor_in_field(&app, "name", 5);
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    typ(&mut app, "team=core");
    assert_cursor_in_field(&app, "labels", 9);

    assert_cursor_in_field(&credential_add(), "password", SECRET.len());

    let mut app = delete_of("web");
    app.on_message(Message::Plan(Ok(Box::new(cascade_plan("web")))));
    typ(&mut app, "we");
    assert_cursor_in_field(&app, "name", 2);
}

/// The prompt above the confirm field wraps for a long realm name, and the
/// cursor row is counted in unwrapped lines (popups/delete.rs).
#[test]
fn cursor_in_cascade_confirm_with_a_long_realm_name() {
    let realm = "analytics-batch-workers";
    let mut app = delete_of(realm);
    app.on_message(Message::Plan(Ok(Box::new(cascade_plan(realm)))));
    typ(&mut app, "ana");
    assert_cursor_in_field(&app, "name", 3);
}

#[test]
fn delete_cascade_long_name() {
    check("delete_cascade_long_name", || {
        let realm = "analytics-batch-workers";
        let mut app = delete_of(realm);
        app.on_message(Message::Plan(Ok(Box::new(cascade_plan(realm)))));
        typ(&mut app, "ana");
        app
    });
}

// ---------------------------------------------------------------- behaviour

/// A plan that failed before anything was confirmed must not, on `r`,
/// turn into a delete that nobody confirmed.
#[test]
fn retry_after_failed_plan_asks_again() {
    let mut app = delete_of("edge-west");
    app.on_message(Message::Plan(Err("containerd is not connected".into())));
    let requests = app.on_event(Event::Key(KeyEvent::new(
        KeyCode::Char('r'),
        KeyModifiers::NONE,
    )));
    assert!(matches!(
        requests.as_slice(),
        [kuke_tui::tui::snapshot::Request::PlanDelete(_)]
    ));
    let requests = app.on_message(Message::Plan(Ok(Box::new(empty_plan("edge-west")))));
    assert!(requests.is_empty(), "deleted without a y/n: {requests:?}");
}

// ---------------------------------------------------------------- kukeond

fn with_daemon(state: kuke_tui::ops::daemon::DaemonState, version: Option<&str>) -> App {
    use kuke_tui::ops::daemon::{DaemonStatus, Mutations};
    let mut app = home();
    app.on_message(Message::Snapshot(Box::new(Snapshot {
        host: HostInfo {
            daemon: Some(DaemonStatus {
                host: "unix:///run/kukeon/kukeond.sock".into(),
                socket: Some("/run/kukeon/kukeond.sock".into()),
                state,
                version: version.map(str::to_string),
                detail: None,
                mutations: Mutations::Daemon,
            }),
            ..host()
        },
        ..snapshot(TICKS)
    })));
    app
}

#[test]
fn header_shows_kukeond() {
    use kuke_tui::ops::daemon::DaemonState;
    check("realms_kukeond", || {
        with_daemon(DaemonState::Answering, Some("v0.6.1"))
    });
    check("realms_no_daemon", || {
        with_daemon(DaemonState::Absent, None)
    });
    let text = render(
        &with_daemon(DaemonState::Answering, Some("v0.6.1")),
        120,
        40,
    )
    .to_string();
    assert!(
        text.lines().next().unwrap().contains("kukeond v0.6.1"),
        "{text}"
    );
}
