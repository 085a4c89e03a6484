//! Configuration, declared once: each setting is a field of the struct that
//! uses it ([`Config`] for the binary's own, [`ServeOptions`] for the
//! connections, [`DatabaseOptions`] for the store), and clap fills it from
//! the flags (or the environment), checking each value where it is parsed.
//! What no single value can tell ([`Config::validate`]: the static
//! directory exists, a request target fits in a request head) is checked
//! once, before anything starts; the rest of the program never re-checks.

use std::fmt;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::app::Latency;
use crate::data::DatabaseOptions;
use crate::flags;
use crate::server::ServeOptions;

/// Streaming HTML server-side rendering with suspense boundaries.
#[derive(Debug, Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Flags of `serve`, which is also what runs without a subcommand.
    #[command(flatten)]
    pub serve: Config,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the site (the default).
    Serve(Box<Config>),
    /// Render the pages that can be pre-rendered (buffered mode) into .html
    /// files, plus the static assets, for any plain file server.
    Export(ExportArgs),
    /// Ask a running server's /healthz; exit 0 if it answers 200, 1 if not
    /// (the container image's health check).
    Healthcheck(HealthcheckArgs),
}

#[derive(Debug, Args, Clone)]
pub struct HealthcheckArgs {
    /// The server's address, as given to `serve` (0.0.0.0 means this
    /// host's loopback).
    #[arg(long, env = "SUSPENSE_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// How long to wait to connect, and then for the answer.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

#[derive(Debug, Args, Clone)]
pub struct ExportArgs {
    /// The board's database, as for `serve` (the exported pages do not show
    /// it, but the site needs one to start).
    #[command(flatten)]
    pub database: DatabaseOptions,
    /// Directory to write to (created if missing; files of the same names
    /// are replaced).
    #[arg(long)]
    pub out: PathBuf,
    /// Directory of the static assets, copied to OUT/static.
    #[arg(long, default_value = "static")]
    pub static_dir: PathBuf,
}

/// The server's configuration: `serve`'s flags, each checked as it is
/// parsed; [`validate`](Config::validate) before use.
#[derive(Debug, Args, Clone)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "SUSPENSE_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// Directory served under /static.
    #[arg(long, default_value = "static")]
    pub static_dir: PathBuf,
    /// Worker threads of the runtime [default: the number of cores].
    #[arg(long, value_parser = at_least_one)]
    pub threads: Option<NonZeroUsize>,
    /// The scheduling slice to ask Linux (6.12 or later) for, for every
    /// thread of the server (100us..=100ms), or `off` for the kernel's
    /// default. A short one lets a thread woken by a request preempt the
    /// process that sent it when they share a core, instead of waiting out
    /// its turn: it helps only a client on the same host, such as a load
    /// generator on a small machine (docs/benchmarks.md, "First byte on an
    /// idle server"). Defaults to `off`.
    #[arg(long, default_value = "off", value_parser = parse_sched_slice)]
    pub sched_slice: SchedSlice,
    /// How long a boundary may wait for its data before its timeout content
    /// is shown.
    #[arg(long, default_value = "30s", value_parser = flags::positive_duration)]
    pub boundary_timeout: Duration,
    /// How long a page may stream; when it passes, every pending boundary
    /// shows its timeout content and the page ends.
    #[arg(long, default_value = "90s", value_parser = flags::positive_duration)]
    pub page_deadline: Duration,
    #[command(flatten)]
    pub serve: ServeOptions,
    /// Send pages uncompressed even to clients that accept gzip (static
    /// files keep their precompressed variants).
    #[arg(long)]
    pub no_compression: bool,
    #[command(flatten)]
    pub database: DatabaseOptions,
    /// At startup, how long to keep trying a database that does not answer
    /// (one starting beside this server, in a container stack) before
    /// giving up; 0 gives up at once.
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    pub db_wait: Duration,
    /// Simulated latency of the board's slow sources: 0 (none), or
    /// SOURCE=DURATION pairs (popular, latest, comments, related, author,
    /// author-posts), e.g. `comments=2s,related=0`.
    #[arg(long, default_value = "default", value_parser = parse_latency)]
    pub latency: Latency,
}

