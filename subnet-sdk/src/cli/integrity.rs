//! `subforge integrity`: evidence of weight copying, of what a cabal can do, and of miners
//! answering alike, from a chain and from validator transcripts.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use futures::StreamExt;
use subforge_core::integrity::{
    AnswerParams, AnswerStep, CopyingParams, EpochWeights, IntegrityReport, WeightsHistory,
    cabal_effect, detect_alike_answers, detect_weight_copying, epoch_input,
};
use subforge_core::{Block, Metagraph, NetUid, Uid};

use super::GlobalOpts;
use super::chain_opts::ChainOpts;
use crate::audit::Transcript;
use crate::chain::{Chain, ChainError};

/// `subforge integrity`.
#[derive(Debug, Args)]
pub(crate) struct IntegrityArgs {
    /// The subnet.
    #[arg(long)]
    netuid: u16,
    /// Weight snapshots to compare, one per tempo, the newest now: copying shows over three or
    /// more [default: 4]. The older ones are read back where the chain keeps past state (a
    /// subtensor archive node), else taken live as the tempos pass. 1 reads the chain once and
    /// skips the copying analysis.
    #[arg(long, default_value_t = 4, value_name = "N")]
    epochs: u32,
    /// Give up waiting for blocks after this long without one, in seconds.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    block_timeout: u64,
    /// Validator transcripts (files or folders) to look for miners answering alike.
    #[arg(long, value_name = "PATH")]
    transcripts: Vec<PathBuf>,
    /// Uids of validators suspected of colluding: report what their stake can do for the
    /// `--favoured` miners under the exact consensus.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "UIDS",
        requires = "favoured"
    )]
    cabal: Vec<u16>,
    /// Uids of the miners the `--cabal` would push.
    #[arg(long, value_delimiter = ',', value_name = "UIDS", requires = "cabal")]
    favoured: Vec<u16>,
    /// Treat answers that this share of miners gives in a step as the common right answer,
    /// not as copying (0 to 1; for tasks with one right answer, e.g. 0.5) [default: off].
    #[arg(long, value_name = "SHARE")]
    common_answer_share: Option<f64>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    chain: ChainOpts,
}

pub(crate) fn run(args: IntegrityArgs, _global: &GlobalOpts) -> anyhow::Result<()> {
    if args.epochs == 0 {
        bail!("--epochs 0 reads nothing");
    }
    if let Some(share) = args.common_answer_share
        && !(0.0..=1.0).contains(&share)
    {
        bail!("--common-answer-share {share}: give a share from 0 to 1");
    }
    let steps = answer_steps(&args.transcripts)?;
    let netuid = NetUid(args.netuid);
    super::runtime()?.block_on(async move {
        let chain = args.chain.connect().await?;
        let wait = Duration::from_secs(args.block_timeout.max(1));
        let (metagraph, history) = weight_history(chain.as_ref(), netuid, args.epochs, wait).await?;

        let mut report = IntegrityReport::default();
        report.extend(
            detect_weight_copying(&history, &CopyingParams::default()).into_findings(),
        );
        let mut params = AnswerParams::default();
        if let Some(share) = args.common_answer_share {
            params.common_answer_share = share;
        }
        let scan = detect_alike_answers(&steps, &params);
        for skipped in &scan.skipped {
            eprintln!(
                "step {}: {} answers over the comparison cap and {} too long were not compared for near-copies",
                skipped.step, skipped.over_cap, skipped.too_long
            );
        }
        report.extend(scan.into_findings());
        if !args.cabal.is_empty() {
            let uids = |v: &[u16]| v.iter().map(|&u| Uid(u)).collect::<Vec<_>>();
            let cabal = cabal_effect(
                &epoch_input(&metagraph),
                &uids(&args.cabal),
                &uids(&args.favoured),
            )
            .context("cannot run the consensus for the cabal")?;
            report.push(cabal);
        }
        report.sort();
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            println!(
                "subnet {netuid}: {} weight snapshots (blocks {}), {} transcript steps",
                history.epochs.len(),
                history
                    .epochs
                    .iter()
                    .map(|e| e.block.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                steps.len()
            );
            println!("{report}");
        }
        Ok(())
    })
}

/// `epochs` weight snapshots of `netuid`, one per tempo, the newest at the head block, and the
/// head's metagraph. The past ones are read at once where the chain keeps past state (an
/// archive node, or a full node for its recent blocks); otherwise, or where the subnet is
/// younger than the span asked for, the rest are taken live as the chain makes them.
async fn weight_history(
    chain: &dyn Chain,
    netuid: NetUid,
    epochs: u32,
    wait: Duration,
) -> anyhow::Result<(Metagraph, WeightsHistory)> {
    let head = chain.metagraph_with_weights(netuid, None).await?;
    let every = u64::from(head.tempo).max(1) + 1;
    let wanted = epochs as usize;
    let mut history = WeightsHistory::default();
    history.epochs.push(EpochWeights::from_metagraph(&head));

    // Back from the head, one tempo at a time, no further than the subnet's registration: a
    // netuid is reused after a subnet is dissolved, and older blocks are another subnet's.
    let founded = match chain.subnet(netuid).await {
        Ok(info) => info.registered_at,
        Err(_) => Block(0),
    };
    let mut block = head.block;
    while history.epochs.len() < wanted {
        let Some(earlier) = block.0.checked_sub(every) else {
            break;
        };
        block = Block(earlier);
        if block < founded {
            eprintln!("subnet {netuid} was registered at block {founded}");
            break;
        }
        match chain.metagraph_with_weights(netuid, Some(block)).await {
            Ok(m) => history.epochs.push(EpochWeights::from_metagraph(&m)),
            Err(ChainError::Unsupported { what }) => {
                eprintln!("this chain does not support {what}");
                break;
            }
            Err(e) => {
                eprintln!("cannot read block {block}: {e}");
                break;
            }
        }
    }
    history.epochs.reverse();

    // The rest, live.
    let mut latest = head;
    if history.epochs.len() < wanted {
        let mut headers = chain.block_headers().await?;
        let mut next = latest.block.0.saturating_add(every);
        eprintln!(
            "taking {} more weight snapshots live, one every {every} blocks from block {}",
            wanted - history.epochs.len(),
            latest.block
        );
        while history.epochs.len() < wanted {
            let header = tokio::time::timeout(wait, headers.next())
                .await
                .with_context(|| format!("no block for {}s", wait.as_secs()))?
                .context("the chain's block stream ended")?;
            if header.number.0 >= next {
                latest = chain.metagraph_with_weights(netuid, None).await?;
                history.epochs.push(EpochWeights::from_metagraph(&latest));
                next = header.number.0.saturating_add(every);
            }
        }
    }
    Ok((latest, history))
}

/// The miners' answers of every transcript step, by validator and step.
fn answer_steps(paths: &[PathBuf]) -> anyhow::Result<Vec<AnswerStep>> {
    let files = crate::audit::files(paths)?;
    // Steps of different validators are different steps; number them in one sequence.
    let mut by_key: BTreeMap<(String, u64), AnswerStep> = BTreeMap::new();
    for file in &files {
        let t = Transcript::read(file).with_context(|| file.display().to_string())?;
        let answers = t.answers();
        by_key.insert(
            (t.validator.to_ss58(), t.step),
            AnswerStep { step: 0, answers },
        );
    }
    Ok(by_key
        .into_values()
        .enumerate()
        .map(|(i, mut s)| {
            s.step = i as u64;
            s
        })
        .collect())
}
