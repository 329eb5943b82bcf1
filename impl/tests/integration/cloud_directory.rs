//! `DirectoryStore` on disk: damage is reported as `Corrupt`, leftovers of a
//! crashed write are ignored, and reopening keeps objects and numbering.

/// Wrapped so that `cargo test -p backup-vault cloud` selects these tests.
mod cloud {

    use crate::cloud_common::{key, TempDir};
    use backup_vault::cloud::{
        DirectoryStore, ObjectKey, ObjectStore, Precondition, StoreError, Version,
    };
    use bytes::Bytes;
    use std::fs;
    use std::io::{Seek, SeekFrom, Write};

    fn bytes(text: &str) -> Bytes {
        Bytes::copy_from_slice(text.as_bytes())
    }

    /// A store at a fresh directory holding "users/alice" = "first" (v1) then
    /// "second" (v2).
    fn setup(tag: &str) -> (TempDir, DirectoryStore, ObjectKey) {
        let dir = TempDir::new(tag);
        let mut s = DirectoryStore::open(dir.path()).unwrap();
        let k = key("users/alice");
        s.put(&k, bytes("first"), Precondition::Any).unwrap();
        s.put(&k, bytes("second"), Precondition::Any).unwrap();
        (dir, s, k)
    }

    fn is_corrupt(r: Result<impl std::fmt::Debug, StoreError>, v: u64) -> bool {
        matches!(r, Err(StoreError::Corrupt { version, .. }) if version == Version(v))
    }

