//! Integration tests of steerage-engine: one binary, a module per topic.

mod explain;
mod fixtures;
mod incremental;
mod real_data;
mod scenario;
mod scope;
mod sticky;
mod weights;
