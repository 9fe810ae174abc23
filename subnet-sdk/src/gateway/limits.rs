//! Operator controls: who may call the gateway ([`ApiKeys`]) and how much each caller may ask
//! of it ([`Limiter`]).
//!
//! Callers present a key as `Authorization: Bearer <key>`. The gateway holds only the SHA-256
//! digest of each key, so neither a memory dump nor a log line can reveal one, and every
//! accepted key is known from then on by its name ([`KeyId`]), which is what limits, metrics
//! and logs use. Each name gets a token bucket (a sustained rate with a burst) and a cap on
//! requests in flight; memory grows with the number of names, never with the traffic.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// The largest keys file read; a keys file holds a few lines, so anything bigger is a mistake.
pub const MAX_KEYS_FILE_BYTES: u64 = 1 << 20;

/// The shortest key accepted: anything shorter is guessable by trying.
pub const MIN_KEY_CHARS: usize = 16;

/// The longest key name: names appear in metrics labels and log lines.
pub const MAX_NAME_CHARS: usize = 64;

/// The name every caller gets when the gateway runs without authentication.
pub const ANONYMOUS: &str = "anonymous";

/// The `Retry-After` hint when a key has too many requests in flight. A slot frees whenever one
/// of the key's requests finishes, which cannot be known in advance; one second is short next to
/// a model's answer and long enough not to invite a busy loop.
pub const CONCURRENCY_RETRY_AFTER: Duration = Duration::from_secs(1);

/// The most keys a [`Limiter`] tracks. A 1 MiB keys file holds at most 61,680 keys, so this is
/// reached only by keys that are gone (a reloaded file); idle ones are dropped first.
const MAX_TRACKED_KEYS: usize = 65_536;

/// A SHA-256 digest of a key: the only form in which a key is kept.
type KeyDigest = [u8; 32];

/// Where a set of keys came from, so an error points at the right place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeysOrigin {
    /// A keys file.
    File(PathBuf),
    /// An environment variable holding comma-separated keys.
    Env(String),
}

impl KeysOrigin {
    /// What a position in this origin is called: a line of a file, an item of a list.
    fn unit(&self) -> &'static str {
        match self {
            Self::File(_) => "line",
            Self::Env(_) => "item",
        }
    }
}

impl fmt::Display for KeysOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "API keys file {}", path.display()),
            Self::Env(var) => write!(f, "environment variable {var}"),
        }
    }
}

/// Why a set of API keys was refused. No variant carries a key, only where it is.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    /// The keys file could not be read.
    #[error("cannot read API keys file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The keys file is larger than [`MAX_KEYS_FILE_BYTES`].
    #[error("API keys file {} is larger than {limit} bytes", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The size limit in bytes.
        limit: u64,
    },
    /// The environment variable is not set.
    #[error("environment variable {var} is not set")]
    EnvUnset {
        /// The variable.
        var: String,
    },
    /// The environment variable's value is not Unicode.
    #[error("environment variable {var} is not valid Unicode")]
    EnvNotUnicode {
        /// The variable.
        var: String,
    },
    /// A line is not UTF-8.
    #[error("{origin}, {} {line}: not valid UTF-8", .origin.unit())]
    NotUtf8 {
        /// Where the keys came from.
        origin: KeysOrigin,
        /// The 1-based line (or list item).
        line: usize,
    },
    /// No key at all: an empty file would lock every caller out without saying why.
    #[error("{origin} holds no API key")]
    Empty {
        /// Where the keys came from.
        origin: KeysOrigin,
    },
    /// A key shorter than [`MIN_KEY_CHARS`].
    #[error("{origin}, {} {line}: the key has {len} characters, at least {min} are required", .origin.unit())]
    KeyTooShort {
        /// Where the keys came from.
        origin: KeysOrigin,
        /// The 1-based line (or list item).
        line: usize,
        /// The key's length in characters.
        len: usize,
        /// The minimum, [`MIN_KEY_CHARS`].
        min: usize,
    },
    /// A key containing whitespace, which no `Authorization` header can carry.
    #[error("{origin}, {} {line}: the key contains whitespace; a line is `key` or `name key`", .origin.unit())]
    KeyWhitespace {
        /// Where the keys came from.
        origin: KeysOrigin,
        /// The 1-based line (or list item).
        line: usize,
    },
    /// A key with a character outside printable ASCII, which no header value can carry.
    #[error("{origin}, {} {line}: the key may only hold printable ASCII characters", .origin.unit())]
    KeyNotPrintable {
        /// Where the keys came from.
        origin: KeysOrigin,
        /// The 1-based line (or list item).
        line: usize,
    },
    /// A name that is empty, too long or holds characters unfit for labels and logs. The name
    /// is not repeated: a line written `key name` by mistake would put the key in the message.
    #[error(
        "{origin}, {} {line}: a key name is 1 to {max} characters of A-Z, a-z, 0-9, `.`, `_` and `-`",
        .origin.unit()
    )]
    InvalidName {
        /// Where the keys came from.
        origin: KeysOrigin,
        /// The 1-based line (or list item).
        line: usize,
        /// The longest name, [`MAX_NAME_CHARS`].
        max: usize,
    },
    /// Two keys with one name: limits and metrics could not tell them apart.
    #[error("{origin}, {} {line}: the name `{name}` is already used on {} {first}", .origin.unit(), .origin.unit())]
    DuplicateName {
        /// Where the keys came from.
        origin: KeysOrigin,
        /// The 1-based line (or list item) of the second use.
        line: usize,
        /// The name.
        name: String,
        /// The line (or list item) of the first use.
        first: usize,
    },
    /// One key listed twice: which name it stands for would be ambiguous.
    #[error("{origin}, {} {line}: the same key as on {} {first}", .origin.unit(), .origin.unit())]
    DuplicateKey {
        /// Where the keys came from.
        origin: KeysOrigin,
        /// The 1-based line (or list item) of the second copy.
        line: usize,
        /// The line (or list item) of the first copy.
        first: usize,
    },
}

