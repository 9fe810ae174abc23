//! ABI v1 between a scoring module and the host (`docs/abi.md`): export names, the input layout
//! the host writes and the reply layout the guest returns. Both sides use this codec.

use core::time::Duration;

use serde::Serialize;
use subforge_core::chain::Uid;
use subforge_core::identity::{AccountId, Hotkey};
use subforge_core::{MinerResponse, StatusCode, Task, TaskSchema};

/// The ABI version this crate speaks.
pub const VERSION: u32 = 1;
/// The export whose presence marks a module as speaking ABI v1.
pub const MARKER_EXPORT: &str = "subforge_abi_v1";
/// The linear memory export.
pub const MEMORY_EXPORT: &str = "memory";
/// `[i32 len] -> [i32 ptr]`: reserves input space.
pub const ALLOC_EXPORT: &str = "subforge_alloc";
/// `[] -> [i64 reply]`: the task description.
pub const DESCRIBE_EXPORT: &str = "subforge_describe";
/// `[i32 ptr, i32 len] -> [i64 reply]`: scores one challenge.
pub const SCORE_EXPORT: &str = "subforge_score";
/// The only import namespace a module may use.
pub const HOST_MODULE: &str = "subforge";
/// `subforge.panic: [i32 ptr, i32 len] -> []`: the guest panicked with this message.
pub const PANIC_IMPORT: &str = "panic";
/// The most bytes of a panic or error message that are kept.
pub const MESSAGE_MAX: usize = 4096;

/// The first byte of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    /// The body holds the result.
    Ok = 0,
    /// The guest could not decode the input; the body is a UTF-8 message.
    InputRejected = 1,
    /// The scorer refused these inputs; the body is a UTF-8 message.
    ScoreFailed = 2,
}

/// Packs a slice of guest memory into the `i64` a function returns: `(len << 32) | ptr`.
pub const fn pack(ptr: u32, len: u32) -> u64 {
    ((len as u64) << 32) | ptr as u64
}

/// Splits a returned `i64` into `(ptr, len)`.
pub const fn unpack(reply: u64) -> (u32, u32) {
    (reply as u32, (reply >> 32) as u32)
}

/// Why an input could not be encoded.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// A value did not serialize to JSON.
    #[error("{field} does not serialize to JSON: {source}")]
    Json {
        /// Which value.
        field: &'static str,
        /// Why.
        source: serde_json::Error,
    },
    /// A field longer than a `u32` length can say.
    #[error("{field} is {len} bytes, more than the ABI's 4 GiB field limit")]
    TooLong {
        /// Which value.
        field: &'static str,
        /// Its length.
        len: usize,
    },
    /// More responses than a `u32` count can say.
    #[error("{0} responses are more than the ABI allows")]
    TooManyResponses(usize),
}

/// The fixed part of one response in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseHead<'a> {
    /// The miner's uid.
    pub uid: u16,
    /// The miner's public key.
    pub hotkey: [u8; 32],
    /// The query's status code.
    pub status: u16,
    /// Query latency in whole microseconds.
    pub latency_micros: u64,
    /// Whether the answer's signature was verified.
    pub signature_verified: bool,
    /// The status message.
    pub message: &'a str,
}

impl<'a> ResponseHead<'a> {
    /// The head of a typed response (latency in whole microseconds, as on the wire).
    pub fn of<T: Task>(r: &'a MinerResponse<T>) -> Self {
        Self {
            uid: r.uid.0,
            hotkey: r.hotkey.0.0,
            status: r.status.0,
            latency_micros: u64::try_from(r.latency.as_micros()).unwrap_or(u64::MAX),
            signature_verified: r.signature_verified,
            message: &r.message,
        }
    }
}

/// Builds a scoring input (host side).
#[derive(Debug)]
pub struct InputWriter {
    buf: Vec<u8>,
    count_at: usize,
    count: u32,
}

impl InputWriter {
    /// Starts an input with the task and reference values (any `Serialize`, raw JSON included).
    pub fn new<A, B>(task: &A, reference: &B) -> Result<Self, EncodeError>
    where
        A: Serialize + ?Sized,
        B: Serialize + ?Sized,
    {
        let mut w = Self {
            buf: Vec::with_capacity(256),
            count_at: 0,
            count: 0,
        };
        w.json("task", task)?;
        w.json("reference", reference)?;
        w.count_at = w.buf.len();
        w.buf.extend_from_slice(&0u32.to_le_bytes());
        Ok(w)
    }

