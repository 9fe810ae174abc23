//! Commit-reveal v4 ("timelocked weights"): weight commits the Bittensor chain opens by itself
//! with the drand quicknet signature of the round they are locked to.
//!
//! The payload `(hotkey, uids, values, version_key)` is SCALE-encoded and timelock-encrypted
//! (Boneh-Franklin IBE on BLS12-381 to the identity `sha256(round as u64 BE)`, body sealed with
//! AES-256-GCM), then sent as `commit_timelocked_mechanism_weights(netuid, mecid, commit,
//! reveal_round, 4)`. In the reveal epoch the chain reads the round's pulse from `Drand.Pulses`,
//! decrypts, checks the hotkey against the signer and applies the weights, so the round must be
//! published early in that epoch: the epoch schedule is simulated here as the runtime runs it.

use std::time::Duration;

use ::timelock::curves::drand::TinyBLS381;
use ::timelock::ibe::fullident::Identity;
use ::timelock::stream_ciphers::AESGCMStreamCipherProvider;
use ::timelock::tlock::EngineBLS;
use ::timelock::tlock::{self, TLECiphertext};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

/// The chain's cap on a commit (`MAX_CRV3_COMMIT_SIZE_BYTES`); a longer one cannot be submitted.
pub const MAX_COMMIT_SIZE: usize = 5000;

// IBE header: G2 point 96, `v` and `w` 8 + 32 each. Body: 8-byte length, then the AES output
// (ciphertext 8 + payload + 16-byte tag, nonce 8 + 12). Cipher suite `AES_GCM_`: 8 + 8.
/// Bytes a commit adds to its SCALE payload, so a commit's size is known before encrypting.
pub const COMMIT_OVERHEAD: usize = 96 + 40 + 40 + 8 + 8 + 16 + 8 + 12 + 8 + 8;

/// Blocks past the first reveal block the round is aimed at, so its pulse is on chain in time.
pub const SECURITY_BLOCK_OFFSET: u64 = 3;

/// A commit sent against head block `n` lands in block `n + 1`.
pub const COMMIT_INCLUSION_OFFSET: u64 = 1;

/// The range the chain allows for `RevealPeriodEpochs` (`MIN/MAX_COMMIT_REVEAL_PEROIDS`).
pub const REVEAL_PERIOD_EPOCHS: std::ops::RangeInclusive<u64> = 1..=100;

/// The commit-reveal version the chain currently expects (`CommitRevealWeightsVersion`).
pub const COMMIT_REVEAL_VERSION: u16 = 4;

const NANOS_PER_SEC: u128 = 1_000_000_000;
const NANOS_PER_MILLI: u128 = 1_000_000;

/// Length of a hotkey (an sr25519 public key, the chain's `AccountId32`).
const HOTKEY_LEN: usize = 32;
/// Length of a compressed BLS12-381 G1 point: a quicknet round signature.
const SIGNATURE_LEN: usize = 48;
/// Length of the IBE header's `v` and `w` vectors; anything else would panic inside `tld`.
const IBE_VECTOR_LEN: usize = 32;

/// A drand beacon whose rounds the chain ingests and decrypts commits with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrandNetwork {
    /// Group public key, a compressed BLS12-381 G2 point: commits are encrypted to it.
    pub public_key: [u8; 96],
    /// Unix time (seconds) of round 1.
    pub genesis_time: u64,
    /// Seconds between rounds.
    pub period: u64,
    /// Chain hash: the beacon's id in drand HTTP paths (`/{hash}/public/{round}`).
    pub chain_hash: [u8; 32],
}

impl DrandNetwork {
    /// drand quicknet, the beacon the chain's drand pallet ingests (G1 signatures, RFC 9380).
    pub const QUICKNET: Self = Self {
        public_key: [
            0x83, 0xcf, 0x0f, 0x28, 0x96, 0xad, 0xee, 0x7e, 0xb8, 0xb5, 0xf0, 0x1f, //
            0xca, 0xd3, 0x91, 0x22, 0x12, 0xc4, 0x37, 0xe0, 0x07, 0x3e, 0x91, 0x1f, //
            0xb9, 0x00, 0x22, 0xd3, 0xe7, 0x60, 0x18, 0x3c, 0x8c, 0x4b, 0x45, 0x0b, //
            0x6a, 0x0a, 0x6c, 0x3a, 0xc6, 0xa5, 0x77, 0x6a, 0x2d, 0x10, 0x64, 0x51, //
            0x0d, 0x1f, 0xec, 0x75, 0x8c, 0x92, 0x1c, 0xc2, 0x2b, 0x0e, 0x17, 0xe6, //
            0x3a, 0xaf, 0x4b, 0xcb, 0x5e, 0xd6, 0x63, 0x04, 0xde, 0x9c, 0xf8, 0x09, //
            0xbd, 0x27, 0x4c, 0xa7, 0x3b, 0xab, 0x4a, 0xf5, 0xa6, 0xe9, 0xc7, 0x6a, //
            0x4b, 0xc0, 0x9e, 0x76, 0xea, 0xe8, 0x99, 0x1e, 0xf5, 0xec, 0xe4, 0x5a, //
        ],
        genesis_time: 1_692_803_367,
        period: 3,
        chain_hash: [
            0x52, 0xdb, 0x9b, 0xa7, 0x0e, 0x0c, 0xc0, 0xf6, 0xea, 0xf7, 0x80, 0x3d, 0xd0, 0x74,
            0x47, 0xa1, 0xf5, 0x47, 0x77, 0x35, 0xfd, 0x3f, 0x66, 0x17, 0x92, 0xba, 0x94, 0x60,
            0x0c, 0x84, 0xe9, 0x71,
        ],
    };

    /// Round to aim at for time `at`: `floor((at - genesis) / period)`, min 1, published by then.
    pub fn round_at(&self, at: Duration) -> Result<u64, TimelockError> {
        self.round_at_nanos(at.as_nanos())
    }

    fn round_at_nanos(&self, at: u128) -> Result<u64, TimelockError> {
        if self.period == 0 {
            return Err(TimelockError::ZeroDrandPeriod);
        }
        let genesis = u128::from(self.genesis_time) * NANOS_PER_SEC;
        let period = u128::from(self.period) * NANOS_PER_SEC;
        let round = at.saturating_sub(genesis) / period;
        u64::try_from(round.max(1)).map_err(|_| TimelockError::RoundOverflow {
            at_secs: u64::try_from(at / NANOS_PER_SEC).unwrap_or(u64::MAX),
        })
    }
}

/// The weights a commit carries, exactly what the chain's `WeightsTlockPayload` decodes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightsPayload {
    /// The committing hotkey; the chain drops the reveal unless it equals the commit's signer.
    pub hotkey: [u8; 32],
    /// Destination uids.
    pub uids: Vec<u16>,
    /// Weight per uid (u16-normalised), same length as `uids`.
    pub values: Vec<u16>,
    /// The subnet's weights version key at commit time.
    pub version_key: u64,
}

