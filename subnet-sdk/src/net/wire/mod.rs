//! The three request-signing conventions an axon accepts and a dendrite speaks, and the
//! signature Subforge axons put on their answers.
//!
//! - [`legacy`]: the Synapse protocol of the Python SDK v8 to v10 (`bt_header_*` headers,
//!   body hash over `required_hash_fields`).
//! - [`btauth`]: `btauth/1` of the Python SDK v11 (`X-Bittensor-*`, signature over the raw
//!   body, method and path).
//! - [`epistula`]: Epistula v2 (`Epistula-*`, signature over the raw body).
//! - [`response`]: our response signature (`Subforge-Signed-By`,
//!   `Subforge-Response-Signature`).

pub mod btauth;
pub mod epistula;
pub mod legacy;
pub mod response;

use std::fmt;
use std::time::Duration;

use http::HeaderMap;
use subforge_core::{Hotkey, Signature};

use super::nonce::{NonceError, Window};

/// A request-signing convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Wire {
    /// The Synapse protocol of the Python SDK v8 to v10 (what live subnets speak).
    #[default]
    Synapse,
    /// `btauth/1` of the Python SDK v11.
    BtAuth,
    /// Epistula v2.
    Epistula,
}

impl fmt::Display for Wire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Synapse => "synapse",
            Self::BtAuth => "btauth/1",
            Self::Epistula => "epistula/2",
        })
    }
}

impl Wire {
    /// Recognises the convention from the headers: `X-Bittensor-Version` means `btauth/1`,
    /// `Epistula-Version` means Epistula, anything else is the Synapse protocol (whose
    /// unsigned form is then refused as unsigned).
    pub fn detect(headers: &HeaderMap) -> Result<Self, AuthError> {
        let btauth = headers.contains_key(btauth::VERSION);
        let epistula = headers.contains_key(epistula::VERSION);
        let synapse = headers.contains_key(legacy::SIGNATURE);
        match (btauth, epistula, synapse) {
            (true, false, false) => Ok(Self::BtAuth),
            (false, true, false) => Ok(Self::Epistula),
            (false, false, _) => Ok(Self::Synapse),
            _ => Err(AuthError::Ambiguous),
        }
    }
}

/// Why a request's authentication was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AuthError {
    /// A required header is absent.
    #[error("{message}")]
    Missing {
        /// The header.
        header: &'static str,
        /// What to tell the caller (the Python SDK's wording where it has one).
        message: &'static str,
    },
    /// A header that must appear once appears several times.
    #[error("header `{header}` appears {count} times")]
    Duplicate {
        /// The header.
        header: &'static str,
        /// How many times.
        count: usize,
    },
    /// A header value that is not visible ASCII text.
    #[error("header `{header}` is not visible ASCII text")]
    NotText {
        /// The header.
        header: &'static str,
    },
    /// A header value of the wrong shape.
    #[error("header `{header}` is invalid: {reason}")]
    Invalid {
        /// The header.
        header: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Headers of more than one convention in one request.
    #[error("the request carries headers of more than one signing convention")]
    Ambiguous,
    /// The signature does not verify.
    #[error("{0}")]
    BadSignature(String),
    /// Signed for another receiver.
    #[error("request was signed for {got}, not for this axon's hotkey {expected}")]
    WrongReceiver {
        /// This axon's hotkey.
        expected: String,
        /// The receiver the request names.
        got: String,
    },
    /// Outside the freshness window, replayed, or the nonce store is full.
    #[error(transparent)]
    Nonce(#[from] NonceError),
    /// The Synapse body hash does not match the body.
    #[error("Hash mismatch between header body hash {header} and parsed body hash {body}")]
    BodyHash {
        /// The signed `computed_body_hash` header.
        header: String,
        /// The hash of the body received.
        body: String,
    },
}

impl AuthError {
    /// The HTTP status: 400 for requests that are not well-formed HTTP for any convention,
    /// 503 when the nonce store is full, 401 for every failed claim.
    pub fn status(&self) -> u16 {
        match self {
            Self::Duplicate { .. } | Self::NotText { .. } | Self::Ambiguous => 400,
            Self::Nonce(NonceError::StoreFull { .. }) => 503,
            _ => 401,
        }
    }
}

/// A request whose signature checked: who sent it and what identifies it for replay.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The convention it came in.
    pub wire: Wire,
    /// The signer.
    pub hotkey: Hotkey,
    /// The signed timestamp in nanoseconds since the Unix epoch.
    pub nonce_ns: u64,
    /// The window the timestamp must fall in.
    pub window: Window,
    /// What names this request for replay protection (with the convention and hotkey).
    pub replay_id: String,
    /// The request's signature, which a Subforge response signature binds to.
    pub signature: Signature,
    /// The caller's deadline, if it sent one.
    pub timeout: Option<Duration>,
    /// The Synapse protocol's signed `computed_body_hash`, which the body must match.
    pub body_hash: Option<String>,
}

