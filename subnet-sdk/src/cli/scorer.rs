//! `subforge scorer …`: inspect a WASM scoring module and run it on a recorded input.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use clap::{Args, Subcommand};

use super::GlobalOpts;
use crate::wasm::{EngineConfig, ScorerModule, ScoringEngine, ScoringInput, WasmError};

#[derive(Debug, Args)]
pub(crate) struct ScorerArgs {
    #[command(subcommand)]
    command: ScorerCommand,
    /// Cache compiled modules in this folder (compiled anew each run without it).
    #[arg(long, global = true, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum ScorerCommand {
    /// Show the task a module scores, its schema hash, limits and exports.
    Inspect {
        /// The module (`.wasm`); limits come from the manifest beside it (`.toml`), if any.
        module: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Score a recorded input and print the scores and fuel used as JSON.
    ///
    /// The input is `{"task": .., "reference": .., "responses": [..]}`, each response shaped
    /// like a MinerResponse (uid, hotkey as SS58, status, message, latency in microseconds,
    /// payload, signature_verified). On failure the error's name leads the message.
    Run {
        /// The module (`.wasm`); limits come from the manifest beside it (`.toml`), if any.
        module: PathBuf,
        /// The input JSON file.
        #[arg(long, value_name = "FILE")]
        input: PathBuf,
    },
}

/// Puts the error's name first, so scripts can match on it.
fn named(e: WasmError) -> anyhow::Error {
    anyhow!("{}: {e}", e.name())
}

fn load(cache_dir: Option<PathBuf>, module: &Path) -> anyhow::Result<ScorerModule> {
    let config = EngineConfig {
        cache_dir,
        ..EngineConfig::default()
    };
    let engine = ScoringEngine::new(config).map_err(named)?;
    engine.load_file(module).map_err(named)
}

pub(crate) fn run(args: ScorerArgs, _global: &GlobalOpts) -> anyhow::Result<()> {
    match args.command {
        ScorerCommand::Inspect { module, json } => {
            let info = load(args.cache_dir, &module)?.info();
            if json {
                println!("{}", serde_json::to_string_pretty(&info)?);
                return Ok(());
            }
            let l = &info.limits;
            println!("task:          {}", info.task);
            println!("schema hash:   {}", info.schema_hash);
            println!("module sha256: {}", info.module_sha256);
            println!("engine hash:   {}", info.engine_hash);
            println!("abi:           v{}", info.abi);
            println!(
                "limits:        fuel {}, memory {} bytes, input {} bytes, output {} bytes, \
                 wall clock {} ms",
                l.fuel,
                l.memory_bytes,
                l.max_input_bytes,
                l.max_output_bytes,
                l.wall_clock.as_millis()
            );
            println!("exports:");
            for (name, kind) in &info.exports {
                println!("  {name}: {kind}");
            }
            println!(
                "imports:{}",
                if info.imports.is_empty() { " none" } else { "" }
            );
            for (name, kind) in &info.imports {
                println!("  {name}: {kind}");
            }
            Ok(())
        }
        ScorerCommand::Run { module, input } => {
            let module = load(args.cache_dir, &module)?;
            // JSON is at most a few times larger than the encoded input it becomes.
            let cap = module.limits().max_input_bytes.saturating_mul(4) + (1 << 20);
            let mut text = Vec::new();
            std::fs::File::open(&input)
                .with_context(|| format!("{}", input.display()))?
                .take(cap + 1)
                .read_to_end(&mut text)
                .with_context(|| format!("{}", input.display()))?;
            if text.len() as u64 > cap {
                return Err(named(WasmError::InputTooLarge {
                    size: text.len() as u64,
                    limit: cap,
                }));
            }
            let parsed: ScoringInput = serde_json::from_slice(&text)
                .with_context(|| format!("{} is not a scoring input", input.display()))?;
            let receipt = module.score_json(&parsed).map_err(named)?;
            println!("{}", serde_json::to_string_pretty(&receipt)?);
            Ok(())
        }
    }
}
