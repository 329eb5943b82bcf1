//! LOCK-1 against every entry point, and LOCK-5, checked with the real
//! cryptography.
//!
//! - LOCK-1: a password test is an OPRF evaluation, under a record's key, of
//!   an input the requester chose. Every reply that carries an evaluation
//!   (a registration response; a KE2) is checked *independently of what the
//!   node claims*: the checker holds the fleet's secrets and recomputes the
//!   evaluation of the request's blinded element under the key of every
//!   registration ever staged for the user, until one matches. So an
//!   evaluation under a record's key is found whatever entry point produced
//!   it and whatever the node's own bookkeeping says. Per key, the distinct
//!   inputs first evaluated between two proofs of knowledge about that
//!   record (its activation, a committed reset) must not exceed the limit.
//!   A registration response's evaluation under the key its ticket names,
//!   made before any registration holds that key, counts against the
//!   registration staged under it later: fresh keys make that the
//!   registering device's own request, and nothing else.
//!   Positions are log indices: a KE2 stands at the entry that consumed its
//!   attempt, a registration response just after the answering node's
//!   applied index, a proof at its entry.
//! - LOCK-1, the record's key: a registration an honest device submits
//!   is checked, when submitted, by a real login offline with the device's
//!   password against its password file under the vault's key for it (the
//!   ticket's). If that login fails, the file was made from an evaluation
//!   the vault did not make (a relay substituted it), and whoever made that
//!   evaluation can test passwords against it without the vault: such a
//!   registration must never be committed.
//! - LOCK-5: faults alone cost an honest restore at most one attempt on any
//!   record's budget: every KE2 produced for the requests of one restore
//!   (resends, duplicates, restarts after `LoginExpired`) reports the same
//!   consuming entry, per registration and per budget (a proof of knowledge
//!   in between, by anyone, refills the budget and starts a new count).

use super::consensus::{Added, Kind};
use super::Violation;
use backup_vault::invariant::Invariant;
use backup_vault::opaque::messages::{KE1_LEN, REGISTRATION_REQUEST_LEN};
use backup_vault::opaque::{Ke1, RegistrationRequest};
use backup_vault::vault::crypto::{ContentDigest, OprfKeyId, RegistrationId, OPRF_KEY_ID_LEN};
use backup_vault::vault::ids::{LogIndex, NodeId, UserId};
use backup_vault::vault::opaque_crypto::OpaqueCrypto;
use backup_vault::vault::records::Command;
use std::collections::{BTreeMap, BTreeSet};

/// The OPAQUE credential identifier of a registration, as docs/protocol.md
/// specifies it: the user id (8 bytes, big-endian), then the OPRF key id.
/// Written here from the spec, not taken from `backup_vault::vault::binding`,
/// so that a vault whose binding drifts (every registration under one key,
/// say) evaluates under keys this oracle does not recognise.
fn credential_id(user: UserId, key: &OprfKeyId) -> [u8; 8 + OPRF_KEY_ID_LEN] {
    let mut id = [0u8; 8 + OPRF_KEY_ID_LEN];
    id[..8].copy_from_slice(&user.0.to_be_bytes());
    id[8..].copy_from_slice(&key.0);
    id
}

/// A blinded element: the OPRF input a requester chose.
type Input = [u8; REGISTRATION_REQUEST_LEN];

/// Where an evaluation stands among the log's entries: after entry
/// `.0`, or at it (`.1 == false`: a KE2 at its consuming entry).
type Position = (LogIndex, bool);

/// Identifies one restore of one honest device.
pub type RestoreId = (usize, u64);

/// The checks' memory.
pub struct Oracle {
    crypto: OpaqueCrypto,
    limit: u8,
    /// Every registration ever staged, per user: its OPRF key.
    keys: BTreeMap<UserId, BTreeMap<RegistrationId, OprfKeyId>>,
    /// Per key, each input and where it was first evaluated.
    first: BTreeMap<OprfKeyId, BTreeMap<Input, Position>>,
    /// Per key, the indices of proofs of knowledge about its record.
    proofs: BTreeMap<OprfKeyId, BTreeSet<LogIndex>>,
    /// Evaluations under keys no registration was staged under yet (a
    /// registration response's, under the key its ticket names), with the
    /// node that answered and where they stand: tests of the password of
    /// whatever registration is staged under that key later, counted then.
    pending: BTreeMap<OprfKeyId, Vec<(NodeId, UserId, RegistrationRequest, Position)>>,
    /// Per honest restore, registration and budget period (the last proof
    /// before), the entries its KE2s reported.
    restores: BTreeMap<(RestoreId, RegistrationId, Option<LogIndex>), BTreeSet<LogIndex>>,
    /// Contents of honest registrations whose password file does not open
    /// with the device's password under the vault's key for it.
    foreign: BTreeSet<ContentDigest>,
    /// Contents of honest registrations checked so far.
    checked: BTreeSet<ContentDigest>,
    /// Evaluations recomputed (a figure for the run report).
    pub evaluations: u64,
    /// Password tests found against records (a figure for the run report).
    pub tests: u64,
}

