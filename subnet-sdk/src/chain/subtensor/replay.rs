//! A node that answers from recorded JSON-RPC traffic: test a [`super::Subtensor`] against
//! real chain data with no chain.
//!
//! A recording maps each method to `{ params as JSON text: response }`, where a response is
//! `{"result": ...}` (or `{"error": ...}`), or a list of them served in turn. Requests are
//! matched as a client's differ from the recorder's in ways that do not change the answer:
//! a trailing block hash is ignored, `0x` prefixes are optional, `state_getStorage` and
//! `state_getStorageAt` are one method, and a runtime API recorded once for a first argument
//! (a netuid, an account) answers any call with that first argument. What the recordings leave out of a connection (block 0, the
//! runtime version as `Core_version`, the metadata) is served from the runtime metadata file
//! the replay is given. Unrecorded storage reads as empty; any other unrecorded request is a
//! "method not found" error naming it, so a test sees exactly what was not covered.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};

use parity_scale_codec::{Compact, Encode};
use serde_json::Value as Json;
use serde_json::value::RawValue;
use subxt::rpcs::client::{RawRpcFuture, RawRpcSubscription, RpcClientT};
use subxt::rpcs::{Error as RpcError, UserError};

/// Finney's genesis hash: what recordings of the main network were signed for.
pub const FINNEY_GENESIS: &str =
    "0x2f0555cc76fc2840a25a6ea3b9637146806f1f44b090c175ffde2a7e5ab36c03";

/// Requests remembered for [`Replay::requests`].
const MAX_REQUESTS_KEPT: usize = 4096;

/// JSON-RPC "method not found".
const NOT_FOUND: i32 = -32601;

/// Each method's recordings: normalised params, and the responses served in turn.
type Recorded = HashMap<String, Vec<(Vec<Json>, Vec<Json>)>>;

/// Why a recording cannot be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The recording is not JSON of the expected shape.
    #[error("the recording is not usable: {0}")]
    Format(String),
    /// The scenario is not in the recording.
    #[error("the recording has no scenario `{0}`")]
    NoScenario(String),
}

/// A recorded node. Implements subxt's transport trait, so
/// [`super::SubtensorBuilder::connect_with`] takes it as it takes a WebSocket.
#[derive(Debug)]
pub struct Replay {
    /// Method → recorded (normalised params, responses).
    calls: Recorded,
    /// How many times each (method, params) was answered: lists are served in turn.
    served: Mutex<HashMap<String, usize>>,
    metadata: Vec<u8>,
    metadata_version: u32,
    /// The runtime version reported: the recorded one until [`Replay::set_spec_version`].
    spec_version: AtomicU32,
    genesis: String,
    requests: Mutex<Vec<String>>,
}

/// The params a request's answer depends on: block hashes dropped, hex made uniform.
fn normalise(method: &str, params: &[Json]) -> Vec<Json> {
    let hexless = |v: &Json| match v {
        Json::String(s) if s.starts_with("0x") || s.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Json::String(s.trim_start_matches("0x").to_ascii_lowercase())
        }
        other => other.clone(),
    };
    match method {
        // (name, data[, at])
        "state_call" => params.iter().take(2).map(hexless).collect(),
        // (key[, at])
        "state_getStorage" | "state_getStorageAt" => params.iter().take(1).map(hexless).collect(),
        // (at?) — the best block either way
        "chain_getHeader" | "state_getRuntimeVersion" | "chain_getHead" => params
            .iter()
            .filter(|p| !p.is_null())
            .map(hexless)
            .collect(),
        _ => params.iter().map(hexless).collect(),
    }
}

/// The method a request is recorded under.
fn recorded_as(method: &str) -> &str {
    match method {
        "state_getStorage" => "state_getStorageAt",
        "chain_getFinalizedHead" => "chain_getHead",
        other => other,
    }
}

fn user(code: i32, message: impl Into<String>) -> RpcError {
    RpcError::User(UserError {
        code,
        message: message.into(),
        data: None,
    })
}

