//! LIVE-4's restart budgets: how often one operation starts over.
//!
//! The budgets are the client's configuration ([`ClientConfig::restarts`]);
//! which answers call for a restart is restated here from the design
//! (`client::flows`' documentation), not taken from its code:
//! - a login restarts from `LoginStart` on `LoginExpired` to its
//!   `LoginFinish`, at most `login` times;
//! - a registration starts over from `RegistrationStart` when its `Stage`
//!   is refused for a used-up ticket or a foreign evaluation, or its
//!   `Activate` for an unknown registration or a bad proof, at most
//!   `registration` times;
//! - a backup counts a conflict each time a read of an object it put in
//!   this operation does not return what it put (lost, damaged, or another
//!   writer's content; a re-read of its manifest that names another
//!   generation), and gives up with `CloudUnavailable` at the conflict one
//!   past `backup_conflicts`;
//! - a backup object's name must have no history but this operation's: a
//!   put of it answered with a version other than the one expected (the
//!   key's first, or the one after this operation's last answered put of
//!   that name), and a read of it that returns what was put at a version
//!   later than the one expected, are conflicts too (a deleted backup of
//!   that generation may lie below: the backup moves to the next one);
//! - a read of the manifest sent just after a conflict on a read of a
//!   backup object (a name another writer holds) is the backup learning
//!   how far ahead that writer is, part of that conflict: what it returns
//!   is no conflict of its own;
//! - on such an answer the client starts over while its budget lasts (its
//!   next send is the restart: any send for a backup, the operation's
//!   first request for a login or a registration) and fails once it is
//!   spent, never before.
//!
//! The checker sees the client from outside, as LIVE-4's retry checker does
//! ([`super::conduct`]), which tells it which answers reached the client
//! for the request it is waiting on: an answer to a call the client moved
//! past is not a reason to start over. The manifest's encoding is fixed by
//! its key, user and generation (`client::layout`), so "the manifest names
//! this backup's generation" is "it holds the bytes this backup put".

use super::conduct::Sent;
use super::Violation;
use backup_vault::client::layout::parse_backup_key;
use backup_vault::client::{ClientConfig, ClientError, CloudOp, CloudReply, Restarts};
use backup_vault::cloud::{ObjectKey, StoreError, Version};
use backup_vault::invariant::Invariant;
use backup_vault::vault::ids::UserId;
use backup_vault::vault::opaque_crypto::OpaqueCrypto;
use backup_vault::vault::protocol::{ClientRequest, ClientResponse, Refusal};
use bytes::Bytes;

/// What an operation starts over for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restart {
    /// A login, after `LoginExpired`.
    Login,
    /// A registration, after a refusal that calls for a new one.
    Registration,
    /// A backup, after a conflict in the cloud.
    Conflict,
}

impl Restart {
    fn what(self) -> &'static str {
        match self {
            Restart::Login => "login restart",
            Restart::Registration => "registration restart",
            Restart::Conflict => "backup conflict",
        }
    }
}

/// The request a client waits on, as far as its budgets care (kept instead
/// of the request, which the retry checker already copies).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
enum Awaits {
    #[default]
    Nothing,
    LoginFinish,
    Stage,
    Activate,
    /// A read of the object named.
    Read(ObjectKey),
    /// A put of the backup object named.
    BackupPut(ObjectKey),
    /// A read of the backup object named.
    BackupRead(ObjectKey),
    Other,
}

impl Awaits {
    fn of(sent: &Sent) -> Awaits {
        match sent {
            Sent::Vault(ClientRequest::LoginFinish { .. }) => Awaits::LoginFinish,
            Sent::Vault(ClientRequest::Stage { .. }) => Awaits::Stage,
            Sent::Vault(ClientRequest::Activate { .. }) => Awaits::Activate,
            Sent::Cloud(CloudOp::Get { key } | CloudOp::GetVersion { key, .. }) => {
                Awaits::Read(key.clone())
            }
            _ => Awaits::Other,
        }
    }
}

/// One device's current operation, as the checker counts it.
#[derive(Clone, Debug, Default)]
struct Device {
    epoch: u32,
    /// The request the client is waiting on.
    current: Awaits,
    /// What this operation last put under each name it put (a backup puts
    /// at most a backup object per generation and its manifest).
    puts: Vec<(ObjectKey, Bytes)>,
    /// The version each backup object this operation put was last
    /// answered with, where that answer was the one expected.
    put_versions: Vec<(ObjectKey, Version)>,
    login: u32,
    registration: u32,
    conflicts: u32,
    /// An answer that calls for a restart reached the client: its next
    /// output is judged against the budget.
    due: Option<Restart>,
}

