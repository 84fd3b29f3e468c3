//! Hostile hosts: strangers that dial honest nodes under fresh keys and misbehave in the ways the
//! peer layer is built to withstand (the hostile benchmark's catalogue). Honest nodes must
//! penalize them, and only them, and keep agreeing among themselves.

use crate::host::{Host, Shared, NETWORK};
use crate::net::PORT;
use crate::rng::Rng;
use ferro_shared::block::BlockHeader;
use ferro_shared::hash::BlockHash;
use ferro_shared::p2p::{auth_digest, Hello, Message, WireBlock, WireTx, PROTOCOL_VERSION};
use ferro_shared::pow::Work;
use ferro_shared::{Block, SecretKey, Transaction, TxIn, TxOut};
use futures_util::{SinkExt, StreamExt};
use std::cell::Cell;
use std::net::IpAddr;
use std::rc::Rc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as Ws;

type Socket = tokio_tungstenite::WebSocketStream<turmoil::net::TcpStream>;

/// What a hostile host does once connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Pushes blocks whose proof of work does not meet their target.
    BadBlocks,
    /// Offers a real coin's spend with a signature that does not verify.
    InvalidSignatures,
    /// Gossips malformed addresses.
    JunkAddresses,
    /// Asks for headers far faster than the flood limit allows.
    RequestFlooder,
}

impl Kind {
    pub const ALL: [Kind; 4] =
        [Kind::BadBlocks, Kind::InvalidSignatures, Kind::JunkAddresses, Kind::RequestFlooder];

    pub fn label(self) -> &'static str {
        match self {
            Kind::BadBlocks => "bad blocks",
            Kind::InvalidSignatures => "invalid signatures",
            Kind::JunkAddresses => "junk addresses",
            Kind::RequestFlooder => "request flooder",
        }
    }
}

/// A hostile host.
#[derive(Debug)]
pub struct Hostile {
    pub name: String,
    pub kind: Kind,
    pub seed: u64,
    /// The honest nodes it attacks.
    pub targets: Vec<Rc<Host>>,
    pub connections: Cell<u64>,
    pub shared: Rc<Shared>,
}

/// The hostile host's software: connect to a random honest node, misbehave, repeat.
pub async fn main(h: Rc<Hostile>) -> turmoil::Result {
    let mut rng = Rng::new(h.seed);
    loop {
        tokio::time::sleep(Duration::from_secs(rng.range(1, 8))).await;
        let target = h.targets[rng.below(h.targets.len())].clone();
        let Some(ip) = target.ip.get() else { continue };
        let key = loop {
            if let Ok(key) = SecretKey::from_bytes(&rng.bytes32()) {
                break key;
            }
        };
        let Ok(Ok(mut socket)) =
            tokio::time::timeout(Duration::from_secs(10), connect(ip, &key, &mut rng)).await
        else {
            continue;
        };
        h.connections.set(h.connections.get() + 1);
        let _ = tokio::time::timeout(Duration::from_secs(30), misbehave(&h, &target, &mut socket, &mut rng))
            .await;
    }
}

async fn send(socket: &mut Socket, message: &Message) -> Result<(), String> {
    socket.send(Ws::Binary(message.to_frame().into())).await.map_err(|e| e.to_string())
}

async fn next(socket: &mut Socket) -> Result<Message, String> {
    loop {
        match socket.next().await {
            Some(Ok(Ws::Binary(bytes))) => return Message::from_frame(&bytes).map_err(|e| e.to_string()),
            Some(Ok(_)) => continue,
            other => return Err(format!("connection ended: {other:?}")),
        }
    }
}

