//! The client's side of OPAQUE registration and login.
//!
//! Sans-IO: each step takes the previous step's state and the peer's message
//! and returns the next message; randomness comes from the caller's `CryptoRng`.
//!
//! What the client checks:
//! - the server's static public key equals the pinned [`FleetPublicKey`]:
//!   at registration *before* running the KSF or sealing anything (the key is
//!   in the clear in the response), and again on opaque-ke's result; at login
//!   on opaque-ke's result (the key is masked inside KE2 and only readable with
//!   the right password). A mismatch is [`OpaqueError::FleetKeyMismatch`] and
//!   nothing computed is returned (no upload, no KE3, no keys);
//! - at login, the envelope opens (right password, record made for this user
//!   id and this fleet name, same KSF parameters), else
//!   [`OpaqueError::InvalidLogin`];
//! - the server did not reflect the blinded element ([`OpaqueError::ReflectedValue`]).
//!
//! The user id is the OPAQUE client identity and [`FLEET_SERVER_IDENTITY`]
//! the server identity: both are sealed into the envelope at registration and
//! enter the login transcript, so that a record or message for one user cannot
//! complete a login for another (REG-1).

use super::error::OpaqueError;
use super::fleet::FleetPublicKey;
use super::messages::{
    Ke1, Ke2, Ke3, RegistrationRequest, RegistrationResponse, RegistrationUpload,
};
use super::secrets::{ExportKey, SessionKey};
use super::suite::{KsfParams, Suite};
use super::{check_user_id, identifiers, FLEET_SERVER_IDENTITY, LOGIN_CONTEXT};
use core::fmt;
use opaque_ke::{
    ClientLogin, ClientLoginFinishParameters, ClientRegistration,
    ClientRegistrationFinishParameters,
};
use rand_core::{CryptoRng, RngCore};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// What the client knows about the fleet before it talks to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientConfig {
    /// The fleet's static public key, pinned in the app.
    pub fleet_key: FleetPublicKey,
    /// The KSF cost; must be the same at login as at registration.
    pub ksf: KsfParams,
}

