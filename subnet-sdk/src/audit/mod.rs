//! Auditable validators: every step a validator takes can be written down as a signed
//! [`Transcript`] (the task, a commitment to the reference and its opening, the miners' signed
//! answers, the scorer module's hash, the scores, the moving averages and the weights), kept
//! in a rotated folder and served over HTTP; [`audit`] re-runs the WASM scorer on a transcript
//! and checks every signature, so anyone can tell whether a validator's scores and weights
//! follow from its own data. The format is in `docs/audit.md`.

#[cfg(feature = "wasm")]
mod check;
mod serve;
mod transcript;

#[cfg(feature = "wasm")]
pub use check::{AuditReport, Finding, audit};
pub use serve::serve;
pub use transcript::{
    AveragesRecord, MAX_TRANSCRIPT_BYTES, Pending, ProofRecord, ReferenceRecord, ResponseRecord,
    SIGNING_TAG, ScorerRecord, TRANSCRIPT_VERSION, TaskRecord, Transcript, TranscriptConfig,
    TranscriptError, TranscriptLog, WeightsRecord, files, list,
};