/// Dials `ip` and completes a handshake under `key`.
async fn connect(ip: IpAddr, key: &SecretKey, rng: &mut Rng) -> Result<Socket, String> {
    let stream = turmoil::net::TcpStream::connect((ip, PORT)).await.map_err(|e| e.to_string())?;
    let url = format!("ws://{ip}:{PORT}/p2p");
    let (mut socket, _) = tokio_tungstenite::client_async(url, stream).await.map_err(|e| e.to_string())?;
    let genesis = NETWORK.genesis_hash();
    let ours = Hello {
        version: PROTOCOL_VERSION,
        network: NETWORK,
        genesis,
        height: 0,
        tip: genesis,
        work: Work::ZERO,
        listen_url: None,
        node_key: key.public_key(),
        nonce: rng.bytes32(),
        agent: "hostile/1".into(),
    };
    send(&mut socket, &Message::Hello(ours.clone())).await?;
    let Message::Hello(theirs) = next(&mut socket).await? else { return Err("no hello".into()) };
    let digest = auth_digest(&genesis, &theirs.nonce, &ours.node_key, &theirs.node_key);
    send(&mut socket, &Message::Auth(key.sign_digest(&digest))).await?;
    match next(&mut socket).await? {
        Message::Auth(_) => Ok(socket),
        other => Err(format!("expected auth, got {}", other.kind())),
    }
}

async fn misbehave(h: &Hostile, target: &Host, socket: &mut Socket, rng: &mut Rng) -> Result<(), String> {
    match h.kind {
        Kind::BadBlocks => {
            let genesis = NETWORK.genesis_block();
            let mut block: Block = genesis.clone();
            block.header = BlockHeader {
                height: 1,
                prev: genesis.hash(),
                time: genesis.header.time + 600,
                nonce: rng.next_u64(),
                ..genesis.header
            };
            // Fails its target but for one nonce in 65,536; then it is a stale block at height
            // one, which is no offence either.
            send(socket, &Message::NewBlock(WireBlock(block))).await?;
        }
        Kind::InvalidSignatures => {
            let miners: Vec<&Rc<Host>> = h.targets.iter().filter(|t| t.hash_rate > 0).collect();
            let owner = miners[rng.below(miners.len())];
            let Some(tx) = bad_spend(target, owner, rng) else { return Ok(()) };
            send(socket, &Message::InvTxs(vec![tx.txid()])).await?;
            loop {
                if let Message::GetTxs { id, .. } = next(socket).await? {
                    send(socket, &Message::Txs { id, txs: vec![WireTx(tx)], more: false }).await?;
                    break;
                }
            }
        }
        Kind::JunkAddresses => {
            let urls = (0..20).map(|i| format!("http://junk {}/?x={i}", rng.next_u64())).collect();
            send(socket, &Message::Addrs(urls)).await?;
        }
        Kind::RequestFlooder => {
            let locator = vec![NETWORK.genesis_hash()];
            for id in 1..=5_000u64 {
                let m = Message::GetHeaders { id, locator: locator.clone(), limit: 2_000 };
                send(socket, &m).await?;
            }
        }
    }
    // Read whatever comes until the node cuts us off.
    while next(socket).await.is_ok() {}
    Ok(())
}

/// A spend of one of `owner`'s coins as `target` records them (as anyone watching the chain can
/// find them), signed by a key that does not own it.
fn bad_spend(target: &Host, owner: &Host, rng: &mut Rng) -> Option<Transaction> {
    let node = target.node.borrow().clone()?;
    let coins = node.store().address_utxos(&owner.pkh()).ok()?;
    let (outpoint, coin) = coins.get(rng.below(coins.len().max(1)))?;
    let forger = SecretKey::from_bytes(&rng.bytes32()).ok()?;
    let signature = forger.sign_digest(&BlockHash(rng.bytes32()).0);
    Some(Transaction {
        version: ferro_shared::tx::TX_VERSION,
        coinbase_height: None,
        inputs: vec![TxIn { prevout: *outpoint, pubkey: owner.key.public_key(), signature }],
        outputs: vec![TxOut { recipient: forger.public_key().pubkey_hash(), amount: coin.output.amount }],
    })
}
