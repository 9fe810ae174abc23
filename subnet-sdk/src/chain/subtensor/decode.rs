//! The chain's answers, read by field name.
//!
//! Runtime-API results and storage values are decoded against the runtime's own metadata into
//! `scale_value::Value`s, then read here by the names the runtime gives its fields. That
//! survives what runtime upgrades do all the time: fields added or reordered, integers made
//! compact or wrapped in a newtype (`NetUid(u16)`, `AlphaCurrency(u64)`), a struct moved to a
//! new version of its API. A field we need that a runtime lacks is an error naming it; one we
//! can do without takes its documented default.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use subforge_core::chain::{AxonInfo, AxonProtocol};
use subforge_core::identity::AccountId;
use subforge_core::{Balance, Block, Coldkey, Hotkey, Hyperparameters, NetUid, U16Proportion, Uid};
use subxt::dynamic::Value;
use subxt::ext::scale_value::{Composite, Primitive, ValueDef};

use crate::chain::error::ChainError;
use crate::chain::types::{StakeInfo, SubnetInfo};

/// A decoding failure that names what was being read.
pub(crate) fn malformed(what: &str, detail: impl std::fmt::Display) -> ChainError {
    ChainError::Decode {
        what: what.to_owned(),
        reason: detail.to_string(),
    }
}

/// A value stripped of the wrappers runtimes put around numbers and bytes: single-field
/// composites (newtypes) and `Some`.
fn unwrap(mut v: &Value) -> &Value {
    loop {
        match &v.value {
            ValueDef::Composite(Composite::Unnamed(inner)) if inner.len() == 1 => v = &inner[0],
            ValueDef::Composite(Composite::Named(inner)) if inner.len() == 1 => v = &inner[0].1,
            ValueDef::Variant(var) if var.name == "Some" => match &var.values {
                Composite::Unnamed(inner) if inner.len() == 1 => v = &inner[0],
                _ => return v,
            },
            _ => return v,
        }
    }
}

/// Through `Some` and unnamed newtypes down to a struct (a struct with one named field is
/// still a struct here).
fn unwrap_to_struct(mut v: &Value) -> &Value {
    loop {
        match &v.value {
            ValueDef::Composite(Composite::Unnamed(inner)) if inner.len() == 1 => v = &inner[0],
            ValueDef::Variant(var) if var.name == "Some" => match &var.values {
                Composite::Unnamed(inner) if inner.len() == 1 => v = &inner[0],
                _ => return v,
            },
            _ => return v,
        }
    }
}

/// A struct-like value's fields by name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields<'a> {
    what: &'a str,
    fields: &'a [(String, Value)],
}

impl<'a> Fields<'a> {
    /// The named fields of `v` (through `Some` and newtype wrappers).
    pub(crate) fn of(what: &'a str, v: &'a Value) -> Result<Self, ChainError> {
        match &unwrap_to_struct(v).value {
            ValueDef::Composite(Composite::Named(fields)) => Ok(Self { what, fields }),
            other => Err(malformed(
                what,
                format!("expected a struct, got {}", kind(other)),
            )),
        }
    }

