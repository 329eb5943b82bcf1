//! Fault hooks of `MemoryStore`: each fault does what it says, what the hook
//! is shown is right, and the stored original is intact afterwards.

/// Wrapped so that `cargo test -p backup-vault cloud` selects these tests.
mod cloud {

    use crate::cloud_common::key;
    use backup_vault::cloud::{
        DeleteFault, FaultHook, GetFault, ListFault, MemoryStore, ObjectInfo, ObjectKey,
        ObjectStore, Precondition, PutFault, StoreError, Version, VersionInfo,
    };
    use bytes::Bytes;
    use rand_chacha::rand_core::{RngCore, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use std::collections::VecDeque;

    /// A hook that replays scripted decisions (then no faults) and records what
    /// it was shown.
    #[derive(Default)]
    struct Script {
        puts: VecDeque<PutFault>,
        gets: VecDeque<GetFault>,
        lists: VecDeque<ListFault>,
        deletes: VecDeque<DeleteFault>,
        shown: Vec<String>,
    }

    impl FaultHook for Script {
        fn on_put(&mut self, key: &ObjectKey, data: &Bytes, current: Option<Version>) -> PutFault {
            self.shown.push(format!("put {key} {data:?} {current:?}"));
            self.puts.pop_front().unwrap_or_default()
        }
        fn on_get(
            &mut self,
            key: &ObjectKey,
            current: Option<Version>,
            versions: &[VersionInfo],
        ) -> GetFault {
            self.shown
                .push(format!("get {key} {current:?} {versions:?}"));
            self.gets.pop_front().unwrap_or_default()
        }
        fn on_get_version(
            &mut self,
            key: &ObjectKey,
            requested: Version,
            versions: &[VersionInfo],
        ) -> GetFault {
            self.shown
                .push(format!("get_version {key} {requested} {versions:?}"));
            self.gets.pop_front().unwrap_or_default()
        }
        fn on_list(&mut self, prefix: &str, listing: &[ObjectInfo]) -> ListFault {
            self.shown
                .push(format!("list {prefix:?} {}", listing.len()));
            self.lists.pop_front().unwrap_or_default()
        }
        fn on_delete(&mut self, key: &ObjectKey, current: Option<Version>) -> DeleteFault {
            self.shown.push(format!("delete {key} {current:?}"));
            self.deletes.pop_front().unwrap_or_default()
        }
    }

    fn store() -> MemoryStore<Script> {
        MemoryStore::with_hook(Script::default())
    }

    fn bytes(text: &str) -> Bytes {
        Bytes::copy_from_slice(text.as_bytes())
    }

    /// A store holding "k" = "old" (v1) then "new!" (v2).
    fn two_versions() -> (MemoryStore<Script>, ObjectKey) {
        let mut s = store();
        let k = key("k");
        s.put(&k, bytes("old"), Precondition::Any).unwrap();
        s.put(&k, bytes("new!"), Precondition::Any).unwrap();
        s.hook_mut().shown.clear();
        (s, k)
    }

    #[test]
    fn hook_is_shown_what_it_needs() {
        let (mut s, k) = two_versions();
        s.get(&k).unwrap();
        s.get_version(&k, Version(1)).unwrap();
        s.list("").unwrap();
        s.delete(&k, Precondition::Any).unwrap();
        s.get(&k).unwrap_err();
        s.put(&k, bytes("z"), Precondition::Any).unwrap();
        let v = |version, size| VersionInfo {
            version: Version(version),
            size,
        };
        assert_eq!(
            s.hook().shown,
            [
                format!("get k Some(Version(2)) {:?}", [v(1, 3), v(2, 4)]),
                format!("get_version k v1 {:?}", [v(1, 3), v(2, 4)]),
                "list \"\" 1".to_owned(),
                "delete k Some(Version(2))".to_owned(),
                format!("get k None {:?}", [v(1, 3), v(2, 4)]),
                "put k b\"z\" None".to_owned(),
            ]
        );
    }

    #[test]
    fn put_unavailable_stores_nothing() {
        let mut s = store();
        let k = key("k");
        s.hook_mut().puts.push_back(PutFault::Unavailable);
        assert!(matches!(
            s.put(&k, bytes("x"), Precondition::Any),
            Err(StoreError::Unavailable)
        ));
        assert!(s.peek(&k).is_none());
        assert_eq!(
            s.put(&k, bytes("x"), Precondition::Any).unwrap(),
            Version(1)
        );
    }

    #[test]
    fn lost_write_is_acknowledged_but_not_stored() {
        let (mut s, k) = two_versions();
        s.hook_mut().puts.push_back(PutFault::LoseWrite);
        let lost = s.put(&k, bytes("lost"), Precondition::Any).unwrap();
        assert_eq!(lost, Version(3));
        let got = s.get(&k).unwrap();
        assert_eq!((got.version, got.data), (Version(2), bytes("new!")));
        assert!(matches!(s.get_version(&k, lost), Err(StoreError::NotFound)));
        assert_eq!(s.objects().count(), 2);
        // The number is used up, and preconditions see the true state.
        assert!(matches!(
            s.put(&k, bytes("x"), Precondition::IfVersion(lost)),
            Err(StoreError::PreconditionFailed {
                current: Some(Version(2))
            })
        ));
        assert_eq!(
            s.put(&k, bytes("x"), Precondition::Any).unwrap(),
            Version(4)
        );
    }

    #[test]
    fn lost_write_still_reports_a_failed_precondition() {
        let (mut s, k) = two_versions();
        s.hook_mut().puts.push_back(PutFault::LoseWrite);
        assert!(matches!(
            s.put(&k, bytes("x"), Precondition::IfAbsent),
            Err(StoreError::PreconditionFailed {
                current: Some(Version(2))
            })
        ));
    }

    #[test]
    fn stored_versions_lists_every_version_with_data_deleted_ones_included() {
        let mut s = store();
        let (k, other) = (key("k"), key("other"));
        s.put(&k, bytes("a"), Precondition::IfAbsent).unwrap();
        s.put(&other, bytes("z"), Precondition::IfAbsent).unwrap();
        s.delete(&k, Precondition::Any).unwrap();
        s.hook_mut().puts.push_back(PutFault::LoseWrite);
        s.put(&k, bytes("lost"), Precondition::IfAbsent).unwrap();
        s.put(&k, bytes("b"), Precondition::IfAbsent).unwrap();
        let seen: Vec<(Version, Bytes)> = s
            .stored_versions(&k)
            .map(|o| (o.version, o.data.clone()))
            .collect();
        assert_eq!(seen, [(Version(1), bytes("a")), (Version(4), bytes("b"))]);
        assert!(s.stored_versions(&key("absent")).next().is_none());
    }

    #[test]
    fn put_with_lost_ack_is_stored() {
        let mut s = store();
        let k = key("k");
        s.hook_mut().puts.push_back(PutFault::AckLost);
        assert!(matches!(
            s.put(&k, bytes("x"), Precondition::Any),
            Err(StoreError::Unavailable)
        ));
        assert_eq!(s.get(&k).unwrap().data, bytes("x"));
        // A retry with IfAbsent learns that the first attempt landed.
        assert!(matches!(
            s.put(&k, bytes("x"), Precondition::IfAbsent),
            Err(StoreError::PreconditionFailed {
                current: Some(Version(1))
            })
        ));
    }

    #[test]
    fn get_unavailable_and_missing() {
        let (mut s, k) = two_versions();
        s.hook_mut()
            .gets
            .extend([GetFault::Unavailable, GetFault::Missing]);
        assert!(matches!(s.get(&k), Err(StoreError::Unavailable)));
        assert!(matches!(s.get(&k), Err(StoreError::NotFound)));
        assert_eq!(s.get(&k).unwrap().data, bytes("new!"));
    }

    #[test]
    fn stale_get_serves_an_older_version() {
        let (mut s, k) = two_versions();
        s.hook_mut().gets.push_back(GetFault::Stale(Version(1)));
        let got = s.get(&k).unwrap();
        assert_eq!((got.version, got.data), (Version(1), bytes("old")));
        assert_eq!(s.get(&k).unwrap().version, Version(2));
    }

    #[test]
    fn stale_get_can_resurrect_a_deleted_object() {
        let (mut s, k) = two_versions();
        s.delete(&k, Precondition::Any).unwrap();
        s.hook_mut().gets.push_back(GetFault::Stale(Version(2)));
        assert_eq!(s.get(&k).unwrap().data, bytes("new!"));
        assert!(matches!(s.get(&k), Err(StoreError::NotFound)));
    }

    #[test]
    #[should_panic(expected = "holds no such version")]
    fn stale_get_of_a_version_that_never_was_is_a_hook_bug() {
        let (mut s, k) = two_versions();
        s.hook_mut().gets.push_back(GetFault::Stale(Version(9)));
        let _ = s.get(&k);
    }

    #[test]
    fn flipped_bit_is_served_from_a_copy() {
        let (mut s, k) = two_versions();
        let before = s.peek(&k).unwrap().data;
        s.hook_mut()
            .gets
            .push_back(GetFault::FlipBit { byte: 1, bit: 3 });
        let got = s.get(&k).unwrap();
        let mut expected = b"new!".to_vec();
        expected[1] ^= 1 << 3;
        assert_eq!(got.data[..], expected[..]);
        assert_eq!(got.version, Version(2));
        // The stored original, and bytes handed out earlier, are untouched.
        assert_eq!(before, bytes("new!"));
        assert_eq!(s.peek(&k).unwrap().data, bytes("new!"));
        assert_eq!(s.get(&k).unwrap().data, bytes("new!"));
    }

    #[test]
    fn flipped_bit_position_wraps_and_skips_empty_objects() {
        let (mut s, k) = two_versions();
        s.hook_mut()
            .gets
            .push_back(GetFault::FlipBit { byte: 5, bit: 9 });
        // byte 5 % 4 = 1, bit 9 % 8 = 1.
        assert_eq!(s.get(&k).unwrap().data[1], b'e' ^ 0b10);
        let empty = key("empty");
        s.put(&empty, Bytes::new(), Precondition::Any).unwrap();
        s.hook_mut()
            .gets
            .push_back(GetFault::FlipBit { byte: 0, bit: 0 });
        assert!(s.get(&empty).unwrap().data.is_empty());
    }

    #[test]
    fn get_version_faults() {
        let (mut s, k) = two_versions();
        s.hook_mut().gets.extend([
            GetFault::FlipBit { byte: 0, bit: 0 },
            GetFault::Missing,
            GetFault::Unavailable,
            GetFault::Stale(Version(2)),
        ]);
        assert_eq!(s.get_version(&k, Version(1)).unwrap().data, bytes("nld"));
        assert!(matches!(
            s.get_version(&k, Version(1)),
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            s.get_version(&k, Version(1)),
            Err(StoreError::Unavailable)
        ));
        assert_eq!(s.get_version(&k, Version(1)).unwrap().version, Version(2));
        assert_eq!(s.get_version(&k, Version(1)).unwrap().data, bytes("old"));
    }

    #[test]
    fn list_faults() {
        let mut s = store();
        for k in ["a", "b", "c", "d"] {
            s.put(&key(k), bytes(k), Precondition::Any).unwrap();
        }
        s.hook_mut()
            .lists
            .extend([ListFault::Unavailable, ListFault::Omit(vec![0, 2, 99])]);
        assert!(matches!(s.list(""), Err(StoreError::Unavailable)));
        let keys: Vec<String> = s
            .list("")
            .unwrap()
            .into_iter()
            .map(|i| i.key.to_string())
            .collect();
        assert_eq!(keys, ["b", "d"]);
        assert_eq!(s.list("").unwrap().len(), 4);
    }

    #[test]
    fn delete_faults() {
        let (mut s, k) = two_versions();
        s.hook_mut().deletes.extend([
            DeleteFault::Unavailable,
            DeleteFault::LoseDelete,
            DeleteFault::AckLost,
            DeleteFault::LoseDelete,
        ]);
        assert!(matches!(
            s.delete(&k, Precondition::Any),
            Err(StoreError::Unavailable)
        ));
        assert_eq!(s.get(&k).unwrap().data, bytes("new!"));
        s.delete(&k, Precondition::Any).unwrap();
        assert_eq!(s.get(&k).unwrap().data, bytes("new!"), "lost delete");
        assert!(matches!(
            s.delete(&k, Precondition::Any),
            Err(StoreError::Unavailable)
        ));
        assert!(matches!(s.get(&k), Err(StoreError::NotFound)), "ack lost");
        // A lost delete still reports a missing key honestly.
        assert!(matches!(
            s.delete(&k, Precondition::Any),
            Err(StoreError::NotFound)
        ));
        assert_eq!(
            s.put(&k, bytes("x"), Precondition::Any).unwrap(),
            Version(4)
        );
    }

    #[test]
    fn tamper_changes_the_stored_copy_only() {
        let (mut s, k) = two_versions();
        let handed_out = s.get(&k).unwrap().data;
        let v = s.tamper(&k, |d| d[0] = b'N').unwrap();
        assert_eq!(v, Version(2));
        assert_eq!(handed_out, bytes("new!"));
        let got = s.get(&k).unwrap();
        assert_eq!((got.version, got.data), (Version(2), bytes("New!")));
        s.tamper_version(&k, Version(1), |d| d.truncate(1)).unwrap();
        assert_eq!(s.get_version(&k, Version(1)).unwrap().data, bytes("o"));
        assert!(matches!(
            s.tamper(&key("absent"), |_| {}),
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            s.tamper_version(&k, Version(3), |_| {}),
            Err(StoreError::NotFound)
        ));
    }

    #[test]
    fn objects_lists_every_stored_version() {
        let (mut s, k) = two_versions();
        let other = key("a/other");
        s.put(&other, bytes("o"), Precondition::Any).unwrap();
        s.delete(&k, Precondition::Any).unwrap();
        s.hook_mut().puts.push_back(PutFault::LoseWrite);
        s.put(&k, bytes("lost"), Precondition::Any).unwrap();
        let all: Vec<(String, Version, Bytes)> = s
            .objects()
            .map(|o| (o.key.to_string(), o.version, o.data.clone()))
            .collect();
        assert_eq!(
            all,
            [
                ("a/other".to_owned(), Version(1), bytes("o")),
                ("k".to_owned(), Version(1), bytes("old")),
                ("k".to_owned(), Version(2), bytes("new!")),
            ]
        );
    }

    /// A hook driven by a seeded RNG, as the simulator's will be.
    struct Seeded(ChaCha8Rng);

    impl FaultHook for Seeded {
        fn on_put(&mut self, _: &ObjectKey, _: &Bytes, _: Option<Version>) -> PutFault {
            match self.0.next_u32() % 4 {
                0 => PutFault::LoseWrite,
                1 => PutFault::AckLost,
                _ => PutFault::None,
            }
        }
        fn on_get(
            &mut self,
            _: &ObjectKey,
            _: Option<Version>,
            versions: &[VersionInfo],
        ) -> GetFault {
            match (self.0.next_u32() % 4, versions.first()) {
                (0, Some(first)) => GetFault::Stale(first.version),
                (1, _) => GetFault::FlipBit {
                    byte: self.0.next_u64(),
                    bit: self.0.next_u32() as u8,
                },
                _ => GetFault::None,
            }
        }
    }

    #[test]
    fn a_seed_replays_to_the_same_results() {
        let run = |seed: u64| -> Vec<String> {
            let mut s = MemoryStore::with_hook(Seeded(ChaCha8Rng::seed_from_u64(seed)));
            let mut trace = Vec::new();
            for i in 0..50u8 {
                let k = key(["a", "b", "c"][usize::from(i % 3)]);
                trace.push(format!(
                    "{:?}",
                    s.put(&k, Bytes::from(vec![i; 3]), Precondition::Any)
                ));
                trace.push(format!("{:?}", s.get(&k)));
            }
            trace
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }
}
