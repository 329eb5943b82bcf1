//! What a simulation run looks like: the knobs, the fault kinds, and the
//! swarm rule that picks, per seed, which faults are on and how hard.

use backup_vault::flaws::{ClientFlaw, VaultFlaw, CLIENT_FLAWS, VAULT_FLAWS};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::fmt;

/// One kind of fault the world can inject (DESIGN.md section 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    /// Messages between nodes are lost.
    Drop,
    /// Messages take up to several hundred milliseconds (so they reorder).
    Delay,
    /// Messages between nodes arrive twice.
    Duplicate,
    /// Partitions: one node, one data center, or an arbitrary split; healed later.
    Partition,
    /// Nodes crash and restart, losing unsynced writes.
    Crash,
    /// A crash tears the write in flight (recovery must detect it).
    TornWrite,
    /// A synced record rots (recovery finds it corrupt: a rollback).
    CorruptWrite,
    /// A down node's disk goes back to an older state (at most R nodes).
    Rollback,
    /// Node clocks drift and timers fire late.
    Clock,
    /// Client requests and vault replies are lost or duplicated.
    ClientNetwork,
    /// Clients crash in the middle of a flow and resume from saved state.
    ClientCrash,
    /// The cloud is unavailable, or loses an acknowledgement.
    CloudUnavailable,
    /// The cloud acknowledges a put but loses the data.
    CloudLostWrite,
    /// The cloud serves an older version.
    CloudStale,
    /// The cloud serves flipped bits, or a file cut short.
    CloudCorrupt,
    /// The cloud says an object is missing, or leaves it out of a listing.
    CloudMissing,
    /// The chat server, between devices and the vault, splices fields of
    /// captured requests into a device's request and forges vault answers.
    Intercept,
    /// The operator of the nodes' hosts: forges peer messages (a made-up
    /// leader's `Reset`), replays captured ones, and edits the disks of the
    /// R nodes that may come back older.
    Host,
}

impl FaultKind {
    /// Every fault kind.
    pub const ALL: [FaultKind; 18] = [
        FaultKind::Drop,
        FaultKind::Delay,
        FaultKind::Duplicate,
        FaultKind::Partition,
        FaultKind::Crash,
        FaultKind::TornWrite,
        FaultKind::CorruptWrite,
        FaultKind::Rollback,
        FaultKind::Clock,
        FaultKind::ClientNetwork,
        FaultKind::ClientCrash,
        FaultKind::CloudUnavailable,
        FaultKind::CloudLostWrite,
        FaultKind::CloudStale,
        FaultKind::CloudCorrupt,
        FaultKind::CloudMissing,
        FaultKind::Intercept,
        FaultKind::Host,
    ];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Drop => "drop",
            FaultKind::Delay => "delay",
            FaultKind::Duplicate => "duplicate",
            FaultKind::Partition => "partition",
            FaultKind::Crash => "crash",
            FaultKind::TornWrite => "torn-write",
            FaultKind::CorruptWrite => "corrupt-write",
            FaultKind::Rollback => "rollback",
            FaultKind::Clock => "clock",
            FaultKind::ClientNetwork => "client-network",
            FaultKind::ClientCrash => "client-crash",
            FaultKind::CloudUnavailable => "cloud-unavailable",
            FaultKind::CloudLostWrite => "cloud-lost-write",
            FaultKind::CloudStale => "cloud-stale",
            FaultKind::CloudCorrupt => "cloud-corrupt",
            FaultKind::CloudMissing => "cloud-missing",
            FaultKind::Intercept => "intercept",
            FaultKind::Host => "host",
        }
    }

    /// Parses a name from [`FaultKind::name`].
    pub fn parse(name: &str) -> Option<FaultKind> {
        FaultKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether this kind damages disks so that a node comes back older
    /// (allowed on at most R nodes).
    pub fn rolls_back(self) -> bool {
        matches!(
            self,
            FaultKind::Rollback | FaultKind::CorruptWrite | FaultKind::Host
        )
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which faults a run may use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultSelection {
    /// No faults at all: the same world, behaving.
    None,
    /// Swarm testing: each seed switches each kind on with probability 1/2
    /// and picks its intensity.
    Swarm,
    /// Every kind on, each at an intensity the seed picks.
    All,
    /// Exactly these kinds, each at an intensity the seed picks.
    Only(Vec<FaultKind>),
}

impl FaultSelection {
    /// Parses `none`, `swarm`, `all`, or a comma-separated list of kinds.
    ///
    /// # Errors
    /// A message naming the unknown kind and listing the known ones.
    pub fn parse(text: &str) -> Result<FaultSelection, String> {
        match text {
            "none" => Ok(FaultSelection::None),
            "swarm" => Ok(FaultSelection::Swarm),
            "all" => Ok(FaultSelection::All),
            list => {
                let mut kinds = Vec::new();
                for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let kind = FaultKind::parse(name).ok_or_else(|| {
                        let known: Vec<_> = FaultKind::ALL.iter().map(|k| k.name()).collect();
                        format!(
                            "unknown fault kind '{name}'; use none, swarm, all, or a comma-separated list of: {}",
                            known.join(", ")
                        )
                    })?;
                    kinds.push(kind);
                }
                Ok(FaultSelection::Only(kinds))
            }
        }
    }
}

impl fmt::Display for FaultSelection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultSelection::None => f.write_str("none"),
            FaultSelection::Swarm => f.write_str("swarm"),
            FaultSelection::All => f.write_str("all"),
            FaultSelection::Only(kinds) => {
                let names: Vec<_> = kinds.iter().map(|k| k.name()).collect();
                f.write_str(&names.join(","))
            }
        }
    }
}

