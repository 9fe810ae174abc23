//! `subforge audit TRANSCRIPT...`: checks validator transcripts.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use sha2::{Digest, Sha256};

use super::GlobalOpts;
use crate::audit::{AuditReport, Transcript, audit};
use crate::registry::Registry;
use crate::wasm::{Limits, ScorerModule, ScoringEngine};

/// `subforge audit`.
#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    /// Transcript files, or folders of them (`step-*.json`).
    #[arg(required = true, value_name = "TRANSCRIPT")]
    transcripts: Vec<PathBuf>,
    /// Re-score with this WASM module [default: the module the transcript names, among the
    /// subnets this program carries].
    #[arg(long, value_name = "FILE")]
    module: Vec<PathBuf>,
    /// Print one JSON report per transcript.
    #[arg(long)]
    json: bool,
}

/// The modules at hand by SHA-256: the files given (loaded now, so a bad file is reported at
/// once) and every module the program's subnets ship (compiled when a transcript names it).
struct Modules<'e> {
    engine: &'e ScoringEngine,
    loaded: HashMap<String, ScorerModule>,
    shipped: HashMap<String, &'static [u8]>,
}

impl<'e> Modules<'e> {
    fn new(
        engine: &'e ScoringEngine,
        files: &[PathBuf],
        registry: &Registry,
    ) -> anyhow::Result<Self> {
        let mut loaded = HashMap::new();
        for file in files {
            let module = engine
                .load_file(file)
                .with_context(|| format!("cannot load {}", file.display()))?;
            loaded.insert(module.sha256().to_string(), module);
        }
        let mut shipped = HashMap::new();
        for kind in registry.kinds() {
            for task in kind.validated_tasks() {
                if let Some(bytes) = task.wasm_module() {
                    shipped.insert(hex::encode(Sha256::digest(bytes)), bytes);
                }
            }
        }
        Ok(Self {
            engine,
            loaded,
            shipped,
        })
    }

    /// The module of SHA-256 `sha` (lowercase hex), if at hand.
    fn get(&mut self, sha: &str) -> anyhow::Result<Option<&ScorerModule>> {
        if !self.loaded.contains_key(sha) {
            let Some(bytes) = self.shipped.get(sha) else {
                return Ok(None);
            };
            let module = self
                .engine
                .load(bytes, Limits::default())
                .with_context(|| format!("cannot load the shipped module {sha}"))?;
            self.loaded.insert(sha.to_owned(), module);
        }
        Ok(self.loaded.get(sha))
    }
}

fn line(path: &std::path::Path, r: &AuditReport) -> String {
    let head = format!(
        "{}: step {} (block {}, {}, {} responses, {} signed)",
        path.display(),
        r.step,
        r.block,
        r.task,
        r.responses,
        r.signed
    );
    if r.agrees() {
        format!(
            "{head}: agrees bit for bit (scores, averages{})",
            if r.weights { ", weights" } else { "" }
        )
    } else {
        let findings: Vec<String> = r.findings.iter().map(ToString::to_string).collect();
        format!("{head}: DOES NOT AGREE: {}", findings.join("; "))
    }
}

pub(crate) fn run(
    args: AuditArgs,
    _global: &GlobalOpts,
    registry: &Registry,
) -> anyhow::Result<()> {
    let engine = ScoringEngine::shared().context("cannot start the WASM engine")?;
    let mut modules = Modules::new(&engine, &args.module, registry)?;
    let mut disagreements = 0usize;
    let files = crate::audit::files(&args.transcripts)?;
    for path in &files {
        let transcript = Transcript::read(path).with_context(|| format!("{}", path.display()))?;
        let named = transcript.scorer.module_sha256.to_ascii_lowercase();
        let Some(module) = modules.get(&named)? else {
            bail!(
                "{}: scored by module {named}, which is neither given (--module FILE) nor shipped by a subnet of this program",
                path.display()
            );
        };
        let report = audit(&transcript, module);
        if !report.agrees() {
            disagreements += 1;
        }
        if args.json {
            println!("{}", serde_json::to_string(&report)?);
        } else {
            println!("{}", line(path, &report));
        }
    }
    if disagreements > 0 {
        bail!(
            "{disagreements} of {} transcripts do not follow from their own data",
            files.len()
        );
    }
    Ok(())
}
