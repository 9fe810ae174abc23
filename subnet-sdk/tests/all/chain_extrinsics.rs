//! Signed extrinsics: refusals (signature, nonce, unknown account, size), outcomes and events
//! read back, and failed calls that change nothing but the nonce.

use subforge_core::{Balance, Block, NetUid, Signature, Uid};
use subforge_sdk::chain::local::codec::{Decode, Encode};
use subforge_sdk::chain::local::{Call, Event, Extrinsic, MAX_EXTRINSIC_SIZE, Phase};
use subforge_sdk::chain::{Chain, ChainError, H256, LocalChain};

use super::chain_support::*;

fn transfer_call(to: &subforge_core::identity::Keypair, amount: u64) -> Call {
    Call::Transfer {
        dest: to.public(),
        amount: tao(amount),
    }
}

#[tokio::test]
async fn bad_signature_is_refused() {
    let chain = instant();
    let g = chain.genesis_hash();
    let mut xt = Extrinsic::sign(&bob(), 0, transfer_call(&charlie(), 1), &g);
    xt.signature = Signature([7; 64]);
    let e = assert_rule(chain.submit(xt.clone()).await, "BadSignature");
    assert!(e.is_refusal());
    // Signed by Charlie but claiming to be Bob.
    let mut forged = Extrinsic::sign(&charlie(), 0, transfer_call(&charlie(), 1), &g);
    forged.signer = bob().public();
    assert_rule(chain.submit(forged).await, "BadSignature");
    // Signed for another chain.
    let other = Extrinsic::sign(&bob(), 0, transfer_call(&charlie(), 1), &H256([1; 32]));
    assert_rule(chain.submit(other).await, "BadSignature");
    assert_eq!(chain.current_block().await.unwrap(), Block(0));
    assert_eq!(chain.account(&bob().public()).await.unwrap().nonce, 0);
}

#[tokio::test]
async fn replayed_and_future_nonces_are_refused() {
    let chain = instant();
    let g = chain.genesis_hash();
    let xt = Extrinsic::sign(&bob(), 0, transfer_call(&charlie(), 1), &g);
    chain
        .submit(xt.clone())
        .await
        .unwrap()
        .into_result()
        .unwrap();
    let e = assert_rule(chain.submit(xt).await, "StaleNonce");
    assert!(matches!(
        e,
        ChainError::StaleNonce {
            expected: 1,
            got: 0,
            ..
        }
    ));
    let future = Extrinsic::sign(&bob(), 5, transfer_call(&charlie(), 1), &g);
    assert_rule(chain.submit(future).await, "FutureNonce");
    assert_eq!(chain.account(&bob().public()).await.unwrap().nonce, 1);
    assert_eq!(
        chain.account(&bob().public()).await.unwrap().free,
        tao(999_999)
    );
}

#[tokio::test]
async fn unknown_accounts_are_refused() {
    let chain = instant();
    let nobody = key("//Nobody");
    let xt = Extrinsic::sign(&nobody, 0, transfer_call(&bob(), 1), &chain.genesis_hash());
    assert_rule(chain.submit(xt).await, "UnknownAccount");
    assert_eq!(chain.current_block().await.unwrap(), Block(0));
}

#[tokio::test]
async fn oversized_extrinsics_are_refused() {
    let chain = instant();
    let call = Call::SetWeights {
        netuid: NetUid(1),
        uids: vec![Uid(0); MAX_EXTRINSIC_SIZE / 2],
        weights: vec![1; MAX_EXTRINSIC_SIZE / 2],
        version_key: 0,
    };
    let xt = Extrinsic::sign(&bob(), 0, call, &chain.genesis_hash());
    assert_rule(chain.submit(xt).await, "ExtrinsicTooLarge");
}