/// Why a request's credentials were refused (a 401). None carries the presented token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header.
    #[error("missing Authorization header; send `Authorization: Bearer <key>`")]
    Missing,
    /// An `Authorization` header that is not `Bearer <token>`.
    #[error("malformed Authorization header; expected `Bearer <key>`")]
    Malformed,
    /// A well-formed token that is not one of the gateway's keys.
    #[error("unknown API key")]
    Unknown,
}

/// The caller behind an accepted key, by the key's name: what limits, metrics and logs use,
/// since the key itself must never appear in them. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(Arc<str>);

impl KeyId {
    /// The key's name (`anonymous` without authentication).
    pub fn name(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The keys the gateway accepts, held as SHA-256 digests only.
///
/// Lookups compare digests: how long a lookup takes can tell an attacker at most something
/// about the digest of what they sent, which does not help them find a key. Cloning shares the
/// table.
#[derive(Clone)]
pub struct ApiKeys {
    /// `None` runs without authentication.
    keys: Option<Arc<HashMap<KeyDigest, KeyId>>>,
    anonymous: KeyId,
}

impl fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.keys {
            None => f.write_str("ApiKeys(open)"),
            Some(keys) => {
                let mut names: Vec<&str> = keys.values().map(KeyId::name).collect();
                names.sort_unstable();
                f.debug_tuple("ApiKeys").field(&names).finish()
            }
        }
    }
}

impl ApiKeys {
    /// No authentication: every request, with or without a header, is the caller `anonymous`.
    pub fn open() -> Self {
        Self {
            keys: None,
            anonymous: KeyId(Arc::from(ANONYMOUS)),
        }
    }

    /// Reads keys from a file: one per line, as `key` or `name key`; blank lines and lines
    /// starting with `#` are skipped. An unnamed key is called `line-N` after its line.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, KeysError> {
        let path = path.as_ref();
        let read = |source| KeysError::Read {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(read)?;
        // Read one byte past the limit rather than trust the size on disk: the file may be a
        // pipe or still growing.
        let mut text = Zeroizing::new(Vec::new());
        file.take(MAX_KEYS_FILE_BYTES + 1)
            .read_to_end(&mut text)
            .map_err(read)?;
        if text.len() as u64 > MAX_KEYS_FILE_BYTES {
            return Err(KeysError::TooLarge {
                path: path.to_path_buf(),
                limit: MAX_KEYS_FILE_BYTES,
            });
        }
        Self::parse_file(&text, KeysOrigin::File(path.to_path_buf()))
    }

    /// Reads comma-separated keys from the environment variable `var`, named `env-1`, `env-2`,
    /// ... by their position in the list; empty items (a trailing comma) are skipped.
    pub fn from_env(var: &str) -> Result<Self, KeysError> {
        let value = Zeroizing::new(std::env::var(var).map_err(|e| match e {
            std::env::VarError::NotPresent => KeysError::EnvUnset {
                var: var.to_owned(),
            },
            std::env::VarError::NotUnicode(_) => KeysError::EnvNotUnicode {
                var: var.to_owned(),
            },
        })?);
        Self::parse_list(&value, KeysOrigin::Env(var.to_owned()))
    }

    /// Whether the gateway runs without authentication.
    pub fn is_open(&self) -> bool {
        self.keys.is_none()
    }

    /// How many keys are accepted (0 when open).
    pub fn len(&self) -> usize {
        self.keys.as_ref().map_or(0, |keys| keys.len())
    }

