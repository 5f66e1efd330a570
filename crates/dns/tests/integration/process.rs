//! CPU time read from `/proc`, for the tests that watch a process of their
//! own.

use std::time::Duration;

/// CPU time (user + system) a process has used so far, from
/// `/proc/PID/stat` (fields 14 and 15, in clock ticks of 1/100 s on Linux).
pub(crate) fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The command name (field 2) is in parentheses and may hold spaces.
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split(' ').collect();
    // after_name starts at field 3.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}