/// The one value of `name`, if present; duplicates and non-text values are errors.
pub(crate) fn header<'a>(
    headers: &'a HeaderMap,
    name: &'static str,
) -> Result<Option<&'a str>, AuthError> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    let extra = values.count();
    if extra > 0 {
        return Err(AuthError::Duplicate {
            header: name,
            count: extra + 1,
        });
    }
    first
        .to_str()
        .map(Some)
        .map_err(|_| AuthError::NotText { header: name })
}

/// Like [`header`] but absent is an error with the given message.
pub(crate) fn required<'a>(
    headers: &'a HeaderMap,
    name: &'static str,
    message: &'static str,
) -> Result<&'a str, AuthError> {
    header(headers, name)?.ok_or(AuthError::Missing {
        header: name,
        message,
    })
}

pub(crate) fn parse_hotkey(header: &'static str, value: &str) -> Result<Hotkey, AuthError> {
    Hotkey::from_ss58(value).map_err(|e| AuthError::Invalid {
        header,
        reason: e.to_string(),
    })
}

/// Signatures travel as `0x` and 128 hex digits; the prefix is required, as btwallet does.
pub(crate) fn parse_signature(header: &'static str, value: &str) -> Result<Signature, AuthError> {
    let invalid = |reason: String| AuthError::Invalid { header, reason };
    let digits = value
        .strip_prefix("0x")
        .ok_or_else(|| invalid("expected 0x and 128 hex digits".to_owned()))?;
    if digits.len() != 128 {
        return Err(invalid(format!(
            "expected 0x and 128 hex digits, got {} digits",
            digits.len()
        )));
    }
    Signature::from_hex(digits).map_err(|_| invalid("not hex".to_owned()))
}

pub(crate) fn parse_u64(header: &'static str, value: &str) -> Result<u64, AuthError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AuthError::Invalid {
            header,
            reason: format!("`{}` is not a decimal integer", abbreviate(value)),
        });
    }
    value.parse().map_err(|_| AuthError::Invalid {
        header,
        reason: format!("`{}` does not fit in 64 bits", abbreviate(value)),
    })
}

/// Caps echoed caller text so an error never grows with the input.
pub(crate) fn abbreviate(text: &str) -> String {
    const MAX: usize = 64;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// The SS58 text of a hotkey, memoised per thread: signed messages name both parties in
/// SS58, and encoding it costs more than the rest of a request's bookkeeping. The cache is
/// small and simply emptied when full, so hostile callers cannot grow it.
pub(crate) fn ss58(hotkey: &Hotkey) -> String {
    use std::cell::RefCell;
    use std::collections::HashMap;
    const MAX: usize = 1024;
    thread_local! {
        static CACHE: RefCell<HashMap<[u8; 32], String>> = RefCell::new(HashMap::new());
    }
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(text) = cache.get(hotkey.account().as_bytes()) {
            return text.clone();
        }
        if cache.len() >= MAX {
            cache.clear();
        }
        let text = hotkey.to_ss58();
        cache.insert(*hotkey.account().as_bytes(), text.clone());
        text
    })
}

/// Lowercase hex SHA-256.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

/// Sixteen random bytes as a UUID string (version 4 layout).
pub(crate) fn random_uuid() -> String {
    let mut b = [0u8; 16];
    // An OS without a random source cannot sign either; fall back to the clock, which
    // still gives distinct values per call.
    if getrandom::getrandom(&mut b).is_err() {
        b[..8].copy_from_slice(&super::nonce::now_ns().to_le_bytes());
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn detection_and_header_shapes() {
        let mut h = HeaderMap::new();
        assert_eq!(Wire::detect(&h).unwrap(), Wire::Synapse);
        h.insert(btauth::VERSION, HeaderValue::from_static("1"));
        assert_eq!(Wire::detect(&h).unwrap(), Wire::BtAuth);
        h.insert(epistula::VERSION, HeaderValue::from_static("2"));
        assert_eq!(Wire::detect(&h), Err(AuthError::Ambiguous));

        let mut h = HeaderMap::new();
        h.append("x", HeaderValue::from_static("1"));
        h.append("x", HeaderValue::from_static("2"));
        assert_eq!(
            header(&h, "x"),
            Err(AuthError::Duplicate {
                header: "x",
                count: 2
            })
        );
        h.insert("y", HeaderValue::from_bytes(b"\xff").unwrap());
        assert_eq!(header(&h, "y"), Err(AuthError::NotText { header: "y" }));
        assert!(parse_signature("s", &format!("0x{}", "ab".repeat(64))).is_ok());
        assert!(parse_signature("s", &"ab".repeat(64)).is_err());
        assert!(parse_signature("s", &format!("0x{}", "ab".repeat(63))).is_err());
        assert!(parse_u64("n", "+1").is_err());
        assert!(parse_u64("n", "99999999999999999999999").is_err());
        let u = random_uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }
}