impl Config {
    /// What no single flag can tell: `--static-dir` is a directory, and a
    /// request target of `--max-uri-bytes` fits in a request head of
    /// `--max-header-bytes`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_static_dir(&self.static_dir)?;
        let (max_uri, max_header) = (self.serve.max_uri_bytes, self.serve.max_header_bytes);
        if !(MIN_URI_BYTES..=max_header).contains(&max_uri) {
            return Err(ConfigError::UriLongerThanHead {
                max_uri,
                max_header,
            });
        }
        Ok(())
    }

    /// The runtime's worker threads: `--threads`, or one per core.
    pub fn threads(&self) -> usize {
        self.threads
            .or_else(|| std::thread::available_parallelism().ok())
            .map_or(1, NonZeroUsize::get)
    }

    /// The defaults (the flags' own, so they cannot drift apart) with one
    /// worker thread, serving `static_dir`; for tests and embedding.
    pub fn with_static_dir(static_dir: impl Into<PathBuf>) -> Config {
        let mut config = Cli::parse_from(["suspense-ssr"]).serve;
        config.static_dir = static_dir.into();
        config.threads = NonZeroUsize::new(1);
        config
    }
}

/// The shortest `--max-uri-bytes`: room for a path and a short query.
const MIN_URI_BYTES: usize = 256;

/// A configuration that cannot serve, for the user: what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// `--static-dir` is not a directory.
    StaticDir(PathBuf),
    /// `--max-uri-bytes` is under 256 or over
    /// `--max-header-bytes`.
    UriLongerThanHead { max_uri: usize, max_header: usize },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::StaticDir(dir) => write!(
                f,
                "--static-dir {}: not a directory (run from the project's root, or pass --static-dir)",
                dir.display()
            ),
            ConfigError::UriLongerThanHead { max_header, .. } => write!(
                f,
                "--max-uri-bytes: must be between {MIN_URI_BYTES} and --max-header-bytes ({max_header})"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

/// `--static-dir` must be a directory; the error says what to do.
pub fn check_static_dir(dir: &Path) -> Result<(), ConfigError> {
    if dir.is_dir() {
        Ok(())
    } else {
        Err(ConfigError::StaticDir(dir.to_owned()))
    }
}

/// `--sched-slice`: a duration the kernel takes, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedSlice(pub Option<Duration>);

fn parse_sched_slice(spec: &str) -> Result<SchedSlice, String> {
    if spec == "off" {
        return Ok(SchedSlice(None));
    }
    let slice = humantime::parse_duration(spec).map_err(|e| e.to_string())?;
    if (sched_slice::MIN..=sched_slice::MAX).contains(&slice) {
        Ok(SchedSlice(Some(slice)))
    } else {
        Err(format!(
            "must be between {:?} and {:?} (the kernel's bounds), or off",
            sched_slice::MIN,
            sched_slice::MAX
        ))
    }
}

fn parse_latency(spec: &str) -> Result<Latency, String> {
    if spec == "default" {
        Ok(Latency::default())
    } else {
        spec.parse()
    }
}

/// A count of at least one.
fn at_least_one(spec: &str) -> Result<NonZeroUsize, String> {
    NonZeroUsize::new(flags::at_least::<1>(spec)?).ok_or_else(|| "must be at least 1".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid() {
        let config = Config::with_static_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/static"));
        assert_eq!(config.validate(), Ok(()));
        assert_eq!(config.serve.max_unsent_bytes, Some(64 * 1024));
        assert!(config.serve.trim_heap_after_bursts);
        let off = Cli::parse_from(["suspense-ssr", "--trim-heap-after-bursts", "off"]);
        assert!(!off.serve.serve.trim_heap_after_bursts);
        assert!(Cli::try_parse_from(["suspense-ssr", "--trim-heap-after-bursts", "no"]).is_err());
    }
}
