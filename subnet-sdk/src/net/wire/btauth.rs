//! `btauth/1`, the signed-request scheme of the Python SDK v11 (`bittensor.http_auth`,
//! `spec/wire.md` section 2).
//!
//! The signed payload is eight lines joined by `\n`: `btauth/1`, the scheme (`sr25519`), the
//! upper-case method, the request target (path and `?query` as sent), the SHA-256 of the raw
//! body, the nanosecond nonce, the sender and the receiver (`-` when unbound). Hotkeys are
//! sr25519, so an `X-Bittensor-Crypto` other than `sr25519` is refused.

use std::time::Duration;

use http::{HeaderMap, HeaderValue};
use subforge_core::{Hotkey, Signature};

use super::{
    AuthError, Verified, Wire, header, parse_hotkey, parse_signature, parse_u64, required,
    sha256_hex,
};
use crate::net::nonce::Window;
use crate::net::signer::HotkeySigner;

/// `X-Bittensor-Version: 1`.
pub const VERSION: &str = "x-bittensor-version";
/// The sender's hotkey.
pub const HOTKEY: &str = "x-bittensor-hotkey";
/// The receiver's hotkey.
pub const RECEIVER: &str = "x-bittensor-receiver";
/// Nanosecond nonce.
pub const NONCE: &str = "x-bittensor-nonce";
/// The signature scheme when not sr25519.
pub const CRYPTO: &str = "x-bittensor-crypto";
/// `0x` + 128 hex digits.
pub const SIGNATURE: &str = "x-bittensor-signature";
/// The Python SDK's `DEFAULT_MAX_AGE`.
pub const MAX_AGE: Duration = Duration::from_secs(10);
/// The Python SDK's `DEFAULT_ALLOWED_SKEW`.
pub const ALLOWED_SKEW: Duration = Duration::from_secs(2);

/// The exact bytes a `btauth/1` request signs.
pub fn payload(
    method: &str,
    target: &str,
    body: &[u8],
    nonce: u64,
    sender: &Hotkey,
    receiver: Option<&Hotkey>,
) -> String {
    let receiver = receiver.map_or_else(|| "-".to_owned(), super::ss58);
    format!(
        "btauth/1\nsr25519\n{}\n{target}\n{}\n{nonce}\n{}\n{receiver}",
        method.to_ascii_uppercase(),
        sha256_hex(body),
        super::ss58(sender)
    )
}

/// Checks a `btauth/1` request to `me`, in the Python order: header shape, receiver binding
/// (required), signature. Freshness and replay are the caller's, with the returned window
/// (10 s back, 2 s ahead).
pub fn verify(
    headers: &HeaderMap,
    method: &str,
    target: &str,
    body: &[u8],
    me: &Hotkey,
) -> Result<Verified, AuthError> {
    let version = required(headers, VERSION, "missing X-Bittensor-Version")?;
    if version != "1" {
        return Err(AuthError::Invalid {
            header: VERSION,
            reason: format!("unsupported version `{}`", super::abbreviate(version)),
        });
    }
    let sender = parse_hotkey(
        HOTKEY,
        required(headers, HOTKEY, "missing X-Bittensor-Hotkey")?,
    )?;
    let nonce = parse_u64(
        NONCE,
        required(headers, NONCE, "missing X-Bittensor-Nonce")?,
    )?;
    if let Some(scheme) = header(headers, CRYPTO)?
        && !scheme.eq_ignore_ascii_case("sr25519")
    {
        return Err(AuthError::Invalid {
            header: CRYPTO,
            reason: format!("unsupported scheme `{}`", super::abbreviate(scheme)),
        });
    }
    let signature = parse_signature(
        SIGNATURE,
        required(headers, SIGNATURE, "missing X-Bittensor-Signature")?,
    )?;
    let receiver = required(
        headers,
        RECEIVER,
        "missing X-Bittensor-Receiver: this server requires receiver-bound requests",
    )?;
    if receiver != super::ss58(me) {
        return Err(AuthError::WrongReceiver {
            expected: super::ss58(me),
            got: super::abbreviate(receiver),
        });
    }
    let signed = payload(method, target, body, nonce, &sender, Some(me));
    if !crate::net::keys::verify(sender.account(), signed.as_bytes(), &signature) {
        return Err(AuthError::BadSignature(
            "signature does not verify against the claimed hotkey".to_owned(),
        ));
    }
    Ok(Verified {
        wire: Wire::BtAuth,
        hotkey: sender,
        nonce_ns: nonce,
        window: Window {
            back: MAX_AGE,
            ahead: ALLOWED_SKEW,
        },
        replay_id: nonce.to_string(),
        signature,
        timeout: None,
        body_hash: None,
    })
}

/// Adds the `btauth/1` headers of a request to `receiver` and returns its signature.
pub fn sign(
    headers: &mut HeaderMap,
    signer: &(impl HotkeySigner + ?Sized),
    method: &str,
    target: &str,
    body: &[u8],
    nonce: u64,
    receiver: &Hotkey,
) -> Signature {
    let me = signer.hotkey();
    let signature =
        signer.sign(payload(method, target, body, nonce, &me, Some(receiver)).as_bytes());
    let mut put = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::try_from(value) {
            headers.insert(name, v);
        }
    };
    put(VERSION, "1".to_owned());
    put(HOTKEY, me.to_ss58());
    put(NONCE, nonce.to_string());
    put(SIGNATURE, signature.to_hex());
    put(RECEIVER, receiver.to_ss58());
    signature
}

#[cfg(test)]
mod tests {
    use super::*;
    use subforge_core::identity::Keypair;

    #[test]
    fn payload_layout_and_round_trip() {
        let alice = Keypair::from_uri("//Alice").unwrap();
        let bob = Hotkey(Keypair::from_uri("//Bob").unwrap().public());
        let a = Hotkey(alice.public());
        assert_eq!(
            payload(
                "post",
                "/generate?x=1",
                b"",
                1_700_000_000_000_000_000,
                &a,
                None
            ),
            format!(
                "btauth/1\nsr25519\nPOST\n/generate?x=1\n\
                 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\
                 1700000000000000000\n{a}\n-"
            )
        );
        let mut h = HeaderMap::new();
        sign(&mut h, &alice, "POST", "/Echo", b"{}", 5, &bob);
        let v = verify(&h, "POST", "/Echo", b"{}", &bob).unwrap();
        assert_eq!(v.hotkey, a);
        assert_eq!(v.nonce_ns, 5);
        assert!(matches!(
            verify(&h, "POST", "/Echo", b"{ }", &bob),
            Err(AuthError::BadSignature(_))
        ));
        assert!(matches!(
            verify(&h, "POST", "/Other", b"{}", &bob),
            Err(AuthError::BadSignature(_))
        ));
        assert!(matches!(
            verify(&h, "POST", "/Echo", b"{}", &a),
            Err(AuthError::WrongReceiver { .. })
        ));
        h.insert(CRYPTO, HeaderValue::from_static("ed25519"));
        assert!(matches!(
            verify(&h, "POST", "/Echo", b"{}", &bob),
            Err(AuthError::Invalid { header: CRYPTO, .. })
        ));
    }
}