impl WeightsPayload {
    /// SCALE length of the payload, known before encoding so oversized commits fail early.
    pub fn encoded_len(&self) -> usize {
        compact_len(HOTKEY_LEN)
            + HOTKEY_LEN
            + compact_len(self.uids.len())
            + 2 * self.uids.len()
            + compact_len(self.values.len())
            + 2 * self.values.len()
            + 8
    }

    /// SCALE encoding: `Vec<u8>` hotkey, `Vec<u16>` uids and values, `u64` version key.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        put_compact(&mut out, HOTKEY_LEN);
        out.extend_from_slice(&self.hotkey);
        put_u16_vec(&mut out, &self.uids);
        put_u16_vec(&mut out, &self.values);
        out.extend_from_slice(&self.version_key.to_le_bytes());
        out
    }

    /// Decodes a plaintext as the chain's reveal does (trailing bytes ignored, long hotkeys cut).
    pub fn decode(bytes: &[u8]) -> Result<Self, TimelockError> {
        let reason = match Self::decode_current(bytes) {
            Ok(payload) => return Ok(payload),
            Err(reason) => reason,
        };
        // The chain then tries the hotkey-less payload of early CRv3 clients; such a commit is
        // applied on chain but names no hotkey, so it is reported rather than returned.
        let mut legacy = Reader::new(bytes);
        match (legacy.u16_vec(), legacy.u16_vec(), legacy.u64()) {
            (Ok(uids), Ok(_), Ok(_)) => Err(TimelockError::LegacyPayload { uids: uids.len() }),
            _ => Err(TimelockError::MalformedPayload {
                len: bytes.len(),
                reason,
            }),
        }
    }

    fn decode_current(bytes: &[u8]) -> Result<Self, &'static str> {
        let mut reader = Reader::new(bytes);
        let hotkey = reader.bytes_vec()?;
        let uids = reader.u16_vec()?;
        let values = reader.u16_vec()?;
        let version_key = reader.u64()?;
        // The chain decodes an `AccountId32` from the front of the hotkey bytes.
        let hotkey = hotkey
            .get(..HOTKEY_LEN)
            .and_then(|key| <[u8; HOTKEY_LEN]>::try_from(key).ok())
            .ok_or("the hotkey is shorter than 32 bytes")?;
        Ok(Self {
            hotkey,
            uids,
            values,
            version_key,
        })
    }
}

/// Why a commit could not be built, decrypted or scheduled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimelockError {
    /// The commit exceeds the chain's 5000-byte bound.
    #[error("the commit is {size} bytes; the chain accepts at most {max}")]
    CommitTooLarge {
        /// Its size (predicted before encryption, or found).
        size: usize,
        /// The bound.
        max: usize,
    },
    /// `uids` and `values` differ in length; the chain would reject the reveal.
    #[error("{uids} uids but {values} values")]
    LengthMismatch {
        /// Number of uids.
        uids: usize,
        /// Number of values.
        values: usize,
    },
    /// drand rounds start at 1.
    #[error("drand round {round} does not exist")]
    InvalidRound {
        /// The round asked for.
        round: u64,
    },
    /// The network's public key is not a BLS12-381 G2 point.
    #[error("drand public key {prefix}… is not a compressed BLS12-381 G2 point: {reason}")]
    BadPublicKey {
        /// Hex of the key's first 8 bytes.
        prefix: String,
        /// The decoder's complaint.
        reason: String,
    },
    /// Timelock encryption or serialisation failed (not expected for valid inputs).
    #[error("timelock encryption failed: {reason}")]
    Encryption {
        /// What failed.
        reason: String,
    },
    /// The commit does not deserialise as a compressed TLE ciphertext.
    #[error("the {len}-byte commit is not a timelock ciphertext: {reason}")]
    MalformedCommit {
        /// Commit length.
        len: usize,
        /// The decoder's complaint.
        reason: String,
    },
    /// The IBE header's `v`/`w` vectors are not 32 bytes each.
    #[error("the commit's IBE header holds {v}- and {w}-byte vectors; 32 and 32 expected")]
    BadHeaderVectors {
        /// Length of `v`.
        v: usize,
        /// Length of `w`.
        w: usize,
    },
    /// A quicknet signature is 48 bytes (after an optional `0x`).
    #[error("the round signature is {len} bytes; 48 expected")]
    SignatureLength {
        /// Its length.
        len: usize,
    },
    /// The signature bytes are not a BLS12-381 G1 point.
    #[error("the round signature {prefix}… is not a compressed BLS12-381 G1 point: {reason}")]
    BadSignature {
        /// Hex of its first 8 bytes.
        prefix: String,
        /// The decoder's complaint.
        reason: String,
    },
    /// The signature does not open the commit: another round's, or the header was altered.
    #[error("signature {prefix}… is not the one the commit is locked to")]
    WrongSignature {
        /// Hex of its first 8 bytes.
        prefix: String,
    },
    /// The key opened but the body did not decrypt (altered body, nonce or tag).
    #[error("the commit body does not decrypt: {reason}")]
    DecryptionFailed {
        /// Which step failed.
        reason: String,
    },
    /// The plaintext is not a SCALE weights payload.
    #[error("the {len}-byte plaintext is not a weights payload: {reason}")]
    MalformedPayload {
        /// Plaintext length.
        len: usize,
        /// What did not decode.
        reason: &'static str,
    },
    /// The plaintext is the old hotkey-less payload, which cannot be tied to a committer here.
    #[error("the plaintext is a legacy payload without hotkey ({uids} uids)")]
    LegacyPayload {
        /// Number of uids it carries.
        uids: usize,
    },
    /// A subnet with tempo 0 runs no epochs, so a commit would never be revealed.
    #[error("subnet {netuid} has tempo 0 and never reveals")]
    TempoZero {
        /// The subnet.
        netuid: u16,
    },
    /// The reveal period is outside what the chain allows.
    #[error("reveal period of {epochs} epochs is outside 1..=100")]
    RevealPeriodOutOfRange {
        /// The period given.
        epochs: u64,
    },
    /// A block time of zero cannot be turned into wall-clock time.
    #[error("block time is zero")]
    ZeroBlockTime,
    /// A drand period of zero has no rounds.
    #[error("drand period is zero")]
    ZeroDrandPeriod,
    /// The epoch simulation found no reveal block within its bound (inconsistent inputs).
    #[error("no reveal block within {searched} blocks of block {from}")]
    RevealBlockNotFound {
        /// First block simulated.
        from: u64,
        /// Blocks simulated.
        searched: u64,
    },
    /// The target time is beyond any representable round.
    #[error("no drand round is representable at unix time {at_secs}")]
    RoundOverflow {
        /// The target time, in seconds.
        at_secs: u64,
    },
}

/// What a subnet's schedule looks like at the head block the commit is computed against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochSchedule {
    /// The head block the storage below was read at.
    pub current_block: u64,
    /// The subnet (not the mechanism storage index).
    pub netuid: u16,
    /// `Tempo(netuid)`.
    pub tempo: u16,
    /// `RevealPeriodEpochs(netuid)`.
    pub reveal_period_epochs: u64,
    /// Block time in milliseconds (`Aura.SlotDuration`; 12000 on finney).
    pub block_time_ms: u64,
}