    /// Appends one response; `payload` is the miner's answer, if any.
    pub fn push<P: Serialize + ?Sized>(
        &mut self,
        head: &ResponseHead<'_>,
        payload: Option<&P>,
    ) -> Result<(), EncodeError> {
        self.count = self
            .count
            .checked_add(1)
            .ok_or(EncodeError::TooManyResponses(usize::MAX))?;
        self.buf.extend_from_slice(&head.uid.to_le_bytes());
        self.buf.extend_from_slice(&head.hotkey);
        self.buf.extend_from_slice(&head.status.to_le_bytes());
        self.buf
            .extend_from_slice(&head.latency_micros.to_le_bytes());
        self.buf.push(u8::from(head.signature_verified));
        self.bytes("message", head.message.as_bytes())?;
        match payload {
            Some(p) => self.json("payload", p),
            None => self.bytes("payload", &[]),
        }
    }

    /// The finished input.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf[self.count_at..self.count_at + 4].copy_from_slice(&self.count.to_le_bytes());
        self.buf
    }

    fn bytes(&mut self, field: &'static str, bytes: &[u8]) -> Result<(), EncodeError> {
        let len = u32::try_from(bytes.len()).map_err(|_| EncodeError::TooLong {
            field,
            len: bytes.len(),
        })?;
        self.buf.extend_from_slice(&len.to_le_bytes());
        self.buf.extend_from_slice(bytes);
        Ok(())
    }

    fn json<V: Serialize + ?Sized>(
        &mut self,
        field: &'static str,
        value: &V,
    ) -> Result<(), EncodeError> {
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        serde_json::to_writer(&mut self.buf, value)
            .map_err(|source| EncodeError::Json { field, source })?;
        let len = self.buf.len() - at - 4;
        let len32 = u32::try_from(len).map_err(|_| EncodeError::TooLong { field, len })?;
        self.buf[at..at + 4].copy_from_slice(&len32.to_le_bytes());
        Ok(())
    }
}

/// Encodes the input for a typed challenge and its responses.
pub fn encode_input<T: Task>(
    task: &T,
    reference: &T::Reference,
    responses: &[MinerResponse<T>],
) -> Result<Vec<u8>, EncodeError> {
    let mut w = InputWriter::new(task, reference)?;
    // Heads, messages and small payloads fit without the buffer growing (and copying) as
    // it fills.
    w.buf
        .reserve(responses.len().saturating_mul(HEAD_LEN + 4 + 32));
    for r in responses {
        w.push(&ResponseHead::of(r), r.payload.as_ref())?;
    }
    Ok(w.finish())
}

/// Why the guest could not decode an input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input ended inside a field.
    #[error("input ends inside {field} at byte {at}")]
    Truncated {
        /// Which field.
        field: &'static str,
        /// Where it started.
        at: usize,
    },
    /// A JSON value that does not parse as the task's type.
    #[error("{field} is not valid JSON for this task: {message}")]
    Json {
        /// Which field.
        field: &'static str,
        /// The parser's message.
        message: String,
    },
    /// A status message that is not UTF-8.
    #[error("the message of response {0} is not UTF-8")]
    Utf8(usize),
    /// A flag byte other than 0 or 1.
    #[error("signature flag {0} is neither 0 nor 1")]
    Flag(u8),
    /// Bytes after the last response.
    #[error("{0} bytes after the last response")]
    Trailing(usize),
}

/// A decoded scoring input (guest side).
#[derive(Debug)]
pub struct Input<T: Task> {
    /// The task miners were sent.
    pub task: T,
    /// The validator's reference.
    pub reference: T::Reference,
    /// The miners' answers, in order.
    pub responses: Vec<MinerResponse<T>>,
}

/// The fixed part of a response up to its message: uid, hotkey, status, latency, signature
/// flag and the message's length, in input order.
const HEAD_FIELDS: [(&str, usize); 6] = [
    ("uid", 2),
    ("hotkey", 32),
    ("status", 2),
    ("latency", 8),
    ("signature flag", 1),
    ("message", 4),
];
const HEAD_LEN: usize = {
    let mut len = 0;
    let mut i = 0;
    while i < HEAD_FIELDS.len() {
        len += HEAD_FIELDS[i].1;
        i += 1;
    }
    len
};