    /// The field called `name`, if the runtime has it.
    pub(crate) fn get(&self, name: &str) -> Option<&'a Value> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The field called `name`; its absence is an error.
    pub(crate) fn req(&self, name: &str) -> Result<&'a Value, ChainError> {
        self.get(name)
            .ok_or_else(|| malformed(self.what, format!("the runtime gives no field `{name}`")))
    }

    /// The field, if present and not `None`.
    pub(crate) fn opt(&self, name: &str) -> Option<&'a Value> {
        self.get(name).filter(|v| !is_none(v))
    }

    pub(crate) fn uint(&self, name: &str) -> Result<u128, ChainError> {
        uint(self.req(name)?).map_err(|e| self.field(name, e))
    }

    pub(crate) fn u64(&self, name: &str) -> Result<u64, ChainError> {
        let n = self.uint(name)?;
        u64::try_from(n).map_err(|_| self.field(name, format!("{n} does not fit 64 bits")))
    }

    pub(crate) fn u16(&self, name: &str) -> Result<u16, ChainError> {
        let n = self.uint(name)?;
        u16::try_from(n).map_err(|_| self.field(name, format!("{n} does not fit 16 bits")))
    }

    pub(crate) fn bool(&self, name: &str) -> Result<bool, ChainError> {
        boolean(self.req(name)?).map_err(|e| self.field(name, e))
    }

    pub(crate) fn account(&self, name: &str) -> Result<AccountId, ChainError> {
        account(self.req(name)?).map_err(|e| self.field(name, e))
    }

    /// A per-uid list of the field, each element read with `read`.
    pub(crate) fn list<T>(
        &self,
        name: &str,
        read: impl Fn(&Value) -> Result<T, String>,
    ) -> Result<Vec<T>, ChainError> {
        let items = seq(self.req(name)?).map_err(|e| self.field(name, e))?;
        items
            .iter()
            .enumerate()
            .map(|(i, v)| read(v).map_err(|e| self.field(&format!("{name}[{i}]"), e)))
            .collect()
    }

    fn field(&self, name: &str, e: impl std::fmt::Display) -> ChainError {
        malformed(&format!("{}.{name}", self.what), e)
    }
}

fn kind<T>(v: &ValueDef<T>) -> &'static str {
    match v {
        ValueDef::Composite(Composite::Named(_)) => "a struct",
        ValueDef::Composite(Composite::Unnamed(_)) => "a sequence",
        ValueDef::Variant(_) => "an enum",
        ValueDef::BitSequence(_) => "bits",
        ValueDef::Primitive(_) => "a primitive",
    }
}

/// Whether the value is `None`.
pub(crate) fn is_none(v: &Value) -> bool {
    matches!(&v.value, ValueDef::Variant(var) if var.name == "None")
}

/// An unsigned integer (compact, plain or wrapped).
pub(crate) fn uint(v: &Value) -> Result<u128, String> {
    match &unwrap(v).value {
        ValueDef::Primitive(Primitive::U128(n)) => Ok(*n),
        ValueDef::Primitive(Primitive::I128(n)) => {
            u128::try_from(*n).map_err(|_| format!("{n} is negative"))
        }
        other => Err(format!("expected a number, got {}", kind(other))),
    }
}

/// A signed integer (fixed-point bits come this way).
pub(crate) fn int(v: &Value) -> Result<i128, String> {
    match &unwrap(v).value {
        ValueDef::Primitive(Primitive::I128(n)) => Ok(*n),
        ValueDef::Primitive(Primitive::U128(n)) => {
            i128::try_from(*n).map_err(|_| format!("{n} is too large"))
        }
        other => Err(format!("expected a number, got {}", kind(other))),
    }
}

pub(crate) fn u16_of(v: &Value) -> Result<u16, String> {
    let n = uint(v)?;
    u16::try_from(n).map_err(|_| format!("{n} does not fit 16 bits"))
}

pub(crate) fn u64_of(v: &Value) -> Result<u64, String> {
    let n = uint(v)?;
    u64::try_from(n).map_err(|_| format!("{n} does not fit 64 bits"))
}

pub(crate) fn boolean(v: &Value) -> Result<bool, String> {
    match &unwrap(v).value {
        ValueDef::Primitive(Primitive::Bool(b)) => Ok(*b),
        other => Err(format!("expected a bool, got {}", kind(other))),
    }
}

/// The items of a sequence (a `Vec` or an array).
pub(crate) fn seq(v: &Value) -> Result<&[Value], String> {
    // Through `Some`, but not into a one-element sequence.
    let v = match &v.value {
        ValueDef::Variant(var) if var.name == "Some" => match &var.values {
            Composite::Unnamed(inner) if inner.len() == 1 => &inner[0],
            _ => v,
        },
        _ => v,
    };
    match &v.value {
        ValueDef::Composite(Composite::Unnamed(items)) => Ok(items),
        // A one-element sequence of a newtype looks like a newtype; an empty one is fine too.
        ValueDef::Composite(Composite::Named(items)) if items.is_empty() => Ok(&[]),
        other => Err(format!("expected a sequence, got {}", kind(other))),
    }
}

