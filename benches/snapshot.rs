//! Snapshot latency: everything the home screen needs in one refresh, on a
//! live fixture (see scripts/bench-snapshot.sh, which builds one and runs
//! this for 10, 100 and 1,000 realms).
//!
//! Measured, each against the same long-lived `Host` and containerd
//! connection, as the console keeps them:
//! - `snapshot`: a cold, full read: records + containerd
//!   (`ops::realms::list_realms`: every record, the namespaces, and
//!   tasks/containers/images of every realm) + a usage sample of every realm
//!   (`UsageSampler::sample`, as the console's collector takes on each tick).
//!   What `get realms` and the console's first read or `r` cost.
//! - `refresh`: the console's refresh after containerd reported a change in
//!   one realm (`list_realms_cached`: records, the namespace list and cgroups
//!   of every realm, tasks/containers/images of the changed realm only; the
//!   changed realm rotates over the realms with tasks).
//! - `refresh_idle`: the same with no change reported (the 60 s safety net
//!   re-reads everything, which is `snapshot`).
//! - `tick`: what the console does every interval when containerd is not
//!   due: a stat of every record plus the usage sample.
//! - `records`: reading and parsing every record alone.
//!
//! p50/p99 come from a few hundred individually timed iterations
//! (`SNAPSHOT_ITERS`, default 300, capped at `SNAPSHOT_SECS` seconds, default
//! 20, per figure); criterion then measures `snapshot` once more and its own
//! median is printed next to them.
//!
//! Run against a fixture described by KUKEON_RUN_PATH,
//! KUKEON_CONTAINERD_SOCKET and KUKEON_CGROUP_ROOT:
//!   cargo bench --bench snapshot

mod common;

use common::{criterion_median, ms, percentiles};
use criterion::{Criterion, SamplingMode};
use kuke_tui::ops::realms::{list_realms, list_realms_cached, RealmSummary, RemoteCache};
use kuke_tui::ops::usage::{UsageSampler, UsageTarget};
use kuke_tui::ops::Host;
use kuke_tui::runtime::Runtime;
use kuke_tui::settings::HostSettings;
use std::hint::black_box;
use std::time::Duration;

const ENV: [&str; 3] = [
    "KUKEON_RUN_PATH",
    "KUKEON_CONTAINERD_SOCKET",
    "KUKEON_CGROUP_ROOT",
];

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One cold read of the home screen; returns the number of realms seen.
async fn snapshot(host: &Host, rt: &Runtime, sampler: &mut UsageSampler) -> usize {
    let rows = list_realms(host, rt).await.expect("list_realms");
    sample(host, &rows, sampler)
}

/// One console refresh with kept containerd figures, after a change was
/// reported in `changed` (if any).
async fn refresh(
    host: &Host,
    rt: &Runtime,
    cache: &mut RemoteCache,
    changed: Option<&str>,
    sampler: &mut UsageSampler,
) -> usize {
    if let Some(ns) = changed {
        cache.invalidate(ns);
    }
    let rows = list_realms_cached(host, rt, cache)
        .await
        .expect("list_realms_cached");
    sample(host, &rows, sampler)
}

fn sample(host: &Host, rows: &[RealmSummary], sampler: &mut UsageSampler) -> usize {
    let targets: Vec<UsageTarget> = rows.iter().map(UsageTarget::of).collect();
    black_box(sampler.sample(host, &targets));
    rows.len()
}

/// The console's idle tick: record stamps and a usage sample.
fn tick(host: &Host, targets: &[UsageTarget], sampler: &mut UsageSampler) -> usize {
    let dirs = host.store.realm_dirs().expect("realm_dirs");
    let stamps: Vec<_> = dirs
        .iter()
        .map(|name| host.store.record_stamp(name))
        .collect();
    black_box(&stamps);
    black_box(sampler.sample(host, targets)).len()
}

