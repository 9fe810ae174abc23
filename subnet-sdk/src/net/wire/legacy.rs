//! The Synapse protocol of the Python SDK v8 to v10 (`spec/wire.md` section 1).
//!
//! The dendrite signs `"{nonce}.{dendrite_hotkey}.{axon_hotkey}.{uuid}.{computed_body_hash}"`
//! and sends it with the `bt_header_*` headers; the body is the synapse as JSON, the task's
//! fields at the top level beside the synapse's own (`name`, `timeout`, `axon`, `dendrite`,
//! ...). The body is bound to the signature only through `computed_body_hash`, the SHA3 hash
//! over the task's [`Task::HASH_FIELDS`] rendered with Python's `str()`.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value};
use subforge_core::{Hotkey, Signature, Task};

use super::{
    AuthError, Verified, Wire, header, parse_hotkey, parse_signature, parse_u64, required,
};
use crate::net::nonce::Window;
use crate::net::pyrepr::{PyValue, body_hash, float_repr};
use crate::net::signer::HotkeySigner;

/// `name`: the synapse class name.
pub const NAME: &str = "name";
/// `timeout`: the caller's deadline in seconds, as a Python float.
pub const TIMEOUT: &str = "timeout";
/// Target axon IP.
pub const AXON_IP: &str = "bt_header_axon_ip";
/// Target axon port.
pub const AXON_PORT: &str = "bt_header_axon_port";
/// Target axon hotkey.
pub const AXON_HOTKEY: &str = "bt_header_axon_hotkey";
/// The dendrite's external IP.
pub const DENDRITE_IP: &str = "bt_header_dendrite_ip";
/// The dendrite's SDK version (`major·10⁶ + minor·10³ + patch`); unsigned, so ignored.
pub const DENDRITE_VERSION: &str = "bt_header_dendrite_version";
/// Nanosecond timestamp nonce.
pub const NONCE: &str = "bt_header_dendrite_nonce";
/// The dendrite's per-instance UUID.
pub const UUID: &str = "bt_header_dendrite_uuid";
/// The signer's hotkey.
pub const HOTKEY: &str = "bt_header_dendrite_hotkey";
/// `0x` + 128 hex digits.
pub const SIGNATURE: &str = "bt_header_dendrite_signature";
/// The body hash (64 hex digits).
pub const BODY_HASH: &str = "computed_body_hash";
/// Prefix of the per-required-field headers the Python axon needs to build its header synapse.
pub const INPUT_OBJ_PREFIX: &str = "bt_header_input_obj_";

/// The Python SDK's `ALLOWED_DELTA`: the window reaches this far back, plus the timeout.
pub const ALLOWED_DELTA: Duration = Duration::from_secs(4);
/// The version our dendrite announces: the Synapse protocol as frozen in SDK 10.5.0, so
/// Python axons apply their time window to our nonces.
pub const PROTOCOL_VERSION: u64 = 10_005_000;
/// The synapse's own top-level body fields, which are not task fields.
pub const SYNAPSE_FIELDS: [&str; 7] = [
    "name",
    "timeout",
    "total_size",
    "header_size",
    "dendrite",
    "axon",
    "computed_body_hash",
];

/// The message the dendrite signs.
pub fn signing_message(
    nonce: u64,
    dendrite: &Hotkey,
    axon: &Hotkey,
    uuid: &str,
    body_hash: &str,
) -> String {
    format!(
        "{nonce}.{}.{}.{uuid}.{body_hash}",
        super::ss58(dendrite),
        super::ss58(axon)
    )
}

/// Parses a timeout header (seconds as a float); must be positive and finite.
pub fn parse_timeout(value: &str) -> Result<Duration, AuthError> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|t| t.is_finite() && *t > 0.0)
        .and_then(|t| Duration::try_from_secs_f64(t).ok())
        .ok_or_else(|| AuthError::Invalid {
            header: TIMEOUT,
            reason: format!(
                "`{}` is not a positive number of seconds",
                super::abbreviate(value)
            ),
        })
}

