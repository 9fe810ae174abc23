//! Everything that can go wrong loading or running a scoring module, one variant per cause.

use std::path::PathBuf;
use std::time::Duration;

use subforge_core::ScoreError;

/// Why a scoring module could not be loaded or could not score.
#[derive(Debug, thiserror::Error)]
pub enum WasmError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The engine could not be built from its configuration.
    #[error("the WASM engine could not be created: {0}")]
    Engine(String),
    /// The module file is larger than the host accepts.
    #[error("the module is {size} bytes; the limit is {limit}")]
    ModuleTooLarge {
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Not a valid core WebAssembly module, or one using features the engine refuses.
    #[error("invalid module: {0}")]
    InvalidModule(String),
    /// The module has no `subforge_abi_vN` marker for a version this host runs.
    #[error("the module does not declare a Subforge ABI version this host runs (found: {found:?})")]
    NoAbiMarker {
        /// The markers it does export.
        found: Vec<String>,
    },
    /// A required export is absent.
    #[error("the module does not export `{0}`")]
    MissingExport(&'static str),
    /// An export has the wrong kind or type.
    #[error("export `{name}` must be {expected}, found {found}")]
    ExportType {
        /// The export.
        name: &'static str,
        /// What ABI v1 requires.
        expected: &'static str,
        /// What the module has.
        found: String,
    },
    /// An import outside the `subforge` host namespace (WASI, `env`, memories, ...).
    #[error("the module imports `{module}.{name}` ({kind}); only `subforge.panic` is provided")]
    ForbiddenImport {
        /// The import's module.
        module: String,
        /// The import's name.
        name: String,
        /// Its kind and type.
        kind: String,
    },
    /// The module scores another task.
    #[error("the module scores task `{found}`, not `{expected}`")]
    TaskMismatch {
        /// The task wanted.
        expected: String,
        /// The task the module declares.
        found: String,
    },
    /// The module scores a task of this name with another interface.
    #[error(
        "the module's `{task}` schema hash is {found}, this build's is {expected}: \
         they were built from different task types"
    )]
    SchemaMismatch {
        /// The task.
        task: String,
        /// This build's schema hash (hex).
        expected: String,
        /// The module's schema hash (hex).
        found: String,
    },
    /// The manifest beside the module is malformed.
    #[error("manifest {path}: {reason}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A limit above the ceiling the host allows.
    #[error("limit `{limit}` = {requested} is above the host's ceiling of {ceiling}")]
    LimitAboveCeiling {
        /// Which limit.
        limit: &'static str,
        /// The value asked for.
        requested: u64,
        /// The most the host allows.
        ceiling: u64,
    },
    /// A limit set to zero.
    #[error("limit `{0}` must not be zero")]
    ZeroLimit(&'static str),
    /// The call ran out of fuel: the deciding, deterministic limit.
    #[error("fuel exhausted: the module used all {fuel_used} units of fuel it was given")]
    FuelExhausted {
        /// Fuel consumed (the whole budget).
        fuel_used: u64,
    },
    /// The module asked for more linear memory (or table space) than its limit.
    #[error("memory limit: the module asked for {requested} bytes; the limit is {limit}")]
    MemoryLimit {
        /// The size asked for, in bytes (or table elements).
        requested: u64,
        /// The limit.
        limit: u64,
    },
    /// The wasm call stack overflowed (runaway recursion).
    #[error("stack overflow: the module exhausted its {limit}-byte wasm stack")]
    StackOverflow {
        /// The engine's stack size in bytes.
        limit: usize,
    },
    /// The module could not be given an instance (for example, every pooled instance slot is
    /// busy, or its instance state exceeds the host's bound).
    #[error("the module could not be instantiated: {0}")]
    Instantiate(String),
    /// The module trapped.
    #[error("the module trapped: {message}")]
    Trap {
        /// The trap's message.
        message: String,
    },
    /// The module panicked and told the host why.
    #[error("the module panicked: {message}")]
    GuestPanic {
        /// The panic message.
        message: String,
    },
    /// The wall-clock backstop stopped the call.
    #[error("wall-clock timeout: the call ran longer than {limit:?}")]
    WallClockTimeout {
        /// The limit.
        limit: Duration,
    },
    /// The encoded input is larger than the module's input limit.
    #[error("the input is {size} bytes; the module's limit is {limit}")]
    InputTooLarge {
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The input could not be encoded.
    #[error("the input could not be encoded: {0}")]
    Encode(String),
    /// The reply is larger than the module's output limit.
    #[error("the module replied with {size} bytes; the limit is {limit}")]
    OutputTooLarge {
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The reply does not follow ABI v1.
    #[error("malformed output: {0}")]
    MalformedOutput(String),
    /// `subforge_alloc` returned a place the input does not fit.
    #[error("subforge_alloc({len}) returned {ptr:#x}, outside the module's {memory}-byte memory")]
    BadAllocation {
        /// The pointer returned.
        ptr: u32,
        /// The length asked for.
        len: u32,
        /// The memory size.
        memory: u64,
    },
    /// The module could not decode the input (reply status 1).
    #[error("the module rejected the input: {0}")]
    InputRejected(String),
    /// The scorer refused these inputs (reply status 2).
    #[error("the scorer failed: {0}")]
    ScoreFailed(String),
    /// Scores that are not one finite, non-negative value per response.
    #[error(transparent)]
    InvalidScores(ScoreError),
}

impl WasmError {
    /// The variant's name, as the CLI prints it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Io { .. } => "Io",
            Self::Engine(_) => "Engine",
            Self::ModuleTooLarge { .. } => "ModuleTooLarge",
            Self::InvalidModule(_) => "InvalidModule",
            Self::NoAbiMarker { .. } => "NoAbiMarker",
            Self::MissingExport(_) => "MissingExport",
            Self::ExportType { .. } => "ExportType",
            Self::ForbiddenImport { .. } => "ForbiddenImport",
            Self::TaskMismatch { .. } => "TaskMismatch",
            Self::SchemaMismatch { .. } => "SchemaMismatch",
            Self::Manifest { .. } => "Manifest",
            Self::LimitAboveCeiling { .. } => "LimitAboveCeiling",
            Self::ZeroLimit(_) => "ZeroLimit",
            Self::FuelExhausted { .. } => "FuelExhausted",
            Self::MemoryLimit { .. } => "MemoryLimit",
            Self::StackOverflow { .. } => "StackOverflow",
            Self::Instantiate(_) => "Instantiate",
            Self::Trap { .. } => "Trap",
            Self::GuestPanic { .. } => "GuestPanic",
            Self::WallClockTimeout { .. } => "WallClockTimeout",
            Self::InputTooLarge { .. } => "InputTooLarge",
            Self::Encode(_) => "Encode",
            Self::OutputTooLarge { .. } => "OutputTooLarge",
            Self::MalformedOutput(_) => "MalformedOutput",
            Self::BadAllocation { .. } => "BadAllocation",
            Self::InputRejected(_) => "InputRejected",
            Self::ScoreFailed(_) => "ScoreFailed",
            Self::InvalidScores(_) => "InvalidScores",
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}

impl From<WasmError> for ScoreError {
    fn from(e: WasmError) -> Self {
        match e {
            WasmError::InvalidScores(inner) => inner,
            other => ScoreError::Failed(format!("{}: {other}", other.name())),
        }
    }
}