fn main() {
    if ENV.iter().any(|v| std::env::var_os(v).is_none()) {
        eprintln!(
            "snapshot bench: needs a fixture; set {} (scripts/bench-snapshot.sh [N...] builds one \
             and runs this bench), e.g.\n  . scripts/fixture.sh; fixture_up 100 2 100; \
             cargo bench --bench snapshot",
            ENV.join(", ")
        );
        return;
    }
    let settings = HostSettings {
        run_path: std::env::var_os("KUKEON_RUN_PATH").unwrap().into(),
        containerd_socket: std::env::var_os("KUKEON_CONTAINERD_SOCKET").unwrap().into(),
        cgroup_root: std::env::var("KUKEON_CGROUP_ROOT").ok(),
        layout: None,
        timeout: Duration::from_secs(10),
        network: Default::default(),
    };
    // The console's own runtime shape (src/main.rs).
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let host = Host::new(settings).expect("host");
    let rt = tokio
        .block_on(host.runtime())
        .unwrap_or_else(|e| panic!("cannot reach the fixture's containerd: {}", e.message));
    let iters = env_number("SNAPSHOT_ITERS", 300);
    let secs = env_number("SNAPSHOT_SECS", 20);

    let mut sampler = UsageSampler::new();
    let realms = tokio.block_on(snapshot(&host, &rt, &mut sampler));
    let rows = tokio
        .block_on(list_realms(&host, &rt))
        .expect("list_realms");
    let tasks: usize = rows.iter().map(|r| r.counts.running_tasks).sum();
    let images: usize = rows.iter().map(|r| r.counts.images).sum();
    assert!(realms > 0, "the fixture has no realms");
    eprintln!("fixture: {realms} realms, {tasks} running tasks, {images} images");
    let targets: Vec<UsageTarget> = rows.iter().map(UsageTarget::of).collect();

    let full = percentiles(1, iters, Duration::from_secs(secs), || {
        tokio.block_on(snapshot(&host, &rt, &mut sampler));
    });
    // Realms whose namespace holds tasks, to report changes in.
    let busy: Vec<String> = rows
        .iter()
        .filter(|r| r.counts.tasks > 0)
        .map(|r| r.namespace.clone())
        .collect();
    let mut cache = RemoteCache::default();
    tokio.block_on(refresh(&host, &rt, &mut cache, None, &mut sampler));
    let mut turn = 0;
    let changed = percentiles(1, iters, Duration::from_secs(secs), || {
        let ns = busy.get(turn % busy.len().max(1)).map(String::as_str);
        turn += 1;
        tokio.block_on(refresh(&host, &rt, &mut cache, ns, &mut sampler));
    });
    let unchanged = percentiles(1, iters, Duration::from_secs(secs), || {
        tokio.block_on(refresh(&host, &rt, &mut cache, None, &mut sampler));
    });
    let idle = percentiles(1, iters, Duration::from_secs(secs), || {
        tick(&host, &targets, &mut sampler);
    });
    let records = percentiles(1, iters, Duration::from_secs(secs), || {
        black_box(host.realm_entries().expect("records"));
    });
    for (name, f) in [
        ("snapshot", &full),
        ("refresh", &changed),
        ("refresh_idle", &unchanged),
        ("tick", &idle),
        ("records", &records),
    ] {
        eprintln!(
            "{name}, {realms} realms: p50 {} p99 {} mean {} over {} runs",
            ms(f.p50),
            ms(f.p99),
            ms(f.mean),
            f.runs
        );
    }

    let mut c = Criterion::default()
        .configure_from_args()
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(secs.max(5)));
    let function = format!("{realms}_realms");
    {
        let mut group = c.benchmark_group("snapshot");
        group.sampling_mode(SamplingMode::Flat).sample_size(20);
        group.bench_function(&function, |b| {
            b.iter(|| tokio.block_on(snapshot(&host, &rt, &mut sampler)))
        });
        group.finish();
        let mut group = c.benchmark_group("refresh");
        group.sampling_mode(SamplingMode::Flat).sample_size(20);
        group.bench_function(&function, |b| {
            b.iter(|| {
                let ns = busy.get(turn % busy.len().max(1)).map(String::as_str);
                turn += 1;
                tokio.block_on(refresh(&host, &rt, &mut cache, ns, &mut sampler))
            })
        });
        group.finish();
    }
    c.final_summary();
    for (group, own) in [("snapshot", &full), ("refresh", &changed)] {
        match criterion_median(group, &function) {
            Some(median) => eprintln!(
                "{group}, {realms} realms: criterion median {} (own p50 {}, p99 {})",
                ms(median),
                ms(own.p50),
                ms(own.p99)
            ),
            None => {
                eprintln!("{group}, {realms} realms: criterion median not found (estimates.json)")
            }
        }
    }
    tokio.shutdown_background();
}