#[test]
fn malformed_encodings_do_not_decode() {
    let xt = Extrinsic::sign(&bob(), 0, transfer_call(&charlie(), 1), &H256::default());
    let bytes = xt.encode();
    assert_eq!(Extrinsic::decode(&bytes).unwrap(), xt);
    for cut in [0, 1, 31, 40, bytes.len() - 1] {
        assert!(Extrinsic::decode(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    let mut bad_call = bytes.clone();
    bad_call[40] = 200;
    assert!(Extrinsic::decode(&bad_call).is_err());
    let mut trailing = bytes;
    trailing.push(0);
    assert!(Extrinsic::decode(&trailing).is_err());
}

#[tokio::test]
async fn failed_calls_are_included_with_their_error_and_change_only_the_nonce() {
    let chain = manual();
    let g = chain.genesis_hash();
    let bob_before = chain.account(&bob().public()).await.unwrap();
    let ok = Extrinsic::sign(&charlie(), 0, transfer_call(&bob(), 2), &g);
    let failing = Extrinsic::sign(&bob(), 0, transfer_call(&charlie(), 5_000_000), &g);
    let results = chain.submit_batch(vec![ok.clone(), failing.clone()]);
    assert!(results.iter().all(Result::is_ok));
    let record = chain.produce_block().unwrap();
    assert_eq!(record.extrinsics, vec![ok.clone(), failing.clone()]);
    assert_eq!(record.outcomes[0], None);
    assert_eq!(
        record.outcomes[1].as_ref().map(ChainError::name).as_deref(),
        Some("InsufficientBalance")
    );
    assert_eq!(record.events.len(), 1);
    assert_eq!(record.events[0].phase, Phase::Extrinsic(0));
    assert!(matches!(record.events[0].event, Event::Transfer { .. }));
    // The failure cost Bob nothing but a nonce.
    let bob_after = chain.account(&bob().public()).await.unwrap();
    assert_eq!(bob_after.free, bob_before.free.saturating_add(tao(2)));
    assert_eq!(bob_after.nonce, 1);
    // Receipts read back by extrinsic hash.
    let receipt = chain.receipt(failing.hash()).await.unwrap().unwrap();
    assert_eq!(receipt.block, Block(1));
    assert_eq!(receipt.index, 1);
    assert_eq!(receipt.error.unwrap().name(), "InsufficientBalance");
    let receipt = chain.receipt(ok.hash()).await.unwrap().unwrap();
    assert!(receipt.error.is_none());
    assert_eq!(receipt.events.len(), 1);
    assert!(chain.receipt(H256([9; 32])).await.unwrap().is_none());
}

#[tokio::test]
async fn a_failed_call_leaves_the_same_state_as_no_call() {
    // Two chains from the same genesis: one gets a failing call from Bob, the other a call
    // from Bob that is refused before inclusion. Their balances and subnets agree.
    let a = manual();
    let b = manual();
    let g = a.genesis_hash();
    assert_eq!(g, b.genesis_hash());
    let failing = Extrinsic::sign(&bob(), 0, transfer_call(&charlie(), 9_000_000), &g);
    a.submit_batch(vec![failing]);
    a.produce_block().unwrap();
    b.produce_block().unwrap();
    for who in [bob(), charlie()] {
        let (x, y) = (
            a.account(&who.public()).await.unwrap(),
            b.account(&who.public()).await.unwrap(),
        );
        assert_eq!(x.free, y.free);
    }
    assert_eq!(
        a.info().await.unwrap().total_issuance,
        b.info().await.unwrap().total_issuance
    );
    // The only difference is Bob's nonce, so the digests differ.
    assert_ne!(a.head().state_digest, b.head().state_digest);
}

#[tokio::test]
async fn the_same_blocks_give_the_same_digests() {
    let run = || async {
        let chain = instant();
        let netuid = fast_subnet(&chain, 3).await;
        register(&chain, &bob(), netuid, &key("//Bob//m")).await;
        chain.produce_blocks(7).unwrap();
        chain.head()
    };
    // Signatures are randomised, so extrinsic hashes (and block hashes) differ between runs;
    // the state they lead to does not.
    let (x, y) = (run().await, run().await);
    assert_eq!(x.number, y.number);
    assert_eq!(x.state_digest, y.state_digest);
}

#[tokio::test]
async fn blocks_link_by_parent_hash() {
    let chain = instant();
    subnet(&chain).await;
    chain.produce_blocks(3).unwrap();
    let head = chain.current_block().await.unwrap();
    let mut parent = chain.block(Block(0)).await.unwrap().hash;
    for n in 1..=head.0 {
        let b = chain.block(Block(n)).await.unwrap();
        assert_eq!(b.header.parent_hash, parent);
        assert_eq!(b.hash, b.header.hash());
        parent = b.hash;
    }
    assert_rule(chain.block(Block(head.0 + 1)).await, "UnknownBlock");
}

#[tokio::test]
async fn the_block_stream_follows_new_blocks() {
    use futures::StreamExt;
    let chain = manual();
    let mut headers = chain.block_headers().await.unwrap();
    chain.produce_blocks(2).unwrap();
    assert_eq!(headers.next().await.unwrap().number, Block(1));
    assert_eq!(headers.next().await.unwrap().number, Block(2));
}

#[tokio::test]
async fn timed_blocks_advance_on_their_own() {
    use futures::StreamExt;
    let chain = LocalChain::builder()
        .block_time(std::time::Duration::from_millis(20))
        .open()
        .unwrap();
    let mut headers = chain.block_headers().await.unwrap();
    let first = headers.next().await.unwrap().number;
    let second = headers.next().await.unwrap().number;
    assert_eq!(second.0, first.0 + 1);
    // An extrinsic waits for the next timed block.
    let receipt = chain
        .transfer(&bob(), &charlie().public(), Balance::from_rao(1))
        .await
        .unwrap();
    assert!(receipt.block > second);
}

#[test]
fn batch_checks_single_out_the_bad_signature() {
    let chain = manual();
    let g = chain.genesis_hash();
    let mut xts: Vec<Extrinsic> = (0..300)
        .map(|n| Extrinsic::sign(&bob(), n, transfer_call(&charlie(), 1), &g))
        .collect();
    xts[137].signature = Signature([3; 64]);
    let results = chain.submit_batch(xts);
    assert_eq!(results[137].as_ref().unwrap_err().name(), "BadSignature");
    assert!(results[..137].iter().all(Result::is_ok));
    // Later nonces now skip the refused one.
    assert!(
        results[138..]
            .iter()
            .all(|r| r.as_ref().unwrap_err().name() == "FutureNonce")
    );
    let record = chain.produce_block().unwrap();
    assert_eq!(record.extrinsics.len(), 137);
}
