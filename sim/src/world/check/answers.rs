//! CONS-4 on the answers themselves: no answer from a stale state.
//!
//! An answer that reports a committed command (it carries the command's log
//! index) is tied to that command and checked by the consensus and lockout
//! checks. Every other answer that depends on the record store (a refusal,
//! "not registered", "key destroyed", a repeated `Staged`, `Activated` or
//! `Deleted`, a `KeyLivesOn`, a wrong password with its count) was read from some node's
//! state. For the store to be linearizable as clients see it, that state
//! must have been the committed one at some moment between the request
//! leaving the client and the answer leaving the node. The checker keeps,
//! per user, every state of the record the committed log went through
//! (the consensus reference's timeline), and requires the answer to agree
//! with at least one of those in the request's window.

use super::consensus::{Consensus, UserView};
use super::Violation;
use backup_vault::invariant::Invariant;
use backup_vault::vault::crypto::{ContentDigest, RegistrationId, VaultCrypto};
use backup_vault::vault::ids::{NodeId, UserId};
use backup_vault::vault::protocol::{ClientResponse, Refusal};
use backup_vault::vault::records::Tombstone;

/// What an answer was about: the parts of the request it depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Asked {
    /// A registration request.
    RegistrationStart,
    /// A stage: the registration it would replace (with a proof of K), and
    /// the stage count its ticket was issued at.
    Stage {
        /// The active registration named in `replacing`.
        replacing: Option<RegistrationId>,
        /// The ticket's stage count (`None` if the seal did not open).
        seq: Option<u64>,
        /// The content.
        content: ContentDigest,
    },
    /// An activation.
    Activate {
        /// The registration.
        registration: RegistrationId,
        /// The content named.
        content: ContentDigest,
    },
    /// A login start.
    LoginStart,
    /// A login finish.
    LoginFinish,
    /// A delete.
    Delete {
        /// The registration.
        registration: RegistrationId,
    },
}

/// Whether `answer` to `asked` could have been read from `v`; `None` if
/// the answer does not depend on the record store.
fn agrees<C: VaultCrypto>(asked: &Asked, answer: &ClientResponse<C>, v: &UserView) -> Option<bool> {
    let active_is = |r: RegistrationId| v.active.is_some_and(|(a, _, _)| a == r);
    let staged_is = |r: RegistrationId| v.staged.is_some_and(|(s, _)| s == r);
    let destroyed = matches!(v.gone, Some(Tombstone::Destroyed(_)));
    Some(match (asked, answer) {
        (_, ClientResponse::NotRegistered) => v.active.is_none() && !destroyed,
        (_, ClientResponse::KeyDestroyed) => v.active.is_none() && destroyed,
        (_, ClientResponse::WrongPassword { remaining }) => {
            v.active.is_some_and(|(_, left, _)| left == *remaining)
        }
        (
            Asked::Stage {
                replacing: Some(r), ..
            },
            ClientResponse::Refused(Refusal::UnknownRegistration),
        ) => !active_is(*r),
        (Asked::Stage { seq: Some(seq), .. }, ClientResponse::Refused(Refusal::StaleTicket)) => {
            v.stages != *seq
        }
        (Asked::Stage { content, .. }, ClientResponse::Staged { registration, .. }) => {
            v.staged == Some((*registration, *content))
        }
        (
            Asked::Activate { registration, .. },
            ClientResponse::Refused(Refusal::UnknownRegistration),
        ) => !staged_is(*registration) && !active_is(*registration),
        (
            Asked::Activate {
                registration,
                content,
            },
            ClientResponse::Activated {
                registration: r,
                remaining,
                ..
            },
        ) => r == registration && v.active == Some((*registration, *remaining, *content)),
        (Asked::Delete { registration }, ClientResponse::Refused(Refusal::UnknownRegistration)) => {
            // Refused only when the user has no tombstone to tag a "gone"
            // with (and no record of the proof's key lives, which would be
            // named: `KeyLivesOn`; which key a record holds is not in the
            // view, and `sim/tests/lost_activation.rs` judges that rule).
            !active_is(*registration) && !staged_is(*registration) && v.gone.is_none()
        }
        (
            Asked::Delete { registration },
            ClientResponse::Deleted {
                registration: r, ..
            },
        ) => {
            // Gone: not live, and a tombstone's reply key tags the answer.
            r == registration
                && !active_is(*registration)
                && !staged_is(*registration)
                && v.gone.is_some()
        }
        (
            Asked::Delete { registration },
            ClientResponse::KeyLivesOn {
                registration: r,
                live,
                ..
            },
        ) => {
            r == registration
                && !active_is(*registration)
                && !staged_is(*registration)
                && (active_is(*live) || staged_is(*live))
        }
        _ => return None,
    })
}

