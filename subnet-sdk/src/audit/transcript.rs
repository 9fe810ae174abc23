//! The transcript of one validator step, its signature, and the folder that keeps the latest
//! ones.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use subforge_core::identity::Keypair;
use subforge_core::{Block, Hotkey, NetUid, Signature, canonical_json};

use crate::net::SignedAnswer;

/// The transcript format's version. A reader refuses any other.
pub const TRANSCRIPT_VERSION: u32 = 1;

/// What the validator signs: this tag, a newline, and the SHA-256 (hex) of the transcript's
/// canonical JSON without its `signature` field.
pub const SIGNING_TAG: &str = "subforge-transcript/1";

/// Everything one validator step did, enough for anyone to check it (`subforge audit`).
/// The format is in `docs/audit.md`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transcript {
    /// [`TRANSCRIPT_VERSION`].
    pub version: u32,
    /// The subnet.
    pub netuid: NetUid,
    /// The validator's hotkey: the signer.
    pub validator: Hotkey,
    /// The validator's step number.
    pub step: u64,
    /// The block the step read.
    pub block: Block,
    /// The task sent to the miners.
    pub task: TaskRecord,
    /// The validator's private reference: its commitment, published when the task went out,
    /// and the opening, published with the transcript.
    pub reference: ReferenceRecord,
    /// The WASM module that scores the task: the one the subnet ships, which gives the native
    /// scorer's bits.
    pub scorer: ScorerRecord,
    /// Each queried miner's answer, as the scorer saw it (the JSON shape of
    /// `subforge_core::MinerResponse`), with its proof when the miner signed it.
    pub responses: Vec<ResponseRecord>,
    /// One score per response, as recorded (a failed query scores 0).
    pub scores: Vec<f64>,
    /// The moving averages the scores were folded into.
    pub averages: AveragesRecord,
    /// Weights the step put on chain (set or committed), if it did.
    pub weights: Option<WeightsRecord>,
    /// The validator's signature (see [`SIGNING_TAG`]), `0x` hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// The task of a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskRecord {
    /// Its name (`Task::NAME`).
    pub name: String,
    /// The task value, as sent.
    pub value: Value,
}

/// The reference, committed to before the miners answered and opened after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceRecord {
    /// `sha256(salt ‖ canonical JSON of the value)`, hex.
    pub commitment: String,
    /// 32 random bytes, hex.
    pub salt: String,
    /// The reference.
    pub value: Value,
}

impl ReferenceRecord {
    /// A fresh commitment to `value`.
    pub fn commit(value: Value) -> Self {
        let mut salt = [0u8; 32];
        let _ = getrandom::getrandom(&mut salt);
        let salt = hex::encode(salt);
        Self {
            commitment: commitment(&salt, &value),
            salt,
            value,
        }
    }

    /// Whether the opening matches the commitment.
    pub fn opens(&self) -> bool {
        commitment(&self.salt, &self.value) == self.commitment
    }
}

fn commitment(salt_hex: &str, value: &Value) -> String {
    let mut h = Sha256::new();
    h.update(hex::decode(salt_hex).unwrap_or_default());
    h.update(canonical_json(value).as_bytes());
    hex::encode(h.finalize())
}

/// Which module scores the task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScorerRecord {
    /// The module's SHA-256, hex.
    pub module_sha256: String,
    /// How the validator scored: `native` or `wasm`.
    pub ran: String,
}

/// One miner's answer in a transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseRecord {
    /// The response as the scorer saw it (`MinerResponse` as JSON: uid, hotkey, status,
    /// message, latency in microseconds, payload, signature_verified).
    pub response: Value,
    /// What proves the miner gave this answer, when it signed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<ProofRecord>,
}

/// A miner's signature over its answer (`docs/wire.md`, "response signature").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofRecord {
    /// The five signed lines, as text.
    pub message: String,
    /// The signature, `0x` hex.
    pub signature: String,
    /// The raw answer body, base64.
    pub body: String,
}

impl From<&SignedAnswer> for ProofRecord {
    fn from(a: &SignedAnswer) -> Self {
        Self {
            message: String::from_utf8_lossy(&a.claim.message).into_owned(),
            signature: format!("0x{}", hex::encode(a.claim.signature.0)),
            body: base64::engine::general_purpose::STANDARD.encode(&a.body),
        }
    }
}

/// The moving averages before and after the step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AveragesRecord {
    /// The weight of a new score.
    pub alpha: f64,
    /// Every uid's average before the step, by uid.
    pub before: Vec<f64>,
    /// And after.
    pub after: Vec<f64>,
}

