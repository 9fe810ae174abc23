//! The SHA-256 names a score is recorded with: of the module, of the task's interface and of
//! the engine's determinism settings.

use std::fmt;

use serde::Serialize;

macro_rules! sha256_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(pub [u8; 32]);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    };
}

sha256_newtype! {
    /// SHA-256 naming the engine's determinism settings and wasmtime version: equal module,
    /// engine hash, limits and input give equal scores. Recorded with every score.
    EngineHash
}

sha256_newtype! {
    /// SHA-256 of a module's bytes.
    ModuleHash
}

sha256_newtype! {
    /// A task's schema hash (`subforge_core::TaskSchema::hash`).
    SchemaHash
}
