//! The benchmark page and what measures it: `/bench` exactly as
//! `benches/PAGE.md` defines it (so it can be measured beside its peers in
//! `benches/peers`), `/compare`, which shows it five ways side by side, and
//! the escaper both render with. These are pages of the site like any other
//! (the site's router serves them, `crate::app`), kept apart from the demo
//! board because they are the measuring apparatus: `benches/ceiling` pulls
//! `entities.rs` in with `#[path]`, so that file uses only `std` and askama.
//!
//! - `page.rs`: `GET /bench?boundaries=N&items=K&delay=D`, prerendered when
//!   the query leaves its shell as it was rendered once, and
//!   `GET /_parts/{shell}/bench`, its parts alone.
//! - `compare.rs`: `GET /compare?delay=D`, its static frame exported.
//! - `entities.rs`: [`NamedEntities`](entities::NamedEntities), text
//!   escaped with named entities as the peers write it.

pub(crate) mod compare;
mod entities;
mod page;

pub(crate) use page::{bench, bench_parts, parse_bounded, prerender};