/// The faults one seed runs with: each kind that is on, and its intensity
/// (1..=1000; how often it strikes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultMix {
    /// Kind → intensity per mille.
    pub on: BTreeMap<FaultKind, u32>,
    /// How long the vault keeps a login between KE2 and KE3. Swarm
    /// testing varies it: with the default of 30 s a spent budget rarely
    /// outlives its last login within a run, so the rule that destroys it
    /// then (LOCK-4) would seldom be exercised.
    pub login_ttl_ms: u64,
    /// The nemesis schedule the swarm picked, if any (`nemesis.rs`).
    pub nemesis: Option<Nemesis>,
    /// Take a snapshot every this many applied entries. Swarm testing
    /// varies it: at the usual cadence a run seldom restarts a node from a
    /// compacted disk, so the snapshot-base and term bookkeeping would
    /// rarely meet a crash.
    pub snapshot_every: u64,
    /// How long a disk write takes to become durable (fsync latency): a
    /// slow disk widens the window between a vote or an append and its
    /// acknowledgement, where crashes and rollbacks bite.
    pub sync_delay_ms: u64,
    /// Most entries in one append message: small batches make a follower
    /// catch up over many rounds, interleaved with elections.
    pub append_batch: usize,
}

/// The snapshot cadence of a run without faults.
pub const DEFAULT_SNAPSHOT_EVERY: u64 = 200;
/// The fsync latency of a run without faults.
pub const DEFAULT_SYNC_DELAY_MS: u64 = 2;

use super::nemesis::Nemesis;
use backup_vault::vault::node::DEFAULT_LOGIN_TTL_MS;
use backup_vault::vault::raft::Timing;

impl FaultMix {
    /// The intensity of `kind`, 0 when off.
    pub fn level(&self, kind: FaultKind) -> u32 {
        self.on.get(&kind).copied().unwrap_or(0)
    }

    /// Whether `kind` is on.
    pub fn has(&self, kind: FaultKind) -> bool {
        self.level(kind) > 0
    }

