//! `top`: realm usage sampled from cgroup files on an interval.

use super::output::{dash, write_stdout, Format, Table};
use super::realms::{memory_cell, pids_cell};
use crate::model::units::format_bytes;
use crate::ops::usage::{RealmRate, TargetCache, UsageSampler};
use crate::ops::{Host, OpError, OpResult};
use clap::Args;
use serde::Serialize;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct TopArgs {
    /// Only this realm
    #[arg(long)]
    pub realm: Option<String>,
    /// Time between samples
    #[arg(long, default_value = "1s", value_parser = super::parse_duration)]
    pub interval: Duration,
    /// Stop after N samples (default: run until interrupted)
    #[arg(long)]
    pub count: Option<u64>,
    /// table, or json (one object per line per sample)
    #[arg(short, long, value_enum, default_value = "table")]
    pub output: Format,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Sample<'a> {
    timestamp: String,
    interval_seconds: f64,
    realms: &'a [RealmRate],
}

pub async fn run(host: &Host, args: &TopArgs) -> OpResult<()> {
    if args.output == Format::Yaml || args.output == Format::Wide {
        return Err(OpError::usage("top prints -o table or -o json"));
    }
    let mut sampler = UsageSampler::new();
    let mut targets = TargetCache::default();
    // A baseline reading: rates need two.
    sampler.sample(host, &targets.targets(host, args.realm.as_deref())?);
    let mut printed = 0u64;
    let mut ticker = tokio::time::interval(args.interval);
    ticker.tick().await;
    while args.count.is_none_or(|n| printed < n) {
        ticker.tick().await;
        // Realms created or deleted meanwhile come and go with the next sample.
        let rates = sampler.sample(host, &targets.targets(host, args.realm.as_deref())?);
        if args.output == Format::Json {
            let sample = Sample {
                timestamp: crate::ops::now_rfc3339(),
                interval_seconds: args.interval.as_secs_f64(),
                realms: &rates,
            };
            let line =
                serde_json::to_string(&sample).map_err(|e| OpError::failed(e.to_string()))?;
            write_stdout(&format!("{line}\n"))?;
        } else {
            if printed > 0 {
                write_stdout("\n")?;
            }
            print_table(&rates)?;
        }
        printed += 1;
    }
    Ok(())
}

fn print_table(rates: &[RealmRate]) -> OpResult<()> {
    if rates.is_empty() {
        return write_stdout("No realms found.\n");
    }
    let mut table = Table::new(vec![
        "REALM", "CPU%", "HOST%", "MEMORY", "PIDS", "READ/s", "WRITE/s",
    ]);
    let pct = |v: Option<f64>| dash(v.map(|p| format!("{p:.1}")));
    let rate = |v: Option<f64>| dash(v.map(|r| format_bytes(r.round() as u64)));
    for r in rates {
        table.row(vec![
            r.realm.clone(),
            pct(r.cpu_percent_of_core),
            pct(r.cpu_percent_of_host),
            memory_cell(r.memory_bytes, r.memory_limit),
            pids_cell(r.pids_current, r.pids_max),
            rate(r.io_read_bytes_per_sec),
            rate(r.io_write_bytes_per_sec),
        ]);
    }
    table.print()
}
