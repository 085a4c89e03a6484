//! Configuration in two phases: command-line flags ([`Cli`]) are turned into
//! a validated [`Config`] in one place, so the rest of the program never
//! re-checks them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::app::Latency;
use crate::data::{Database, DatabaseOptions};

/// Streaming HTML server-side rendering with suspense boundaries.
#[derive(Debug, Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Flags of `serve`, which is also what runs without a subcommand.
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the site (the default).
    Serve(Box<ServeArgs>),
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

/// `--database` (or `DATABASE_URL`), for `serve` and `export` alike.
#[derive(Debug, Args, Clone)]
pub struct DatabaseArg {
    /// The board's database: a SQLite file (created, migrated and seeded if
    /// new), or a URL postgres://USER:PASSWORD@HOST:PORT/DB (migrated and
    /// seeded if new; several instances may share it).
    #[arg(
        long = "database",
        value_name = "DATABASE",
        env = "DATABASE_URL",
        hide_env_values = true,
        default_value = "data/board.sqlite3"
    )]
    pub value: String,
}

#[derive(Debug, Args, Clone)]
pub struct ExportArgs {
    /// The board's database, as for `serve` (the exported pages do not show
    /// it, but the site needs one to start).
    #[command(flatten)]
    pub database: DatabaseArg,
    /// Directory to write to (created if missing; files of the same names
    /// are replaced).
    #[arg(long)]
    pub out: PathBuf,
    /// Directory of the static assets, copied to OUT/static.
    #[arg(long, default_value = "static")]
    pub static_dir: PathBuf,
}

#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "SUSPENSE_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// Directory served under /static.
    #[arg(long, default_value = "static")]
    pub static_dir: PathBuf,
    /// Worker threads of the runtime [default: the number of cores].
    #[arg(long)]
    pub threads: Option<usize>,
    /// The scheduling slice to ask Linux (6.12 or later) for, for every
    /// thread of the server (100us..=100ms), or `off` for the kernel's
    /// default. A short one lets a thread woken by a request preempt the
    /// process that sent it when they share a core, instead of waiting out
    /// its turn: it helps only a client on the same host, such as a load
    /// generator on a small machine (docs/benchmarks.md, "First byte on an
    /// idle server"). Defaults to `off`.
    #[arg(long, default_value = "off", value_parser = parse_sched_slice)]
    pub sched_slice: SchedSlice,
    /// How long a client may take to send a request's headers.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub header_read_timeout: Duration,
    /// How long a request body may send nothing before the request fails.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub body_read_timeout: Duration,
    /// How long a response may wait on a client that has stopped reading
    /// (no byte taken) before the connection is closed and its page dropped.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub send_timeout: Duration,
    /// The send buffer of each accepted connection, in bytes (Linux keeps
    /// twice this, and at most twice `net.core.wmem_max`), so a client that
    /// stops reading holds no more than that in the kernel; 0 leaves the
    /// kernel's autotuning (up to `net.ipv4.tcp_wmem`'s maximum, often
    /// 4 MiB).
    #[arg(long, default_value_t = 64 * 1024)]
    pub send_buffer_bytes: usize,
    /// On shutdown, how long in-flight pages may take to finish.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub drain_timeout: Duration,
    /// How long a boundary may wait for its data before its timeout content
    /// is shown.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub boundary_timeout: Duration,
    /// How long a page may stream; when it passes, every pending boundary
    /// shows its timeout content and the page ends.
    #[arg(long, default_value = "90s", value_parser = humantime::parse_duration)]
    pub page_deadline: Duration,
    /// Connections open at once; at the cap, new clients wait in the
    /// listen backlog until one closes.
    #[arg(long, default_value_t = 10_000)]
    pub max_connections: usize,
    /// Largest request head (request line and headers), in bytes; larger
    /// gets 431.
    #[arg(long, default_value_t = 16 * 1024)]
    pub max_header_bytes: usize,
    /// Longest request target (path and query), in bytes; longer gets 414.
    #[arg(long, default_value_t = 8 * 1024)]
    pub max_uri_bytes: usize,
    /// Largest request body (the board's forms), in bytes; larger gets 413.
    #[arg(long, default_value_t = 16 * 1024)]
    pub max_body_bytes: usize,
    /// Send pages uncompressed even to clients that accept gzip (static
    /// files keep their precompressed variants).
    #[arg(long)]
    pub no_compression: bool,
    #[command(flatten)]
    pub database: DatabaseArg,
    /// Database connections per instance (PostgreSQL; keep instances ×
    /// this below the server's max_connections), or calls at once (SQLite).
    #[arg(long, default_value_t = 16)]
    pub db_pool_size: usize,
    /// How long to wait for a database connection (to open one, or for a
    /// free one) before the request fails with 503.
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    pub db_connect_timeout: Duration,
    /// How long one database statement may run (PostgreSQL's
    /// statement_timeout; SQLite's wait for its lock).
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub db_statement_timeout: Duration,
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

