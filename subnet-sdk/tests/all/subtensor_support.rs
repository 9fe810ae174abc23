//! A recorded finney node on a real socket, for the Subtensor client's transport tests: a
//! jsonrpsee WebSocket server on 127.0.0.1 that answers from a [`Replay`], counts its
//! connections and each method's requests, can drop every connection at once, and stops and
//! starts again on the same port.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::task::AtomicWaker;
use jsonrpsee::server::{
    PendingSubscriptionSink, RpcModule, Server, ServerHandle, serve_with_graceful_shutdown,
    stop_channel,
};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use serde_json::value::RawValue;
use subforge_sdk::chain::subtensor::replay::Replay;
use subxt::rpcs::client::RpcClientT;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Longest any wait in these tests may take before it counts as a hang.
pub(crate) const HANG_GUARD: Duration = Duration::from_secs(60);

/// The methods the client uses that the replay answers.
const REPLAYED: [&str; 8] = [
    "chain_getBlockHash",
    "system_chain",
    "chain_getHeader",
    "chain_getFinalizedHead",
    "state_call",
    "state_getStorage",
    "state_getStorageAt",
    "state_getRuntimeVersion",
];

fn data(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/subtensor")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The recorded finney answers (read once per test binary).
pub(crate) static RECORDING: LazyLock<String> =
    LazyLock::new(|| String::from_utf8(data("recorded-rpc.json")).unwrap());

/// The runtime metadata served with the recording.
pub(crate) static METADATA: LazyLock<Vec<u8>> = LazyLock::new(|| data("finney-v16-spec393.scale"));

/// The recorded metagraph of subnet 1 at finney block 6 852 690 (1024 neurons).
pub(crate) fn metagraph_replay() -> Replay {
    Replay::from_recording(&RECORDING, "metagraph", METADATA.clone()).unwrap()
}

/// What the node does with a submitted transaction, after counting it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnSubmit {
    /// Drops every connection before answering.
    DropConnection,
    /// Accepts the subscription, then closes it without a single status.
    EndSubscription,
}

/// Everything a node counts; survives restarts.
#[derive(Debug)]
struct State {
    replay: Arc<Replay>,
    on_submit: OnSubmit,
    /// Requests by method, and state calls also as `state_call/<runtime API>`.
    requests: Mutex<HashMap<String, usize>>,
    /// The extrinsics submitted, as sent.
    submissions: Mutex<Vec<String>>,
    /// What `system_accountNextIndex` answers.
    next_index: AtomicU64,
    accepted: AtomicUsize,
    open: Arc<AtomicUsize>,
    /// One switch per connection, to drop it.
    connections: Mutex<Vec<Weak<Kill>>>,
}

impl State {
    fn count(&self, key: String) {
        *self.requests.lock().unwrap().entry(key).or_insert(0) += 1;
    }

    fn drop_connections(&self) {
        let connections = std::mem::take(&mut *self.connections.lock().unwrap());
        for kill in connections.iter().filter_map(Weak::upgrade) {
            kill.fire();
        }
    }

    async fn replayed(
        &self,
        method: &'static str,
        params: Params<'static>,
    ) -> Result<Box<RawValue>, ErrorObjectOwned> {
        self.count(method.to_owned());
        let raw = params
            .as_str()
            .map(|p| RawValue::from_string(p.to_owned()))
            .transpose()
            .map_err(|e| ErrorObjectOwned::owned(-32602, e.to_string(), None::<()>))?;
        if method == "state_call"
            && let Some(api) = raw
                .as_ref()
                .and_then(|p| serde_json::from_str::<Vec<serde_json::Value>>(p.get()).ok())
                .and_then(|p| p.first().and_then(|a| a.as_str().map(str::to_owned)))
        {
            self.count(format!("state_call/{api}"));
        }
        self.replay
            .request_raw(method, raw)
            .await
            .map_err(|e| match e {
                subxt::rpcs::Error::User(u) => ErrorObjectOwned::owned(u.code, u.message, u.data),
                other => ErrorObjectOwned::owned(-32603, other.to_string(), None::<()>),
            })
    }
}

/// A connection's off switch: once fired, its socket fails every read and write, so the
/// server's tasks end and the socket closes.
#[derive(Debug, Default)]
struct Kill {
    fired: AtomicBool,
    reader: AtomicWaker,
    writer: AtomicWaker,
}

impl Kill {
    fn fire(&self) {
        self.fired.store(true, Ordering::SeqCst);
        self.reader.wake();
        self.writer.wake();
    }

    fn fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }
}

/// An accepted socket, counted open until the server lets go of it.
struct Tracked {
    io: TcpStream,
    kill: Arc<Kill>,
    open: Arc<AtomicUsize>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::SeqCst);
    }
}

