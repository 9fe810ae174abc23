//! Seeded challenges and responses, for parity tests and benchmarks.

use core::time::Duration;

use subforge_guest::core::chain::Uid;
use subforge_guest::core::identity::{AccountId, Hotkey};
use subforge_guest::core::rand_core::RngCore;
use subforge_guest::core::{MinerResponse, Seed, StatusCode};

use crate::TextMatch;

const ALPHABET: &[char] = &[
    'a', 'b', 'c', 'd', 'e', ' ', 'x', 'y', 'z', 'é', 'ß', '漢', '字', '"', '\\', '\n', '0', '9',
];

/// A challenge with `responses` answers of about `length` characters, from `seed`.
pub fn challenge(
    seed: u64,
    responses: usize,
    length: usize,
) -> (TextMatch, String, Vec<MinerResponse<TextMatch>>) {
    let mut rng = Seed(seed).rng();
    let text = |rng: &mut dyn RngCore, len: usize| -> String {
        (0..len)
            .map(|_| ALPHABET[rng.next_u32() as usize % ALPHABET.len()])
            .collect()
    };
    let reference = text(&mut rng, length);
    let task = TextMatch {
        prompt: text(&mut rng, length / 4),
    };
    let answers = (0..responses)
        .map(|i| {
            let roll = rng.next_u32();
            let answered = !roll.is_multiple_of(8);
            let payload = answered.then(|| {
                // Mostly the reference with a few edits, sometimes unrelated text.
                if roll.is_multiple_of(5) {
                    text(&mut rng, length)
                } else {
                    let mut chars: Vec<char> = reference.chars().collect();
                    for _ in 0..(rng.next_u32() as usize % 8) {
                        if chars.is_empty() {
                            break;
                        }
                        let at = rng.next_u32() as usize % chars.len();
                        chars[at] = ALPHABET[rng.next_u32() as usize % ALPHABET.len()];
                    }
                    chars.into_iter().collect()
                }
            });
            let mut key = [0u8; 32];
            rng.fill_bytes(&mut key);
            MinerResponse {
                uid: Uid(i as u16),
                hotkey: Hotkey(AccountId(key)),
                status: if answered {
                    StatusCode::SUCCESS
                } else {
                    StatusCode::TIMEOUT
                },
                message: if answered { "Success" } else { "Timeout" }.to_owned(),
                latency: Duration::from_micros(rng.next_u64() % 20_000_000),
                payload,
                signature_verified: !rng.next_u32().is_multiple_of(4),
            }
        })
        .collect();
    (task, reference, answers)
}
