//! Wallets on disk, in the layout and file format of Bittensor's `bittensor-wallet`, so that
//! wallets move freely between Subforge and the Python tools:
//!
//! ```text
//! <wallets>/<name>/coldkey                 encrypted ($NACL) keyfile of the coldkey
//! <wallets>/<name>/coldkeypub.txt          the coldkey's public half
//! <wallets>/<name>/hotkeys/<hotkey>        plaintext keyfile of a hotkey
//! <wallets>/<name>/hotkeys/<hotkey>pub.txt its public half
//! ```
//!
//! `<wallets>` is `$BT_WALLET_PATH` or `~/.bittensor/wallets`; the wallet and hotkey names
//! default to `$BT_WALLET_NAME` and `$BT_WALLET_HOTKEY`, then `default`. Files are written with
//! mode 0600, atomically, and never replaced unless the caller asks.

pub mod encryption;
pub mod keyfile;

use std::fs;
use std::path::{Path, PathBuf};

use subforge_core::identity::{KeyError, Keypair};
use subforge_core::{Coldkey, Hotkey};
use zeroize::Zeroizing;

pub use keyfile::KeyfileContent;

/// Environment variable overriding the wallets folder.
pub const ENV_WALLET_PATH: &str = "BT_WALLET_PATH";
/// Environment variable naming the default wallet.
pub const ENV_WALLET_NAME: &str = "BT_WALLET_NAME";
/// Environment variable naming the default hotkey.
pub const ENV_WALLET_HOTKEY: &str = "BT_WALLET_HOTKEY";
/// The wallet and hotkey name used when none is given.
pub const DEFAULT_NAME: &str = "default";

/// What went wrong with a wallet or keyfile. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    /// The file does not exist.
    #[error("{} does not exist", path.display())]
    NotFound {
        /// The missing file.
        path: PathBuf,
    },
    /// The file exists and replacing it was not asked for.
    #[error("{} already exists; refusing to overwrite it", path.display())]
    AlreadyExists {
        /// The existing file.
        path: PathBuf,
    },
    /// Reading or writing failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not a keyfile, or is damaged.
    #[error("{} is not a valid keyfile: {reason}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A key field holds something that is not a valid key.
    #[error("{}: `{field}` is invalid: {source}", path.display())]
    BadKey {
        /// The file.
        path: PathBuf,
        /// The JSON field.
        field: &'static str,
        /// Why the key is invalid.
        source: KeyError,
    },
    /// The key is not sr25519.
    #[error("{} holds a key of crypto type {crypto_type}; only sr25519 (1) is supported", path.display())]
    UnsupportedCrypto {
        /// The file.
        path: PathBuf,
        /// The `cryptoType` found.
        crypto_type: String,
    },
    /// The file uses a legacy encryption.
    #[error(
        "{} uses the legacy {method} encryption, which is not supported; \
         re-encrypt it with a current bittensor-wallet",
        path.display()
    )]
    UnsupportedEncryption {
        /// The file.
        path: PathBuf,
        /// The format found.
        method: String,
    },
    /// Decryption failed.
    #[error("wrong password for {} (or the file is corrupted)", path.display())]
    WrongPassword {
        /// The file.
        path: PathBuf,
    },
    /// The file is encrypted and no password could be obtained.
    #[error("{} is encrypted: {reason}", path.display())]
    PasswordRequired {
        /// The file.
        path: PathBuf,
        /// Why no password was available.
        reason: String,
    },
    /// A wallet or hotkey name that would escape the wallets folder.
    #[error("invalid {kind} name `{name}`: use a plain file name (no `/`, not `.` or `..`)")]
    InvalidName {
        /// `wallet` or `hotkey`.
        kind: &'static str,
        /// The name given.
        name: String,
    },
}

/// A source of passwords for encrypted keyfiles; called only when one is needed.
pub type PasswordSource<'a> = &'a mut dyn FnMut() -> Result<Zeroizing<String>, WalletError>;

