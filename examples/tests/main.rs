//! Tests of the examples that need more than running them (CI runs every
//! example that finishes): the README's code, which is the doctested code of
//! the facade crate's README. The DNS examples' tests are in
//! `examples/dns/tests`.

mod readme;
