//! The OPAQUE cipher suite and the cost of its key stretching function.
//!
//! - OPRF: ristretto255 with SHA-512 (RFC 9497 `ristretto255-SHA512`).
//! - Authenticated key exchange: 3DH over ristretto255 with SHA-512.
//! - Key stretching function (KSF): Argon2id v1.3, with the cost chosen **at
//!   run time** from [`KsfParams`]. opaque-ke's `ClientRegistrationFinishParameters`
//!   and `ClientLoginFinishParameters` take `ksf: Option<&Argon2>`; this module
//!   always passes `Some`, so opaque-ke's built-in default (Argon2 defaults) is
//!   never used silently.
//!
//! Only the client runs the KSF. It must run it with the same parameters at
//! login as at registration, otherwise the login fails exactly as with a wrong
//! password. The parameters are public: the vault may store them next to the
//! record and hand them back, and the client checks them against [`KsfParams::MAX`]
//! before spending memory on them.

use argon2::{Algorithm, Argon2, Params, Version};
use opaque_ke::{CipherSuite, TripleDh};
use serde::{Deserialize, Serialize};

/// The prime-order group of the OPRF, the key exchange and the fleet seal
/// ([`super::to_fleet`]): ristretto255.
#[cfg(not(bvault_toy_group))]
pub(crate) type Group = opaque_ke::Ristretto255;

/// The prime-order group of the OPRF, the key exchange and the fleet seal:
/// in a build with `--cfg bvault_toy_group`, the **insecure** toy group,
/// for the simulator's fast sweeps ([`super::toy_group`]).
#[cfg(bvault_toy_group)]
pub(crate) type Group = super::toy_group::ToyGroup;

/// The group's name, as reports print it.
#[cfg(not(bvault_toy_group))]
pub const GROUP_NAME: &str = "ristretto255";

/// The group's name, as reports print it.
#[cfg(bvault_toy_group)]
pub const GROUP_NAME: &str = "toy group (INSECURE: integers mod 2^61-1, simulation only)";

/// Whether this build runs on the insecure toy group (`--cfg bvault_toy_group`).
pub const TOY_GROUP: bool = cfg!(bvault_toy_group);

/// The cipher suite every client and vault node of this system uses.
pub(crate) struct Suite;

impl CipherSuite for Suite {
    type OprfCs = Group;
    type KeyExchange = TripleDh<Group, sha2::Sha512>;
    type Ksf = Argon2<'static>;
}

/// Argon2id cost parameters of the OPAQUE key stretching function.
///
/// The salt is fixed by OPAQUE (the OPRF output is already unique per user and
/// password), so only the cost is configurable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct KsfParams {
    /// Memory, in KiB (1024-byte blocks). At least `8 * p_cost`.
    pub m_cost_kib: u32,
    /// Number of passes over the memory. At least 1.
    pub t_cost: u32,
    /// Degree of parallelism (lanes). At least 1.
    pub p_cost: u32,
}

impl KsfParams {
    /// The production setting: Argon2id with 64 MiB of memory, 3 passes, 1 lane.
    ///
    /// This is RFC 9106's second recommended option (64 MiB, t = 3) with one lane,
    /// since a phone may not run lanes in parallel. It is stronger than OWASP's
    /// minimum for Argon2id (19 MiB, t = 2, p = 1, which is also the `argon2`
    /// crate's default). The vault already limits online guesses to 10; the KSF
    /// is what slows an *offline* dictionary attack by someone who has stolen both
    /// a record and the fleet's OPRF seed out of the HSMs. It costs one Argon2id
    /// evaluation per registration and per login on the client only (measured by
    /// `cargo bench -p backup-vault-benches --bench login`: about 0.2 s of
    /// client CPU per login on the development machine, against 0.4 ms with
    /// [`KsfParams::CHEAP`]), and nothing on the vault, whose share of a login
    /// is about 0.35 ms whatever the KSF.
    pub const REALISTIC: KsfParams = KsfParams {
        m_cost_kib: 64 * 1024,
        t_cost: 3,
        p_cost: 1,
    };

    /// **Insecure.** The smallest cost Argon2id accepts (8 KiB, one pass, one
    /// lane), for tests and the simulator only: a stolen record protected with it
    /// falls to a dictionary attack at near hash speed.
    pub const CHEAP: KsfParams = KsfParams {
        m_cost_kib: 8,
        t_cost: 1,
        p_cost: 1,
    };

    /// The largest cost a client accepts (1 GiB, 16 passes, 8 lanes), so that
    /// parameters that came over the network cannot exhaust the device.
    pub const MAX: KsfParams = KsfParams {
        m_cost_kib: 1024 * 1024,
        t_cost: 16,
        p_cost: 8,
    };

    /// Checks the parameters and builds the Argon2id instance handed to opaque-ke.
    ///
    /// # Errors
    /// [`KsfError`] if a parameter is below Argon2's minimum (t >= 1, p >= 1,
    /// m >= 8 * p KiB) or above [`KsfParams::MAX`].
    pub fn argon2(&self) -> Result<Argon2<'static>, KsfError> {
        let max = KsfParams::MAX;
        check("t_cost", self.t_cost, 1, max.t_cost)?;
        check("p_cost", self.p_cost, 1, max.p_cost)?;
        check(
            "m_cost_kib",
            self.m_cost_kib,
            8 * self.p_cost,
            max.m_cost_kib,
        )?;
        let params = Params::new(self.m_cost_kib, self.t_cost, self.p_cost, None)
            .map_err(|e| KsfError::Rejected(e.to_string()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

fn check(name: &'static str, value: u32, min: u32, max: u32) -> Result<(), KsfError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(KsfError::OutOfRange {
            name,
            value,
            min,
            max,
        })
    }
}

/// [`KsfParams`] that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KsfError {
    /// A parameter is outside the accepted range.
    #[error("Argon2id parameter {name} = {value} is outside {min}..={max}")]
    OutOfRange {
        /// Which parameter.
        name: &'static str,
        /// The value given.
        value: u32,
        /// The smallest accepted value.
        min: u32,
        /// The largest accepted value.
        max: u32,
    },
    /// The `argon2` crate rejected the parameters.
    #[error("Argon2id rejected the parameters: {0}")]
    Rejected(String),
    /// Argon2id failed while running (for example, memory could not be allocated).
    #[error("Argon2id failed while stretching the password")]
    Failed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_accepted() {
        KsfParams::CHEAP.argon2().unwrap();
        KsfParams::REALISTIC.argon2().unwrap();
        KsfParams::MAX.argon2().unwrap();
    }

    #[test]
    fn out_of_range_parameters_are_refused() {
        let bad = [
            KsfParams {
                t_cost: 0,
                ..KsfParams::CHEAP
            },
            KsfParams {
                p_cost: 0,
                ..KsfParams::CHEAP
            },
            KsfParams {
                m_cost_kib: 7,
                ..KsfParams::CHEAP
            },
            KsfParams {
                m_cost_kib: 15,
                p_cost: 2,
                t_cost: 1,
            },
            KsfParams {
                m_cost_kib: u32::MAX,
                ..KsfParams::CHEAP
            },
            KsfParams {
                t_cost: 17,
                ..KsfParams::CHEAP
            },
        ];
        for params in bad {
            assert!(
                matches!(params.argon2(), Err(KsfError::OutOfRange { .. })),
                "{params:?}"
            );
        }
    }
}
