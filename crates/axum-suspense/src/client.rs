//! What the browser gets besides the page's HTML: the client runtime that
//! observes (or, where the browser does not patch natively, applies) the
//! streamed parts, the file route that serves it, the names it records
//! timings and dispatches events under, the islands module
//! (`suspense.on`, [`islands`]) and the JSON escaping of parts' data
//! ([`script_json`]), and the request-side rule for which browsers patch
//! natively.
//!
//! A page needs none of this to stream: the engine writes the runtime into
//! every streamed page that needs it. It is here for applications that link
//! the runtime as a file
//! ([`EngineBuilder::external_runtime`](crate::EngineBuilder::external_runtime)),
//! listen to its events, or test it.

pub use crate::data::script_json;
pub use crate::native::{NATIVE_PATCHING_SINCE, patches_natively};
pub use crate::runtime_route::runtime_router;
pub use crate::wire::{REVEAL_EVENT, TIMINGS, islands, islands_path, runtime, runtime_path};