/// Checks one answer without a log index, given by node `from` at `step`,
/// to a request of `user` sent at `sent`.
#[allow(clippy::too_many_arguments)]
pub fn check<C: VaultCrypto>(
    consensus: &Consensus<C>,
    from: NodeId,
    user: UserId,
    asked: &Asked,
    answer: &ClientResponse<C>,
    sent: u64,
    step: u64,
) -> Result<(), Violation> {
    let views = consensus.views_between(user, sent, step);
    let mut verdicts = views.iter().filter_map(|v| agrees(asked, answer, v));
    let Some(first) = verdicts.next() else {
        return Ok(());
    };
    if first || verdicts.any(|ok| ok) {
        return Ok(());
    }
    Err(Violation::user(
        Invariant::Cons4,
        user,
        Some(from),
        format!(
            "n{} answered {} to a {asked:?} of user {}, which no committed state of the record between the request (step {sent}) and the answer (step {step}) gives: an answer from a stale state",
            from.0,
            answer.kind(),
            user.0
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use backup_vault::vault::crypto::{ReplyStatement, SymKey, SymTag, SymbolicCrypto};

    const NAMED: RegistrationId = RegistrationId(1);
    const LIVE: RegistrationId = RegistrationId(2);

    fn lives_on(live: RegistrationId) -> ClientResponse<SymbolicCrypto> {
        let statement = ReplyStatement::KeyLivesOn {
            user: UserId(1),
            registration: NAMED,
            live,
        };
        ClientResponse::KeyLivesOn {
            registration: NAMED,
            live,
            tag: SymTag {
                key: SymKey(1),
                statement,
            },
        }
    }

    fn view(active: Option<RegistrationId>, staged: Option<RegistrationId>) -> UserView {
        UserView {
            active: active.map(|r| (r, 3, ContentDigest([1; 32]))),
            staged: staged.map(|r| (r, ContentDigest([2; 32]))),
            gone: Some(Tombstone::Displaced(NAMED)),
            stages: 2,
        }
    }

    /// "Its key lives on in r'" is an answer some committed state gave
    /// only if the registration named is not live and r' is.
    #[test]
    fn key_lives_on_needs_the_named_registration_dead_and_the_other_live() {
        let asked = Asked::Delete {
            registration: NAMED,
        };
        let agrees = |answer, v| agrees(&asked, &answer, &v);
        assert_eq!(agrees(lives_on(LIVE), view(None, Some(LIVE))), Some(true));
        assert_eq!(agrees(lives_on(LIVE), view(Some(LIVE), None)), Some(true));
        // The record named as living on is not live.
        assert_eq!(agrees(lives_on(LIVE), view(None, None)), Some(false));
        assert_eq!(
            agrees(lives_on(RegistrationId(3)), view(Some(LIVE), None)),
            Some(false)
        );
        // The registration named is live: the delete was for it.
        assert_eq!(
            agrees(lives_on(LIVE), view(Some(NAMED), Some(LIVE))),
            Some(false)
        );
    }

    /// "Gone" says the registration is not live and names the delete's
    /// proof: any registration not live is answered so once a tombstone
    /// can tag it, and refused only without one.
    #[test]
    fn gone_needs_the_named_registration_dead_and_a_tombstone() {
        let asked = Asked::Delete { registration: LIVE };
        let gone = ClientResponse::<SymbolicCrypto>::Deleted {
            registration: LIVE,
            proof: backup_vault::vault::crypto::ProofDigest([3; 32]),
            tag: SymTag {
                key: SymKey(1),
                statement: ReplyStatement::Gone {
                    user: UserId(1),
                    registration: LIVE,
                    proof: backup_vault::vault::crypto::ProofDigest([3; 32]),
                },
            },
        };
        let refused = ClientResponse::<SymbolicCrypto>::Refused(Refusal::UnknownRegistration);
        let agrees = |answer: &ClientResponse<SymbolicCrypto>, v| agrees(&asked, answer, &v);
        // The tombstone is another registration's: still "gone".
        assert_eq!(agrees(&gone, view(None, None)), Some(true));
        assert_eq!(agrees(&refused, view(None, None)), Some(false));
        // The registration named is live.
        assert_eq!(agrees(&gone, view(Some(LIVE), None)), Some(false));
        assert_eq!(agrees(&gone, view(None, Some(LIVE))), Some(false));
        // No tombstone: refused, not gone.
        let bare = UserView {
            gone: None,
            ..view(None, None)
        };
        assert_eq!(agrees(&gone, bare), Some(false));
        assert_eq!(agrees(&refused, bare), Some(true));
    }
}
