//! Target `runtime_inputs`: every parser of outside bytes in the runtime
//! (`backup-vault-runtime`), one per value of the input's first byte:
//!
//! | first byte % 5 | parser | checks besides no panic |
//! |---|---|---|
//! | 0 | an emulated HSM's `nvram` file (`hsm::read_nvram`) | a counter read re-encodes to an image that reads back the same |
//! | 1 | a client device's state file (`device::parse`) | a state read encodes to a file that parses back the same |
//! | 2 | `cluster.toml` (`ClusterFile::parse`) | a file read prints to text that parses back the same |
//! | 3 | cloud service frame bodies (`CloudCall`, `CloudAnswer`, `PeerHello`) | a body read re-encodes to a body that decodes the same |
//! | 4 | a byte stream on a cloud connection (`FrameCodec` under `CLOUD_LIMITS`) | frames come out whole, and the codec stops at the first error |

use crate::seeds::Seed;
use backup_vault::vault::ids::{LogIndex, NodeId, Term, UserId};
use backup_vault::vault::raft::watermark::Watermark;
use backup_vault::wire::{self, Kind, PeerHello};
use backup_vault_runtime::cloud::{CloudAnswer, CloudCall, CloudFailure, Cond, CLOUD_LIMITS};
use backup_vault_runtime::codec::FrameCodec;
use backup_vault_runtime::{device, hsm, ClusterFile};
use bytes::BytesMut;
use tokio_util::codec::Decoder;

const TARGET: &str = "runtime_inputs";

/// Limits that admit every body this target decodes: cloud frames, and the
/// peer hello (a peer frame, which cloud connections refuse).
const BODY_LIMITS: wire::FrameLimits = wire::FrameLimits {
    max_body: CLOUD_LIMITS.max_body,
    max_peer_body: wire::FrameLimits::DEFAULT.max_peer_body,
};

/// The target. See the module documentation.
pub fn runtime_inputs(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 5 {
        0 => {
            if let Some((seq, w)) = hsm::read_nvram(rest) {
                assert_eq!(hsm::read_nvram(&hsm::nvram_image(seq, &w)), Some((seq, w)));
            }
        }
        1 => {
            if let Ok(state) = device::parse(rest) {
                let again = device::encode(&state);
                assert_eq!(device::parse(&again), Ok(state));
            }
        }
        2 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                if let Ok(file) = ClusterFile::parse(text) {
                    assert_eq!(ClusterFile::parse(&file.to_text()), Ok(file));
                }
            }
        }
        3 => {
            round_trip::<CloudCall>(Kind::CloudRequest, rest);
            round_trip::<CloudAnswer>(Kind::CloudResponse, rest);
            round_trip::<PeerHello>(Kind::PeerHello, rest);
        }
        _ => {
            let mut codec = FrameCodec::new(CLOUD_LIMITS);
            // The bytes arrive in two reads, split where the input says.
            let cut = rest.first().map_or(0, |&b| usize::from(b)).min(rest.len());
            let mut buf = BytesMut::from(&rest[..cut]);
            let mut failed = false;
            for more in [&rest[cut..], &[][..]] {
                loop {
                    match codec.decode(&mut buf) {
                        Ok(Some(frame)) => {
                            let _ = frame.decode_as::<CloudCall>(Kind::CloudRequest);
                        }
                        Ok(None) => break,
                        Err(_) => {
                            failed = true;
                            break;
                        }
                    }
                }
                if failed {
                    // A failed stream stays failed.
                    assert!(codec.decode(&mut BytesMut::from(&b"more"[..])).is_err());
                    return;
                }
                buf.extend_from_slice(more);
            }
        }
    }
}

fn round_trip<T>(kind: Kind, body: &[u8])
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    if let Ok(value) = wire::decode_body::<T>(kind, body) {
        let frame = wire::encode_frame(kind, &value, &BODY_LIMITS).expect("re-encodes");
        let (k, again, used) = wire::decode_frame::<T>(&frame, &BODY_LIMITS).expect("decodes");
        assert_eq!((k, &again, used), (kind, &value, frame.len()));
    }
}

