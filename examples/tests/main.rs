//! Tests of the examples that need more than running them (CI runs every
//! example that finishes): the `dns_server` example as a process, with real
//! signals and sockets on loopback; and the README's code, which is the
//! doctested code of the facade crate's README.

#[cfg(target_os = "linux")]
mod dns_server;
#[cfg(target_os = "linux")]
mod process;
mod readme;
