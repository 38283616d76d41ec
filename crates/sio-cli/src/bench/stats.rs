//! Figures of a run: latency percentiles, and the server's RSS and CPU time
//! read from `/proc/<pid>` (Linux).

use std::time::Duration;

use serde_json::{json, Value as Json};

/// Latencies in microseconds, merged from every task of a run.
#[derive(Debug, Default)]
pub struct Latencies(Vec<u32>);

impl Latencies {
    /// Records one latency.
    pub fn push(&mut self, d: Duration) {
        self.0
            .push(u32::try_from(d.as_micros()).unwrap_or(u32::MAX));
    }

    /// Records one latency given in microseconds.
    pub fn push_micros(&mut self, us: u64) {
        self.0.push(u32::try_from(us).unwrap_or(u32::MAX));
    }

    /// Adds the latencies of another task.
    pub fn merge(&mut self, other: Latencies) {
        self.0.extend(other.0);
    }

    /// `{p50, p90, p99, max, mean}` in microseconds (nulls when empty).
    pub fn summary(&mut self) -> Json {
        if self.0.is_empty() {
            return json!({"p50": null, "p90": null, "p99": null, "max": null, "mean": null});
        }
        self.0.sort_unstable();
        let at = |q: f64| {
            let i = ((self.0.len() as f64 - 1.0) * q).round() as usize;
            self.0[i]
        };
        let mean = self.0.iter().map(|&v| u64::from(v)).sum::<u64>() / self.0.len() as u64;
        json!({
            "p50": at(0.50),
            "p90": at(0.90),
            "p99": at(0.99),
            "max": self.0[self.0.len() - 1],
            "mean": mean,
        })
    }
}

/// What `/proc/<pid>` says about a process at one moment.
#[derive(Debug, Clone, Copy)]
pub struct ProcSample {
    /// Resident set size, in KiB.
    pub rss_kib: u64,
    /// User + system CPU time.
    pub cpu: Duration,
}

/// Reads the RSS (`VmRSS` of `status`) and the CPU time (`utime + stime` of
/// `stat`, all threads) of `pid`.
pub fn sample(pid: u32) -> std::io::Result<ProcSample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| bad_proc(pid, "no VmRSS in status"))?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may hold spaces: count fields after its `)`.
    let after = stat
        .rfind(')')
        .map(|i| &stat[i + 1..])
        .ok_or_else(|| bad_proc(pid, "malformed stat"))?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat are utime and stime; `after` starts at field 3.
    let ticks = |i: usize| -> std::io::Result<u64> {
        fields
            .get(i - 3)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| bad_proc(pid, "malformed stat"))
    };
    let total = ticks(14)? + ticks(15)?;
    Ok(ProcSample {
        rss_kib,
        cpu: Duration::from_nanos(total * 1_000_000_000 / clock_ticks()),
    })
}

fn bad_proc(pid: u32, what: &str) -> std::io::Error {
    std::io::Error::other(format!("/proc/{pid}: {what}"))
}

/// `USER_HZ`: 100 on every Linux architecture that exposes it to user space.
fn clock_ticks() -> u64 {
    100
}

/// The server-side figures between two samples.
pub fn server_figures(before: ProcSample, after: ProcSample) -> Json {
    let cpu = after.cpu.saturating_sub(before.cpu);
    json!({
        "rss_before_kib": before.rss_kib,
        "rss_after_kib": after.rss_kib,
        "cpu_ms": cpu.as_secs_f64() * 1000.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let mut l = Latencies::default();
        for v in (1..=100).rev() {
            l.push_micros(v);
        }
        let s = l.summary();
        assert_eq!(s["p50"], 51);
        assert_eq!(s["p99"], 99);
        assert_eq!(s["max"], 100);
        assert_eq!(s["mean"], 50);
        assert!(Latencies::default().summary()["p50"].is_null());
    }

    #[test]
    fn samples_this_process() {
        let s = sample(std::process::id()).unwrap();
        assert!(s.rss_kib > 0);
        assert!(sample(u32::MAX).is_err());
    }
}
