//! `subforge schema TASK`: a task's JSON Schemas (task and response).

use anyhow::Context;
use clap::Args;

use super::GlobalOpts;
use crate::registry::Registry;

/// Print a task's JSON Schema (its task and response types) as JSON.
#[derive(Debug, Args)]
pub(crate) struct SchemaArgs {
    /// The task name, e.g. `TextGeneration`.
    task: String,
}

pub(crate) fn run(
    args: SchemaArgs,
    _global: &GlobalOpts,
    registry: &Registry,
) -> anyhow::Result<()> {
    let schema = registry.task(&args.task).with_context(|| {
        let known: Vec<String> = registry
            .kinds()
            .iter()
            .flat_map(|k| k.tasks())
            .map(|t| t.name)
            .collect();
        format!("no task `{}`; known tasks: {}", args.task, known.join(", "))
    })?;
    let out = serde_json::json!({
        "name": schema.name,
        "schema_hash": hex::encode(schema.hash()),
        "task": schema.task,
        "response": schema.response,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