/// Weights a step put on chain, and what they were computed from besides the averages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightsRecord {
    /// Set directly, or committed.
    pub committed: bool,
    /// The uids.
    pub uids: Vec<u16>,
    /// The u16 weights.
    pub values: Vec<u16>,
    /// Which uids served an axon (and are not the validator), by uid.
    pub serving: Vec<bool>,
    /// The subnet's `min_allowed_weights`.
    pub min_allowed_weights: u16,
    /// The subnet's `max_weight_limit`.
    pub max_weight_limit: u16,
}

/// Why a transcript could not be read or signed.
#[derive(Debug, thiserror::Error)]
pub enum TranscriptError {
    /// Not JSON of a transcript.
    #[error("not a transcript: {0}")]
    Malformed(String),
    /// A version this program does not read.
    #[error("transcript version {found}; this program reads version {TRANSCRIPT_VERSION}")]
    Version {
        /// The version found.
        found: u64,
    },
    /// Larger than the reader accepts.
    #[error("the transcript is {size} bytes; at most {limit} are read")]
    TooLarge {
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A folder given as transcripts holds none.
    #[error("{} holds no transcripts (step-*.json)", .dir.display())]
    NoTranscripts {
        /// The folder.
        dir: PathBuf,
    },
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
}

/// The most bytes of one transcript read or written: 64 MiB, room for 16 miners' answers at
/// the dendrite's default answer cap.
pub const MAX_TRANSCRIPT_BYTES: u64 = 64 << 20;

impl Transcript {
    /// The bytes the validator signs.
    pub fn signing_message(&self) -> Vec<u8> {
        let mut unsigned = self.clone();
        unsigned.signature = None;
        let value = serde_json::to_value(&unsigned).unwrap_or(Value::Null);
        let digest = hex::encode(Sha256::digest(canonical_json(&value).as_bytes()));
        format!("{SIGNING_TAG}\n{digest}").into_bytes()
    }

    /// Signs with the validator's hotkey.
    pub fn sign(&mut self, hotkey: &Keypair) {
        self.signature = None;
        let signature = hotkey.sign(&self.signing_message());
        self.signature = Some(format!("0x{}", hex::encode(signature.0)));
    }

    /// Whether the signature is the validator's over this transcript.
    pub fn signature_checks(&self) -> bool {
        let Some(signature) = self
            .signature
            .as_deref()
            .and_then(|s| hex::decode(s.trim_start_matches("0x")).ok())
            .and_then(|b| <[u8; 64]>::try_from(b).ok())
            .map(Signature)
        else {
            return false;
        };
        crate::net::keys::verify(&self.validator.0, &self.signing_message(), &signature)
    }

    /// Reads a transcript from JSON text, checking its version first.
    pub fn from_json(text: &[u8]) -> Result<Self, TranscriptError> {
        if text.len() as u64 > MAX_TRANSCRIPT_BYTES {
            return Err(TranscriptError::TooLarge {
                size: text.len() as u64,
                limit: MAX_TRANSCRIPT_BYTES,
            });
        }
        #[derive(Deserialize)]
        struct Versioned {
            version: u64,
        }
        let v: Versioned =
            serde_json::from_slice(text).map_err(|e| TranscriptError::Malformed(e.to_string()))?;
        if v.version != u64::from(TRANSCRIPT_VERSION) {
            return Err(TranscriptError::Version { found: v.version });
        }
        serde_json::from_slice(text).map_err(|e| TranscriptError::Malformed(e.to_string()))
    }

    /// Reads a transcript file.
    pub fn read(path: &Path) -> Result<Self, TranscriptError> {
        let io = |source| TranscriptError::Io {
            path: path.to_owned(),
            source,
        };
        let size = std::fs::metadata(path).map_err(io)?.len();
        if size > MAX_TRANSCRIPT_BYTES {
            return Err(TranscriptError::TooLarge {
                size,
                limit: MAX_TRANSCRIPT_BYTES,
            });
        }
        Self::from_json(&std::fs::read(path).map_err(io)?)
    }

    /// The file name of step `step` in a transcript folder.
    pub fn file_name(step: u64) -> String {
        format!("step-{step:012}.json")
    }
}

/// Where a validator keeps its transcripts, and how many.
#[derive(Debug, Clone)]
pub struct TranscriptConfig {
    /// The folder.
    pub dir: PathBuf,
    /// The most transcripts kept; the oldest go first. Default 1000.
    pub keep: usize,
    /// The most bytes kept in all. Default 1 GiB.
    pub max_total_bytes: u64,
}

impl TranscriptConfig {
    /// The defaults, in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            keep: 1000,
            max_total_bytes: 1 << 30,
        }
    }
}

/// A validator's transcript folder: writes each step's transcript, drops the oldest beyond
/// the limits, and keeps the commitment of the step under way in `current.json` (what `GET
/// /transcripts/current` serves before the transcript exists, from any process).
#[derive(Debug, Clone)]
pub struct TranscriptLog {
    config: TranscriptConfig,
}