impl Oracle {
    /// Checks for guess limit `limit`, with the fleet's cryptography.
    pub fn new(crypto: OpaqueCrypto, limit: u8) -> Self {
        Oracle {
            crypto,
            limit,
            keys: BTreeMap::new(),
            first: BTreeMap::new(),
            proofs: BTreeMap::new(),
            pending: BTreeMap::new(),
            restores: BTreeMap::new(),
            foreign: BTreeSet::new(),
            checked: BTreeSet::new(),
            evaluations: 0,
            tests: 0,
        }
    }

    /// An honest device submitted registration `content`; `vault_keyed`
    /// says whether its password file opens with the device's password
    /// under the vault's key for it (see the module documentation).
    pub fn honest_registration(&mut self, content: ContentDigest, vault_keyed: bool) {
        self.checked.insert(content);
        if !vault_keyed {
            self.foreign.insert(content);
        }
    }

    /// Whether registration `content` was checked already (a resent Stage).
    pub fn knows_registration(&self, content: &ContentDigest) -> bool {
        self.checked.contains(content)
    }

    /// Learns from newly committed entries: the keys of staged
    /// registrations, and where proofs stand; a committed registration
    /// made from a substituted evaluation is a LOCK-1 violation.
    pub fn on_commits(&mut self, added: &[Added<OpaqueCrypto>]) -> Result<(), Violation> {
        for (index, c, command) in added {
            if let Some(Command::Stage {
                user,
                registration,
                oprf_key,
                content,
                ..
            }) = command
            {
                if self.foreign.contains(content) {
                    return Err(Violation::user(
                        Invariant::Lock1,
                        *user,
                        None,
                        format!(
                            "committed stage {:x} of user {} (index {}) holds a password file made from an OPRF evaluation the vault did not make (the registration response was substituted in transit): whoever made it can test passwords against the record offline, without limit",
                            registration.0, user.0, index.0
                        ),
                    ));
                }
                self.keys
                    .entry(*user)
                    .or_default()
                    .insert(*registration, *oprf_key);
                // Evaluations under this key made before it served a
                // registration test this registration's password: a key
                // that was not fresh (one named by an earlier ticket)
                // lets whoever asked then test guesses now.
                for (from, user, input, at) in self.pending.remove(oprf_key).unwrap_or_default() {
                    self.tested(from, user, *oprf_key, &input, at)?;
                }
            }
            if let (Kind::Activate | Kind::Reset, Some(user), Some(reg)) =
                (c.kind, c.user, c.registration)
            {
                if let Some(key) = self.keys.get(&user).and_then(|k| k.get(&reg)) {
                    self.proofs.entry(*key).or_default().insert(*index);
                }
            }
        }
        Ok(())
    }

    /// The registration whose key `evaluated` was made under, trying
    /// `likely` first: evaluates `input` under each candidate key.
    fn key_of(
        &mut self,
        user: UserId,
        input: &RegistrationRequest,
        evaluated: &[u8],
        likely: Option<OprfKeyId>,
    ) -> Option<OprfKeyId> {
        let mut candidates: Vec<OprfKeyId> = likely.into_iter().collect();
        if let Some(keys) = self.keys.get(&user) {
            candidates.extend(keys.values().filter(|k| Some(**k) != likely));
        }
        for key in candidates {
            self.evaluations += 1;
            let Ok(response) = self.crypto.evaluate(&credential_id(user, &key), input) else {
                continue;
            };
            if response.as_bytes()[..REGISTRATION_REQUEST_LEN]
                == evaluated[..REGISTRATION_REQUEST_LEN]
            {
                return Some(key);
            }
        }
        None
    }

    fn is_record_key(&self, user: UserId, key: &OprfKeyId) -> bool {
        self.keys
            .get(&user)
            .is_some_and(|k| k.values().any(|v| v == key))
    }

