//! The text subnet as the Subforge runtime sees it: `--subnet text`.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use subforge_core::{Caller, HandlerError, MinerHandler, Scorer, TaskGenerator};
use subforge_sdk::net::{AxonBuilder, ChunkSink, Endpoint, StreamHandler, TaskEndpoint};
use subforge_sdk::registry::{CompletionSpec, MinerSpec, Subnet, SubnetError, SubnetRegistration};
use subforge_sdk::wasm::{Limits, ScoringEngine, WasmScorer};

use crate::corpus::{WORLD_SEED, World};
use crate::generate::PassageGenerator;
use crate::llm::{LlmApi, LlmMiner};
use crate::miner::{JunkMiner, NgramMiner};
use crate::scoring::{RougeL, consensus};
use crate::task::{TextGeneration, TextStream};

/// Words validators ask for in each continuation.
pub const MAX_WORDS: u16 = 12;
/// The n-gram order of the default miner.
pub const DEFAULT_ORDER: usize = 4;
/// The largest n-gram order accepted.
pub const MAX_ORDER: usize = 8;

/// The text scorer as a WASM module (`subforge-subnet-text-scorer`, built by this crate's build
/// script from the same source as [`RougeL`]).
pub const SCORER_WASM: &[u8] = include_bytes!(env!("SUBFORGE_TEXT_SCORER_WASM"));

/// The text subnet.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextSubnet;

inventory::submit! { SubnetRegistration(&TextSubnet) }

fn parse_model(model: &str) -> Result<Model, SubnetError> {
    let bad = || {
        SubnetError::BadMinerSpec(format!(
            "unknown text miner model `{model}`: use ngram:N (N from 1 to {MAX_ORDER}), junk or llm"
        ))
    };
    match model {
        "junk" => Ok(Model::Junk),
        "llm" => Ok(Model::Llm),
        "ngram" => Ok(Model::Ngram(DEFAULT_ORDER)),
        m => {
            let order = m.strip_prefix("ngram:").ok_or_else(bad)?;
            let order: usize = order.parse().map_err(|_| bad())?;
            if (1..=MAX_ORDER).contains(&order) {
                Ok(Model::Ngram(order))
            } else {
                Err(bad())
            }
        }
    }
}

enum Model {
    Ngram(usize),
    Junk,
    Llm,
}

impl Subnet for TextSubnet {
    type Task = TextGeneration;

