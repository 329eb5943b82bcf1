//! The conformance suite of `ObjectStore`: the promises documented on the
//! trait, checked against every backend with the same code.

/// Wrapped so that `cargo test -p backup-vault cloud` selects these tests.
mod cloud {

    use crate::cloud_common::{key, TempDir};
    use backup_vault::cloud::{
        DirectoryStore, MemoryStore, ObjectInfo, ObjectStore, Precondition, StoreError, Version,
    };
    use bytes::Bytes;

    /// The size limit the suite's stores are built with, so the limit can be
    /// tested without gigabyte buffers.
    const LIMIT: u64 = 64;

    fn data(text: &str) -> Bytes {
        Bytes::copy_from_slice(text.as_bytes())
    }

    /// One conformance case per function, each on a fresh store.
    mod cases {
        use super::*;

        pub fn put_get_round_trip(s: &mut dyn ObjectStore) {
            let k = key("users/alice/backup");
            let v1 = s.put(&k, data("one"), Precondition::Any).unwrap();
            assert_eq!(v1, Version::FIRST);
            let got = s.get(&k).unwrap();
            assert_eq!(
                (got.key, got.version, got.data),
                (k.clone(), v1, data("one"))
            );
            let v2 = s.put(&k, data("two"), Precondition::Any).unwrap();
            assert!(v2 > v1);
            assert_eq!(s.get(&k).unwrap().data, data("two"));
            assert_eq!(s.get(&k).unwrap().version, v2);
            assert_eq!(s.get_version(&k, v1).unwrap().data, data("one"));
            assert_eq!(s.get_version(&k, v1).unwrap().version, v1);
            assert_eq!(s.get_version(&k, v2).unwrap().data, data("two"));
        }

        pub fn empty_object(s: &mut dyn ObjectStore) {
            let k = key("empty");
            let v = s.put(&k, Bytes::new(), Precondition::Any).unwrap();
            assert!(s.get(&k).unwrap().data.is_empty());
            let listing = s.list("").unwrap();
            assert_eq!(
                listing,
                vec![ObjectInfo {
                    key: k,
                    version: v,
                    size: 0
                }]
            );
        }

        pub fn keys_are_independent(s: &mut dyn ObjectStore) {
            let (a, b) = (key("a"), key("a/b"));
            assert_eq!(s.put(&a, data("a"), Precondition::Any).unwrap(), Version(1));
            assert_eq!(
                s.put(&a, data("a2"), Precondition::Any).unwrap(),
                Version(2)
            );
            assert_eq!(s.put(&b, data("b"), Precondition::Any).unwrap(), Version(1));
            assert_eq!(s.get(&a).unwrap().data, data("a2"));
            assert_eq!(s.get(&b).unwrap().data, data("b"));
            s.delete(&a, Precondition::Any).unwrap();
            assert_eq!(s.get(&b).unwrap().data, data("b"));
        }

        pub fn versions_never_reused_after_delete(s: &mut dyn ObjectStore) {
            let k = key("k");
            let v1 = s.put(&k, data("one"), Precondition::Any).unwrap();
            s.delete(&k, Precondition::Any).unwrap();
            assert!(matches!(s.get(&k), Err(StoreError::NotFound)));
            // The old version is still readable; the tombstone used up a number.
            assert_eq!(s.get_version(&k, v1).unwrap().data, data("one"));
            let v3 = s.put(&k, data("three"), Precondition::Any).unwrap();
            assert_eq!(v3, Version(3));
            assert!(matches!(
                s.get_version(&k, Version(2)),
                Err(StoreError::NotFound)
            ));
            s.delete(&k, Precondition::IfVersion(v3)).unwrap();
            let v5 = s.put(&k, data("five"), Precondition::IfAbsent).unwrap();
            assert_eq!(v5, Version(5));
        }

