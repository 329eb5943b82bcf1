//! The cloud store as a service: `bvault cloud serve` owns the cluster's
//! cloud folder ([`DirectoryStore`]) and answers [`ObjectStore`] calls over
//! TCP; [`CloudClient`] is the other end, an [`ObjectStore`] a client's
//! driver calls.
//!
//! Why a process: the directory store checks its preconditions against an
//! index in its own memory, so exactly one process may write a folder.
//! Every client goes through the service, which runs one call at a time:
//! conditional puts and deletes are atomic across all clients.
//!
//! Frames are the wire's ([`Kind::CloudRequest`], [`Kind::CloudResponse`]);
//! bodies are the postcard encoding of [`CloudCall`] and [`CloudAnswer`].
//! A body may carry a whole object, so cloud connections admit frames up to
//! [`MAX_OBJECT_SIZE`] plus [`FRAME_OVERHEAD`], and nothing else.
//!
//! What this service does not offer: an S3-compatible backend
//! (`object_store`) is not built; the folder is the only backend.

use crate::codec::FrameCodec;
use crate::error::RuntimeError;
use crate::net::{Listener, Net, Tcp};
use backup_vault::cloud::{
    DirectoryStore, Object, ObjectInfo, ObjectKey, ObjectStore, Precondition, StoreError, Version,
    MAX_OBJECT_SIZE,
};
use backup_vault::wire::{encode_frame, FrameLimits, Kind};
use bytes::Bytes;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio_util::codec::FramedRead;

/// Room in a cloud frame besides the object's bytes (key, version, enum tags).
pub const FRAME_OVERHEAD: u32 = 64 * 1024;

/// The frame limits of a cloud connection: an object and its envelope; no
/// peer frames.
pub const CLOUD_LIMITS: FrameLimits = FrameLimits {
    max_body: MAX_OBJECT_SIZE as u32 + FRAME_OVERHEAD,
    max_peer_body: 0,
};

/// How long a client waits for one cloud answer before calling the store
/// unavailable (the client's retry policy takes it from there).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// A precondition, as it travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cond {
    /// [`Precondition::Any`].
    Any,
    /// [`Precondition::IfAbsent`].
    IfAbsent,
    /// [`Precondition::IfVersion`].
    IfVersion(u64),
}

impl From<Precondition> for Cond {
    fn from(p: Precondition) -> Self {
        match p {
            Precondition::Any => Cond::Any,
            Precondition::IfAbsent => Cond::IfAbsent,
            Precondition::IfVersion(v) => Cond::IfVersion(v.0),
        }
    }
}

impl From<Cond> for Precondition {
    fn from(c: Cond) -> Self {
        match c {
            Cond::Any => Precondition::Any,
            Cond::IfAbsent => Precondition::IfAbsent,
            Cond::IfVersion(v) => Precondition::IfVersion(Version(v)),
        }
    }
}

/// One [`ObjectStore`] call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CloudCall {
    /// `put`.
    Put {
        /// The key.
        key: String,
        /// The bytes.
        data: Vec<u8>,
        /// The condition.
        cond: Cond,
    },
    /// `get`.
    Get {
        /// The key.
        key: String,
    },
    /// `get_version`.
    GetVersion {
        /// The key.
        key: String,
        /// The version.
        version: u64,
    },
    /// `list`.
    List {
        /// The prefix.
        prefix: String,
    },
    /// `delete`.
    Delete {
        /// The key.
        key: String,
        /// The condition.
        cond: Cond,
    },
}

/// The answer to a [`CloudCall`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CloudAnswer {
    /// A put stored this version.
    Put(u64),
    /// A get read this object.
    Got {
        /// Its key.
        key: String,
        /// Its version.
        version: u64,
        /// Its bytes.
        data: Vec<u8>,
    },
    /// A list: (key, version, size) of each object.
    Listed(Vec<(String, u64, u64)>),
    /// A delete took effect.
    Deleted,
    /// The call failed.
    Failed(CloudFailure),
}

