//! The signature a Subforge axon puts on every successful answer, so a validator can prove
//! what a miner answered to which request.
//!
//! Headers: `Subforge-Signed-By` (the axon's hotkey, SS58) and `Subforge-Response-Signature`
//! (`0x` + 128 hex digits), an sr25519 signature over five lines joined by `\n`:
//! `subforge-response/1`, the axon's hotkey, the caller's hotkey, the request's signature
//! (`0x` hex, which makes the answer unusable for any other request) and the SHA-256 of the
//! raw response body in lowercase hex.
//!
//! A stream's body is not known when its headers leave, so a stream is signed at its end, in
//! HTTP trailers with the same two names, over the SHA-256 of every byte it carried. The
//! trailers are sent only to a caller that asked for them (`TE: trailers`); the response then
//! names them in its `Trailer` header. A stream cut off by its deadline, or whose handler
//! failed, ends without them.

use http::{HeaderMap, HeaderValue};
use subforge_core::{Hotkey, Signature};

use super::sha256_hex;
use crate::net::keys::Claim;
use crate::net::signer::HotkeySigner;

/// The axon's hotkey.
pub const SIGNED_BY: &str = "subforge-signed-by";
/// The response signature.
pub const SIGNATURE: &str = "subforge-response-signature";

/// The `Trailer` header of a signed stream: the trailers it ends with.
pub const TRAILERS: &str = "subforge-signed-by, subforge-response-signature";

/// The message a response signature covers.
pub fn message(axon: &Hotkey, caller: &Hotkey, request: &Signature, body: &[u8]) -> String {
    message_for_hash(axon, caller, request, &sha256_hex(body))
}

/// The message a response signature covers, from the body's SHA-256 (lowercase hex): how a
/// stream is signed, its body hashed as it passes.
pub fn message_for_hash(
    axon: &Hotkey,
    caller: &Hotkey,
    request: &Signature,
    body_sha256: &str,
) -> String {
    format!(
        "subforge-response/1\n{}\n{}\n{}\n{body_sha256}",
        super::ss58(axon),
        super::ss58(caller),
        request.to_hex(),
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
    sign_hash(headers, axon, caller, request, &sha256_hex(body));
}

/// Adds the response-signature headers (or trailers) for a body of SHA-256 `body_sha256`.
pub fn sign_hash(
    headers: &mut HeaderMap,
    axon: &(impl HotkeySigner + ?Sized),
    caller: &Hotkey,
    request: &Signature,
    body_sha256: &str,
) {
    let me = axon.hotkey();
    let sig = axon.sign(message_for_hash(&me, caller, request, body_sha256).as_bytes());
    if let (Ok(by), Ok(s)) = (
        HeaderValue::try_from(super::ss58(&me)),
        HeaderValue::try_from(sig.to_hex()),
    ) {
        headers.insert(SIGNED_BY, by);
        headers.insert(SIGNATURE, s);
    }
}

/// Whether a request's `TE` header lists `trailers`: HTTP/1.1 sends trailers only to a
/// caller that asked for them.
pub(crate) fn accepts_trailers(headers: &HeaderMap) -> bool {
    headers
        .get_all(http::header::TE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            t.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("trailers"))
        })
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
    claim_for_hash(headers, axon, caller, request, &sha256_hex(body))
}

/// As [`claim`], for a body of SHA-256 `body_sha256` (a stream's trailers).
pub(crate) fn claim_for_hash(
    headers: &HeaderMap,
    axon: &Hotkey,
    caller: &Hotkey,
    request: &Signature,
    body_sha256: &str,
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
        message: message_for_hash(axon, caller, request, body_sha256).into_bytes(),
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

    #[test]
    fn trailers_are_sent_only_when_asked_for() {
        let te = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.append(http::header::TE, HeaderValue::from_static(v));
            h
        };
        assert!(accepts_trailers(&te("trailers")));
        assert!(accepts_trailers(&te("gzip;q=0.5, Trailers")));
        assert!(!accepts_trailers(&te("gzip")));
        assert!(!accepts_trailers(&te("trailersx")));
        assert!(!accepts_trailers(&HeaderMap::new()));
    }
}