/// Checks the signed headers of a Synapse request addressed to `axon` (the body hash is
/// checked against the body later, see [`check_body_hash`]). Time-window and replay checks
/// are the caller's; the returned window is the Python SDK's `4 s + timeout` back and
/// `4 s` ahead, with the timeout capped at `max_timeout`.
pub fn verify(
    headers: &HeaderMap,
    axon: &Hotkey,
    max_timeout: Duration,
) -> Result<Verified, AuthError> {
    let hotkey = required(
        headers,
        HOTKEY,
        "No SS58 formatted address or public key provided.",
    )?;
    let hotkey = parse_hotkey(HOTKEY, hotkey)?;
    let nonce = parse_u64(NONCE, required(headers, NONCE, "Missing Nonce")?)?;
    let signature_text = match header(headers, SIGNATURE)? {
        Some(s) if !s.is_empty() => s,
        _ => {
            return Err(AuthError::Missing {
                header: SIGNATURE,
                message: "Missing Signature",
            });
        }
    };
    let signature = parse_signature(SIGNATURE, signature_text)?;
    let uuid = required(headers, UUID, "Missing Uuid")?;
    let hash = header(headers, BODY_HASH)?.unwrap_or("");
    let timeout = header(headers, TIMEOUT)?
        .map(parse_timeout)
        .transpose()?
        .map(|t| t.min(max_timeout));

    let message = signing_message(nonce, &hotkey, axon, uuid, hash);
    if !crate::net::keys::verify(hotkey.account(), message.as_bytes(), &signature) {
        return Err(AuthError::BadSignature(format!(
            "Signature mismatch with {message} and {signature_text}"
        )));
    }
    let back = ALLOWED_DELTA + timeout.unwrap_or(Duration::from_secs(12));
    Ok(Verified {
        wire: Wire::Synapse,
        hotkey,
        nonce_ns: nonce,
        window: Window {
            back,
            ahead: ALLOWED_DELTA,
        },
        replay_id: format!("{uuid}.{nonce}"),
        signature,
        timeout,
        body_hash: Some(hash.to_owned()),
    })
}

/// Checks a body against the signed `computed_body_hash`.
pub fn check_body_hash(signed: &str, body: &PyValue, fields: &[&str]) -> Result<(), AuthError> {
    let computed = body_hash(body, fields);
    if computed == signed {
        Ok(())
    } else {
        Err(AuthError::BodyHash {
            header: super::abbreviate(signed),
            body: computed,
        })
    }
}

/// Why a task cannot be sent on the Synapse wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The task did not serialize.
    #[error("task {task} did not serialize: {reason}")]
    Serialize {
        /// The task name.
        task: &'static str,
        /// The serializer's message.
        reason: String,
    },
    /// The Synapse wire carries a task's fields at the top level, so it must be an object.
    #[error("task {0} does not serialize to a JSON object, which the Synapse protocol needs")]
    NotAnObject(&'static str),
}

/// A task encoded once for the Synapse wire: the body, its hash and the per-field headers,
/// shared by every target of a fan-out.
#[derive(Debug, Clone)]
pub struct EncodedSynapse {
    /// The JSON body.
    pub body: bytes::Bytes,
    /// Its `computed_body_hash`.
    pub body_hash: String,
    /// `timeout` as a Python float.
    pub timeout: String,
    /// The `bt_header_input_obj_*` headers.
    pub input_objs: Vec<(HeaderName, HeaderValue)>,
}

/// Encodes `task` as the body a Python axon validates into its synapse class: the synapse's
/// `name` and `timeout`, then the task's fields in declaration order (so nested objects keep
/// their order for the body hash).
pub fn encode<T: Task>(task: &T, timeout: Duration) -> Result<EncodedSynapse, EncodeError> {
    let fields = serde_json::to_vec(task).map_err(|e| EncodeError::Serialize {
        task: T::NAME,
        reason: e.to_string(),
    })?;
    let rest = fields
        .strip_prefix(b"{")
        .ok_or(EncodeError::NotAnObject(T::NAME))?;
    let timeout_text = float_repr(timeout.as_secs_f64());
    let mut body = format!(
        "{{\"name\":{},\"timeout\":{timeout_text}",
        Value::String(T::NAME.to_owned())
    )
    .into_bytes();
    if rest != b"}" {
        body.push(b',');
    }
    body.extend_from_slice(rest);
    let parsed = PyValue::from_json(&body).map_err(|e| EncodeError::Serialize {
        task: T::NAME,
        reason: e.to_string(),
    })?;
    let value: Value = serde_json::from_slice(&fields).map_err(|e| EncodeError::Serialize {
        task: T::NAME,
        reason: e.to_string(),
    })?;
    Ok(EncodedSynapse {
        body_hash: body_hash(&parsed, T::HASH_FIELDS),
        body: body.into(),
        timeout: timeout_text,
        input_objs: input_obj_headers::<T>(&value),
    })
}

/// One `bt_header_input_obj_<field>` per required field: base64 of the JSON of the field
/// type's default (`0`, `0.0`, `""`, `false`, `[]`, `{}`), as the Python dendrite sends, or
/// of the value itself for types without a plain default.
fn input_obj_headers<T: Task>(value: &Value) -> Vec<(HeaderName, HeaderValue)> {
    required_fields::<T>()
        .iter()
        .filter_map(|(field, default)| {
            let default = match default {
                Some(d) => (*d).to_owned(),
                None => value.get(field.as_str()).map(Value::to_string)?,
            };
            let name = HeaderName::try_from(format!("{INPUT_OBJ_PREFIX}{field}")).ok()?;
            let encoded = HeaderValue::try_from(base64(default.as_bytes())).ok()?;
            Some((name, encoded))
        })
        .collect()
}

