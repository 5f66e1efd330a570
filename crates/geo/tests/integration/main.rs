//! Integration tests.
mod mmdb_fixtures;
mod real_asn;
mod real_corrupt_files;
mod real_data;
mod real_dbip;
mod real_maxmind;
mod sample_data;
mod taxonomy;
