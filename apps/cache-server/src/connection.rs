//! Accepting and serving connections so that slow or idle clients cannot starve the server.
//!
//! `axum::serve` has no header-read timeout, no idle timeout and no connection limit, and
//! its graceful shutdown waits for a client that never finishes its headers. This module
//! serves the router with hyper's HTTP/1 connection directly, and:
//!
//! 1. closes a connection whose request headers do not arrive within the header-read
//!    timeout (hyper's `header_read_timeout`, armed on a new connection and between the
//!    requests of a kept-alive one): slowloris clients that trickle headers are dropped;
//! 2. closes a connection that sends and receives nothing for the idle timeout (a stalled
//!    upload or download), measured on the socket itself;
//! 3. keeps at most `max_connections` open (never more than the open-file limit minus a
//!    reserve for the store's files): at the limit, a new connection closes the connection
//!    idle the longest (no request in progress, so a slowloris one first); when every
//!    connection is busy the new one is closed at once. A client that sends a request, such
//!    as `/health`, is therefore always served, however many idle sockets are held;
//! 4. on shutdown stops accepting, closes every connection without a request in progress
//!    at once, lets the others finish their request, and after the shutdown deadline
//!    returns anyway (the process then exits and the last connections are cut).

use std::collections::HashMap;
use std::io;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::Router;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::service::Service;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};

/// File descriptors kept free for the store (uploads' files, listing, logs).
const FD_RESERVE: u64 = 64;

/// How the connections are limited.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Time to receive a request's headers.
    pub header_read_timeout: Duration,
    /// Time without a byte in either direction.
    pub idle_timeout: Duration,
    /// Connections open at once (before the file limit caps it).
    pub max_connections: u64,
    /// Time the requests in progress have after shutdown began.
    pub shutdown_timeout: Duration,
}

/// The connection limit in effect: `wanted`, capped by the open-file limit.
pub fn effective_max_connections(wanted: u64) -> u64 {
    let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(u64::MAX);
    wanted.min(soft.saturating_sub(FD_RESERVE)).max(1)
}

/// One open connection, as the registry sees it.
struct Conn {
    /// Milliseconds since the server started, at the last byte read or written.
    last_activity: AtomicU64,
    /// Requests whose response is not finished (headers received, body not all sent).
    in_flight: AtomicUsize,
    /// Notified to close the connection now.
    close: Notify,
}

struct Registry {
    started: Instant,
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
    /// Notified when a connection ends (for shutdown).
    ended: Notify,
}

impl Registry {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn len(&self) -> usize {
        self.conns.lock().expect("not poisoned").len()
    }

