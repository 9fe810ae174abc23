//! Shutting down cleanly on Ctrl-C (SIGINT) or SIGTERM.

use std::future::Future;

/// Completes when the process receives SIGINT or SIGTERM. The handlers are installed by this
/// call, not at the future's first poll, so a signal that arrives in between (say, right after
/// a "Ctrl-C stops it" line) still stops the process cleanly. Call it inside a Tokio runtime.
#[cfg(unix)]
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let interrupt = signal(SignalKind::interrupt());
    let terminate = signal(SignalKind::terminate());
    async move {
        match (interrupt, terminate) {
            (Ok(mut i), Ok(mut t)) => {
                tokio::select! {
                    _ = i.recv() => {}
                    _ = t.recv() => {}
                }
            }
            (Ok(mut i), Err(_)) => {
                i.recv().await;
            }
            (Err(_), Ok(mut t)) => {
                t.recv().await;
            }
            (Err(_), Err(_)) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}

/// Completes when the process receives Ctrl-C.
#[cfg(not(unix))]
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