/// The file holding the step under way.
const CURRENT: &str = "current.json";

/// The step under way, before its transcript is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The step.
    pub step: u64,
    /// The task's name.
    pub task: String,
    /// The reference's commitment.
    pub commitment: String,
}

impl TranscriptLog {
    /// A log in `config.dir`, created if missing.
    pub fn open(config: TranscriptConfig) -> Result<Self, TranscriptError> {
        crate::fs::create_private_dir(&config.dir).map_err(|source| TranscriptError::Io {
            path: config.dir.clone(),
            source,
        })?;
        Ok(Self { config })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.config.dir
    }

    /// Publishes the commitment of the step under way (a failure is logged: the step goes on).
    pub fn begin(&self, pending: &Pending) {
        let path = self.config.dir.join(CURRENT);
        let text = serde_json::to_vec(pending).unwrap_or_default();
        if let Err(e) = crate::fs::write_atomic(&path, &text, 0o644, true) {
            tracing::warn!(path = %path.display(), error = %e, "commitment not published");
        }
    }

    /// The step under way, if any.
    pub fn current(&self) -> Option<Pending> {
        let text = std::fs::read(self.config.dir.join(CURRENT)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Writes a signed transcript, then drops the oldest beyond the limits. A transcript over
    /// [`MAX_TRANSCRIPT_BYTES`] is not written.
    pub fn write(&self, transcript: &Transcript) -> Result<PathBuf, TranscriptError> {
        let path = self.config.dir.join(Transcript::file_name(transcript.step));
        let io = |source| TranscriptError::Io {
            path: path.clone(),
            source,
        };
        let text = serde_json::to_vec(transcript)
            .map_err(|e| TranscriptError::Malformed(e.to_string()))?;
        if text.len() as u64 > MAX_TRANSCRIPT_BYTES {
            return Err(TranscriptError::TooLarge {
                size: text.len() as u64,
                limit: MAX_TRANSCRIPT_BYTES,
            });
        }
        crate::fs::write_atomic(&path, &text, 0o644, true).map_err(io)?;
        let _ = std::fs::remove_file(self.config.dir.join(CURRENT));
        self.rotate();
        Ok(path)
    }

    /// The transcripts present, oldest first, with their sizes.
    pub fn list(&self) -> Vec<(u64, PathBuf, u64)> {
        list(&self.config.dir)
    }

    fn rotate(&self) {
        let files = self.list();
        let mut total: u64 = files.iter().map(|f| f.2).sum();
        let mut count = files.len();
        for (_, path, size) in files {
            if count <= self.config.keep.max(1) && total <= self.config.max_total_bytes {
                break;
            }
            if std::fs::remove_file(&path).is_ok() {
                count -= 1;
                total = total.saturating_sub(size);
            }
        }
    }
}

/// The transcript files `paths` name: files as given, and every transcript of each folder,
/// oldest step first; a folder with none is an error.
pub fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, TranscriptError> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let found = list(path);
            if found.is_empty() {
                return Err(TranscriptError::NoTranscripts { dir: path.clone() });
            }
            out.extend(found.into_iter().map(|(_, p, _)| p));
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

/// The transcripts in `dir`, oldest step first: `(step, path, bytes)`.
pub fn list(dir: &Path) -> Vec<(u64, PathBuf, u64)> {
    let mut by_step: BTreeMap<u64, (PathBuf, u64)> = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(step) = name
            .to_str()
            .and_then(|n| n.strip_prefix("step-"))
            .and_then(|n| n.strip_suffix(".json"))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
        by_step.insert(step, (entry.path(), size));
    }
    by_step
        .into_iter()
        .map(|(step, (path, size))| (step, path, size))
        .collect()
}

impl Transcript {
    /// The miners' answers of this step, for the integrity analyses: text answers as their
    /// text, others as canonical JSON; failed queries and unreadable responses left out.
    pub fn answers(&self) -> Vec<subforge_core::integrity::Answer> {
        self.responses
            .iter()
            .filter_map(|record| {
                let r = &record.response;
                let uid = u16::try_from(r.get("uid")?.as_u64()?).ok()?;
                let hotkey = r.get("hotkey")?.as_str()?.parse().ok()?;
                let payload = r.get("payload").filter(|p| !p.is_null())?;
                let body = match payload.get("text").and_then(Value::as_str) {
                    Some(text) => text.as_bytes().to_vec(),
                    None => canonical_json(payload).into_bytes(),
                };
                Some(subforge_core::integrity::Answer {
                    uid: subforge_core::Uid(uid),
                    hotkey,
                    body: subforge_core::Blob(body),
                })
            })
            .collect()
    }
}
