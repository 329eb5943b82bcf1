//! The runtime's one seam to the network: the node driver, the cloud
//! service and the client reach sockets, and start their background tasks,
//! only through [`Net`].
//!
//! [`Tcp`] is the operating system's TCP, what `bvault` runs on. The tests
//! put turmoil's simulated network behind the same trait
//! (`runtime/tests/turmoil_cluster.rs`), so the driver that runs in
//! production is the one run under partitions and message loss with a
//! seed that replays.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use tokio::io::{AsyncRead, AsyncWrite};

/// A stream-socket network: listen on an address, connect to one.
///
/// Implementations hand back streams ready for small frames (Nagle off
/// where the network has it).
pub trait Net: Clone + Send + Sync + 'static {
    /// A connection.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    /// A listening socket.
    type Listener: Listener<Stream = Self::Stream>;

    /// Listens on `addr`.
    ///
    /// # Errors
    /// The network's error, for example the address is taken.
    fn bind(&self, addr: SocketAddr) -> impl Future<Output = io::Result<Self::Listener>> + Send;

    /// Connects to `addr`.
    ///
    /// # Errors
    /// The network's error, for example nothing listens there.
    fn connect(&self, addr: SocketAddr) -> impl Future<Output = io::Result<Self::Stream>> + Send;

    /// Runs `task` in the background on the current runtime; the handle
    /// aborts it. [`Tcp`]: `tokio::spawn`. A simulation keeps its tasks
    /// where their teardown order is its own: when turmoil crashes a host
    /// it drops the host's runtime, whose spawned tasks go in an order set
    /// by process-wide task ids, and each dropped socket sends into the
    /// simulated network, so a crash would replay differently from one run
    /// to the next (measured); tasks on the host's `LocalSet` go in the
    /// order they were spawned.
    fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<()>
    where
        F: Future<Output = ()> + Send + 'static;
}

/// A listening socket of a [`Net`].
pub trait Listener: Send + 'static {
    /// The connections it accepts.
    type Stream;

    /// The next connection and its peer's address.
    ///
    /// # Errors
    /// The network's error (the caller retries).
    fn accept(&self) -> impl Future<Output = io::Result<(Self::Stream, SocketAddr)>> + Send;
}

/// The operating system's TCP.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tcp;

impl Net for Tcp {
    type Stream = tokio::net::TcpStream;
    type Listener = tokio::net::TcpListener;

    async fn bind(&self, addr: SocketAddr) -> io::Result<Self::Listener> {
        tokio::net::TcpListener::bind(addr).await
    }

    async fn connect(&self, addr: SocketAddr) -> io::Result<Self::Stream> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        // Frames are small and each waits for an answer: no Nagle delay.
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }

    fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        tokio::spawn(task)
    }
}

impl Listener for tokio::net::TcpListener {
    type Stream = tokio::net::TcpStream;

    async fn accept(&self) -> io::Result<(Self::Stream, SocketAddr)> {
        let (stream, addr) = tokio::net::TcpListener::accept(self).await?;
        let _ = stream.set_nodelay(true);
        Ok((stream, addr))
    }
}
