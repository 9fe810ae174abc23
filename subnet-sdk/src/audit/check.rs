//! Checking a transcript: the validator's signature, the reference against its commitment,
//! every miner's signature over its answer, the scores against the WASM scorer re-run on the
//! transcript's own data, and the averages and weights against the scores.

use base64::Engine as _;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use subforge_core::weights::{self, WeightLimits};
use subforge_core::{Hotkey, Signature};

use super::transcript::Transcript;
use crate::wasm::{ScorerModule, ScoringInput};

/// Something in a transcript that does not follow from its own data, or cannot be checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Finding {
    /// The validator's signature is missing or does not check.
    ValidatorSignature,
    /// The revealed reference does not open the commitment.
    Reference,
    /// The transcript names a scorer module other than the one given to re-score with.
    ScorerModule {
        /// The module the transcript names.
        named: String,
        /// The module at hand.
        given: String,
    },
    /// The WASM scorer refused the transcript's input.
    Scoring(String),
    /// A response cannot be read.
    Response {
        /// Its position.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// A miner's proof does not check, or proves a different answer.
    MinerSignature {
        /// The miner.
        uid: u16,
        /// What is wrong.
        reason: String,
    },
    /// A response says its signature was verified but carries no proof.
    UnprovenAnswer {
        /// The miner.
        uid: u16,
    },
    /// A recorded score is not the score the scorer gives.
    Score {
        /// The miner.
        uid: u16,
        /// The transcript's score.
        recorded: f64,
        /// The scorer's.
        recomputed: f64,
    },
    /// The recorded scores are not one per response.
    ScoreCount {
        /// Scores recorded.
        recorded: usize,
        /// Responses.
        responses: usize,
    },
    /// The averages before and after are not one per uid alike.
    AveragesLength {
        /// Averages before the step.
        before: usize,
        /// After.
        after: usize,
    },
    /// A moving average does not follow from the one before and the score.
    Average {
        /// The uid.
        uid: u16,
        /// The transcript's.
        recorded: f64,
        /// What follows.
        recomputed: f64,
    },
    /// The weights do not follow from the averages.
    Weights {
        /// The transcript's `(uids, values)`.
        recorded: (Vec<u16>, Vec<u16>),
        /// What follows.
        recomputed: (Vec<u16>, Vec<u16>),
    },
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ValidatorSignature => f.write_str("the validator's signature does not check"),
            Self::Reference => f.write_str("the revealed reference does not open its commitment"),
            Self::ScorerModule { named, given } => write!(
                f,
                "the transcript was scored by module {named}, not the given {given}"
            ),
            Self::Scoring(e) => write!(f, "the scorer refused the transcript's input: {e}"),
            Self::Response { index, reason } => write!(f, "response {index}: {reason}"),
            Self::MinerSignature { uid, reason } => {
                write!(f, "uid {uid}: the miner's signature {reason}")
            }
            Self::UnprovenAnswer { uid } => write!(
                f,
                "uid {uid}: the answer is marked signed but carries no proof"
            ),
            Self::Score {
                uid,
                recorded,
                recomputed,
            } => write!(
                f,
                "uid {uid}: score {recorded} recorded, the scorer gives {recomputed}"
            ),
            Self::ScoreCount {
                recorded,
                responses,
            } => write!(f, "{recorded} scores recorded for {responses} responses"),
            Self::AveragesLength { before, after } => write!(
                f,
                "{before} averages before the step and {after} after: not one per uid alike"
            ),
            Self::Average {
                uid,
                recorded,
                recomputed,
            } => write!(
                f,
                "uid {uid}: average {recorded} recorded, {recomputed} follows"
            ),
            Self::Weights {
                recorded,
                recomputed,
            } => write!(
                f,
                "weights {recorded:?} recorded, {recomputed:?} follow from the averages"
            ),
        }
    }
}

/// The outcome of checking one transcript.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditReport {
    /// The validator.
    pub validator: Hotkey,
    /// Its step.
    pub step: u64,
    /// The block the step read.
    pub block: u64,
    /// The task's name.
    pub task: String,
    /// Responses checked.
    pub responses: usize,
    /// Responses whose miner signature was checked.
    pub signed: usize,
    /// Whether weights were checked.
    pub weights: bool,
    /// Everything that does not follow; empty when the transcript agrees bit for bit.
    pub findings: Vec<Finding>,
}

