//! `subforge wallet balance` and `subforge wallet overview`: what a wallet holds on a chain, as
//! `btcli` users know them. Only public keys are read; no password is asked.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use serde::Serialize;
use subforge_core::{Balance, Block, Coldkey, Metagraph, NetUid, Uid};

use super::chain_opts::ChainOpts;
use crate::chain::Chain;
use crate::wallet::{self, Wallet};

/// One wallet's coldkey on the chain.
#[derive(Debug, Serialize)]
struct BalanceRow {
    wallet: String,
    coldkey: String,
    /// Transferable balance.
    free: Balance,
    /// Stake by subnet, in each subnet's stake unit (TAO on the local chain; the subnet's
    /// alpha on a dynamic-TAO chain).
    staked: BTreeMap<u16, Balance>,
}

/// The wallets named, or all of them.
fn wallet_names(dir: &Path, name: Option<&str>) -> anyhow::Result<Vec<String>> {
    match name {
        Some(n) => Ok(vec![n.to_owned()]),
        None => {
            let all = wallet::list_wallets(dir)?;
            if all.is_empty() {
                bail!("no wallets in {}", dir.display());
            }
            Ok(all)
        }
    }
}

fn coldkey_of(dir: &Path, name: &str) -> anyhow::Result<Coldkey> {
    Wallet::new(dir, name, wallet::DEFAULT_NAME)?
        .coldkeypub()
        .with_context(|| format!("wallet `{name}`"))
}

