//! The cargo-generate templates (`templates/`) make projects that build offline, pass their
//! own tests and work: the subnet template's binary runs a localnet in which the honest miner
//! out-earns the lazy one, and the scoring-module template builds for wasm32 and loads in
//! `subforge scorer`.
//!
//! Templates are rendered here as cargo-generate renders them, which for plain `{{name}}`
//! placeholders is substitution; anything else in double braces fails the test, because it
//! would need cargo-generate's Liquid engine. Generated projects build in a target folder of
//! their own (`<target>/template-check/target`) that stays warm between runs.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Longest a generated localnet may run before it counts as hung.
const HANG_GUARD: Duration = Duration::from_secs(300);

/// The Subforge checkout the generated projects depend on.
fn checkout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

/// `<target>/template-check`: the generated projects and their target folder.
fn check_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target folder")
        .join("template-check")
}

/// The target folder generated projects build in; `wasm-guest` inside it holds their wasm32
/// builds (the subnet's build script picks it too).
fn check_target() -> PathBuf {
    check_dir().join("target")
}

/// The placeholders of a render: cargo-generate's `project-name` and `crate_name`, and the
/// templates' `subforge_path`.
fn placeholders(project: &str) -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("project-name", project.to_owned()),
        ("crate_name", project.replace('-', "_")),
        (
            "subforge_path",
            checkout().to_str().expect("a UTF-8 path").to_owned(),
        ),
    ])
}

/// Substitutes `{{name}}` placeholders; any other Liquid syntax is an error.
fn substitute(text: &str, vars: &BTreeMap<&str, String>) -> Result<String, String> {
    if text.contains("{%") {
        return Err("a Liquid tag (`{%`)".into());
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or("an unclosed `{{`")?;
        let name = after[..end].trim();
        let value = vars
            .get(name)
            .ok_or_else(|| format!("`{{{{{name}}}}}`, not a plain known placeholder"))?;
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The files under `dir`, relative to it.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let Ok(entries) = fs::read_dir(dir.join(&rel)) else {
            continue;
        };
        for entry in entries {
            let entry = entry.unwrap();
            let rel = rel.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                stack.push(rel);
            } else {
                out.push(rel);
            }
        }
    }
    out
}

/// Writes `bytes` unless the file already holds them: unchanged files keep their times, so
/// cargo does not rebuild an unchanged project.
fn write_if_changed(path: &Path, bytes: &[u8]) {
    if fs::read(path).ok().as_deref() != Some(bytes) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    }
}

/// Renders `templates/<template>` into `dest` as `cargo generate` does: every file but
/// `cargo-generate.toml`, placeholders substituted; files the template no longer has are
/// removed. The project gets the workspace's `Cargo.lock` (again whenever that changes), so
/// it builds offline with exactly the versions already fetched; cargo trims it.
fn render(template: &str, project: &str, dest: &Path) {
    let source = checkout().join("templates").join(template);
    assert!(source.join("cargo-generate.toml").is_file(), "{template}");
    let vars = placeholders(project);
    let mut rendered = BTreeMap::new();
    for rel in files_under(&source) {
        if rel == Path::new("cargo-generate.toml") {
            continue;
        }
        let text = fs::read_to_string(source.join(&rel)).unwrap();
        let text = substitute(&text, &vars)
            .unwrap_or_else(|e| panic!("{template}/{}: {e}", rel.display()));
        rendered.insert(rel, text);
    }
    for rel in files_under(dest) {
        if rel != Path::new("Cargo.lock") && !rendered.contains_key(&rel) {
            fs::remove_file(dest.join(rel)).unwrap();
        }
    }
    for (rel, text) in &rendered {
        write_if_changed(&dest.join(rel), text.as_bytes());
    }
    let lock = fs::read(checkout().join("Cargo.lock")).unwrap();
    let copied = dest.with_extension("lock-source");
    if fs::read(&copied).ok() != Some(lock.clone()) || !dest.join("Cargo.lock").is_file() {
        fs::write(dest.join("Cargo.lock"), &lock).unwrap();
        fs::write(&copied, &lock).unwrap();
    }
}

/// `cargo ARGS` in `project`, offline, in the check's target folder (or `target`).
fn cargo(project: &Path, target: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO"))
        .current_dir(project)
        .args(args)
        .arg("--offline")
        .env("CARGO_TARGET_DIR", target)
        // The build script's scorer build must stay offline too.
        .env("CARGO_NET_OFFLINE", "true")
        // Incremental caches of throwaway projects only cost disk.
        .env("CARGO_INCREMENTAL", "0")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo {args:?} in {} failed ({}):\n{}\n{}",
        project.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Asserts the build of `package` gave no warnings (cargo replays them from its cache too).
fn no_warnings(out: &Output, package: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains(&format!("warning: `{package}`")),
        "{stderr}"
    );
}

