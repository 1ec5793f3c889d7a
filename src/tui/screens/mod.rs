//! Full-screen views; one file each.

pub mod detail;
pub mod realms;

use crate::cgroup::Limit;
use crate::model::units::format_bytes;

/// `64Mi/512Mi`, `64Mi` when unlimited, `-` when unknown.
pub fn memory_text(used: Option<u64>, limit: Option<Limit>) -> String {
    crate::cli::realms::memory_cell(used, limit)
}

pub fn pct(value: Option<f64>) -> String {
    value
        .map(|v| format!("{v:.1}"))
        .unwrap_or_else(|| "-".into())
}

pub fn bytes(value: Option<u64>) -> String {
    value.map(format_bytes).unwrap_or_else(|| "-".into())
}

/// Which rows fit: keeps `selected` visible, starting near `offset`.
pub fn window(total: usize, selected: usize, height: usize, offset: usize) -> (usize, usize) {
    if height == 0 || total == 0 {
        return (0, 0);
    }
    let mut start = offset.min(total.saturating_sub(1));
    if selected < start {
        start = selected;
    } else if selected >= start + height {
        start = selected + 1 - height;
    }
    start = start.min(total.saturating_sub(height));
    (start, (start + height).min(total))
}

#[cfg(test)]
mod tests {
    #[test]
    fn window_keeps_selection_visible() {
        use super::window;
        assert_eq!(window(1000, 0, 10, 0), (0, 10));
        assert_eq!(window(1000, 15, 10, 0), (6, 16));
        assert_eq!(window(1000, 3, 10, 6), (3, 13));
        assert_eq!(window(5, 4, 10, 0), (0, 5));
        assert_eq!(window(0, 0, 10, 0), (0, 0));
        assert_eq!(window(1000, 999, 10, 0), (990, 1000));
    }
}
