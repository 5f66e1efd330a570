//! Integration tests of steerage-dns: the handler serving on an ephemeral
//! loopback port, asked by real DNS clients (hickory's client, and `dig` when
//! installed), on the built-in sample data.

mod changes;
mod client;
mod dig;
mod robustness;
mod scenario;
mod server;
mod zone;