/// A [`StoreError`], as it travels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CloudFailure {
    /// [`StoreError::NotFound`].
    NotFound,
    /// [`StoreError::PreconditionFailed`].
    PreconditionFailed(Option<u64>),
    /// [`StoreError::Unavailable`].
    Unavailable,
    /// [`StoreError::TooLarge`].
    TooLarge {
        /// The size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// [`StoreError::Io`], with its message.
    Io(String),
    /// [`StoreError::Corrupt`].
    Corrupt {
        /// The key.
        key: String,
        /// The version.
        version: u64,
    },
    /// [`StoreError::InvalidKey`], with its message.
    InvalidKey(String),
}

impl From<StoreError> for CloudFailure {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => CloudFailure::NotFound,
            StoreError::PreconditionFailed { current } => {
                CloudFailure::PreconditionFailed(current.map(|v| v.0))
            }
            StoreError::TooLarge { size, limit } => CloudFailure::TooLarge { size, limit },
            StoreError::Corrupt { key, version, .. } => CloudFailure::Corrupt {
                key: key.to_string(),
                version: version.0,
            },
            StoreError::InvalidKey(k) => CloudFailure::InvalidKey(k.to_string()),
            StoreError::Io(e) => CloudFailure::Io(e.to_string()),
            _ => CloudFailure::Unavailable,
        }
    }
}

impl CloudFailure {
    fn into_store_error(self) -> StoreError {
        match self {
            CloudFailure::NotFound => StoreError::NotFound,
            CloudFailure::PreconditionFailed(v) => StoreError::PreconditionFailed {
                current: v.map(Version),
            },
            CloudFailure::Unavailable => StoreError::Unavailable,
            CloudFailure::TooLarge { size, limit } => StoreError::TooLarge { size, limit },
            CloudFailure::Io(m) => StoreError::Io(std::io::Error::other(m)),
            CloudFailure::Corrupt { key, version } => match ObjectKey::new(&key) {
                Ok(key) => StoreError::Corrupt {
                    key,
                    version: Version(version),
                    reason: "reported by the cloud service",
                },
                Err(e) => StoreError::InvalidKey(e),
            },
            CloudFailure::InvalidKey(m) => {
                StoreError::Io(std::io::Error::other(format!("invalid key: {m}")))
            }
        }
    }
}

/// Carries out one call on the store.
fn answer(store: &mut dyn ObjectStore, call: CloudCall) -> CloudAnswer {
    let key = |k: &str| ObjectKey::new(k).map_err(StoreError::from);
    let result = match call {
        CloudCall::Put { key: k, data, cond } => key(&k)
            .and_then(|k| store.put(&k, Bytes::from(data), cond.into()))
            .map(|v| CloudAnswer::Put(v.0)),
        CloudCall::Get { key: k } => key(&k).and_then(|k| store.get(&k)).map(got),
        CloudCall::GetVersion { key: k, version } => key(&k)
            .and_then(|k| store.get_version(&k, Version(version)))
            .map(got),
        CloudCall::List { prefix } => store.list(&prefix).map(|infos| {
            CloudAnswer::Listed(
                infos
                    .into_iter()
                    .map(|i| (i.key.to_string(), i.version.0, i.size))
                    .collect(),
            )
        }),
        CloudCall::Delete { key: k, cond } => key(&k)
            .and_then(|k| store.delete(&k, cond.into()))
            .map(|()| CloudAnswer::Deleted),
    };
    result.unwrap_or_else(|e| CloudAnswer::Failed(e.into()))
}

fn got(o: Object) -> CloudAnswer {
    CloudAnswer::Got {
        key: o.key.to_string(),
        version: o.version.0,
        data: o.data.to_vec(),
    }
}

/// Serves the store in `dir` on `addr` over TCP until `shutdown` completes.
///
/// # Errors
/// As [`serve_with`].
pub async fn serve(
    dir: &Path,
    addr: SocketAddr,
    shutdown: impl Future<Output = ()>,
) -> Result<(), RuntimeError> {
    serve_with(Tcp, dir, addr, shutdown).await
}