impl Device {
    /// The version a put of backup object `key` must be answered with: the
    /// key's first, or the one after this operation's last answered put of
    /// it. Every version below it that holds data is this operation's.
    fn expected(&self, key: &ObjectKey) -> Version {
        self.put_versions
            .iter()
            .find(|(k, _)| k == key)
            .map_or(Version::FIRST, |(_, v)| v.next())
    }
}

/// The checker: one device record per actor.
#[derive(Clone, Debug)]
pub struct Budgets {
    budgets: Restarts,
    devices: Vec<Device>,
}

impl Budgets {
    /// A checker for clients configured with `config`.
    pub fn new(config: &ClientConfig) -> Self {
        Budgets::with(config.restarts)
    }

    /// A checker for clients with the restart budgets `budgets`.
    pub fn with(budgets: Restarts) -> Self {
        Budgets {
            budgets,
            devices: Vec::new(),
        }
    }

    fn device(&mut self, actor: usize, epoch: u32) -> &mut Device {
        if self.devices.len() <= actor {
            self.devices.resize(actor + 1, Device::default());
        }
        let d = &mut self.devices[actor];
        if d.epoch != epoch {
            // A new app process: its operation begins again from nothing.
            *d = Device {
                epoch,
                ..Device::default()
            };
        }
        d
    }

    /// Actor `actor`'s client starts an operation.
    pub fn started(&mut self, actor: usize, epoch: u32) {
        let d = self.device(actor, epoch);
        *d = Device {
            epoch,
            ..Device::default()
        };
    }

    /// `response` reached the client as the answer to the request it waits
    /// on (LIVE-4's retry checker decided it is that request's).
    pub fn vault_answer(
        &mut self,
        actor: usize,
        epoch: u32,
        response: &ClientResponse<OpaqueCrypto>,
    ) {
        let d = self.device(actor, epoch);
        let restart = match (&d.current, response) {
            (Awaits::LoginFinish, ClientResponse::LoginExpired) => Some(Restart::Login),
            (
                Awaits::Stage,
                ClientResponse::Refused(Refusal::StaleTicket | Refusal::ForeignEvaluation),
            )
            | (
                Awaits::Activate,
                ClientResponse::Refused(Refusal::UnknownRegistration | Refusal::BadProof),
            ) => Some(Restart::Registration),
            _ => None,
        };
        d.due = restart;
    }

    /// The client handled what reached it and waits: an answer it left
    /// without effect is not judged here (LIVE-4's retry checker counts
    /// what it sends next).
    pub fn waiting(&mut self, actor: usize, epoch: u32) {
        self.device(actor, epoch).due = None;
    }

    /// `result` reached the client as the answer to the cloud call it
    /// waits on.
    pub fn cloud_answer(
        &mut self,
        actor: usize,
        epoch: u32,
        result: &Result<CloudReply, StoreError>,
    ) {
        let d = self.device(actor, epoch);
        if let (Awaits::BackupPut(key), Ok(CloudReply::Put(version))) = (&d.current, result) {
            let conflict = *version != d.expected(key);
            if !conflict {
                let key = key.clone();
                d.put_versions.retain(|(k, _)| *k != key);
                d.put_versions.push((key, *version));
            }
            d.due = conflict.then_some(Restart::Conflict);
            if conflict {
                d.conflicts += 1;
            }
            return;
        }
        let (read, backup) = match &d.current {
            Awaits::Read(key) => (key, false),
            Awaits::BackupRead(key) => (key, true),
            _ => {
                d.due = None;
                return;
            }
        };
        let Some((_, put)) = d.puts.iter().find(|(k, _)| k == read) else {
            // Not an object this operation put: a first read.
            d.due = None;
            return;
        };
        let conflict = match result {
            Ok(CloudReply::Got(object)) => {
                object.data != *put || (backup && object.version > d.expected(read))
            }
            Err(StoreError::NotFound | StoreError::Corrupt { .. }) => true,
            _ => false,
        };
        d.due = conflict.then_some(Restart::Conflict);
        if conflict {
            d.conflicts += 1;
        }
    }

