//! Helpers for the end-to-end suites: moto_server, sandboxes, pipelines.
#![forbid(unsafe_code)]

pub mod latency;
pub mod logs;
pub mod lookup;
pub mod moto;
pub mod pipeline;

/// The process's peak resident set size in MiB (`VmHWM`), NaN where /proc is missing.
pub fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}
