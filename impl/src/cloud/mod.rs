//! The cloud object store (being written).