impl AuditReport {
    /// Whether everything agrees.
    pub fn agrees(&self) -> bool {
        self.findings.is_empty()
    }
}

/// Checks `transcript`, re-scoring with `module` (the WASM module it names).
pub fn audit(transcript: &Transcript, module: &ScorerModule) -> AuditReport {
    let mut findings = Vec::new();
    if !transcript.signature_checks() {
        findings.push(Finding::ValidatorSignature);
    }
    if !transcript.reference.opens() {
        findings.push(Finding::Reference);
    }
    let given = module.sha256().to_string();
    if !given.eq_ignore_ascii_case(&transcript.scorer.module_sha256) {
        findings.push(Finding::ScorerModule {
            named: transcript.scorer.module_sha256.clone(),
            given,
        });
    }

    // Responses: readable, and proven when they say so.
    let mut uids = Vec::with_capacity(transcript.responses.len());
    let mut statuses = Vec::with_capacity(transcript.responses.len());
    let mut signed = 0;
    for (index, record) in transcript.responses.iter().enumerate() {
        let head = match ResponseHead::read(&record.response) {
            Ok(head) => head,
            Err(reason) => {
                findings.push(Finding::Response { index, reason });
                uids.push(u16::MAX);
                statuses.push(false);
                continue;
            }
        };
        uids.push(head.uid);
        statuses.push(head.success);
        match &record.proof {
            Some(proof) => {
                signed += 1;
                if let Err(reason) = check_proof(proof, &head, &transcript.validator, record) {
                    findings.push(Finding::MinerSignature {
                        uid: head.uid,
                        reason,
                    });
                }
            }
            None if head.signature_verified => {
                findings.push(Finding::UnprovenAnswer { uid: head.uid });
            }
            None => {}
        }
    }

    // Scores: the module re-run on the transcript's own task, reference and responses.
    if transcript.scores.len() != transcript.responses.len() {
        findings.push(Finding::ScoreCount {
            recorded: transcript.scores.len(),
            responses: transcript.responses.len(),
        });
    } else if let Some(recomputed) = rescore(transcript, module, &mut findings) {
        for (i, (&recorded, &fresh)) in transcript.scores.iter().zip(&recomputed).enumerate() {
            // A failed query scores zero whatever the scorer says.
            let fresh = if statuses[i] { fresh } else { 0.0 };
            if recorded.to_bits() != fresh.to_bits() {
                findings.push(Finding::Score {
                    uid: uids[i],
                    recorded,
                    recomputed: fresh,
                });
            }
        }
    }

    // Averages: each queried uid moves by alpha towards its recorded score; others stay.
    let averages = &transcript.averages;
    let alpha = if averages.alpha.is_finite() {
        averages.alpha.clamp(0.0, 1.0)
    } else {
        0.0
    };
    if averages.before.len() != averages.after.len() {
        findings.push(Finding::AveragesLength {
            before: averages.before.len(),
            after: averages.after.len(),
        });
    }
    let mut expected = averages.before.clone();
    for (&uid, &score) in uids.iter().zip(&transcript.scores) {
        let score = if score.is_finite() {
            score.max(0.0)
        } else {
            0.0
        };
        if let Some(avg) = expected.get_mut(usize::from(uid)) {
            *avg = alpha * score + (1.0 - alpha) * *avg;
        }
    }
    for (uid, (&recorded, &fresh)) in averages.after.iter().zip(&expected).enumerate() {
        if recorded.to_bits() != fresh.to_bits() {
            findings.push(Finding::Average {
                uid: u16::try_from(uid).unwrap_or(u16::MAX),
                recorded,
                recomputed: fresh,
            });
        }
    }

    // Weights: the averages through the chain's limits, quantised.
    if let Some(w) = &transcript.weights {
        let limits = WeightLimits {
            min_allowed_weights: w.min_allowed_weights,
            max_weight_limit: w.max_weight_limit,
        };
        let recomputed = weights::process_weights(&averages.after, &w.serving, limits)
            .map(|p| weights::quantize(&p))
            .unwrap_or_default();
        if recomputed != (w.uids.clone(), w.values.clone()) {
            findings.push(Finding::Weights {
                recorded: (w.uids.clone(), w.values.clone()),
                recomputed,
            });
        }
    }

    AuditReport {
        validator: transcript.validator,
        step: transcript.step,
        block: transcript.block.0,
        task: transcript.task.name.clone(),
        responses: transcript.responses.len(),
        signed,
        weights: transcript.weights.is_some(),
        findings,
    }
}

