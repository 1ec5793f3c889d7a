//! cgroup v2 controller names for a record's `status.subtreeControllers`.
//! Kukeon records the v2 controllers delegated on the realm's
//! `cgroup.subtree_control`; on a v1 (or hybrid) host the same resources sit
//! in hierarchies named after v1 controllers, which this maps to v2 names.

/// v1 hierarchy name -> v2 controller name; `None`: none listed in v2's
/// `cgroup.controllers` (`devices`, `freezer` and `perf_event` are built into
/// v2, `net_cls`/`net_prio` are gone).
fn v2_name(v1: &str) -> Option<&'static str> {
    Some(match v1 {
        "cpu" | "cpuacct" => "cpu",
        "blkio" | "io" => "io",
        "memory" => "memory",
        "pids" => "pids",
        "cpuset" => "cpuset",
        "hugetlb" => "hugetlb",
        "rdma" => "rdma",
        "misc" => "misc",
        _ => return None,
    })
}

/// Kukeon's resource controllers first, in its order (`cpu memory io pids`,
/// `cgroupcheck.CellResourceControllers`), then the rest in name order.
const ORDER: [&str; 4] = ["cpu", "memory", "io", "pids"];

/// The v2 names of `controllers` (v1 or v2 names), without repeats.
pub fn v2_controllers(controllers: &[String]) -> Vec<String> {
    let mut names: Vec<&'static str> = controllers.iter().filter_map(|c| v2_name(c)).collect();
    names.sort_by_key(|n| (ORDER.iter().position(|o| o == n).unwrap_or(ORDER.len()), *n));
    names.dedup();
    names.into_iter().map(String::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn v1_hierarchies_become_v2_controllers() {
        let v1 = owned(&[
            "blkio",
            "cpu",
            "cpuacct",
            "cpuset",
            "devices",
            "freezer",
            "hugetlb",
            "memory",
            "net_cls",
            "net_prio",
            "perf_event",
            "pids",
            "rdma",
        ]);
        assert_eq!(
            v2_controllers(&v1),
            owned(&["cpu", "memory", "io", "pids", "cpuset", "hugetlb", "rdma"])
        );
        let v2 = owned(&[
            "cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc",
        ]);
        assert_eq!(
            v2_controllers(&v2),
            owned(&["cpu", "memory", "io", "pids", "cpuset", "hugetlb", "misc", "rdma"])
        );
    }
}
