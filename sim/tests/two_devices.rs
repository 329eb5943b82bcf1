//! Two devices of one account against a five-node simulated cluster, real
//! OPAQUE and the real client state machine. The sweeps run one device per
//! user, so what one device's set-up does to another's is judged here.
//!
//! A device that holds a key keeps it through a password restore (DEV-1:
//! `check/device.rs` allows a password restore to change the key only on a
//! device that had none): the key the vault releases may be another
//! device's, and taking it would lose the backups only this device's key
//! opens. A reviewer looking for real bugs found the client taking it.

use backup_vault::client::{Client, ClientConfig, ClientError, Completed, Operation, Output};
use backup_vault::cloud::StoreError;
use backup_vault::flaws::ClientFlaw;
use backup_vault::opaque::{FleetSecrets, KsfParams};
use backup_vault::vault::ids::UserId;
use backup_vault::vault::node::{ClientId, NodeConfig};
use backup_vault::vault::opaque_crypto::OpaqueCrypto;
use backup_vault_sim::cluster::{Cluster, SimConfig};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

const USER: UserId = UserId(42);
const DEVICE: ClientId = ClientId(1);
/// How long a device waits for one vault answer, in virtual ms.
const WAIT_MS: u64 = 5_000;
const PASSWORD: &str = "tiger-lily-42";

struct World {
    cluster: Cluster<OpaqueCrypto>,
    config: ClientConfig,
    rng: ChaCha20Rng,
}

fn world(seed: u64, flaw: Option<ClientFlaw>) -> World {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let crypto = OpaqueCrypto::new(FleetSecrets::generate(&mut rng));
    let mut config = ClientConfig::new(crypto.public_key(), KsfParams::CHEAP);
    config.flaw = flaw;
    let sim = SimConfig {
        node: NodeConfig::default(),
        ..SimConfig::default()
    };
    let mut cluster = Cluster::new(sim, crypto, seed);
    cluster.run_for(2_000);
    World {
        cluster,
        config,
        rng,
    }
}

impl World {
    /// Runs `op` on `device` to its end. The vault's answers come through
    /// a reliable network; the cloud holds nothing (every read is "not
    /// found", every write refused as not found), so a restore's cloud half
    /// fails.
    fn run(&mut self, device: &mut Client, op: Operation) -> Result<Completed, ClientError> {
        device.start(op, self.cluster.now(), &mut self.rng);
        loop {
            let Some(output) = device.poll() else {
                let deadline = device.poll_timeout().expect("a running operation waits");
                let now = self.cluster.now().max(deadline);
                device.handle_timeout(now, &mut self.rng);
                continue;
            };
            match output {
                Output::Vault { call, request, .. } => {
                    match self.cluster.call(DEVICE, request, WAIT_MS) {
                        Some(response) => {
                            device.on_vault(call, response, self.cluster.now(), &mut self.rng);
                        }
                        None => {
                            let deadline = device.poll_timeout().expect("it waits");
                            let now = self.cluster.now().max(deadline);
                            device.handle_timeout(now, &mut self.rng);
                        }
                    }
                }
                Output::Cloud { call, .. } => {
                    let now = self.cluster.now();
                    device.on_cloud(call, Err(StoreError::NotFound), now, &mut self.rng);
                }
                Output::Done(done) => return Ok(done),
                Output::Failed(error) => return Err(error),
            }
        }
    }
}

/// The old device holds K_A in key mode; a new device of the account turns
/// password mode on with a fresh K_B; the user then runs a password restore
/// on the old device. Under `flaw` on the old device: the restore's result,
/// and whether the old device still holds K_A.
fn restore_on_a_device_with_its_own_key(
    flaw: Option<ClientFlaw>,
) -> (Result<Completed, ClientError>, bool) {
    let mut w = world(11, None);
    let mut old = Client::new(USER, w.config);
    let shown = w.run(&mut old, Operation::EnableKeyMode);
    assert!(matches!(shown, Ok(Completed::KeyShown { .. })), "{shown:?}");
    let k_a = old.state().key.clone().expect("K_A");
    let mut new = Client::new(USER, w.config);
    let enabled = w.run(
        &mut new,
        Operation::EnablePasswordMode {
            password: PASSWORD.into(),
        },
    );
    assert!(
        matches!(enabled, Ok(Completed::Registered { .. })),
        "{enabled:?}"
    );
    assert_ne!(
        new.state().key,
        Some(k_a.clone()),
        "the new device's key is its own"
    );
    let mut config = w.config;
    config.flaw = flaw;
    let mut old = Client::from_state(old.state().clone(), config);
    let restored = w.run(
        &mut old,
        Operation::RestoreWithPassword {
            password: PASSWORD.into(),
        },
    );
    let kept = old.state().key == Some(k_a);
    (restored, kept)
}

#[test]
fn a_password_restore_keeps_the_devices_own_key() {
    let (restored, kept) = restore_on_a_device_with_its_own_key(None);
    assert!(
        matches!(restored, Err(ClientError::KeyDiffers)),
        "{restored:?}"
    );
    assert!(kept, "DEV-1: the device's own key was replaced");
}

#[test]
fn a_password_restore_replaces_the_devices_own_key_on_the_broken_variant() {
    let (restored, kept) =
        restore_on_a_device_with_its_own_key(Some(ClientFlaw::RestoreReplacesOwnKey));
    assert!(restored.is_err(), "the cloud holds nothing: {restored:?}");
    assert!(!kept, "the broken variant takes the other device's key");
}