/// The fields of a response the audit reads.
struct ResponseHead {
    uid: u16,
    hotkey: String,
    success: bool,
    signature_verified: bool,
}

impl ResponseHead {
    fn read(v: &Value) -> Result<Self, String> {
        let uid = v
            .get("uid")
            .and_then(Value::as_u64)
            .and_then(|u| u16::try_from(u).ok())
            .ok_or("no uid")?;
        let hotkey = v
            .get("hotkey")
            .and_then(Value::as_str)
            .ok_or("no hotkey")?
            .to_owned();
        let status = v.get("status").and_then(Value::as_u64).ok_or("no status")?;
        Ok(Self {
            uid,
            hotkey,
            success: status == 200,
            signature_verified: v
                .get("signature_verified")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        })
    }
}

/// Checks a miner's proof: its signature, that it names this miner and this validator, that
/// it covers this body, and that the body holds the recorded answer.
fn check_proof(
    proof: &super::transcript::ProofRecord,
    head: &ResponseHead,
    validator: &Hotkey,
    record: &super::transcript::ResponseRecord,
) -> Result<(), String> {
    let miner: Hotkey = head
        .hotkey
        .parse()
        .map_err(|_| "names no valid hotkey".to_owned())?;
    let signature = hex::decode(proof.signature.trim_start_matches("0x"))
        .ok()
        .and_then(|b| <[u8; 64]>::try_from(b).ok())
        .map(Signature)
        .ok_or("is not 64 bytes of hex")?;
    if !crate::net::keys::verify(&miner.0, proof.message.as_bytes(), &signature) {
        return Err("does not check".into());
    }
    let lines: Vec<&str> = proof.message.split('\n').collect();
    let [_tag, signer, caller, _request, digest] = lines.as_slice() else {
        return Err("signs a message of another shape".into());
    };
    if *signer != miner.to_ss58() {
        return Err("names another miner".into());
    }
    if *caller != validator.to_ss58() {
        return Err("was given to another caller".into());
    }
    let body = base64::engine::general_purpose::STANDARD
        .decode(&proof.body)
        .map_err(|_| "covers a body that is not base64".to_owned())?;
    if *digest != hex::encode(Sha256::digest(&body)) {
        return Err("covers another body".into());
    }
    let payload = record.response.get("payload").unwrap_or(&Value::Null);
    let body: Value =
        serde_json::from_slice(&body).map_err(|_| "covers a body that is not JSON".to_owned())?;
    if !holds(&body, payload) {
        return Err("covers another answer than the one recorded".into());
    }
    Ok(())
}

/// Whether a signed body holds `payload`: the body itself, a Synapse whose fields include the
/// payload's, or a Synapse whose `response` field is the payload.
fn holds(body: &Value, payload: &Value) -> bool {
    if body == payload || body.get("response") == Some(payload) {
        return true;
    }
    match (body, payload) {
        (Value::Object(b), Value::Object(p)) => p.iter().all(|(k, v)| b.get(k) == Some(v)),
        _ => false,
    }
}

/// The scores the module gives the transcript's own data, or a finding.
fn rescore(
    transcript: &Transcript,
    module: &ScorerModule,
    findings: &mut Vec<Finding>,
) -> Option<Vec<f64>> {
    let input = serde_json::json!({
        "task": transcript.task.value,
        "reference": transcript.reference.value,
        "responses": transcript
            .responses
            .iter()
            .map(|r| r.response.clone())
            .collect::<Vec<_>>(),
    });
    let input: ScoringInput = match serde_json::from_value(input) {
        Ok(input) => input,
        Err(e) => {
            findings.push(Finding::Scoring(e.to_string()));
            return None;
        }
    };
    match module.score_json(&input) {
        Ok(receipt) => Some(receipt.scores),
        Err(e) => {
            findings.push(Finding::Scoring(e.to_string()));
            None
        }
    }
}