/// Asserts the test run passed each of `tests`.
fn passed(out: &Output, tests: &[&str]) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    for test in tests {
        assert!(
            stdout.contains(&format!("{test} ... ok")),
            "{test} did not pass:\n{stdout}"
        );
    }
}

/// Runs `program ARGS` to completion, killing it if it hangs; returns stdout.
fn run_to_end(program: &Path, args: &[&str]) -> String {
    let logs = tempfile::tempdir().unwrap();
    let (out, err) = (logs.path().join("stdout"), logs.path().join("stderr"));
    let mut child = Command::new(program)
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out).unwrap())
        .stderr(fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + HANG_GUARD;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{} {args:?} hung", program.display());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stderr = fs::read_to_string(&err).unwrap();
    assert!(status.success(), "{args:?}: {status}\n{stderr}");
    fs::read_to_string(&out).unwrap()
}

/// A miner's row in a localnet report (`--json`).
fn miner<'a>(report: &'a Value, model: &str) -> &'a Value {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["role"]["Miner"] == model)
        .unwrap_or_else(|| panic!("no {model} miner in {report}"))
}

#[test]
fn the_subnet_template_makes_a_subnet_that_tests_and_runs() {
    let project = check_dir().join("src/demo-subnet");
    render("subnet", "demo-subnet", &project);

    let out = cargo(&project, &check_target(), &["test"]);
    no_warnings(&out, "demo-subnet");
    passed(
        &out,
        &[
            "scoring::tests::position_match_values",
            "generate::tests::the_same_seed_gives_the_same_challenge",
            "generate::tests::challenges_are_the_same_on_every_machine",
            "subnet::tests::localnet_miners_fall_in_quality_and_end_lazy",
            "subnet::tests::the_wasm_scorer_agrees_with_the_native_one",
        ],
    );
    cargo(&project, &check_target(), &["build"]);

    // The binary is the subforge command with the new subnet linked in.
    let binary = check_target().join("debug/demo-subnet");
    let kinds = run_to_end(&binary, &["subnet", "kinds", "--json"]);
    let kinds: Value = serde_json::from_str(&kinds).unwrap();
    assert_eq!(kinds.as_array().unwrap().len(), 1, "{kinds}");
    assert_eq!(kinds[0]["name"], "demo-subnet");
    assert_eq!(kinds[0]["tasks"], serde_json::json!(["SortNumbers"]));
    assert_eq!(
        kinds[0]["miner_models"],
        serde_json::json!(["sort", "bubble:N", "lazy"])
    );

    // A whole subnet: an honest, two sloppy and a lazy miner, a native and a WASM validator.
    let report = run_to_end(
        &binary,
        &[
            "localnet",
            "--subnet",
            "demo-subnet",
            // Under commit-reveal, weights set in one epoch count two epochs later.
            "--tempos",
            "4",
            "--tempo",
            "5",
            "--block-time-ms",
            "50",
            "--seed",
            "1",
            "--json",
        ],
    );
    let report: Value = serde_json::from_str(&report).unwrap();
    let (honest, lazy) = (miner(&report, "sort"), miner(&report, "lazy"));
    let earned = |row: &Value| row["earned"].as_u64().unwrap();
    assert!(
        earned(honest) > earned(lazy),
        "honest {honest} vs lazy {lazy}"
    );
    assert!(
        earned(miner(&report, "bubble:8")) > earned(lazy),
        "{report}"
    );
}

#[test]
fn the_wasm_scorer_template_makes_a_module_subforge_loads() {
    let project = check_dir().join("src/demo-scorer");
    render("wasm-scorer", "demo-scorer", &project);

    let out = cargo(&project, &check_target(), &["test"]);
    no_warnings(&out, "demo-scorer");
    passed(
        &out,
        &[
            "tests::closeness_values",
            "tests::one_score_per_response_and_failures_score_zero",
        ],
    );
    // The wasm32 build shares its folder (and so its dependencies) with the subnet's scorer.
    let wasm_target = check_target().join("wasm-guest");
    let out = cargo(
        &project,
        &wasm_target,
        &["build", "--release", "--target", "wasm32-unknown-unknown"],
    );
    no_warnings(&out, "demo-scorer");
    let module = wasm_target.join("wasm32-unknown-unknown/release/demo_scorer.wasm");
    let module = module.to_str().unwrap();

    let subforge = Path::new(env!("CARGO_BIN_EXE_subforge"));
    let info = run_to_end(subforge, &["scorer", "inspect", module, "--json"]);
    let info: Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["task"], "AddNumbers");
    assert_eq!(info["abi"], 1);

    let input = project.join("sample-input.json");
    let receipt = run_to_end(
        subforge,
        &["scorer", "run", module, "--input", input.to_str().unwrap()],
    );
    let receipt: Value = serde_json::from_str(&receipt).unwrap();
    assert_eq!(receipt["task"], "AddNumbers");
    assert_eq!(receipt["scores"], serde_json::json!([1.0, 0.25, 0.0]));
}
