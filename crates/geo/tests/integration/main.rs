//! Integration tests.
mod taxonomy;
