//! What a test logged: a `tracing` subscriber on the test's thread that
//! writes into memory, for assertions on the lines.

use std::sync::{Arc, Mutex};

use tracing::subscriber::DefaultGuard;

/// The lines logged on this thread while its guard lives.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    /// Everything at `level` or above logged on this thread from now until
    /// the guard drops (a `#[tokio::test]` runs on one thread: the server
    /// and each page's body too), as the fmt subscriber writes it, without
    /// colours.
    pub fn capture(level: tracing::Level) -> (Logs, DefaultGuard) {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        (logs, tracing::subscriber::set_default(subscriber))
    }

    /// What was logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}
