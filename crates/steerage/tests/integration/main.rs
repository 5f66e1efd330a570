//! Integration tests of the `steerage` facade, one module per topic.

mod builder;
mod concurrency;
mod failed_changes;
mod files;
mod fixtures;
mod health;
mod model;
mod name_observers;
mod no_op_changes;
mod scenario;
