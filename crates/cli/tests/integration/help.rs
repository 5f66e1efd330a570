//! `--help` on every subcommand, and what bad usage exits with.

use predicates::prelude::*;

use crate::common::steerage;

#[test]
fn help_of_every_subcommand_exits_0() {
    for sub in [
        &[][..],
        &["check"],
        &["lookup"],
        &["explain"],
        &["simulate"],
        &["diff"],
    ] {
        steerage()
            .args(sub)
            .arg("--help")
            .assert()
            .success()
            .stdout(predicate::str::contains("Usage: steerage"));
    }
    steerage()
        .args(["help", "simulate"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Usage: steerage simulate"));
    steerage()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("steerage "));
}

#[test]
fn bad_usage_exits_2() {
    for args in [
        &[][..],
        &["frobnicate"],
        &["lookup"],
        &["lookup", "not-an-ip"],
        &["explain", "www.example.com"],
        &[
            "explain",
            "www.example.com",
            "1.2.3.4/99",
            "--config",
            "x.toml",
        ],
        &["simulate"],
        &["simulate", "x.toml", "--format", "yaml"],
        &["diff", "only-one.toml"],
    ] {
        steerage().args(args).assert().code(2);
    }
}