    /// Draws the mix for `seed`. The draw uses its own RNG stream, so the
    /// mix of a seed does not depend on anything else in the scenario.
    /// `aim` replaces the swarm's nemesis pick wherever the fault kinds
    /// drawn allow it.
    pub fn draw(selection: &FaultSelection, seed: u64, aim: Option<Nemesis>) -> FaultMix {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5377_6172_6d00_0000);
        let mut on = BTreeMap::new();
        let candidates: Vec<FaultKind> = match selection {
            FaultSelection::None => Vec::new(),
            FaultSelection::Swarm => FaultKind::ALL
                .into_iter()
                .filter(|_| rng.next_u32() % 2 == 0)
                .collect(),
            FaultSelection::All => FaultKind::ALL.to_vec(),
            FaultSelection::Only(kinds) => kinds.clone(),
        };
        for kind in candidates {
            // Intensities spread over two orders of magnitude: rare faults
            // and storms both get explored.
            let level = [20, 50, 100, 200, 400][(rng.next_u32() % 5) as usize];
            on.insert(kind, level);
        }
        // Its own stream again, so that the faults drawn above stay what
        // they were for every seed.
        let mut ttl_rng = ChaCha8Rng::seed_from_u64(seed ^ 0x4c6f_6769_6e54_544c);
        let login_ttl_ms = match selection {
            FaultSelection::None => DEFAULT_LOGIN_TTL_MS,
            _ => [2_000, 8_000, DEFAULT_LOGIN_TTL_MS, DEFAULT_LOGIN_TTL_MS]
                [(ttl_rng.next_u32() % 4) as usize],
        };
        // Its own stream too: half the seeds with faults get one schedule
        // among those their fault kinds allow.
        let mut nemesis_rng = ChaCha8Rng::seed_from_u64(seed ^ 0x4e65_6d65_7369_7300);
        let fitting: Vec<Nemesis> = Nemesis::SWARM
            .iter()
            .copied()
            .filter(|n| n.fits(|k| on.contains_key(&k)))
            .collect();
        let picked = if fitting.is_empty() || nemesis_rng.next_u32() % 2 == 0 {
            None
        } else {
            Some(fitting[(nemesis_rng.next_u32() as usize) % fitting.len()])
        };
        let nemesis = match aim {
            Some(n) if n.fits(|k| on.contains_key(&k)) => Some(n),
            Some(_) => None,
            None => picked,
        };
        // Disk and batching cadence, each from its own stream as well.
        let mut cadence_rng = ChaCha8Rng::seed_from_u64(seed ^ 0x4361_6465_6e63_6500);
        let default_batch = Timing::DEFAULT.max_entries_per_append;
        let (snapshot_every, sync_delay_ms, append_batch) = match selection {
            FaultSelection::None => (DEFAULT_SNAPSHOT_EVERY, DEFAULT_SYNC_DELAY_MS, default_batch),
            _ => (
                [2, 7, 30, DEFAULT_SNAPSHOT_EVERY][(cadence_rng.next_u32() % 4) as usize],
                [1, DEFAULT_SYNC_DELAY_MS, DEFAULT_SYNC_DELAY_MS, 25]
                    [(cadence_rng.next_u32() % 4) as usize],
                [1, 3, default_batch, default_batch][(cadence_rng.next_u32() % 4) as usize],
            ),
        };
        FaultMix {
            on,
            login_ttl_ms,
            nemesis,
            snapshot_every,
            sync_delay_ms,
            append_batch,
        }
    }
}

impl fmt::Display for FaultMix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = self
            .on
            .iter()
            .map(|(k, v)| format!("{}={}", k.name(), v))
            .collect();
        if self.login_ttl_ms != DEFAULT_LOGIN_TTL_MS {
            parts.push(format!("login-ttl={}ms", self.login_ttl_ms));
        }
        if let Some(n) = self.nemesis {
            parts.push(format!("nemesis={n}"));
        }
        if self.snapshot_every != DEFAULT_SNAPSHOT_EVERY {
            parts.push(format!("snapshot-every={}", self.snapshot_every));
        }
        if self.sync_delay_ms != DEFAULT_SYNC_DELAY_MS {
            parts.push(format!("fsync={}ms", self.sync_delay_ms));
        }
        if self.append_batch != Timing::DEFAULT.max_entries_per_append {
            parts.push(format!("append-batch={}", self.append_batch));
        }
        if parts.is_empty() {
            return f.write_str("none");
        }
        f.write_str(&parts.join(","))
    }
}

/// Everything that defines a run except the seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// Vault nodes (one per data center).
    pub nodes: u8,
    /// Rollback tolerance R: how many nodes may come back with an older disk.
    pub rollback_tolerance: u8,
    /// Honest users.
    pub users: u32,
    /// Guesses per record.
    pub guess_limit: u8,
    /// Virtual time the world runs with faults, before healing and settling.
    pub duration_ms: u64,
    /// Which faults.
    pub faults: FaultSelection,
    /// Size of each generated chat archive, in bytes.
    pub archive_bytes: u64,
    /// A deliberately broken vault, to show the checks bite.
    pub vault_flaw: Option<VaultFlaw>,
    /// A deliberately broken client, to show the checks bite.
    pub client_flaw: Option<ClientFlaw>,
    /// Also check, when the run ends, that its vault history linearizes
    /// against the sequential model of `docs/history.md` (CONS-4).
    pub check_history: bool,
    /// Every seed whose fault kinds allow it runs this nemesis schedule,
    /// instead of the one (or none) the swarm picks: aim a sweep at one
    /// moment.
    pub nemesis: Option<Nemesis>,
    /// Honest devices in password mode sometimes switch to key mode, their
    /// vault record kept until they turn backups off (`--mode-switches`).
    /// Off by default: its draws would move every recorded seed's run.
    pub mode_switches: bool,
    /// Every honest user also has a second device of the same key, on a
    /// slower network, which sets itself up from the first (a restore with
    /// its digits or the user's password) and then backs up and restores
    /// alongside it (`--second-devices`). Off by default: its actors'
    /// draws would move every recorded seed's run.
    pub second_devices: bool,
}

