//! Epistula v2 (`spec/wire.md` section 3), as SN4 and SN19 use it.
//!
//! The request signs `"{sha256(body)}.{uuid}.{timestamp_ms}.{signed_for}"` (an empty
//! `signed_for` when unbound). Our axon requires `Epistula-Signed-For` to name its hotkey,
//! refuses timestamps more than 8 s from now either way (Epistula only bounds the past) and
//! remembers each `(hotkey, uuid)` so a request cannot be replayed inside the window.

use std::time::Duration;

use http::{HeaderMap, HeaderValue};
use subforge_core::{Hotkey, Signature};

use super::{
    AuthError, Verified, Wire, parse_hotkey, parse_signature, parse_u64, required, sha256_hex,
};
use crate::net::nonce::Window;
use crate::net::pyrepr::float_repr;
use crate::net::signer::HotkeySigner;

/// `Epistula-Version: 2`.
pub const VERSION: &str = "epistula-version";
/// Milliseconds since the Unix epoch.
pub const TIMESTAMP: &str = "epistula-timestamp";
/// A UUID, 36 characters.
pub const UUID: &str = "epistula-uuid";
/// The sender's hotkey.
pub const SIGNED_BY: &str = "epistula-signed-by";
/// The receiver's hotkey.
pub const SIGNED_FOR: &str = "epistula-signed-for";
/// `0x` + 128 hex digits.
pub const SIGNATURE: &str = "epistula-request-signature";
/// Epistula's `ALLOWED_DELTA_MS`.
pub const ALLOWED_DELTA: Duration = Duration::from_millis(8000);

/// The message an Epistula request signs.
pub fn message(body: &[u8], uuid: &str, timestamp_ms: u64, signed_for: Option<&Hotkey>) -> String {
    let signed_for = signed_for.map(super::ss58).unwrap_or_default();
    format!("{}.{uuid}.{timestamp_ms}.{signed_for}", sha256_hex(body))
}

/// Checks an Epistula request to `me`. Freshness and replay are the caller's, with the
/// returned window (8 s each way).
pub fn verify(headers: &HeaderMap, body: &[u8], me: &Hotkey) -> Result<Verified, AuthError> {
    let version = required(headers, VERSION, "missing Epistula-Version")?;
    if version != "2" {
        return Err(AuthError::Invalid {
            header: VERSION,
            reason: format!("unsupported version `{}`", super::abbreviate(version)),
        });
    }
    let timestamp = parse_u64(
        TIMESTAMP,
        required(headers, TIMESTAMP, "missing Epistula-Timestamp")?,
    )?;
    let uuid = required(headers, UUID, "missing Epistula-Uuid")?;
    if uuid.len() != 36 {
        return Err(AuthError::Invalid {
            header: UUID,
            reason: "expected a 36-character UUID".to_owned(),
        });
    }
    let sender = parse_hotkey(
        SIGNED_BY,
        required(headers, SIGNED_BY, "missing Epistula-Signed-By")?,
    )?;
    let signature = parse_signature(
        SIGNATURE,
        required(headers, SIGNATURE, "missing Epistula-Request-Signature")?,
    )?;
    let signed_for = required(
        headers,
        SIGNED_FOR,
        "missing Epistula-Signed-For: this server requires receiver-bound requests",
    )?;
    if signed_for != super::ss58(me) {
        return Err(AuthError::WrongReceiver {
            expected: super::ss58(me),
            got: super::abbreviate(signed_for),
        });
    }
    let signed = message(body, uuid, timestamp, Some(me));
    if !crate::net::keys::verify(sender.account(), signed.as_bytes(), &signature) {
        return Err(AuthError::BadSignature("Signature Mismatch".to_owned()));
    }
    Ok(Verified {
        wire: Wire::Epistula,
        hotkey: sender,
        nonce_ns: timestamp.saturating_mul(1_000_000),
        window: Window {
            back: ALLOWED_DELTA,
            ahead: ALLOWED_DELTA,
        },
        replay_id: uuid.to_owned(),
        signature,
        timeout: None,
        body_hash: None,
    })
}

/// Adds the Epistula headers of a request to `receiver` (with the three secret signatures
/// Epistula clients send alongside) and returns the request signature.
pub fn sign(
    headers: &mut HeaderMap,
    signer: &(impl HotkeySigner + ?Sized),
    body: &[u8],
    uuid: &str,
    timestamp_ms: u64,
    receiver: &Hotkey,
) -> Signature {
    let signature = signer.sign(message(body, uuid, timestamp_ms, Some(receiver)).as_bytes());
    let mut put = |name: String, value: String| {
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::try_from(name),
            HeaderValue::try_from(value),
        ) {
            headers.insert(n, v);
        }
    };
    put(VERSION.to_owned(), "2".to_owned());
    put(TIMESTAMP.to_owned(), timestamp_ms.to_string());
    put(UUID.to_owned(), uuid.to_owned());
    put(SIGNED_BY.to_owned(), signer.hotkey().to_ss58());
    put(SIGNED_FOR.to_owned(), receiver.to_ss58());
    put(SIGNATURE.to_owned(), signature.to_hex());
    // Python's `ceil(ts / 1e4) * 1e4 + k`, a float such as `1700000010000.0`.
    let interval = timestamp_ms.div_ceil(10_000) * 10_000;
    for (i, k) in [-1i64, 0, 1].into_iter().enumerate() {
        let t = float_repr(interval as f64 + k as f64);
        let secret = signer.sign(format!("{t}.{receiver}").as_bytes());
        put(format!("epistula-secret-signature-{i}"), secret.to_hex());
    }
    signature
}

#[cfg(test)]
mod tests {
    use super::*;
    use subforge_core::identity::Keypair;

    #[test]
    fn round_trip_and_binding() {
        let alice = Keypair::from_uri("//Alice").unwrap();
        let bob = Hotkey(Keypair::from_uri("//Bob").unwrap().public());
        let uuid = "123e4567-e89b-42d3-a456-426614174000";
        let mut h = HeaderMap::new();
        sign(&mut h, &alice, b"{\"a\":1}", uuid, 1_700_000_000_123, &bob);
        let v = verify(&h, b"{\"a\":1}", &bob).unwrap();
        assert_eq!(v.nonce_ns, 1_700_000_000_123_000_000);
        assert_eq!(v.replay_id, uuid);
        assert!(matches!(
            verify(&h, b"{\"a\":2}", &bob),
            Err(AuthError::BadSignature(_))
        ));
        assert_eq!(
            message(b"", uuid, 5, None),
            format!("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855.{uuid}.5.")
        );
        let secret = h
            .get("epistula-secret-signature-1")
            .unwrap()
            .to_str()
            .unwrap();
        let sig = Signature::from_hex(secret).unwrap();
        assert!(
            alice
                .public()
                .verify(format!("1700000010000.0.{bob}").as_bytes(), &sig)
        );
    }
}
