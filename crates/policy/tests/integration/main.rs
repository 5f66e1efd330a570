//! Integration tests of steerage-policy, one module per topic.

mod cname_loop;
mod config;
mod design_example;
mod docs;
mod fixtures;
mod operations;
mod round_trip;
mod state_machine;
mod validation;
