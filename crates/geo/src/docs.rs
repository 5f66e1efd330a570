//! Guides that go with the API reference: the [line codes](lines) rules
//! are written in, and [IP lookup](geo): which databases to use, where to
//! get them, how they are read and compiled, the sample data, and measured
//! lookup figures.
//!
//! These pages are the crate's `docs/*.md` files, included here so they
//! travel with the crate.

#[doc = include_str!("../docs/lines.md")]
pub mod lines {}

#[doc = include_str!("../docs/geo.md")]
pub mod geo {}