/// Serves the store in `dir` on `addr` of `net` until `shutdown` completes.
///
/// # Errors
/// [`RuntimeError::File`] if the folder cannot be opened;
/// [`RuntimeError::Listen`] if the address is taken.
pub async fn serve_with<N: Net>(
    net: N,
    dir: &Path,
    addr: SocketAddr,
    shutdown: impl Future<Output = ()>,
) -> Result<(), RuntimeError> {
    let store = DirectoryStore::open(dir).map_err(|e| RuntimeError::File {
        path: dir.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let store = Arc::new(Mutex::new(store));
    let listener = net
        .bind(addr)
        .await
        .map_err(|source| RuntimeError::Listen { addr, source })?;
    tracing::info!(%addr, dir = %dir.display(), "cloud service listening");
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => return Ok(()),
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                net.spawn(serve_connection(stream, store.clone()));
            }
        }
    }
}

async fn serve_connection(
    stream: impl AsyncRead + AsyncWrite + Send + 'static,
    store: Arc<Mutex<DirectoryStore>>,
) {
    let (read, mut write) = tokio::io::split(stream);
    let mut frames = FramedRead::new(read, FrameCodec::new(CLOUD_LIMITS));
    while let Some(Ok(frame)) = frames.next().await {
        let Ok(call) = frame.decode_as::<CloudCall>(Kind::CloudRequest) else {
            return;
        };
        // One call at a time over the whole store: the lock is the
        // service's atomicity. File I/O leaves the async threads where the
        // runtime has others, and runs in place in a single-threaded one
        // (where a blocking pool's threads would make a simulation's
        // timing depend on the operating system's scheduler).
        let reply = crate::node::blocking(|| {
            let mut store = store
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            answer(&mut *store, call)
        });
        let Ok(bytes) = encode_frame(Kind::CloudResponse, &reply, &CLOUD_LIMITS) else {
            return;
        };
        if write.write_all(&bytes).await.is_err() {
            return;
        }
    }
}

/// A connection to the cloud service, reopened after any failure.
pub struct CloudClient<N: Net = Tcp> {
    net: N,
    addr: SocketAddr,
    conn: Option<FramedRead<ReadHalf<N::Stream>, FrameCodec>>,
    write: Option<WriteHalf<N::Stream>>,
}

impl CloudClient<Tcp> {
    /// A client of the service at `addr` over TCP (it connects on the
    /// first call).
    pub fn new(addr: SocketAddr) -> Self {
        CloudClient::on(Tcp, addr)
    }
}

impl<N: Net> CloudClient<N> {
    /// A client of the service at `addr` of `net` (it connects on the
    /// first call).
    pub fn on(net: N, addr: SocketAddr) -> Self {
        CloudClient {
            net,
            addr,
            conn: None,
            write: None,
        }
    }

    /// Makes one call. A connection or protocol failure, or no answer
    /// within 30 s, is [`StoreError::Unavailable`]: the put may or may not
    /// have happened, as the store's contract allows.
    pub async fn call(&mut self, call: CloudCall) -> Result<CloudAnswer, StoreError> {
        let result = tokio::time::timeout(CALL_TIMEOUT, self.try_call(call)).await;
        match result {
            Ok(Some(answer)) => Ok(answer),
            _ => {
                self.conn = None;
                self.write = None;
                Err(StoreError::Unavailable)
            }
        }
    }

    async fn try_call(&mut self, call: CloudCall) -> Option<CloudAnswer> {
        if self.write.is_none() {
            let stream = self.net.connect(self.addr).await.ok()?;
            let (read, write) = tokio::io::split(stream);
            self.conn = Some(FramedRead::new(read, FrameCodec::new(CLOUD_LIMITS)));
            self.write = Some(write);
        }
        let bytes = encode_frame(Kind::CloudRequest, &call, &CLOUD_LIMITS).ok()?;
        self.write.as_mut()?.write_all(&bytes).await.ok()?;
        let frame = self.conn.as_mut()?.next().await?.ok()?;
        frame.decode_as::<CloudAnswer>(Kind::CloudResponse).ok()
    }

    /// `ObjectStore::put`.
    ///
    /// # Errors
    /// As [`ObjectStore::put`].
    pub async fn put(
        &mut self,
        key: &ObjectKey,
        data: Bytes,
        cond: Precondition,
    ) -> Result<Version, StoreError> {
        let call = CloudCall::Put {
            key: key.to_string(),
            data: data.to_vec(),
            cond: cond.into(),
        };
        match self.call(call).await? {
            CloudAnswer::Put(v) => Ok(Version(v)),
            other => Err(unexpected(other)),
        }
    }

