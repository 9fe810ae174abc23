//! The signature a Subforge axon puts on every successful answer, so a validator can prove
//! what a miner answered to which request.
//!
//! Headers: `Subforge-Signed-By` (the axon's hotkey, SS58) and `Subforge-Response-Signature`
//! (`0x` + 128 hex digits), an sr25519 signature over five lines joined by `\n`:
//! `subforge-response/1`, the axon's hotkey, the caller's hotkey, the request's signature
//! (`0x` hex, which makes the answer unusable for any other request) and the SHA-256 of the
//! raw response body in lowercase hex.

use http::{HeaderMap, HeaderValue};
use subforge_core::{Hotkey, Signature};

use super::sha256_hex;
use crate::net::keys::Claim;
use crate::net::signer::HotkeySigner;

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
    axon: &(impl HotkeySigner + ?Sized),
    caller: &Hotkey,
    request: &Signature,
    body: &[u8],
) {
    let me = axon.hotkey();
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
    claim(headers, axon, caller, request, body).is_some_and(|c| c.verify())
}

/// The signature `headers` claim `axon` made over `body` answering `request`, ready to be
/// checked (alone or in a batch); `None` when the headers carry none, or one by another key.
pub(crate) fn claim(
    headers: &HeaderMap,
    axon: &Hotkey,
    caller: &Hotkey,
    request: &Signature,
    body: &[u8],
) -> Option<Claim> {
    let by = headers.get(SIGNED_BY).and_then(|v| v.to_str().ok());
    if by != Some(super::ss58(axon).as_str()) {
        return None;
    }
    let signature = headers
        .get(SIGNATURE)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| super::parse_signature(SIGNATURE, s).ok())?;
    Some(Claim {
        signer: *axon.account(),
        message: message(axon, caller, request, body).into_bytes(),
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use subforge_core::identity::Keypair;

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