impl Replay {
    /// The scenario `scenario` of a recording, with the runtime `metadata` (a `.scale`
    /// file: `meta`, a version byte, the metadata) it ran under.
    pub fn from_recording(
        recording: &str,
        scenario: &str,
        metadata: Vec<u8>,
    ) -> Result<Self, ReplayError> {
        let all: Json =
            serde_json::from_str(recording).map_err(|e| ReplayError::Format(e.to_string()))?;
        let methods = all
            .get(scenario)
            .and_then(Json::as_object)
            .ok_or_else(|| ReplayError::NoScenario(scenario.to_owned()))?;
        let mut calls = Recorded::new();
        for (method, by_params) in methods {
            let by_params = by_params
                .as_object()
                .ok_or_else(|| ReplayError::Format(format!("{method} is not an object")))?;
            for (params, response) in by_params {
                let params: Vec<Json> = serde_json::from_str(params)
                    .map_err(|e| ReplayError::Format(format!("{method} params {params}: {e}")))?;
                let responses = match response {
                    Json::Array(list) => list.clone(),
                    one => vec![one.clone()],
                };
                calls
                    .entry(method.clone())
                    .or_default()
                    .push((normalise(method, &params), responses));
            }
        }
        if metadata.len() < 5 || &metadata[..4] != b"meta" {
            return Err(ReplayError::Format(
                "the metadata does not start with `meta` and a version".to_owned(),
            ));
        }
        let metadata_version = u32::from(metadata[4]);
        // Read directly, not served: a list of recorded versions still starts at its first.
        let spec_version = calls
            .get("state_getRuntimeVersion")
            .and_then(|r| r.first())
            .and_then(|(_, responses)| responses.first())
            .and_then(|r| r.get("result"))
            .and_then(|v| v.get("specVersion"))
            .and_then(Json::as_u64)
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(0);
        Ok(Self {
            calls,
            served: Mutex::default(),
            metadata,
            metadata_version,
            spec_version: AtomicU32::new(spec_version),
            genesis: FINNEY_GENESIS.to_owned(),
            requests: Mutex::default(),
        })
    }

