//! Human-readable units shared by the table output and the console.

use std::time::Duration;

/// Kukeon's age style: the largest whole unit, `3d`, `5h`, `7m`, `9s`.
pub fn format_age(age: Duration) -> String {
    let s = age.as_secs();
    if s >= 86_400 {
        format!("{}d", s / 86_400)
    } else if s >= 3_600 {
        format!("{}h", s / 3_600)
    } else if s >= 60 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

/// Binary units with one decimal below 10: `512B`, `1.5Ki`, `64Mi`, `3.2Gi`.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "Ki", "Mi", "Gi", "Ti", "Pi"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes}B")
    } else if value < 10.0 {
        format!("{value:.1}{}", UNITS[unit])
    } else {
        format!("{value:.0}{}", UNITS[unit])
    }
}

/// Sizes the way `ctr images ls` prints them (`%.1f` and a binary unit): `2.1 MiB`.
pub fn format_size_ctr(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        assert_eq!(format_age(Duration::from_secs(9)), "9s");
        assert_eq!(format_age(Duration::from_secs(7 * 60 + 5)), "7m");
        assert_eq!(format_age(Duration::from_secs(5 * 3600 + 59)), "5h");
        assert_eq!(format_age(Duration::from_secs(3 * 86_400 + 1)), "3d");
    }

    #[test]
    fn bytes() {
        assert_eq!(format_bytes(512), "512B");
        assert_eq!(format_bytes(1536), "1.5Ki");
        assert_eq!(format_bytes(64 << 20), "64Mi");
        assert_eq!(format_size_ctr(2_200_000), "2.1 MiB");
        assert_eq!(format_size_ctr(512), "512.0 B");
    }
}
