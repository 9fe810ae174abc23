//! The HTTP/1 accept loop the axon and the gateway share: a cap on open connections (the
//! excess closed at once), a deadline on reading request heads, a bound on their size, each
//! request's TCP peer in its extensions ([`Peer`]), and a stop signal that either cuts
//! connections at once or lets requests in flight finish within a grace period.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

/// The TCP peer of a request, put in its extensions by the accept loop.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer(pub(crate) SocketAddr);

/// How a server treats its connections.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServerLimits {
    /// Open connections at most; more are closed as they arrive.
    pub(crate) max_connections: usize,
    /// How long a request head may take to arrive (also how long an idle connection stays).
    pub(crate) header_read_timeout: Duration,
    /// The largest request head read, if not hyper's default.
    pub(crate) max_header_bytes: Option<usize>,
    /// On stop: `None` cuts every connection at once; `Some(grace)` lets requests in flight
    /// finish for up to `grace`, then cuts what is left.
    pub(crate) drain: Option<Duration>,
    /// Names the server in logs.
    pub(crate) name: &'static str,
}

impl ServerLimits {
    /// Limits for a small operator-facing HTTP service (transcripts, the dashboard): 256
    /// connections, 10 s for a request head of at most 16 KiB, in-flight requests finished
    /// within 5 s of a stop.
    pub(crate) const fn small(name: &'static str) -> Self {
        Self {
            max_connections: 256,
            header_read_timeout: Duration::from_secs(10),
            max_header_bytes: Some(16 << 10),
            drain: Some(Duration::from_secs(5)),
            name,
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, in a task of its own.
pub(crate) fn serve_until(
    listener: TcpListener,
    router: axum::Router,
    limits: ServerLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(async move {
        let server = accept_loop(listener, router, limits, stopped);
        let mut server = std::pin::pin!(server);
        tokio::select! {
            () = server.as_mut() => {}
            () = shutdown => {
                let _ = stop.send(true);
                server.await;
            }
        }
    })
}

/// Serves `router` on `listener` until `stop` turns true.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    router: axum::Router,
    limits: ServerLimits,
    mut stop: watch::Receiver<bool>,
) {
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let mut tasks = JoinSet::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    if let Some(bytes) = limits.max_header_bytes {
        http.max_buf_size(bytes);
    }
    loop {
        let accepted = tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => accepted,
        };
        while tasks.try_join_next().is_some() {}
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(server = limits.name, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service =
            hyper::service::service_fn(move |mut req: http::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(Peer(peer));
                let router = router.clone();
                async move {
                    use tower::ServiceExt as _;
                    router.oneshot(req).await
                }
            });
        let conn = http.serve_connection(TokioIo::new(stream), service);
        let mut stopping = stop.clone();
        let drain = limits.drain.is_some();
        tasks.spawn(async move {
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                () = async { let _ = stopping.wait_for(|s| *s).await; }, if drain => {
                    // Finish the request in flight, then close.
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            drop(permit);
        });
    }
    drop(listener);
    if let Some(grace) = limits.drain {
        let drained = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(grace, drained).await.is_err() {
            tracing::warn!(
                server = limits.name,
                "requests still in flight after the grace period were cut"
            );
        }
    }
    // Dropping the set aborts whatever is left.
}
