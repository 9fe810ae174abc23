//! Every call we send, built by name with its arguments in the runtime's order, and signing:
//! pure functions, so the exact bytes can be checked offline against an independent encoder.

use std::net::IpAddr;

use subforge_core::chain::AxonInfo;
use subforge_core::identity::{AccountId, Keypair};
use subforge_core::{Balance, Hotkey, NetUid};
use subxt::client::{ClientAtBlock, OfflineClientAtBlockT};
use subxt::config::DefaultExtrinsicParamsBuilder;
use subxt::dynamic::Value;
use subxt::ext::scale_value::Composite;
use subxt::tx::{DynamicPayload, SubmittableTransaction};
use subxt::utils::H256;

use super::config::{KeypairSigner, SubtensorConfig};

/// A dynamic call: pallet, call name, arguments in order.
pub(crate) type Call = DynamicPayload<Composite<()>>;

/// A call by name with its arguments in the order the runtime declares them.
pub(crate) fn call(pallet: &str, name: &str, args: Vec<Value>) -> Call {
    subxt::dynamic::tx(pallet, name, Composite::Unnamed(args))
}

pub(crate) fn account(account: &AccountId) -> Value {
    Value::from_bytes(account.0)
}

pub(crate) fn netuid(netuid: NetUid) -> Value {
    Value::u128(u128::from(netuid.get()))
}

fn num(n: impl Into<u128>) -> Value {
    Value::u128(n.into())
}

fn list(items: &[u16]) -> Value {
    Value::unnamed_composite(items.iter().map(|&i| num(i)))
}

/// `Balances.transfer_keep_alive(dest, value)`: never reaps the sender.
pub(crate) fn transfer_keep_alive(to: &AccountId, amount: Balance) -> Call {
    let dest = Value::unnamed_variant("Id", [account(to)]);
    call(
        "Balances",
        "transfer_keep_alive",
        vec![dest, num(amount.rao())],
    )
}

/// `SubtensorModule.register_network(hotkey)`: a new subnet, the hotkey its owner's uid 0.
pub(crate) fn register_network(hotkey: &Hotkey) -> Call {
    call(
        "SubtensorModule",
        "register_network",
        vec![account(&hotkey.0)],
    )
}

/// `SubtensorModule.burned_register(netuid, hotkey)`: a uid for the registration burn.
pub(crate) fn burned_register(subnet: NetUid, hotkey: &Hotkey) -> Call {
    call(
        "SubtensorModule",
        "burned_register",
        vec![netuid(subnet), account(&hotkey.0)],
    )
}

/// How far above the price read a registration may land: 0.5%, as the Python SDK allows.
pub(crate) fn price_cap(price: Balance) -> Balance {
    Balance::from_rao(price.rao().saturating_add(price.rao().div_ceil(200)))
}

/// `SubtensorModule.register_limit(netuid, hotkey, limit_price)`: a uid for the burn, refused
/// if the price has risen above `limit`.
pub(crate) fn register_limit(subnet: NetUid, hotkey: &Hotkey, limit: Balance) -> Call {
    call(
        "SubtensorModule",
        "register_limit",
        vec![netuid(subnet), account(&hotkey.0), num(limit.rao())],
    )
}

/// `SubtensorModule.serve_axon(netuid, version, ip, port, ip_type, protocol, placeholder1,
/// placeholder2)`.
pub(crate) fn serve_axon(subnet: NetUid, axon: &AxonInfo) -> Call {
    let ip_type: u8 = match axon.ip {
        IpAddr::V4(_) => 4,
        IpAddr::V6(_) => 6,
    };
    call(
        "SubtensorModule",
        "serve_axon",
        vec![
            netuid(subnet),
            num(axon.version),
            num(axon.ip_u128()),
            num(axon.port),
            num(ip_type),
            num(axon.protocol.0),
            num(axon.placeholder1),
            num(axon.placeholder2),
        ],
    )
}

/// `SubtensorModule.add_stake(hotkey, netuid, amount)` or `remove_stake(...)`.
pub(crate) fn stake(add: bool, hotkey: &Hotkey, subnet: NetUid, amount: Balance) -> Call {
    let name = if add { "add_stake" } else { "remove_stake" };
    call(
        "SubtensorModule",
        name,
        vec![account(&hotkey.0), netuid(subnet), num(amount.rao())],
    )
}

