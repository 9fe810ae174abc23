//! The text subnet as the Subforge runtime sees it: `--subnet text`.

use std::sync::Arc;

use async_trait::async_trait;
use subforge_core::{Caller, HandlerError, MinerHandler};
use subforge_sdk::net::{ChunkSink, Endpoint, StreamHandler, TaskEndpoint};
use subforge_sdk::registry::{
    CompletionSpec, MinerOption, MinerRoutes, MinerSpec, Subnet, SubnetError, SubnetRegistration,
    SubnetTask, TaskSpec,
};

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
pub const SCORER_WASM: &[u8] = subforge_sdk::embedded_scorer!("subforge_subnet_text_scorer");

/// The text subnet.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextSubnet;

inventory::submit! { SubnetRegistration(&TextSubnet) }

/// A miner model, as named on the command line (`--model`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Model {
    Ngram(usize),
    Junk,
    Llm,
}

impl TextSubnet {
    /// The task validators ask: continue a passage, scored by ROUGE-L against the true
    /// continuation; the gateway answers with the miners' consensus.
    pub fn generation(&self) -> TaskSpec<TextGeneration> {
        TaskSpec::new(
            || {
                Ok(Arc::new(PassageGenerator::new(
                    World::generate(WORLD_SEED),
                    MAX_WORDS,
                )))
            },
            RougeL,
        )
        .wasm(SCORER_WASM)
        .gateway(Endpoint::<TextGeneration>::answered_best_by(consensus))
    }

    fn model(&self, spec: &MinerSpec) -> Result<Model, SubnetError> {
        let default = if spec.option("llm-endpoint").is_some() {
            "llm"
        } else {
            "ngram"
        };
        let model = spec.model_or(default);
        match model.name {
            "ngram" => Ok(Model::Ngram(model.param_in(1..=MAX_ORDER, DEFAULT_ORDER)?)),
            "junk" => model.no_param().map(|()| Model::Junk),
            "llm" => model.no_param().map(|()| Model::Llm),
            _ => Err(SubnetError::unknown_model(model.text, &self.miner_models())),
        }
    }

    /// The handler a miner of `spec` answers with.
    pub fn handler(
        &self,
        spec: &MinerSpec,
    ) -> Result<Arc<dyn MinerHandler<TextGeneration>>, SubnetError> {
        Ok(match self.model(spec)? {
            Model::Ngram(order) => Arc::new(NgramMiner::train(&World::generate(WORLD_SEED), order)),
            Model::Junk => Arc::new(JunkMiner::new(spec.parse("seed")?.unwrap_or(0))),
            Model::Llm => {
                let endpoint = spec.option("llm-endpoint").ok_or_else(|| {
                    SubnetError::BadMinerSpec("the llm model needs --set llm-endpoint=URL".into())
                })?;
                let api = match spec.option("llm-api") {
                    None | Some("completions") => LlmApi::Completions,
                    Some("chat") => LlmApi::Chat,
                    Some(other) => {
                        return Err(SubnetError::BadOption {
                            name: "llm-api".into(),
                            value: other.into(),
                            reason: "use completions or chat".into(),
                        });
                    }
                };
                let model_name = spec.option("llm-model").unwrap_or("default");
                let mut miner = LlmMiner::new(endpoint, model_name, api).map_err(|e| {
                    SubnetError::BadOption {
                        name: "llm-endpoint".into(),
                        value: endpoint.into(),
                        reason: e.to_string(),
                    }
                })?;
                if let Some(var) = spec.option("llm-api-key-env") {
                    let key = std::env::var(var).map_err(|_| SubnetError::BadOption {
                        name: "llm-api-key-env".into(),
                        value: var.into(),
                        reason: "the environment variable is not set".into(),
                    })?;
                    miner = miner.with_api_key(key);
                }
                Arc::new(miner)
            }
        })
    }
}