    /// The client sends `sent`.
    ///
    /// # Errors
    /// It starts over past its budget, or answers a restart's cause with
    /// something else.
    pub fn sent(
        &mut self,
        actor: usize,
        epoch: u32,
        user: UserId,
        sent: &Sent,
    ) -> Result<(), Violation> {
        let budgets = self.budgets;
        let d = self.device(actor, epoch);
        let due = d.due.take();
        if let Sent::Cloud(CloudOp::Put { key, data, .. }) = sent {
            d.puts.retain(|(k, _)| k != key);
            d.puts.push((key.clone(), data.clone()));
        }
        let backup = |key: &ObjectKey| parse_backup_key(user, key).is_some();
        let after_taken =
            due == Some(Restart::Conflict) && matches!(d.current, Awaits::BackupRead(_));
        d.current = match sent {
            Sent::Cloud(CloudOp::Get { key }) if after_taken && !backup(key) => Awaits::Other,
            Sent::Cloud(CloudOp::Put { key, .. }) if backup(key) => Awaits::BackupPut(key.clone()),
            Sent::Cloud(CloudOp::Get { key } | CloudOp::GetVersion { key, .. }) if backup(key) => {
                Awaits::BackupRead(key.clone())
            }
            _ => Awaits::of(sent),
        };
        let fail = |why: String| Err(Violation::user(Invariant::Live4, user, None, why));
        let Some(restart) = due else {
            return Ok(());
        };
        let (count, budget) = match restart {
            Restart::Login => {
                if !matches!(sent, Sent::Vault(ClientRequest::LoginStart { .. })) {
                    return fail(format!(
                        "user {}'s client answered LoginExpired with something other than LoginStart",
                        user.0
                    ));
                }
                d.login += 1;
                (d.login, budgets.login)
            }
            Restart::Registration => {
                if !matches!(sent, Sent::Vault(ClientRequest::RegistrationStart { .. })) {
                    return fail(format!(
                        "user {}'s client answered a refusal that calls for a new registration with something other than RegistrationStart",
                        user.0
                    ));
                }
                d.registration += 1;
                (d.registration, budgets.registration)
            }
            Restart::Conflict => (d.conflicts, budgets.backup_conflicts),
        };
        if count > budget {
            return fail(format!(
                "user {}'s client went on after {} {}s in one operation; its budget is {budget}",
                user.0,
                count,
                restart.what()
            ));
        }
        Ok(())
    }