/// Seeds: a valid input for every parser, and a damaged one.
pub fn runtime_inputs_seeds() -> Vec<Seed> {
    let seed = |name: &str, which: u8, bytes: Vec<u8>| {
        let mut all = vec![which];
        all.extend(bytes);
        Seed {
            target: TARGET,
            name: name.to_string(),
            bytes: all,
        }
    };
    let w = Watermark {
        term: Term(3),
        voted_for: Some(NodeId(1)),
        log: (Term(3), LogIndex(9)),
    };
    let image = hsm::nvram_image(5, &w);
    let mut torn = image.clone();
    torn[128 + 20] ^= 1;
    let mut state = backup_vault::client::state::DeviceState::new(UserId(4));
    state.acknowledged = backup_vault::format::Generation(2);
    state.written = backup_vault::format::Generation(3);
    let cluster = concat!(
        "[cluster]\nnodes = 3\nrollback_tolerance = 0\nguess_limit = 10\n",
        "fleet_public_key = \"e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76\"\n",
        "ksf = \"cheap\"\n\n[cloud]\ndir = \"cloud\"\naddr = \"127.0.0.1:7300\"\n\n",
        "[[node]]\nid = 0\npeer = \"127.0.0.1:7100\"\nclient = \"127.0.0.1:7200\"\ndir = \"node-0\"\n\n",
        "[[node]]\nid = 1\npeer = \"127.0.0.1:7101\"\nclient = \"127.0.0.1:7201\"\ndir = \"node-1\"\n\n",
        "[[node]]\nid = 2\npeer = \"127.0.0.1:7102\"\nclient = \"127.0.0.1:7202\"\ndir = \"node-2\"\n",
    );
    let call = CloudCall::Put {
        key: "users/4/backups/2".into(),
        data: b"ciphertext".to_vec(),
        cond: Cond::IfVersion(3),
    };
    let body = |kind, value: &dyn erased::Body| value.body(kind);
    let frames = [
        wire::encode_frame(Kind::CloudRequest, &call, &CLOUD_LIMITS).expect("frames"),
        wire::encode_frame(
            Kind::CloudRequest,
            &CloudCall::List {
                prefix: "users/".into(),
            },
            &CLOUD_LIMITS,
        )
        .expect("frames"),
    ]
    .concat();
    vec![
        seed("nvram", 0, image),
        seed("nvram-torn-newest", 0, torn),
        seed("device", 1, device::encode(&state).to_vec()),
        seed("device-bad-mode", 1, br#"{"user":1,"mode":"x","key":null,"registration":null,"acknowledged":0,"manifest_version":null}"#.to_vec()),
        seed("cluster", 2, cluster.as_bytes().to_vec()),
        seed("cluster-missing-node", 2, cluster.replace("id = 2", "id = 1").into_bytes()),
        seed("cloud-put", 3, body(Kind::CloudRequest, &call)),
        seed(
            "cloud-failed",
            3,
            body(Kind::CloudResponse, &CloudAnswer::Failed(CloudFailure::PreconditionFailed(Some(3)))),
        ),
        seed("peer-hello", 3, body(Kind::PeerHello, &PeerHello { from: NodeId(2), fleet: [7; 32] })),
        seed("cloud-stream", 4, frames.clone()),
        seed("cloud-stream-bad-magic", 4, [&[0x10, 0, 0][..], &frames].concat()),
    ]
}

/// Frame bodies of values of different types, for the seeds.
mod erased {
    use super::BODY_LIMITS;
    use backup_vault::wire::{self, Kind};

    pub trait Body {
        fn body(&self, kind: Kind) -> Vec<u8>;
    }

    impl<T: serde::Serialize> Body for T {
        fn body(&self, kind: Kind) -> Vec<u8> {
            let frame = wire::encode_frame(kind, self, &BODY_LIMITS).expect("frames");
            frame[wire::HEADER_LEN..].to_vec()
        }
    }
}