impl Subnet for TextSubnet {
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
                "forwards to an OpenAI-compatible endpoint (--set llm-endpoint=URL)",
            ),
        ]
    }

    fn miner_options(&self) -> Vec<MinerOption> {
        vec![
            MinerOption {
                name: "llm-endpoint",
                value: "URL",
                about: "the OpenAI-compatible endpoint an llm miner forwards to, e.g. http://127.0.0.1:8000/v1",
            },
            MinerOption {
                name: "llm-model",
                value: "NAME",
                about: "the model name to ask the endpoint for",
            },
            MinerOption {
                name: "llm-api",
                value: "API",
                about: "the endpoint's API: completions (default) or chat",
            },
            MinerOption {
                name: "llm-api-key-env",
                value: "VAR",
                about: "read the endpoint's API key from this environment variable",
            },
            MinerOption {
                name: "seed",
                value: "N",
                about: "the junk miner's random seed",
            },
        ]
    }

    /// N-gram orders spread from 6 down to 1, and the last miner lazy (junk) when there are at
    /// least two.
    fn localnet_miners(&self, count: usize) -> Vec<MinerSpec> {
        let good = if count >= 2 { count - 1 } else { count };
        let mut out: Vec<MinerSpec> = (0..good)
            .map(|i| {
                let order = if good == 1 {
                    6
                } else {
                    6 - (5 * i + (good - 1) / 2) / (good - 1)
                };
                MinerSpec::model(format!("ngram:{order}"))
            })
            .collect();
        if count >= 2 {
            out.push(MinerSpec::model("junk"));
        }
        out
    }

    /// Every miner also streams its continuation word by word (`TextGenerationStream`).
    fn miner(&self, spec: &MinerSpec) -> Result<MinerRoutes, SubnetError> {
        let handler = self.handler(spec)?;
        Ok(MinerRoutes::new(move |axon| {
            axon.serve::<TextGeneration, _>(handler.clone())
                .stream::<TextStream, _>(WordByWord(handler))
        }))
    }

    fn tasks(&self) -> Vec<Arc<dyn SubnetTask>> {
        vec![self.generation().into()]
    }

    fn endpoints(&self) -> Vec<Arc<dyn TaskEndpoint>> {
        vec![
            SubnetTask::endpoint(&self.generation()),
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
            assert!(TextSubnet.handler(&spec).is_ok(), "{spec:?}");
        }
    }

    #[test]
    fn model_names() {
        let model = |m: &str| TextSubnet.model(&MinerSpec::model(m));
        assert_eq!(model("ngram:1"), Ok(Model::Ngram(1)));
        assert_eq!(model("ngram"), Ok(Model::Ngram(DEFAULT_ORDER)));
        assert_eq!(model("junk"), Ok(Model::Junk));
        assert_eq!(
            TextSubnet.model(&MinerSpec::default().with("llm-endpoint", "http://x")),
            Ok(Model::Llm)
        );
        for bad in ["ngram:0", "ngram:9", "ngram:x", "junk:2"] {
            assert!(
                matches!(model(bad), Err(SubnetError::BadModelParameter { model, .. }) if model == bad),
                "{bad}"
            );
        }
        for bad in ["gpt", ""] {
            assert!(
                matches!(model(bad), Err(SubnetError::UnknownModel { model, known }) if model == bad && known.contains("ngram:4")),
                "{bad}"
            );
        }
        assert!(matches!(
            TextSubnet.handler(&MinerSpec::model("llm")),
            Err(SubnetError::BadMinerSpec(m)) if m.contains("llm-endpoint")
        ));
        assert!(matches!(
            TextSubnet.handler(&MinerSpec::model("junk").with("seed", "x")),
            Err(SubnetError::BadOption { name, .. }) if name == "seed"
        ));
    }

    /// Registration through `inventory` still works beside the explicit builder.
    #[test]
    fn linking_the_crate_registers_the_subnet() {
        let linked = subforge_sdk::registry::Registry::linked();
        assert_eq!(linked.get("text").map(|k| k.name()), Ok("text"));
    }

    #[test]
    fn only_declared_settings_are_accepted() {
        let declared = TextSubnet.miner_options();
        assert!(
            MinerSpec::model("llm")
                .with("llm-endpoint", "http://127.0.0.1:1/v1")
                .with("llm-api", "chat")
                .check_options(&declared)
                .is_ok()
        );
        assert!(matches!(
            MinerSpec::model("ngram").with("temperature", "2").check_options(&declared),
            Err(SubnetError::UnknownOption { name, known }) if name == "temperature" && known.contains("llm-endpoint")
        ));
    }
}