/// `SubtensorModule.set_mechanism_weights(netuid, mecid, dests, weights, version_key)`.
pub(crate) fn set_mechanism_weights(
    subnet: NetUid,
    mechanism: u8,
    uids: &[u16],
    values: &[u16],
    version_key: u64,
) -> Call {
    call(
        "SubtensorModule",
        "set_mechanism_weights",
        vec![
            netuid(subnet),
            num(mechanism),
            list(uids),
            list(values),
            num(version_key),
        ],
    )
}

/// `SubtensorModule.set_weights(netuid, dests, weights, version_key)`, for runtimes without
/// mechanisms.
pub(crate) fn set_weights(subnet: NetUid, uids: &[u16], values: &[u16], version_key: u64) -> Call {
    call(
        "SubtensorModule",
        "set_weights",
        vec![netuid(subnet), list(uids), list(values), num(version_key)],
    )
}

/// A timelocked weights commit, in the newest form the runtime takes:
/// `commit_timelocked_mechanism_weights(netuid, mecid, commit, reveal_round, version)`,
/// `commit_timelocked_weights(netuid, commit, reveal_round, version)` or, before version 4,
/// `commit_crv3_weights(netuid, commit, reveal_round)`.
pub(crate) fn commit_timelocked(
    form: CommitForm,
    subnet: NetUid,
    mechanism: u8,
    commit: Vec<u8>,
    reveal_round: u64,
    version: u16,
) -> Call {
    let commit = Value::from_bytes(commit);
    let round = num(reveal_round);
    match form {
        CommitForm::Mechanism => call(
            "SubtensorModule",
            "commit_timelocked_mechanism_weights",
            vec![netuid(subnet), num(mechanism), commit, round, num(version)],
        ),
        CommitForm::Timelocked => call(
            "SubtensorModule",
            "commit_timelocked_weights",
            vec![netuid(subnet), commit, round, num(version)],
        ),
        CommitForm::Crv3 => call(
            "SubtensorModule",
            "commit_crv3_weights",
            vec![netuid(subnet), commit, round],
        ),
    }
}

/// Which commit call a runtime offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CommitForm {
    /// `commit_timelocked_mechanism_weights` (current runtimes).
    Mechanism,
    /// `commit_timelocked_weights`.
    Timelocked,
    /// `commit_crv3_weights` (before commit-reveal version 4).
    Crv3,
}

/// `Sudo.sudo(call)`: `call` dispatched as root, signed by the sudo key.
pub(crate) fn sudo(inner: Call) -> Call {
    call("Sudo", "sudo", vec![inner.into_value()])
}

/// Signs `call` for `signer` with `nonce`, mortal for `era_period` blocks from `birth` (a
/// block's number and hash, normally the head's): the transaction as it goes on the wire.
pub(crate) fn sign<C: OfflineClientAtBlockT<SubtensorConfig>>(
    at: &ClientAtBlock<SubtensorConfig, C>,
    signer: &Keypair,
    call: &Call,
    nonce: u64,
    era_period: u64,
    birth: (u64, H256),
) -> Result<SubmittableTransaction<SubtensorConfig, C>, subxt::error::ExtrinsicError> {
    let params = DefaultExtrinsicParamsBuilder::<SubtensorConfig>::new()
        .nonce(nonce)
        .mortal_from_unchecked(era_period, birth.0, birth.1)
        .build();
    at.tx()
        .create_signable_offline(call, params)
        .and_then(|mut s| s.sign(&KeypairSigner(signer)))
}

#[cfg(test)]
mod tests {
    //! Every call we send, encoded by subxt against the real spec-393 metadata, against the
    //! same call encoded by hand with `parity-scale-codec` and the chain's pallet and call
    //! indexes (from its `dispatches.rs`); and a signed transaction against its wire layout.
    use std::net::{IpAddr, Ipv4Addr};

    use parity_scale_codec::{Compact, Encode};
    use schnorrkel::{PublicKey, Signature, signing_context};
    use subforge_core::Block;
    use subforge_core::chain::AxonProtocol;
    use subxt::client::OfflineClient;