/// Reads the input front to back. Each read checks its bounds once and is inlined: a module
/// decodes every response under fuel metering, so a call per field is a cost every validator
/// pays on every step.
struct Reader<'a> {
    len: usize,
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    #[inline(always)]
    fn array<const N: usize>(&mut self, field: &'static str) -> Result<&'a [u8; N], DecodeError> {
        match self.rest.split_first_chunk::<N>() {
            Some((out, rest)) => {
                self.rest = rest;
                Ok(out)
            }
            None => Err(self.truncated(field)),
        }
    }

    #[inline(always)]
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        if n > self.rest.len() {
            return Err(self.truncated(field));
        }
        let (out, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(out)
    }

    #[inline(always)]
    fn bytes(&mut self, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let len = u32::from_le_bytes(*self.array(field)?);
        self.take(len as usize, field)
    }

    /// A response's fixed head in one read; on a short input, the field it ends inside.
    #[inline(always)]
    fn head(&mut self) -> Result<&'a [u8; HEAD_LEN], DecodeError> {
        match self.rest.split_first_chunk::<HEAD_LEN>() {
            Some((out, rest)) => {
                self.rest = rest;
                Ok(out)
            }
            None => Err(self.truncated_head()),
        }
    }

    fn at(&self) -> usize {
        self.len - self.rest.len()
    }

    #[cold]
    fn truncated(&self, field: &'static str) -> DecodeError {
        DecodeError::Truncated {
            field,
            at: self.at(),
        }
    }

    #[cold]
    fn truncated_head(&self) -> DecodeError {
        let mut at = self.at();
        let mut left = self.rest.len();
        for (field, size) in HEAD_FIELDS {
            if left < size {
                return DecodeError::Truncated { field, at };
            }
            left -= size;
            at += size;
        }
        // Not reached: `head` calls this only when fewer than `HEAD_LEN` bytes are left.
        DecodeError::Truncated {
            field: "response",
            at: self.at(),
        }
    }
}

fn json<V: serde::de::DeserializeOwned>(
    bytes: &[u8],
    field: &'static str,
) -> Result<V, DecodeError> {
    // Checked once here; parsing a `str` then skips serde_json's own check of every string.
    let text = utf8(bytes).map_err(|e| DecodeError::Json {
        field,
        message: e.to_string(),
    })?;
    serde_json::from_str(text).map_err(|e| DecodeError::Json {
        field,
        message: e.to_string(),
    })
}

/// `bytes` as text. Nearly every message and payload is ASCII, and this check of it is inlined,
/// where the full UTF-8 check is a call that costs more than the short string it looks at.
#[inline(always)]
fn utf8(bytes: &[u8]) -> Result<&str, core::str::Utf8Error> {
    if bytes.is_ascii() {
        #[allow(unsafe_code)]
        // SAFETY: every ASCII byte sequence is valid UTF-8.
        Ok(unsafe { core::str::from_utf8_unchecked(bytes) })
    } else {
        core::str::from_utf8(bytes)
    }
}

/// The first `N` bytes of a fixed-size array and the rest; checked when compiled.
#[inline(always)]
fn split<const N: usize>(bytes: &[u8]) -> (&[u8; N], &[u8]) {
    match bytes.split_first_chunk::<N>() {
        Some(parts) => parts,
        None => unreachable!("the head layout is fixed"),
    }
}

/// All of a slice as an array of its (known) length.
#[inline(always)]
fn array<const N: usize>(bytes: &[u8]) -> &[u8; N] {
    split::<N>(bytes).0
}

/// Decodes a scoring input into the task's types.
pub fn decode_input<T: Task>(bytes: &[u8]) -> Result<Input<T>, DecodeError> {
    let mut r = Reader {
        len: bytes.len(),
        rest: bytes,
    };
    let task = json(r.bytes("task")?, "task")?;
    let reference = json(r.bytes("reference")?, "reference")?;
    let count = u32::from_le_bytes(*r.array("count")?) as usize;
    let mut responses = Vec::with_capacity(count.min(bytes.len() / (HEAD_LEN + 4)));
    for i in 0..count {
        let head = r.head()?;
        let (uid, head) = split::<2>(head);
        let (hotkey, head) = split::<32>(head);
        let (status, head) = split::<2>(head);
        let (latency, head) = split::<8>(head);
        let (&[flag], message_len) = split::<1>(head);
        let signature_verified = match flag {
            0 => false,
            1 => true,
            other => return Err(DecodeError::Flag(other)),
        };
        let message_len = u32::from_le_bytes(*array::<4>(message_len)) as usize;
        let message = utf8(r.take(message_len, "message")?)
            .map_err(|_| DecodeError::Utf8(i))?
            .to_owned();
        let payload = match r.bytes("payload")? {
            [] => None,
            p => Some(json(p, "payload")?),
        };
        responses.push(MinerResponse {
            uid: Uid(u16::from_le_bytes(*uid)),
            hotkey: Hotkey(AccountId(*hotkey)),
            status: StatusCode(u16::from_le_bytes(*status)),
            message,
            latency: Duration::from_micros(u64::from_le_bytes(*latency)),
            payload,
            signature_verified,
        });
    }
    match r.rest.len() {
        0 => Ok(Input {
            task,
            reference,
            responses,
        }),
        n => Err(DecodeError::Trailing(n)),
    }
}

