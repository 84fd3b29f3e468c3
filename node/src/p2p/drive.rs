//! Drives one connection's [`Session`] with arbitrary bytes and checks its limits after every
//! step: the stateful fuzz target (`fuzz/fuzz_targets/session.rs`) and a property test run it.
//!
//! The bytes are read as steps: one byte chooses the step (a frame from the peer, a timer tick,
//! our tip moving), one more how far the clock moves; a frame step then takes a 2-byte length
//! and that many bytes. The node's answers are made up: every transaction announced is missing
//! here, every transaction received spent an unknown coin (so it is kept to ask again), every
//! announced header run does not connect. Those are the answers that make a session hold the
//! most.

use super::link::HeadersRefused;
use super::session::{
    Ask, Effect, Input, Session, Timing, MAX_DEFERRED_TXS, MAX_ORPHANS, MAX_PENDING_REQUESTS, ORPHAN_TRIES,
};
use crate::mempool::MempoolError;
use ferro_shared::consensus::tx::TxError;
use ferro_shared::hash::{BlockHash, Txid};
use ferro_shared::p2p::{Hello, Message, MAX_MESSAGE_BYTES, PROTOCOL_VERSION};
use ferro_shared::pow::Work;
use ferro_shared::tx::OutPoint;
use ferro_shared::Network;
use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;

/// Runs the steps `data` describes; panics when a limit is broken.
pub fn drive(data: &[u8]) {
    let network = Network::Dev;
    let key = ferro_shared::SecretKey::from_bytes(&[7; 32]).expect("a valid key").public_key();
    let hello = Hello {
        version: PROTOCOL_VERSION,
        network,
        genesis: network.genesis_hash(),
        height: 10,
        tip: network.genesis_hash(),
        work: Work::ZERO,
        listen_url: None,
        node_key: key,
        nonce: [0; 32],
        agent: "drive".into(),
    };
    let mut now = Instant::now();
    let (mut session, first) = Session::start(Timing::default(), &hello, now);
    if !carry(&mut session, first, now) {
        return;
    }
    let mut bytes = data;
    while bytes.len() >= 2 {
        let (kind, advance) = (bytes[0], bytes[1]);
        bytes = &bytes[2..];
        now += Duration::from_millis(u64::from(advance) * 250);
        let input = match kind % 8 {
            0 => Input::Tick,
            1 => Input::TipMoved,
            _ => {
                if bytes.len() < 2 {
                    break;
                }
                let len = usize::from(u16::from_le_bytes([bytes[0], bytes[1]])).min(bytes.len() - 2);
                let frame = &bytes[2..2 + len];
                bytes = &bytes[2 + len..];
                match Message::from_frame(frame) {
                    Ok(message) => Input::Message(message),
                    Err(e) => Input::Violation(e.to_string()),
                }
            }
        };
        let effects = session.handle(input, now);
        if !carry(&mut session, effects, now) {
            return;
        }
    }
}

/// Carries out effects with made-up node answers, checking the session after each; `false`
/// once the session asks to disconnect.
fn carry(session: &mut Session, effects: Vec<Effect>, now: Instant) -> bool {
    let mut queue: VecDeque<Effect> = effects.into();
    let mut steps = 0;
    while let Some(effect) = queue.pop_front() {
        steps += 1;
        assert!(steps < 100_000, "effects never settle");
        let answer = match effect {
            Effect::Disconnect { .. } => return false,
            Effect::Send(message) => {
                let frame = message.to_frame();
                assert!(frame.len() <= MAX_MESSAGE_BYTES, "sent a {}-byte {}", frame.len(), message.kind());
                assert!(Message::from_frame(&frame).is_ok(), "sent a {} its peer refuses", message.kind());
                None
            }
            Effect::Ask(Ask::MissingTxs(txids)) => Some(Input::MissingTxs(txids)),
            Effect::Ask(Ask::MissingBlocks(hashes)) => Some(Input::MissingBlocks(hashes)),
            Effect::Ask(Ask::Pending) => Some(Input::Pending(vec![])),
            Effect::Ask(Ask::JudgeHeaders(_)) => Some(Input::HeadersJudged {
                result: Err(HeadersRefused::Unconnected { parent: BlockHash([0; 32]) }),
                our_work: Work::ZERO,
            }),
            Effect::SubmitTx(tx) => {
                let unknown = OutPoint { txid: Txid([0; 32]), vout: 0 };
                Some(Input::TxJudged(tx.txid(), Err(MempoolError::Invalid(TxError::UnknownInput(unknown)))))
            }
            Effect::Import { .. } | Effect::Serve(_) | Effect::Tell(_) | Effect::Penalize { .. } => None,
        };
        if let Some(input) = answer {
            for e in session.handle(input, now).into_iter().rev() {
                queue.push_front(e);
            }
        }
        let held = session.held();
        assert!(held.pending <= MAX_PENDING_REQUESTS, "{held:?}");
        assert!(held.deferred <= MAX_DEFERRED_TXS, "{held:?}");
        assert!(held.orphans <= MAX_ORPHANS, "{held:?}");
        assert!(held.retried <= MAX_ORPHANS * ORPHAN_TRIES, "{held:?}");
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferro_shared::p2p::WireTx;
    use proptest::prelude::*;

    /// A frame step carrying `message`.
    fn step(message: &Message) -> Vec<u8> {
        let frame = message.to_frame();
        let mut out = vec![2, 1];
        out.extend_from_slice(&(frame.len() as u16).to_le_bytes());
        out.extend_from_slice(&frame);
        out
    }

    #[test]
    fn announcements_and_answers_in_bulk_stay_within_the_limits() {
        // A peer announces 5,000 transactions a hundred times (more than every limit), sends
        // each asked-for one as spending an unknown coin, and our tip moves in between.
        let mut data = vec![];
        for round in 0..100u32 {
            let txids: Vec<Txid> = (0..5_000u32)
                .map(|i| Txid(ferro_shared::hash::sha256(&(round * 5_000 + i).to_le_bytes())))
                .collect();
            data.extend(step(&Message::InvTxs(txids)));
            data.extend([1, 0]);
        }
        let tx = ferro_shared::Transaction::coinbase(1, vec![]);
        data.extend(step(&Message::Txs { id: 1, txs: vec![WireTx(tx)], more: false }));
        drive(&data);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
        #[test]
        fn any_bytes_keep_a_session_within_its_limits(data in prop::collection::vec(any::<u8>(), 0..2_000)) {
            drive(&data);
        }
    }
}
