//! An application served with plain `axum::serve` on `127.0.0.1:0`, as a
//! user of the engine serves theirs; stopped when dropped.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::WAIT;

/// A running `axum::serve` on a loopback port.
pub struct Served {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<std::io::Result<()>>>,
}

/// What a server started by [`Served::spawn`] waits on to shut down.
pub type Shutdown = Pin<Box<dyn Future<Output = ()> + Send>>;

impl Served {
    /// Serves `router` with plain `axum::serve` until [`stop`](Self::stop)
    /// or drop.
    pub async fn start(router: Router) -> Self {
        Self::spawn(Self::bind().await, |listener, shutdown| async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(shutdown)
                .await
        })
    }

    /// A listener on a free loopback port.
    pub async fn bind() -> TcpListener {
        TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0")
    }

    /// Runs `serve(listener, shutdown)` in a task: any server that stops
    /// gracefully when `shutdown` completes.
    pub fn spawn<F, Fut>(listener: TcpListener, serve: F) -> Self
    where
        F: FnOnce(TcpListener, Shutdown) -> Fut,
        Fut: Future<Output = std::io::Result<()>> + Send + 'static,
    {
        let addr = listener.local_addr().expect("local addr");
        let (tx, rx) = oneshot::channel::<()>();
        let shutdown: Shutdown = Box::pin(async move {
            let _ = rx.await;
        });
        let handle = tokio::spawn(serve(listener, shutdown));
        Served {
            addr,
            shutdown: Some(tx),
            handle: Some(handle),
        }
    }

    /// `http://ADDR/PATH`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Asks for a graceful shutdown and waits (bounded) for the server to
    /// return: it returns once every open response has ended.
    pub async fn stop(mut self) -> std::io::Result<()> {
        let _ = self.shutdown.take().expect("not stopped yet").send(());
        let handle = self.handle.take().expect("not stopped yet");
        tokio::time::timeout(WAIT, handle)
            .await
            .expect("server did not stop in time")
            .expect("server task panicked")
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle.abort();
        }
    }
}