/// The wallets folder: `$BT_WALLET_PATH`, else `~/.bittensor/wallets`.
pub fn default_wallets_dir() -> PathBuf {
    match std::env::var_os(ENV_WALLET_PATH) {
        Some(p) if !p.is_empty() => expand_home(Path::new(&p)),
        _ => home_dir().join(".bittensor").join("wallets"),
    }
}

/// Expands a leading `~` to the home folder.
pub fn expand_home(path: &Path) -> PathBuf {
    match path.strip_prefix("~") {
        Ok(rest) => home_dir().join(rest),
        Err(_) => path.to_owned(),
    }
}

fn home_dir() -> PathBuf {
    std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from)
}

fn check_name(kind: &'static str, name: &str) -> Result<(), WalletError> {
    let bad =
        name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0');
    if bad {
        Err(WalletError::InvalidName {
            kind,
            name: name.to_owned(),
        })
    } else {
        Ok(())
    }
}

/// A named wallet (one coldkey) with one selected hotkey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wallet {
    dir: PathBuf,
    name: String,
    hotkey: String,
}

impl Wallet {
    /// The wallet `name` with hotkey `hotkey` in the wallets folder `wallets_dir`.
    pub fn new(wallets_dir: &Path, name: &str, hotkey: &str) -> Result<Self, WalletError> {
        check_name("wallet", name)?;
        check_name("hotkey", hotkey)?;
        Ok(Self {
            dir: expand_home(wallets_dir).join(name),
            name: name.to_owned(),
            hotkey: hotkey.to_owned(),
        })
    }

    /// The wallet and hotkey from the arguments, else from `BT_WALLET_*`, else `default`.
    pub fn resolve(
        wallets_dir: Option<&Path>,
        name: Option<&str>,
        hotkey: Option<&str>,
    ) -> Result<Self, WalletError> {
        let env = |key| std::env::var(key).ok().filter(|v: &String| !v.is_empty());
        let dir = wallets_dir.map_or_else(default_wallets_dir, expand_home);
        let name = name.map(str::to_owned).or_else(|| env(ENV_WALLET_NAME));
        let hotkey = hotkey.map(str::to_owned).or_else(|| env(ENV_WALLET_HOTKEY));
        Self::new(
            &dir,
            name.as_deref().unwrap_or(DEFAULT_NAME),
            hotkey.as_deref().unwrap_or(DEFAULT_NAME),
        )
    }

    /// The wallet's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The selected hotkey's name.
    pub fn hotkey_name(&self) -> &str {
        &self.hotkey
    }

    /// The wallet's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The same wallet with another hotkey selected.
    pub fn with_hotkey(&self, hotkey: &str) -> Result<Self, WalletError> {
        check_name("hotkey", hotkey)?;
        Ok(Self {
            hotkey: hotkey.to_owned(),
            ..self.clone()
        })
    }

    /// `<wallet>/coldkey`.
    pub fn coldkey_path(&self) -> PathBuf {
        self.dir.join("coldkey")
    }

    /// `<wallet>/coldkeypub.txt`.
    pub fn coldkeypub_path(&self) -> PathBuf {
        self.dir.join("coldkeypub.txt")
    }

    /// `<wallet>/hotkeys/<hotkey>`.
    pub fn hotkey_path(&self) -> PathBuf {
        self.dir.join("hotkeys").join(&self.hotkey)
    }

    /// `<wallet>/hotkeys/<hotkey>pub.txt`.
    pub fn hotkeypub_path(&self) -> PathBuf {
        self.dir
            .join("hotkeys")
            .join(format!("{}pub.txt", self.hotkey))
    }

    /// Whether the wallet has a coldkey (public or full) on disk.
    pub fn exists(&self) -> bool {
        self.coldkeypub_path().is_file() || self.coldkey_path().is_file()
    }

