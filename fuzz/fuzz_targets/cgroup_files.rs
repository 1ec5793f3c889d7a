//! cgroup files and /proc/self/mountinfo as the kernel (or something odd in
//! the way) may present them. Every parser must return a value or None,
//! never panic or overflow: the first byte picks the parser, the rest is the
//! file.
#![no_main]

use kuke_tui::cgroup::{
    parse_blkio_v1, CgroupMounts, parse_cpu_stat_usage, parse_cpuacct_usage_usec, parse_io_stat_v2,
    parse_keyed, parse_limit, parse_limit_v1, parse_u64,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(bytes);
    let t = text.as_ref();
    match which % 8 {
        0 => {
            let mounts = CgroupMounts::parse_mountinfo(t);
            let _ = mounts.describe();
            let _ = mounts.all_mounts();
        }
        1 => {
            let _ = parse_u64(t);
            let _ = parse_cpuacct_usage_usec(t);
        }
        2 => {
            let _ = parse_limit(t);
            let _ = parse_limit_v1(t);
        }
        3 => {
            let _ = parse_keyed(t, "anon");
            let _ = parse_keyed(t, "total_rss");
        }
        4 => {
            let _ = parse_cpu_stat_usage(t);
        }
        5 => {
            let _ = parse_io_stat_v2(t);
        }
        6 => {
            let _ = parse_blkio_v1(t);
        }
        _ => {
            for f in [parse_io_stat_v2, parse_blkio_v1] {
                if let Some((r, w)) = f(t) {
                    let _ = r.checked_add(w);
                }
            }
        }
    }
});