fn dropped() -> io::Error {
    io::Error::from(io::ErrorKind::ConnectionReset)
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.kill.reader.register(cx.waker());
        if self.kill.fired() {
            return Poll::Ready(Err(dropped()));
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.kill.writer.register(cx.waker());
        if self.kill.fired() {
            return Poll::Ready(Err(dropped()));
        }
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.kill.fired() {
            return Poll::Ready(Err(dropped()));
        }
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.kill.fired() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// The server while it listens.
#[derive(Debug)]
struct Running {
    accept: JoinHandle<()>,
    /// Dropped to stop the connections' graceful shutdown.
    _stop: ServerHandle,
}

/// A recorded node listening on 127.0.0.1.
#[derive(Debug)]
pub(crate) struct Node {
    state: Arc<State>,
    addr: SocketAddr,
    running: Option<Running>,
}

impl Node {
    /// Serves `replay` on a fresh port.
    pub(crate) async fn start(replay: Replay, on_submit: OnSubmit) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            replay: Arc::new(replay),
            on_submit,
            requests: Mutex::default(),
            submissions: Mutex::default(),
            next_index: AtomicU64::new(0),
            accepted: AtomicUsize::new(0),
            open: Arc::new(AtomicUsize::new(0)),
            connections: Mutex::default(),
        });
        let mut node = Self {
            state,
            addr,
            running: None,
        };
        node.serve(listener);
        node
    }

    /// Serves the recorded metagraph of subnet 1.
    pub(crate) async fn metagraph() -> Self {
        Self::start(metagraph_replay(), OnSubmit::DropConnection).await
    }

    fn methods(state: &Arc<State>) -> RpcModule<()> {
        let mut module = RpcModule::new(());
        for method in REPLAYED {
            let state = state.clone();
            module
                .register_async_method(method, move |params, _, _| {
                    let state = state.clone();
                    async move { state.replayed(method, params).await }
                })
                .unwrap();
        }
        let next = state.clone();
        module
            .register_method("system_accountNextIndex", move |_, _, _| {
                next.count("system_accountNextIndex".to_owned());
                next.next_index.load(Ordering::SeqCst)
            })
            .unwrap();
        let submit = state.clone();
        module
            .register_subscription(
                "author_submitAndWatchExtrinsic",
                "author_extrinsicUpdate",
                "author_unwatchExtrinsic",
                move |params: Params<'static>, pending: PendingSubscriptionSink, _, _| {
                    let state = submit.clone();
                    async move {
                        state.count("author_submitAndWatchExtrinsic".to_owned());
                        state
                            .submissions
                            .lock()
                            .unwrap()
                            .push(params.as_str().unwrap_or_default().to_owned());
                        match state.on_submit {
                            OnSubmit::DropConnection => {
                                // Every socket fails before the answer can be written.
                                state.drop_connections();
                                drop(pending);
                                Ok(())
                            }
                            OnSubmit::EndSubscription => {
                                let _sink = pending.accept().await?;
                                Err("the node stopped watching this transaction".into())
                            }
                        }
                    }
                },
            )
            .unwrap();
        module
    }

    fn serve(&mut self, listener: TcpListener) {
        let (stop_handle, server_handle) = stop_channel();
        let methods = Self::methods(&self.state);
        let service = Server::builder().to_service_builder();
        let state = self.state.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((io, _)) = listener.accept().await else {
                    // Out of descriptors, say: let some close.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                state.accepted.fetch_add(1, Ordering::SeqCst);
                state.open.fetch_add(1, Ordering::SeqCst);
                let kill = Arc::new(Kill::default());
                state
                    .connections
                    .lock()
                    .unwrap()
                    .push(Arc::downgrade(&kill));
                let io = Tracked {
                    io,
                    kill,
                    open: state.open.clone(),
                };
                let service = service.clone().build(methods.clone(), stop_handle.clone());
                let stopped = stop_handle.clone().shutdown();
                tokio::spawn(serve_with_graceful_shutdown(io, service, stopped));
            }
        });
        self.running = Some(Running {
            accept,
            _stop: server_handle,
        });
    }

    /// `ws://127.0.0.1:<port>`.
    pub(crate) fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// The replay behind the node.
    pub(crate) fn replay(&self) -> &Replay {
        &self.state.replay
    }

    /// Stops listening and drops every connection, returning once all are closed.
    pub(crate) async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.accept.abort();
            let _ = running.accept.await;
        }
        self.state.drop_connections();
        self.wait_open(0).await;
    }

    /// Listens again on the same port.
    pub(crate) async fn restart(&mut self) {
        assert!(self.running.is_none(), "the node is running");
        let listener = TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }

    /// Waits until exactly `n` connections are open (failing after [`HANG_GUARD`]).
    pub(crate) async fn wait_open(&self, n: usize) {
        let open = &self.state.open;
        tokio::time::timeout(HANG_GUARD, async {
            while open.load(Ordering::SeqCst) != n {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .unwrap_or_else(|_| {
            panic!(
                "{} connections stayed open, expected {n}",
                open.load(Ordering::SeqCst)
            )
        });
    }

    /// Connections accepted so far.
    pub(crate) fn accepted(&self) -> usize {
        self.state.accepted.load(Ordering::SeqCst)
    }

    /// Connections open now.
    pub(crate) fn open(&self) -> usize {
        self.state.open.load(Ordering::SeqCst)
    }

    /// Requests of `method` so far (`state_call/<API>` for one runtime API).
    pub(crate) fn requests(&self, method: &str) -> usize {
        self.state
            .requests
            .lock()
            .unwrap()
            .get(method)
            .copied()
            .unwrap_or(0)
    }

    /// Requests of every method so far.
    pub(crate) fn total_requests(&self) -> usize {
        self.state
            .requests
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| !k.contains('/'))
            .map(|(_, n)| n)
            .sum()
    }

    /// The extrinsics submitted so far.
    pub(crate) fn submissions(&self) -> Vec<String> {
        self.state.submissions.lock().unwrap().clone()
    }

    /// What `system_accountNextIndex` answers from now on.
    pub(crate) fn set_next_index(&self, nonce: u64) {
        self.state.next_index.store(nonce, Ordering::SeqCst);
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            running.accept.abort();
        }
        self.state.drop_connections();
    }
}