    /// The coldkey's public key, from `coldkeypub.txt` (no password needed).
    pub fn coldkeypub(&self) -> Result<Coldkey, WalletError> {
        let path = self.coldkeypub_path();
        let content = keyfile::read(&path, &mut refuse_password(&path))?;
        Ok(Coldkey(content.public()))
    }

    /// The full coldkey, decrypting it with a password from `password` if it is encrypted.
    pub fn coldkey(&self, password: PasswordSource<'_>) -> Result<Keypair, WalletError> {
        let path = self.coldkey_path();
        match keyfile::read(&path, password)? {
            KeyfileContent::Keypair(kp) => Ok(*kp),
            KeyfileContent::Public(_) => Err(WalletError::Malformed {
                path,
                reason: "it holds only a public key".into(),
            }),
        }
    }

    /// The hotkey's public key, from `<hotkey>pub.txt` or else the hotkey file itself.
    pub fn hotkeypub(&self) -> Result<Hotkey, WalletError> {
        let pub_path = self.hotkeypub_path();
        if pub_path.is_file() {
            let content = keyfile::read(&pub_path, &mut refuse_password(&pub_path))?;
            return Ok(Hotkey(content.public()));
        }
        let path = self.hotkey_path();
        let content = keyfile::read(&path, &mut refuse_password(&path))?;
        Ok(Hotkey(content.public()))
    }

    /// The full hotkey; `password` is asked only if the hotkey file is encrypted.
    pub fn hotkey(&self, password: PasswordSource<'_>) -> Result<Keypair, WalletError> {
        let path = self.hotkey_path();
        match keyfile::read(&path, password)? {
            KeyfileContent::Keypair(kp) => Ok(*kp),
            KeyfileContent::Public(_) => Err(WalletError::Malformed {
                path,
                reason: "it holds only a public key".into(),
            }),
        }
    }

    /// The full hotkey of a plaintext hotkey file (the usual case for a running neuron).
    pub fn hotkey_unlocked(&self) -> Result<Keypair, WalletError> {
        let path = self.hotkey_path();
        self.hotkey(&mut refuse_password(&path))
    }

    /// Writes the coldkey (encrypted when `password` is given) and `coldkeypub.txt`.
    ///
    /// Checks both files first, so a refused overwrite leaves nothing half-written.
    pub fn set_coldkey(
        &self,
        keypair: &Keypair,
        password: Option<&str>,
        overwrite: bool,
    ) -> Result<(), WalletError> {
        let (secret, public) = (self.coldkey_path(), self.coldkeypub_path());
        refuse_existing(&[&secret, &public], overwrite)?;
        write_pair(&secret, &public, keypair, password, overwrite)
    }

    /// Writes the selected hotkey (encrypted when `password` is given) and its `pub.txt`.
    pub fn set_hotkey(
        &self,
        keypair: &Keypair,
        password: Option<&str>,
        overwrite: bool,
    ) -> Result<(), WalletError> {
        let (secret, public) = (self.hotkey_path(), self.hotkeypub_path());
        refuse_existing(&[&secret, &public], overwrite)?;
        write_pair(&secret, &public, keypair, password, overwrite)
    }

    /// The names of the wallet's hotkeys, sorted.
    pub fn hotkey_names(&self) -> Result<Vec<String>, WalletError> {
        let dir = self.dir.join("hotkeys");
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(WalletError::Io { path: dir, source }),
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| !n.ends_with("pub.txt") && !n.ends_with(".tmp") && !n.starts_with('.'))
            .collect();
        names.sort();
        Ok(names)
    }
}

/// The names of the wallets in `wallets_dir`, sorted (folders holding a coldkey).
pub fn list_wallets(wallets_dir: &Path) -> Result<Vec<String>, WalletError> {
    let entries = match fs::read_dir(wallets_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(WalletError::Io {
                path: wallets_dir.to_owned(),
                source,
            });
        }
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| e.path().join("coldkey").is_file() || e.path().join("coldkeypub.txt").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    Ok(names)
}