    /// Whether no key is held, which is only the case when open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks an `Authorization` header value and names the caller.
    pub fn check(&self, authorization: Option<&str>) -> Result<KeyId, AuthError> {
        let Some(keys) = &self.keys else {
            return Ok(self.anonymous.clone());
        };
        let header = authorization.ok_or(AuthError::Missing)?;
        let token = bearer_token(header).ok_or(AuthError::Malformed)?;
        keys.get(&digest(token)).cloned().ok_or(AuthError::Unknown)
    }

    fn parse_file(bytes: &[u8], origin: KeysOrigin) -> Result<Self, KeysError> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let mut set = KeySet::new(origin);
        for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
            let line = index + 1;
            let text = std::str::from_utf8(raw).map_err(|_| KeysError::NotUtf8 {
                origin: set.origin.clone(),
                line,
            })?;
            let text = text.trim();
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            let mut fields = text.split_whitespace();
            match (fields.next(), fields.next(), fields.next()) {
                (Some(key), None, _) => set.add(line, None, key)?,
                (Some(name), Some(key), None) => set.add(line, Some(name), key)?,
                _ => {
                    return Err(KeysError::KeyWhitespace {
                        origin: set.origin,
                        line,
                    });
                }
            }
        }
        set.finish()
    }

    fn parse_list(value: &str, origin: KeysOrigin) -> Result<Self, KeysError> {
        let mut set = KeySet::new(origin);
        for (index, item) in value.split(',').enumerate() {
            let line = index + 1;
            let key = item.trim();
            if key.is_empty() {
                continue;
            }
            set.add_named(line, format!("env-{line}"), key)?;
        }
        set.finish()
    }
}

/// The keys read so far from one origin, with the line each name and key first appeared on.
struct KeySet {
    origin: KeysOrigin,
    keys: HashMap<KeyDigest, (KeyId, usize)>,
    names: HashMap<Arc<str>, usize>,
}

impl KeySet {
    fn new(origin: KeysOrigin) -> Self {
        Self {
            origin,
            keys: HashMap::new(),
            names: HashMap::new(),
        }
    }

    fn add(&mut self, line: usize, name: Option<&str>, key: &str) -> Result<(), KeysError> {
        let name = match name {
            Some(name) => {
                if !valid_name(name) {
                    return Err(KeysError::InvalidName {
                        origin: self.origin.clone(),
                        line,
                        max: MAX_NAME_CHARS,
                    });
                }
                name.to_owned()
            }
            None => format!("line-{line}"),
        };
        self.add_named(line, name, key)
    }

    fn add_named(&mut self, line: usize, name: String, key: &str) -> Result<(), KeysError> {
        let origin = || self.origin.clone();
        if key.contains(char::is_whitespace) {
            return Err(KeysError::KeyWhitespace {
                origin: origin(),
                line,
            });
        }
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(KeysError::KeyNotPrintable {
                origin: origin(),
                line,
            });
        }
        if key.len() < MIN_KEY_CHARS {
            return Err(KeysError::KeyTooShort {
                origin: origin(),
                line,
                len: key.len(),
                min: MIN_KEY_CHARS,
            });
        }
        let name: Arc<str> = Arc::from(name);
        if let Some(&first) = self.names.get(&name) {
            return Err(KeysError::DuplicateName {
                origin: origin(),
                line,
                name: name.to_string(),
                first,
            });
        }
        match self.keys.entry(digest(key)) {
            Entry::Occupied(seen) => Err(KeysError::DuplicateKey {
                origin: self.origin.clone(),
                line,
                first: seen.get().1,
            }),
            Entry::Vacant(slot) => {
                slot.insert((KeyId(name.clone()), line));
                self.names.insert(name, line);
                Ok(())
            }
        }
    }

    fn finish(self) -> Result<ApiKeys, KeysError> {
        if self.keys.is_empty() {
            return Err(KeysError::Empty {
                origin: self.origin,
            });
        }
        Ok(ApiKeys {
            keys: Some(Arc::new(
                self.keys.into_iter().map(|(d, (id, _))| (d, id)).collect(),
            )),
            anonymous: KeyId(Arc::from(ANONYMOUS)),
        })
    }
}

fn digest(key: &str) -> KeyDigest {
    Sha256::digest(key.as_bytes()).into()
}

fn valid_name(name: &str) -> bool {
    (1..=MAX_NAME_CHARS).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The token of `Bearer <token>`; the scheme is case-insensitive (RFC 9110, section 11.1).
fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = rest.trim_start_matches(' ');
    (!token.is_empty() && !token.contains(char::is_whitespace)).then_some(token)
}

/// What each key may ask of the gateway.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeyLimits {
    /// Sustained requests per second; 0, NaN or infinity means no rate limit.
    pub requests_per_second: f64,
    /// Requests a key may make at once after being idle (the bucket's capacity).
    pub burst: u32,
    /// Requests of one key in flight at once; `u32::MAX` for no cap.
    pub max_concurrent: u32,
}