    /// The methods asked most recently (up to the last 4096), in order: to check what a
    /// client did.
    pub fn requests(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The recorded answer to `method` with these params (or its only recording when
    /// `params` is `None`), serving lists in turn.
    fn recorded_result(&self, method: &str, params: Option<&[Json]>) -> Option<Json> {
        let recorded = self.calls.get(method)?;
        let (key, responses) = match params {
            Some(p) => recorded.iter().find(|(k, _)| k == p)?,
            None => recorded.first()?,
        };
        let counter = format!("{method}{key:?}");
        let mut served = self.served.lock().unwrap_or_else(PoisonError::into_inner);
        let n = served.entry(counter).or_insert(0);
        let response = responses.get(*n).or_else(|| responses.last())?.clone();
        *n += 1;
        Some(response)
    }

    /// The `result` of a recorded response, or its error.
    fn unwrap_response(method: &str, response: Json) -> Result<Json, RpcError> {
        if let Some(e) = response.get("error") {
            let code = e.get("code").and_then(Json::as_i64).unwrap_or(0);
            let message = e.get("message").and_then(Json::as_str).unwrap_or("");
            return Err(user(i32::try_from(code).unwrap_or(0), message));
        }
        response
            .get("result")
            .cloned()
            .ok_or_else(|| user(NOT_FOUND, format!("{method}: the recording has no result")))
    }

    /// `Core_version`'s SCALE answer, from the recorded `state_getRuntimeVersion`.
    fn core_version(&self) -> Result<Vec<u8>, RpcError> {
        let v = self
            .recorded_result("state_getRuntimeVersion", None)
            .map(|r| Self::unwrap_response("state_getRuntimeVersion", r))
            .transpose()?
            .ok_or_else(|| user(NOT_FOUND, "state_getRuntimeVersion is not recorded"))?;
        let text = |k: &str| v.get(k).and_then(Json::as_str).unwrap_or("").to_owned();
        let num = |k: &str| {
            v.get(k)
                .and_then(Json::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(0)
        };
        let apis: Vec<([u8; 8], u32)> = v
            .get("apis")
            .and_then(Json::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|pair| {
                        let id = pair.get(0)?.as_str()?.trim_start_matches("0x");
                        let mut raw = [0u8; 8];
                        hex::decode_to_slice(id, &mut raw).ok()?;
                        let version = u32::try_from(pair.get(1)?.as_u64()?).ok()?;
                        Some((raw, version))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok((
            text("specName"),
            text("implName"),
            num("authoringVersion"),
            self.spec_version.load(Ordering::Relaxed),
            num("implVersion"),
            apis,
            num("transactionVersion"),
            u8::try_from(num("stateVersion")).unwrap_or(0),
        )
            .encode())
    }

    fn answer(&self, method: &str, params: &[Json]) -> Result<Json, RpcError> {
        let hex = |bytes: Vec<u8>| Json::String(format!("0x{}", hex::encode(bytes)));
        match method {
            "chain_getBlockHash" if params.first().and_then(Json::as_u64) == Some(0) => {
                return Ok(Json::String(self.genesis.clone()));
            }
            "system_chain" if !self.calls.contains_key(method) => {
                return Ok(Json::String("Bittensor".to_owned()));
            }
            "state_call" => {
                let name = params.first().and_then(Json::as_str).unwrap_or("");
                match name {
                    "Core_version" => return Ok(hex(self.core_version()?)),
                    "Metadata_metadata_versions" => {
                        return Ok(hex(vec![self.metadata_version].encode()));
                    }
                    "Metadata_metadata_at_version" => {
                        let mut out = vec![1u8];
                        Compact(u32::try_from(self.metadata.len()).unwrap_or(u32::MAX))
                            .encode_to(&mut out);
                        out.extend_from_slice(&self.metadata);
                        return Ok(hex(out));
                    }
                    _ => {}
                }
                let key = normalise(method, params);
                let recorded = self.calls.get(method).map(Vec::as_slice).unwrap_or(&[]);
                let same_api: Vec<&Vec<Json>> = recorded
                    .iter()
                    .map(|(k, _)| k)
                    .filter(|k| k.first().and_then(Json::as_str) == Some(name))
                    .collect();
                // The first argument (a netuid, an account) decides what is asked about; the rest
                // (which fields of a selective metagraph, say) may differ.
                let lead = |k: &[Json]| -> String {
                    k.get(1)
                        .and_then(Json::as_str)
                        .map(|d| d.chars().take(4).collect())
                        .unwrap_or_default()
                };
                let same_lead: Vec<&&Vec<Json>> =
                    same_api.iter().filter(|k| lead(k) == lead(&key)).collect();
                let chosen = if same_api.iter().any(|k| **k == key) {
                    key
                } else if let [only] = same_lead.as_slice() {
                    (**only).clone()
                } else {
                    return Err(user(
                        NOT_FOUND,
                        format!("state_call {name} is not recorded"),
                    ));
                };
                let response = self
                    .recorded_result(method, Some(&chosen))
                    .ok_or_else(|| user(NOT_FOUND, format!("state_call {name} is not recorded")))?;
                return Self::unwrap_response(method, response);
            }
            _ => {}
        }
        let as_recorded = recorded_as(method);
        let key = normalise(method, params);
        if let Some(response) = self.recorded_result(as_recorded, Some(&key)) {
            return Self::unwrap_response(method, response);
        }
        match method {
            // Storage nobody recorded is empty.
            "state_getStorage" | "state_getStorageAt" => Ok(Json::Null),
            // A header by hash that was recorded as the best one.
            "chain_getHeader" | "state_getRuntimeVersion" => self
                .recorded_result(as_recorded, None)
                .map(|r| Self::unwrap_response(method, r))
                .unwrap_or_else(|| Err(user(NOT_FOUND, format!("{method} is not recorded")))),
            _ => Err(user(
                NOT_FOUND,
                format!(
                    "{method}({}) is not recorded",
                    serde_json::to_string(params).unwrap_or_default()
                ),
            )),
        }
    }

    /// The runtime version as reported now, which a test may have moved on from the recording.
    fn current_version(&self, method: &str, mut result: Json) -> Json {
        if method == "state_getRuntimeVersion"
            && let Some(fields) = result.as_object_mut()
        {
            fields.insert(
                "specVersion".to_owned(),
                Json::from(self.spec_version.load(Ordering::Relaxed)),
            );
        }
        result
    }

    /// Serves another chain: block 0 is `genesis` (hex) instead of finney's, as a node of
    /// another network would answer.
    pub fn with_genesis(mut self, genesis: impl Into<String>) -> Self {
        self.genesis = genesis.into();
        self
    }

    /// Reports runtime version `spec_version` from now on, as a node does after a runtime
    /// upgrade (the metadata served stays the same).
    pub fn set_spec_version(&self, spec_version: u32) {
        self.spec_version.store(spec_version, Ordering::Relaxed);
    }
}

impl RpcClientT for Replay {
    fn request_raw<'a>(
        &'a self,
        method: &'a str,
        params: Option<Box<RawValue>>,
    ) -> RawRpcFuture<'a, Box<RawValue>> {
        Box::pin(async move {
            {
                let mut asked = self.requests.lock().unwrap_or_else(PoisonError::into_inner);
                if asked.len() >= MAX_REQUESTS_KEPT {
                    asked.drain(..MAX_REQUESTS_KEPT / 2);
                }
                asked.push(method.to_owned());
            }
            let params: Vec<Json> = match params {
                Some(p) => serde_json::from_str(p.get()).map_err(RpcError::Deserialization)?,
                None => Vec::new(),
            };
            let result = self.current_version(method, self.answer(method, &params)?);
            serde_json::value::to_raw_value(&result).map_err(RpcError::Deserialization)
        })
    }

    fn subscribe_raw<'a>(
        &'a self,
        sub: &'a str,
        _params: Option<Box<RawValue>>,
        _unsub: &'a str,
    ) -> RawRpcFuture<'a, RawRpcSubscription> {
        Box::pin(async move {
            Err(user(
                NOT_FOUND,
                format!("{sub}: a replay has no subscriptions"),
            ))
        })
    }
}
