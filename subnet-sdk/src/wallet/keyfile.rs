//! One keyfile: its JSON content (the `bittensor-wallet` format), its encryption, and safe
//! reading and writing on disk.
//!
//! A keyfile is a compact JSON object with `accountId` and `publicKey` (`0x` + 32 bytes of hex),
//! `ss58Address`, `cryptoType` (1 = sr25519) and, for a secret key, `privateKey` (`0x` + the 64
//! canonical schnorrkel bytes) plus `secretPhrase` and `secretSeed` when known. A reader takes
//! the first of `secretPhrase`, `secretSeed`, `privateKey`, `ss58Address` that is present.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use subforge_core::AccountId;
use subforge_core::identity::{KeyError, Keypair};
use zeroize::Zeroizing;

use super::WalletError;
use super::encryption::{self, DecryptError, Encryption};

/// Keyfiles hold secrets: only the owner may read them.
const FILE_MODE: u32 = 0o600;
const DIR_MODE: u32 = 0o700;
/// No keyfile is anywhere near this large; a larger file is refused unread.
const MAX_KEYFILE_BYTES: u64 = 64 * 1024;
const SR25519: u64 = 1;

/// What a keyfile holds once read.
#[derive(Debug, Clone)]
pub enum KeyfileContent {
    /// A full keypair.
    Keypair(Box<Keypair>),
    /// Only the public key.
    Public(AccountId),
}

impl KeyfileContent {
    /// The public key either way.
    pub fn public(&self) -> AccountId {
        match self {
            Self::Keypair(kp) => kp.public(),
            Self::Public(p) => *p,
        }
    }
}

/// The JSON of a keyfile holding `keypair` (with its phrase and seed when known).
pub fn keypair_json(keypair: &Keypair) -> Zeroizing<String> {
    let mut map = public_fields(&keypair.public());
    map.insert(
        "privateKey".into(),
        Value::String(format!("0x{}", hex::encode(*keypair.secret_key_bytes()))),
    );
    if let Some(phrase) = keypair.phrase() {
        map.insert("secretPhrase".into(), Value::String(phrase.to_owned()));
    }
    if let Some(seed) = keypair.seed() {
        map.insert(
            "secretSeed".into(),
            Value::String(format!("0x{}", hex::encode(seed))),
        );
    }
    Zeroizing::new(Value::Object(map).to_string())
}

/// The JSON of a public-only keyfile (`coldkeypub.txt`, `<hotkey>pub.txt`).
pub fn public_json(account: &AccountId) -> String {
    Value::Object(public_fields(account)).to_string()
}

fn public_fields(account: &AccountId) -> Map<String, Value> {
    let hex_key = format!("0x{}", hex::encode(account.as_bytes()));
    let mut map = Map::new();
    map.insert("accountId".into(), Value::String(hex_key.clone()));
    map.insert("publicKey".into(), Value::String(hex_key));
    map.insert("cryptoType".into(), Value::from(SR25519));
    map.insert("ss58Address".into(), Value::String(account.to_ss58()));
    map
}

/// Parses keyfile JSON. `path` only names the file in errors.
pub fn parse(path: &Path, json: &[u8]) -> Result<KeyfileContent, WalletError> {
    let malformed = |reason: String| WalletError::Malformed {
        path: path.to_owned(),
        reason,
    };
    let value: Value = serde_json::from_slice(json)
        .map_err(|e| malformed(format!("not valid keyfile JSON ({e})")))?;
    let Value::Object(map) = value else {
        return Err(malformed("a keyfile must be a JSON object".into()));
    };
    let text = |field: &str| -> Result<Option<&str>, WalletError> {
        match map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(malformed(format!(
                "`{field}` must be a string, found {other}"
            ))),
        }
    };
    match map.get("cryptoType") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if n.as_u64() == Some(SR25519) => {}
        Some(other) => {
            return Err(WalletError::UnsupportedCrypto {
                path: path.to_owned(),
                crypto_type: other.to_string(),
            });
        }
    }
    let key_err = |field: &'static str| {
        move |source: KeyError| WalletError::BadKey {
            path: path.to_owned(),
            field,
            source,
        }
    };

    let content = if let Some(phrase) = text("secretPhrase")? {
        KeyfileContent::Keypair(Box::new(
            Keypair::from_phrase(phrase).map_err(key_err("secretPhrase"))?,
        ))
    } else if let Some(seed) = text("secretSeed")? {
        KeyfileContent::Keypair(Box::new(
            Keypair::from_seed_hex(seed).map_err(key_err("secretSeed"))?,
        ))
    } else if let Some(private) = text("privateKey")? {
        KeyfileContent::Keypair(Box::new(
            Keypair::from_secret_key_hex(private).map_err(key_err("privateKey"))?,
        ))
    } else if let Some(address) = text("ss58Address")? {
        KeyfileContent::Public(
            AccountId::from_ss58(address).map_err(|e| key_err("ss58Address")(e.into()))?,
        )
    } else if let Some(public) = text("publicKey")? {
        KeyfileContent::Public(AccountId::from_hex(public).map_err(key_err("publicKey"))?)
    } else {
        return Err(malformed(
            "no key in the file (none of secretPhrase, secretSeed, privateKey, ss58Address)".into(),
        ));
    };

    // A file whose fields disagree has been damaged or tampered with; refuse it rather than
    // sign with a key the user does not expect.
    let public = content.public();
    if let Some(address) = text("ss58Address")?
        && AccountId::from_ss58(address).ok() != Some(public)
    {
        return Err(malformed(format!(
            "its ss58Address {address} does not match its key {public}"
        )));
    }
    if let Some(hex_key) = text("publicKey")?
        && AccountId::from_hex(hex_key).ok() != Some(public)
    {
        return Err(malformed(format!(
            "its publicKey does not match its key {public}"
        )));
    }
    Ok(content)
}