/// `--static-dir` must be a directory; the error says what to do.
pub fn check_static_dir(dir: &std::path::Path) -> Result<(), String> {
    if dir.is_dir() {
        Ok(())
    } else {
        Err(format!(
            "--static-dir {}: not a directory (run from the project's root, or pass --static-dir)",
            dir.display()
        ))
    }
}

/// The server's validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    /// An existing directory.
    pub static_dir: PathBuf,
    /// At least 1.
    pub threads: usize,
    /// The scheduling slice to ask for; `None` keeps the kernel's.
    pub sched_slice: Option<Duration>,
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub send_timeout: Duration,
    /// `None`: the kernel's autotuning; else at least 4 KiB.
    pub send_buffer_bytes: Option<usize>,
    pub drain_timeout: Duration,
    pub boundary_timeout: Duration,
    pub page_deadline: Duration,
    /// At least 1.
    pub max_connections: usize,
    /// At least 1 KiB.
    pub max_header_bytes: usize,
    /// At least 256 and at most `max_header_bytes`.
    pub max_uri_bytes: usize,
    pub max_body_bytes: usize,
    /// gzip pages for clients that accept it.
    pub compress_pages: bool,
    pub database: DatabaseOptions,
    /// How long startup keeps trying an unavailable database.
    pub db_wait: Duration,
    pub latency: Latency,
}

impl Config {
    /// Validates the flags. The error is a message for the user.
    pub fn from_args(args: ServeArgs) -> Result<Config, String> {
        check_static_dir(&args.static_dir)?;
        Self::checked(args)
    }

    /// Every check but the static directory's.
    fn checked(args: ServeArgs) -> Result<Config, String> {
        let threads = match args.threads {
            Some(0) => return Err("--threads: must be at least 1".into()),
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        for (flag, value) in [
            ("--header-read-timeout", args.header_read_timeout),
            ("--body-read-timeout", args.body_read_timeout),
            ("--send-timeout", args.send_timeout),
            ("--boundary-timeout", args.boundary_timeout),
            ("--page-deadline", args.page_deadline),
            ("--db-connect-timeout", args.db_connect_timeout),
            ("--db-statement-timeout", args.db_statement_timeout),
        ] {
            if value.is_zero() {
                return Err(format!("{flag}: must be more than zero"));
            }
        }
        if args.db_pool_size == 0 {
            return Err("--db-pool-size: must be at least 1".into());
        }
        if args.max_connections == 0 {
            return Err("--max-connections: must be at least 1".into());
        }
        if args.max_header_bytes < 1024 {
            return Err("--max-header-bytes: must be at least 1024".into());
        }
        if (1..4096).contains(&args.send_buffer_bytes) {
            return Err(
                "--send-buffer-bytes: must be 0 (the kernel's autotuning) or at least 4096".into(),
            );
        }
        if !(256..=args.max_header_bytes).contains(&args.max_uri_bytes) {
            return Err(format!(
                "--max-uri-bytes: must be between 256 and --max-header-bytes ({})",
                args.max_header_bytes
            ));
        }
        Ok(Config {
            addr: args.addr,
            static_dir: args.static_dir,
            threads,
            sched_slice: args.sched_slice.0,
            header_read_timeout: args.header_read_timeout,
            body_read_timeout: args.body_read_timeout,
            send_timeout: args.send_timeout,
            send_buffer_bytes: (args.send_buffer_bytes > 0).then_some(args.send_buffer_bytes),
            drain_timeout: args.drain_timeout,
            boundary_timeout: args.boundary_timeout,
            page_deadline: args.page_deadline,
            max_connections: args.max_connections,
            max_header_bytes: args.max_header_bytes,
            max_uri_bytes: args.max_uri_bytes,
            max_body_bytes: args.max_body_bytes,
            compress_pages: !args.no_compression,
            database: DatabaseOptions {
                database: Database::parse(&args.database.value)?,
                pool_size: args.db_pool_size,
                connect_timeout: args.db_connect_timeout,
                statement_timeout: args.db_statement_timeout,
            },
            db_wait: args.db_wait,
            latency: args.latency,
        })
    }

    /// The defaults (the flags' own, so they cannot drift apart) with one
    /// worker thread, serving `static_dir`; for tests and embedding.
    pub fn with_static_dir(static_dir: impl Into<PathBuf>) -> Config {
        let mut args = Cli::parse_from(["suspense-ssr"]).serve;
        args.static_dir = static_dir.into();
        args.threads = Some(1);
        Self::checked(args).expect("the flags' defaults are valid")
    }
}