/// Bytes from a sequence of `u8` (possibly each compact, as in `Vec<Compact<u8>>` names).
pub(crate) fn bytes(v: &Value) -> Result<Vec<u8>, String> {
    let v = unwrap_to_sequence(v);
    let items = seq(v)?;
    items
        .iter()
        .map(|b| {
            let n = uint(b)?;
            u8::try_from(n).map_err(|_| format!("{n} is not a byte"))
        })
        .collect()
}

/// Through newtypes down to the sequence inside (an `AccountId32([u8; 32])` is a newtype
/// around an array).
fn unwrap_to_sequence(mut v: &Value) -> &Value {
    loop {
        match &v.value {
            ValueDef::Variant(var) if var.name == "Some" => match &var.values {
                Composite::Unnamed(inner) if inner.len() == 1 => v = &inner[0],
                _ => return v,
            },
            ValueDef::Composite(Composite::Unnamed(inner))
                if inner.len() == 1 && matches!(inner[0].value, ValueDef::Composite(_)) =>
            {
                v = &inner[0];
            }
            ValueDef::Composite(Composite::Named(inner)) if inner.len() == 1 => v = &inner[0].1,
            _ => return v,
        }
    }
}

pub(crate) fn account(v: &Value) -> Result<AccountId, String> {
    let raw = bytes(v)?;
    <[u8; 32]>::try_from(raw.as_slice())
        .map(AccountId)
        .map_err(|_| format!("an account is 32 bytes, not {}", raw.len()))
}

/// UTF-8 text from bytes, lossily (names and symbols are display only).
pub(crate) fn text(v: &Value) -> String {
    bytes(v)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

fn balance(v: &Value) -> Result<Balance, String> {
    u64_of(v).map(Balance::from_rao)
}

/// The chain's `AxonInfo { block, version, ip, port, ip_type, protocol, placeholder1,
/// placeholder2 }`.
pub(crate) fn axon(v: &Value) -> Result<AxonInfo, String> {
    let f = Fields::of("AxonInfo", v).map_err(|e| e.to_string())?;
    let n = |name: &str| f.uint(name).map_err(|e| e.to_string());
    let ip_type = n("ip_type")?;
    let raw_ip = n("ip")?;
    let ip = match ip_type {
        6 => IpAddr::V6(Ipv6Addr::from(raw_ip)),
        // Never-served axons are all zeros (ip_type 0): show them as 0.0.0.0.
        _ => IpAddr::V4(Ipv4Addr::from(u32::try_from(raw_ip).unwrap_or(0))),
    };
    let narrow = |name: &str| -> Result<u8, String> {
        u8::try_from(n(name)?).map_err(|_| format!("{name} does not fit a byte"))
    };
    Ok(AxonInfo {
        block: Block(u64::try_from(n("block")?).map_err(|_| "block does not fit 64 bits")?),
        version: u32::try_from(n("version")?).map_err(|_| "version does not fit 32 bits")?,
        ip,
        port: u16::try_from(n("port")?).map_err(|_| "port does not fit 16 bits")?,
        protocol: AxonProtocol(narrow("protocol")?),
        placeholder1: narrow("placeholder1")?,
        placeholder2: narrow("placeholder2")?,
    })
}

/// One neuron of `NeuronInfoRuntimeApi::get_neurons_lite`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NeuronLite {
    pub(crate) uid: Uid,
    pub(crate) hotkey: Hotkey,
    pub(crate) coldkey: Coldkey,
    pub(crate) active: bool,
    pub(crate) axon: AxonInfo,
    /// Stake on the hotkey by each staker (alpha on dTAO subnets).
    pub(crate) stake: Vec<(Coldkey, Balance)>,
    pub(crate) emission: Balance,
    pub(crate) incentive: U16Proportion,
    pub(crate) consensus: U16Proportion,
    pub(crate) trust: U16Proportion,
    pub(crate) validator_trust: U16Proportion,
    pub(crate) dividends: U16Proportion,
    pub(crate) last_update: Block,
    pub(crate) validator_permit: bool,
    pub(crate) pruning_score: u16,
}

