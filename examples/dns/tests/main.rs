//! Tests of the DNS examples that need more than running them (CI runs
//! every example that finishes): the `dns_server` example as a process,
//! with real signals and sockets on loopback.

#[cfg(target_os = "linux")]
mod dns_server;
#[cfg(target_os = "linux")]
mod process;