impl Default for Scenario {
    /// The default sweep: 5 nodes (R = 1), 6 users, limit 10, 60 s of
    /// virtual time, swarm faults.
    fn default() -> Self {
        Scenario {
            nodes: 5,
            rollback_tolerance: 1,
            users: 6,
            guess_limit: 10,
            duration_ms: 60_000,
            faults: FaultSelection::Swarm,
            archive_bytes: 4096,
            vault_flaw: None,
            client_flaw: None,
            check_history: false,
            nemesis: None,
            mode_switches: false,
            second_devices: false,
        }
    }
}

impl Scenario {
    /// The command-line flags that reproduce this scenario (only those that
    /// differ from the defaults).
    pub fn flags(&self) -> String {
        let d = Scenario::default();
        let mut out = String::new();
        if self.nodes != d.nodes {
            out.push_str(&format!(" --nodes {}", self.nodes));
        }
        if self.rollback_tolerance != d.rollback_tolerance {
            out.push_str(&format!(
                " --rollback-tolerance {}",
                self.rollback_tolerance
            ));
        }
        if self.users != d.users {
            out.push_str(&format!(" --users {}", self.users));
        }
        if self.guess_limit != d.guess_limit {
            out.push_str(&format!(" --guess-limit {}", self.guess_limit));
        }
        if self.duration_ms != d.duration_ms {
            out.push_str(&format!(" --duration-ms {}", self.duration_ms));
        }
        if self.faults != d.faults {
            out.push_str(&format!(" --faults {}", self.faults));
        }
        if self.check_history {
            out.push_str(" --check-history");
        }
        if self.mode_switches {
            out.push_str(" --mode-switches");
        }
        if self.second_devices {
            out.push_str(" --second-devices");
        }
        if self.archive_bytes != d.archive_bytes {
            out.push_str(&format!(" --archive-bytes {}", self.archive_bytes));
        }
        if let Some(f) = self.vault_flaw {
            out.push_str(&format!(" --flaw {}", f.name()));
        }
        if let Some(f) = self.client_flaw {
            out.push_str(&format!(" --flaw {}", f.name()));
        }
        if let Some(n) = self.nemesis {
            out.push_str(&format!(" --nemesis {n}"));
        }
        out
    }

    /// The exact command that replays `seed` of this scenario: in a build
    /// on the toy group, through the script that makes that build.
    pub fn replay_command(&self, seed: u64) -> String {
        let runner = if backup_vault::opaque::suite::TOY_GROUP {
            "scripts/toy-group.sh"
        } else {
            "cargo run --release --"
        };
        format!("{runner} sim run --seed {seed}{}", self.flags())
    }
}

/// A flaw by command-line name: vault or client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnyFlaw {
    /// A vault flaw.
    Vault(VaultFlaw),
    /// A client flaw.
    Client(ClientFlaw),
}

/// Parses a flaw name.
///
/// # Errors
/// A message listing the known names (none in a build without flaws).
pub fn parse_flaw(name: &str) -> Result<AnyFlaw, String> {
    if let Some(f) = VAULT_FLAWS.iter().find(|f| f.name() == name) {
        return Ok(AnyFlaw::Vault(*f));
    }
    if let Some(f) = CLIENT_FLAWS.iter().find(|f| f.name() == name) {
        return Ok(AnyFlaw::Client(*f));
    }
    let known: Vec<&str> = VAULT_FLAWS
        .iter()
        .map(|f| f.name())
        .chain(CLIENT_FLAWS.iter().map(|f| f.name()))
        .collect();
    if known.is_empty() {
        return Err(format!(
            "unknown flaw '{name}': this build has no deliberately broken variants (build with the `flaws` feature)"
        ));
    }
    Err(format!(
        "unknown flaw '{name}'; known flaws: {}",
        known.join(", ")
    ))
}
