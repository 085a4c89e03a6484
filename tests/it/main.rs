//! Integration tests, one binary: real sockets on 127.0.0.1:0, raw HTTP/1.1
//! reads under timeouts, assertions on the bytes.

#![allow(unreachable_pub)] // helpers are `pub` for the test modules

mod assets;
mod binary;
mod board;
mod browser;
mod common;
mod compression;
mod edge;
mod export;
mod hostile;
mod instances;
mod modes;
mod nginx;
mod observe;
mod prerender;
mod server;
mod site;
mod stalled;
mod store;

use test_kit::{chrome, pages};
