//! Checks a module against ABI v1 before anything of it runs: a cheap pass over the raw bytes
//! before compiling (size, imports, memory and data against the limits), and a check of the
//! compiled module's export and import types.

use wasmparser::{Encoding, Parser, Payload, TypeRef};
use wasmtime::{ExternType, FuncType, ValType};

use subforge_guest::abi;

use super::WasmError;
use super::limits::{Limits, TABLE_ELEMENTS_MAX};

const PAGE: u64 = 65536;

fn invalid(e: impl std::fmt::Display) -> WasmError {
    WasmError::InvalidModule(e.to_string())
}

/// The pass over the raw bytes: refuses what is certain to fail, before spending time
/// compiling it.
pub(crate) fn prevalidate(
    bytes: &[u8],
    max_module_bytes: u64,
    limits: &Limits,
) -> Result<(), WasmError> {
    if bytes.len() as u64 > max_module_bytes {
        return Err(WasmError::ModuleTooLarge {
            size: bytes.len() as u64,
            limit: max_module_bytes,
        });
    }
    let mut memories = 0usize;
    let mut data_bytes = 0u64;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(invalid)? {
            Payload::Version { encoding, .. } if encoding != Encoding::Module => {
                return Err(invalid("a component, not a core WebAssembly module"));
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(invalid)?;
                    let allowed = import.module == abi::HOST_MODULE
                        && import.name == abi::PANIC_IMPORT
                        && matches!(import.ty, TypeRef::Func(_));
                    if !allowed {
                        return Err(WasmError::ForbiddenImport {
                            module: import.module.to_owned(),
                            name: import.name.to_owned(),
                            kind: type_ref_kind(&import.ty).to_owned(),
                        });
                    }
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    let memory = memory.map_err(invalid)?;
                    memories += 1;
                    if memory.memory64 || memory.shared {
                        return Err(invalid("memory must be 32-bit and not shared"));
                    }
                    let initial = memory.initial.saturating_mul(PAGE);
                    if initial > limits.memory_bytes {
                        return Err(WasmError::MemoryLimit {
                            requested: initial,
                            limit: limits.memory_bytes,
                        });
                    }
                }
            }
            Payload::TableSection(reader) => {
                if reader.count() > 1 {
                    return Err(invalid(format!(
                        "the module defines {} tables; ABI v1 allows one",
                        reader.count()
                    )));
                }
                for table in reader {
                    let table = table.map_err(invalid)?;
                    if table.ty.initial > TABLE_ELEMENTS_MAX {
                        return Err(WasmError::MemoryLimit {
                            requested: table.ty.initial,
                            limit: TABLE_ELEMENTS_MAX,
                        });
                    }
                }
            }
            Payload::DataSection(reader) => {
                for data in reader {
                    let data = data.map_err(invalid)?;
                    data_bytes = data_bytes.saturating_add(data.data.len() as u64);
                }
                if data_bytes > limits.memory_bytes {
                    return Err(WasmError::MemoryLimit {
                        requested: data_bytes,
                        limit: limits.memory_bytes,
                    });
                }
            }
            _ => {}
        }
    }
    match memories {
        0 => Err(WasmError::MissingExport(abi::MEMORY_EXPORT)),
        1 => Ok(()),
        n => Err(invalid(format!(
            "the module defines {n} memories; ABI v1 allows one"
        ))),
    }
}

fn type_ref_kind(ty: &TypeRef) -> &'static str {
    match ty {
        TypeRef::Func(_) | TypeRef::FuncExact(_) => "function",
        TypeRef::Table(_) => "table",
        TypeRef::Memory(_) => "memory",
        TypeRef::Global(_) => "global",
        TypeRef::Tag(_) => "tag",
    }
}

