//! Streaming tasks: a handler that sends chunks as it produces them.
//!
//! A task is streaming when the axon serves it with a [`StreamHandler`] (and a validator
//! reads it with `Dendrite::stream`). On the wire the answer is what the Python SDK's
//! `StreamingSynapse` sends: status 200, `Content-Type: text/event-stream`, then the raw
//! bytes of each chunk as the handler sends it, with no framing of our own. Failures before
//! the first byte (signature, blacklist, ...) are ordinary JSON errors. A stream whose handler
//! returns normally ends with the axon's response signature over every byte it carried, in
//! HTTP trailers, for callers that ask for them (`TE: trailers`, as our dendrite does; the
//! Python SDK's does not, and sees the same stream as before). See `wire::response`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use sha2::{Digest, Sha256};
use subforge_core::{Caller, HandlerError, Task, Verdict, async_trait};
use tokio::sync::mpsc;
use tokio::time::Sleep;

/// How a miner answers a streaming task: it sends chunks into a [`ChunkSink`].
#[async_trait]
pub trait StreamHandler<T: Task>: Send + Sync + 'static {
    /// Produces the answer to `task`, chunk by chunk. Returning ends the stream; an error
    /// after the first chunk just ends it early.
    async fn stream(&self, task: T, caller: &Caller, sink: ChunkSink) -> Result<(), HandlerError>;

    /// Decides whether to serve `caller` at all. Default: registered hotkeys only.
    async fn blacklist(&self, caller: &Caller, _task: &T) -> Verdict {
        if caller.is_registered() {
            Verdict::Allow
        } else {
            Verdict::Deny(format!("hotkey {} is not registered", caller.hotkey))
        }
    }

    /// Orders waiting requests: higher is served first. Default: the caller's stake in TAO.
    fn priority(&self, caller: &Caller, _task: &T) -> f64 {
        caller.stake.tao_f64()
    }
}

/// Where a [`StreamHandler`] sends its chunks; sending waits while the caller is slow to read.
#[derive(Debug, Clone)]
pub struct ChunkSink(pub(crate) mpsc::Sender<Bytes>);

/// The caller went away; the handler should stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the caller is gone")]
pub struct CallerGone;

impl ChunkSink {
    /// Sends one chunk.
    pub async fn send(&self, chunk: impl Into<Bytes>) -> Result<(), CallerGone> {
        self.0.send(chunk.into()).await.map_err(|_| CallerGone)
    }
}

pub(crate) type Producer = Pin<Box<dyn Future<Output = Result<(), HandlerError>> + Send>>;

/// Signs a finished stream: given the SHA-256 (lowercase hex) of every byte sent, the
/// trailers that carry the signature.
pub(crate) type Seal = Box<dyn FnOnce(&str) -> HeaderMap + Send>;

/// The response body of a stream: it drives the handler's future itself, so dropping the
/// body (caller gone) or reaching the deadline drops the handler with it.
pub(crate) struct StreamBody {
    producer: Option<Producer>,
    /// Whether the handler returned `Ok` (known once `producer` is `None`).
    finished_ok: bool,
    rx: mpsc::Receiver<Bytes>,
    deadline: Pin<Box<Sleep>>,
    /// Every byte sent so far, hashed.
    hasher: Sha256,
    seal: Option<Seal>,
    done: bool,
    // Slots held until the stream ends (in-flight counters, handler slot).
    _held: Box<dyn Send + Sync>,
}

impl StreamBody {
    pub(crate) fn new(
        producer: Producer,
        rx: mpsc::Receiver<Bytes>,
        deadline: tokio::time::Instant,
        seal: Option<Seal>,
        held: Box<dyn Send + Sync>,
    ) -> Self {
        Self {
            producer: Some(producer),
            finished_ok: false,
            rx,
            deadline: Box::pin(tokio::time::sleep_until(deadline)),
            hasher: Sha256::new(),
            seal,
            done: false,
            _held: held,
        }
    }
}

impl Body for StreamBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.done {
            return Poll::Ready(None);
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.done = true;
            self.producer = None;
            return Poll::Ready(None);
        }
        if let Some(p) = self.producer.as_mut()
            && let Poll::Ready(outcome) = p.as_mut().poll(cx)
        {
            // Finished (or failed): what it sent is still in the channel.
            self.producer = None;
            self.finished_ok = outcome.is_ok();
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(chunk)) => {
                self.hasher.update(&chunk);
                Poll::Ready(Some(Ok(Frame::data(chunk))))
            }
            // The handler let go of its sink but has not returned: the stream ends when it
            // does (it was polled above, so it wakes us), or at the deadline.
            Poll::Ready(None) if self.producer.is_some() => Poll::Pending,
            Poll::Ready(None) => {
                self.done = true;
                match self.seal.take() {
                    Some(seal) if self.finished_ok => {
                        let digest = hex::encode(std::mem::take(&mut self.hasher).finalize());
                        Poll::Ready(Some(Ok(Frame::trailers(seal(&digest)))))
                    }
                    _ => Poll::Ready(None),
                }
            }
            // When the producer is done its sink is dropped, so the channel closes and
            // `poll_recv`, which registered the waker, wakes us.
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// The channel depth between a stream handler and the connection.
pub(crate) const CHUNK_QUEUE: usize = 16;
