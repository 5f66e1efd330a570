//! Runs the real `steerage` binary on good and bad input, one module per
//! subcommand; `real_data` compares `simulate` and `diff` with `select` on
//! the DB-IP data (`STEERAGE_GEO_DATA`); `serve` runs the server on
//! ephemeral loopback ports.

mod check;
mod common;
mod diff;
mod explain;
mod help;
mod lookup;
mod real_data;
mod serve;
mod simulate;
mod stdout;