/// An ok reply carrying scores.
pub fn encode_scores(scores: &[f64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + 8 * scores.len());
    out.push(Status::Ok as u8);
    // A scorer cannot return 4 billion scores inside 4 GiB of memory.
    out.extend_from_slice(&(scores.len() as u32).to_le_bytes());
    for s in scores {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

/// An ok reply carrying a task description.
pub fn encode_description(schema: &TaskSchema) -> Vec<u8> {
    let mut out = vec![Status::Ok as u8];
    // A TaskSchema is strings and JSON values: it always serializes.
    if serde_json::to_writer(&mut out, schema).is_err() {
        return encode_error(Status::ScoreFailed, "the task schema does not serialize");
    }
    out
}

/// An error reply; the message is cut to [`MESSAGE_MAX`] bytes.
pub fn encode_error(status: Status, message: &str) -> Vec<u8> {
    let mut end = message.len().min(MESSAGE_MAX);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = Vec::with_capacity(1 + end);
    out.push(status as u8);
    out.extend_from_slice(&message.as_bytes()[..end]);
    out
}

/// Why a reply is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// Zero bytes.
    #[error("the reply is empty")]
    Empty,
    /// A status byte the ABI does not define.
    #[error("unknown reply status {0}")]
    UnknownStatus(u8),
    /// A score reply whose length does not match its count.
    #[error("a reply with {count} scores must be {expected} bytes, got {got}")]
    Length {
        /// The count the reply declared.
        count: u64,
        /// The length that count implies.
        expected: u64,
        /// The length received.
        got: usize,
    },
}

/// A decoded reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply<'a> {
    /// The body of an ok reply.
    Ok(&'a [u8]),
    /// Status 1 with its message.
    InputRejected(String),
    /// Status 2 with its message.
    ScoreFailed(String),
}

/// Splits a reply into its status and body.
pub fn decode_reply(bytes: &[u8]) -> Result<Reply<'_>, ReplyError> {
    let (&status, body) = bytes.split_first().ok_or(ReplyError::Empty)?;
    let text = || String::from_utf8_lossy(&body[..body.len().min(MESSAGE_MAX)]).into_owned();
    match status {
        0 => Ok(Reply::Ok(body)),
        1 => Ok(Reply::InputRejected(text())),
        2 => Ok(Reply::ScoreFailed(text())),
        other => Err(ReplyError::UnknownStatus(other)),
    }
}

