//! The engine's integration tests, one binary: pages served by a minimal
//! `axum::serve` application on `127.0.0.1:0` (no demo, no custom server),
//! read back with a raw HTTP/1.1 client under timeouts, boundary timing held
//! by gates, and a real Chromium.

#![allow(unreachable_pub)] // helpers are `pub` for the test modules

mod browser;
mod data;
mod engine;
mod groups;
mod islands;
mod misplaced;
mod modes;
mod ordering;
mod prerender;
mod transport;

use test_kit::{chrome, pages};

/// The raw client and waits from the workspace's test kit.
mod common {
    pub use test_kit::{RawResponse, Served as TestServer, eventually, get, pos, send};
}