    fn name(&self) -> &'static str {
        "text"
    }

    fn about(&self) -> &'static str {
        "continue passages of text; answers scored by ROUGE-L against the true continuation"
    }

    fn miner_models(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            (
                "ngram:4",
                "a word 4-gram model trained at start-up (ngram:1 to ngram:8; higher remembers more)",
            ),
            ("junk", "random letters: a lazy miner, for demonstrations"),
            (
                "llm",
                "forwards to an OpenAI-compatible endpoint (--llm-endpoint, --llm-model)",
            ),
        ]
    }

    /// N-gram orders spread from 6 down to 1, and the last miner lazy (junk) when there are at
    /// least two.
    fn localnet_miners(&self, count: usize) -> Vec<MinerSpec> {
        let model = |m: String| MinerSpec {
            model: Some(m),
            ..MinerSpec::default()
        };
        let good = if count >= 2 { count - 1 } else { count };
        let mut out: Vec<MinerSpec> = (0..good)
            .map(|i| {
                let order = if good == 1 {
                    6
                } else {
                    6 - (5 * i + (good - 1) / 2) / (good - 1)
                };
                model(format!("ngram:{order}"))
            })
            .collect();
        if count >= 2 {
            out.push(model("junk".to_owned()));
        }
        out
    }

    fn miner(
        &self,
        spec: &MinerSpec,
    ) -> Result<Arc<dyn MinerHandler<TextGeneration>>, SubnetError> {
        let model = match (&spec.model, &spec.llm_endpoint) {
            (Some(m), _) => parse_model(m)?,
            (None, Some(_)) => Model::Llm,
            (None, None) => Model::Ngram(DEFAULT_ORDER),
        };
        Ok(match model {
            Model::Ngram(order) => Arc::new(NgramMiner::train(&World::generate(WORLD_SEED), order)),
            Model::Junk => {
                let seed = spec
                    .options
                    .get("seed")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                Arc::new(JunkMiner::new(seed))
            }
            Model::Llm => {
                let endpoint = spec.llm_endpoint.as_deref().ok_or_else(|| {
                    SubnetError::BadMinerSpec("the llm model needs --llm-endpoint URL".into())
                })?;
                let api = match spec.options.get("llm-api").map(String::as_str) {
                    None | Some("completions") => LlmApi::Completions,
                    Some("chat") => LlmApi::Chat,
                    Some(other) => {
                        return Err(SubnetError::BadMinerSpec(format!(
                            "llm-api `{other}`: use completions or chat"
                        )));
                    }
                };
                let model_name = spec.llm_model.as_deref().unwrap_or("default");
                let mut miner = LlmMiner::new(endpoint, model_name, api)
                    .map_err(|e| SubnetError::BadMinerSpec(e.to_string()))?;
                if let Some(key) = &spec.llm_api_key {
                    miner = miner.with_api_key(key.clone());
                }
                Arc::new(miner)
            }
        })
    }

    fn generator(&self) -> Result<Arc<dyn TaskGenerator<TextGeneration>>, SubnetError> {
        Ok(Arc::new(PassageGenerator::new(
            World::generate(WORLD_SEED),
            MAX_WORDS,
        )))
    }

    fn scorer(&self) -> Arc<dyn Scorer<TextGeneration>> {
        Arc::new(RougeL)
    }

    fn wasm_scorer(
        &self,
        module: Option<&Path>,
    ) -> Result<Arc<dyn Scorer<TextGeneration>>, SubnetError> {
        let wasm = |e: subforge_sdk::wasm::WasmError| SubnetError::Scorer(e.to_string());
        let engine = ScoringEngine::shared().map_err(wasm)?;
        let scorer = match module {
            Some(path) => WasmScorer::load(&engine, path).map_err(wasm)?,
            None => WasmScorer::new(engine.load(SCORER_WASM, Limits::default()).map_err(wasm)?)
                .map_err(wasm)?,
        };
        Ok(Arc::new(scorer))
    }

    /// Every miner also streams its continuation word by word (`TextGenerationStream`).
    fn routes(
        &self,
        axon: AxonBuilder,
        handler: Arc<dyn MinerHandler<TextGeneration>>,
    ) -> AxonBuilder {
        axon.serve::<TextGeneration, _>(handler.clone())
            .stream::<TextStream, _>(WordByWord(handler))
    }

    fn endpoints(&self) -> Vec<Arc<dyn TaskEndpoint>> {
        vec![
            Endpoint::<TextGeneration>::answered_best_by(consensus),
            Endpoint::<TextStream>::streamed(),
        ]
    }

    /// A prompt is a passage's beginning; `max_tokens` counts words here.
    fn completions(&self) -> Option<CompletionSpec> {
        Some(CompletionSpec {
            model: "subforge-text",
            task: <TextGeneration as subforge_core::Task>::NAME,
            stream_task: Some(<TextStream as subforge_core::Task>::NAME),
            request: |prompt, max_tokens| {
                let words =
                    max_tokens.map_or(COMPLETION_WORDS, |m| u16::try_from(m).unwrap_or(u16::MAX));
                serde_json::json!({ "prompt": prompt, "max_words": words })
            },
            text: |answer| {
                answer
                    .get("text")
                    .and_then(|t| t.as_str())
                    .map(str::to_owned)
            },
        })
    }
}

/// Words a completion has when the caller gives no `max_tokens`.
pub const COMPLETION_WORDS: u16 = 32;

/// Streams a miner's continuation one word at a time.
struct WordByWord(Arc<dyn MinerHandler<TextGeneration>>);

#[async_trait]
impl StreamHandler<TextStream> for WordByWord {
    async fn stream(
        &self,
        task: TextStream,
        caller: &Caller,
        sink: ChunkSink,
    ) -> Result<(), HandlerError> {
        let completion = self.0.forward(task.into(), caller).await?;
        for (i, word) in completion.text.split_whitespace().enumerate() {
            let chunk = if i == 0 {
                word.to_owned()
            } else {
                format!(" {word}")
            };
            if sink.send(chunk).await.is_err() {
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localnet_miners_fall_in_quality_and_end_with_junk() {
        let models = |n| {
            TextSubnet
                .localnet_miners(n)
                .into_iter()
                .map(|s| s.model.unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(models(1), ["ngram:6"]);
        assert_eq!(models(2), ["ngram:6", "junk"]);
        assert_eq!(models(4), ["ngram:6", "ngram:3", "ngram:1", "junk"]);
        assert_eq!(
            models(6),
            [
                "ngram:6", "ngram:5", "ngram:3", "ngram:2", "ngram:1", "junk"
            ]
        );
        // Every model in the line-up is one the subnet can build.
        for spec in TextSubnet.localnet_miners(4) {
            assert!(TextSubnet.miner(&spec).is_ok(), "{spec:?}");
        }
    }

    #[test]
    fn model_names() {
        assert!(matches!(parse_model("ngram:1"), Ok(Model::Ngram(1))));
        assert!(matches!(
            parse_model("ngram"),
            Ok(Model::Ngram(DEFAULT_ORDER))
        ));
        assert!(matches!(parse_model("junk"), Ok(Model::Junk)));
        for bad in ["ngram:0", "ngram:9", "ngram:x", "gpt", ""] {
            assert!(parse_model(bad).is_err(), "{bad}");
        }
        let spec = MinerSpec {
            model: Some("llm".into()),
            ..MinerSpec::default()
        };
        assert!(
            matches!(TextSubnet.miner(&spec), Err(SubnetError::BadMinerSpec(m)) if m.contains("--llm-endpoint"))
        );
    }
}
