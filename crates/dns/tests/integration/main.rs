//! Integration tests of steerage-dns: the handler serving on an ephemeral
//! loopback port, asked by real DNS clients (hickory's client, and `dig` when
//! installed), on the built-in sample data.

mod apex;
mod bind;
mod changes;
mod client;
mod dig;
mod ecs_scope;
#[cfg(target_os = "linux")]
mod fd_limit;
mod health;
mod observer;
#[cfg(target_os = "linux")]
mod process;
mod robustness;
mod scenario;
mod server;
mod zone;
