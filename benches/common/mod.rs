//! What both benches share: timing with percentiles, and criterion's own
//! median read back from its estimates.json.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

pub struct Figures {
    pub p50: Duration,
    pub p99: Duration,
    pub mean: Duration,
    pub runs: usize,
}

/// Calls `f` `warmup` times untimed (page cache, connection, allocator),
/// then times it up to `iters` times: at least 20, and no more once
/// `budget` has passed.
pub fn percentiles(warmup: usize, iters: u64, budget: Duration, mut f: impl FnMut()) -> Figures {
    for _ in 0..warmup {
        f();
    }
    let started = Instant::now();
    let mut times = Vec::with_capacity(iters as usize);
    while (times.len() as u64) < iters && (times.len() < 20 || started.elapsed() < budget) {
        let t = Instant::now();
        f();
        times.push(t.elapsed());
    }
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    Figures {
        p50: at(0.50),
        p99: at(0.99),
        mean: times.iter().sum::<Duration>() / times.len() as u32,
        runs: times.len(),
    }
}

pub fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

/// Criterion's median point estimate for a benchmark id, from its
/// estimates.json (criterion keeps it there rather than printing it).
pub fn criterion_median(group: &str, function: &str) -> Option<Duration> {
    let home = std::env::var_os("CRITERION_HOME")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR").map(|t| PathBuf::from(t).join("criterion"))
        })
        .unwrap_or_else(|| PathBuf::from("target/criterion"));
    let path = home.join(group).join(function).join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let ns = json["median"]["point_estimate"].as_f64()?;
    Some(Duration::from_nanos(ns as u64))
}
