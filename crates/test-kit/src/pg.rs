//! Throwaway PostgreSQL servers for tests: Debian's server binaries
//! (`initdb`, `pg_ctl`), a fresh cluster in a directory of its own under
//! `target/pg`, listening on a free loopback port only (no Unix socket),
//! trust authentication, `fsync` off. Run as the `postgres` user when the
//! tests run as root (PostgreSQL refuses root). Stopped when dropped.
//!
//! `scripts/test` starts one shared cluster for the whole run and says
//! where in `TEST_DATABASE_URL`; [`Postgres::for_test`] uses it when it is
//! there and starts a private cluster otherwise (so `cargo test` alone works
//! too). A test that stops and starts its server starts a private one with
//! [`PgCluster::start`].

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::{SKIP_MARK, target_dir};

/// Where Debian keeps the server binaries: the newest version installed.
pub fn bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// Whether the server binaries are here; if not, fails under `CI=true` and
/// otherwise prints the skip line `scripts/test` counts.
pub fn have_postgres(test: &str) -> bool {
    if bin_dir().is_some() {
        return true;
    }
    let why = "PostgreSQL's server binaries are missing (Debian package postgresql; scripts/test installs it when run as root)";
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("{test}: {why}");
    }
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{SKIP_MARK}: {test}: {why}");
    false
}

/// A PostgreSQL server of this test's own.
pub struct PgCluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
}

impl PgCluster {
    /// initdb and start a new cluster named `name` (a directory under
    /// `target/pg`); `None` (after [`have_postgres`]'s message) without
    /// the binaries.
    pub fn start(name: &str) -> Option<PgCluster> {
        if !have_postgres(name) {
            return None;
        }
        let bin = bin_dir().expect("checked");
        let dir = target_dir()
            .join("pg")
            .join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the cluster's directory");
        if is_root() {
            chown_to_postgres(&dir);
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let cluster = PgCluster { dir, bin, port };
        cluster.run(
            "initdb",
            &[
                "-D",
                &cluster.data().to_string_lossy(),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        cluster.start_again();
        Some(cluster)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// `postgres://postgres@127.0.0.1:PORT/DB`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Starts the server (again), waiting until it accepts connections.
    pub fn start_again(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off -c full_page_writes=off -c max_connections=200",
            self.port
        );
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data().to_string_lossy(),
                "-l",
                &self.dir.join("server.log").to_string_lossy(),
                "-o",
                &options,
                "-w",
                "-t",
                "30",
                "start",
            ],
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "postgres did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server the way an operator does (`pg_ctl stop -m fast`:
    /// open sessions are ended), waiting until it has stopped.
    pub fn stop(&self) {
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data().to_string_lossy(),
                "-m",
                "fast",
                "-w",
                "-t",
                "30",
                "stop",
            ],
        );
    }

    fn run(&self, tool: &str, args: &[&str]) -> Output {
        run_as_postgres(&self.bin.join(tool), args, &self.dir)
    }
}

impl Drop for PgCluster {
    /// Stops the server at once and removes the cluster (tens of MB).
    fn drop(&mut self) {
        let _ = command_as_postgres(&self.bin.join("pg_ctl"))
            .args([
                "-D",
                &self.data().to_string_lossy(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ])
            .current_dir(&self.dir)
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The database server a test uses: the run's shared one
/// (`TEST_DATABASE_URL`, from `scripts/test`) or a private cluster.
pub enum Postgres {
    Shared(String),
    Private(PgCluster),
}

impl Postgres {
    /// The shared server if `scripts/test` started one, else a private
    /// cluster named `name`; `None` without PostgreSQL (see
    /// [`have_postgres`]).
    pub fn for_test(name: &str) -> Option<Postgres> {
        match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => Some(Postgres::Shared(url)),
            _ => PgCluster::start(name).map(Postgres::Private),
        }
    }

    /// The URL of database `db` on this server (which must exist).
    pub fn url(&self, db: &str) -> String {
        match self {
            Postgres::Private(cluster) => cluster.url(db),
            Postgres::Shared(url) => {
                // Replace the path (the maintenance database) with `db`.
                let (scheme, rest) = url.split_once("://").expect("a URL");
                let authority = rest.split(['/', '?']).next().unwrap_or(rest);
                format!("{scheme}://{authority}/{db}")
            }
        }
    }
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn chown_to_postgres(dir: &Path) {
    let status = Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(dir)
        .status()
        .expect("chown");
    assert!(status.success(), "chown {} to postgres", dir.display());
}

fn command_as_postgres(tool: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(tool);
        command
    } else {
        Command::new(tool)
    }
}

fn run_as_postgres(tool: &Path, args: &[&str], dir: &Path) -> Output {
    let output = command_as_postgres(tool)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", tool.display()));
    assert!(
        output.status.success(),
        "{} {args:?} failed: {}{}",
        tool.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}
