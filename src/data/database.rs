//! Which database a `--database` value (or `DATABASE_URL`) names, and the
//! settings both stores share.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::TypedValueParser;
use clap::error::ErrorKind;

/// Where the board lives.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file: any value that is not a URL, or `sqlite:PATH`.
    Sqlite(PathBuf),
    /// A PostgreSQL URL: `postgres://` or `postgresql://`.
    Postgres(String),
}

impl Database {
    /// Reads a `--database` value. A URL of any other scheme is an error,
    /// not a file name.
    pub fn parse(value: &str) -> Result<Database, String> {
        let value = value.trim();
        if value.is_empty() {
            return Err("--database: empty (a SQLite file, or postgres://…)".into());
        }
        if let Some(path) = value
            .strip_prefix("sqlite://")
            .or_else(|| value.strip_prefix("sqlite:"))
        {
            return Ok(Database::Sqlite(PathBuf::from(path)));
        }
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            return value
                .parse::<tokio_postgres::Config>()
                .map(|_| Database::Postgres(value.to_owned()))
                .map_err(|e| format!("--database {}: {e}", redact(value)));
        }
        if let Some((scheme, _)) = value.split_once("://") {
            return Err(format!(
                "--database {}: unsupported scheme {scheme:?}: use postgres://USER@HOST/DB or a SQLite file path",
                redact(value)
            ));
        }
        Ok(Database::Sqlite(PathBuf::from(value)))
    }
}

impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "{}", path.display()),
            Database::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A URL with its password (if any) replaced by `***`, for messages and
/// logs.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{path}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// A store's pool and timeouts: the `--database` and `--db-*` flags of
/// `serve` and `export`, declared here, where they are used.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseOptions {
    /// The board's database: a SQLite file (created, migrated and seeded if
    /// new), or a URL postgres://USER:PASSWORD@HOST:PORT/DB (migrated and
    /// seeded if new; several instances may share it).
    #[arg(
        long = "database",
        value_name = "DATABASE",
        env = "DATABASE_URL",
        hide_env_values = true,
        default_value = "data/board.sqlite3",
        value_parser = DatabaseParser
    )]
    pub database: Database,
    /// Database connections per instance (PostgreSQL; keep instances ×
    /// this below the server's max_connections), or calls at once (SQLite).
    #[arg(long = "db-pool-size", value_name = "DB_POOL_SIZE", default_value = "16", value_parser = crate::flags::at_least::<1>)]
    pub pool_size: usize,
    /// How long to wait for a database connection (to open one, or for a
    /// free one) before the request fails with 503.
    #[arg(long = "db-connect-timeout", value_name = "DB_CONNECT_TIMEOUT", default_value = "3s", value_parser = crate::flags::positive_duration)]
    pub connect_timeout: Duration,
    /// How long one database statement may run (PostgreSQL's
    /// statement_timeout; SQLite's wait for its lock); each call is also
    /// bounded by it on the client side, so no request waits on a database
    /// that does not answer.
    #[arg(long = "db-statement-timeout", value_name = "DB_STATEMENT_TIMEOUT", default_value = "5s", value_parser = crate::flags::positive_duration)]
    pub statement_timeout: Duration,
}

impl DatabaseOptions {
    /// The defaults (as the flags') for `database`.
    pub fn new(database: Database) -> Self {
        DatabaseOptions {
            database,
            pool_size: 16,
            connect_timeout: Duration::from_secs(3),
            statement_timeout: Duration::from_secs(5),
        }
    }

    /// How long a call may take in all before it fails as unavailable:
    /// waiting for a connection, then its statements.
    pub(crate) fn call_timeout(&self) -> Duration {
        self.connect_timeout + self.statement_timeout
    }
}

/// `--database`: [`Database::parse`], whose message shows a URL's password
/// as `***`. (clap's own "invalid value" error would echo the value, the
/// password with it.)
#[derive(Clone, Copy, Debug)]
pub(crate) struct DatabaseParser;

impl TypedValueParser for DatabaseParser {
    type Value = Database;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Database, clap::Error> {
        let value = value.to_str().ok_or_else(|| {
            clap::Error::raw(ErrorKind::InvalidUtf8, "--database: not valid UTF-8\n").with_cmd(cmd)
        })?;
        Database::parse(value).map_err(|message| {
            clap::Error::raw(ErrorKind::ValueValidation, message + "\n").with_cmd(cmd)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_name_a_database_or_a_clear_error() {
        let sqlite = |p: &str| Ok(Database::Sqlite(PathBuf::from(p)));
        assert_eq!(
            Database::parse("data/board.sqlite3"),
            sqlite("data/board.sqlite3")
        );
        assert_eq!(Database::parse("sqlite:/tmp/b.db"), sqlite("/tmp/b.db"));
        assert_eq!(Database::parse("sqlite:///tmp/b.db"), sqlite("/tmp/b.db"));
        assert_eq!(
            Database::parse("postgres://board@127.0.0.1:5432/board"),
            Ok(Database::Postgres(
                "postgres://board@127.0.0.1:5432/board".into()
            ))
        );
        assert!(matches!(
            Database::parse("postgresql://u:secret@db/board?connect_timeout=2"),
            Ok(Database::Postgres(_))
        ));
        let error = Database::parse("mysql://root:hunter2@db/board").unwrap_err();
        assert!(error.contains("unsupported scheme \"mysql\""), "{error}");
        assert!(!error.contains("hunter2"), "the password leaked: {error}");
        assert!(Database::parse("").is_err());
        let error = Database::parse("postgres://u:hunter2@db:notaport/board").unwrap_err();
        assert!(!error.contains("hunter2"), "the password leaked: {error}");
    }

    #[test]
    fn passwords_never_show() {
        let db = Database::parse("postgres://board:s3cret@10.0.0.5:5432/board").unwrap();
        assert_eq!(db.to_string(), "postgres://board:***@10.0.0.5:5432/board");
        assert_eq!(
            format!("{db:?}"),
            "postgres://board:***@10.0.0.5:5432/board"
        );
        assert_eq!(redact("postgres://board@h/db"), "postgres://board@h/db");
    }
}
