//! Model-based tests: random sequences of operations run against each
//! backend and against a plain reference model (a `BTreeMap` of histories)
//! must give the same result at every step.

/// Wrapped so that `cargo test -p backup-vault cloud` selects these tests.
mod cloud {

    use crate::cloud_common::TempDir;
    use backup_vault::cloud::{
        DirectoryStore, MemoryStore, ObjectKey, ObjectStore, Precondition, StoreError, Version,
    };
    use bytes::Bytes;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    const KEYS: [&str; 5] = ["a", "a/b", "a/b/c", "b", "ba"];
    const PREFIXES: [&str; 7] = ["", "a", "a/", "a/b", "b", "c", "a b"];
    const LIMIT: u64 = 8;

    #[derive(Clone, Copy, Debug)]
    enum Cond {
        Any,
        IfAbsent,
        IfVersion(u64),
    }

    impl Cond {
        fn to_store(self) -> Precondition {
            match self {
                Cond::Any => Precondition::Any,
                Cond::IfAbsent => Precondition::IfAbsent,
                Cond::IfVersion(v) => Precondition::IfVersion(Version(v)),
            }
        }

        fn holds(self, current: Option<u64>) -> bool {
            match self {
                Cond::Any => true,
                Cond::IfAbsent => current.is_none(),
                Cond::IfVersion(v) => current == Some(v),
            }
        }
    }

    #[derive(Clone, Debug)]
    enum Op {
        Put(usize, Vec<u8>, Cond),
        Get(usize),
        GetVersion(usize, u64),
        List(usize),
        Delete(usize, Cond),
        /// Drop the store and open it again (a clean restart; a no-op in memory).
        Reopen,
    }