pub(crate) fn neuron_lite(v: &Value) -> Result<NeuronLite, ChainError> {
    let f = Fields::of("NeuronInfoLite", v)?;
    let stake = f.list("stake", |entry| {
        let pair = seq(entry)?;
        match pair {
            [who, amount] => Ok((Coldkey(account(who)?), balance(amount)?)),
            _ => Err("a stake entry is (account, amount)".to_owned()),
        }
    })?;
    let prop = |name: &str| f.u16(name).map(U16Proportion);
    Ok(NeuronLite {
        uid: Uid(f.u16("uid")?),
        hotkey: Hotkey(f.account("hotkey")?),
        coldkey: Coldkey(f.account("coldkey")?),
        active: f.bool("active")?,
        axon: axon(f.req("axon_info")?).map_err(|e| malformed("NeuronInfoLite.axon_info", e))?,
        stake,
        emission: Balance::from_rao(f.u64("emission")?),
        incentive: prop("incentive")?,
        consensus: prop("consensus")?,
        trust: prop("trust")?,
        validator_trust: prop("validator_trust")?,
        dividends: prop("dividends")?,
        last_update: Block(f.u64("last_update")?),
        validator_permit: f.bool("validator_permit")?,
        pruning_score: f.u16("pruning_score")?,
    })
}

/// What the (selective) metagraph adds to the neurons: per-uid registration blocks and stake,
/// and the subnet's owner, tempo and last epoch.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct MetagraphExtras {
    pub(crate) block: Option<Block>,
    pub(crate) tempo: Option<u16>,
    pub(crate) last_step: Option<Block>,
    pub(crate) owner_hotkey: Option<Hotkey>,
    pub(crate) owner_coldkey: Option<Coldkey>,
    pub(crate) block_at_registration: Option<Vec<Block>>,
    /// Total stake per uid (alpha plus TAO weighted as the chain weighs it).
    pub(crate) total_stake: Option<Vec<Balance>>,
    /// The subnet's settings, when the answer carries them.
    pub(crate) hyperparameters: Option<Hyperparameters>,
}

/// The fields of a (selective) metagraph answer that the neuron list lacks. Fields the
/// runtime leaves out (`None` in a selective answer) stay unknown.
pub(crate) fn metagraph_extras(v: &Value) -> Result<MetagraphExtras, ChainError> {
    let f = Fields::of("Metagraph", v)?;
    let num = |name: &str| {
        f.opt(name)
            .map(u64_of)
            .transpose()
            .map_err(|e| f.field(name, e))
    };
    let acct = |name: &str| {
        f.opt(name)
            .map(account)
            .transpose()
            .map_err(|e| f.field(name, e))
    };
    let per_uid = |name: &str| -> Result<Option<Vec<u64>>, ChainError> {
        f.opt(name)
            .map(|v| {
                seq(v)
                    .and_then(|items| items.iter().map(u64_of).collect())
                    .map_err(|e| f.field(name, e))
            })
            .transpose()
    };
    Ok(MetagraphExtras {
        block: num("block")?.map(Block),
        tempo: num("tempo")?.map(|t| u16::try_from(t).unwrap_or(u16::MAX)),
        last_step: num("last_step")?.map(Block),
        owner_hotkey: acct("owner_hotkey")?.map(Hotkey),
        owner_coldkey: acct("owner_coldkey")?.map(Coldkey),
        block_at_registration: per_uid("block_at_registration")?
            .map(|v| v.into_iter().map(Block).collect()),
        total_stake: per_uid("total_stake")?
            .map(|v| v.into_iter().map(Balance::from_rao).collect()),
        hyperparameters: match f.opt("kappa") {
            Some(_) => Some(hyperparameters(v)?),
            None => None,
        },
    })
}

