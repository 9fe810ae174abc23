//! Hostile modules, written as WAT: each one ends with its typed error within its limit, the
//! host carries on, and a thousand of them in a row leave the host's memory flat.

use std::sync::OnceLock;
use std::time::Duration;

use serde_json::json;
use subforge_guest::abi::InputWriter;
use subforge_sdk::wasm::{EngineConfig, Limits, ScorerModule, ScoringEngine, WasmError};

const MIB: u64 = 1 << 20;

/// Grows memory a megabyte at a time and writes to every page of it, so the growth is real.
const TOUCHING_BOMB: &str = "(local $p i32) (local $end i32)
    (loop $grow
        (local.set $p (i32.mul (memory.grow (i32.const 16)) (i32.const 65536)))
        (local.set $end (i32.add (local.get $p) (i32.const 1048576)))
        (loop $touch
            (i32.store8 (local.get $p) (i32.const 1))
            (local.set $p (i32.add (local.get $p) (i32.const 4096)))
            (br_if $touch (i32.lt_u (local.get $p) (local.get $end))))
        (br $grow))
    (unreachable)";
const DESCRIPTION: &str = r#"{"name":"Hostile","task":{},"response":{}}"#;

/// Limits small enough that every hostile call ends quickly; the wall clock stays generous so
/// that fuel, never the machine's load, decides.
fn limits() -> Limits {
    Limits {
        fuel: 5_000_000,
        memory_bytes: 16 * MIB,
        max_input_bytes: 64 * 1024,
        max_output_bytes: MIB,
        wall_clock: Duration::from_secs(60),
    }
}

fn engine() -> &'static ScoringEngine {
    static ENGINE: OnceLock<ScoringEngine> = OnceLock::new();
    ENGINE.get_or_init(|| ScoringEngine::new(EngineConfig::default()).unwrap())
}

/// `(len << 32) | ptr` as a WAT expression.
fn reply(ptr: u32, len: u64) -> String {
    format!("(i64.or (i64.shl (i64.const {len}) (i64.const 32)) (i64.const {ptr}))")
}

/// An ABI v1 module in WAT whose parts a test replaces. By default it is well formed: it
/// describes task `Hostile` and scores any input with an empty list.
struct Wat {
    imports: &'static str,
    memory: &'static str,
    marker: &'static str,
    alloc: String,
    describe: String,
    score: String,
    extra: &'static str,
}

impl Default for Wat {
    fn default() -> Self {
        Self {
            imports: "",
            memory: r#"(memory (export "memory") 1)"#,
            marker: r#"(func (export "subforge_abi_v1"))"#,
            // Grows memory by enough pages and hands out the new space.
            alloc: "(i32.mul (memory.grow (i32.add (i32.shr_u (local.get $len) (i32.const 16)) \
                    (i32.const 1))) (i32.const 65536))"
                .into(),
            describe: reply(16, 1 + DESCRIPTION.len() as u64),
            score: reply(8, 5),
            extra: "",
        }
    }
}

impl Wat {
    fn with_score(body: impl Into<String>) -> Self {
        Self {
            score: body.into(),
            ..Self::default()
        }
    }

    fn text(&self) -> String {
        let description = DESCRIPTION.replace('"', "\\\"");
        format!(
            r#"(module
                {imports}
                {memory}
                (data (i32.const 8) "\00\00\00\00\00")
                (data (i32.const 16) "\00{description}")
                {marker}
                (func (export "subforge_alloc") (param $len i32) (result i32) {alloc})
                (func (export "subforge_describe") (result i64) {describe})
                (func (export "subforge_score") (param $ptr i32) (param $len i32) (result i64)
                    {score})
                {extra})"#,
            imports = self.imports,
            memory = self.memory,
            marker = self.marker,
            alloc = self.alloc,
            describe = self.describe,
            score = self.score,
            extra = self.extra,
        )
    }

    fn bytes(&self) -> Vec<u8> {
        wat::parse_str(self.text()).unwrap()
    }

    fn load(&self) -> Result<ScorerModule, WasmError> {
        self.load_into(engine())
    }

    fn load_into(&self, engine: &ScoringEngine) -> Result<ScorerModule, WasmError> {
        engine.load(&self.bytes(), limits())
    }
}