type RequiredFields = Arc<Vec<(String, Option<&'static str>)>>;

/// A task's required fields and the JSON of their type's default, read from its JSON Schema
/// once per task type (building the schema costs more than signing).
fn required_fields<T: Task>() -> RequiredFields {
    static CACHE: OnceLock<Mutex<HashMap<TypeId, RequiredFields>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = TypeId::of::<T>();
    if let Some(hit) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return hit;
    }
    let schema = schemars::schema_for!(T).to_value();
    let properties = schema.get("properties");
    let fields: Vec<(String, Option<&'static str>)> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|required| {
            required
                .iter()
                .filter_map(Value::as_str)
                .filter(|field| !SYNAPSE_FIELDS.contains(field))
                .map(|field| {
                    let kind = properties
                        .and_then(|p| p.get(field))
                        .and_then(|p| p.get("type"))
                        .and_then(Value::as_str);
                    let default = match kind {
                        Some("integer") => Some("0"),
                        Some("number") => Some("0.0"),
                        Some("string") => Some("\"\""),
                        Some("boolean") => Some("false"),
                        Some("array") => Some("[]"),
                        Some("object") => Some("{}"),
                        _ => None,
                    };
                    (field.to_owned(), default)
                })
                .collect()
        })
        .unwrap_or_default();
    let fields = Arc::new(fields);
    if let Ok(mut c) = cache.lock() {
        c.insert(key, Arc::clone(&fields));
    }
    fields
}

/// Adds the headers of one signed Synapse request to the axon with `axon_hotkey` at
/// `axon_addr` and returns the request's signature.
#[allow(clippy::too_many_arguments)]
pub fn sign(
    headers: &mut HeaderMap,
    encoded: &EncodedSynapse,
    task_name: &str,
    signer: &(impl HotkeySigner + ?Sized),
    uuid: &str,
    nonce: u64,
    axon_hotkey: &Hotkey,
    axon_addr: std::net::SocketAddr,
) -> Signature {
    let me = signer.hotkey();
    let message = signing_message(nonce, &me, axon_hotkey, uuid, &encoded.body_hash);
    let signed = signer.sign(message.as_bytes());
    let signature = signed.to_hex();
    let mut put = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::try_from(value) {
            headers.insert(name, v);
        }
    };
    put(NAME, task_name.to_owned());
    put(TIMEOUT, encoded.timeout.clone());
    put(AXON_IP, axon_addr.ip().to_string());
    put(AXON_PORT, axon_addr.port().to_string());
    put(AXON_HOTKEY, super::ss58(axon_hotkey));
    put(DENDRITE_VERSION, PROTOCOL_VERSION.to_string());
    put(NONCE, nonce.to_string());
    put(UUID, uuid.to_owned());
    put(HOTKEY, super::ss58(&me));
    put(SIGNATURE, signature);
    put(BODY_HASH, encoded.body_hash.clone());
    // CPython object sizes in the Python SDK; never checked by anyone.
    put("header_size", "0".to_owned());
    put("total_size", "0".to_owned());
    for (name, value) in &encoded.input_objs {
        headers.insert(name.clone(), value.clone());
    }
    signed
}

/// The success body an axon returns to a Synapse caller: the request's synapse with the
/// response's fields written in (a response that is not a JSON object goes under
/// `response`) and `axon` status 200 `Success`.
pub fn success_body(
    request: &[u8],
    response: Value,
    axon: &Hotkey,
    process_time: Duration,
) -> Vec<u8> {
    let mut synapse: Map<String, Value> = serde_json::from_slice(request).unwrap_or_default();
    match response {
        Value::Object(fields) => synapse.extend(fields),
        other => {
            synapse.insert("response".to_owned(), other);
        }
    }
    let mut terminal = match synapse.remove("axon") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    terminal.insert("status_code".to_owned(), Value::from(200));
    terminal.insert("status_message".to_owned(), Value::from("Success"));
    terminal.insert(
        "process_time".to_owned(),
        Value::from(process_time.as_secs_f64()),
    );
    terminal.insert("hotkey".to_owned(), Value::from(super::ss58(axon)));
    synapse.insert("axon".to_owned(), Value::Object(terminal));
    serde_json::to_vec(&synapse).unwrap_or_default()
}

/// The headers a Python axon puts on a streamed answer (its synapse's `axon` terminal), which a
/// Python dendrite reads a stream's outcome from: there is no body to carry it. Without them,
/// `synapse.dendrite.status_code` stays `None` and the stream looks failed.
pub fn stream_headers(headers: &mut HeaderMap, axon: &Hotkey, process_time: Duration) {
    let fields = [
        ("bt_header_axon_status_code", "200".to_owned()),
        ("bt_header_axon_status_message", "Success".to_owned()),
        (
            "bt_header_axon_process_time",
            float_repr(process_time.as_secs_f64()),
        ),
        (AXON_HOTKEY, super::ss58(axon)),
    ];
    for (name, value) in fields {
        if let Ok(v) = HeaderValue::try_from(value) {
            headers.insert(name, v);
        }
    }
}

