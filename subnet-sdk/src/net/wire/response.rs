//! The signature a Subforge axon puts on every successful answer, so a validator can prove
//! what a miner answered to which request.
//!
//! Headers: `Subforge-Signed-By` (the axon's hotkey, SS58) and `Subforge-Response-Signature`
//! (`0x` + 128 hex digits), an sr25519 signature over five lines joined by `\n`:
//! `subforge-response/1`, the axon's hotkey, the caller's hotkey, the request's signature
//! (`0x` hex, which makes the answer unusable for any other request) and the SHA-256 of the
//! raw response body in lowercase hex.

use http::{HeaderMap, HeaderValue};
use subforge_core::identity::Keypair;
use subforge_core::{Hotkey, Signature};

use super::sha256_hex;

/// The axon's hotkey.
pub const SIGNED_BY: &str = "subforge-signed-by";
/// The response signature.
pub const SIGNATURE: &str = "subforge-response-signature";

/// The message a response signature covers.
pub fn message(axon: &Hotkey, caller: &Hotkey, request: &Signature, body: &[u8]) -> String {
    format!(
        "subforge-response/1\n{}\n{}\n{}\n{}",
        super::ss58(axon),
        super::ss58(caller),
        request.to_hex(),
        sha256_hex(body)
    )
}

/// Adds the response-signature headers.
pub fn sign(
    headers: &mut HeaderMap,
    axon: &Keypair,
    caller: &Hotkey,
    request: &Signature,
    body: &[u8],
) {
    let me = Hotkey(axon.public());
    let sig = axon.sign(message(&me, caller, request, body).as_bytes());
    if let (Ok(by), Ok(s)) = (
        HeaderValue::try_from(super::ss58(&me)),
        HeaderValue::try_from(sig.to_hex()),
    ) {
        headers.insert(SIGNED_BY, by);
        headers.insert(SIGNATURE, s);
    }
}

/// Whether `headers` carry a valid signature by `axon` over `body` answering `request`.
pub fn verify(
    headers: &HeaderMap,
    axon: &Hotkey,
    caller: &Hotkey,
    request: &Signature,
    body: &[u8],
) -> bool {
    let by = headers.get(SIGNED_BY).and_then(|v| v.to_str().ok());
    if by != Some(super::ss58(axon).as_str()) {
        return false;
    }
    let Some(sig) = headers
        .get(SIGNATURE)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| super::parse_signature(SIGNATURE, s).ok())
    else {
        return false;
    };
    crate::net::keys::verify(
        axon.account(),
        message(axon, caller, request, body).as_bytes(),
        &sig,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_body_request_and_keys() {
        let axon = Keypair::from_uri("//Bob").unwrap();
        let a = Hotkey(axon.public());
        let c = Hotkey(Keypair::from_uri("//Alice").unwrap().public());
        let req = Signature([9; 64]);
        let mut h = HeaderMap::new();
        sign(&mut h, &axon, &c, &req, b"42");
        assert!(verify(&h, &a, &c, &req, b"42"));
        assert!(!verify(&h, &a, &c, &req, b"43"));
        assert!(!verify(&h, &a, &c, &Signature([8; 64]), b"42"));
        assert!(!verify(&h, &c, &c, &req, b"42"));
        assert!(!verify(&HeaderMap::new(), &a, &c, &req, b"42"));
    }
}