/// The stateful epoch counters the chain keeps since spec 423, read at the same head block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EpochState {
    /// `LastEpochBlock(netuid)`.
    pub last_epoch_block: u64,
    /// `PendingEpochAt(netuid)`: an owner-triggered or deferred epoch, 0 if none.
    pub pending_epoch_at: u64,
    /// `SubnetEpochIndex(netuid)`.
    pub subnet_epoch_index: u64,
    /// `BlocksSinceLastStep(netuid)`.
    pub blocks_since_last_step: u64,
}

/// The round to lock a commit to, and the blocks it was derived from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevealTarget {
    /// The drand round to encrypt to and pass as `reveal_round`.
    pub reveal_round: u64,
    /// First block of the reveal epoch: the chain tries to reveal from here until the epoch ends.
    pub reveal_block: u64,
    /// `reveal_block + SECURITY_BLOCK_OFFSET`, whose expected wall-clock time picked the round.
    pub target_block: u64,
}

/// Reveal round under the modulo epochs of runtimes before stateful epochs (spec < 423), for
/// a commit included in the block after `schedule.current_block`.
pub fn reveal_round_v1(
    schedule: &EpochSchedule,
    network: &DrandNetwork,
    now: Duration,
) -> Result<RevealTarget, TimelockError> {
    check_schedule(schedule)?;
    let tempo_plus_one = u64::from(schedule.tempo) + 1;
    let netuid_plus_one = u64::from(schedule.netuid) + 1;
    // The chain files a commit under the epoch of the block that includes it, the next one:
    // from the last block of an epoch, the commit belongs to the following epoch.
    let included = schedule
        .current_block
        .saturating_add(COMMIT_INCLUSION_OFFSET);
    let epoch = included.saturating_add(netuid_plus_one) / tempo_plus_one;
    let reveal_block = epoch
        .saturating_add(schedule.reveal_period_epochs)
        .saturating_mul(tempo_plus_one)
        .saturating_sub(netuid_plus_one);
    target(schedule, reveal_block, network, now)
}

/// Reveal round under stateful epochs (`SubnetEpochIndex`, spec >= 423).
pub fn reveal_round_v2(
    schedule: &EpochSchedule,
    state: &EpochState,
    network: &DrandNetwork,
    now: Duration,
) -> Result<RevealTarget, TimelockError> {
    let reveal_block = reveal_block_v2(schedule, state)?;
    target(schedule, reveal_block, network, now)
}

/// First block whose reveal step sees the commit's reveal epoch, simulated block by block.
pub fn reveal_block_v2(schedule: &EpochSchedule, state: &EpochState) -> Result<u64, TimelockError> {
    // Per block the runtime first reveals, judging epochs by the index plus one if an epoch is
    // due this block, then runs the coinbase, which ages `BlocksSinceLastStep` (capped at
    // tempo + 1) and fires a due epoch. A commit extrinsic is tagged with the same look-ahead
    // epoch. Deferrals by the per-block epoch cap are not modelled.
    check_schedule(schedule)?;
    let tempo = u64::from(schedule.tempo);
    let from = schedule
        .current_block
        .saturating_add(COMMIT_INCLUSION_OFFSET);
    let commit_epoch = lookahead_epoch(state, tempo, from);
    let reveal_epoch = commit_epoch.saturating_add(schedule.reveal_period_epochs);
    // Every epoch fires within tempo + 1 blocks of the previous one (the age counter alone
    // forces it), so the reveal epoch starts within (period + 1) epochs of the commit.
    let bound = (schedule.reveal_period_epochs + 1) * (tempo + 1) + 1;
    let mut state = *state;
    for offset in 0..bound {
        let block = from.saturating_add(offset);
        if lookahead_epoch(&state, tempo, block) == reveal_epoch {
            return Ok(block);
        }
        run_coinbase(&mut state, tempo, block);
    }
    Err(TimelockError::RevealBlockNotFound {
        from,
        searched: bound,
    })
}

/// Timelock-encrypts the payload to `round`, giving the bytes to submit as `commit`.
pub fn encrypt_weights<R: RngCore + CryptoRng>(
    payload: &WeightsPayload,
    round: u64,
    network: &DrandNetwork,
    rng: &mut R,
) -> Result<Vec<u8>, TimelockError> {
    if payload.uids.len() != payload.values.len() {
        return Err(TimelockError::LengthMismatch {
            uids: payload.uids.len(),
            values: payload.values.len(),
        });
    }
    let size = payload.encoded_len().saturating_add(COMMIT_OVERHEAD);
    if size > MAX_COMMIT_SIZE {
        return Err(TimelockError::CommitTooLarge {
            size,
            max: MAX_COMMIT_SIZE,
        });
    }
    if round == 0 {
        return Err(TimelockError::InvalidRound { round });
    }
    let public_key =
        <TinyBLS381 as EngineBLS>::PublicKeyGroup::deserialize_compressed(&network.public_key[..])
            .map_err(|e| TimelockError::BadPublicKey {
                prefix: hex_prefix(&network.public_key),
                reason: e.to_string(),
            })?;
    let mut plaintext = payload.encode();
    let mut ephemeral_key = [0u8; 32];
    rng.fill_bytes(&mut ephemeral_key);
    let sealed = tlock::tle::<TinyBLS381, AESGCMStreamCipherProvider, _>(
        public_key,
        ephemeral_key,
        &plaintext,
        round_identity(round),
        &mut *rng,
    );
    ephemeral_key.zeroize();
    plaintext.zeroize();
    let ciphertext = sealed.map_err(|e| TimelockError::Encryption {
        reason: format!("{e:?}"),
    })?;
    let mut commit = Vec::with_capacity(size);
    ciphertext
        .serialize_compressed(&mut commit)
        .map_err(|e| TimelockError::Encryption {
            reason: e.to_string(),
        })?;
    if commit.len() > MAX_COMMIT_SIZE {
        return Err(TimelockError::CommitTooLarge {
            size: commit.len(),
            max: MAX_COMMIT_SIZE,
        });
    }
    Ok(commit)
}

