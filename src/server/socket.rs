//! What an accepted connection costs the host's kernel, beside what it costs
//! this process: a bounded queue of unsent bytes, and nothing left behind
//! when the send timeout gives up on a client.
//!
//! Linux grows an accepted socket's send buffer by itself (autotuning, up to
//! `net.ipv4.tcp_wmem`'s maximum, 4 MiB on most hosts) while the socket
//! takes data faster than it can send, and a client that stops reading lets
//! it fill. Each such client cost the host about 3.8 MiB of TCP memory
//! (docs/hardening.md, "What a stalled reader costs the kernel").
//! `TCP_NOTSENT_LOWAT` bounds only the bytes not yet sent: a stalled reader
//! (whose window is shut) leaves at most about that much queued, while a
//! client that reads keeps autotuning, its bytes in flight growing with the
//! round trip (a fixed `SO_SNDBUF`, tried first, bounded both, and so capped
//! one connection at about 128 KiB per round trip).
//!
//! And a normal close keeps what is still queued: the kernel goes on trying
//! to send it, as an orphan, for as long as the client keeps its window
//! shut. When the send timeout fires the server has given up on the client,
//! so [`TimedSocket`] makes that close abortive (`SO_LINGER` 0, so the
//! kernel sends an RST and frees the queue at once), as nginx's
//! `reset_timedout_connection` does. Every other close stays graceful, so a
//! response that was written whole still reaches its client whole.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use socket2::SockRef;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_io_timeout::TimeoutWriter;

/// Lets `stream` queue at most about `bytes` not yet sent (a write waits
/// until fewer are); what is in flight is not counted.
pub(crate) fn limit_unsent(stream: &TcpStream, bytes: u32) -> io::Result<()> {
    SockRef::from(stream).set_tcp_notsent_lowat(bytes)
}

/// An accepted connection whose writes fail with `TimedOut` once one has
/// made no progress for the send timeout; after such a failure, closing it
/// resets the connection.
///
/// The timer runs only while a write waits on the socket, so a page waiting
/// for its data, or a client reading slowly but steadily, is never cut off.
/// (Boxed: the timer inside must not move, and hyper wants an `Unpin` IO.)
pub(crate) struct TimedSocket {
    inner: Pin<Box<TimeoutWriter<TcpStream>>>,
}

impl TimedSocket {
    pub(crate) fn new(stream: TcpStream, send_timeout: Duration) -> Self {
        let mut inner = TimeoutWriter::new(stream);
        inner.set_timeout(Some(send_timeout));
        TimedSocket {
            inner: Box::pin(inner),
        }
    }

    /// Passes `result` on; if it is the send timeout, first sets `SO_LINGER`
    /// to 0, so that the close which follows (hyper drops the connection on
    /// the error) sends an RST and the kernel drops the unsent bytes.
    fn reset_on_timeout<T>(&self, result: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if let Poll::Ready(Err(error)) = &result
            && error.kind() == io::ErrorKind::TimedOut
            && let Err(error) = self.inner.get_ref().set_zero_linger()
        {
            tracing::debug!(%error, "could not set SO_LINGER 0 on a timed-out connection");
        }
        result
    }
}

impl AsyncRead for TimedSocket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.get_mut().inner.as_mut().poll_read(cx, buf)
    }
}

impl AsyncWrite for TimedSocket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = this.inner.as_mut().poll_write(cx, buf);
        this.reset_on_timeout(result)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = this.inner.as_mut().poll_write_vectored(cx, bufs);
        this.reset_on_timeout(result)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = this.inner.as_mut().poll_flush(cx);
        this.reset_on_timeout(result)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = this.inner.as_mut().poll_shutdown(cx);
        this.reset_on_timeout(result)
    }
}
