//! Follow-up re-reads after events that announce a change still to come.
//!
//! containerd 2.x sometimes sends no `/tasks/delete` (none at all during
//! one cascade), so a task deleted after its `/tasks/exit` stayed on screen
//! as `TASKS 0/1` until the 60 s safety net. The console therefore does not
//! rely on the delete event: after `/tasks/exit` and after container events
//! it reads that namespace again a little later, twice (the delete usually
//! follows within a second; a busy host may take a few). Follow-ups are
//! coalesced per namespace: a burst of events (a cascade) leaves at most
//! `DELAYS.len()` pending re-reads for each namespace, timed from its last
//! event.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// When a namespace is read again after an event that asks for it.
pub const DELAYS: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(3)];

/// True for event topics after which a later change may arrive unannounced.
pub fn wants_follow_up(topic: &str) -> bool {
    topic == "/tasks/exit" || topic.starts_with("/containers/")
}

/// The pending follow-up re-reads, per namespace.
#[derive(Debug, Default)]
pub struct FollowUps {
    due: BTreeMap<String, Vec<Instant>>,
}

impl FollowUps {
    /// An event in `ns` seen at `now`: (re)schedules its follow-ups, replacing
    /// those still pending, so their number stays bounded.
    pub fn on_event(&mut self, ns: &str, topic: &str, now: Instant) {
        if ns.is_empty() || !wants_follow_up(topic) {
            return;
        }
        self.due
            .insert(ns.to_string(), DELAYS.iter().map(|d| now + *d).collect());
    }

    /// The earliest pending follow-up, to sleep until.
    pub fn next_due(&self) -> Option<Instant> {
        self.due.values().flatten().min().copied()
    }

    /// Namespaces with a follow-up due at `now` (each once); those
    /// follow-ups are consumed, later ones stay.
    pub fn take_due(&mut self, now: Instant) -> Vec<String> {
        let mut out = Vec::new();
        self.due.retain(|ns, times| {
            let before = times.len();
            times.retain(|t| *t > now);
            if times.len() < before {
                out.push(ns.clone());
            }
            !times.is_empty()
        });
        out
    }

    /// Forgets everything (a reconnect re-reads every namespace anyway).
    pub fn clear(&mut self) {
        self.due.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn topics_that_ask_for_a_follow_up() {
        for t in ["/tasks/exit", "/containers/delete", "/containers/create"] {
            assert!(wants_follow_up(t), "{t}");
        }
        for t in [
            "/tasks/delete",
            "/tasks/start",
            "/images/create",
            "/snapshot/remove",
        ] {
            assert!(!wants_follow_up(t), "{t}");
        }
    }

    /// A task exits and is deleted without a `/tasks/delete` event: the
    /// namespace is still read again after 1 s and after 3 s.
    #[test]
    fn exit_without_delete_is_read_again_twice() {
        let t0 = Instant::now();
        let mut f = FollowUps::default();
        assert_eq!(f.next_due(), None);
        f.on_event("kukeon-a", "/tasks/exit", t0);
        assert_eq!(f.next_due(), Some(t0 + DELAYS[0]));
        assert!(f.take_due(t0 + 999 * MS).is_empty());
        assert_eq!(f.take_due(t0 + DELAYS[0]), vec!["kukeon-a"]);
        assert!(f.take_due(t0 + DELAYS[0]).is_empty(), "consumed");
        assert_eq!(f.next_due(), Some(t0 + DELAYS[1]));
        assert_eq!(f.take_due(t0 + DELAYS[1] + MS), vec!["kukeon-a"]);
        assert_eq!(f.next_due(), None);
    }

    /// A cascade's burst: many events, one pending pair per namespace,
    /// timed from the last event; other topics schedule nothing.
    #[test]
    fn bursts_are_coalesced_per_namespace() {
        let t0 = Instant::now();
        let mut f = FollowUps::default();
        for i in 0..50u32 {
            f.on_event("kukeon-a", "/tasks/exit", t0 + i * 10 * MS);
            f.on_event("kukeon-a", "/containers/delete", t0 + i * 10 * MS);
        }
        f.on_event("kukeon-b", "/tasks/start", t0);
        f.on_event("", "/tasks/exit", t0);
        assert_eq!(f.due.len(), 1);
        assert_eq!(f.due["kukeon-a"].len(), DELAYS.len());
        let last = t0 + 490 * MS;
        assert_eq!(f.next_due(), Some(last + DELAYS[0]));
        // Both pending ones already passed: one re-read, not two.
        assert_eq!(f.take_due(last + DELAYS[1]), vec!["kukeon-a"]);
        assert_eq!(f.next_due(), None);

        f.on_event("kukeon-b", "/tasks/exit", t0);
        f.clear();
        assert_eq!(f.next_due(), None);
    }
}