/// Opens a commit with its round's pulse signature as the chain's reveal does (tests, audits).
pub fn decrypt_weights(
    commit: &[u8],
    round_signature: &[u8],
) -> Result<WeightsPayload, TimelockError> {
    // As on chain: bytes after the ciphertext are ignored, the cipher-suite tag is not checked
    // and a `0x` in front of the 48 signature bytes is skipped. The caller still compares the
    // returned hotkey with the commit's signer.
    if commit.len() > MAX_COMMIT_SIZE {
        return Err(TimelockError::CommitTooLarge {
            size: commit.len(),
            max: MAX_COMMIT_SIZE,
        });
    }
    let ciphertext = TLECiphertext::<TinyBLS381>::deserialize_compressed(commit).map_err(|e| {
        TimelockError::MalformedCommit {
            len: commit.len(),
            reason: e.to_string(),
        }
    })?;
    let (v, w) = (ciphertext.header.v.len(), ciphertext.header.w.len());
    if v != IBE_VECTOR_LEN || w != IBE_VECTOR_LEN {
        return Err(TimelockError::BadHeaderVectors { v, w });
    }
    let signature_bytes = round_signature
        .strip_prefix(b"0x")
        .unwrap_or(round_signature);
    if signature_bytes.len() != SIGNATURE_LEN {
        return Err(TimelockError::SignatureLength {
            len: signature_bytes.len(),
        });
    }
    let signature =
        <TinyBLS381 as EngineBLS>::SignatureGroup::deserialize_compressed(signature_bytes)
            .map_err(|e| TimelockError::BadSignature {
                prefix: hex_prefix(signature_bytes),
                reason: e.to_string(),
            })?;
    let mut plaintext = tlock::tld::<TinyBLS381, AESGCMStreamCipherProvider>(ciphertext, signature)
        .map_err(|e| match e {
            tlock::Error::InvalidSignature => TimelockError::WrongSignature {
                prefix: hex_prefix(signature_bytes),
            },
            other => TimelockError::DecryptionFailed {
                reason: format!("{other:?}"),
            },
        })?;
    let payload = WeightsPayload::decode(&plaintext);
    plaintext.zeroize();
    payload
}

/// The IBE identity drand signs for a round: `sha256(round.to_be_bytes())`, empty context.
fn round_identity(round: u64) -> Identity {
    let digest = Sha256::digest(round.to_be_bytes());
    Identity::new(b"", vec![digest.to_vec()])
}

fn check_schedule(schedule: &EpochSchedule) -> Result<(), TimelockError> {
    if schedule.tempo == 0 {
        return Err(TimelockError::TempoZero {
            netuid: schedule.netuid,
        });
    }
    if !REVEAL_PERIOD_EPOCHS.contains(&schedule.reveal_period_epochs) {
        return Err(TimelockError::RevealPeriodOutOfRange {
            epochs: schedule.reveal_period_epochs,
        });
    }
    if schedule.block_time_ms == 0 {
        return Err(TimelockError::ZeroBlockTime);
    }
    Ok(())
}

/// Turns a reveal block into the round published `SECURITY_BLOCK_OFFSET` blocks after it.
fn target(
    schedule: &EpochSchedule,
    reveal_block: u64,
    network: &DrandNetwork,
    now: Duration,
) -> Result<RevealTarget, TimelockError> {
    let target_block = reveal_block.saturating_add(SECURITY_BLOCK_OFFSET);
    let blocks_ahead = target_block.saturating_sub(schedule.current_block);
    let ahead = u128::from(blocks_ahead)
        .saturating_mul(u128::from(schedule.block_time_ms))
        .saturating_mul(NANOS_PER_MILLI);
    let reveal_round = network.round_at_nanos(now.as_nanos().saturating_add(ahead))?;
    Ok(RevealTarget {
        reveal_round,
        reveal_block,
        target_block,
    })
}

/// Whether an epoch is due at `block` (the runtime's `should_run_epoch`).
fn epoch_due(state: &EpochState, tempo: u64, block: u64) -> bool {
    tempo != 0
        && ((state.pending_epoch_at > 0 && block >= state.pending_epoch_at)
            || state.blocks_since_last_step > tempo
            || block.saturating_sub(state.last_epoch_block) >= tempo)
}

/// The epoch a reveal or commit at `block` belongs to (`current_epoch_with_lookahead`).
fn lookahead_epoch(state: &EpochState, tempo: u64, block: u64) -> u64 {
    state
        .subnet_epoch_index
        .saturating_add(u64::from(epoch_due(state, tempo, block)))
}

/// The schedule part of the runtime's coinbase at `block`.
fn run_coinbase(state: &mut EpochState, tempo: u64, block: u64) {
    state.blocks_since_last_step = state
        .blocks_since_last_step
        .saturating_add(1)
        .min(tempo + 1);
    if epoch_due(state, tempo, block) {
        state.last_epoch_block = block;
        state.pending_epoch_at = 0;
        state.subnet_epoch_index = state.subnet_epoch_index.saturating_add(1);
        state.blocks_since_last_step = 0;
    }
}