fn refuse_password(path: &Path) -> impl FnMut() -> Result<Zeroizing<String>, WalletError> + '_ {
    move || {
        Err(WalletError::PasswordRequired {
            path: path.to_owned(),
            reason: "no password was provided".into(),
        })
    }
}

fn refuse_existing(paths: &[&Path], overwrite: bool) -> Result<(), WalletError> {
    if overwrite {
        return Ok(());
    }
    match paths.iter().find(|p| fs::symlink_metadata(p).is_ok()) {
        Some(p) => Err(WalletError::AlreadyExists {
            path: p.to_path_buf(),
        }),
        None => Ok(()),
    }
}

fn write_pair(
    secret: &Path,
    public: &Path,
    keypair: &Keypair,
    password: Option<&str>,
    overwrite: bool,
) -> Result<(), WalletError> {
    let json = keyfile::keypair_json(keypair);
    let data = match password {
        Some(p) => encryption::encrypt(json.as_bytes(), p),
        None => json.as_bytes().to_vec(),
    };
    let data = Zeroizing::new(data);
    // The public file first: if the secret write then fails, nothing secret is half-written
    // and the public half is harmless.
    keyfile::write(
        public,
        keyfile::public_json(&keypair.public()).as_bytes(),
        overwrite,
    )?;
    keyfile::write(secret, &data, overwrite)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_names() {
        let w = Wallet::new(Path::new("/w"), "alice", "miner1").unwrap();
        assert_eq!(w.coldkey_path(), Path::new("/w/alice/coldkey"));
        assert_eq!(w.coldkeypub_path(), Path::new("/w/alice/coldkeypub.txt"));
        assert_eq!(w.hotkey_path(), Path::new("/w/alice/hotkeys/miner1"));
        assert_eq!(
            w.hotkeypub_path(),
            Path::new("/w/alice/hotkeys/miner1pub.txt")
        );
        for bad in ["", ".", "..", "a/b"] {
            assert!(matches!(
                Wallet::new(Path::new("/w"), bad, "h"),
                Err(WalletError::InvalidName { kind: "wallet", .. })
            ));
            assert!(matches!(
                Wallet::new(Path::new("/w"), "w", bad),
                Err(WalletError::InvalidName { kind: "hotkey", .. })
            ));
        }
    }

    #[test]
    fn plaintext_round_trip_and_no_clobbering() {
        let dir = tempfile::tempdir().unwrap();
        let w = Wallet::new(dir.path(), "w", "h").unwrap();
        assert!(!w.exists());
        assert!(matches!(w.coldkeypub(), Err(WalletError::NotFound { .. })));
        let cold = Keypair::from_uri("//Alice").unwrap();
        let hot = Keypair::from_uri("//Alice//hot").unwrap();
        w.set_coldkey(&cold, None, false).unwrap();
        w.set_hotkey(&hot, None, false).unwrap();
        assert!(w.exists());
        assert_eq!(w.coldkeypub().unwrap().0, cold.public());
        assert_eq!(w.hotkeypub().unwrap().0, hot.public());
        assert_eq!(w.hotkey_unlocked().unwrap().public(), hot.public());
        assert_eq!(w.hotkey_names().unwrap(), vec!["h".to_owned()]);
        assert_eq!(list_wallets(dir.path()).unwrap(), vec!["w".to_owned()]);

        let other = Keypair::from_uri("//Bob").unwrap();
        assert!(matches!(
            w.set_coldkey(&other, None, false),
            Err(WalletError::AlreadyExists { .. })
        ));
        assert_eq!(w.coldkeypub().unwrap().0, cold.public());
        w.set_coldkey(&other, None, true).unwrap();
        assert_eq!(w.coldkeypub().unwrap().0, other.public());
    }
}