/// Reads the scores from the body of an ok score reply.
pub fn decode_scores(body: &[u8]) -> Result<Vec<f64>, ReplyError> {
    let length = |count: u64| ReplyError::Length {
        count,
        expected: 4 + 8 * count,
        got: body.len(),
    };
    let head: [u8; 4] = body
        .get(..4)
        .and_then(|h| h.try_into().ok())
        .ok_or(length(0))?;
    let count = u32::from_le_bytes(head);
    let rest = &body[4..];
    if rest.len() as u64 != 8 * u64::from(count) {
        return Err(length(u64::from(count)));
    }
    Ok(rest
        .chunks_exact(8)
        .map(|c| {
            let mut b = [0; 8];
            b.copy_from_slice(c);
            f64::from_le_bytes(b)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, PartialEq)]
    struct Guess {
        n: f64,
    }

    impl Task for Guess {
        const NAME: &'static str = "Guess";
        type Response = f64;
        type Reference = f64;
    }

    fn response(uid: u16, payload: Option<f64>) -> MinerResponse<Guess> {
        MinerResponse {
            uid: Uid(uid),
            hotkey: Hotkey(AccountId([uid as u8; 32])),
            status: if payload.is_some() {
                StatusCode::SUCCESS
            } else {
                StatusCode::TIMEOUT
            },
            message: "é".repeat(uid as usize),
            latency: Duration::from_micros(1234 + u64::from(uid)),
            payload,
            signature_verified: uid.is_multiple_of(2),
        }
    }

    #[test]
    fn input_round_trips_with_exact_floats() {
        let task = Guess { n: 0.1 + 0.2 };
        let reference = 1.0 / 3.0;
        let responses = vec![
            response(0, Some(f64::MIN_POSITIVE)),
            response(1, None),
            response(2, Some(2.225_073_858_507_201_4e-308)),
        ];
        let bytes = encode_input(&task, &reference, &responses).unwrap();
        let back = decode_input::<Guess>(&bytes).unwrap();
        assert_eq!(back.task, task);
        assert_eq!(back.reference.to_bits(), reference.to_bits());
        assert_eq!(back.responses.len(), 3);
        for (a, b) in back.responses.iter().zip(&responses) {
            assert_eq!(a.uid, b.uid);
            assert_eq!(a.hotkey, b.hotkey);
            assert_eq!(a.status, b.status);
            assert_eq!(a.message, b.message);
            assert_eq!(a.latency, b.latency);
            assert_eq!(a.signature_verified, b.signature_verified);
            assert_eq!(a.payload.map(f64::to_bits), b.payload.map(f64::to_bits));
        }
    }

    #[test]
    fn exact_layout() {
        let bytes = encode_input(&Guess { n: 1.0 }, &2.0, &[response(1, None)]).unwrap();
        let mut expected = Vec::new();
        expected.extend_from_slice(&9u32.to_le_bytes());
        expected.extend_from_slice(br#"{"n":1.0}"#);
        expected.extend_from_slice(&3u32.to_le_bytes());
        expected.extend_from_slice(b"2.0");
        expected.extend_from_slice(&1u32.to_le_bytes());
        expected.extend_from_slice(&1u16.to_le_bytes());
        expected.extend_from_slice(&[1; 32]);
        expected.extend_from_slice(&408u16.to_le_bytes());
        expected.extend_from_slice(&1235u64.to_le_bytes());
        expected.push(0);
        expected.extend_from_slice(&2u32.to_le_bytes());
        expected.extend_from_slice("é".as_bytes());
        expected.extend_from_slice(&0u32.to_le_bytes());
        assert_eq!(bytes, expected);
    }

    #[test]
    fn malformed_inputs_are_refused() {
        let good = encode_input(&Guess { n: 1.0 }, &2.0, &[response(2, Some(1.0))]).unwrap();
        for cut in 0..good.len() {
            assert!(decode_input::<Guess>(&good[..cut]).is_err(), "cut at {cut}");
        }
        // A cut inside the fixed head names the field it falls in, at that field's start.
        let head = 4 + 9 + 4 + 3 + 4;
        for (cut, field, at) in [
            (head + 1, "uid", head),
            (head + 2, "hotkey", head + 2),
            (head + 33, "hotkey", head + 2),
            (head + 34, "status", head + 34),
            (head + 36, "latency", head + 36),
            (head + 44, "signature flag", head + 44),
            (head + 45, "message", head + 45),
            (head + 48, "message", head + 45),
        ] {
            assert_eq!(
                decode_input::<Guess>(&good[..cut]).unwrap_err(),
                DecodeError::Truncated { field, at },
                "cut at {cut}"
            );
        }
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(
            decode_input::<Guess>(&trailing).unwrap_err(),
            DecodeError::Trailing(1)
        );
        let mut count = good;
        let at = 4 + 9 + 4 + 3;
        count[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            decode_input::<Guess>(&count),
            Err(DecodeError::Truncated { .. })
        ));
    }

    #[test]
    fn replies() {
        let scores = [0.5, 0.0, 1e-300];
        let reply = encode_scores(&scores);
        assert_eq!(reply.len(), 1 + 4 + 24);
        let Reply::Ok(body) = decode_reply(&reply).unwrap() else {
            panic!("not ok")
        };
        assert_eq!(decode_scores(body).unwrap(), scores);
        assert!(matches!(
            decode_scores(&body[..body.len() - 1]),
            Err(ReplyError::Length { count: 3, .. })
        ));
        assert_eq!(decode_reply(&[]), Err(ReplyError::Empty));
        assert_eq!(decode_reply(&[7]), Err(ReplyError::UnknownStatus(7)));
        let long = "ü".repeat(MESSAGE_MAX);
        let err = encode_error(Status::ScoreFailed, &long);
        assert!(err.len() <= 1 + MESSAGE_MAX);
        assert_eq!(
            decode_reply(&err).unwrap(),
            Reply::ScoreFailed("ü".repeat(MESSAGE_MAX / 2))
        );
        assert_eq!(unpack(pack(7, 9)), (7, 9));
        assert_eq!(pack(1, 2), (2 << 32) | 1);
    }
}