macro_rules! client_state {
    ($(#[$doc:meta])* $name:ident, $opaque:ty, $what:literal) => {
        $(#[$doc])*
        ///
        /// Plain data (the user id and opaque-ke's encoding of its state), so it
        /// can be cloned, hashed and compared; wiped on drop, compared in
        /// constant time, redacted in `Debug`. Single use: the finish step consumes it.
        #[derive(Clone, Zeroize, ZeroizeOnDrop)]
        pub struct $name {
            user_id: Vec<u8>,
            state: Vec<u8>,
        }

        impl $name {
            fn new(user_id: &[u8], state: &$opaque) -> Self {
                let mut encoded = state.serialize();
                let out = $name {
                    user_id: user_id.to_vec(),
                    state: encoded.to_vec(),
                };
                encoded.as_mut_slice().zeroize();
                out
            }

            fn to_opaque(&self) -> Result<$opaque, OpaqueError> {
                <$opaque>::deserialize(&self.state)
                    .map_err(|_| OpaqueError::Decode(super::DecodeError::Malformed { what: $what }))
            }

            /// The user id this run is for.
            pub fn user_id(&self) -> &[u8] {
                &self.user_id
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                (self.user_id.ct_eq(&other.user_id) & self.state.ct_eq(&other.state)).into()
            }
        }

        impl Eq for $name {}

        impl core::hash::Hash for $name {
            fn hash<H: core::hash::Hasher>(&self, h: &mut H) {
                self.user_id.hash(h);
                self.state.hash(h);
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }
    };
}

client_state! {
    /// The client's registration state between [`registration_start`] and [`registration_finish`].
    ClientRegistrationState, ClientRegistration<Suite>, "client registration state"
}

client_state! {
    /// The client's login state between [`login_start`] and [`login_finish`].
    ClientLoginState, ClientLogin<Suite>, "client login state"
}

/// Output of [`registration_start`].
#[derive(Debug)]
pub struct ClientRegistrationStart {
    /// Keep until the response arrives.
    pub state: ClientRegistrationState,
    /// Send to the vault.
    pub request: RegistrationRequest,
}

/// Output of [`registration_finish`].
#[derive(Debug)]
pub struct ClientRegistrationFinish {
    /// Send to the vault, which turns it into the user's [`super::PasswordFile`].
    pub upload: RegistrationUpload,
    /// The export key: wrap K under it ([`super::wrap_backup_key`]) and send the
    /// wrapped key along with the upload.
    pub export_key: ExportKey,
}

/// Output of [`login_start`].
#[derive(Debug)]
pub struct ClientLoginStart {
    /// Keep until KE2 arrives.
    pub state: ClientLoginState,
    /// Send to the vault.
    pub ke1: Ke1,
}

/// Output of a successful [`login_finish`].
#[derive(Debug)]
pub struct ClientLoginFinish {
    /// Send to the vault; it proves the client knew the password.
    pub ke3: Ke3,
    /// Shared with the vault once it accepts KE3.
    pub session_key: SessionKey,
    /// The same export key as at registration: it unwraps K.
    pub export_key: ExportKey,
}

/// Starts a registration: blinds the password.
///
/// # Errors
/// [`OpaqueError::InvalidUserId`] for an empty or too long user id;
/// [`OpaqueError::Protocol`] if opaque-ke refuses the password (longer than 65535 bytes).
pub fn registration_start(
    rng: &mut (impl RngCore + CryptoRng),
    user_id: &[u8],
    password: &[u8],
) -> Result<ClientRegistrationStart, OpaqueError> {
    check_user_id(user_id)?;
    let started = ClientRegistration::<Suite>::start(rng, password)?;
    Ok(ClientRegistrationStart {
        state: ClientRegistrationState::new(user_id, &started.state),
        request: RegistrationRequest::from_opaque(&started.message),
    })
}

/// Finishes a registration: checks the fleet key, runs the KSF, seals the
/// envelope (binding the user id and the fleet name) and derives the export key.
///
/// # Errors
/// [`OpaqueError::FleetKeyMismatch`] if the response carries another key than
/// `config.fleet_key` (checked before any work); [`OpaqueError::Ksf`] for
/// unusable KSF parameters; [`OpaqueError::ReflectedValue`].
pub fn registration_finish(
    rng: &mut (impl RngCore + CryptoRng),
    state: ClientRegistrationState,
    password: &[u8],
    response: &RegistrationResponse,
    config: &ClientConfig,
) -> Result<ClientRegistrationFinish, OpaqueError> {
    let offered = FleetPublicKey::from_bytes(response.server_public_key_bytes())?;
    check_pinned(&config.fleet_key, &offered)?;
    let ksf = config.ksf.argon2()?;
    let params = ClientRegistrationFinishParameters::new(
        identifiers(&state.user_id, FLEET_SERVER_IDENTITY),
        Some(&ksf),
    );
    let finished = state
        .to_opaque()?
        .finish(rng, password, response.to_opaque()?, params)?;
    check_pinned(
        &config.fleet_key,
        &FleetPublicKey::from_opaque(&finished.server_s_pk),
    )?;
    Ok(ClientRegistrationFinish {
        upload: RegistrationUpload::from_opaque(&finished.message),
        export_key: ExportKey::take(finished.export_key),
    })
}

/// Starts a login: blinds the password and draws the key-exchange share.
///
/// # Errors
/// As [`registration_start`].
pub fn login_start(
    rng: &mut (impl RngCore + CryptoRng),
    user_id: &[u8],
    password: &[u8],
) -> Result<ClientLoginStart, OpaqueError> {
    check_user_id(user_id)?;
    let started = ClientLogin::<Suite>::start(rng, password)?;
    Ok(ClientLoginStart {
        state: ClientLoginState::new(user_id, &started.state),
        ke1: Ke1::from_opaque(&started.message),
    })
}

/// Finishes a login: runs the KSF, unmasks and opens the envelope, checks the
/// fleet key, and computes KE3, the session key and the export key.
///
/// With a wrong password opaque-ke's `ClientLogin::finish` fails with
/// `InvalidLoginError` (the envelope's MAC does not verify, or the unmasked
/// server key does not even decode), so no KE3 is ever produced for a wrong
/// guess: the vault sees such a login only as a KE1 without a KE3.
///
/// # Errors
/// [`OpaqueError::InvalidLogin`] (wrong password; a KE2 made for another user,
/// record or fleet; other KSF parameters than at registration);
/// [`OpaqueError::FleetKeyMismatch`] if the envelope opened but the server key
/// is not the pinned one; [`OpaqueError::Ksf`]; [`OpaqueError::ReflectedValue`].
pub fn login_finish(
    rng: &mut (impl RngCore + CryptoRng),
    state: ClientLoginState,
    password: &[u8],
    ke2: &Ke2,
    config: &ClientConfig,
) -> Result<ClientLoginFinish, OpaqueError> {
    let ksf = config.ksf.argon2()?;
    let params = ClientLoginFinishParameters::new(
        Some(LOGIN_CONTEXT),
        identifiers(&state.user_id, FLEET_SERVER_IDENTITY),
        Some(&ksf),
    );
    let finished = state
        .to_opaque()?
        .finish(rng, password, ke2.to_opaque()?, params)?;
    check_pinned(
        &config.fleet_key,
        &FleetPublicKey::from_opaque(&finished.server_s_pk),
    )?;
    Ok(ClientLoginFinish {
        ke3: Ke3::from_opaque(&finished.message),
        session_key: SessionKey::take(finished.session_key),
        export_key: ExportKey::take(finished.export_key),
    })
}

fn check_pinned(pinned: &FleetPublicKey, received: &FleetPublicKey) -> Result<(), OpaqueError> {
    if pinned.ct_eq(received) {
        Ok(())
    } else {
        Err(OpaqueError::FleetKeyMismatch {
            pinned: *pinned,
            received: *received,
        })
    }
}