    fn cond() -> impl Strategy<Value = Cond> {
        prop_oneof![
            Just(Cond::Any),
            Just(Cond::IfAbsent),
            (0u64..6).prop_map(Cond::IfVersion),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        let key = 0..KEYS.len();
        prop_oneof![
            4 => (key.clone(), proptest::collection::vec(any::<u8>(), 0..=LIMIT as usize + 2), cond())
                .prop_map(|(k, d, c)| Op::Put(k, d, c)),
            3 => key.clone().prop_map(Op::Get),
            2 => (key.clone(), 0u64..6).prop_map(|(k, v)| Op::GetVersion(k, v)),
            2 => (0..PREFIXES.len()).prop_map(Op::List),
            2 => (key, cond()).prop_map(|(k, c)| Op::Delete(k, c)),
            1 => Just(Op::Reopen),
        ]
    }

    /// What an operation returned, in a form both sides can produce.
    #[derive(Debug, PartialEq, Eq)]
    enum Outcome {
        Version(u64),
        Object(u64, Vec<u8>),
        Listing(Vec<(String, u64, u64)>),
        Done,
        NotFound,
        PreconditionFailed(Option<u64>),
        TooLarge,
        InvalidKey,
        Unexpected(String),
    }

    impl From<StoreError> for Outcome {
        fn from(e: StoreError) -> Outcome {
            match e {
                StoreError::NotFound => Outcome::NotFound,
                StoreError::PreconditionFailed { current } => {
                    Outcome::PreconditionFailed(current.map(|v| v.0))
                }
                StoreError::TooLarge { .. } => Outcome::TooLarge,
                StoreError::InvalidKey(_) => Outcome::InvalidKey,
                other => Outcome::Unexpected(other.to_string()),
            }
        }
    }

    /// The reference: per key, the last version number used and the history of
    /// puts (`Some`) and deletes (`None`).
    #[derive(Default)]
    struct Model(BTreeMap<&'static str, History>);

    /// Versions of one key in order: a put's data, or `None` for a delete.
    type History = Vec<(u64, Option<Vec<u8>>)>;

    impl Model {
        fn current(&self, key: &str) -> Option<(u64, &Vec<u8>)> {
            match self.0.get(key)?.last()? {
                (v, Some(d)) => Some((*v, d)),
                _ => None,
            }
        }

        fn push(&mut self, key: &'static str, data: Option<Vec<u8>>) -> u64 {
            let history = self.0.entry(key).or_default();
            let version = history.last().map_or(1, |(v, _)| v + 1);
            history.push((version, data));
            version
        }

        fn apply(&mut self, op: &Op) -> Outcome {
            match op {
                Op::Put(k, data, cond) => {
                    let key = KEYS[*k];
                    if data.len() as u64 > LIMIT {
                        return Outcome::TooLarge;
                    }
                    let current = self.current(key).map(|(v, _)| v);
                    if !cond.holds(current) {
                        return Outcome::PreconditionFailed(current);
                    }
                    Outcome::Version(self.push(key, Some(data.clone())))
                }
                Op::Get(k) => match self.current(KEYS[*k]) {
                    Some((v, d)) => Outcome::Object(v, d.clone()),
                    None => Outcome::NotFound,
                },
                Op::GetVersion(k, version) => self
                    .0
                    .get(KEYS[*k])
                    .and_then(|h| h.iter().find(|(v, _)| v == version))
                    .and_then(|(v, d)| Some(Outcome::Object(*v, d.clone()?)))
                    .unwrap_or(Outcome::NotFound),
                Op::List(p) => {
                    let prefix = PREFIXES[*p];
                    if prefix.contains(' ') {
                        return Outcome::InvalidKey;
                    }
                    Outcome::Listing(
                        KEYS.iter()
                            .filter(|k| k.starts_with(prefix))
                            .filter_map(|k| {
                                let (v, d) = self.current(k)?;
                                Some((k.to_string(), v, d.len() as u64))
                            })
                            .collect(),
                    )
                }
                Op::Delete(k, cond) => {
                    let key = KEYS[*k];
                    let current = self.current(key).map(|(v, _)| v);
                    if !cond.holds(current) {
                        return Outcome::PreconditionFailed(current);
                    }
                    if current.is_none() {
                        return Outcome::NotFound;
                    }
                    self.push(key, None);
                    Outcome::Done
                }
                Op::Reopen => Outcome::Done,
            }
        }
    }

    fn apply(store: &mut dyn ObjectStore, op: &Op) -> Outcome {
        let key = |k: usize| ObjectKey::new(KEYS[k]).unwrap();
        let result = match op {
            Op::Put(k, data, cond) => store
                .put(&key(*k), Bytes::from(data.clone()), cond.to_store())
                .map(|v| Outcome::Version(v.0)),
            Op::Get(k) => store.get(&key(*k)).map(|o| {
                assert_eq!(o.key, key(*k));
                Outcome::Object(o.version.0, o.data.to_vec())
            }),
            Op::GetVersion(k, v) => store.get_version(&key(*k), Version(*v)).map(|o| {
                assert_eq!((o.key, o.version), (key(*k), Version(*v)));
                Outcome::Object(o.version.0, o.data.to_vec())
            }),
            Op::List(p) => store.list(PREFIXES[*p]).map(|listing| {
                Outcome::Listing(
                    listing
                        .into_iter()
                        .map(|i| (i.key.to_string(), i.version.0, i.size))
                        .collect(),
                )
            }),
            Op::Delete(k, cond) => store
                .delete(&key(*k), cond.to_store())
                .map(|()| Outcome::Done),
            Op::Reopen => Ok(Outcome::Done),
        };
        result.unwrap_or_else(Outcome::from)
    }

    /// Runs `ops` on `store` and the model; `reopen` performs `Op::Reopen`.
    fn check<S: ObjectStore>(
        ops: &[Op],
        mut store: S,
        mut reopen: impl FnMut(S) -> S,
    ) -> Result<(), TestCaseError> {
        let mut model = Model::default();
        for (step, op) in ops.iter().enumerate() {
            if let Op::Reopen = op {
                store = reopen(store);
            }
            let expected = model.apply(op);
            let actual = apply(&mut store, op);
            prop_assert_eq!(actual, expected, "step {} {:?}", step, op);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn memory_store_matches_the_model(ops in proptest::collection::vec(op(), 1..60)) {
            check(&ops, MemoryStore::new().with_size_limit(LIMIT), |s| s)?;
        }
    }

    proptest! {
        // Every write is two fsyncs: fewer, shorter cases keep the suite fast.
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        #[test]
        fn directory_store_matches_the_model(ops in proptest::collection::vec(op(), 1..40)) {
            let dir = TempDir::new("model");
            let open = || DirectoryStore::open(dir.path()).unwrap().with_size_limit(LIMIT);
            check(&ops, open(), |store| {
                drop(store);
                open()
            })?;
        }
    }
}