/// Reads a keyfile from disk, decrypting it with `password` when it is encrypted.
///
/// `password` is called only for an encrypted file, so public files never prompt.
pub fn read(
    path: &Path,
    password: &mut dyn FnMut() -> Result<Zeroizing<String>, WalletError>,
) -> Result<KeyfileContent, WalletError> {
    let bytes = read_bytes(path)?;
    match Encryption::detect(&bytes) {
        Encryption::None => parse(path, &bytes),
        Encryption::Nacl => {
            let password = password()?;
            let plain = encryption::decrypt(&bytes, &password).map_err(|e| match e {
                DecryptError::WrongPassword => WalletError::WrongPassword {
                    path: path.to_owned(),
                },
                DecryptError::Truncated { len } => WalletError::Malformed {
                    path: path.to_owned(),
                    reason: format!("the encrypted keyfile is truncated ({len} bytes)"),
                },
            })?;
            parse(path, &plain)
        }
        method @ (Encryption::AnsibleVault | Encryption::Fernet) => {
            Err(WalletError::UnsupportedEncryption {
                path: path.to_owned(),
                method: format!("{method:?}"),
            })
        }
    }
}

/// Whether the keyfile at `path` is encrypted (without decrypting it).
pub fn is_encrypted(path: &Path) -> Result<bool, WalletError> {
    Ok(Encryption::detect(&read_bytes(path)?) != Encryption::None)
}

fn read_bytes(path: &Path) -> Result<Zeroizing<Vec<u8>>, WalletError> {
    let io = |source| WalletError::Io {
        path: path.to_owned(),
        source,
    };
    let meta = fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => WalletError::NotFound {
            path: path.to_owned(),
        },
        _ => io(e),
    })?;
    if !meta.is_file() {
        return Err(WalletError::Malformed {
            path: path.to_owned(),
            reason: "not a regular file".into(),
        });
    }
    if meta.len() > MAX_KEYFILE_BYTES {
        return Err(WalletError::Malformed {
            path: path.to_owned(),
            reason: format!("{} bytes is too large for a keyfile", meta.len()),
        });
    }
    fs::read(path).map(Zeroizing::new).map_err(io)
}

/// Writes `data` to `path` with mode 0600, atomically: the old file stays whole until the new
/// one is complete on disk. Refuses to replace an existing file unless `overwrite`.
pub fn write(path: &Path, data: &[u8], overwrite: bool) -> Result<(), WalletError> {
    let io = |source| WalletError::Io {
        path: path.to_owned(),
        source,
    };
    if !overwrite && fs::symlink_metadata(path).is_ok() {
        return Err(WalletError::AlreadyExists {
            path: path.to_owned(),
        });
    }
    let dir = path.parent().ok_or_else(|| WalletError::Malformed {
        path: path.to_owned(),
        reason: "a keyfile path needs a parent folder".into(),
    })?;
    create_private_dir(dir)?;
    let tmp = temp_path(path);
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .open(&tmp)?;
        // `mode` is filtered by the umask; make 0600 exact.
        file.set_permissions(fs::Permissions::from_mode(FILE_MODE))?;
        file.write_all(data)?;
        file.sync_all()?;
        if !overwrite && fs::symlink_metadata(path).is_ok() {
            return Err(std::io::Error::from(std::io::ErrorKind::AlreadyExists));
        }
        fs::rename(&tmp, path)?;
        fs::File::open(dir)?.sync_all()
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(if e.kind() == std::io::ErrorKind::AlreadyExists {
            WalletError::AlreadyExists {
                path: path.to_owned(),
            }
        } else {
            io(e)
        });
    }
    Ok(())
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    let mut salt = [0u8; 6];
    let _ = getrandom::getrandom(&mut salt);
    name.push(format!(".{}.tmp", hex::encode(salt)));
    path.with_file_name(name)
}

