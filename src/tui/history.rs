//! Bounded per-realm history for sparklines and charts: a ring per realm,
//! sized to cover five minutes at the current interval.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

pub const WINDOW: Duration = Duration::from_secs(300);
const MIN_SAMPLES: usize = 30;
const MAX_SAMPLES: usize = 1200;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub cpu: Option<f64>,
    pub memory: Option<u64>,
}

#[derive(Debug, Default)]
pub struct History {
    rings: HashMap<String, Ring>,
    capacity: usize,
    /// Counts `push_all` calls; a ring not pushed to in the latest is dropped.
    tick: u64,
}

#[derive(Debug, Default)]
struct Ring {
    points: VecDeque<Point>,
    tick: u64,
}

impl History {
    pub fn new(interval: Duration) -> Self {
        History {
            rings: HashMap::new(),
            capacity: capacity_for(interval),
            tick: 0,
        }
    }

    pub fn set_interval(&mut self, interval: Duration) {
        self.capacity = capacity_for(interval);
        for ring in self.rings.values_mut() {
            while ring.points.len() > self.capacity {
                ring.points.pop_front();
            }
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Records one sample per realm present; realms that disappeared are dropped.
    /// In place: once every realm has its ring, a tick allocates nothing.
    pub fn push_all<'a>(&mut self, points: impl Iterator<Item = (&'a str, Point)>) {
        self.tick = self.tick.wrapping_add(1);
        for (realm, point) in points {
            let ring = match self.rings.get_mut(realm) {
                Some(ring) => ring,
                None => self.rings.entry(realm.to_string()).or_default(),
            };
            if ring.points.len() >= self.capacity {
                ring.points.pop_front();
            }
            ring.points.push_back(point);
            ring.tick = self.tick;
        }
        let tick = self.tick;
        self.rings.retain(|_, ring| ring.tick == tick);
    }

    pub fn get(&self, realm: &str) -> Option<&VecDeque<Point>> {
        self.rings.get(realm).map(|ring| &ring.points)
    }
}

fn capacity_for(interval: Duration) -> usize {
    let per = interval.as_secs_f64().max(0.001);
    ((WINDOW.as_secs_f64() / per).ceil() as usize).clamp(MIN_SAMPLES, MAX_SAMPLES)
}

/// Eight-level bars for an inline sparkline of the last `width` values.
pub fn spark(
    values: impl DoubleEndedIterator<Item = Option<f64>>,
    width: usize,
    max: f64,
) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let mut last: Vec<Option<f64>> = values.rev().take(width).collect();
    last.reverse();
    let mut out: String = last
        .into_iter()
        .map(|v| match v {
            None => ' ',
            Some(v) => {
                let level = ((v / max.max(f64::EPSILON)) * 7.0).round().clamp(0.0, 7.0) as usize;
                BARS[level]
            }
        })
        .collect();
    while out.chars().count() < width {
        out.insert(0, ' ');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rings_are_bounded_and_follow_realms() {
        let mut h = History::new(Duration::from_secs(1));
        assert_eq!(h.capacity(), 300);
        for i in 0..400 {
            h.push_all(
                [(
                    "a",
                    Point {
                        cpu: Some(i as f64),
                        memory: None,
                    },
                )]
                .into_iter(),
            );
        }
        assert_eq!(h.get("a").unwrap().len(), 300);
        assert_eq!(h.get("a").unwrap().back().unwrap().cpu, Some(399.0));
        h.set_interval(Duration::from_secs(5));
        assert_eq!(h.get("a").unwrap().len(), 60);
        h.push_all(
            [(
                "b",
                Point {
                    cpu: None,
                    memory: Some(1),
                },
            )]
            .into_iter(),
        );
        assert!(
            h.get("a").is_none(),
            "a deleted realm's history goes with it"
        );
        let p = Point {
            cpu: Some(1.0),
            memory: None,
        };
        h.push_all([("a", p), ("b", p)].into_iter());
        assert_eq!(h.get("a").unwrap().len(), 1, "a came back empty");
        assert_eq!(h.get("b").unwrap().len(), 2, "b kept its history");
    }

    #[test]
    fn sparkline_scales_and_pads() {
        assert_eq!(
            spark([Some(0.0), Some(50.0), Some(100.0)].into_iter(), 5, 100.0),
            "  ▁▅█"
        );
        assert_eq!(spark([None, Some(100.0)].into_iter(), 2, 100.0), " █");
        assert_eq!(
            spark((0..10).map(|i| Some(i as f64)), 3, 9.0)
                .chars()
                .count(),
            3
        );
    }
}