/// Hyperparameters from any version of `get_subnet_hyperparams` (v1 and v2 are structs, v3
/// a list of named entries): fields the runtime does not report keep their defaults.
pub(crate) fn hyperparameters(v: &Value) -> Result<Hyperparameters, ChainError> {
    let entries = named_entries(v)?;
    let get = |name: &str| entries.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
    let num = |name: &str| -> Result<Option<u128>, ChainError> {
        get(name)
            .map(|v| uint(v).map_err(|e| malformed(&format!("hyperparameter {name}"), e)))
            .transpose()
    };
    let flag = |name: &str| -> Result<Option<bool>, ChainError> {
        get(name)
            .map(|v| {
                boolean(v)
                    .or_else(|_| uint(v).map(|n| n != 0))
                    .map_err(|e| malformed(&format!("hyperparameter {name}"), e))
            })
            .transpose()
    };
    let mut h = Hyperparameters::default();
    macro_rules! set {
        ($field:ident, $name:literal, $conv:expr) => {
            if let Some(n) = num($name)? {
                h.$field = $conv(n);
            }
        };
    }
    let sat16 = |n: u128| u16::try_from(n).unwrap_or(u16::MAX);
    let sat64 = |n: u128| u64::try_from(n).unwrap_or(u64::MAX);
    set!(tempo, "tempo", sat16);
    set!(kappa, "kappa", sat16);
    set!(rho, "rho", sat16);
    set!(immunity_period, "immunity_period", sat16);
    set!(min_allowed_weights, "min_allowed_weights", sat16);
    set!(max_weight_limit, "max_weights_limit", sat16);
    set!(max_allowed_validators, "max_validators", sat16);
    set!(weights_version_key, "weights_version", sat64);
    set!(weights_set_rate_limit, "weights_rate_limit", sat64);
    set!(serving_rate_limit, "serving_rate_limit", sat64);
    set!(bonds_moving_average, "bonds_moving_avg", sat64);
    set!(bonds_penalty, "bonds_penalty", sat16);
    set!(alpha_low, "alpha_low", sat16);
    set!(alpha_high, "alpha_high", sat16);
    set!(commit_reveal_period, "commit_reveal_period", sat64);
    set!(max_regs_per_block, "max_regs_per_block", sat16);
    set!(min_burn, "min_burn", |n| Balance::from_rao(sat64(n)));
    set!(max_burn, "max_burn", |n| Balance::from_rao(sat64(n)));
    set!(max_allowed_uids, "max_uids", sat16);
    // The chain reports the activity cutoff in blocks; we keep it per thousand of a tempo.
    if let Some(cutoff) = num("activity_cutoff")? {
        let tempo = u128::from(h.tempo.max(1));
        h.activity_cutoff_factor_milli =
            u32::try_from((cutoff * 1000).div_ceil(tempo)).unwrap_or(u32::MAX);
    }
    if let Some(steepness) = get("alpha_sigmoid_steepness") {
        // An I32F32 on the chain: the integer part is the steepness.
        let bits =
            int(steepness).map_err(|e| malformed("hyperparameter alpha_sigmoid_steepness", e))?;
        h.alpha_sigmoid_steepness = i16::try_from(bits >> 32).unwrap_or(i16::MAX);
    }
    for (field, name) in [
        (
            &mut h.commit_reveal_weights_enabled,
            "commit_reveal_weights_enabled",
        ),
        (&mut h.registration_allowed, "registration_allowed"),
        (&mut h.liquid_alpha_enabled, "liquid_alpha_enabled"),
        (&mut h.bonds_reset_enabled, "bonds_reset_enabled"),
    ] {
        if let Some(b) = flag(name)? {
            *field = b;
        }
    }
    if let Some(version) = num("yuma_version")? {
        h.yuma3_enabled = version >= 3;
    }
    if let Some(b) = flag("yuma3_enabled")? {
        h.yuma3_enabled = b;
    }
    Ok(h)
}

