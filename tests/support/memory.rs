//! A process's memory as Linux reports it in `/proc/<pid>/status`: the
//! resident set now (`VmRSS`) and its peak since the start (`VmHWM`), and a
//! ceiling that kills a process growing past it, so that a memory
//! regression fails its test instead of taking the machine down.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A `kB` field of `/proc/<pid>/status`, in KiB; None once the process is gone.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))?;
    line[field.len() + 1..].trim().trim_end_matches("kB").trim().parse().ok()
}

/// The resident set of `pid`, in MiB.
pub fn rss_mib(pid: u32) -> u64 {
    status_kib(pid, "VmRSS").unwrap_or(0) / 1024
}

/// The peak resident set of `pid` so far, in MiB.
pub fn peak_rss_mib(pid: u32) -> u64 {
    status_kib(pid, "VmHWM").unwrap_or(0) / 1024
}

/// Watches a process every 10 ms and kills it (SIGKILL, by its id) once its
/// resident set passes `ceiling_mib`. Stops watching when dropped.
pub struct Ceiling {
    pid: u32,
    stop: Arc<AtomicBool>,
    killed: Arc<AtomicBool>,
    peak_seen: Arc<AtomicU64>,
}

impl Ceiling {
    pub fn watch(pid: u32, ceiling_mib: u64) -> Ceiling {
        let (stop, killed, peak_seen) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
        let (s, k, p) = (stop.clone(), killed.clone(), peak_seen.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let Some(rss) = status_kib(pid, "VmRSS") else {
                    return;
                };
                p.fetch_max(status_kib(pid, "VmHWM").unwrap_or(rss) / 1024, Ordering::Relaxed);
                if rss / 1024 > ceiling_mib {
                    let _ = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status();
                    k.store(true, Ordering::Relaxed);
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        Ceiling { pid, stop, killed, peak_seen }
    }

    /// True once the process was killed for passing the ceiling.
    pub fn killed(&self) -> bool {
        self.killed.load(Ordering::Relaxed)
    }

    /// The peak resident set in MiB: read now, or the last seen before a kill.
    pub fn peak_mib(&self) -> u64 {
        peak_rss_mib(self.pid).max(self.peak_seen.load(Ordering::Relaxed))
    }
}

impl Drop for Ceiling {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
