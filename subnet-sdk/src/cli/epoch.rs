//! `subforge epoch …`: run Yuma Consensus epochs offline.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use subforge_core::consensus::scenario::Scenario;

use super::GlobalOpts;

/// Largest scenario file read, so a mistaken path cannot exhaust memory.
const MAX_SCENARIO_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, Args)]
pub(crate) struct EpochArgs {
    #[command(subcommand)]
    command: EpochCommand,
}

#[derive(Debug, Subcommand)]
enum EpochCommand {
    /// Replay a scenario (JSON: uids, stake, weights, registrations, epochs) through the
    /// chain's epoch and print one JSON object per epoch, one per line.
    ///
    /// The format is described in docs/consensus.md; docs/consensus/ holds examples.
    Simulate {
        /// The scenario file (`-` reads standard input).
        #[arg(long, value_name = "FILE")]
        scenario: PathBuf,
    },
}

pub(crate) fn run(args: EpochArgs, _global: &GlobalOpts) -> anyhow::Result<()> {
    match args.command {
        EpochCommand::Simulate { scenario } => simulate(&scenario),
    }
}

fn simulate(path: &PathBuf) -> anyhow::Result<()> {
    let shown = path.display();
    let text = read_limited(path).with_context(|| format!("cannot read scenario {shown}"))?;
    let scenario = Scenario::from_json(&text).with_context(|| shown.to_string())?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for report in scenario.replay() {
        let report = report.with_context(|| shown.to_string())?;
        serde_json::to_writer(&mut out, &report)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

fn read_limited(path: &PathBuf) -> anyhow::Result<String> {
    let mut text = String::new();
    let reader: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(File::open(path)?)
    };
    reader
        .take(MAX_SCENARIO_BYTES + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_SCENARIO_BYTES {
        bail!("the file is larger than {MAX_SCENARIO_BYTES} bytes");
    }
    Ok(text)
}
