//! Integration tests of steerage-health: real HTTP, HTTPS and TCP servers on
//! loopback, a real `Steering`, the checker between them.

mod checks;
mod fixture;
mod servers;
mod timing;
