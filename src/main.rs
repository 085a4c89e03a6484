//! The `suspense-ssr` binary: parses flags, binds, serves until SIGINT or
//! SIGTERM.

use std::process::ExitCode;

use clap::Parser;
use suspense_ssr::config::{Cli, Command, Config, ExportArgs, HealthcheckArgs, check_static_dir};
use suspense_ssr::data;
use suspense_ssr::export::Report;
use suspense_ssr::{app, server};
use tracing_subscriber::EnvFilter;

/// What a configuration the user must change exits with (as clap's own
/// errors do).
const USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Serve(config)) => serve(*config),
        Some(Command::Export(args)) => export(args),
        Some(Command::Healthcheck(args)) => healthcheck(args),
        None => serve(cli.serve),
    }
}

/// `suspense-ssr [serve]`: serves until SIGINT or SIGTERM.
fn serve(config: Config) -> ExitCode {
    if let Err(error) = config.validate() {
        eprintln!("error: {error}");
        return ExitCode::from(USAGE);
    }
    init_logging();
    // Before the runtime: its threads inherit the slice from this one.
    if let Some(slice) = config.sched_slice.0 {
        match sched_slice::request(slice) {
            Ok(outcome) => tracing::info!(%outcome, "scheduling"),
            Err(error) => tracing::warn!(%error, "kept the kernel's scheduling slice"),
        }
    }
    let threads = config.threads();
    let Some(runtime) =
        runtime(tokio::runtime::Builder::new_multi_thread().worker_threads(threads))
    else {
        return ExitCode::FAILURE;
    };
    runtime.block_on(async move {
        let listener = match server::bind(config.addr) {
            Ok(listener) => listener,
            Err(error) => {
                eprintln!("error: cannot listen on {}: {error}", config.addr);
                return ExitCode::FAILURE;
            }
        };
        let addr = listener.local_addr().map_or(config.addr, |a| a);
        println!("listening on http://{addr}");
        tracing::info!(threads, static_dir = %config.static_dir.display(), "serving");
        // On a worker thread, not this one (block_on's): each accepted
        // connection's task then starts on the worker that accepted it,
        // instead of waking another thread first.
        let served = tokio::spawn(suspense_ssr::run::run(
            listener,
            config,
            server::shutdown_signal(),
        ));
        match served.await {
            Ok(Ok(())) => ExitCode::SUCCESS,
            Ok(Err(error)) => {
                eprintln!("error: {error}");
                ExitCode::FAILURE
            }
            Err(panicked) => {
                eprintln!("error: the server stopped: {panicked}");
                ExitCode::FAILURE
            }
        }
    })
}

/// Logs to stderr (so stdout's first line is the address), at `RUST_LOG`'s
/// levels or `info`; a panic is one log event in its request's span.
fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colours for a terminal only: not in a file, a journal or a
        // container's log.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    // A panic (the engine catches those in boundaries) is one log event in
    // its request's span, not a bare message on stderr.
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|at| format!("{}:{}", at.file(), at.line()));
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("(not a string)");
        tracing::error!(location, message, "panicked");
    }));
}

/// `suspense-ssr healthcheck`: 0 if the server answers `/healthz` with 200.
fn healthcheck(args: HealthcheckArgs) -> ExitCode {
    match suspense_ssr::health::probe(args.addr, args.timeout) {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("unhealthy: {why}");
            ExitCode::FAILURE
        }
    }
}

/// `suspense-ssr export --out DIR`: one line per file written, then a summary.
fn export(args: ExportArgs) -> ExitCode {
    if let Err(error) = check_static_dir(&args.static_dir) {
        eprintln!("error: {error}");
        return ExitCode::from(USAGE);
    }
    let Some(runtime) = runtime(&mut tokio::runtime::Builder::new_current_thread()) else {
        return ExitCode::FAILURE;
    };
    match runtime.block_on(render_export(&args)) {
        Ok(report) => {
            for page in &report.pages {
                println!("{}", args.out.join(page).display());
            }
            println!(
                "exported {} pages and {} static files ({} bytes) to {}",
                report.pages.len(),
                report.assets,
                report.bytes,
                args.out.display()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: export failed: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Opens the board and renders the exportable pages into `args.out`.
async fn render_export(args: &ExportArgs) -> Result<Report, String> {
    let store = data::open(&args.database)
        .await
        .map_err(|e| format!("the board's database: {e}"))?;
    let state = app::AppState::new(app::engine().build(), store);
    app::export(state, &args.static_dir, true, &args.out)
        .await
        .map_err(|e| e.to_string())
}

/// The runtime `builder` makes, timers and I/O on; `None` after saying why.
fn runtime(builder: &mut tokio::runtime::Builder) -> Option<tokio::runtime::Runtime> {
    builder
        .enable_all()
        .build()
        .inspect_err(|error| eprintln!("error: cannot start the runtime: {error}"))
        .ok()
}