        pub fn delete_semantics(s: &mut dyn ObjectStore) {
            let k = key("k");
            assert!(matches!(
                s.delete(&k, Precondition::Any),
                Err(StoreError::NotFound)
            ));
            assert!(matches!(
                s.delete(&k, Precondition::IfVersion(Version(1))),
                Err(StoreError::PreconditionFailed { current: None })
            ));
            let v1 = s.put(&k, data("x"), Precondition::Any).unwrap();
            assert!(matches!(
                s.delete(&k, Precondition::IfAbsent),
                Err(StoreError::PreconditionFailed { current: Some(v) }) if v == v1
            ));
            assert!(matches!(
                s.delete(&k, Precondition::IfVersion(Version(7))),
                Err(StoreError::PreconditionFailed { current: Some(v) }) if v == v1
            ));
            assert_eq!(
                s.get(&k).unwrap().data,
                data("x"),
                "a failed delete changes nothing"
            );
            s.delete(&k, Precondition::IfVersion(v1)).unwrap();
            assert!(matches!(s.get(&k), Err(StoreError::NotFound)));
            assert!(matches!(
                s.delete(&k, Precondition::Any),
                Err(StoreError::NotFound)
            ));
            // A delete of an absent key with IfAbsent: the condition holds, the key is absent.
            assert!(matches!(
                s.delete(&k, Precondition::IfAbsent),
                Err(StoreError::NotFound)
            ));
        }

        pub fn if_absent(s: &mut dyn ObjectStore) {
            let k = key("k");
            let v1 = s.put(&k, data("first"), Precondition::IfAbsent).unwrap();
            assert!(matches!(
                s.put(&k, data("second"), Precondition::IfAbsent),
                Err(StoreError::PreconditionFailed { current: Some(v) }) if v == v1
            ));
            assert_eq!(s.get(&k).unwrap().data, data("first"));
            s.delete(&k, Precondition::Any).unwrap();
            let v3 = s.put(&k, data("third"), Precondition::IfAbsent).unwrap();
            assert_eq!(v3, Version(3), "a failed put uses no version number");
        }

        pub fn if_version(s: &mut dyn ObjectStore) {
            let k = key("k");
            assert!(matches!(
                s.put(&k, data("x"), Precondition::IfVersion(Version(1))),
                Err(StoreError::PreconditionFailed { current: None })
            ));
            let v1 = s.put(&k, data("one"), Precondition::Any).unwrap();
            let v2 = s.put(&k, data("two"), Precondition::IfVersion(v1)).unwrap();
            assert!(matches!(
                s.put(&k, data("stale"), Precondition::IfVersion(v1)),
                Err(StoreError::PreconditionFailed { current: Some(v) }) if v == v2
            ));
            assert_eq!(s.get(&k).unwrap().data, data("two"));
            s.delete(&k, Precondition::Any).unwrap();
            assert!(matches!(
                s.put(&k, data("x"), Precondition::IfVersion(v2)),
                Err(StoreError::PreconditionFailed { current: None })
            ));
        }

        pub fn get_missing(s: &mut dyn ObjectStore) {
            let k = key("k");
            assert!(matches!(s.get(&k), Err(StoreError::NotFound)));
            assert!(matches!(
                s.get_version(&k, Version(1)),
                Err(StoreError::NotFound)
            ));
            s.put(&k, data("x"), Precondition::Any).unwrap();
            assert!(matches!(
                s.get_version(&k, Version(2)),
                Err(StoreError::NotFound)
            ));
            assert!(matches!(
                s.get_version(&k, Version(0)),
                Err(StoreError::NotFound)
            ));
            assert!(matches!(s.get(&key("k/x")), Err(StoreError::NotFound)));
        }

        pub fn list_by_prefix_sorted(s: &mut dyn ObjectStore) {
            for (k, d) in [
                ("b/2", "22"),
                ("a/1", "1"),
                ("b/10", "1010"),
                ("b", "b"),
                ("b/1", "11"),
                ("c", ""),
                ("ba", "x"),
            ] {
                s.put(&key(k), data(d), Precondition::Any).unwrap();
            }
            s.put(&key("b/1"), data("111"), Precondition::Any).unwrap();
            s.delete(&key("ba"), Precondition::Any).unwrap();
            let keys = |s: &mut dyn ObjectStore, prefix: &str| -> Vec<String> {
                s.list(prefix)
                    .unwrap()
                    .into_iter()
                    .map(|i| i.key.to_string())
                    .collect()
            };
            assert_eq!(keys(s, ""), ["a/1", "b", "b/1", "b/10", "b/2", "c"]);
            assert_eq!(keys(s, "b"), ["b", "b/1", "b/10", "b/2"]);
            assert_eq!(keys(s, "b/"), ["b/1", "b/10", "b/2"]);
            assert_eq!(keys(s, "b/1"), ["b/1", "b/10"]);
            assert!(keys(s, "zzz").is_empty());
            assert!(keys(s, "a/1/").is_empty());
            let b1 = s.list("b/1").unwrap();
            assert_eq!(
                b1[0],
                ObjectInfo {
                    key: key("b/1"),
                    version: Version(2),
                    size: 3
                }
            );
        }