/// Standard base64 with padding.
pub(crate) fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use subforge_core::identity::Keypair;

    #[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
    struct Dummy {
        dummy_input: i64,
        #[serde(default)]
        note: Option<String>,
    }

    impl Task for Dummy {
        const NAME: &'static str = "Dummy";
        const HASH_FIELDS: &'static [&'static str] = &["dummy_input"];
        type Response = i64;
        type Reference = i64;
    }

    #[test]
    fn base64_matches_the_python_type_defaults() {
        assert_eq!(base64(b"0"), "MA==");
        assert_eq!(base64(b"0.0"), "MC4w");
        assert_eq!(base64(b"\"\""), "IiI=");
        assert_eq!(base64(b"false"), "ZmFsc2U=");
        assert_eq!(base64(b"[]"), "W10=");
        assert_eq!(base64(b"{}"), "e30=");
    }

    #[test]
    fn encode_then_verify_round_trip() {
        let kp = Keypair::from_uri("//Alice").unwrap();
        let axon = Keypair::from_uri("//Bob").unwrap();
        let axon_hk = Hotkey(axon.public());
        let task = Dummy {
            dummy_input: 21,
            note: None,
        };
        let enc = encode(&task, Duration::from_secs(5)).unwrap();
        assert_eq!(
            enc.body_hash,
            "92458924edc5f6c19fb90d1d8cec7ec179fd1a4dc293e2d97f8578f6f13ba970"
        );
        assert_eq!(
            std::str::from_utf8(&enc.body).unwrap(),
            r#"{"name":"Dummy","timeout":5.0,"dummy_input":21,"note":null}"#
        );
        assert_eq!(enc.input_objs.len(), 1);
        assert_eq!(enc.input_objs[0].0, "bt_header_input_obj_dummy_input");
        assert_eq!(enc.input_objs[0].1, "MA==");

        let mut h = HeaderMap::new();
        let now = crate::net::nonce::now_ns();
        sign(
            &mut h,
            &enc,
            "Dummy",
            &kp,
            "u-1",
            now,
            &axon_hk,
            "127.0.0.1:8091".parse().unwrap(),
        );
        let v = verify(&h, &axon_hk, Duration::from_secs(60)).unwrap();
        assert_eq!(v.hotkey, Hotkey(kp.public()));
        assert_eq!(v.timeout, Some(Duration::from_secs(5)));
        assert_eq!(v.window.back, Duration::from_secs(9));
        let body = PyValue::from_json(&enc.body).unwrap();
        check_body_hash(v.body_hash.as_deref().unwrap(), &body, Dummy::HASH_FIELDS).unwrap();
        let tampered = PyValue::from_json(br#"{"dummy_input": 22}"#).unwrap();
        assert!(matches!(
            check_body_hash(&enc.body_hash, &tampered, Dummy::HASH_FIELDS),
            Err(AuthError::BodyHash { .. })
        ));

        // Signed for another axon.
        let err = verify(&h, &Hotkey(kp.public()), Duration::from_secs(60)).unwrap_err();
        assert!(
            err.to_string().starts_with("Signature mismatch with "),
            "{err}"
        );
        // Missing pieces, with the Python wording.
        let mut unsigned = h.clone();
        unsigned.remove(SIGNATURE);
        assert_eq!(
            verify(&unsigned, &axon_hk, Duration::from_secs(60))
                .unwrap_err()
                .to_string(),
            "Missing Signature"
        );
        unsigned.remove(HOTKEY);
        assert_eq!(
            verify(&unsigned, &axon_hk, Duration::from_secs(60))
                .unwrap_err()
                .to_string(),
            "No SS58 formatted address or public key provided."
        );
    }

    #[test]
    fn success_body_merges_the_response() {
        let hk = Hotkey(Keypair::from_uri("//Bob").unwrap().public());
        let body = success_body(
            br#"{"name":"Dummy","dummy_input":2,"dummy_output":null,"axon":{"ip":"1.2.3.4"}}"#,
            serde_json::json!({"dummy_output": 4}),
            &hk,
            Duration::from_millis(5),
        );
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["dummy_output"], 4);
        assert_eq!(v["dummy_input"], 2);
        assert_eq!(v["axon"]["status_code"], 200);
        assert_eq!(v["axon"]["status_message"], "Success");
        assert_eq!(v["axon"]["ip"], "1.2.3.4");
        let body = success_body(b"{}", Value::from(7), &hk, Duration::ZERO);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["response"], 7);
    }
}
