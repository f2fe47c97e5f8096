//! A deadline on every request head of a connection, not only its first.
//!
//! actix-http times the head of a connection's first request (`client_request_timeout`)
//! and the idle time between requests (keep-alive), but once the first byte of a later
//! request has arrived it waits for the rest of that head for as long as the client cares
//! to dribble it: one byte every half second kept a connection open for as long as we
//! watched. [`HeadDeadline`] wraps each accepted connection and fails the read, which makes
//! actix close it, when a head has been arriving for longer than its limit.
//!
//! It knows HTTP/1 only as far as it must: a head starts with the first byte read after a
//! response began (or on a fresh connection) and ends at the first empty line
//! (`\r\n\r\n`). What follows the head is the body's business (`read_limited` gives every
//! body its own deadline) until the answer is written. A head that arrives whole in one read,
//! as every real client's does, costs one scan of its bytes and no timer.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// Where the connection is in its current exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Between an answer and the next request's first byte: actix's keep-alive timer runs.
    Idle,
    /// A head is arriving; `matched` bytes of `\r\n\r\n` ended the last read.
    Head { matched: u8 },
    /// The head has arrived; the request is the handler's until the answer is written.
    Request,
}

/// An accepted connection whose request heads must each arrive within `limit`.
pub struct HeadDeadline<S> {
    io: S,
    limit: Duration,
    stage: Stage,
    /// Armed only while a head is arriving over more than one read; kept for reuse.
    timer: Option<Pin<Box<Sleep>>>,
    timer_armed: bool,
}

impl<S> HeadDeadline<S> {
    pub fn new(io: S, limit: Duration) -> Self {
        Self {
            io,
            limit,
            stage: Stage::Idle,
            timer: None,
            timer_armed: false,
        }
    }

    /// Account for `bytes` just read.
    fn account(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let matched = match self.stage {
            Stage::Request => return,
            Stage::Idle => 0,
            Stage::Head { matched } => matched,
        };
        // The usual case, a whole head in one read: one vectorised search.
        let found = if matched == 0 && memchr::memmem::find(bytes, b"\r\n\r\n").is_some() {
            Ok(())
        } else {
            end_of_head(matched, bytes)
        };
        match found {
            Ok(()) => {
                self.stage = Stage::Request;
                self.timer_armed = false;
            }
            Err(matched) => {
                if self.stage == Stage::Idle {
                    let deadline = Instant::now() + self.limit;
                    match &mut self.timer {
                        Some(timer) => timer.as_mut().reset(deadline),
                        None => self.timer = Some(Box::pin(tokio::time::sleep_until(deadline))),
                    }
                    self.timer_armed = true;
                }
                self.stage = Stage::Head { matched };
            }
        }
    }

    /// Whether the head now arriving has run out of time (registering for a wake-up at its
    /// deadline otherwise).
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        if !self.timer_armed {
            return false;
        }
        self.timer
            .as_mut()
            .is_some_and(|timer| timer.as_mut().poll(cx).is_ready())
    }
}

/// Scan `bytes` for the end of a head, `matched` bytes of `\r\n\r\n` having ended the
/// previous read: `Ok` when found, else how many bytes of it end these.
fn end_of_head(mut matched: u8, bytes: &[u8]) -> Result<(), u8> {
    for &byte in bytes {
        matched = match (matched, byte) {
            (0 | 2, b'\r') => matched + 1,
            (1, b'\n') => 2,
            (3, b'\n') => return Ok(()),
            (_, b'\r') => 1,
            _ => 0,
        };
    }
    Err(matched)
}

impl<S: AsyncRead + Unpin> AsyncRead for HeadDeadline<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.expired(cx) {
            tracing::debug!(
                limit_secs = this.limit.as_secs(),
                "closed a connection whose request head did not arrive in time"
            );
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the request head did not arrive in time",
            )));
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            this.account(&buf.filled()[before..]);
            if this.timer_armed {
                // Register the deadline's wake-up now, so a client that goes quiet mid-head
                // is still cut off.
                let _ = this.expired(cx);
            }
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for HeadDeadline<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.io).poll_write(cx, data);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            // An answer is going out: whatever arrives next starts a new head.
            this.stage = Stage::Idle;
            this.timer_armed = false;
        }
        written
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.io).poll_write_vectored(cx, data);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            this.stage = Stage::Idle;
            this.timer_armed = false;
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[test]
    fn the_end_of_a_head_is_found_across_reads() {
        assert_eq!(end_of_head(0, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), Ok(()));
        assert_eq!(end_of_head(0, b"GET / HTTP/1.1\r\nHost: x\r"), Err(1));
        assert_eq!(end_of_head(1, b"\n\r"), Err(3));
        assert_eq!(end_of_head(3, b"\n"), Ok(()));
        assert_eq!(end_of_head(0, b"a\r\r\n\r\n"), Ok(()));
        assert_eq!(end_of_head(2, b"x"), Err(0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_head_that_dribbles_past_its_limit_fails_the_read() {
        let (client, server) = tokio::io::duplex(1024);
        let mut server = HeadDeadline::new(server, Duration::from_secs(5));
        let mut client = client;
        let mut buf = [0u8; 256];

        // A whole request, then its answer: no timer at all.
        client
            .write_all(b"GET / HTTP/1.1\r\n\r\n")
            .await
            .unwrap_or_default();
        let n = server.read(&mut buf).await.unwrap_or_default();
        assert_eq!(n, 18);
        assert!(!server.timer_armed);
        server
            .write_all(b"HTTP/1.1 200 OK\r\n\r\n")
            .await
            .unwrap_or_default();

        // The next head dribbles: a byte, then silence past the limit.
        client.write_all(b"G").await.unwrap_or_default();
        assert_eq!(server.read(&mut buf).await.unwrap_or_default(), 1);
        assert!(server.timer_armed);
        let started = Instant::now();
        let failed = server.read(&mut buf).await;
        assert_eq!(
            failed.map_err(|e| e.kind()).err(),
            Some(io::ErrorKind::TimedOut)
        );
        assert_eq!(started.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_answer_is_not_a_slow_head() {
        let (mut client, server) = tokio::io::duplex(1024);
        let mut server = HeadDeadline::new(server, Duration::from_secs(5));
        let mut buf = [0u8; 256];
        client
            .write_all(b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n")
            .await
            .unwrap_or_default();
        assert!(server.read(&mut buf).await.unwrap_or_default() > 0);
        // The handler takes a minute; the body comes late: neither is the head's business.
        tokio::time::sleep(Duration::from_secs(60)).await;
        client.write_all(b"ok").await.unwrap_or_default();
        assert_eq!(server.read(&mut buf).await.unwrap_or_default(), 2);
        assert_eq!(server.stage, Stage::Request);
    }
}
