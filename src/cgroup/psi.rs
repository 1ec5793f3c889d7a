//! Pressure stall information (PSI) of a v2 group: the share of the last
//! 10 s in which some (or all) of its tasks waited for CPU, memory or IO.
//! Per tenant, it says who is starved rather than who is busy.
//!
//! Format (`cpu.pressure`, `memory.pressure`, `io.pressure`):
//! `some avg10=1.50 avg60=0.80 avg300=0.20 total=123456` and a `full` line
//! (cpu's `full` exists on kernels 5.13 and later). v1 has no such files.

use serde::Serialize;

/// The avg10 figures of one resource, in percent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PsiAvg10 {
    /// Some task waited (percent of the last 10 s).
    pub some_avg10: Option<f64>,
    /// Every non-idle task waited at once.
    pub full_avg10: Option<f64>,
}

/// A group's pressure; each resource is `None` when its file is missing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Pressure {
    pub cpu: Option<PsiAvg10>,
    pub memory: Option<PsiAvg10>,
    pub io: Option<PsiAvg10>,
}

impl Pressure {
    /// Some when at least one resource was read.
    pub fn of(
        cpu: Option<PsiAvg10>,
        memory: Option<PsiAvg10>,
        io: Option<PsiAvg10>,
    ) -> Option<Pressure> {
        (cpu.is_some() || memory.is_some() || io.is_some()).then_some(Pressure { cpu, memory, io })
    }
}

/// Parses a `*.pressure` file; `None` when it has no valid `some` line.
pub fn parse_pressure(text: &str) -> Option<PsiAvg10> {
    let avg10 = |kind: &str| -> Option<f64> {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(kind))?;
        let value = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("avg10="))?
            .parse::<f64>()
            .ok()?;
        (value.is_finite() && value >= 0.0).then_some(value)
    };
    let some = avg10("some")?;
    Some(PsiAvg10 {
        some_avg10: Some(some),
        full_avg10: avg10("full"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_some_and_full() {
        let text = "some avg10=1.50 avg60=0.80 avg300=0.20 total=123456\n\
                    full avg10=0.25 avg60=0.10 avg300=0.00 total=4567\n";
        assert_eq!(
            parse_pressure(text),
            Some(PsiAvg10 {
                some_avg10: Some(1.5),
                full_avg10: Some(0.25)
            })
        );
        // Older kernels: cpu.pressure has no `full` line.
        let cpu = parse_pressure("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n").unwrap();
        assert_eq!(cpu.some_avg10, Some(0.0));
        assert_eq!(cpu.full_avg10, None);
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "full avg10=1.0\n",
            "some avg10=x\n",
            "some avg10=-1\n",
            "some avg10=NaN\n",
            "somex avg10=1\n",
        ] {
            assert_eq!(parse_pressure(bad), None, "{bad:?}");
        }
        assert_eq!(Pressure::of(None, None, None), None);
    }
}
