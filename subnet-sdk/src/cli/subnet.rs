//! `subforge subnet …`: create and list subnets, read and set hyperparameters.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use subforge_core::NetUid;

use super::GlobalOpts;
use super::chain_opts::{ChainOpts, WalletOpts};
use crate::chain::Hyperparameter;

#[derive(Debug, Args)]
pub(crate) struct SubnetArgs {
    #[command(subcommand)]
    command: SubnetCommand,
    #[command(flatten)]
    chain: ChainOpts,
}

#[derive(Debug, Subcommand)]
enum SubnetCommand {
    /// List the subnet kinds this program can run (`--subnet NAME`), with their tasks and
    /// miner models. Needs no chain.
    Kinds {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Create a subnet owned by the wallet's coldkey (locking the lock cost); the wallet's
    /// hotkey takes uid 0.
    Create {
        #[command(flatten)]
        wallet: WalletOpts,
    },
    /// List the subnets.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a subnet's hyperparameters.
    Hyperparameters {
        /// The subnet.
        #[arg(long)]
        netuid: u16,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Set a hyperparameter (signed by the owner's coldkey, or the sudo key).
    Set {
        /// The subnet.
        #[arg(long)]
        netuid: u16,
        /// The hyperparameter, e.g. `tempo` or `commit_reveal_weights_enabled`.
        #[arg(long, value_name = "NAME")]
        param: Hyperparameter,
        /// The value: an integer (balances in rao), or true/false.
        #[arg(long, allow_hyphen_values = true)]
        value: String,
        #[command(flatten)]
        wallet: WalletOpts,
    },
}

/// `subnet kinds`: the registry's subnets.
fn kinds(json: bool, registry: &crate::registry::Registry) -> anyhow::Result<()> {
    if json {
        let out: Vec<serde_json::Value> = registry
            .kinds()
            .iter()
            .map(|k| {
                serde_json::json!({
                    "name": k.name(),
                    "about": k.about(),
                    "tasks": k.tasks().iter().map(|t| &t.name).collect::<Vec<_>>(),
                    "miner_models": k.miner_models().iter().map(|(m, _)| m).collect::<Vec<_>>(),
                    "miner_options": k.miner_options().iter().map(|o| o.name).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    if registry.kinds().is_empty() {
        println!("no subnets are linked into this program");
    }
    for k in registry.kinds() {
        let tasks: Vec<String> = k.tasks().into_iter().map(|t| t.name).collect();
        println!("{}: {}", k.name(), k.about());
        println!("  tasks: {}", tasks.join(", "));
        for (model, about) in k.miner_models() {
            println!("  miner model {model}: {about}");
        }
        for option in k.miner_options() {
            println!(
                "  miner setting --set {}={}: {}",
                option.name, option.value, option.about
            );
        }
    }
    Ok(())
}

fn parse_value(text: &str) -> anyhow::Result<i64> {
    match text.trim() {
        "true" | "on" => Ok(1),
        "false" | "off" => Ok(0),
        t => t
            .replace('_', "")
            .parse::<i64>()
            .with_context(|| format!("`{text}` is not an integer or true/false")),
    }
}

pub(crate) fn run(
    args: SubnetArgs,
    global: &GlobalOpts,
    registry: &crate::registry::Registry,
) -> anyhow::Result<()> {
    if let SubnetCommand::Kinds { json } = args.command {
        return kinds(json, registry);
    }
    let rt = super::runtime()?;
    rt.block_on(async move {
        let chain = args.chain.connect().await?;
        match args.command {
            SubnetCommand::Kinds { .. } => unreachable!("handled without a chain"),
            SubnetCommand::Create { wallet } => {
                let hotkey = wallet.hotkeypub(global)?;
                let coldkey = wallet.coldkey(global)?;
                let cost = chain.info().await?.subnet_lock_cost;
                let netuid = chain.create_subnet(&coldkey, &hotkey).await?;
                println!("created subnet {netuid} (locked {cost}); owner hotkey {hotkey} is uid 0");
            }
            SubnetCommand::List { json } => {
                let subnets = chain.subnets().await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&subnets)?);
                } else if subnets.is_empty() {
                    println!("no subnets");
                } else {
                    println!(
                        "{:>6}  {:>9}  {:>6}  {:>20}  {:>8}  owner",
                        "netuid", "neurons", "tempo", "burn", "emission"
                    );
                    for s in subnets {
                        println!(
                            "{:>6}  {:>4}/{:<4}  {:>6}  {:>20}  {:>8}  {}",
                            s.netuid,
                            s.n,
                            s.max_allowed_uids,
                            s.tempo,
                            s.burn.to_string(),
                            if s.emission_enabled { "on" } else { "off" },
                            s.owner_coldkey
                        );
                    }
                }
            }
            SubnetCommand::Hyperparameters { netuid, json } => {
                let h = chain.hyperparameters(NetUid(netuid)).await?;
                let value = serde_json::to_value(&h)?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&value)?);
                } else if let Some(map) = value.as_object() {
                    println!("hyperparameters of subnet {netuid}");
                    for (k, v) in map {
                        println!("  {k:<30} {v}");
                    }
                }
            }
            SubnetCommand::Set {
                netuid,
                param: name,
                value,
                wallet,
            } => {
                let value = parse_value(&value)?;
                if value < 0 && name != Hyperparameter::AlphaSigmoidSteepness {
                    bail!("{name} cannot be negative");
                }
                let coldkey = wallet.coldkey(global)?;
                chain
                    .set_hyperparameter(&coldkey, NetUid(netuid), name, value)
                    .await?;
                println!("subnet {netuid}: {name} = {value}");
            }
        }
        Ok(())
    })
}
