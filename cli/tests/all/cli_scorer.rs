//! `subforge scorer inspect` and `subforge scorer run` as a person uses them.

use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};
use subforge_core::{Scorer, Task};
use subforge_example_wasm_scorer::{EditDistance, TextMatch, sample};

use crate::run::{self, ok};
use crate::wasm_guest_build::guest_modules;

fn subforge(args: &[&str]) -> Output {
    run::subforge().args(args).output().unwrap()
}

/// Asserts a failure with one `error: <Name>: …` line.
fn fails_with(out: &Output, name: &str) {
    let err = run::fails_with(out, "");
    assert!(err.starts_with(&format!("error: {name}: ")), "{err}");
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn inspect_shows_task_hashes_limits_and_exports() {
    let module = &guest_modules().scorer;
    let text = ok(&subforge(&["scorer", "inspect", path(module)]));
    let hash = hex::encode(TextMatch::schema().hash());
    assert!(text.contains("task:          TextMatch\n"), "{text}");
    assert!(text.contains(&format!("schema hash:   {hash}\n")), "{text}");
    assert!(
        text.contains("fuel 1000000000, memory 268435456 bytes"),
        "{text}"
    );
    assert!(
        text.contains("  subforge_score: function [i32 i32] -> [i64]\n"),
        "{text}"
    );

    let info: Value = serde_json::from_str(&ok(&subforge(&[
        "scorer",
        "inspect",
        path(module),
        "--json",
    ])))
    .unwrap();
    assert_eq!(info["task"], "TextMatch");
    assert_eq!(info["schema_hash"], hash);
    assert_eq!(info["abi"], 1);
    assert_eq!(info["limits"]["fuel"], 1_000_000_000u64);
    assert_eq!(info["limits"]["wall_clock"], 30_000);
    assert_eq!(info["cache"], "disabled");
    let exports: Vec<&str> = info["exports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e[0].as_str().unwrap())
        .collect();
    for name in [
        "memory",
        "subforge_abi_v1",
        "subforge_alloc",
        "subforge_describe",
        "subforge_score",
    ] {
        assert!(exports.contains(&name), "{exports:?}");
    }
}

#[test]
fn run_prints_the_scores_and_the_fuel_used() {
    let dir = tempfile::tempdir().unwrap();
    let (task, reference, responses) = sample::challenge(5, 12, 60);
    let input = dir.path().join("input.json");
    std::fs::write(
        &input,
        serde_json::to_vec(&json!({"task": task, "reference": reference, "responses": responses}))
            .unwrap(),
    )
    .unwrap();
    let out = ok(&subforge(&[
        "scorer",
        "run",
        path(&guest_modules().scorer),
        "--input",
        path(&input),
    ]));
    let receipt: Value = serde_json::from_str(&out).unwrap();
    let scores: Vec<f64> = serde_json::from_value(receipt["scores"].clone()).unwrap();
    let native = EditDistance.score(&task, &reference, &responses).unwrap();
    assert_eq!(
        scores.iter().map(|s| s.to_bits()).collect::<Vec<_>>(),
        native.iter().map(|s| s.to_bits()).collect::<Vec<_>>()
    );
    assert!(receipt["fuel_used"].as_u64().unwrap() > 0);
    assert_eq!(receipt["task"], "TextMatch");
    assert_eq!(receipt["engine_hash"].as_str().unwrap().len(), 64);

    // A manifest beside a copy of the module starves it: the error's name leads the line.
    let module = dir.path().join("starved.wasm");
    std::fs::copy(&guest_modules().scorer, &module).unwrap();
    std::fs::write(dir.path().join("starved.toml"), "[limits]\nfuel = 200000\n").unwrap();
    fails_with(
        &subforge(&["scorer", "run", path(&module), "--input", path(&input)]),
        "FuelExhausted",
    );

    // An input that is not a scoring input.
    std::fs::write(&input, "{\"task\": 1}").unwrap();
    let out = subforge(&[
        "scorer",
        "run",
        path(&guest_modules().scorer),
        "--input",
        path(&input),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a scoring input"));
}

#[test]
fn hostile_modules_fail_with_the_error_name() {
    let dir = tempfile::tempdir().unwrap();
    let wasi = dir.path().join("wasi.wasm");
    std::fs::write(
        &wasi,
        wat::parse_str(
            r#"(module (import "wasi_snapshot_preview1" "fd_write"
                (func (param i32 i32 i32 i32) (result i32))) (memory (export "memory") 1))"#,
        )
        .unwrap(),
    )
    .unwrap();
    fails_with(
        &subforge(&["scorer", "inspect", path(&wasi)]),
        "ForbiddenImport",
    );
    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"\0asm junk").unwrap();
    fails_with(
        &subforge(&["scorer", "inspect", path(&junk)]),
        "InvalidModule",
    );
    fails_with(
        &subforge(&["scorer", "inspect", path(&dir.path().join("absent.wasm"))]),
        "Io",
    );
}
