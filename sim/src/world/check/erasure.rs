//! LOCK-4 on disk: once a node has applied the entry that took a
//! registration's key material out of its store (a destruction, a deletion,
//! a registration displaced or refused), and every write it queued since is
//! durable, no record of its disk up to that entry holds that material (a
//! later entry may carry it again: a registration resent after the vault
//! refused it, which is erased in turn once applied). The node's erasure
//! rule (`node.rs`: compact through that entry at once, rewriting the disk
//! file) is what makes it so; this check reads each disk as an auditor
//! holding the fleet's keys would, so it sees through the seal.

use crate::world::check::secrets::{SecretKind, Secrets};
use crate::world::check::Violation;
use backup_vault::invariant::Invariant;
use backup_vault::vault::crypto::{RegistrationId, VaultCrypto};
use backup_vault::vault::ids::{LogIndex, NodeId, UserId};
use backup_vault::vault::node::{VaultDisk, VaultNode};
use std::collections::{BTreeMap, BTreeSet};

/// The erasure audit. See the module documentation.
pub struct Erasure {
    /// Every registration committed, with its user, the index of its Stage
    /// entry, and its key material's bytes.
    staged: BTreeMap<RegistrationId, (UserId, LogIndex, Vec<Vec<u8>>)>,
    /// Per node, the gone registrations whose erasure its disk has shown.
    audited: Vec<BTreeSet<RegistrationId>>,
    /// Audits run (a figure for the run report).
    pub audits: u64,
}

impl Erasure {
    /// An audit of `nodes` nodes.
    pub fn new(nodes: u8) -> Self {
        Erasure {
            staged: BTreeMap::new(),
            audited: vec![BTreeSet::new(); usize::from(nodes)],
            audits: 0,
        }
    }

    /// A committed Stage entry at `index`, carrying `material`.
    pub fn on_stage(
        &mut self,
        index: LogIndex,
        user: UserId,
        registration: RegistrationId,
        material: Vec<Vec<u8>>,
    ) {
        self.staged
            .entry(registration)
            .or_insert((user, index, material));
    }

    /// Whether some node applied a staging of `registration` for `user`:
    /// whether it is a registration the vault made for that user.
    pub fn was_staged(&self, user: UserId, registration: RegistrationId) -> bool {
        self.staged
            .get(&registration)
            .is_some_and(|(u, _, _)| *u == user)
    }

    /// Node `id` restarted, maybe from an older disk: audit it again.
    pub fn restarted(&mut self, id: NodeId) {
        self.audited[usize::from(id.0)].clear();
    }

    /// Audits node `id` after its disk synced: `view` is its durable disk
    /// as an auditor reads it, `unsynced` how many of its writes are not
    /// durable yet.
    ///
    /// # Errors
    /// LOCK-4 if the disk still holds the key material of a registration
    /// the node applied away, with all its writes durable.
    pub fn check<C: VaultCrypto>(
        &mut self,
        id: NodeId,
        node: &VaultNode<C>,
        view: &VaultDisk<C>,
        unsynced: usize,
    ) -> Result<(), Violation> {
        if unsynced > 0 {
            return Ok(());
        }
        let audited = &self.audited[usize::from(id.0)];
        let held = |user: UserId, r: RegistrationId| {
            node.store().get(user).is_some_and(|rec| {
                rec.active.as_ref().is_some_and(|a| a.registration == r)
                    || rec.staged.as_ref().is_some_and(|s| s.registration == r)
            })
        };
        let gone: Vec<(RegistrationId, UserId, &Vec<Vec<u8>>)> = self
            .staged
            .iter()
            .filter(|(r, (user, index, _))| {
                *index <= node.applied() && !audited.contains(r) && !held(*user, **r)
            })
            .map(|(r, (user, _, material))| (*r, *user, material))
            .collect();
        if gone.is_empty() {
            return Ok(());
        }
        self.audits += 1;
        // The snapshot and the entries up to the applied index: every entry
        // after it was proposed after the erasure, and may legitimately
        // carry the same material again (a client resending a registration
        // the vault refused, which it will erase again once applied).
        let mut bytes = postcard::to_allocvec(&view.snapshot).unwrap_or_default();
        let first = view.log.base_index().0 + 1;
        for i in first..=node.applied().0.min(view.log.last_index().0) {
            if let Some(entry) = view.log.get(LogIndex(i)) {
                bytes.extend(postcard::to_allocvec(entry).unwrap_or_default());
            }
        }
        // Material a held registration shares is not erased with the gone
        // one: a password change keeps K, so the verifier (derived from K
        // and the user) stays with the new registration.
        let kept: BTreeSet<&[u8]> = self
            .staged
            .iter()
            .filter(|(r, (user, index, _))| *index <= node.applied() && held(*user, **r))
            .flat_map(|(_, (_, _, m))| m.iter().map(Vec::as_slice))
            .collect();
        // Built for one search, with the scanner of KEY-1 and HOST-1 (each
        // part of key material is far longer than its grams).
        let mut scanner = Secrets::few();
        let mut owners = Vec::new();
        for (r, u, material) in &gone {
            for part in material.iter().filter(|p| !kept.contains(p.as_slice())) {
                assert!(
                    part.len() >= crate::world::check::secrets::PREFIX,
                    "every part of key material is at least one of the scanner's grams long"
                );
                if scanner.add(*u, SecretKind::RecordSecret, part) == Some(owners.len()) {
                    owners.push((*r, *u));
                }
            }
        }
        if owners.is_empty() {
            self.audited[usize::from(id.0)].extend(gone.iter().map(|g| g.0));
            return Ok(());
        }
        if let Some(found) = scanner.find(&bytes) {
            let (registration, user) = owners[found];
            return Err(Violation::user(
                Invariant::Lock4,
                user,
                Some(id),
                format!(
                    "node {} applied the entry that erased registration {} of user {}, \
                     and its writes are durable, but its disk still holds that \
                     registration's key material",
                    id.0, registration.0, user.0
                ),
            ));
        }
        let newly: Vec<RegistrationId> = gone.iter().map(|g| g.0).collect();
        self.audited[usize::from(id.0)].extend(newly);
        Ok(())
    }
}