    /// `ObjectStore::get` or `get_version`.
    ///
    /// # Errors
    /// As [`ObjectStore::get`].
    pub async fn get(
        &mut self,
        key: &ObjectKey,
        version: Option<Version>,
    ) -> Result<Object, StoreError> {
        let call = match version {
            Some(v) => CloudCall::GetVersion {
                key: key.to_string(),
                version: v.0,
            },
            None => CloudCall::Get {
                key: key.to_string(),
            },
        };
        match self.call(call).await? {
            CloudAnswer::Got { key, version, data } => Ok(Object {
                key: ObjectKey::new(&key)?,
                version: Version(version),
                data: Bytes::from(data),
            }),
            other => Err(unexpected(other)),
        }
    }

    /// `ObjectStore::list`.
    ///
    /// # Errors
    /// As [`ObjectStore::list`].
    pub async fn list(&mut self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        let call = CloudCall::List {
            prefix: prefix.to_string(),
        };
        match self.call(call).await? {
            CloudAnswer::Listed(items) => items
                .into_iter()
                .map(|(key, version, size)| {
                    Ok(ObjectInfo {
                        key: ObjectKey::new(&key)?,
                        version: Version(version),
                        size,
                    })
                })
                .collect(),
            other => Err(unexpected(other)),
        }
    }

    /// `ObjectStore::delete`.
    ///
    /// # Errors
    /// As [`ObjectStore::delete`].
    pub async fn delete(&mut self, key: &ObjectKey, cond: Precondition) -> Result<(), StoreError> {
        let call = CloudCall::Delete {
            key: key.to_string(),
            cond: cond.into(),
        };
        match self.call(call).await? {
            CloudAnswer::Deleted => Ok(()),
            other => Err(unexpected(other)),
        }
    }
}

fn unexpected(answer: CloudAnswer) -> StoreError {
    match answer {
        CloudAnswer::Failed(f) => f.into_store_error(),
        _ => StoreError::Io(std::io::Error::other(
            "the cloud service answered another call",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_service_keeps_the_store_contract_across_clients() {
        let tmp = tempfile::tempdir().expect("tmp");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        let dir = tmp.path().join("cloud");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn({
            let dir = dir.clone();
            async move {
                serve(&dir, addr, async {
                    let _ = stopped.await;
                })
                .await
            }
        });
        let key = ObjectKey::new("users/1/backup").expect("key");
        let mut a = CloudClient::new(addr);
        let mut b = CloudClient::new(addr);
        let mut v1 = Err(StoreError::Unavailable);
        for _ in 0..100 {
            v1 = a
                .put(&key, Bytes::from_static(b"one"), Precondition::IfAbsent)
                .await;
            if !matches!(v1, Err(StoreError::Unavailable)) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let v1 = v1.expect("first put");
        // The other client's conditional put sees the first one.
        assert!(matches!(
            b.put(&key, Bytes::from_static(b"two"), Precondition::IfAbsent).await,
            Err(StoreError::PreconditionFailed { current: Some(v) }) if v == v1
        ));
        let v2 = b
            .put(
                &key,
                Bytes::from_static(b"two"),
                Precondition::IfVersion(v1),
            )
            .await
            .expect("second put");
        assert!(v2 > v1);
        let got = a.get(&key, None).await.expect("get");
        assert_eq!((got.version, &got.data[..]), (v2, &b"two"[..]));
        let old = a.get(&key, Some(v1)).await.expect("old version");
        assert_eq!(&old.data[..], b"one");
        let listed = b.list("users/").await.expect("list");
        assert_eq!(listed.len(), 1);
        b.delete(&key, Precondition::IfVersion(v2))
            .await
            .expect("delete");
        assert!(matches!(a.get(&key, None).await, Err(StoreError::NotFound)));
        let _ = stop.send(());
        server.await.expect("join").expect("served");
        // Nothing listens now: a new client reports the store unavailable.
        let mut late = CloudClient::new(addr);
        assert!(matches!(late.list("").await, Err(StoreError::Unavailable)));
    }
}