fn input(responses: usize) -> Vec<u8> {
    let mut w = InputWriter::new(&json!({}), &json!(null)).unwrap();
    for uid in 0..responses {
        let head = subforge_guest::abi::ResponseHead {
            uid: uid as u16,
            hotkey: [7; 32],
            status: 200,
            latency_micros: 1000,
            signature_verified: true,
            message: "Success",
        };
        w.push(&head, Some(&json!(uid))).unwrap();
    }
    w.finish()
}

/// Loads a well-formed module and runs one call on an empty input.
fn call(wat: Wat) -> Result<Vec<f64>, WasmError> {
    let module = wat.load().unwrap();
    module.score_encoded(&input(0), 0).map(|r| r.scores)
}

#[test]
fn a_well_formed_module_scores() {
    let module = Wat::default().load().unwrap();
    assert_eq!(module.schema().name, "Hostile");
    let receipt = module.score_encoded(&input(0), 0).unwrap();
    assert!(receipt.scores.is_empty());
    assert!(
        receipt.fuel_used > 0 && receipt.fuel_used < 100,
        "{}",
        receipt.fuel_used
    );
    // Fuel is deterministic: the same call costs the same.
    assert_eq!(module.score_encoded(&input(0), 0).unwrap(), receipt);
}

#[test]
fn infinite_loop_runs_out_of_fuel() {
    let err = call(Wat::with_score("(loop $l (br $l)) (unreachable)")).unwrap_err();
    match err {
        WasmError::FuelExhausted { fuel_used } => assert_eq!(fuel_used, limits().fuel),
        other => panic!("{other:?}"),
    }
}