impl Default for KeyLimits {
    /// 10 requests per second with bursts of 20, and 16 in flight: ample for an application
    /// serving people, small enough that one runaway client cannot take every miner.
    fn default() -> Self {
        Self {
            requests_per_second: 10.0,
            burst: 20,
            max_concurrent: 16,
        }
    }
}

/// Why a set of [`KeyLimits`] was refused.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum LimitsError {
    /// A negative rate.
    #[error("requests_per_second is {value}; it must be at least 0 (0 means no limit)")]
    NegativeRate {
        /// The rate given.
        value: f64,
    },
    /// A rate limit with a bucket of size 0 would refuse every request.
    #[error("burst is 0 with a rate limit of {rate} per second; every request would be refused")]
    ZeroBurst {
        /// The rate given.
        rate: f64,
    },
    /// A concurrency cap of 0 would refuse every request.
    #[error(
        "max_concurrent is 0; every request would be refused (use {} for no cap)",
        u32::MAX
    )]
    ZeroConcurrency,
}

impl KeyLimits {
    /// Checks that these limits let at least some requests through.
    pub fn validate(&self) -> Result<(), LimitsError> {
        // Also catches negative infinity; NaN compares false and means no limit.
        if self.requests_per_second < 0.0 {
            return Err(LimitsError::NegativeRate {
                value: self.requests_per_second,
            });
        }
        if let Some(rate) = self.rate()
            && self.burst == 0
        {
            return Err(LimitsError::ZeroBurst { rate });
        }
        if self.max_concurrent == 0 {
            return Err(LimitsError::ZeroConcurrency);
        }
        Ok(())
    }

    /// The refill rate, or `None` without a rate limit.
    fn rate(&self) -> Option<f64> {
        let rate = self.requests_per_second;
        (rate.is_finite() && rate > 0.0).then_some(rate)
    }
}

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalReason {
    /// The key's token bucket is empty.
    RateLimited,
    /// The key has `max_concurrent` requests in flight.
    TooManyConcurrent,
}

/// A request refused by a limit (a 429), with when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// Which limit refused it.
    pub reason: RefusalReason,
    /// When a token will be available, or [`CONCURRENCY_RETRY_AFTER`] for concurrency.
    pub retry_after: Duration,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.reason {
            RefusalReason::RateLimited => "rate limit exceeded",
            RefusalReason::TooManyConcurrent => "too many concurrent requests",
        };
        write!(f, "{what}: retry after {} s", self.retry_after_secs())
    }
}

impl std::error::Error for Refusal {}

impl Refusal {
    /// `retry_after` in whole seconds, rounded up and at least 1, for a `Retry-After` header.
    pub fn retry_after_secs(&self) -> u64 {
        let secs = self.retry_after.as_secs();
        let rounded = if self.retry_after.subsec_nanos() > 0 {
            secs.saturating_add(1)
        } else {
            secs
        };
        rounded.max(1)
    }
}

/// One key's bucket and requests in flight.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    /// When `tokens` was last brought up to date; never moves backwards.
    last: Instant,
    in_flight: u32,
}

impl Bucket {
    fn refill(&mut self, limits: &KeyLimits, now: Instant) {
        if let Some(rate) = limits.rate() {
            let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
            self.tokens = (self.tokens + elapsed * rate).min(f64::from(limits.burst));
        }
        self.last = self.last.max(now);
    }

    /// Whether forgetting this bucket changes nothing: a fresh one would be the same.
    fn is_idle(&mut self, limits: &KeyLimits, now: Instant) -> bool {
        self.refill(limits, now);
        self.in_flight == 0 && (limits.rate().is_none() || self.tokens >= f64::from(limits.burst))
    }
}

#[derive(Debug)]
struct Shared {
    limits: KeyLimits,
    capacity: usize,
    buckets: Mutex<HashMap<KeyId, Bucket>>,
}

impl Shared {
    fn buckets(&self) -> MutexGuard<'_, HashMap<KeyId, Bucket>> {
        self.buckets.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Per-key rate and concurrency limits. Cloning shares the same buckets.
#[derive(Debug, Clone)]
pub struct Limiter {
    shared: Arc<Shared>,
}

impl Limiter {
    /// A limiter applying `limits` to every key, each with its own bucket.
    pub fn new(limits: KeyLimits) -> Result<Self, LimitsError> {
        Self::with_capacity(limits, MAX_TRACKED_KEYS)
    }