/// `wallet balance`: free balance and stake of each wallet's coldkey.
pub(super) fn balance(
    dir: &Path,
    name: Option<&str>,
    chain: &ChainOpts,
    json: bool,
) -> anyhow::Result<()> {
    let names = wallet_names(dir, name)?;
    let rt = super::runtime()?;
    let rows = rt.block_on(async {
        let chain = chain.connect().await?;
        let mut rows = Vec::new();
        for name in &names {
            let coldkey = coldkey_of(dir, name)?;
            let free = chain.balance(&coldkey.0).await?;
            let mut staked: BTreeMap<u16, Balance> = BTreeMap::new();
            for s in chain.stakes(&coldkey).await? {
                let entry = staked.entry(s.netuid.get()).or_insert(Balance::ZERO);
                *entry = entry.saturating_add(s.stake);
            }
            rows.push(BalanceRow {
                wallet: name.clone(),
                coldkey: coldkey.to_ss58(),
                free,
                staked,
            });
        }
        anyhow::Ok(rows)
    })?;
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!(
        "{:<16}  {:<48}  {:>24}  staked",
        "wallet", "coldkey", "free"
    );
    let mut total = Balance::ZERO;
    for r in &rows {
        total = total.saturating_add(r.free);
        let staked = if r.staked.is_empty() {
            "-".to_owned()
        } else {
            r.staked
                .iter()
                .map(|(netuid, s)| format!("{s} on {netuid}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        println!(
            "{:<16}  {:<48}  {:>24}  {staked}",
            r.wallet,
            r.coldkey,
            r.free.to_string()
        );
    }
    if rows.len() > 1 {
        println!(
            "{:<16}  {:<48}  {:>24}",
            "total free",
            "",
            total.to_string()
        );
    }
    Ok(())
}

/// One hotkey's neuron on one subnet.
#[derive(Debug, Serialize)]
struct NeuronRow {
    hotkey_name: String,
    hotkey: String,
    netuid: u16,
    uid: u16,
    stake: Balance,
    incentive: f64,
    dividends: f64,
    consensus: f64,
    validator_trust: f64,
    validator_permit: bool,
    emission: Balance,
    /// Blocks since the neuron's last weights.
    updated: u64,
    axon: Option<String>,
}

/// `wallet overview`: every hotkey of a wallet on every subnet it holds a uid on.
pub(super) fn overview(
    dir: &Path,
    name: &str,
    chain: &ChainOpts,
    json: bool,
) -> anyhow::Result<()> {
    let w = Wallet::new(dir, name, wallet::DEFAULT_NAME)?;
    let coldkey = coldkey_of(dir, name)?;
    let mut hotkeys = Vec::new();
    for hk in w.hotkey_names()? {
        let key = w
            .with_hotkey(&hk)?
            .hotkeypub()
            .with_context(|| format!("hotkey `{hk}` of wallet `{name}`"))?;
        hotkeys.push((hk, key));
    }
    let rt = super::runtime()?;
    let (free, rows) = rt.block_on(async {
        let chain = chain.connect().await?;
        let free = chain.balance(&coldkey.0).await?;
        let mut metagraphs: BTreeMap<u16, Metagraph> = BTreeMap::new();
        let mut rows = Vec::new();
        for (hk, key) in &hotkeys {
            for (netuid, uid) in chain.registrations(key).await? {
                let m = metagraph(&chain, &mut metagraphs, netuid).await?;
                rows.push(neuron_row(hk, &key.to_ss58(), m, netuid, uid));
            }
        }
        anyhow::Ok((free, rows))
    })?;
    if json {
        let out = serde_json::json!({
            "wallet": name,
            "coldkey": coldkey.to_ss58(),
            "free": free,
            "neurons": rows,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!("wallet {name}  coldkey {}  free {free}", coldkey.to_ss58());
    if rows.is_empty() {
        println!("no hotkey of this wallet holds a uid on any subnet");
        return Ok(());
    }
    println!(
        "{:<12}  {:>6}  {:>5}  {:>20}  {:>7}  {:>7}  {:>7}  {:>7}  {:>6}  {:>16}  {:>7}  axon",
        "hotkey",
        "netuid",
        "uid",
        "stake",
        "incent",
        "divs",
        "cons",
        "vtrust",
        "permit",
        "emission",
        "updated"
    );
    for r in &rows {
        println!(
            "{:<12}  {:>6}  {:>5}  {:>20}  {:>7.5}  {:>7.5}  {:>7.5}  {:>7.5}  {:>6}  {:>16}  {:>7}  {}",
            r.hotkey_name,
            r.netuid,
            r.uid,
            r.stake.to_string(),
            r.incentive,
            r.dividends,
            r.consensus,
            r.validator_trust,
            if r.validator_permit { "yes" } else { "no" },
            r.emission.to_string(),
            r.updated,
            r.axon.as_deref().unwrap_or("-"),
        );
    }
    Ok(())
}

/// The metagraph of `netuid`, read once per overview.
async fn metagraph<'a>(
    chain: &Arc<dyn Chain>,
    cache: &'a mut BTreeMap<u16, Metagraph>,
    netuid: NetUid,
) -> anyhow::Result<&'a Metagraph> {
    match cache.entry(netuid.get()) {
        std::collections::btree_map::Entry::Occupied(e) => Ok(e.into_mut()),
        std::collections::btree_map::Entry::Vacant(e) => {
            Ok(e.insert(chain.metagraph(netuid).await?))
        }
    }
}

fn neuron_row(hk: &str, hotkey: &str, m: &Metagraph, netuid: NetUid, uid: Uid) -> NeuronRow {
    let i = uid.index();
    let since = |b: Option<&Block>| b.map_or(0, |b| m.block.since(*b));
    NeuronRow {
        hotkey_name: hk.to_owned(),
        hotkey: hotkey.to_owned(),
        netuid: netuid.get(),
        uid: uid.0,
        stake: m.stake.get(i).copied().unwrap_or(Balance::ZERO),
        incentive: m.incentive.get(i).map_or(0.0, |p| p.as_f64()),
        dividends: m.dividends.get(i).map_or(0.0, |p| p.as_f64()),
        consensus: m.consensus.get(i).map_or(0.0, |p| p.as_f64()),
        validator_trust: m.validator_trust.get(i).map_or(0.0, |p| p.as_f64()),
        validator_permit: m.validator_permit.get(i).copied().unwrap_or(false),
        emission: m.emission.get(i).copied().unwrap_or(Balance::ZERO),
        updated: since(m.last_update.get(i)),
        axon: m
            .axons
            .get(i)
            .filter(|a| a.is_serving())
            .map(|a| a.socket_addr().to_string()),
    }
}