    /// A registration response left node `from` (whose applied index was
    /// `applied`) for a request of `user` with blinded element `request`.
    pub fn on_registration_response(
        &mut self,
        from: NodeId,
        user: UserId,
        request: &RegistrationRequest,
        response: &backup_vault::vault::opaque_crypto::VaultRegistrationResponse,
        applied: LogIndex,
    ) -> Result<(), Violation> {
        let evaluated = response.response.as_bytes();
        let claimed = response.ticket.claims.key;
        // The common case costs one evaluation: the key the ticket names.
        self.evaluations += 1;
        let under_claimed = self
            .crypto
            .evaluate(&credential_id(user, &claimed), request)
            .is_ok_and(|r| {
                r.as_bytes()[..REGISTRATION_REQUEST_LEN] == evaluated[..REGISTRATION_REQUEST_LEN]
            });
        let key = if under_claimed {
            if !self.is_record_key(user, &claimed) {
                self.pending.entry(claimed).or_default().push((
                    from,
                    user,
                    request.clone(),
                    (applied, true),
                ));
            }
            Some(claimed).filter(|k| self.is_record_key(user, k))
        } else {
            let found = self.key_of(user, request, evaluated, None);
            if found.is_none() {
                return Err(Violation::user(
                    Invariant::Lock1,
                    user,
                    Some(from),
                    format!(
                        "n{} answered a registration request of user {} under a key that is neither its ticket's nor any registration's",
                        from.0, user.0
                    ),
                ));
            }
            found
        };
        match key {
            Some(key) => self.tested(from, user, key, request, (applied, true)),
            None => Ok(()),
        }
    }

    /// A KE2 left node `from` for a KE1 of `user`, reporting the attempt
    /// consumed at `index` for `registration`.
    pub fn on_ke2(
        &mut self,
        from: NodeId,
        user: UserId,
        ke1: &Ke1,
        ke2: &[u8],
        index: LogIndex,
        registration: Option<RegistrationId>,
    ) -> Result<(), Violation> {
        debug_assert_eq!(ke1.as_bytes().len(), KE1_LEN);
        let Ok(input) =
            RegistrationRequest::from_bytes(&ke1.as_bytes()[..REGISTRATION_REQUEST_LEN])
        else {
            return Ok(());
        };
        let likely = registration.and_then(|r| self.keys.get(&user)?.get(&r).copied());
        match self.key_of(user, &input, ke2, likely) {
            Some(key) => self.tested(from, user, key, &input, (index, false)),
            None => Err(Violation::user(
                Invariant::Lock1,
                user,
                Some(from),
                format!(
                    "n{} released a KE2 for user {} whose evaluation is under no registration's key",
                    from.0, user.0
                ),
            )),
        }
    }

    fn tested(
        &mut self,
        from: NodeId,
        user: UserId,
        key: OprfKeyId,
        input: &RegistrationRequest,
        at: Position,
    ) -> Result<(), Violation> {
        let mut bytes = [0u8; REGISTRATION_REQUEST_LEN];
        bytes.copy_from_slice(input.as_bytes());
        let first = self.first.entry(key).or_default();
        let at = *first.entry(bytes).or_insert(at);
        self.tests += 1;
        let proofs = self.proofs.get(&key);
        let last_proof = |(index, after): Position| {
            proofs.and_then(|p| {
                if after {
                    p.range(..=index).next_back().copied()
                } else {
                    p.range(..index).next_back().copied()
                }
            })
        };
        let interval = last_proof(at);
        let count = first
            .values()
            .filter(|p| last_proof(**p) == interval)
            .count();
        if count > usize::from(self.limit) {
            let registration = self
                .keys
                .get(&user)
                .and_then(|k| k.iter().find(|(_, v)| **v == key).map(|(r, _)| *r));
            return Err(Violation::user(
                Invariant::Lock1,
                user,
                Some(from),
                format!(
                    "{count} password tests (OPRF evaluations of distinct inputs, from any entry point) against user {}'s registration {} between two proofs of knowledge; the limit is {}",
                    user.0,
                    registration.map_or("?".to_string(), |r| format!("{:x}", r.0)),
                    self.limit
                ),
            ));
        }
        Ok(())
    }

    /// LOCK-5: a KE2 for honest restore `restore` reported the attempt
    /// consumed at `index` for `registration`.
    pub fn on_restore_ke2(
        &mut self,
        from: NodeId,
        user: UserId,
        restore: RestoreId,
        registration: RegistrationId,
        index: LogIndex,
    ) -> Result<(), Violation> {
        // Attempts are counted per budget: a proof of knowledge in between
        // (this restore's own, or anyone's) gives the budget back.
        let key = self.keys.get(&user).and_then(|k| k.get(&registration));
        let period = key
            .and_then(|k| self.proofs.get(k))
            .and_then(|p| p.range(..index).next_back().copied());
        let seen = self
            .restores
            .entry((restore, registration, period))
            .or_default();
        seen.insert(index);
        if seen.len() > 1 {
            return Err(Violation::user(
                Invariant::Lock5,
                user,
                Some(from),
                format!(
                    "one restore of user {} has spent {} attempts on registration {:x} (entries {:?}): faults cost it more than one",
                    user.0,
                    seen.len(),
                    registration.0,
                    seen.iter().map(|i| i.0).collect::<Vec<_>>()
                ),
            ));
        }
        Ok(())
    }
}