    /// The client's operation ended with `result`. Returns the budget it
    /// spent, if it gave up because one was (a coverage count: a schedule
    /// that never spends one tests nothing here).
    ///
    /// # Errors
    /// It gave up on a restart's cause with budget left.
    pub fn finished(
        &mut self,
        actor: usize,
        epoch: u32,
        user: UserId,
        result: Result<(), &ClientError>,
    ) -> Result<Option<Restart>, Violation> {
        let budgets = self.budgets;
        let d = self.device(actor, epoch);
        let due = d.due.take();
        let (restart, used, budget) = match due {
            Some(Restart::Login) => (Restart::Login, d.login, budgets.login),
            Some(Restart::Registration) => {
                (Restart::Registration, d.registration, budgets.registration)
            }
            // The conflict one past the budget is the give-up.
            Some(Restart::Conflict) => (
                Restart::Conflict,
                d.conflicts.saturating_sub(1),
                budgets.backup_conflicts,
            ),
            None => return Ok(None),
        };
        let gave_up = match restart {
            Restart::Conflict => matches!(result, Err(ClientError::CloudUnavailable)),
            Restart::Login | Restart::Registration => result.is_err(),
        };
        if gave_up && used < budget {
            return Err(Violation::user(
                Invariant::Live4,
                user,
                None,
                format!(
                    "user {}'s client gave up on a {} after {used} of its {budget}",
                    user.0,
                    restart.what()
                ),
            ));
        }
        Ok(gave_up.then_some(restart))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use backup_vault::client::layout::backup_key;
    use backup_vault::cloud::{Object, Precondition};
    use backup_vault::format::Generation;

    const U: UserId = UserId(1);

    fn budgets() -> Budgets {
        Budgets::with(Restarts {
            login: 1,
            registration: 1,
            backup_conflicts: 2,
        })
    }

    fn key(name: &str) -> ObjectKey {
        ObjectKey::new(name).unwrap()
    }

    fn put(name: &str, data: &'static [u8]) -> Sent {
        Sent::Cloud(CloudOp::Put {
            key: key(name),
            data: Bytes::from_static(data),
            cond: Precondition::IfAbsent,
        })
    }

    fn get(name: &str) -> Sent {
        Sent::Cloud(CloudOp::Get { key: key(name) })
    }

    fn got(data: &'static [u8]) -> Result<CloudReply, StoreError> {
        Ok(CloudReply::Got(Object {
            key: key("b/1"),
            data: Bytes::from_static(data),
            version: Version(1),
        }))
    }

    /// A backup that reads back what it put passes however often it reads;
    /// its conflicts are counted up to the budget and it gives up at the
    /// one past it.
    #[test]
    fn conflicts_are_counted_to_the_budget() {
        let mut b = budgets();
        b.started(0, 1);
        b.sent(0, 1, U, &get("latest")).unwrap();
        b.cloud_answer(0, 1, &Err(StoreError::NotFound));
        b.sent(0, 1, U, &put("b/1", b"one")).unwrap();
        b.sent(0, 1, U, &get("b/1")).unwrap();
        b.cloud_answer(0, 1, &got(b"one"));
        // Two conflicts are within the budget: the client goes on.
        for _ in 0..2 {
            b.sent(0, 1, U, &get("b/1")).unwrap();
            b.cloud_answer(0, 1, &got(b"other"));
            b.sent(0, 1, U, &put("b/1", b"one")).unwrap();
        }
        // A third: going on breaks the budget, giving up keeps it.
        b.sent(0, 1, U, &get("b/1")).unwrap();
        b.cloud_answer(0, 1, &Err(StoreError::NotFound));
        let mut going_on = b.clone();
        assert!(going_on.sent(0, 1, U, &put("b/1", b"one")).is_err());
        b.finished(0, 1, U, Err(&ClientError::CloudUnavailable))
            .unwrap();
    }

    /// A backup object's name must have no history but the operation's
    /// own: a put answered past the version expected, or its bytes read at
    /// a later version, is a conflict; the key's first version and the one
    /// after the operation's own answered put are not.
    #[test]
    fn a_backup_name_with_a_history_is_a_conflict() {
        let name = |g| backup_key(U, Generation(g));
        let put_backup = |g, data: &'static [u8]| {
            Sent::Cloud(CloudOp::Put {
                key: name(g),
                data: Bytes::from_static(data),
                cond: Precondition::IfAbsent,
            })
        };
        let put_at = |v| Ok(CloudReply::Put(Version(v)));
        let got_at = |g, data: &'static [u8], v| {
            Ok(CloudReply::Got(Object {
                key: name(g),
                data: Bytes::from_static(data),
                version: Version(v),
            }))
        };
        let mut b = budgets();
        b.started(0, 1);
        // Generation 1 was put and deleted before: conflict one.
        b.sent(0, 1, U, &put_backup(1, b"one")).unwrap();
        b.cloud_answer(0, 1, &put_at(3));
        // Generation 2 is fresh; its lost write is put again at the next
        // version, and read back from either of them.
        b.sent(0, 1, U, &put_backup(2, b"two")).unwrap();
        b.cloud_answer(0, 1, &put_at(1));
        b.sent(0, 1, U, &put_backup(2, b"two")).unwrap();
        b.cloud_answer(0, 1, &put_at(2));
        b.sent(0, 1, U, &Sent::Cloud(CloudOp::Get { key: name(2) }))
            .unwrap();
        b.cloud_answer(0, 1, &got_at(2, b"two", 2));
        b.sent(0, 1, U, &Sent::Cloud(CloudOp::Get { key: name(2) }))
            .unwrap();
        b.cloud_answer(0, 1, &got_at(2, b"two", 3));
        // Its bytes above a version it cannot account for: conflict two.
        b.sent(0, 1, U, &Sent::Cloud(CloudOp::Get { key: name(2) }))
            .unwrap();
        b.cloud_answer(0, 1, &got_at(2, b"two", 4));
        b.sent(0, 1, U, &put_backup(3, b"three")).unwrap();
        // Conflict three: past the budget of two.
        b.cloud_answer(0, 1, &put_at(2));
        let mut going_on = b.clone();
        assert!(going_on.sent(0, 1, U, &put_backup(4, b"four")).is_err());
        b.finished(0, 1, U, Err(&ClientError::CloudUnavailable))
            .unwrap();
    }

    #[test]
    fn giving_up_early_is_seen() {
        let mut b = budgets();
        b.started(0, 1);
        b.sent(0, 1, U, &put("b/1", b"one")).unwrap();
        b.sent(0, 1, U, &get("b/1")).unwrap();
        b.cloud_answer(0, 1, &Err(StoreError::NotFound));
        assert!(b
            .finished(0, 1, U, Err(&ClientError::CloudUnavailable))
            .is_err());
    }

    /// A refusal to a request that does not call for a restart is not one.
    #[test]
    fn only_the_named_answers_call_for_a_restart() {
        let mut b = budgets();
        b.started(0, 1);
        b.sent(0, 1, U, &super::super::conduct::a_vault_request(U))
            .unwrap();
        b.vault_answer(0, 1, &ClientResponse::LoginExpired);
        b.finished(0, 1, U, Err(&ClientError::VaultUnavailable))
            .unwrap();
    }
}
