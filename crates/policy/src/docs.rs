//! Guides that go with the API reference: the [configuration](config)
//! format, field by field, with its errors and the console operations.
//!
//! These pages are the crate's `docs/*.md` files, included here so they
//! travel with the crate.

#[doc = include_str!("../docs/config.md")]
pub mod config {}
