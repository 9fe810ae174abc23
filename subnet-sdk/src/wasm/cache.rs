//! The compiled-module cache on disk: keyed by the module's SHA-256 and the engine's
//! compatibility hash, and reading back only entries it wrote itself.
//!
//! An entry is `header ‖ tag ‖ artifact`, where the header holds a magic number, the module
//! hash, the engine compatibility hash and the artifact's length, and the tag is HMAC-SHA256
//! under a secret key kept in the cache directory. Anything that fails the check (a torn write,
//! a flipped bit, a file copied from elsewhere) is deleted and rebuilt, never deserialized.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::WasmError;

const MAGIC: &[u8; 16] = b"subforge-cwasm\x00\x01";
const HEADER: usize = 16 + 32 + 32 + 8;
const TAG: usize = 32;
/// No compiled artifact of an accepted module comes near this.
const ENTRY_MAX_BYTES: u64 = 1 << 30;
const KEY_FILE: &str = "key";

/// What the cache did for one load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheOutcome {
    /// No cache is configured.
    Disabled,
    /// Loaded from the cache.
    Hit,
    /// Compiled and stored.
    Miss,
    /// A corrupt or foreign entry was found, deleted, and replaced by a fresh compile.
    Rebuilt,
}

/// A directory of compiled modules for one engine configuration.
#[derive(Debug)]
pub(crate) struct ModuleCache {
    dir: PathBuf,
    compat: [u8; 32],
    key: [u8; 32],
}

/// What a lookup found.
pub(crate) enum Lookup {
    Hit(wasmtime::Module),
    Miss,
    Corrupt,
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl ModuleCache {
    /// Opens (creating) the cache directory and its key, for an engine with this
    /// compatibility hash.
    pub(crate) fn open(dir: &Path, compat: [u8; 32]) -> Result<Self, WasmError> {
        fs::create_dir_all(dir).map_err(WasmError::io(dir))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                .map_err(WasmError::io(dir))?;
        }
        let key = read_or_create_key(&dir.join(KEY_FILE))?;
        Ok(Self {
            dir: dir.to_owned(),
            compat,
            key,
        })
    }

    /// The file an entry for `module_sha` lives in.
    pub(crate) fn entry_path(&self, module_sha: &[u8; 32]) -> PathBuf {
        self.dir.join(format!(
            "{}-{}.cwasm",
            hex::encode(module_sha),
            hex::encode(&self.compat[..8])
        ))
    }

    fn tag(&self, header: &[u8], artifact: &[u8]) -> [u8; TAG] {
        // HMAC accepts keys of any length; 32 bytes never fails.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(header);
        mac.update(artifact);
        mac.finalize().into_bytes().into()
    }

    fn header(&self, module_sha: &[u8; 32], len: u64) -> [u8; HEADER] {
        let mut h = [0; HEADER];
        h[..16].copy_from_slice(MAGIC);
        h[16..48].copy_from_slice(module_sha);
        h[48..80].copy_from_slice(&self.compat);
        h[80..88].copy_from_slice(&len.to_le_bytes());
        h
    }

    /// Looks up the compiled form of the module with this hash.
    #[allow(unsafe_code)]
    pub(crate) fn get(&self, engine: &wasmtime::Engine, module_sha: &[u8; 32]) -> Lookup {
        let path = self.entry_path(module_sha);
        let bytes = match read_capped(&path, ENTRY_MAX_BYTES) {
            Ok(Some(b)) => b,
            Ok(None) => return Lookup::Miss,
            Err(_) => return self.discard(&path),
        };
        if bytes.len() < HEADER + TAG {
            return self.discard(&path);
        }
        let (header, rest) = bytes.split_at(HEADER);
        let (tag, artifact) = rest.split_at(TAG);
        let expected = self.header(module_sha, artifact.len() as u64);
        if header != expected || tag != self.tag(header, artifact) {
            return self.discard(&path);
        }
        // SAFETY: `Module::deserialize` may only be given bytes that `Module::serialize`
        // produced, since they hold machine code that will run. `artifact` is exactly such a
        // byte string written by `put` below: the file was read once into this buffer (later
        // changes to the file cannot reach it), and its HMAC-SHA256 under this cache's secret
        // key matches over the header (magic, this module's hash, this engine's compatibility
        // hash, the length) and the artifact. The key is random, created with the cache and
        // readable only by its owner (0600 in a 0700 directory), so a truncated, corrupted,
        // copied or hand-made file fails the check above and is deleted instead; forging an
        // entry needs the owner's key, that is, the validator's own account.
        match unsafe { wasmtime::Module::deserialize(engine, artifact) } {
            Ok(m) => Lookup::Hit(m),
            Err(_) => self.discard(&path),
        }
    }

    fn discard(&self, path: &Path) -> Lookup {
        // Best effort: if it cannot be removed, `put` replaces it by rename.
        let _ = fs::remove_file(path);
        Lookup::Corrupt
    }

    /// Stores a compiled module, atomically (a reader sees the old entry or the new one).
    pub(crate) fn put(
        &self,
        module_sha: &[u8; 32],
        module: &wasmtime::Module,
    ) -> Result<(), WasmError> {
        let artifact = module
            .serialize()
            .map_err(|e| WasmError::Engine(format!("cannot serialize a compiled module: {e}")))?;
        let header = self.header(module_sha, artifact.len() as u64);
        let tag = self.tag(&header, &artifact);
        let tmp = self.dir.join(format!(
            ".tmp-{}-{}",
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let write = || -> std::io::Result<()> {
            let mut f = create_private(&tmp)?;
            f.write_all(&header)?;
            f.write_all(&tag)?;
            f.write_all(&artifact)?;
            f.sync_all()?;
            fs::rename(&tmp, self.entry_path(module_sha))
        };
        write().map_err(|e| {
            let _ = fs::remove_file(&tmp);
            WasmError::io(&tmp)(e)
        })
    }
}

fn create_private(path: &Path) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}

/// Reads a whole file of at most `max` bytes; `None` if it does not exist.
fn read_capped(path: &Path, max: u64) -> std::io::Result<Option<Vec<u8>>> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut bytes = Vec::new();
    f.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(std::io::Error::other("cache entry too large"));
    }
    Ok(Some(bytes))
}

fn read_or_create_key(path: &Path) -> Result<[u8; 32], WasmError> {
    if let Some(bytes) = read_capped(path, 32).map_err(WasmError::io(path))? {
        if let Ok(key) = <[u8; 32]>::try_from(bytes.as_slice()) {
            return Ok(key);
        }
        // A damaged key only invalidates the entries made with it.
        fs::remove_file(path).map_err(WasmError::io(path))?;
    }
    let mut key = [0u8; 32];
    getrandom::getrandom(&mut key)
        .map_err(|e| WasmError::Engine(format!("no OS random source for the cache key: {e}")))?;
    match create_private(path) {
        Ok(mut f) => {
            f.write_all(&key).map_err(WasmError::io(path))?;
            f.sync_all().map_err(WasmError::io(path))?;
            Ok(key)
        }
        // Another process made the key first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            match read_capped(path, 32).map_err(WasmError::io(path))? {
                Some(bytes) => <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
                    WasmError::io(path)(std::io::Error::other("cache key is not 32 bytes"))
                }),
                None => Err(WasmError::io(path)(e)),
            }
        }
        Err(e) => Err(WasmError::io(path)(e)),
    }
}