/// `(name, value)` pairs of a struct, or of a list of entries that carry a name and a value.
fn named_entries(v: &Value) -> Result<Vec<(String, &Value)>, ChainError> {
    let inner = unwrap_to_struct(v);
    if let ValueDef::Composite(Composite::Named(fields)) = &inner.value {
        // A selective metagraph leaves out what was not asked for as `None`.
        return Ok(fields
            .iter()
            .filter(|(_, v)| !is_none(v))
            .map(|(n, v)| (n.clone(), v))
            .collect());
    }
    let items = seq(inner).map_err(|e| malformed("SubnetHyperparams", e))?;
    items
        .iter()
        .map(|entry| {
            let f = Fields::of("SubnetHyperparams entry", entry)?;
            let name = f.req("name")?;
            let name = match &unwrap(name).value {
                ValueDef::Primitive(Primitive::String(s)) => s.clone(),
                _ => text(name),
            };
            Ok((name, f.req("value")?))
        })
        .collect()
}

/// A subnet from `get_subnets_info` joined with its `get_dynamic_info` entry (either may be
/// missing on older runtimes).
pub(crate) fn subnet_info(
    netuid: NetUid,
    info: Option<&Value>,
    dynamic: Option<&Value>,
    now: Block,
) -> Result<SubnetInfo, ChainError> {
    let info = info.map(|v| Fields::of("SubnetInfo", v)).transpose()?;
    let dynamic = dynamic.map(|v| Fields::of("DynamicInfo", v)).transpose()?;
    let from = |f: Option<Fields<'_>>, name: &str| -> Result<Option<u64>, ChainError> {
        f.and_then(|f| f.opt(name).map(|_| f.u64(name))).transpose()
    };
    let owner_coldkey = match (
        dynamic.and_then(|d| d.opt("owner_coldkey")),
        info.and_then(|i| i.opt("owner")),
    ) {
        (Some(v), _) | (None, Some(v)) => {
            Coldkey(account(v).map_err(|e| malformed("owner_coldkey", e))?)
        }
        (None, None) => Coldkey(AccountId([0; 32])),
    };
    let owner_hotkey = dynamic
        .and_then(|d| d.opt("owner_hotkey"))
        .map(account)
        .transpose()
        .map_err(|e| malformed("owner_hotkey", e))?
        .map_or(Hotkey(AccountId([0; 32])), Hotkey);
    let since_last = from(dynamic, "blocks_since_last_step")?
        .or(from(info, "blocks_since_last_step")?)
        .unwrap_or(0);
    let pending = from(dynamic, "pending_alpha_emission")?.unwrap_or(0);
    Ok(SubnetInfo {
        netuid,
        owner_coldkey,
        owner_hotkey,
        n: from(info, "subnetwork_n")?.map_or(0, |n| u16::try_from(n).unwrap_or(u16::MAX)),
        max_allowed_uids: from(info, "max_allowed_uids")?
            .map_or(0, |n| u16::try_from(n).unwrap_or(u16::MAX)),
        tempo: from(dynamic, "tempo")?
            .or(from(info, "tempo")?)
            .map_or(0, |n| u16::try_from(n).unwrap_or(u16::MAX)),
        burn: Balance::from_rao(from(info, "burn")?.unwrap_or(0)),
        locked: Balance::ZERO,
        registered_at: Block(from(dynamic, "network_registered_at")?.unwrap_or(0)),
        last_epoch_block: Block(now.get().saturating_sub(since_last)),
        epoch_index: 0,
        emission_enabled: true,
        pending_emission: Balance::from_rao(pending),
    })
}

/// One entry of `StakeInfoRuntimeApi::get_stake_info_for_coldkey`.
pub(crate) fn stake_info(v: &Value) -> Result<StakeInfo, ChainError> {
    let f = Fields::of("StakeInfo", v)?;
    Ok(StakeInfo {
        coldkey: Coldkey(f.account("coldkey")?),
        hotkey: Hotkey(f.account("hotkey")?),
        netuid: NetUid(f.u16("netuid")?),
        stake: Balance::from_rao(f.u64("stake")?),
    })
}

