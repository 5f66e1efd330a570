//! Integration tests of steerage-policy, one module per topic.

mod config;
mod design_example;
mod fixtures;
mod operations;
mod validation;