    fn with_capacity(limits: KeyLimits, capacity: usize) -> Result<Self, LimitsError> {
        limits.validate()?;
        Ok(Self {
            shared: Arc::new(Shared {
                limits,
                capacity,
                buckets: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The limits applied.
    pub fn limits(&self) -> KeyLimits {
        self.shared.limits
    }

    /// Admits one request of `key` at `now`, or says which limit refused it and when to retry.
    /// A refused request uses up nothing. Hold the [`Permit`] until the response is complete.
    ///
    /// Should the table of keys ever fill with keys that are all busy, a new key is refused as
    /// [`RefusalReason::TooManyConcurrent`].
    pub fn admit(&self, key: &KeyId, now: Instant) -> Result<Permit, Refusal> {
        let limits = &self.shared.limits;
        let busy = Refusal {
            reason: RefusalReason::TooManyConcurrent,
            retry_after: CONCURRENCY_RETRY_AFTER,
        };
        let mut buckets = self.shared.buckets();
        if buckets.len() >= self.shared.capacity && !buckets.contains_key(key) {
            buckets.retain(|_, bucket| !bucket.is_idle(limits, now));
            if buckets.len() >= self.shared.capacity {
                return Err(busy);
            }
        }
        let bucket = buckets.entry(key.clone()).or_insert_with(|| Bucket {
            tokens: f64::from(limits.burst),
            last: now,
            in_flight: 0,
        });
        bucket.refill(limits, now);
        if let Some(rate) = limits.rate()
            && bucket.tokens < 1.0
        {
            let wait = (1.0 - bucket.tokens) / rate;
            return Err(Refusal {
                reason: RefusalReason::RateLimited,
                retry_after: Duration::try_from_secs_f64(wait).unwrap_or(Duration::MAX),
            });
        }
        if bucket.in_flight >= limits.max_concurrent {
            return Err(busy);
        }
        if limits.rate().is_some() {
            bucket.tokens -= 1.0;
        }
        bucket.in_flight += 1;
        Ok(Permit {
            shared: self.shared.clone(),
            key: key.clone(),
        })
    }
}

/// One admitted request; dropping it frees the key's concurrency slot.
#[derive(Debug)]
pub struct Permit {
    shared: Arc<Shared>,
    key: KeyId,
}

impl Permit {
    /// The key the request was admitted for.
    pub fn key(&self) -> &KeyId {
        &self.key
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(bucket) = self.shared.buckets().get_mut(&self.key) {
            bucket.in_flight = bucket.in_flight.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    const ALICE: &str = "sk-alice-0123456789abcdef";
    const BOB: &str = "sk-bob-0123456789abcdef";

    fn keys_file(text: &[u8]) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(text).unwrap();
        file
    }

    fn load(text: &str) -> Result<ApiKeys, KeysError> {
        ApiKeys::parse_file(text.as_bytes(), KeysOrigin::File("keys".into()))
    }

    fn bearer(key: &str) -> String {
        format!("Bearer {key}")
    }

    #[test]
    fn a_keys_file_names_its_keys() {
        let file = keys_file(
            format!("\u{feff}# callers\r\n\nalice {ALICE}\r\n   \n  {BOB}  \n# the end\n")
                .as_bytes(),
        );
        let keys = ApiKeys::from_file(file.path()).unwrap();
        assert!(!keys.is_open());
        assert_eq!(keys.len(), 2);
        assert_eq!(keys.check(Some(&bearer(ALICE))).unwrap().name(), "alice");
        let shared = keys.clone();
        assert_eq!(shared.check(Some(&bearer(BOB))).unwrap().name(), "line-5");
        assert_eq!(keys.check(Some(&bearer(BOB))).unwrap().name(), "line-5");
        assert_eq!(
            keys.check(Some(&bearer(ALICE))).unwrap().to_string(),
            "alice"
        );
        // Only digests are kept, and nothing shows the keys.
        let held = keys.keys.as_ref().unwrap();
        assert!(held.contains_key(&<[u8; 32]>::from(Sha256::digest(ALICE))));
        let shown = format!("{keys:?}");
        assert_eq!(shown, r#"ApiKeys(["alice", "line-5"])"#);
    }

    #[test]
    fn check_tells_missing_malformed_and_unknown_apart() {
        let keys = load(&format!("alice {ALICE}\n")).unwrap();
        assert_eq!(keys.check(None), Err(AuthError::Missing));
        for header in [
            "",
            "Bearer",
            "Bearer ",
            "Basic YWxpY2U6c2VjcmV0",
            ALICE,
            "Bearer a b",
            "Bearer\tx",
        ] {
            assert_eq!(
                keys.check(Some(header)),
                Err(AuthError::Malformed),
                "{header:?}"
            );
        }
        assert_eq!(
            keys.check(Some("Bearer sk-not-a-key-0000000000")),
            Err(AuthError::Unknown)
        );
        // A key that differs in one character is unknown.
        let near = format!("{}X", &ALICE[..ALICE.len() - 1]);
        assert_eq!(keys.check(Some(&bearer(&near))), Err(AuthError::Unknown));
        for header in [
            format!("Bearer {ALICE}"),
            format!("bearer {ALICE}"),
            format!("BEARER   {ALICE}  "),
        ] {
            assert_eq!(keys.check(Some(&header)).unwrap().name(), "alice");
        }
    }

    #[test]
    fn open_accepts_everyone_as_anonymous() {
        let keys = ApiKeys::open();
        assert!(keys.is_open());
        assert!(keys.is_empty());
        for header in [None, Some(""), Some("Basic x"), Some("Bearer whatever")] {
            assert_eq!(keys.check(header).unwrap().name(), ANONYMOUS);
        }
        assert_eq!(format!("{keys:?}"), "ApiKeys(open)");
    }

    #[test]
    fn bad_files_are_refused_naming_the_line() {
        let at = |e: KeysError| match e {
            KeysError::KeyTooShort { line, len, min, .. } => format!("short {line} {len} {min}"),
            KeysError::KeyWhitespace { line, .. } => format!("whitespace {line}"),
            KeysError::KeyNotPrintable { line, .. } => format!("printable {line}"),
            KeysError::InvalidName { line, .. } => format!("name {line}"),
            KeysError::DuplicateName {
                line, name, first, ..
            } => format!("dup-name {line} {name} {first}"),
            KeysError::DuplicateKey { line, first, .. } => format!("dup-key {line} {first}"),
            KeysError::NotUtf8 { line, .. } => format!("utf8 {line}"),
            KeysError::Empty { .. } => "empty".into(),
            other => format!("{other}"),
        };
        let cases = [
            (String::new(), "empty"),
            ("# nothing\n\n   \n".to_owned(), "empty"),
            (format!("# a\nalice {ALICE}\nbob short\n"), "short 3 5 16"),
            (format!("\n\nbob {BOB} extra\n"), "whitespace 3"),
            (
                "bob sk-bob-0123456\u{e9}789abcdef\n".to_owned(),
                "printable 1",
            ),
            (
                "bob sk-bob-0123456\x07789abcdef\n".to_owned(),
                "printable 1",
            ),
            (format!("b\u{f8}b {BOB}\n"), "name 1"),
            (format!("{} {BOB}\n", "n".repeat(65)), "name 1"),
            (format!("a:b {BOB}\n"), "name 1"),
            (
                format!("alice {ALICE}\n#\nalice {BOB}\n"),
                "dup-name 3 alice 1",
            ),
            // An explicit name that an unnamed key on line 2 also gets.
            (format!("line-2 {ALICE}\n{BOB}\n"), "dup-name 2 line-2 1"),
            (format!("alice {ALICE}\nbob {ALICE}\n"), "dup-key 2 1"),
        ];
        for (text, want) in cases {
            assert_eq!(at(load(&text).unwrap_err()), want, "{text:?}");
        }
        let err = ApiKeys::parse_file(b"# ok\n\xff\xfe\n", KeysOrigin::File("k".into()));
        assert_eq!(at(err.unwrap_err()), "utf8 2");
    }

    #[test]
    fn errors_point_at_the_place_and_never_show_the_key() {
        let err = load(&format!("alice {ALICE}\nbob {ALICE}\n")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "API keys file keys, line 2: the same key as on line 1"
        );
        // A line written `key name` by mistake: the key is in the name position.
        let err = load(&format!("{ALICE}! alice-is-the-name\n")).unwrap_err();
        assert!(!err.to_string().contains(ALICE), "{err}");
        assert!(!format!("{err:?}").contains(ALICE), "{err:?}");
        let err = ApiKeys::parse_list(
            "sk-long-enough-key-1234,tooshort",
            KeysOrigin::Env("K".into()),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable K, item 2: the key has 8 characters, at least 16 are required"
        );
    }

    #[test]
    fn oversized_and_missing_files_are_refused() {
        let big = vec![b'#'; usize::try_from(MAX_KEYS_FILE_BYTES).unwrap() + 1];
        let file = keys_file(&big);
        assert!(matches!(
            ApiKeys::from_file(file.path()),
            Err(KeysError::TooLarge { limit, .. }) if limit == MAX_KEYS_FILE_BYTES
        ));
        // Exactly at the limit is read (and, being all comment, empty).
        let file = keys_file(&big[1..]);
        assert!(matches!(
            ApiKeys::from_file(file.path()),
            Err(KeysError::Empty { .. })
        ));
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("absent");
        assert!(matches!(
            ApiKeys::from_file(&missing),
            Err(KeysError::Read { path, .. }) if path == missing
        ));
    }

    #[test]
    fn an_env_list_names_keys_by_position() {
        let origin = || KeysOrigin::Env("GATEWAY_KEYS".into());
        let keys = ApiKeys::parse_list(&format!(" {ALICE} ,{BOB},"), origin()).unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys.check(Some(&bearer(ALICE))).unwrap().name(), "env-1");
        assert_eq!(keys.check(Some(&bearer(BOB))).unwrap().name(), "env-2");
        assert!(matches!(
            ApiKeys::parse_list(" , ,", origin()),
            Err(KeysError::Empty { .. })
        ));
        assert!(matches!(
            ApiKeys::parse_list(&format!("{ALICE},{ALICE}"), origin()),
            Err(KeysError::DuplicateKey {
                line: 2,
                first: 1,
                ..
            })
        ));
        assert!(matches!(
            ApiKeys::parse_list("sk-has a-space-0123456789", origin()),
            Err(KeysError::KeyWhitespace { line: 1, .. })
        ));
        assert!(matches!(
            ApiKeys::from_env("SUBFORGE_GATEWAY_TEST_KEYS_NEVER_SET_7F3A"),
            Err(KeysError::EnvUnset { var }) if var == "SUBFORGE_GATEWAY_TEST_KEYS_NEVER_SET_7F3A"
        ));
    }

    fn key(name: &str) -> KeyId {
        KeyId(Arc::from(name))
    }

    fn limiter(requests_per_second: f64, burst: u32, max_concurrent: u32) -> Limiter {
        Limiter::new(KeyLimits {
            requests_per_second,
            burst,
            max_concurrent,
        })
        .unwrap()
    }

    #[test]
    fn the_bucket_allows_a_burst_then_the_rate() {
        let limiter = limiter(2.0, 3, u32::MAX);
        let alice = key("alice");
        let t0 = Instant::now();
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(limiter.admit(&alice, t0).unwrap());
        }
        let refused = limiter.admit(&alice, t0).unwrap_err();
        assert_eq!(
            refused,
            Refusal {
                reason: RefusalReason::RateLimited,
                retry_after: Duration::from_millis(500),
            }
        );
        assert_eq!(refused.retry_after_secs(), 1);
        assert_eq!(refused.to_string(), "rate limit exceeded: retry after 1 s");
        // A quarter second later half a token has come back: the wait is the other half.
        let t1 = t0 + Duration::from_millis(250);
        assert_eq!(
            limiter.admit(&alice, t1).unwrap_err().retry_after,
            Duration::from_millis(250)
        );
        held.push(
            limiter
                .admit(&alice, t0 + Duration::from_millis(500))
                .unwrap(),
        );
        assert!(
            limiter
                .admit(&alice, t0 + Duration::from_millis(500))
                .is_err()
        );
        // Another key has its own bucket.
        held.push(limiter.admit(&key("bob"), t0).unwrap());
        // A long pause refills to the burst, no further.
        let later = t0 + Duration::from_secs(3600);
        for _ in 0..3 {
            held.push(limiter.admit(&alice, later).unwrap());
        }
        assert!(limiter.admit(&alice, later).is_err());
    }

    #[test]
    fn the_concurrency_cap_frees_a_slot_when_a_permit_drops() {
        let limiter = limiter(0.0, 0, 2);
        let alice = key("alice");
        let now = Instant::now();
        let first = limiter.admit(&alice, now).unwrap();
        let second = limiter.admit(&alice, now).unwrap();
        assert_eq!(second.key(), &alice);
        let refused = limiter.admit(&alice, now).unwrap_err();
        assert_eq!(
            refused,
            Refusal {
                reason: RefusalReason::TooManyConcurrent,
                retry_after: CONCURRENCY_RETRY_AFTER,
            }
        );
        assert_eq!(refused.retry_after_secs(), 1);
        let _bob = limiter.admit(&key("bob"), now).unwrap();
        drop(first);
        let _third = limiter.admit(&alice, now).unwrap();
        assert!(limiter.admit(&alice, now).is_err());
    }

    #[test]
    fn a_refused_request_uses_up_nothing() {
        let limiter = limiter(1.0, 2, 1);
        let alice = key("alice");
        let t0 = Instant::now();
        let permit = limiter.admit(&alice, t0).unwrap();
        // Refused for concurrency: the second token stays in the bucket.
        for _ in 0..5 {
            assert_eq!(
                limiter.admit(&alice, t0).unwrap_err().reason,
                RefusalReason::TooManyConcurrent
            );
        }
        drop(permit);
        let permit = limiter.admit(&alice, t0).unwrap();
        drop(permit);
        // Refused for rate: no concurrency slot is taken, so the next token is admitted.
        assert_eq!(
            limiter.admit(&alice, t0).unwrap_err().reason,
            RefusalReason::RateLimited
        );
        let _permit = limiter.admit(&alice, t0 + Duration::from_secs(1)).unwrap();
    }

    #[test]
    fn zero_and_non_finite_rates_do_not_limit() {
        for rate in [0.0, f64::NAN, f64::INFINITY] {
            let limiter = limiter(rate, 0, u32::MAX);
            let now = Instant::now();
            let permits: Vec<_> = (0..1000)
                .map(|_| limiter.admit(&key("a"), now).unwrap())
                .collect();
            assert_eq!(permits.len(), 1000, "{rate}");
        }
    }

    #[test]
    fn limits_are_validated() {
        assert_eq!(KeyLimits::default().validate(), Ok(()));
        assert_eq!(
            KeyLimits::default(),
            KeyLimits {
                requests_per_second: 10.0,
                burst: 20,
                max_concurrent: 16
            }
        );
        let with = |requests_per_second, burst, max_concurrent| KeyLimits {
            requests_per_second,
            burst,
            max_concurrent,
        };
        assert_eq!(
            with(-1.0, 1, 1).validate(),
            Err(LimitsError::NegativeRate { value: -1.0 })
        );
        assert_eq!(
            with(f64::NEG_INFINITY, 1, 1).validate(),
            Err(LimitsError::NegativeRate {
                value: f64::NEG_INFINITY
            })
        );
        assert_eq!(
            with(5.0, 0, 1).validate(),
            Err(LimitsError::ZeroBurst { rate: 5.0 })
        );
        assert_eq!(with(0.0, 0, 1).validate(), Ok(()));
        assert_eq!(with(f64::NAN, 0, 1).validate(), Ok(()));
        assert_eq!(
            with(1.0, 1, 0).validate(),
            Err(LimitsError::ZeroConcurrency)
        );
        assert_eq!(
            Limiter::new(with(1.0, 1, 0)).unwrap_err(),
            LimitsError::ZeroConcurrency
        );
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let secs = |retry_after| {
            Refusal {
                reason: RefusalReason::RateLimited,
                retry_after,
            }
            .retry_after_secs()
        };
        assert_eq!(secs(Duration::ZERO), 1);
        assert_eq!(secs(Duration::from_nanos(1)), 1);
        assert_eq!(secs(Duration::from_secs(2)), 2);
        assert_eq!(secs(Duration::from_millis(2001)), 3);
        assert_eq!(secs(Duration::MAX), u64::MAX);
    }

    #[test]
    fn a_tiny_rate_waits_without_overflowing() {
        let limiter = limiter(1e-300, 1, u32::MAX);
        let now = Instant::now();
        let _permit = limiter.admit(&key("a"), now).unwrap();
        let refused = limiter.admit(&key("a"), now).unwrap_err();
        assert_eq!(refused.retry_after, Duration::MAX);
        assert_eq!(refused.retry_after_secs(), u64::MAX);
    }

    #[test]
    fn time_going_backwards_adds_no_tokens() {
        let limiter = limiter(1.0, 1, u32::MAX);
        let alice = key("alice");
        let t0 = Instant::now() + Duration::from_secs(10);
        let _first = limiter.admit(&alice, t0).unwrap();
        let earlier = t0 - Duration::from_secs(5);
        assert_eq!(
            limiter.admit(&alice, earlier).unwrap_err().retry_after,
            Duration::from_secs(1)
        );
        // The bucket's clock did not move back: one second after t0 refills one token.
        let _second = limiter.admit(&alice, t0 + Duration::from_secs(1)).unwrap();
    }

    #[test]
    fn the_key_table_stays_bounded() {
        let limiter = Limiter::with_capacity(KeyLimits::default(), 4).unwrap();
        let t0 = Instant::now();
        // Four busy keys fill the table; a fifth is refused rather than tracked.
        let busy: Vec<_> = (0..4)
            .map(|i| limiter.admit(&key(&format!("busy-{i}")), t0).unwrap())
            .collect();
        assert_eq!(
            limiter.admit(&key("new"), t0).unwrap_err().reason,
            RefusalReason::TooManyConcurrent
        );
        // Once idle (requests done, buckets full again) they make room.
        drop(busy);
        for i in 0..100u64 {
            let at = t0 + Duration::from_secs(1 + i);
            drop(limiter.admit(&key(&format!("k-{i}")), at).unwrap());
            assert!(limiter.shared.buckets().len() <= 4);
        }
        // `k-99` spent a token this very instant, so it is not idle and a newcomer leaves it.
        let at = t0 + Duration::from_secs(100);
        drop(limiter.admit(&key("fresh"), at).unwrap());
        let buckets = limiter.shared.buckets();
        assert!(buckets.contains_key(&key("k-99")));
        assert!(buckets.contains_key(&key("fresh")));
        assert!(!buckets.contains_key(&key("k-0")));
    }

    #[test]
    fn concurrent_admits_share_one_bucket_exactly() {
        let limiter = limiter(1.0, 50, u32::MAX);
        let alice = key("alice");
        let now = Instant::now();
        let admitted: usize = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        (0..100)
                            .filter_map(|_| limiter.admit(&alice, now).ok())
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap().len()).sum()
        });
        assert_eq!(admitted, 50);
        assert_eq!(limiter.shared.buckets()[&alice].in_flight, 0);
    }
}
