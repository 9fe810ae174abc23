//! What [`export_scorer!`](crate::export_scorer) expands to: the ABI v1 exports around a
//! [`Scorer`]. The byte-level functions build natively too, so they are tested without a
//! wasm target.

use subforge_core::{Scorer, Task};

use crate::abi::{self, Status};

/// The reply to `subforge_describe`.
pub fn describe_reply<T: Task>() -> Vec<u8> {
    abi::encode_description(&T::schema())
}

/// The reply to `subforge_score` for these input bytes.
pub fn score_reply<T: Task, S: Scorer<T> + ?Sized>(scorer: &S, input: &[u8]) -> Vec<u8> {
    let input = match abi::decode_input::<T>(input) {
        Ok(input) => input,
        Err(e) => return abi::encode_error(Status::InputRejected, &e.to_string()),
    };
    let reply = match scorer.score(&input.task, &input.reference, &input.responses) {
        Ok(scores) => abi::encode_scores(&scores),
        Err(e) => abi::encode_error(Status::ScoreFailed, &e.to_string()),
    };
    // Inside a module the instance is discarded after this call: freeing every string of the
    // input first would be wasted work.
    if cfg!(target_arch = "wasm32") {
        core::mem::forget(input);
    }
    reply
}

#[cfg(target_arch = "wasm32")]
mod wasm {
    // The host namespace of ABI v1; declaring a foreign function is unsafe by nature.
    #[allow(unsafe_code)]
    #[link(wasm_import_module = "subforge")]
    unsafe extern "C" {
        #[link_name = "panic"]
        fn host_panic(ptr: *const u8, len: usize);
    }

    /// Reports panics to the host, which ends the call with the message.
    pub fn install_panic_hook() {
        std::panic::set_hook(Box::new(|info| {
            let message = info.to_string();
            #[allow(unsafe_code)]
            // SAFETY: the pointer and length describe `message`, alive for the whole call; the
            // host only reads them.
            unsafe {
                host_panic(message.as_ptr(), message.len());
            }
        }));
    }

    /// `subforge_alloc`: `len` bytes the host writes the input into. Never freed: the instance
    /// is discarded after one call.
    pub fn alloc(len: u32) -> u32 {
        let mut buf = core::mem::ManuallyDrop::new(Vec::<u8>::with_capacity(len as usize));
        buf.as_mut_ptr() as usize as u32
    }

    /// Leaks `reply` and packs its place for the host.
    pub fn leak(reply: Vec<u8>) -> u64 {
        let reply = Box::leak(reply.into_boxed_slice());
        crate::abi::pack(reply.as_ptr() as usize as u32, reply.len() as u32)
    }

    /// The input the host wrote at `ptr`.
    pub fn input(ptr: u32, len: u32) -> &'static [u8] {
        if len == 0 {
            return &[];
        }
        #[allow(unsafe_code)]
        // SAFETY: per ABI v1 the host passes the pointer `alloc(len)` returned, whose `len`
        // bytes it has written; that buffer is never freed, so it lives for the instance.
        unsafe {
            core::slice::from_raw_parts(ptr as usize as *const u8, len as usize)
        }
    }
}

#[cfg(target_arch = "wasm32")]
pub use wasm::{alloc, input, install_panic_hook, leak};

/// Exports a scorer as an ABI v1 module: `export_scorer!(TaskType, scorer_value);`.
///
/// The scorer is any expression whose value implements `Scorer<TaskType>`; it is evaluated once
/// per call. The exports exist only when compiling for `wasm32`, so the same crate also links
/// natively.
#[macro_export]
macro_rules! export_scorer {
    ($task:ty, $scorer:expr $(,)?) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            #[allow(unsafe_code)]
            #[unsafe(no_mangle)]
            extern "C" fn subforge_abi_v1() {}

            #[allow(unsafe_code)]
            #[unsafe(no_mangle)]
            extern "C" fn subforge_alloc(len: u32) -> u32 {
                $crate::export::alloc(len)
            }

            #[allow(unsafe_code)]
            #[unsafe(no_mangle)]
            extern "C" fn subforge_describe() -> u64 {
                $crate::export::install_panic_hook();
                $crate::export::leak($crate::export::describe_reply::<$task>())
            }

            #[allow(unsafe_code)]
            #[unsafe(no_mangle)]
            extern "C" fn subforge_score(ptr: u32, len: u32) -> u64 {
                $crate::export::install_panic_hook();
                let scorer = $scorer;
                let input = $crate::export::input(ptr, len);
                $crate::export::leak($crate::export::score_reply::<$task, _>(&scorer, input))
            }
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::{Reply, decode_reply, encode_input};
    use serde::{Deserialize, Serialize};
    use subforge_core::{MinerResponse, ScoreError, TaskSchema};

    #[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
    struct Count(u32);

    impl Task for Count {
        const NAME: &'static str = "Count";
        type Response = u32;
        type Reference = u32;
    }

    struct Closeness;

    impl Scorer<Count> for Closeness {
        fn score(
            &self,
            _: &Count,
            reference: &u32,
            responses: &[MinerResponse<Count>],
        ) -> Result<Vec<f64>, ScoreError> {
            if *reference == 0 {
                return Err(ScoreError::Failed("no reference".into()));
            }
            Ok(responses
                .iter()
                .map(|r| {
                    r.ok()
                        .map_or(0.0, |v| 1.0 / (1.0 + f64::from(v.abs_diff(*reference))))
                })
                .collect())
        }
    }

    #[test]
    fn replies_follow_the_abi() {
        let schema: TaskSchema = match decode_reply(&describe_reply::<Count>()).unwrap() {
            Reply::Ok(body) => serde_json::from_slice(body).unwrap(),
            other => panic!("{other:?}"),
        };
        assert_eq!(schema, Count::schema());

        let input = encode_input::<Count>(&Count(1), &3, &[]).unwrap();
        assert_eq!(
            decode_reply(&score_reply::<Count, _>(&Closeness, &input)).unwrap(),
            Reply::Ok(&0u32.to_le_bytes())
        );
        let input = encode_input::<Count>(&Count(1), &0, &[]).unwrap();
        assert_eq!(
            decode_reply(&score_reply::<Count, _>(&Closeness, &input)).unwrap(),
            Reply::ScoreFailed("scoring failed: no reference".into())
        );
        match decode_reply(&score_reply::<Count, _>(&Closeness, b"junk")).unwrap() {
            Reply::InputRejected(m) => assert!(m.contains("task"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
