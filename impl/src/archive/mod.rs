//! The chat archive: the plaintext inside a backup (being written).
