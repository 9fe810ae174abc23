//! Keyfile encryption as `bittensor-wallet` does it: `$NACL` ‖ 24-byte nonce ‖ XSalsa20-Poly1305
//! secretbox (16-byte tag ‖ ciphertext), keyed by Argon2i v1.3 over the password with a fixed
//! salt, 8 passes and 512 MiB (libsodium's `*_SENSITIVE` limits).

use argon2::{Algorithm, Argon2, Params, Version};
use crypto_secretbox::aead::{AeadInPlace, KeyInit};
use crypto_secretbox::{Nonce, Tag, XSalsa20Poly1305};
use zeroize::Zeroizing;

/// The marker that starts a NaCl-encrypted keyfile.
pub const NACL_MARKER: &[u8] = b"$NACL";
/// The marker of Ansible Vault keyfiles (a legacy format).
pub const ANSIBLE_MARKER: &[u8] = b"$ANSIBLE_VAULT";
/// The marker of Fernet keyfiles (a legacy format).
pub const FERNET_MARKER: &[u8] = b"gAAAAA";

/// The salt `bittensor-wallet` uses for every keyfile.
const SALT: [u8; 16] = [
    0x13, 0x71, 0x83, 0xdf, 0xf1, 0x5a, 0x09, 0xbc, 0x9c, 0x90, 0xb5, 0x51, 0x87, 0x39, 0xe9, 0xb1,
];
/// libsodium's `crypto_pwhash_argon2i_OPSLIMIT_SENSITIVE`.
const OPS_LIMIT: u32 = 8;
/// libsodium's `crypto_pwhash_argon2i_MEMLIMIT_SENSITIVE` (512 MiB), in KiB.
const MEM_LIMIT_KIB: u32 = 512 * 1024;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// How a keyfile's bytes are protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encryption {
    /// Plain JSON.
    None,
    /// NaCl secretbox with an Argon2i key (the current format).
    Nacl,
    /// Ansible Vault (legacy, not supported).
    AnsibleVault,
    /// Fernet (legacy, not supported).
    Fernet,
}

impl Encryption {
    /// Recognises the format from the first bytes.
    pub fn detect(data: &[u8]) -> Self {
        if data.starts_with(NACL_MARKER) {
            Self::Nacl
        } else if data.starts_with(ANSIBLE_MARKER) {
            Self::AnsibleVault
        } else if data.starts_with(FERNET_MARKER) {
            Self::Fernet
        } else {
            Self::None
        }
    }
}

/// Why decryption failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    /// Shorter than marker, nonce and tag.
    #[error("the encrypted data is truncated ({len} bytes)")]
    Truncated {
        /// The length found.
        len: usize,
    },
    /// The tag does not verify: the password is wrong or the bytes were altered.
    #[error("wrong password, or the encrypted data is corrupted")]
    WrongPassword,
}

fn derive_key(password: &[u8]) -> Zeroizing<[u8; 32]> {
    let params = Params::new(MEM_LIMIT_KIB, OPS_LIMIT, 1, Some(32))
        .unwrap_or_else(|_| unreachable!("constant Argon2 parameters are valid"));
    let argon = Argon2::new(Algorithm::Argon2i, Version::V0x13, params);
    let mut key = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(password, &SALT, &mut key[..])
        .unwrap_or_else(|_| unreachable!("salt and output lengths are valid"));
    key
}

/// Encrypts `plaintext` under `password` into the `$NACL` format.
pub fn encrypt(plaintext: &[u8], password: &str) -> Vec<u8> {
    let key = derive_key(password.as_bytes());
    let cipher = XSalsa20Poly1305::new((&*key).into());
    let mut nonce = [0u8; NONCE_LEN];
    // Key material cannot be produced without an OS random source.
    #[allow(clippy::expect_used)]
    getrandom::getrandom(&mut nonce).expect("the operating system's random source failed");
    let mut body = plaintext.to_vec();
    let tag = cipher
        .encrypt_in_place_detached(Nonce::from_slice(&nonce), b"", &mut body)
        .unwrap_or_else(|_| unreachable!("secretbox accepts any length a keyfile has"));
    let mut out = Vec::with_capacity(NACL_MARKER.len() + NONCE_LEN + TAG_LEN + body.len());
    out.extend_from_slice(NACL_MARKER);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&tag);
    out.extend_from_slice(&body);
    out
}

/// Decrypts `$NACL` data with `password`.
pub fn decrypt(data: &[u8], password: &str) -> Result<Zeroizing<Vec<u8>>, DecryptError> {
    let rest = data
        .strip_prefix(NACL_MARKER)
        .filter(|r| r.len() >= NONCE_LEN + TAG_LEN)
        .ok_or(DecryptError::Truncated { len: data.len() })?;
    let (nonce, rest) = rest.split_at(NONCE_LEN);
    let (tag, ciphertext) = rest.split_at(TAG_LEN);
    let key = derive_key(password.as_bytes());
    let cipher = XSalsa20Poly1305::new((&*key).into());
    let mut body = Zeroizing::new(ciphertext.to_vec());
    cipher
        .decrypt_in_place_detached(
            Nonce::from_slice(nonce),
            b"",
            &mut body,
            Tag::from_slice(tag),
        )
        .map_err(|_| DecryptError::WrongPassword)?;
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_password() {
        let sealed = encrypt(b"{\"secret\":1}", "correct horse");
        assert_eq!(Encryption::detect(&sealed), Encryption::Nacl);
        assert_eq!(sealed.len(), 5 + 24 + 16 + 12);
        assert_eq!(
            &*decrypt(&sealed, "correct horse").unwrap(),
            b"{\"secret\":1}"
        );
        assert_eq!(decrypt(&sealed, "wrong"), Err(DecryptError::WrongPassword));
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(
            decrypt(&flipped, "correct horse"),
            Err(DecryptError::WrongPassword)
        );
        assert_eq!(
            decrypt(&sealed[..30], "x"),
            Err(DecryptError::Truncated { len: 30 })
        );
    }

    #[test]
    fn detects_formats() {
        assert_eq!(Encryption::detect(b"{\"a\":1}"), Encryption::None);
        assert_eq!(
            Encryption::detect(b"$ANSIBLE_VAULT;1.1;AES256"),
            Encryption::AnsibleVault
        );
        assert_eq!(Encryption::detect(b"gAAAAABk"), Encryption::Fernet);
    }
}
