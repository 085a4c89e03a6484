//! Test helpers shared by the workspace's test suites (not published).
//!
//! - [`raw`]: a raw HTTP/1.1 client that records the exact bytes and chunks
//!   of a streamed response, every read under a timeout; [`eventually`].
//! - [`serve`]: an application on `127.0.0.1:0` with plain `axum::serve`,
//!   stopped when dropped.
//! - [`pages`]: test pages on the engine: a shell, a text template, gates
//!   that hold each boundary until the test opens them.
//! - [`chrome`]: Debian's headless Chromium over WebDriver.
//! - [`logs`]: what a test logged, captured on its thread.
//! - [`pg`]: throwaway PostgreSQL servers.
//! - [`tls`]: a throwaway certificate for the HTTPS tests.
//! - [`have_tool`]: skip (loudly) or fail (under CI) without a tool.

#![allow(unreachable_pub)] // helpers are `pub` for the test suites

pub mod chrome;
pub mod logs;
pub mod pages;
pub mod pg;
pub mod raw;
pub mod serve;
pub mod tls;

use std::time::Duration;

pub use raw::{RawResponse, eventually, get, pos, send, send_on};
pub use serve::Served;

/// Every wait in the tests is bounded by this (wide: CI machines are slow).
pub const WAIT: Duration = Duration::from_secs(10);

/// The line `scripts/test` counts as a skipped test.
pub const SKIP_MARK: &str = "TEST SKIPPED";

/// Whether `tool` exists. If not: under `CI=true` the test fails; elsewhere
/// it says so on the process's real stderr (the harness captures
/// `eprintln!` from passing tests), for `scripts/test` to count, and the
/// caller returns early.
pub fn have_tool(test: &str, tool: &std::path::Path, package: &str) -> bool {
    if tool.exists() {
        return true;
    }
    let why = format!(
        "{} is missing (Debian package {package}; scripts/test installs it when run as root)",
        tool.display()
    );
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("{test}: {why}");
    }
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{SKIP_MARK}: {test}: {why}");
    false
}

/// The workspace's `target` directory, found from the running test binary
/// (`target/<profile>/deps/NAME-HASH`).
pub fn target_dir() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.ancestors()
        .nth(3)
        .expect("a test binary lives in target/<profile>/deps")
        .to_owned()
}
