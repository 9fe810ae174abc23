//! Our keys against `sp-core`, the Substrate implementation Bittensor's wallets are built on.

use proptest::prelude::*;
use sp_core::crypto::{Ss58AddressFormat, Ss58Codec};
use sp_core::{Pair as _, sr25519};
use subforge_core::identity::{DEV_PHRASE, Keypair, Mnemonic, WordCount, ss58};
use subforge_core::{AccountId, Signature};

fn oracle_public(pair: &sr25519::Pair) -> [u8; 32] {
    pair.public().0
}

#[test]
fn alice_is_alice_on_both_sides() {
    let ours = Keypair::from_uri("//Alice").unwrap();
    let theirs = sr25519::Pair::from_string("//Alice", None).unwrap();
    assert_eq!(ours.public().0, oracle_public(&theirs));
    assert_eq!(
        ours.public().to_ss58(),
        "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
    );
}

#[test]
fn derivation_paths_match_sp_core() {
    let uris = [
        "//Alice",
        "//Bob//stash",
        "//Alice/soft",
        "//0",
        "/1/2//3",
        "//18446744073709551615",
        "//a-name-that-is-much-longer-than-thirty-two-bytes-so-it-is-hashed",
        "///password",
        "//Alice///password",
        "//Alice/soft//hard///pw/with/slashes",
        "//ünïcode",
    ];
    for uri in uris {
        let theirs = sr25519::Pair::from_string(uri, None).unwrap();
        let ours = Keypair::from_uri(uri).unwrap();
        assert_eq!(ours.public().0, oracle_public(&theirs), "uri {uri}");
        let with_phrase = format!("{DEV_PHRASE}{uri}");
        let theirs = sr25519::Pair::from_string(&with_phrase, None).unwrap();
        assert_eq!(
            Keypair::from_uri(&with_phrase).unwrap().public().0,
            oracle_public(&theirs)
        );
    }
}

#[test]
fn hex_seed_uris_match_sp_core() {
    let seed = format!("0x{}", "ab".repeat(32));
    for suffix in ["", "//hard", "/soft", "//hard///ignored-password"] {
        let uri = format!("{seed}{suffix}");
        let theirs = sr25519::Pair::from_string(&uri, None).unwrap();
        assert_eq!(
            Keypair::from_uri(&uri).unwrap().public().0,
            oracle_public(&theirs),
            "{uri}"
        );
    }
}

#[test]
fn generated_mnemonics_give_sp_core_keys() {
    for count in [WordCount::Twelve, WordCount::TwentyFour] {
        let (ours, mnemonic) = Keypair::generate(count);
        let (theirs, seed) = sr25519::Pair::from_phrase(&mnemonic.phrase(), None).unwrap();
        assert_eq!(ours.public().0, oracle_public(&theirs));
        assert_eq!(ours.seed().unwrap(), &seed);
        assert_eq!(ours.secret_key_bytes().to_vec(), theirs.to_raw_vec());
    }
}

#[test]
fn mnemonic_passwords_match_sp_core() {
    let m = Mnemonic::generate(WordCount::Twelve);
    let (theirs, _) = sr25519::Pair::from_phrase(&m.phrase(), Some("s3cret")).unwrap();
    assert_eq!(
        Keypair::from_mnemonic(&m, "s3cret").public().0,
        oracle_public(&theirs)
    );
}

#[test]
fn signatures_cross_verify() {
    let ours = Keypair::from_uri("//Charlie").unwrap();
    let theirs = sr25519::Pair::from_string("//Charlie", None).unwrap();
    let msg = b"1700000000000000000.5Grwva.5FHne.uuid.hash";

    let our_sig = ours.sign(msg);
    let their_view = sr25519::Signature::from_raw(our_sig.0);
    assert!(sr25519::Pair::verify(&their_view, msg, &theirs.public()));

    let their_sig = theirs.sign(msg);
    assert!(ours.public().verify(msg, &Signature(their_sig.0)));
    assert!(!ours.public().verify(b"other", &Signature(their_sig.0)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn seeds_give_sp_core_keys(seed in any::<[u8; 32]>()) {
        let ours = Keypair::from_seed(&seed);
        let theirs = sr25519::Pair::from_seed(&seed);
        prop_assert_eq!(ours.public().0, oracle_public(&theirs));
        prop_assert_eq!(ours.secret_key_bytes().to_vec(), theirs.to_raw_vec());
    }

    #[test]
    fn mnemonics_from_entropy_give_sp_core_keys(entropy in any::<[u8; 16]>()) {
        let m = Mnemonic::from_entropy(&entropy).unwrap();
        let (theirs, _) = sr25519::Pair::from_phrase(&m.phrase(), None).unwrap();
        prop_assert_eq!(Keypair::from_mnemonic(&m, "").public().0, oracle_public(&theirs));
    }

    #[test]
    fn ss58_matches_sp_core(key in any::<[u8; 32]>(), prefix in 0u16..16384) {
        // sp-core refuses a few reserved prefixes (46, 47); compare where it encodes.
        let public = sr25519::Public::from_raw(key);
        let format = Ss58AddressFormat::custom(prefix);
        let theirs = public.to_ss58check_with_version(format);
        prop_assert_eq!(&ss58::encode(prefix, &key), &theirs);
        prop_assert_eq!(ss58::decode_any(&theirs).unwrap(), (prefix, key));
        if prefix == 42 {
            prop_assert_eq!(AccountId::from_ss58(&theirs).unwrap().0, key);
        }
    }

    #[test]
    fn derivation_names_match_sp_core(names in proptest::collection::vec("[a-zA-Z0-9]{1,40}", 1..4), hard in proptest::collection::vec(any::<bool>(), 4)) {
        let uri: String = names
            .iter()
            .zip(&hard)
            .map(|(n, h)| if *h { format!("//{n}") } else { format!("/{n}") })
            .collect();
        let theirs = sr25519::Pair::from_string(&uri, None).unwrap();
        prop_assert_eq!(Keypair::from_uri(&uri).unwrap().public().0, oracle_public(&theirs));
    }
}