fn create_private_dir(dir: &Path) -> Result<(), WalletError> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
        .map_err(|source| WalletError::Io {
            path: dir.to_owned(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_password() -> impl FnMut() -> Result<Zeroizing<String>, WalletError> {
        || panic!("a plaintext keyfile asked for a password")
    }

    #[test]
    fn keypair_json_round_trips_with_every_field() {
        let kp = Keypair::from_phrase(subforge_core::identity::DEV_PHRASE).unwrap();
        let json = keypair_json(&kp);
        let v: Value = serde_json::from_str(&json).unwrap();
        for field in [
            "accountId",
            "publicKey",
            "privateKey",
            "secretPhrase",
            "secretSeed",
            "ss58Address",
            "cryptoType",
        ] {
            assert!(v.get(field).is_some(), "{field} missing from {v}");
        }
        let back = parse(Path::new("k"), json.as_bytes()).unwrap();
        assert_eq!(back.public(), kp.public());
        assert!(matches!(back, KeyfileContent::Keypair(_)));
    }

    #[test]
    fn public_json_reads_back_as_public() {
        let kp = Keypair::from_uri("//Alice").unwrap();
        let back = parse(Path::new("p"), public_json(&kp.public()).as_bytes()).unwrap();
        assert!(matches!(back, KeyfileContent::Public(p) if p == kp.public()));
    }

    #[test]
    fn damaged_files_are_refused_with_the_reason() {
        let p = Path::new("/w/hotkeys/h");
        let kp = Keypair::from_uri("//Alice").unwrap();
        let json = keypair_json(&kp);
        let truncated = &json.as_bytes()[..json.len() / 2];
        let err = parse(p, truncated).unwrap_err();
        assert!(matches!(err, WalletError::Malformed { .. }), "{err}");
        assert!(err.to_string().contains("/w/hotkeys/h"), "{err}");

        let bob = Keypair::from_uri("//Bob").unwrap().public();
        let mismatched = json.replace(&kp.public().to_ss58(), &bob.to_ss58());
        assert!(
            parse(p, mismatched.as_bytes())
                .unwrap_err()
                .to_string()
                .contains("does not match")
        );

        let ed =
            r#"{"cryptoType":0,"ss58Address":"5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"}"#;
        assert!(matches!(
            parse(p, ed.as_bytes()),
            Err(WalletError::UnsupportedCrypto { .. })
        ));
        assert!(matches!(
            parse(p, b"[]"),
            Err(WalletError::Malformed { .. })
        ));
        assert!(matches!(
            parse(p, b"{}"),
            Err(WalletError::Malformed { .. })
        ));
        let bad_phrase = r#"{"secretPhrase":"not a mnemonic"}"#;
        assert!(matches!(
            parse(p, bad_phrase.as_bytes()),
            Err(WalletError::BadKey {
                field: "secretPhrase",
                ..
            })
        ));
    }

    #[test]
    fn writes_are_private_atomic_and_never_clobber() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/key");
        write(&path, b"{}", false).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(matches!(
            write(&path, b"x", false),
            Err(WalletError::AlreadyExists { .. })
        ));
        assert_eq!(fs::read(&path).unwrap(), b"{}");
        write(&path, b"{\"v\":2}", true).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"{\"v\":2}");
        // No temporary files are left behind.
        assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn reading_a_missing_or_huge_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        assert!(matches!(
            read(&missing, &mut no_password()),
            Err(WalletError::NotFound { .. })
        ));
        let huge = dir.path().join("huge");
        fs::write(&huge, vec![b' '; 100_000]).unwrap();
        assert!(matches!(
            read(&huge, &mut no_password()),
            Err(WalletError::Malformed { .. })
        ));
    }
}