    #[test]
    fn layout_is_as_documented() {
        let (dir, mut s, k) = setup("layout");
        s.delete(&k, Precondition::Any).unwrap();
        let key_dir = s.key_dir(&k);
        assert_eq!(key_dir.parent().unwrap(), dir.path().join("objects"));
        let name = key_dir.file_name().unwrap().to_str().unwrap().to_owned();
        assert!(name.starts_with("users+alice-") && name.len() == "users+alice-".len() + 32);
        let mut files: Vec<String> = fs::read_dir(&key_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        files.sort();
        assert_eq!(
            files,
            [
                "00000000000000000001.obj",
                "00000000000000000002.obj",
                "00000000000000000003.del"
            ]
        );
        assert_eq!(s.version_path(&k, Version(1)), key_dir.join(&files[0]));
        let raw = fs::read(key_dir.join(&files[1])).unwrap();
        assert_eq!(&raw[..8], b"BVCLOUD\x01");
        assert_eq!(raw.len(), 59 + "users/alice".len() + "second".len());
        assert!(raw.ends_with(b"users/alicesecond"));
    }

    #[test]
    fn flipped_data_byte_is_corrupt_not_data() {
        let (_dir, mut s, k) = setup("flip");
        let path = s.version_path(&k, Version(2));
        let mut raw = fs::read(&path).unwrap();
        *raw.last_mut().unwrap() ^= 0x01;
        fs::write(&path, raw).unwrap();
        assert!(is_corrupt(s.get(&k), 2));
        assert!(is_corrupt(s.get_version(&k, Version(2)), 2));
        // Other versions are fine; the damaged one still exists for list and preconditions.
        assert_eq!(s.get_version(&k, Version(1)).unwrap().data, bytes("first"));
        assert_eq!(s.list("").unwrap()[0].version, Version(2));
        assert!(matches!(
            s.put(&k, bytes("x"), Precondition::IfAbsent),
            Err(StoreError::PreconditionFailed {
                current: Some(Version(2))
            })
        ));
        // A new put supersedes the damage.
        s.put(&k, bytes("third"), Precondition::IfVersion(Version(2)))
            .unwrap();
        assert_eq!(s.get(&k).unwrap().data, bytes("third"));
    }

    #[test]
    fn every_single_bit_flip_is_caught() {
        let (_dir, mut s, k) = setup("every-bit");
        let path = s.version_path(&k, Version(2));
        let original = fs::read(&path).unwrap();
        // Overwrite one byte in place: rewriting the whole file each time would
        // make ext4 flush it (auto_da_alloc), which is slow.
        let mut file = fs::OpenOptions::new().write(true).open(&path).unwrap();
        let mut put_byte = |at: usize, byte: u8| {
            file.seek(SeekFrom::Start(at as u64)).unwrap();
            file.write_all(&[byte]).unwrap();
        };
        for bit in 0..original.len() * 8 {
            let at = bit / 8;
            put_byte(at, original[at] ^ (1 << (bit % 8)));
            assert!(is_corrupt(s.get(&k), 2), "bit {bit} flipped went unnoticed");
            put_byte(at, original[at]);
        }
        assert_eq!(s.get(&k).unwrap().data, bytes("second"));
    }

    #[test]
    fn truncated_extended_and_missing_files_are_corrupt() {
        let (_dir, mut s, k) = setup("truncate");
        let path = s.version_path(&k, Version(2));
        let original = fs::read(&path).unwrap();
        for len in [0, 10, 59, original.len() - 1] {
            fs::write(&path, &original[..len]).unwrap();
            assert!(is_corrupt(s.get(&k), 2), "length {len}");
        }
        let mut longer = original.clone();
        longer.push(0);
        fs::write(&path, &longer).unwrap();
        assert!(is_corrupt(s.get(&k), 2));
        fs::remove_file(&path).unwrap();
        assert!(is_corrupt(s.get(&k), 2));
    }

    #[test]
    fn a_file_moved_to_another_version_is_corrupt() {
        let (_dir, mut s, k) = setup("moved");
        let v1 = s.version_path(&k, Version(1));
        let v2 = s.version_path(&k, Version(2));
        fs::copy(&v1, &v2).unwrap();
        assert!(is_corrupt(s.get(&k), 2));
    }

    #[test]
    fn leftover_temp_files_are_ignored_and_removed() {
        let (dir, s, k) = setup("tmp");
        let key_dir = s.key_dir(&k);
        drop(s);
        // A crash after writing the temp file of version 3, before the rename.
        let tmp = key_dir.join(".tmp-00000000000000000003");
        fs::write(&tmp, b"half a wri").unwrap();
        // A crash right after creating the directory of a new key.
        let fresh = dir
            .path()
            .join("objects")
            .join("bob-00000000000000000000000000000000");
        fs::create_dir(&fresh).unwrap();
        fs::write(fresh.join(".tmp-00000000000000000001"), b"x").unwrap();

        let mut s = DirectoryStore::open(dir.path()).unwrap();
        assert!(!tmp.exists());
        assert!(!fresh.exists());
        let got = s.get(&k).unwrap();
        assert_eq!((got.version, got.data), (Version(2), bytes("second")));
        assert_eq!(s.list("").unwrap().len(), 1);
        assert_eq!(
            s.put(&k, bytes("third"), Precondition::Any).unwrap(),
            Version(3)
        );
    }

    #[test]
    fn unrelated_files_are_left_alone() {
        let (dir, s, k) = setup("unrelated");
        let key_dir = s.key_dir(&k);
        drop(s);
        fs::write(key_dir.join("README"), b"hello").unwrap();
        fs::write(dir.path().join("objects").join("notes.txt"), b"hi").unwrap();
        let mut s = DirectoryStore::open(dir.path()).unwrap();
        assert_eq!(s.get(&k).unwrap().data, bytes("second"));
        assert!(key_dir.join("README").exists());
    }

    #[test]
    fn reopening_keeps_objects_and_numbering() {
        let (dir, mut s, k) = setup("reopen");
        let other = key("users/bob/2026-11-01.bvault");
        s.put(&other, bytes("bob"), Precondition::Any).unwrap();
        s.delete(&k, Precondition::Any).unwrap();
        let listing = s.list("").unwrap();
        drop(s);

        let mut s = DirectoryStore::open(dir.path()).unwrap();
        assert_eq!(s.list("").unwrap(), listing);
        assert!(matches!(s.get(&k), Err(StoreError::NotFound)));
        assert_eq!(s.get_version(&k, Version(2)).unwrap().data, bytes("second"));
        assert_eq!(s.get(&other).unwrap().data, bytes("bob"));
        // The tombstone (v3) keeps the number from going back.
        assert_eq!(
            s.put(&k, bytes("again"), Precondition::IfAbsent).unwrap(),
            Version(4)
        );
        drop(s);
        let mut s = DirectoryStore::open(dir.path()).unwrap();
        assert_eq!(s.get(&k).unwrap().version, Version(4));
    }

    #[test]
    fn a_key_whose_every_header_is_damaged_is_recovered_by_name() {
        let (dir, s, k) = setup("orphan");
        let paths = [
            s.version_path(&k, Version(1)),
            s.version_path(&k, Version(2)),
        ];
        drop(s);
        for path in &paths {
            let mut raw = fs::read(path).unwrap();
            raw[0] ^= 0xff; // the magic
            fs::write(path, raw).unwrap();
        }
        let mut s = DirectoryStore::open(dir.path()).unwrap();
        // The key cannot be read back from the files, so listing cannot show it ...
        assert!(s.list("").unwrap().is_empty());
        // ... but asking for it by name finds the damage, and numbering goes on.
        assert!(is_corrupt(s.get(&k), 2));
        assert_eq!(s.list("").unwrap().len(), 1);
        assert_eq!(
            s.put(&k, bytes("fresh"), Precondition::Any).unwrap(),
            Version(3)
        );
        assert_eq!(s.get(&k).unwrap().data, bytes("fresh"));
    }
}