fn signature(params: &[ValType], results: &[ValType]) -> String {
    let list = |v: &[ValType]| {
        v.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!("[{}] -> [{}]", list(params), list(results))
}

fn func_signature(f: &FuncType) -> String {
    signature(
        &f.params().collect::<Vec<_>>(),
        &f.results().collect::<Vec<_>>(),
    )
}

fn same(ty: &FuncType, params: &[ValType], results: &[ValType]) -> bool {
    // ABI v1 uses only i32 and i64, so no reference type (which could belong to another
    // engine) is ever compared.
    let eq = |a: ValType, b: &ValType| {
        matches!(
            (a, b),
            (ValType::I32, ValType::I32) | (ValType::I64, ValType::I64)
        )
    };
    ty.params().len() == params.len()
        && ty.results().len() == results.len()
        && ty.params().zip(params).all(|(a, b)| eq(a, b))
        && ty.results().zip(results).all(|(a, b)| eq(a, b))
}

fn extern_kind(ty: &ExternType) -> String {
    match ty {
        ExternType::Func(f) => format!("function {}", func_signature(f)),
        ExternType::Memory(_) => "a memory".into(),
        ExternType::Table(_) => "a table".into(),
        ExternType::Global(_) => "a global".into(),
        ExternType::Tag(_) => "a tag".into(),
    }
}

/// Checks the compiled module's exports and imports against ABI v1.
pub(crate) fn check_module(module: &wasmtime::Module) -> Result<(), WasmError> {
    use ValType::{I32, I64};

    let markers: Vec<String> = module
        .exports()
        .map(|e| e.name())
        .filter(|n| n.starts_with("subforge_abi_v"))
        .map(str::to_owned)
        .collect();
    if !markers.iter().any(|m| m == abi::MARKER_EXPORT) {
        return Err(WasmError::NoAbiMarker { found: markers });
    }

    match module.get_export(abi::MEMORY_EXPORT) {
        None => return Err(WasmError::MissingExport(abi::MEMORY_EXPORT)),
        Some(ExternType::Memory(m)) if !m.is_64() && !m.is_shared() => {}
        Some(other) => {
            return Err(WasmError::ExportType {
                name: abi::MEMORY_EXPORT,
                expected: "a 32-bit unshared memory",
                found: extern_kind(&other),
            });
        }
    }

    let functions: [(&'static str, &[ValType], &[ValType], &'static str); 4] = [
        (abi::MARKER_EXPORT, &[], &[], "function [] -> []"),
        (abi::ALLOC_EXPORT, &[I32], &[I32], "function [i32] -> [i32]"),
        (abi::DESCRIBE_EXPORT, &[], &[I64], "function [] -> [i64]"),
        (
            abi::SCORE_EXPORT,
            &[I32, I32],
            &[I64],
            "function [i32 i32] -> [i64]",
        ),
    ];
    for (name, params, results, expected) in functions {
        match module.get_export(name) {
            None => return Err(WasmError::MissingExport(name)),
            Some(ExternType::Func(f)) if same(&f, params, results) => {}
            Some(other) => {
                return Err(WasmError::ExportType {
                    name,
                    expected,
                    found: extern_kind(&other),
                });
            }
        }
    }

    for import in module.imports() {
        let ok = import.module() == abi::HOST_MODULE
            && import.name() == abi::PANIC_IMPORT
            && matches!(import.ty(), ExternType::Func(f) if same(&f, &[I32, I32], &[]));
        if !ok {
            return Err(WasmError::ForbiddenImport {
                module: import.module().to_owned(),
                name: import.name().to_owned(),
                kind: extern_kind(&import.ty()),
            });
        }
    }
    Ok(())
}

/// The module's exports, as `name: kind` lines for inspection.
pub(crate) fn describe_exports(module: &wasmtime::Module) -> Vec<(String, String)> {
    module
        .exports()
        .map(|e| (e.name().to_owned(), extern_kind(&e.ty())))
        .collect()
}

/// The module's imports, as `module.name: kind` lines for inspection.
pub(crate) fn describe_imports(module: &wasmtime::Module) -> Vec<(String, String)> {
    module
        .imports()
        .map(|i| (format!("{}.{}", i.module(), i.name()), extern_kind(&i.ty())))
        .collect()
}