fn hex_prefix(bytes: &[u8]) -> String {
    bytes.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

// ---- SCALE, by hand: compact lengths and little-endian integers -------------------------------

/// Bytes of the SCALE compact encoding of a length.
fn compact_len(n: usize) -> usize {
    match n {
        0..=0x3f => 1,
        0x40..=0x3fff => 2,
        0x4000..=0x3fff_ffff => 4,
        _ => 5,
    }
}

/// Appends a length as SCALE `Compact<u32>`; lengths here are far below `u32::MAX`.
fn put_compact(out: &mut Vec<u8>, n: usize) {
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    match n {
        0..=0x3f => out.push((n as u8) << 2),
        0x40..=0x3fff => out.extend_from_slice(&(((n as u16) << 2) | 0b01).to_le_bytes()),
        0x4000..=0x3fff_ffff => out.extend_from_slice(&((n << 2) | 0b10).to_le_bytes()),
        _ => {
            out.push(0b11);
            out.extend_from_slice(&n.to_le_bytes());
        }
    }
}

fn put_u16_vec(out: &mut Vec<u8>, items: &[u16]) {
    put_compact(out, items.len());
    for item in items {
        out.extend_from_slice(&item.to_le_bytes());
    }
}

/// A cursor over SCALE bytes that refuses what `parity-scale-codec` refuses.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        if n > self.rest.len() {
            return Err("the input ends early");
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], &'static str> {
        self.take(N)?.try_into().map_err(|_| "the input ends early")
    }

    /// `Compact<u32>`, rejecting non-canonical (longer than needed) forms as the codec does.
    fn compact_len(&mut self) -> Result<usize, &'static str> {
        const OUT_OF_RANGE: &str = "a compact length is not in canonical form";
        let [first] = self.array::<1>()?;
        let value = match first & 0b11 {
            0b00 => u32::from(first >> 2),
            0b01 => {
                let [second] = self.array::<1>()?;
                let value = u32::from(u16::from_le_bytes([first, second]) >> 2);
                if value <= 0x3f {
                    return Err(OUT_OF_RANGE);
                }
                value
            }
            0b10 => {
                let [b1, b2, b3] = self.array::<3>()?;
                let value = u32::from_le_bytes([first, b1, b2, b3]) >> 2;
                if value <= 0x3fff {
                    return Err(OUT_OF_RANGE);
                }
                value
            }
            _ => {
                if first >> 2 != 0 {
                    return Err("a compact length does not fit in 32 bits");
                }
                let value = u32::from_le_bytes(self.array::<4>()?);
                if value <= 0x3fff_ffff {
                    return Err(OUT_OF_RANGE);
                }
                value
            }
        };
        usize::try_from(value).map_err(|_| "a compact length does not fit in memory")
    }

    fn bytes_vec(&mut self) -> Result<Vec<u8>, &'static str> {
        let len = self.compact_len()?;
        Ok(self.take(len)?.to_vec())
    }

    fn u16_vec(&mut self) -> Result<Vec<u16>, &'static str> {
        let len = self.compact_len()?;
        let bytes = self.take(len.checked_mul(2).ok_or("a vector length overflows")?)?;
        Ok(bytes
            .chunks_exact(2)
            .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
            .collect())
    }

    fn u64(&mut self) -> Result<u64, &'static str> {
        Ok(u64::from_le_bytes(self.array::<8>()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parity_scale_codec::{Compact, Decode, Encode};
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    /// Quicknet pulses as the chain's drand pallet stored them (`Drand.write_pulse` in block 6 of
    /// the Bittensor SDK's golden localnet recording): round, randomness, signature.
    const PULSES: [(u64, &str, &str); 4] = [
        (
            30_668_812,
            "70a6f02813286181515074657adf5cf3287d1ffc16a25e67b08cceb66489c876",
            "b7e15d214002905b548474719ec134e1de7935c35b8b12028ced184c233a01555c1b163f8d2cab92cd69b205cd9c1e07",
        ),
        (
            30_668_813,
            "e3a074a3f5abac3fadedd612d54fe0bcf97404a3f4d4b657c96345b6b9bdf873",
            "a266e4bd1d7b20f3e9d36011d08fc1a921f5e3cb541ae3994795f042a18b7ba3573c7ae3807fcc7f0c9b910f4a4693c3",
        ),
        (
            30_668_814,
            "8cb00d7b3b4036b01dbbe30b4bb2a9ecbe7012fc4087452914f0ba6b1a4e0ee6",
            "930695e26d9672abc00be9afd637e0e1dbac924e7267b94b6f6f3c1700d49640e5638204e259ef8c51d5ff87be53db9b",
        ),
        (
            30_668_815,
            "b48bc35f87602618f26162076f5c7916e520110ff5cc266d080396bbe9571956",
            "aab35f9c2dedeb6f5d7b47748be8eb76a5871d18a7368fda06aa1034d83045b52d60a5d6b132329a0e2ff9e20152155c",
        ),
    ];

    fn signature(index: usize) -> Vec<u8> {
        hex::decode(PULSES[index].2).unwrap()
    }

    fn rng() -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(7)
    }

    fn payload(n: usize) -> WeightsPayload {
        WeightsPayload {
            hotkey: [0xd4; 32],
            uids: (0..n).map(|i| i as u16).collect(),
            values: (0..n)
                .map(|i| (i as u16).wrapping_mul(257).wrapping_add(1))
                .collect(),
            version_key: 2_010_004,
        }
    }

    /// The chain's own payload type, for checking our hand-written SCALE against the codec.
    #[derive(Debug, PartialEq, Encode, Decode)]
    struct ChainPayload {
        hotkey: Vec<u8>,
        uids: Vec<u16>,
        values: Vec<u16>,
        version_key: u64,
    }

    #[derive(Debug, PartialEq, Encode, Decode)]
    struct LegacyChainPayload {
        uids: Vec<u16>,
        values: Vec<u16>,
        version_key: u64,
    }

    fn chain_payload(p: &WeightsPayload) -> ChainPayload {
        ChainPayload {
            hotkey: p.hotkey.to_vec(),
            uids: p.uids.clone(),
            values: p.values.clone(),
            version_key: p.version_key,
        }
    }

    // ---- (a) encryption against real quicknet pulses ----------------------------------------

    #[test]
    fn quicknet_constants_match_the_published_beacon() {
        let net = DrandNetwork::QUICKNET;
        assert_eq!(
            hex::encode(net.public_key),
            "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a"
        );
        assert_eq!(
            hex::encode(net.chain_hash),
            "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971"
        );
        // The recorded pulses are self-consistent: randomness = sha256(signature).
        for (round, randomness, sig) in PULSES {
            let digest = Sha256::digest(hex::decode(sig).unwrap());
            assert_eq!(hex::encode(digest), randomness, "round {round}");
        }
        // Round 30668812 is due at genesis + (round - 1) * period = 1784809800, a few seconds
        // before the localnet block (timestamp 1784809824006 ms) that ingested it.
        assert_eq!(
            net.genesis_time + (PULSES[0].0 - 1) * net.period,
            1_784_809_800
        );
    }

    #[test]
    fn commit_opens_with_its_round_signature_only() {
        let net = DrandNetwork::QUICKNET;
        let sent = payload(5);
        for (index, (round, _, _)) in PULSES.iter().enumerate() {
            let commit = encrypt_weights(&sent, *round, &net, &mut rng()).unwrap();
            assert_eq!(
                decrypt_weights(&commit, &signature(index)).unwrap(),
                sent,
                "round {round}"
            );
            let other = (index + 1) % PULSES.len();
            assert!(
                matches!(
                    decrypt_weights(&commit, &signature(other)),
                    Err(TimelockError::WrongSignature { .. })
                ),
                "round {round} opened with round {}'s signature",
                PULSES[other].0
            );
        }
    }

    #[test]
    fn signature_may_carry_a_0x_prefix() {
        let sent = payload(3);
        let commit =
            encrypt_weights(&sent, PULSES[0].0, &DrandNetwork::QUICKNET, &mut rng()).unwrap();
        let mut prefixed = b"0x".to_vec();
        prefixed.extend(signature(0));
        assert_eq!(decrypt_weights(&commit, &prefixed).unwrap(), sent);
    }

    #[test]
    fn commits_are_randomised() {
        let net = DrandNetwork::QUICKNET;
        let a = encrypt_weights(
            &payload(2),
            PULSES[0].0,
            &net,
            &mut ChaCha20Rng::seed_from_u64(1),
        );
        let b = encrypt_weights(
            &payload(2),
            PULSES[0].0,
            &net,
            &mut ChaCha20Rng::seed_from_u64(2),
        );
        assert_ne!(a.unwrap(), b.unwrap());
    }

    #[test]
    fn every_truncation_of_a_commit_is_an_error() {
        let commit = encrypt_weights(
            &payload(4),
            PULSES[0].0,
            &DrandNetwork::QUICKNET,
            &mut rng(),
        )
        .unwrap();
        let sig = signature(0);
        for len in 0..commit.len() {
            assert!(
                decrypt_weights(&commit[..len], &sig).is_err(),
                "prefix of {len} bytes"
            );
        }
        // Bytes after a complete ciphertext are ignored, as on chain.
        let mut longer = commit;
        longer.extend_from_slice(&[0xaa; 7]);
        assert_eq!(decrypt_weights(&longer, &sig).unwrap(), payload(4));
    }

    #[test]
    fn altered_commits_are_errors_not_panics() {
        let sent = payload(4);
        let commit =
            encrypt_weights(&sent, PULSES[0].0, &DrandNetwork::QUICKNET, &mut rng()).unwrap();
        let sig = signature(0);
        // Layout: u (0..96), v (96..136), w (136..176), body (176..), cipher suite (last 16).
        let body_ciphertext = 176 + 8 + 8;
        let nonce = commit.len() - 16 - 12;
        for (what, at) in [
            ("point u", 5),
            ("point u high byte", 0),
            ("v length", 96),
            ("v", 110),
            ("w length", 136),
            ("w", 150),
            ("body length", 176),
            ("aes length", 184),
            ("aes ciphertext", body_ciphertext + 3),
            ("aes tag", nonce - 8 - 1),
            ("nonce length", nonce - 8),
            ("nonce", nonce + 2),
            ("cipher suite length", commit.len() - 16),
        ] {
            let mut bad = commit.clone();
            bad[at] ^= 0x01;
            assert!(
                decrypt_weights(&bad, &sig).is_err(),
                "flipped {what} at {at}"
            );
        }
        // The cipher-suite tag is not checked by the chain either.
        let mut suite = commit;
        let last = suite.len() - 1;
        suite[last] ^= 0x01;
        assert_eq!(decrypt_weights(&suite, &sig).unwrap(), sent);
    }

    #[test]
    fn hostile_header_vectors_are_refused_before_decryption() {
        // `tld` would index past the end of a `v` longer than 32 bytes and panic.
        let commit = encrypt_weights(
            &payload(1),
            PULSES[0].0,
            &DrandNetwork::QUICKNET,
            &mut rng(),
        )
        .unwrap();
        let mut ciphertext =
            TLECiphertext::<TinyBLS381>::deserialize_compressed(&commit[..]).unwrap();
        for (v, w) in [(33, 32), (32, 33), (31, 31), (32, 0), (0, 32), (64, 32)] {
            ciphertext.header.v = vec![7; v];
            ciphertext.header.w = vec![9; w];
            let mut bytes = Vec::new();
            ciphertext.serialize_compressed(&mut bytes).unwrap();
            assert_eq!(
                decrypt_weights(&bytes, &signature(0)),
                Err(TimelockError::BadHeaderVectors { v, w })
            );
        }
    }

    #[test]
    fn hostile_lengths_and_points_are_errors() {
        let commit = encrypt_weights(
            &payload(1),
            PULSES[0].0,
            &DrandNetwork::QUICKNET,
            &mut rng(),
        )
        .unwrap();
        let sig = signature(0);
        assert!(matches!(
            decrypt_weights(&[], &sig),
            Err(TimelockError::MalformedCommit { len: 0, .. })
        ));
        assert_eq!(
            decrypt_weights(&vec![0u8; MAX_COMMIT_SIZE + 1], &sig),
            Err(TimelockError::CommitTooLarge {
                size: MAX_COMMIT_SIZE + 1,
                max: MAX_COMMIT_SIZE
            })
        );
        // A vector length of 2^63 after a valid point.
        let mut huge = commit[..96].to_vec();
        huge.extend_from_slice(&(1u64 << 63).to_le_bytes());
        huge.extend_from_slice(&[0; 64]);
        assert!(matches!(
            decrypt_weights(&huge, &sig),
            Err(TimelockError::MalformedCommit { .. })
        ));
        // A coordinate above the field modulus is no point at all.
        let mut garbage = commit.clone();
        garbage[..96].fill(0xff);
        garbage[0] = 0x9f;
        assert!(matches!(
            decrypt_weights(&garbage, &sig),
            Err(TimelockError::MalformedCommit { .. })
        ));
        // All-ones bytes carry the infinity flag, which the decoder takes as the point at
        // infinity; such a header opens with no signature.
        garbage[0] = 0xff;
        assert!(matches!(
            decrypt_weights(&garbage, &sig),
            Err(TimelockError::WrongSignature { .. })
        ));
        for len in [0, 47, 49, 96] {
            assert_eq!(
                decrypt_weights(&commit, &vec![0x80; len]),
                Err(TimelockError::SignatureLength { len })
            );
        }
        let mut not_a_point = [0xff; 48];
        not_a_point[0] = 0x9f;
        assert!(matches!(
            decrypt_weights(&commit, &not_a_point),
            Err(TimelockError::BadSignature { .. })
        ));
        // The point at infinity deserialises but opens nothing.
        let mut infinity = [0u8; 48];
        infinity[0] = 0xc0;
        assert!(matches!(
            decrypt_weights(&commit, &infinity),
            Err(TimelockError::WrongSignature { .. })
        ));
    }

    #[test]
    fn encryption_refuses_inputs_the_chain_would_drop() {
        let net = DrandNetwork::QUICKNET;
        let mut uneven = payload(3);
        uneven.values.pop();
        assert_eq!(
            encrypt_weights(&uneven, 5, &net, &mut rng()),
            Err(TimelockError::LengthMismatch { uids: 3, values: 2 })
        );
        assert_eq!(
            encrypt_weights(&payload(3), 0, &net, &mut rng()),
            Err(TimelockError::InvalidRound { round: 0 })
        );
        let mut broken = net;
        broken.public_key[10] ^= 0x55;
        assert!(matches!(
            encrypt_weights(&payload(3), 5, &broken, &mut rng()),
            Err(TimelockError::BadPublicKey { .. })
        ));
    }

    #[test]
    fn decoded_payload_follows_the_chain_on_short_hotkeys_and_legacy_bytes() {
        // A 31-byte hotkey: the chain falls back to the legacy decoding, which fails here.
        let mut short = ChainPayload {
            hotkey: vec![1; 31],
            uids: vec![1],
            values: vec![2],
            version_key: 3,
        };
        assert!(matches!(
            WeightsPayload::decode(&short.encode()),
            Err(TimelockError::MalformedPayload { .. })
        ));
        // A 33-byte hotkey: the chain reads the first 32 bytes as the account.
        short.hotkey = (0..33).collect();
        let decoded = WeightsPayload::decode(&short.encode()).unwrap();
        assert_eq!(decoded.hotkey.to_vec(), (0..32).collect::<Vec<u8>>());
        assert_eq!(
            (decoded.uids, decoded.values, decoded.version_key),
            (vec![1], vec![2], 3)
        );
        // The pre-hotkey payload.
        let legacy = LegacyChainPayload {
            uids: vec![4, 5, 6],
            values: vec![7, 8, 9],
            version_key: 1,
        };
        assert_eq!(
            WeightsPayload::decode(&legacy.encode()),
            Err(TimelockError::LegacyPayload { uids: 3 })
        );
        assert!(matches!(
            WeightsPayload::decode(&[]),
            Err(TimelockError::MalformedPayload { len: 0, .. })
        ));
    }

    // ---- (b) SCALE against parity-scale-codec ----------------------------------------------

    #[test]
    fn payload_scale_matches_the_codec() {
        for n in [0, 1, 2, 63, 64, 255, 256, 1024, 16_383, 16_384, 20_000] {
            let ours = payload(n);
            let bytes = ours.encode();
            let theirs = chain_payload(&ours);
            assert_eq!(bytes, theirs.encode(), "{n} uids");
            assert_eq!(bytes.len(), ours.encoded_len(), "{n} uids");
            assert_eq!(WeightsPayload::decode(&bytes).unwrap(), ours, "{n} uids");
            assert_eq!(
                ChainPayload::decode(&mut &bytes[..]).unwrap(),
                theirs,
                "{n} uids"
            );
        }
        // Hand-checked bytes for a tiny payload.
        let tiny = WeightsPayload {
            hotkey: [0xab; 32],
            uids: vec![1, 0x0203],
            values: vec![0xffff],
            version_key: 0x0102,
        };
        let mut expected = vec![0x80];
        expected.extend([0xab; 32]);
        expected.extend([0x08, 0x01, 0x00, 0x03, 0x02, 0x04, 0xff, 0xff]);
        expected.extend([0x02, 0x01, 0, 0, 0, 0, 0, 0]);
        assert_eq!(tiny.encode(), expected);
    }

    #[test]
    fn compact_lengths_match_the_codec() {
        for n in [
            0u32,
            1,
            63,
            64,
            65,
            16_383,
            16_384,
            1 << 20,
            (1 << 30) - 1,
            1 << 30,
            u32::MAX,
        ] {
            let mut ours = Vec::new();
            put_compact(&mut ours, n as usize);
            assert_eq!(ours, Compact(n).encode(), "{n}");
            assert_eq!(ours.len(), compact_len(n as usize), "{n}");
            assert_eq!(Reader::new(&ours).compact_len().unwrap(), n as usize, "{n}");
        }
        // Non-canonical and oversized forms: the codec and we both refuse them.
        for bytes in [
            vec![0b01, 0],                      // 0 in two bytes
            vec![0xfd, 0x00],                   // 63 in two bytes
            vec![0b10, 0, 0, 0],                // 0 in four bytes
            vec![0xfe, 0xff, 0, 0],             // 16383 in four bytes
            vec![0b11, 0xff, 0xff, 0xff, 0x3f], // 2^30 - 1 in five bytes
            vec![0b111, 0, 0, 0, 0, 1],         // a 64-bit length
            vec![0b01],                         // truncated
        ] {
            assert!(
                <Compact<u32>>::decode(&mut &bytes[..]).is_err(),
                "codec took {bytes:02x?}"
            );
            assert!(
                Reader::new(&bytes).compact_len().is_err(),
                "we took {bytes:02x?}"
            );
        }
        // A length larger than the input is refused without allocating it.
        let mut lying = vec![0x80];
        lying.extend([0; 32]);
        lying.extend([0b11, 0xff, 0xff, 0xff, 0xff]);
        assert!(ChainPayload::decode(&mut &lying[..]).is_err());
        assert!(matches!(
            WeightsPayload::decode(&lying),
            Err(TimelockError::MalformedPayload { .. })
        ));
        // Trailing bytes are tolerated by the chain's `decode`, and by us.
        let mut trailing = payload(2).encode();
        trailing.push(0x99);
        assert_eq!(WeightsPayload::decode(&trailing).unwrap(), payload(2));
        assert_eq!(
            ChainPayload::decode(&mut &trailing[..]).unwrap(),
            chain_payload(&payload(2))
        );
    }

    // ---- (c) reveal rounds ------------------------------------------------------------------

    /// The due time of quicknet round 30668812 (unix seconds).
    const NOW: Duration = Duration::from_secs(1_784_809_800);

    fn schedule(current_block: u64, tempo: u16, reveal_period_epochs: u64) -> EpochSchedule {
        EpochSchedule {
            current_block,
            netuid: 1,
            tempo,
            reveal_period_epochs,
            block_time_ms: 12_000,
        }
    }

    fn state(last: u64, pending: u64, index: u64, since: u64) -> EpochState {
        EpochState {
            last_epoch_block: last,
            pending_epoch_at: pending,
            subnet_epoch_index: index,
            blocks_since_last_step: since,
        }
    }

    /// One case of bittensor-drand's `predict_vectors`.
    struct Vector {
        name: &'static str,
        head: u64,
        tempo: u16,
        period: u64,
        state: EpochState,
        expected: Result<u64, TimelockError>,
    }

    /// Every vector of bittensor-drand `src/epoch_schedule_vectors.rs` (the same table ships in
    /// the SDK's `bittensor-core`).
    #[test]
    fn reveal_block_v2_matches_the_reference_vectors() {
        let vectors = [
            Vector {
                name: "tempo_zero",
                head: 10,
                tempo: 0,
                period: 1,
                state: state(10, 0, 0, 0),
                expected: Err(TimelockError::TempoZero { netuid: 1 }),
            },
            Vector {
                name: "cycle_reset",
                head: 10,
                tempo: 50,
                period: 1,
                state: state(10, 0, 0, 0),
                expected: Ok(60),
            },
            Vector {
                name: "pending_fires_before_auto",
                head: 91,
                tempo: 20,
                period: 1,
                state: state(80, 95, 0, 0),
                expected: Ok(95),
            },
        ];
        for v in vectors {
            let got = reveal_block_v2(&schedule(v.head, v.tempo, v.period), &v.state);
            assert_eq!(got, v.expected, "{}", v.name);
        }
        // commit_epoch_at_extrinsic_block: the commit lands in epoch 0.
        let head = state(100, 0, 0, 0);
        assert_eq!(lookahead_epoch(&head, 50, 120 + COMMIT_INCLUSION_OFFSET), 0);
        // reveal_uses_exact_equality_not_gte: the block before the reveal block is still early.
        let pending = state(80, 95, 0, 0);
        assert_eq!(lookahead_epoch(&pending, 20, 94), 0);
        assert_eq!(lookahead_epoch(&pending, 20, 95), 1);
    }

    #[test]
    fn reveal_block_v2_hand_computed_cases() {
        // The commit lands on an epoch's fire block, so it belongs to the new epoch (1) and is
        // revealed when epoch 2 starts, tempo blocks later.
        assert_eq!(
            reveal_block_v2(&schedule(149, 50, 1), &state(100, 0, 0, 49)),
            Ok(200)
        );
        // One block earlier it belongs to epoch 0 and is revealed at the fire block 150.
        assert_eq!(
            reveal_block_v2(&schedule(148, 50, 1), &state(100, 0, 0, 48)),
            Ok(150)
        );
        // Period 3 at tempo 360: three fires after the commit epoch, 360 blocks apart.
        assert_eq!(
            reveal_block_v2(&schedule(1000, 360, 3), &state(990, 0, 7, 10)),
            Ok(990 + 3 * 360)
        );
        // A pending epoch re-anchors the cadence: fires at 95, then 95 + 20.
        assert_eq!(
            reveal_block_v2(&schedule(91, 20, 2), &state(80, 95, 4, 11)),
            Ok(115)
        );
        // An overdue counter (> tempo) fires the epoch at the very next block.
        assert_eq!(
            reveal_block_v2(&schedule(500, 20, 1), &state(495, 0, 9, 21)),
            Ok(501 + 20)
        );
        // Head state read long after the last epoch (e.g. a stalled schedule): fires at once.
        assert_eq!(
            reveal_block_v2(&schedule(10_000, 100, 1), &state(1, 0, 0, 0)),
            Ok(10_101)
        );
    }

    #[test]
    fn reveal_block_v2_survives_hostile_state() {
        for st in [
            state(u64::MAX, u64::MAX, u64::MAX, u64::MAX),
            state(u64::MAX, 0, 0, 0),
            state(0, 0, u64::MAX - 1, 0),
        ] {
            for head in [0, 1, u64::MAX - 1, u64::MAX] {
                // Any answer or error is fine; no overflow, no endless loop.
                let _ = reveal_block_v2(&schedule(head, 360, 100), &st);
                let _ = reveal_round_v2(
                    &schedule(head, 1, 1),
                    &st,
                    &DrandNetwork::QUICKNET,
                    Duration::MAX,
                );
            }
        }
        // The longest simulation there is: tempo 65535, 100 epochs, an age counter at zero
        // and a last-epoch block in the future, so the first epoch waits for the counter.
        let slowest = reveal_block_v2(&schedule(0, u16::MAX, 100), &state(u64::MAX, 0, 0, 0));
        assert_eq!(slowest, Ok(1 + 65_535 + 99 * 65_535));
        assert_eq!(
            reveal_block_v2(&schedule(5, 10, 0), &EpochState::default()),
            Err(TimelockError::RevealPeriodOutOfRange { epochs: 0 })
        );
        assert_eq!(
            reveal_block_v2(&schedule(5, 10, 101), &EpochState::default()),
            Err(TimelockError::RevealPeriodOutOfRange { epochs: 101 })
        );
        let mut slow = schedule(0, u16::MAX, 100);
        slow.block_time_ms = u64::MAX;
        assert!(matches!(
            reveal_round_v1(&slow, &DrandNetwork::QUICKNET, Duration::MAX),
            Err(TimelockError::RoundOverflow { .. })
        ));
        let mut zero_time = schedule(5, 10, 1);
        zero_time.block_time_ms = 0;
        assert_eq!(
            reveal_block_v2(&zero_time, &EpochState::default()),
            Err(TimelockError::ZeroBlockTime)
        );
    }

    #[test]
    fn reveal_round_v2_aims_three_blocks_into_the_reveal_epoch() {
        let got = reveal_round_v2(
            &schedule(10, 50, 1),
            &state(10, 0, 0, 0),
            &DrandNetwork::QUICKNET,
            NOW,
        )
        .unwrap();
        // Reveal block 60, target 63: 53 blocks of 12 s = 636 s = 212 rounds after 30668812's
        // due time; floor((t - genesis) / 3) names the round one before the one due at t.
        assert_eq!(
            got,
            RevealTarget {
                reveal_round: 30_668_811 + 212,
                reveal_block: 60,
                target_block: 63
            }
        );
    }

    #[test]
    fn reveal_round_v1_hand_computed_cases() {
        let net = DrandNetwork::QUICKNET;
        // netuid 1, tempo 360, head 1000, included in 1001: epoch (1001 + 2) / 361 = 2, first
        // reveal block (2 + 1) * 361 - 2 = 1081, target 1084, 84 blocks = 1008 s ahead of NOW:
        // (1784809800 + 1008 - 1692803367) / 3 = 30669147.
        let got = reveal_round_v1(&schedule(1000, 360, 1), &net, NOW).unwrap();
        assert_eq!(
            got,
            RevealTarget {
                reveal_round: 30_669_147,
                reveal_block: 1081,
                target_block: 1084
            }
        );
        // netuid 0, tempo 99, head 250, period 2: epoch (251 + 1) / 100 = 2, reveal block
        // 4 * 100 - 1 = 399, target 402, 152 blocks of 250 ms = 38 s: round
        // floor((92006433 + 38) / 3) = 30668823.
        let fast = EpochSchedule {
            current_block: 250,
            netuid: 0,
            tempo: 99,
            reveal_period_epochs: 2,
            block_time_ms: 250,
        };
        assert_eq!(
            reveal_round_v1(&fast, &net, NOW).unwrap(),
            RevealTarget {
                reveal_round: 30_668_823,
                reveal_block: 399,
                target_block: 402
            }
        );
        // Sub-second clocks count: half a second later the same target crosses no boundary,
        // 2.5 s later it does.
        assert_eq!(
            reveal_round_v1(&fast, &net, NOW + Duration::from_millis(500))
                .unwrap()
                .reveal_round,
            30_668_823
        );
        assert_eq!(
            reveal_round_v1(&fast, &net, NOW + Duration::from_millis(2_500))
                .unwrap()
                .reveal_round,
            30_668_824
        );
        assert_eq!(
            reveal_round_v1(&schedule(1000, 0, 1), &net, NOW),
            Err(TimelockError::TempoZero { netuid: 1 })
        );
        // netuid 2, tempo 3: epochs start at blocks 1, 5, 9 ((block + 3) / 4). A commit sent
        // against block 4, the last of epoch 1, lands in block 5, epoch 2, and is revealed
        // when epoch 3 starts at block 9; against block 3 it lands in epoch 1 (block 4) and
        // is revealed at block 5.
        let tiny = |head| EpochSchedule {
            current_block: head,
            netuid: 2,
            tempo: 3,
            reveal_period_epochs: 1,
            block_time_ms: 1_000,
        };
        assert_eq!(
            reveal_round_v1(&tiny(4), &net, NOW).unwrap().reveal_block,
            9
        );
        assert_eq!(
            reveal_round_v1(&tiny(3), &net, NOW).unwrap().reveal_block,
            5
        );
    }

    #[test]
    fn round_at_follows_the_reference_formula() {
        let net = DrandNetwork::QUICKNET;
        assert_eq!(net.round_at(NOW), Ok(30_668_811));
        assert_eq!(
            net.round_at(NOW + Duration::from_millis(2_999)),
            Ok(30_668_811)
        );
        assert_eq!(net.round_at(NOW + Duration::from_secs(3)), Ok(30_668_812));
        assert_eq!(net.round_at(Duration::ZERO), Ok(1));
        assert!(net.round_at(Duration::MAX).is_ok());
        let mut zero = net;
        zero.period = 0;
        assert_eq!(zero.round_at(NOW), Err(TimelockError::ZeroDrandPeriod));
    }

    // ---- (d) size ---------------------------------------------------------------------------

    #[test]
    fn commit_sizes_stay_under_the_chain_bound() {
        let net = DrandNetwork::QUICKNET;
        let commit = encrypt_weights(&payload(256), PULSES[0].0, &net, &mut rng()).unwrap();
        assert_eq!(commit.len(), COMMIT_OVERHEAD + payload(256).encoded_len());
        assert_eq!(commit.len(), 1313);
        assert!(commit.len() < MAX_COMMIT_SIZE);
        assert_eq!(
            decrypt_weights(&commit, &signature(0)).unwrap(),
            payload(256)
        );
        // The largest payload that fits, and one uid more.
        let largest = (0..5000)
            .rev()
            .find(|&n| payload(n).encoded_len() + COMMIT_OVERHEAD <= MAX_COMMIT_SIZE)
            .unwrap();
        assert_eq!(largest, 1177);
        let fits = encrypt_weights(&payload(largest), PULSES[0].0, &net, &mut rng()).unwrap();
        assert!(fits.len() <= MAX_COMMIT_SIZE);
        assert_eq!(
            encrypt_weights(&payload(largest + 1), PULSES[0].0, &net, &mut rng()),
            Err(TimelockError::CommitTooLarge {
                size: MAX_COMMIT_SIZE + 1,
                max: MAX_COMMIT_SIZE
            })
        );
    }
}