    /// Makes room for one more connection: closes the connection idle the longest.
    /// `false` when every connection is busy.
    fn evict_idlest(&self) -> bool {
        let mut conns = self.conns.lock().expect("not poisoned");
        let idlest = conns
            .iter()
            .filter(|(_, c)| c.in_flight.load(Ordering::SeqCst) == 0)
            .min_by_key(|(_, c)| c.last_activity.load(Ordering::SeqCst))
            .map(|(id, _)| *id);
        // Out of the registry at once, so that the next eviction picks another.
        match idlest.and_then(|id| conns.remove(&id)) {
            Some(conn) => {
                conn.close.notify_one();
                true
            }
            None => false,
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains as the module
/// documentation says. Returns the number of connections cut at the deadline.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()>,
) -> usize {
    let max =
        usize::try_from(effective_max_connections(limits.max_connections)).unwrap_or(usize::MAX);
    let registry = Arc::new(Registry {
        started: Instant::now(),
        conns: Mutex::new(HashMap::new()),
        ended: Notify::new(),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut next_id = 0u64;
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, _peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // EMFILE and friends: free an idle connection and back off, rather than
                    // spinning on a listener that cannot accept.
                    tracing::warn!(error = %err, "cannot accept a connection");
                    registry.evict_idlest();
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        if registry.len() >= max && !registry.evict_idlest() {
            tracing::warn!(
                max_connections = max,
                "every connection is busy: closing a new one"
            );
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        next_id += 1;
        let conn = Arc::new(Conn {
            last_activity: AtomicU64::new(registry.now_ms()),
            in_flight: AtomicUsize::new(0),
            close: Notify::new(),
        });
        registry
            .conns
            .lock()
            .expect("not poisoned")
            .insert(next_id, Arc::clone(&conn));
        let registry = Arc::clone(&registry);
        let router = router.clone();
        let stop = stop_rx.clone();
        let id = next_id;
        tokio::spawn(async move {
            serve_connection(stream, router, conn, &registry, limits, stop).await;
            registry.conns.lock().expect("not poisoned").remove(&id);
            registry.ended.notify_waiters();
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drained = async {
        loop {
            let ended = registry.ended.notified();
            if registry.len() == 0 {
                break;
            }
            ended.await;
        }
    };
    match tokio::time::timeout(limits.shutdown_timeout, drained).await {
        Ok(()) => 0,
        Err(_) => registry.len(),
    }
}

async fn serve_connection(
    stream: TcpStream,
    router: Router,
    conn: Arc<Conn>,
    registry: &Arc<Registry>,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let io = TokioIo::new(Tracked {
        inner: stream,
        conn: Arc::clone(&conn),
        registry: Arc::clone(registry),
    });
    let service = RequestService {
        inner: TowerToHyperService::new(router),
        conn: Arc::clone(&conn),
        registry: Arc::clone(registry),
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let mut connection = pin!(builder.serve_connection(io, service));
    let idle_ms = u64::try_from(limits.idle_timeout.as_millis()).unwrap_or(u64::MAX);
    let mut stopping = false;
    loop {
        let last = conn.last_activity.load(Ordering::SeqCst);
        let deadline = registry.started + Duration::from_millis(last.saturating_add(idle_ms));
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(err) = result {
                    tracing::debug!(error = %err, "connection closed");
                }
                return;
            }
            () = conn.close.notified() => {
                tracing::debug!("connection closed to make room");
                return;
            }
            () = tokio::time::sleep_until(deadline.into()) => {
                let quiet = registry.now_ms().saturating_sub(conn.last_activity.load(Ordering::SeqCst));
                if quiet >= idle_ms {
                    tracing::debug!(idle_ms = quiet, "idle connection closed");
                    return;
                }
            }
            changed = stop.changed(), if !stopping => {
                stopping = true;
                if changed.is_err() || conn.in_flight.load(Ordering::SeqCst) == 0 {
                    return;
                }
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}

/// The socket, noting when a byte passes.
struct Tracked {
    inner: TcpStream,
    conn: Arc<Conn>,
    registry: Arc<Registry>,
}

impl Tracked {
    fn touch(&self) {
        self.conn
            .last_activity
            .store(self.registry.now_ms(), Ordering::SeqCst);
    }
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.touch();
        }
        result
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// The router as a hyper service that counts a request in progress from its headers to the
/// end of its response's body.
struct RequestService {
    inner: TowerToHyperService<Router>,
    conn: Arc<Conn>,
    registry: Arc<Registry>,
}

impl Service<hyper::Request<Incoming>> for RequestService {
    type Response = hyper::Response<Body>;
    type Error = std::convert::Infallible;
    type Future =
        Pin<Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn call(&self, request: hyper::Request<Incoming>) -> Self::Future {
        let guard = InFlight::new(Arc::clone(&self.conn), Arc::clone(&self.registry));
        let future = self.inner.call(request);
        Box::pin(async move {
            let response = future.await?;
            Ok(response.map(|body| {
                Body::new(Guarded {
                    body,
                    _guard: guard,
                })
            }))
        })
    }
}

/// A request in progress; dropped with the response's body.
struct InFlight {
    conn: Arc<Conn>,
    registry: Arc<Registry>,
}

impl InFlight {
    fn new(conn: Arc<Conn>, registry: Arc<Registry>) -> InFlight {
        conn.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight { conn, registry }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        // The idle clock of a kept-alive connection starts when its last response ends.
        self.conn
            .last_activity
            .store(self.registry.now_ms(), Ordering::SeqCst);
        self.conn.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A response body that holds its request's [`InFlight`].
struct Guarded {
    body: Body,
    _guard: InFlight,
}

impl hyper::body::Body for Guarded {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
