//! BIP-39 English mnemonics and Substrate's rule for turning one into a key.
//!
//! Substrate does not use the BIP-39 seed: it runs PBKDF2-HMAC-SHA512 (2048 rounds) over the
//! mnemonic's *entropy* with the salt `"mnemonic" ‖ password`, and keeps the first 32 bytes as
//! the sr25519 mini secret key. This is what `bittensor-wallet` and `sp-core` do.

use core::fmt;

use pbkdf2::pbkdf2_hmac;
use sha2::Sha512;
use zeroize::Zeroizing;

use super::KeyError;

/// How many words a new mnemonic has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WordCount {
    /// 12 words, 128 bits of entropy: the Bittensor default.
    #[default]
    Twelve,
    /// 15 words, 160 bits.
    Fifteen,
    /// 18 words, 192 bits.
    Eighteen,
    /// 21 words, 224 bits.
    TwentyOne,
    /// 24 words, 256 bits.
    TwentyFour,
}

impl WordCount {
    /// The number of words.
    pub const fn words(self) -> usize {
        match self {
            Self::Twelve => 12,
            Self::Fifteen => 15,
            Self::Eighteen => 18,
            Self::TwentyOne => 21,
            Self::TwentyFour => 24,
        }
    }

    /// The word count for `n` words, if BIP-39 allows it.
    pub const fn from_words(n: usize) -> Option<Self> {
        Some(match n {
            12 => Self::Twelve,
            15 => Self::Fifteen,
            18 => Self::Eighteen,
            21 => Self::TwentyOne,
            24 => Self::TwentyFour,
            _ => return None,
        })
    }

    const fn entropy_bytes(self) -> usize {
        self.words() * 4 / 3
    }
}

/// A valid BIP-39 English mnemonic (checksum verified).
#[derive(Clone)]
pub struct Mnemonic(bip39::Mnemonic);

impl Mnemonic {
    /// Generates a new mnemonic from the operating system's random source.
    pub fn generate(count: WordCount) -> Self {
        let mut entropy = Zeroizing::new([0u8; 32]);
        let entropy = &mut entropy[..count.entropy_bytes()];
        // The OS random source failing is not recoverable for key generation.
        #[allow(clippy::expect_used)]
        getrandom::getrandom(entropy).expect("the operating system's random source failed");
        Self::from_entropy(entropy).unwrap_or_else(|_| unreachable!("entropy length is valid"))
    }

    /// Builds the mnemonic that encodes `entropy` (16 to 32 bytes, a multiple of 4).
    pub fn from_entropy(entropy: &[u8]) -> Result<Self, KeyError> {
        bip39::Mnemonic::from_entropy(entropy)
            .map(Self)
            .map_err(|e| KeyError::InvalidMnemonic(e.to_string()))
    }

    /// Parses English words separated by white space; the checksum must match.
    pub fn parse(phrase: &str) -> Result<Self, KeyError> {
        bip39::Mnemonic::parse_in_normalized(bip39::Language::English, phrase)
            .map(Self)
            .map_err(|e| KeyError::InvalidMnemonic(describe(e, phrase)))
    }

    /// The words, separated by single spaces.
    pub fn phrase(&self) -> Zeroizing<String> {
        Zeroizing::new(self.0.to_string())
    }

    /// The number of words.
    pub fn word_count(&self) -> usize {
        self.0.word_count()
    }

    /// The entropy the words encode.
    pub fn entropy(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.0.to_entropy())
    }

    /// Substrate's mini secret key for this mnemonic and password (empty for none).
    pub fn mini_secret(&self, password: &str) -> Zeroizing<[u8; 32]> {
        let entropy = self.entropy();
        let mut salt = Zeroizing::new(String::with_capacity(8 + password.len()));
        salt.push_str("mnemonic");
        salt.push_str(password);
        let mut seed = Zeroizing::new([0u8; 64]);
        pbkdf2_hmac::<Sha512>(&entropy, salt.as_bytes(), 2048, &mut seed[..]);
        let mut mini = Zeroizing::new([0u8; 32]);
        mini.copy_from_slice(&seed[..32]);
        mini
    }
}

impl fmt::Debug for Mnemonic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mnemonic({} words, redacted)", self.word_count())
    }
}

fn describe(e: bip39::Error, phrase: &str) -> String {
    match e {
        bip39::Error::BadWordCount(n) => {
            format!("{n} words; a mnemonic has 12, 15, 18, 21 or 24")
        }
        bip39::Error::UnknownWord(i) => {
            let word = phrase.split_whitespace().nth(i).unwrap_or("?");
            format!(
                "word {} (`{word}`) is not in the BIP-39 English list",
                i + 1
            )
        }
        bip39::Error::InvalidChecksum => {
            "the checksum does not match (a word is wrong or out of order)".to_owned()
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_mnemonics_have_the_requested_length_and_parse_back() {
        for count in [WordCount::Twelve, WordCount::Fifteen, WordCount::TwentyFour] {
            let m = Mnemonic::generate(count);
            assert_eq!(m.word_count(), count.words());
            let again = Mnemonic::parse(&m.phrase()).unwrap();
            assert_eq!(*again.entropy(), *m.entropy());
        }
    }

    #[test]
    fn parse_errors_name_the_problem() {
        let err = Mnemonic::parse("bottom drive obey").unwrap_err();
        assert!(err.to_string().contains("3 words"), "{err}");
        let err = Mnemonic::parse(
            "bottom drive obey lake curtain smoke basket hold race lonely fit walkk",
        )
        .unwrap_err();
        assert!(err.to_string().contains("word 12 (`walkk`)"), "{err}");
        let err =
            Mnemonic::parse("bottom drive obey lake curtain smoke basket hold race lonely fit fit")
                .unwrap_err();
        assert!(err.to_string().contains("checksum"), "{err}");
    }

    #[test]
    fn extra_white_space_is_accepted() {
        let m = Mnemonic::parse(
            "  bottom drive obey lake curtain\tsmoke basket hold race lonely fit walk\n",
        )
        .unwrap();
        assert_eq!(m.word_count(), 12);
    }
}
