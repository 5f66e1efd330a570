//! Integration tests of steerage-policy, one module per topic.

mod design_example;
mod fixtures;
mod operations;