/// `System.Account`'s free balance.
pub(crate) fn free_balance(v: &Value) -> Result<Balance, ChainError> {
    let account = Fields::of("AccountInfo", v)?;
    let data = Fields::of("AccountData", account.req("data")?)?;
    Ok(Balance::from_rao(data.u64("free")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(n: u128) -> Value {
        Value::u128(n)
    }

    fn newtype(v: Value) -> Value {
        Value::unnamed_composite([v])
    }

    fn acct(b: u8) -> Value {
        newtype(Value::unnamed_composite(
            (0..32).map(|_| num(u128::from(b))),
        ))
    }

    #[test]
    fn numbers_read_through_newtypes_and_options() {
        assert_eq!(uint(&newtype(newtype(num(7)))), Ok(7));
        assert_eq!(
            uint(&Value::variant("Some", Composite::Unnamed(vec![num(3)]))),
            Ok(3)
        );
        assert!(uint(&Value::bool(true)).is_err());
        assert!(is_none(&Value::variant("None", Composite::Unnamed(vec![]))));
        assert_eq!(account(&acct(9)), Ok(AccountId([9; 32])));
        let some = Value::variant("Some", Composite::Unnamed(vec![acct(4)]));
        assert_eq!(account(&some), Ok(AccountId([4; 32])));
        assert!(account(&newtype(Value::unnamed_composite([num(1)]))).is_err());
        assert!(bytes(&Value::unnamed_composite([num(300)])).is_err());
    }

    #[test]
    fn a_one_element_sequence_stays_a_sequence() {
        let one = Value::unnamed_composite([num(5)]);
        assert_eq!(seq(&one).map(<[Value]>::len), Ok(1));
        let some = Value::variant("Some", Composite::Unnamed(vec![one]));
        assert_eq!(seq(&some).map(<[Value]>::len), Ok(1));
        assert_eq!(uint(&seq(&some).unwrap()[0]), Ok(5));
    }

    #[test]
    fn hyperparameters_take_what_the_runtime_reports_and_default_the_rest() {
        let v = Value::named_composite([
            ("tempo", num(99)),
            ("kappa", newtype(num(100))),
            ("activity_cutoff", num(5000)),
            ("commit_reveal_weights_enabled", Value::bool(false)),
            (
                "alpha_sigmoid_steepness",
                newtype(Value::i128(1000i128 << 32)),
            ),
            ("yuma_version", num(2)),
            ("unknown_future_field", num(1)),
        ]);
        let h = hyperparameters(&Value::variant("Some", Composite::Unnamed(vec![v]))).unwrap();
        assert_eq!(h.tempo, 99);
        assert_eq!(h.kappa, 100);
        assert_eq!(h.activity_cutoff_blocks(), 5000);
        assert!(!h.commit_reveal_weights_enabled);
        assert_eq!(h.alpha_sigmoid_steepness, 1000);
        assert!(!h.yuma3_enabled);
        assert_eq!(h.min_burn, Hyperparameters::default().min_burn);

        // v3: named entries.
        let entry = |name: &str, value: Value| {
            Value::named_composite([
                (
                    "name",
                    Value::unnamed_composite(name.bytes().map(|b| num(u128::from(b)))),
                ),
                ("value", value),
            ])
        };
        let v3 = Value::unnamed_composite([
            entry("tempo", num(12)),
            entry("registration_allowed", num(0)),
        ]);
        let h = hyperparameters(&v3).unwrap();
        assert_eq!(h.tempo, 12);
        assert!(!h.registration_allowed);

        let bad = Value::named_composite([("tempo", Value::bool(true))]);
        assert!(matches!(
            hyperparameters(&bad),
            Err(ChainError::Decode { .. })
        ));
    }

    #[test]
    fn a_missing_required_field_is_named() {
        let v = Value::named_composite([("hotkey", acct(1))]);
        let err = neuron_lite(&v).unwrap_err();
        assert!(err.to_string().contains("gives no field `stake`"), "{err}");
    }
}