        pub fn invalid_prefix_rejected(s: &mut dyn ObjectStore) {
            assert!(matches!(s.list("a b"), Err(StoreError::InvalidKey(_))));
            assert!(matches!(s.list("ü"), Err(StoreError::InvalidKey(_))));
            assert!(matches!(
                s.list(&"a".repeat(257)),
                Err(StoreError::InvalidKey(_))
            ));
            // Prefixes need not be keys.
            assert!(s.list("a/").unwrap().is_empty());
        }

        pub fn size_limit(s: &mut dyn ObjectStore) {
            let k = key("big");
            let too_big = Bytes::from(vec![7u8; LIMIT as usize + 1]);
            assert!(matches!(
                s.put(&k, too_big, Precondition::Any),
                Err(StoreError::TooLarge { size, limit }) if size == LIMIT + 1 && limit == LIMIT
            ));
            assert!(matches!(s.get(&k), Err(StoreError::NotFound)));
            assert!(s.list("").unwrap().is_empty());
            let v = s
                .put(
                    &k,
                    Bytes::from(vec![7u8; LIMIT as usize]),
                    Precondition::Any,
                )
                .unwrap();
            assert_eq!(v, Version::FIRST);
            assert_eq!(s.get(&k).unwrap().data.len() as u64, LIMIT);
        }

        pub fn long_keys(s: &mut dyn ObjectStore) {
            let long = "x".repeat(256);
            let slashes = "a/".repeat(127) + "z";
            let upper = "CaseSensitive";
            let lower = "casesensitive";
            for (i, k) in [long.as_str(), slashes.as_str(), upper, lower]
                .iter()
                .enumerate()
            {
                s.put(&key(k), Bytes::from(vec![i as u8]), Precondition::IfAbsent)
                    .unwrap();
            }
            for (i, k) in [long.as_str(), slashes.as_str(), upper, lower]
                .iter()
                .enumerate()
            {
                assert_eq!(s.get(&key(k)).unwrap().data[..], [i as u8]);
            }
            assert_eq!(s.list("").unwrap().len(), 4);
        }
    }

    macro_rules! conformance {
        ($backend:ident, $make:expr) => {
            mod $backend {
                use super::*;

                fn run(case: fn(&mut dyn ObjectStore)) {
                    let (mut store, _guard) = ($make)(LIMIT);
                    case(&mut store);
                }

                #[test]
                fn put_get_round_trip() {
                    run(cases::put_get_round_trip)
                }
                #[test]
                fn empty_object() {
                    run(cases::empty_object)
                }
                #[test]
                fn keys_are_independent() {
                    run(cases::keys_are_independent)
                }
                #[test]
                fn versions_never_reused_after_delete() {
                    run(cases::versions_never_reused_after_delete)
                }
                #[test]
                fn delete_semantics() {
                    run(cases::delete_semantics)
                }
                #[test]
                fn if_absent() {
                    run(cases::if_absent)
                }
                #[test]
                fn if_version() {
                    run(cases::if_version)
                }
                #[test]
                fn get_missing() {
                    run(cases::get_missing)
                }
                #[test]
                fn list_by_prefix_sorted() {
                    run(cases::list_by_prefix_sorted)
                }
                #[test]
                fn invalid_prefix_rejected() {
                    run(cases::invalid_prefix_rejected)
                }
                #[test]
                fn size_limit() {
                    run(cases::size_limit)
                }
                #[test]
                fn long_keys() {
                    run(cases::long_keys)
                }
            }
        };
    }

    conformance!(memory, |limit| (
        MemoryStore::new().with_size_limit(limit),
        ()
    ));

    conformance!(directory, |limit| {
        let dir = TempDir::new("conformance");
        let store = DirectoryStore::open(dir.path())
            .unwrap()
            .with_size_limit(limit);
        (store, dir)
    });

    /// The suite also passes through a `Box<dyn ObjectStore>`, the form in which
    /// drivers hold a store chosen at run time.
    #[test]
    fn boxed_store_conforms() {
        for case in [cases::put_get_round_trip, cases::list_by_prefix_sorted] {
            let mut boxed: Box<dyn ObjectStore> =
                Box::new(MemoryStore::new().with_size_limit(LIMIT));
            case(&mut boxed);
        }
    }
}