    use super::*;

    const SUBTENSOR: u8 = 7;
    const BALANCES: u8 = 5;
    const SUDO: u8 = 12;
    const ADMIN_UTILS: u8 = 19;

    fn metadata() -> subxt::Metadata {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/subtensor/finney-v16-spec393.scale"
        );
        let bytes = std::fs::read(path).unwrap();
        subxt::Metadata::decode_from(&bytes[..]).unwrap()
    }

    fn offline(
        spec: u32,
        genesis: [u8; 32],
    ) -> subxt::client::OfflineClientAtBlock<SubtensorConfig> {
        let config = SubtensorConfig::offline(H256(genesis), spec, 1, metadata());
        OfflineClient::new_with_config(config)
            .at_block(5_000_000u64)
            .unwrap()
    }

    fn hand(pallet: u8, call: u8, args: impl Encode) -> Vec<u8> {
        let mut out = vec![pallet, call];
        args.encode_to(&mut out);
        out
    }

    fn key(uri: &str) -> Keypair {
        Keypair::from_uri(uri).unwrap()
    }

    #[test]
    fn every_call_encodes_as_the_chain_declares_it() {
        let at = offline(393, [1; 32]);
        let data = |c: &Call| at.tx().call_data(c).unwrap();
        let hot = Hotkey(key("//Alice//hot").public());
        let bob = key("//Bob").public();

        let c = set_mechanism_weights(NetUid(1), 0, &[0, 1, 2], &[65535, 32768, 0], 1023);
        assert_eq!(
            data(&c),
            hand(
                SUBTENSOR,
                119,
                (
                    1u16,
                    0u8,
                    vec![0u16, 1, 2],
                    vec![65535u16, 32768, 0],
                    1023u64
                )
            )
        );
        assert_eq!(
            hex::encode(data(&c)),
            "07770100000c0000010002000cffff00800000ff03000000000000"
        );
        let c = set_weights(NetUid(9), &[3], &[7], 5);
        assert_eq!(
            data(&c),
            hand(SUBTENSOR, 0, (9u16, vec![3u16], vec![7u16], 5u64))
        );

        let axon = AxonInfo {
            block: Block(0),
            version: 1_002_003,
            ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            port: 8091,
            protocol: AxonProtocol(4),
            placeholder1: 0,
            placeholder2: 0,
        };
        assert_eq!(
            data(&serve_axon(NetUid(1), &axon)),
            hand(
                SUBTENSOR,
                4,
                (
                    1u16,
                    1_002_003u32,
                    0x0a00_0001u128,
                    8091u16,
                    4u8,
                    4u8,
                    0u8,
                    0u8
                )
            )
        );
        assert_eq!(
            data(&burned_register(NetUid(3), &hot)),
            hand(SUBTENSOR, 7, (3u16, hot.0.0))
        );
        let cap = price_cap(Balance::from_rao(1_000_000_000));
        assert_eq!(cap.rao(), 1_005_000_000);
        // Spec 393 has no price-capped registration yet; the client then uses burned_register.
        assert!(
            at.tx()
                .call_data(&register_limit(NetUid(3), &hot, cap))
                .is_err()
        );
        assert_eq!(data(&register_network(&hot)), hand(SUBTENSOR, 59, hot.0.0));
        let amount = Balance::from_rao(1_234_567_890);
        assert_eq!(
            data(&stake(true, &hot, NetUid(2), amount)),
            hand(SUBTENSOR, 2, (hot.0.0, 2u16, 1_234_567_890u64))
        );
        assert_eq!(
            data(&stake(false, &hot, NetUid(2), amount)),
            hand(SUBTENSOR, 3, (hot.0.0, 2u16, 1_234_567_890u64))
        );
        // MultiAddress::Id (variant 0), then the amount as a compact.
        assert_eq!(
            data(&transfer_keep_alive(&bob, Balance::from_tao(1))),
            hand(BALANCES, 3, (0u8, bob.0, Compact(1_000_000_000u64)))
        );
        let commit = vec![0xab; 4];
        assert_eq!(
            data(&commit_timelocked(
                CommitForm::Mechanism,
                NetUid(1),
                0,
                commit.clone(),
                12_345,
                4
            )),
            hand(SUBTENSOR, 118, (1u16, 0u8, commit.clone(), 12_345u64, 4u16))
        );
        assert_eq!(
            data(&commit_timelocked(
                CommitForm::Timelocked,
                NetUid(1),
                0,
                commit.clone(),
                12_345,
                4
            )),
            hand(SUBTENSOR, 113, (1u16, commit.clone(), 12_345u64, 4u16))
        );
        // Spec 393 no longer has the version-3 form: encoding it is an error, not bytes.
        assert!(
            at.tx()
                .call_data(&commit_timelocked(
                    CommitForm::Crv3,
                    NetUid(1),
                    0,
                    commit,
                    1,
                    4
                ))
                .is_err()
        );

        let tempo = call(
            "AdminUtils",
            "sudo_set_tempo",
            vec![netuid(NetUid(4)), Value::u128(99)],
        );
        assert_eq!(data(&tempo), hand(ADMIN_UTILS, 30, (4u16, 99u16)));
        let mut wrapped = vec![SUDO, 0];
        wrapped.extend(hand(ADMIN_UTILS, 30, (4u16, 99u16)));
        assert_eq!(data(&sudo(tempo)), wrapped);
        // A value out of the argument's range is refused, not truncated.
        let bad = call(
            "AdminUtils",
            "sudo_set_tempo",
            vec![netuid(NetUid(4)), Value::u128(70_000)],
        );
        assert!(at.tx().call_data(&bad).is_err());
    }

    #[test]
    fn a_signed_transfer_has_the_chains_wire_layout_and_a_valid_signature() {
        // The transfer a spec-293 node accepted (nonce 5, mortal 64 blocks from block 22):
        // the same layout, signed by us.
        let genesis = [0x45; 32];
        let birth_hash: [u8; 32] =
            hex::decode("ac33782799f204fdfb07c8c6bd5f97512d113fdd8f39b86a246ac207349e08ef")
                .unwrap()
                .try_into()
                .unwrap();
        let at = offline(293, genesis);
        let alice = key("//Alice");
        let bob = key("//Bob").public();
        let c = transfer_keep_alive(&bob, Balance::from_tao(1));
        let signed = sign(&at, &alice, &c, 5, 64, (22, H256(birth_hash))).unwrap();
        let bytes = signed.encoded();

        let call_bytes = hand(BALANCES, 3, (0u8, bob.0, Compact(1_000_000_000u64)));
        // era(64 from 22) = 0x0165 little-endian, nonce 5, tip 0, metadata-hash mode 0
        let extra = [0x65, 0x01, 0x14, 0x00, 0x00];
        let mut body = vec![0x84, 0x00];
        body.extend(alice.public().0);
        body.push(0x01);
        let sig_at = body.len();
        body.extend([0u8; 64]);
        body.extend(extra);
        body.extend(&call_bytes);
        let mut expected = Compact(u32::try_from(body.len()).unwrap()).encode();
        let prefix = expected.len();
        expected.extend(&body);
        assert_eq!(bytes.len(), expected.len());
        let sig = &bytes[prefix + sig_at..prefix + sig_at + 64];
        expected[prefix + sig_at..prefix + sig_at + 64].copy_from_slice(sig);
        assert_eq!(hex::encode(bytes), hex::encode(&expected));

        // What was signed: call, extra, then spec and transaction version, genesis, birth
        // block, and the (absent) metadata hash.
        let mut payload = call_bytes;
        payload.extend(extra);
        payload.extend(293u32.to_le_bytes());
        payload.extend(1u32.to_le_bytes());
        payload.extend(genesis);
        payload.extend(birth_hash);
        payload.push(0);
        let public = PublicKey::from_bytes(&alice.public().0).unwrap();
        let signature = Signature::from_bytes(sig).unwrap();
        public
            .verify(signing_context(b"substrate").bytes(&payload), &signature)
            .unwrap();
        // The hash a node reports for it: blake2b-256 over the whole encoding.
        assert_eq!(signed.hash().0, crate::chain::blake2_256(bytes));
    }
}