#[test]
fn loop_in_the_start_function_runs_out_of_fuel_at_load() {
    let wat = Wat {
        extra: "(func $spin (loop $l (br $l))) (start $spin)",
        ..Wat::default()
    };
    match wat.load().unwrap_err() {
        WasmError::FuelExhausted { fuel_used } => assert_eq!(fuel_used, limits().fuel),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bulk_memory_is_charged_per_byte() {
    // One `memory.fill` of 60 KiB per iteration: a few operators, but 61,440 fuel.
    let err = call(Wat::with_score(
        "(loop $l (memory.fill (i32.const 1024) (i32.const 0) (i32.const 61440)) (br $l)) \
         (unreachable)",
    ))
    .unwrap_err();
    assert!(matches!(err, WasmError::FuelExhausted { fuel_used } if fuel_used == limits().fuel));
}

#[test]
fn memory_bomb_hits_the_memory_limit() {
    for body in [
        // Grow until refused.
        "(loop $l (drop (memory.grow (i32.const 16))) (br $l)) (unreachable)",
        // Grow and touch every new megabyte.
        TOUCHING_BOMB,
    ] {
        match call(Wat::with_score(body)).unwrap_err() {
            WasmError::MemoryLimit { requested, limit } => {
                assert_eq!(limit, 16 * MIB);
                assert!(requested > limit && requested <= limit + MIB, "{requested}");
            }
            other => panic!("{body}: {other:?}"),
        }
    }
}

#[test]
fn an_initial_memory_above_the_limit_is_refused_before_instantiation() {
    let wat = Wat {
        memory: r#"(memory (export "memory") 1000)"#,
        ..Wat::default()
    };
    match wat.load().unwrap_err() {
        WasmError::MemoryLimit { requested, limit } => {
            assert_eq!((requested, limit), (1000 * 65536, 16 * MIB));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn tables_are_capped() {
    let wat = Wat {
        extra: "(table 1000000 funcref)",
        ..Wat::default()
    };
    assert!(matches!(
        wat.load().unwrap_err(),
        WasmError::MemoryLimit {
            requested: 1_000_000,
            limit: 100_000
        }
    ));
    let wat = Wat {
        extra: "(table $t 1 funcref)",
        score: format!(
            "(loop $l (drop (table.grow $t (ref.null func) (i32.const 50000))) (br $l)) {}",
            reply(8, 5)
        ),
        ..Wat::default()
    };
    let err = wat.load().unwrap().score_encoded(&input(0), 0).unwrap_err();
    assert!(
        matches!(err, WasmError::MemoryLimit { limit: 100_000, .. }),
        "{err:?}"
    );
}

#[test]
fn deep_recursion_overflows_the_stack() {
    let wat = Wat {
        score: "(call $down (i64.const 0))".into(),
        extra: "(func $down (param i64) (result i64) \
                (i64.add (call $down (i64.add (local.get 0) (i64.const 1))) (i64.const 1)))",
        ..Wat::default()
    };
    match call(wat).unwrap_err() {
        WasmError::StackOverflow { limit } => assert_eq!(limit, 512 * 1024),
        other => panic!("{other:?}"),
    }
}

#[test]
fn traps_carry_their_message() {
    match call(Wat::with_score("(unreachable)")).unwrap_err() {
        WasmError::Trap { message } => assert!(message.contains("unreachable"), "{message}"),
        other => panic!("{other:?}"),
    }
    match call(Wat::with_score(
        "(drop (i32.div_u (i32.const 1) (i32.const 0))) (unreachable)",
    ))
    .unwrap_err()
    {
        WasmError::Trap { message } => assert!(message.contains("divide by zero"), "{message}"),
        other => panic!("{other:?}"),
    }
    match call(Wat::with_score(
        "(drop (i32.load (i32.const -4))) (unreachable)",
    ))
    .unwrap_err()
    {
        WasmError::Trap { message } => assert!(message.contains("out of bounds"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn panics_reach_the_host_with_their_message() {
    let panicking = |ptr: i64, len: u32| Wat {
        imports: r#"(import "subforge" "panic" (func $panic (param i32 i32)))"#,
        extra: r#"(data (i32.const 200) "boom: index out of bounds")"#,
        score: format!("(call $panic (i32.const {ptr}) (i32.const {len})) (unreachable)"),
        ..Wat::default()
    };
    match call(panicking(200, 4)).unwrap_err() {
        WasmError::GuestPanic { message } => assert_eq!(message, "boom"),
        other => panic!("{other:?}"),
    }
    match call(panicking(-16, 100)).unwrap_err() {
        WasmError::GuestPanic { message } => assert!(message.contains("unreadable"), "{message}"),
        other => panic!("{other:?}"),
    }
    // A message longer than the memory is cut, not read past its end.
    match call(panicking(200, u32::MAX)).unwrap_err() {
        WasmError::GuestPanic { message } => assert_eq!(message.len(), 4096),
        other => panic!("{other:?}"),
    }
}

#[test]
fn oversized_output_is_refused() {
    match call(Wat::with_score(reply(0, 2 * MIB))).unwrap_err() {
        WasmError::OutputTooLarge { size, limit } => assert_eq!((size, limit), (2 * MIB, MIB)),
        other => panic!("{other:?}"),
    }
    // Within the limit but past the end of memory.
    match call(Wat::with_score(reply(0x7fff_0000, 1000))).unwrap_err() {
        WasmError::MalformedOutput(m) => assert!(m.contains("outside"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn garbage_output_is_refused() {
    let with_reply = |bytes: &'static str, len: u64| Wat {
        extra: bytes,
        score: reply(300, len),
        ..Wat::default()
    };
    // An unknown status byte.
    let err = call(with_reply(r#"(data (i32.const 300) "\07garbage")"#, 8)).unwrap_err();
    assert!(matches!(err, WasmError::MalformedOutput(_)), "{err:?}");
    // An empty reply.
    let err = call(with_reply("", 0)).unwrap_err();
    assert!(matches!(err, WasmError::MalformedOutput(_)), "{err:?}");
    // Ok, but a count that does not match the length.
    let err = call(with_reply(r#"(data (i32.const 300) "\00\09\00\00\00")"#, 5)).unwrap_err();
    assert!(matches!(err, WasmError::MalformedOutput(_)), "{err:?}");
    // One score for zero responses.
    let err = call(with_reply(
        r#"(data (i32.const 300) "\00\01\00\00\00\00\00\00\00\00\00\f0\3f")"#,
        13,
    ))
    .unwrap_err();
    assert!(
        matches!(
            err,
            WasmError::InvalidScores(subforge_core::ScoreError::WrongCount {
                expected: 0,
                got: 1
            })
        ),
        "{err:?}"
    );
    // A NaN score.
    let module = with_reply(
        r#"(data (i32.const 300) "\00\01\00\00\00\00\00\00\00\00\00\f8\7f")"#,
        13,
    )
    .load()
    .unwrap();
    let err = module.score_encoded(&input(1), 1).unwrap_err();
    assert!(
        matches!(
            err,
            WasmError::InvalidScores(subforge_core::ScoreError::InvalidScore { index: 0, .. })
        ),
        "{err:?}"
    );
    // The guest's own refusals.
    let err = call(with_reply(r#"(data (i32.const 300) "\01bad input")"#, 10)).unwrap_err();
    assert!(
        matches!(&err, WasmError::InputRejected(m) if m == "bad input"),
        "{err:?}"
    );
    let err = call(with_reply(r#"(data (i32.const 300) "\02no")"#, 3)).unwrap_err();
    assert!(
        matches!(&err, WasmError::ScoreFailed(m) if m == "no"),
        "{err:?}"
    );
}

#[test]
fn malformed_descriptions_are_refused_at_load() {
    for (data, len) in [
        (r#"(data (i32.const 300) "\00not json")"#, 9),
        (
            r#"(data (i32.const 300) "\00{\"name\":\"bad name\",\"task\":{},\"response\":{}}")"#,
            46,
        ),
        (r#"(data (i32.const 300) "\02refused")"#, 8),
    ] {
        let wat = Wat {
            extra: data,
            describe: reply(300, len),
            ..Wat::default()
        };
        let err = wat.load().unwrap_err();
        assert!(
            matches!(err, WasmError::MalformedOutput(_)),
            "{data}: {err:?}"
        );
    }
}

#[test]
fn missing_or_mistyped_exports_are_refused() {
    let text = Wat::default().text();
    for (name, replacement) in [
        ("subforge_score", "nothing_here"),
        ("subforge_alloc", "alloc"),
        ("subforge_describe", "describe"),
    ] {
        let bytes =
            wat::parse_str(text.replace(&format!("\"{name}\""), &format!("\"{replacement}\"")))
                .unwrap();
        match engine().load(&bytes, limits()).unwrap_err() {
            WasmError::MissingExport(missing) => assert_eq!(missing, name),
            other => panic!("{name}: {other:?}"),
        }
    }
    let no_marker = Wat {
        marker: "",
        ..Wat::default()
    };
    match no_marker.load().unwrap_err() {
        WasmError::NoAbiMarker { found } => assert!(found.is_empty()),
        other => panic!("{other:?}"),
    }
    let future = Wat {
        marker: r#"(func (export "subforge_abi_v2"))"#,
        ..Wat::default()
    };
    match future.load().unwrap_err() {
        WasmError::NoAbiMarker { found } => assert_eq!(found, ["subforge_abi_v2"]),
        other => panic!("{other:?}"),
    }
    let wrong_type = Wat {
        marker: r#"(func (export "subforge_abi_v1") (result i32) (i32.const 1))"#,
        ..Wat::default()
    };
    assert!(matches!(
        wrong_type.load().unwrap_err(),
        WasmError::ExportType {
            name: "subforge_abi_v1",
            ..
        }
    ));
    let bytes = wat::parse_str(text.replace(
        "(param $ptr i32) (param $len i32) (result i64)",
        "(param $ptr i32) (param $len i64) (result i64)",
    ))
    .unwrap();
    assert!(matches!(
        engine().load(&bytes, limits()).unwrap_err(),
        WasmError::ExportType {
            name: "subforge_score",
            ..
        }
    ));
    let hidden_memory = Wat {
        memory: "(memory 1)",
        ..Wat::default()
    };
    assert!(matches!(
        hidden_memory.load().unwrap_err(),
        WasmError::MissingExport("memory")
    ));
    let no_memory = wat::parse_str(
        r#"(module (func (export "subforge_abi_v1"))
            (func (export "subforge_alloc") (param i32) (result i32) (i32.const 0))
            (func (export "subforge_describe") (result i64) (i64.const 0))
            (func (export "subforge_score") (param i32 i32) (result i64) (i64.const 0)))"#,
    )
    .unwrap();
    assert!(matches!(
        engine().load(&no_memory, limits()).unwrap_err(),
        WasmError::MissingExport("memory")
    ));
}

#[test]
fn imports_outside_the_host_namespace_are_refused() {
    for (import, module, name) in [
        (
            r#"(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))"#,
            "wasi_snapshot_preview1",
            "fd_write",
        ),
        (
            r#"(import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))"#,
            "wasi_snapshot_preview1",
            "proc_exit",
        ),
        (r#"(import "env" "abort" (func))"#, "env", "abort"),
        (
            r#"(import "env" "table" (table 1 funcref))"#,
            "env",
            "table",
        ),
        (r#"(import "env" "g" (global i32))"#, "env", "g"),
        (
            r#"(import "subforge" "clock" (func (result i64)))"#,
            "subforge",
            "clock",
        ),
        // Our name with another type: refused after compiling.
        (
            r#"(import "subforge" "panic" (func (param i64)))"#,
            "subforge",
            "panic",
        ),
    ] {
        let wat = Wat {
            imports: import,
            ..Wat::default()
        };
        match wat.load().unwrap_err() {
            WasmError::ForbiddenImport {
                module: m, name: n, ..
            } => {
                assert_eq!((m.as_str(), n.as_str()), (module, name));
            }
            other => panic!("{import}: {other:?}"),
        }
    }
    let imported_memory = Wat {
        imports: r#"(import "env" "memory" (memory 1))"#,
        memory: "",
        ..Wat::default()
    };
    assert!(matches!(
        imported_memory.load().unwrap_err(),
        WasmError::ForbiddenImport { .. }
    ));
}

#[test]
fn huge_data_segments_are_refused() {
    // An active segment far past the end of memory traps while instantiating.
    let out_of_bounds = Wat {
        extra: r#"(data (i32.const 0x7ffffff0) "0123456789abcdef0123456789")"#,
        ..Wat::default()
    };
    match out_of_bounds.load().unwrap_err() {
        WasmError::Trap { message } => assert!(message.contains("out of bounds"), "{message}"),
        other => panic!("{other:?}"),
    }
    // More data than the memory limit allows: refused before compiling.
    let big = "\\00".repeat(17 * MIB as usize);
    let text = Wat::default().text().replace(
        "(func (export \"subforge_abi_v1\"))",
        &format!("(func (export \"subforge_abi_v1\")) (data (i32.const 0) \"{big}\")"),
    );
    let bytes = wat::parse_str(&text).unwrap();
    match engine().load(&bytes, limits()).unwrap_err() {
        WasmError::MemoryLimit { requested, limit } => {
            assert_eq!(limit, 16 * MIB);
            assert!(requested >= 17 * MIB);
        }
        other => panic!("{other:?}"),
    }
    // A module larger than the host accepts is refused before parsing.
    let small_host = ScoringEngine::new(EngineConfig {
        max_module_bytes: MIB,
        ..EngineConfig::default()
    })
    .unwrap();
    match small_host.load(&bytes, limits()).unwrap_err() {
        WasmError::ModuleTooLarge { size, limit } => {
            assert_eq!(limit, MIB);
            assert_eq!(size, bytes.len() as u64);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn not_a_core_module_is_invalid() {
    for bytes in [
        b"garbage".to_vec(),
        b"\0asm\x01\0\0\0\x99".to_vec(),
        // A component's preamble.
        b"\0asm\x0d\0\x01\0".to_vec(),
        wat::parse_str(Wat::default().text().replace(
            "(memory (export \"memory\") 1)",
            "(memory (export \"memory\") i64 1)",
        ))
        .unwrap(),
        wat::parse_str(Wat::default().text().replace(
            "(memory (export \"memory\") 1)",
            "(memory (export \"memory\") 1 2 shared)",
        ))
        .unwrap(),
        wat::parse_str(Wat::default().text().replace(
            "(memory (export \"memory\") 1)",
            "(memory (export \"memory\") 1) (memory 1)",
        ))
        .unwrap(),
    ] {
        let err = engine().load(&bytes, limits()).unwrap_err();
        assert!(matches!(err, WasmError::InvalidModule(_)), "{err:?}");
    }
}

#[test]
fn bad_allocations_are_refused() {
    for alloc in ["(i32.const -16)", "(i32.const 0)", "(unreachable)"] {
        let wat = Wat {
            alloc: alloc.into(),
            ..Wat::default()
        };
        let module = wat.load().unwrap();
        let err = module.score_encoded(&input(1), 1).unwrap_err();
        match (alloc, err) {
            ("(unreachable)", WasmError::Trap { .. }) => {}
            (_, WasmError::BadAllocation { len, .. }) => assert_eq!(len as usize, input(1).len()),
            (_, other) => panic!("{alloc}: {other:?}"),
        }
    }
}

#[test]
fn inputs_over_the_limit_are_refused_before_the_call() {
    let module = Wat::default().load().unwrap();
    let big = input(2000);
    assert!(big.len() as u64 > limits().max_input_bytes);
    match module.score_encoded(&big, 2000).unwrap_err() {
        WasmError::InputTooLarge { size, limit } => {
            assert_eq!((size, limit), (big.len() as u64, limits().max_input_bytes));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_wall_clock_stops_what_fuel_would_not() {
    // Plenty of fuel (minutes of work), a short wall clock: only the backstop can end it.
    let module = engine()
        .load(
            &Wat::with_score(
                "(local $x i64) (loop $l (local.set $x (i64.div_u (i64.const -1) \
                 (i64.or (local.get $x) (i64.const 3)))) (br $l)) (unreachable)",
            )
            .bytes(),
            Limits {
                fuel: 100_000_000_000,
                wall_clock: Duration::from_millis(300),
                ..limits()
            },
        )
        .unwrap();
    match module.score_encoded(&input(0), 0).unwrap_err() {
        WasmError::WallClockTimeout { limit } => assert_eq!(limit, Duration::from_millis(300)),
        other => panic!("{other:?}"),
    }
}

/// The hostile modules that load fine and fail when called, with the error each must give.
fn failing_at_call(engine: &ScoringEngine) -> Vec<(ScorerModule, &'static str)> {
    let panics = Wat {
        imports: r#"(import "subforge" "panic" (func $panic (param i32 i32)))"#,
        score: "(call $panic (i32.const 16) (i32.const 8)) (unreachable)".into(),
        ..Wat::default()
    };
    let recursion = Wat {
        score: "(call $down (i64.const 0))".into(),
        extra: "(func $down (param i64) (result i64) \
                (i64.add (call $down (i64.add (local.get 0) (i64.const 1))) (i64.const 1)))",
        ..Wat::default()
    };
    [
        (
            Wat::with_score("(loop $l (br $l)) (unreachable)"),
            "FuelExhausted",
        ),
        (Wat::with_score(TOUCHING_BOMB), "MemoryLimit"),
        (recursion, "StackOverflow"),
        (Wat::with_score("(unreachable)"), "Trap"),
        (panics, "GuestPanic"),
        (Wat::with_score(reply(0, 2 * MIB)), "OutputTooLarge"),
        (Wat::with_score(reply(16, 20)), "MalformedOutput"),
    ]
    .into_iter()
    .map(|(wat, name)| (wat.load_into(engine).unwrap(), name))
    .collect()
}

fn resident_bytes() -> u64 {
    // The second field of statm is the resident set, in pages (4 KiB on x86-64 and aarch64 Linux).
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    statm
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 4096
}

#[test]
fn the_host_survives_and_stays_usable() {
    // Pooled instance slots (the default) and instances allocated afresh behave alike.
    let on_demand = ScoringEngine::new(EngineConfig {
        pooled_instances: 0,
        ..EngineConfig::default()
    })
    .unwrap();
    for engine in [engine(), &on_demand] {
        for (module, name) in failing_at_call(engine) {
            assert_eq!(module.score_encoded(&input(0), 0).unwrap_err().name(), name);
        }
        let module = Wat::default().load_into(engine).unwrap();
        assert!(
            module
                .score_encoded(&input(0), 0)
                .unwrap()
                .scores
                .is_empty()
        );
    }
}

#[test]
fn a_thousand_hostile_calls_leave_memory_flat() {
    // Measured in a process of its own, where no other test allocates meanwhile.
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "wasm_hostile::hostile_calls_in_a_row",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("1 passed"), "{stdout}");
}

#[test]
#[ignore = "run alone, in its own process, by a_thousand_hostile_calls_leave_memory_flat"]
fn hostile_calls_in_a_row() {
    let modules = failing_at_call(engine());
    let empty = input(0);
    let round = |calls: usize| {
        for i in 0..calls {
            let (module, name) = &modules[i % modules.len()];
            assert_eq!(module.score_encoded(&empty, 0).unwrap_err().name(), *name);
        }
    };
    // Warm up allocator pools and lazily built runtime structures first.
    round(100);
    let before = resident_bytes();
    round(1000);
    let after = resident_bytes();
    println!("resident before {before} after {after}");
    // Each memory bomb touches 16 MiB; a leak of even one instance per kind would exceed this.
    assert!(
        after <= before + 8 * MIB,
        "resident memory grew from {before} to {after} bytes"
    );
}
