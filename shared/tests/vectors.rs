//! Fixed test vectors for Ferrocoin's consensus bytes.
//!
//! Every expected value checked here is also printed in the "Test vectors" section of
//! `docs/protocol.md`, as a line `label = value`. Each check asserts both that the code computes
//! the value and that the document contains that exact line, so the two cannot drift apart.
//! Where the document specifies a byte layout, the bytes are also assembled here by hand from
//! that layout and compared with what the code produces.

use ferro_shared::address::Address;
use ferro_shared::amount::{Amount, MAX_MONEY};
use ferro_shared::block::{HEADER_SIZE, NONCE_OFFSET};
use ferro_shared::consensus::{
    block_subsidy, check_header, check_tx_inputs, check_tx_shape, median_time_past, next_bits, Coin,
    HeaderContext, TxError,
};
use ferro_shared::encode::{from_bytes, to_bytes};
use ferro_shared::hash::{merkle_root, sha256, sha256d, PubkeyHash, Txid};
use ferro_shared::keys::{KeyError, SecretKey};
use ferro_shared::keystore::{seal, KdfParams, Sealed};
use ferro_shared::mnemonic::Mnemonic;
use ferro_shared::params::Network;
use ferro_shared::pow::{CompactTarget, Target};
use ferro_shared::tx::{OutPoint, Transaction, TxIn, TxOut, SIGHASH_TAG, TX_VERSION};
use ferro_shared::wallet::{fee_for, tx_size};
use std::collections::HashMap;

const DOC: &str = include_str!("../../docs/protocol.md");

/// Asserts that the code computed `want` and that the document lists `label = want`.
#[track_caller]
fn check(label: &str, got: impl AsRef<str>, want: &str) {
    assert_eq!(got.as_ref(), want, "vector {label}");
    let line = format!("{label} = {want}");
    assert!(DOC.lines().any(|l| l == line), "docs/protocol.md lacks the line `{line}`");
}

// Keys: the secret key 0x01 repeated 32 times ("alice") and 0x02 repeated ("bob").
const ALICE_SECRET: &str = "0101010101010101010101010101010101010101010101010101010101010101";
const ALICE_PUBKEY: &str = "031b84c5567b126440995d3ed5aaba0565d71e1834604819ff9c17f5e9d5dd078f";
const ALICE_HASH: &str = "f1d12012406b87afb27f6dd16ac0a76fcdaa55ed820926232b26f5132dc0cb41";
const ALICE_DEV: &str = "fdev178gjqyjqdwr6lvnldhgk4s98dlx6540dsgyjvgetym63xtwqedqsznfcpc";
const ALICE_TEST: &str = "ftest178gjqyjqdwr6lvnldhgk4s98dlx6540dsgyjvgetym63xtwqedqsjt86t6";
const BOB_SECRET: &str = "0202020202020202020202020202020202020202020202020202020202020202";
const BOB_PUBKEY: &str = "024d4b6cd1361032ca9bd2aeb9d900aa4d45d9ead80ac9423374c451a7254d0766";
const BOB_HASH: &str = "80a9f99957b29af20338037cf06360bc55422e5bba0032bb4136498c278a7db1";
const BOB_DEV: &str = "fdev1sz5lnx2hk2d0yqecqd70qcmqh325ytjmhgqr9w6pxeyccfu20kcse2ucmp";

// The regular transaction: alice spends outpoint 000102…1f:1 (200000000 units).
const PREV_TXID: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const SIGHASH_PREIMAGE: &str = "464552524f434f494e2f54582f563200329f5f137907fe18489a0a04f4cf5eab2a9\
24060fe0e9b1ccfaaaaa590cccb060100000001000000000102030405060708090a0b0c0d0e0f101112131415161718191a\
1b1c1d1e1f01000000f1d12012406b87afb27f6dd16ac0a76fcdaa55ed820926232b26f5132dc0cb4100c2eb0b000000000\
200000080a9f99957b29af20338037cf06360bc55422e5bba0032bb4136498c278a7db180d1f00800000000f1d12012406b\
87afb27f6dd16ac0a76fcdaa55ed820926232b26f5132dc0cb419eeffa0200000000";
const SIGHASH_DEV: &str = "0abbb7763ab459486c1b5f201e7fba7ede424ada178794b259dbbdc2ad54fe04";
const SIGHASH_LIED: &str = "79415f022f14521797d6a7ff83978aadc973af85abd782f2696a9533d5fbffa1";
const SIGHASH_TEST: &str = "82fae31f1f73c7939d5ebee46dc2f03d89992479bc031084b44d011c0e0d235f";
const SIGNATURE: &str = "f93b6770e95f2c8d89b20fa0e1e376b57ed3c25d87de71f3c1a68e3ba52797237f1138e335\
71c0026cafb3c6f1a3ca67382171d4518d8ab1633b75673f99119d";
const TX_BYTES: &str = "010000000001000000000102030405060708090a0b0c0d0e0f101112131415161718191a1b1\
c1d1e1f01000000031b84c5567b126440995d3ed5aaba0565d71e1834604819ff9c17f5e9d5dd078ff93b6770e95f2c8d89\
b20fa0e1e376b57ed3c25d87de71f3c1a68e3ba52797237f1138e33571c0026cafb3c6f1a3ca67382171d4518d8ab1633b7\
5673f99119d0200000080a9f99957b29af20338037cf06360bc55422e5bba0032bb4136498c278a7db180d1f00800000000\
f1d12012406b87afb27f6dd16ac0a76fcdaa55ed820926232b26f5132dc0cb419eeffa0200000000";
const TXID: &str = "cbd7414b6d570e8b90050e69717db417ed8be6548817d35750eb718a0c2caeeb";

// The coinbase of a dev block at height 1 paying 50 FRC to alice.
const COINBASE_BYTES: &str = "010000000101000000000000000000000001000000f1d12012406b87afb27f6dd16ac0a76fcd\
aa55ed820926232b26f5132dc0cb4100f2052a01000000";
const COINBASE_TXID: &str = "2debc328f2306415d269d5a4135d3e0f252286f367db5097980f117bf7508dc8";

// Genesis blocks.
const GENESIS_COINBASE_BYTES: &str = "0100000001000000000000000000000000010000000000000000000000000000000000\
00000000000000000000000000000000000000f2052a01000000";
const GENESIS_COINBASE_TXID: &str = "c0836eb53246c8b8ed6f342ec6733bd926dd5d621e3f712bfbecc5dbc63c51e1";
const GENESIS_FILTER: &str = "0100000019a000";
const GENESIS_FILTER_HASH: &str = "527dba90776da43add1afa63ee89858fabfe58cd04b325089e524fd8a8e3650b";
const DEV_GENESIS_HEADER: &str = "01000000000000000000000000000000000000000000000000000000000000000\
00000000000000000000000c0836eb53246c8b8ed6f342ec6733bd926dd5d621e3f712bfbecc5dbc63c51e1527dba90776d\
a43add1afa63ee89858fabfe58cd04b325089e524fd8a8e3650b00b9556900000000ffff7f200000000000000000";
const DEV_GENESIS_HASH: &str = "329f5f137907fe18489a0a04f4cf5eab2a924060fe0e9b1ccfaaaaa590cccb06";
const TEST_GENESIS_HEADER: &str = "0100000000000000000000000000000000000000000000000000000000000000\
000000000000000000000000c0836eb53246c8b8ed6f342ec6733bd926dd5d621e3f712bfbecc5dbc63c51e1527dba90776\
da43add1afa63ee89858fabfe58cd04b325089e524fd8a8e3650b00b9556900000000ffff001f753d000000000000";
const TEST_GENESIS_HASH: &str = "00004a6098e6214ccbb9e68c7f3060e39ae3066fc891032020312e59e2d50bb2";

fn hx(bytes: impl AsRef<[u8]>) -> String {
    hex::encode(bytes)
}

fn key(hex_secret: &str) -> SecretKey {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(hex_secret, &mut bytes).unwrap();
    SecretKey::from_bytes(&bytes).unwrap()
}

fn hash32(s: &str) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(s, &mut bytes).unwrap();
    bytes
}

#[test]
fn sha256d_of_empty_input() {
    check(
        "sha256d(\"\")",
        hx(sha256d(b"")),
        "5df6e0e2761359d30a8275058e299fcc0381534545f55cf43e41983f5d4c9456",
    );
}

#[test]
fn keys_and_addresses() {
    for (name, secret, pubkey, hash) in
        [("alice", ALICE_SECRET, ALICE_PUBKEY, ALICE_HASH), ("bob", BOB_SECRET, BOB_PUBKEY, BOB_HASH)]
    {
        let k = key(secret);
        check(&format!("{name}.secret_key"), hx(k.to_bytes().as_slice()), secret);
        let pk = k.public_key();
        check(&format!("{name}.public_key"), pk.to_string(), pubkey);
        check(&format!("{name}.pubkey_hash"), pk.pubkey_hash().to_hex(), hash);
        // The pubkey hash is the single SHA-256 of the 33 compressed key bytes.
        assert_eq!(hx(sha256(pk.as_bytes())), hash);
    }
    let alice = key(ALICE_SECRET).public_key();
    check("alice.address.dev", Address::from_public_key(Network::Dev, &alice).to_string(), ALICE_DEV);
    check("alice.address.test", Address::from_public_key(Network::Test, &alice).to_string(), ALICE_TEST);
    let bob = key(BOB_SECRET).public_key();
    check("bob.address.dev", Address::from_public_key(Network::Dev, &bob).to_string(), BOB_DEV);

    let parsed = Address::parse(ALICE_DEV, Network::Dev).unwrap();
    assert_eq!(parsed.hash, alice.pubkey_hash());
    assert_eq!(Address::parse(&ALICE_TEST.to_uppercase(), Network::Test).unwrap().hash, alice.pubkey_hash());
    assert!(Address::parse(ALICE_TEST, Network::Dev).is_err());
}

/// The regular transaction of the vectors, signed on the dev network.
fn regular_tx() -> (Transaction, Coin) {
    let alice = key(ALICE_SECRET);
    let bob = key(BOB_SECRET);
    let prevout = OutPoint { txid: Txid(hash32(PREV_TXID)), vout: 1 };
    let mut tx = Transaction {
        version: TX_VERSION,
        coinbase_height: None,
        inputs: vec![TxIn { prevout, pubkey: alice.public_key(), signature: alice.sign_digest(&[0; 32]) }],
        outputs: vec![
            TxOut { recipient: bob.public_key().pubkey_hash(), amount: Amount::from_units(150_000_000) },
            TxOut { recipient: alice.public_key().pubkey_hash(), amount: Amount::from_units(49_999_774) },
        ],
    };
    let coin = Coin {
        output: TxOut {
            recipient: alice.public_key().pubkey_hash(),
            amount: Amount::from_units(200_000_000),
        },
        height: 0,
        is_coinbase: false,
    };
    let signature = alice.sign_digest(&tx.sighash(&Network::Dev.genesis_hash(), &[coin.output]).unwrap());
    tx.inputs[0].signature = signature;
    (tx, coin)
}

#[test]
fn regular_transaction() {
    let (tx, coin) = regular_tx();
    let genesis = Network::Dev.genesis_hash();

    // The signed message, assembled by hand from the documented layout.
    let mut preimage = Vec::new();
    preimage.extend_from_slice(SIGHASH_TAG);
    preimage.extend_from_slice(genesis.as_bytes());
    preimage.extend_from_slice(&1u32.to_le_bytes()); // version
    preimage.extend_from_slice(&1u32.to_le_bytes()); // input count
    preimage.extend_from_slice(&hash32(PREV_TXID));
    preimage.extend_from_slice(&1u32.to_le_bytes()); // vout
    preimage.extend_from_slice(coin.output.recipient.as_bytes()); // owner of the spent coin
    preimage.extend_from_slice(&coin.output.amount.units().to_le_bytes()); // its value
    preimage.extend_from_slice(&2u32.to_le_bytes()); // output count
    for out in &tx.outputs {
        preimage.extend_from_slice(out.recipient.as_bytes());
        preimage.extend_from_slice(&out.amount.units().to_le_bytes());
    }
    assert_eq!(preimage.len(), 60 + (36 + 40) + 2 * 40);
    let spent = [coin.output];
    let sighash = |genesis| tx.sighash(&genesis, &spent).unwrap();
    check("tx.sighash_preimage", hx(&preimage), SIGHASH_PREIMAGE);
    check("tx.sighash.dev", hx(sighash(genesis)), SIGHASH_DEV);
    assert_eq!(sha256d(&preimage), sighash(genesis));
    check("tx.sighash.test", hx(sighash(Network::Test.genesis_hash())), SIGHASH_TEST);
    // The same transaction signed by a wallet told the coin holds 1 FRC more.
    let lied = TxOut { amount: Amount::from_units(300_000_000), ..coin.output };
    check("tx.sighash.dev.value_300000000", hx(tx.sighash(&genesis, &[lied]).unwrap()), SIGHASH_LIED);

    // RFC 6979: signing the same digest again gives the same signature.
    let signature = tx.inputs[0].signature;
    assert_eq!(key(ALICE_SECRET).sign_digest(&sighash(genesis)), signature);
    check("tx.signature", signature.to_string(), SIGNATURE);

    // The transaction bytes, assembled by hand from the documented layout.
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&1u32.to_le_bytes()); // 0: version
    bytes.push(0); // 4: no coinbase height
    bytes.extend_from_slice(&1u32.to_le_bytes()); // 5: input count
    bytes.extend_from_slice(&hash32(PREV_TXID)); // 9: prevout txid
    bytes.extend_from_slice(&1u32.to_le_bytes()); // 41: prevout vout
    bytes.extend_from_slice(tx.inputs[0].pubkey.as_bytes()); // 45: public key
    bytes.extend_from_slice(&signature.to_bytes()); // 78: signature
    bytes.extend_from_slice(&2u32.to_le_bytes()); // 142: output count
    for out in &tx.outputs {
        bytes.extend_from_slice(out.recipient.as_bytes()); // 146, 186
        bytes.extend_from_slice(&out.amount.units().to_le_bytes()); // 178, 218
    }
    check("tx.bytes", hx(to_bytes(&tx)), TX_BYTES);
    assert_eq!(bytes, to_bytes(&tx));
    check("tx.size", tx.size().to_string(), "226");
    assert_eq!(tx.size(), tx_size(1, 2));
    check("tx.txid", tx.txid().to_hex(), TXID);
    assert_eq!(hx(sha256d(&bytes)), TXID);
    assert_eq!(from_bytes::<Transaction>(&bytes).unwrap(), tx);

    // The rules accept it on dev, with a fee of exactly 1 unit per byte.
    let coins: HashMap<OutPoint, Coin> = [(tx.inputs[0].prevout, coin)].into();
    let params = Network::Dev.params();
    check_tx_shape(&tx, params).unwrap();
    let fee = check_tx_inputs(&tx, &coins, 1, params, &genesis).unwrap();
    check("tx.fee", fee.units().to_string(), "226");
    assert_eq!(fee, fee_for(tx.size(), 1).unwrap());

    // The same bytes are not valid on the test network: the signature names the dev network.
    let test = Network::Test;
    assert_eq!(
        check_tx_inputs(&tx, &coins, 100, test.params(), &test.genesis_hash()),
        Err(TxError::InvalidSignature { index: 0, reason: KeyError::BadSignature })
    );
    // Nor is the malleated (high-S) twin of the signature.
    let mut twin = tx.clone();
    twin.inputs[0].signature = signature.negate_s();
    assert_eq!(
        check_tx_inputs(&twin, &coins, 1, params, &genesis),
        Err(TxError::InvalidSignature { index: 0, reason: KeyError::HighS })
    );
    // Nor against a coin set that records another value for the coin spent.
    let other: HashMap<OutPoint, Coin> = [(
        tx.inputs[0].prevout,
        Coin { output: TxOut { amount: Amount::from_units(300_000_000), ..coin.output }, ..coin },
    )]
    .into();
    assert_eq!(
        check_tx_inputs(&tx, &other, 1, params, &genesis),
        Err(TxError::InvalidSignature { index: 0, reason: KeyError::BadSignature })
    );
}

#[test]
fn coinbase_transaction() {
    let alice = key(ALICE_SECRET).public_key();
    let cb = Transaction::coinbase(
        1,
        vec![TxOut { recipient: alice.pubkey_hash(), amount: Amount::from_units(5_000_000_000) }],
    );
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&1u32.to_le_bytes()); // 0: version
    bytes.push(1); // 4: coinbase height present
    bytes.extend_from_slice(&1u64.to_le_bytes()); // 5: height
    bytes.extend_from_slice(&0u32.to_le_bytes()); // 13: no inputs
    bytes.extend_from_slice(&1u32.to_le_bytes()); // 17: one output
    bytes.extend_from_slice(alice.pubkey_hash().as_bytes()); // 21
    bytes.extend_from_slice(&5_000_000_000u64.to_le_bytes()); // 53
    check("coinbase.bytes", hx(to_bytes(&cb)), COINBASE_BYTES);
    assert_eq!(bytes, to_bytes(&cb));
    check("coinbase.txid", cb.txid().to_hex(), COINBASE_TXID);
    check_tx_shape(&cb, Network::Dev.params()).unwrap();
}

#[test]
fn genesis_blocks() {
    for (network, header_hex, hash_hex, nonce) in [
        (Network::Dev, DEV_GENESIS_HEADER, DEV_GENESIS_HASH, "0"),
        (Network::Test, TEST_GENESIS_HEADER, TEST_GENESIS_HASH, "15733"),
    ] {
        let n = network.name();
        let block = network.genesis_block();
        let p = network.params();
        let coinbase = &block.transactions[0];
        check(&format!("{n}.genesis.coinbase"), hx(to_bytes(coinbase)), GENESIS_COINBASE_BYTES);
        check(&format!("{n}.genesis.coinbase_txid"), coinbase.txid().to_hex(), GENESIS_COINBASE_TXID);
        check(&format!("{n}.genesis.merkle_root"), block.header.merkle_root.to_hex(), GENESIS_COINBASE_TXID);
        let filter = block.compute_filter();
        check(&format!("{n}.genesis.filter"), hx(filter.as_bytes()), GENESIS_FILTER);
        check(&format!("{n}.genesis.filter_hash"), block.header.filter_hash.to_hex(), GENESIS_FILTER_HASH);
        assert_eq!(hx(sha256d(&hex::decode(GENESIS_FILTER).unwrap())), GENESIS_FILTER_HASH);
        check(&format!("{n}.genesis.nonce"), block.header.nonce.to_string(), nonce);
        check(&format!("{n}.genesis.header"), hx(block.header.to_array()), header_hex);
        check(&format!("{n}.genesis.hash"), block.hash().to_hex(), hash_hex);
        assert_eq!(network.genesis_hash().to_hex(), hash_hex);

        // The header bytes, assembled by hand from the documented layout.
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&1u32.to_le_bytes()); // 0: version
        bytes.extend_from_slice(&0u64.to_le_bytes()); // 4: height
        bytes.extend_from_slice(&[0; 32]); // 12: prev
        bytes.extend_from_slice(&hash32(GENESIS_COINBASE_TXID)); // 44: merkle root
        bytes.extend_from_slice(&hash32(GENESIS_FILTER_HASH)); // 76: filter hash
        bytes.extend_from_slice(&p.genesis_time.to_le_bytes()); // 108: time
        bytes.extend_from_slice(&p.pow_limit.0.to_le_bytes()); // 116: bits
        bytes.extend_from_slice(&p.genesis_nonce.to_le_bytes()); // 120: nonce
        assert_eq!(bytes.len(), HEADER_SIZE);
        assert_eq!(bytes[NONCE_OFFSET..], p.genesis_nonce.to_le_bytes());
        assert_eq!(hx(&bytes), header_hex);
        assert_eq!(hx(sha256d(&bytes)), hash_hex);

        // The genesis block meets its own target, and is the whole block encoding's prefix.
        assert!(Target::from_compact(p.pow_limit).unwrap().is_met_by(&block.hash()));
        let block_bytes = to_bytes(block);
        assert_eq!(hx(&block_bytes[..HEADER_SIZE]), header_hex);
        assert_eq!(block_bytes[HEADER_SIZE..HEADER_SIZE + 4], 1u32.to_le_bytes());
        assert_eq!(hx(&block_bytes[HEADER_SIZE + 4..]), GENESIS_COINBASE_BYTES);
    }
    check("dev.genesis.time", Network::Dev.params().genesis_time.to_string(), "1767225600");
}

#[test]
fn a_block_on_genesis_passes_the_header_rules() {
    // Not a documented vector: checks that the documented header context works as described.
    let network = Network::Dev;
    let genesis = network.genesis_block();
    let p = network.params();
    let mut header = genesis.header;
    header.height = 1;
    header.prev = genesis.hash();
    header.time = p.genesis_time + 1;
    while !Target::from_compact(header.bits).unwrap().is_met_by(&header.hash()) {
        header.nonce += 1;
    }
    let ctx = HeaderContext {
        height: 1,
        expected_bits: next_bits(p, 1, genesis.header.bits, genesis.header.time, None),
        median_time_past: median_time_past(&[genesis.header.time]),
        parent_time: genesis.header.time,
        now: header.time,
    };
    check_header(&header, &ctx, p).unwrap();
}

#[test]
fn compact_targets_and_work() {
    for (bits, target_hex, work) in [
        (0x207f_ffffu32, "7fffff0000000000000000000000000000000000000000000000000000000000", "2"),
        (0x1f00_ffff, "0000ffff00000000000000000000000000000000000000000000000000000000", "65537"),
    ] {
        let t = Target::from_compact(CompactTarget(bits)).unwrap();
        check(&format!("target(0x{bits:08x})"), hx(t.to_be_bytes()), target_hex);
        assert_eq!(t.work().to_be_bytes()[..24], [0; 24]);
        check(&format!("work(0x{bits:08x})"), t.work().low_u64().to_string(), work);
        assert_eq!(t.to_compact(), CompactTarget(bits), "the compact form is canonical");
    }
}

#[test]
fn retarget_examples() {
    let p = Network::Test.params();
    let limit = p.pow_limit;
    let anchor = p.genesis_time;
    for (actual, want) in
        [(190u64, "0x1f00ffff"), (95, "0x1e7fff80"), (0, "0x1e3fffc0"), (10_000, "0x1f00ffff")]
    {
        let bits = next_bits(p, 20, limit, anchor + actual, Some(anchor));
        check(
            &format!("next_bits(test, 20, 0x1f00ffff, actual {actual})"),
            format!("{:#010x}", bits.0),
            want,
        );
    }
    // Inside an epoch the parent's bits carry over.
    assert_eq!(
        next_bits(p, 21, CompactTarget(0x1e7f_ff80), anchor, Some(anchor)),
        CompactTarget(0x1e7f_ff80)
    );
}

#[test]
fn merkle_root_of_three() {
    let ids = [Txid([1; 32]), Txid([2; 32]), Txid([3; 32])];
    let mut node = vec![0x01];
    node.extend_from_slice(&[1; 32]);
    node.extend_from_slice(&[2; 32]);
    check(
        "merkle.node(01…, 02…)",
        hx(sha256d(&node)),
        "a545d04bc1d2afccdf03640239b7e6b9ca2c3dce1d841ba85b210e1864e53194",
    );
    check(
        "merkle.root(01…, 02…, 03…)",
        merkle_root(&ids).to_hex(),
        "53cd86631918238efb7353be397dd9440c8224bf218530c1fe88675c7c4e44af",
    );
    check(
        "merkle.root(01…, 02…, 03…, 03…)",
        merkle_root(&[ids[0], ids[1], ids[2], ids[2]]).to_hex(),
        "206be1c9d7a60c7e620a58ae1c0549bca9e7f8c8155fba66de3c9bfa666e0cef",
    );
    let mut root = vec![0x01];
    root.extend_from_slice(&sha256d(&node));
    root.extend_from_slice(&[3; 32]);
    assert_eq!(merkle_root(&ids).0, sha256d(&root), "the odd third txid is carried up unchanged");
}

#[test]
fn amount_strings() {
    for (input, want) in [
        ("1.5", "150000000"),
        ("0.00000001", "1"),
        (".5", "50000000"),
        ("2", "200000000"),
        ("21000000", "2100000000000000"),
    ] {
        let got = Amount::parse_coins(input).unwrap().units().to_string();
        check(&format!("parse_coins(\"{input}\")"), got, want);
    }
    for input in ["1.", "1,5", "-1", "0.000000001", "21000000.00000001"] {
        let got = format!("{:?}", Amount::parse_coins(input).unwrap_err());
        let want = match input {
            "1." | "1,5" => "Malformed",
            "-1" => "Negative",
            "0.000000001" => "TooPrecise",
            _ => "TooLarge",
        };
        check(&format!("parse_coins(\"{input}\")"), got, want);
    }
    for (units, want) in [(150_000_000u64, "1.5"), (1, "0.00000001"), (200_000_000, "2"), (0, "0")] {
        check(&format!("to_coin_string({units})"), Amount::from_units(units).to_coin_string(), want);
    }
    check("MAX_MONEY", MAX_MONEY.units().to_string(), "2100000000000000");
}

#[test]
fn subsidy_and_median_time() {
    let p = Network::Test.params();
    for (height, want) in [
        (0u64, "5000000000"),
        (209_999, "5000000000"),
        (210_000, "2500000000"),
        (6_929_999, "1"),
        (6_930_000, "0"),
    ] {
        check(&format!("block_subsidy({height})"), block_subsidy(p, height).units().to_string(), want);
    }
    check("median_time_past([9, 1, 5])", median_time_past(&[9, 1, 5]).to_string(), "5");
    check("median_time_past([1, 2, 3, 4])", median_time_past(&[1, 2, 3, 4]).to_string(), "3");
}

#[test]
fn mnemonic_account_keys() {
    let phrase = format!("{} art", ["abandon"; 23].join(" "));
    let m = Mnemonic::parse(&phrase).unwrap();
    let k0 = m.account_key(0);
    check(
        "account(0).secret_key",
        hx(k0.to_bytes().as_slice()),
        "17309b02534c21acc85a912e3a0be76b1bc64234df0256e252541634e31202b4",
    );
    check(
        "account(0).public_key",
        k0.public_key().to_string(),
        "02a5884670c5a76d2eb8487afde8ca2e2616140d9ea38e8a34084b33a9556a291f",
    );
    check(
        "account(0).address.dev",
        Address::from_public_key(Network::Dev, &k0.public_key()).to_string(),
        "fdev1ns3yqrk2dck46hd60wamvldkj79zfawfxj7sumczaa7094drs5qq8d63ac",
    );
    check(
        "account(1).public_key",
        m.account_key(1).public_key().to_string(),
        "03184896a9a21fb33cbf5a41e6b2eaffc77cfdc083ac5d9b73264f5341ba3f13bb",
    );
}

/// Yields 0x00, 0x01, 0x02, … so that the keystore's salt and nonce are fixed.
struct CountingRng(u8);

impl rand_core::RngCore for CountingRng {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }
    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for b in dest {
            *b = self.0;
            self.0 = self.0.wrapping_add(1);
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for CountingRng {}

#[test]
fn keystore() {
    let password = "correct horse battery staple";
    let secret = hash32(ALICE_SECRET);
    let sealed = seal(&secret, password, KdfParams::DEFAULT, &mut CountingRng(0)).unwrap();
    check("keystore.salt", &sealed.salt, "000102030405060708090a0b0c0d0e0f");
    check("keystore.nonce", &sealed.nonce, "101112131415161718191a1b1c1d1e1f2021222324252627");
    check(
        "keystore.ciphertext",
        &sealed.ciphertext,
        "f434bc12f86f0f1962f9942e945cc81917569830eb76b76c632b9e91d71375ea684566a4ccedad8623bd7f3778de126e",
    );
    let json = serde_json::to_string(&sealed).unwrap();
    check(
        "keystore.json",
        &json,
        "{\"version\":1,\"kdf\":{\"memory_kib\":19456,\"iterations\":2,\"parallelism\":1},\
         \"salt\":\"000102030405060708090a0b0c0d0e0f\",\"nonce\":\"101112131415161718191a1b1c1d1e1f2021222324252627\",\
         \"ciphertext\":\"f434bc12f86f0f1962f9942e945cc81917569830eb76b76c632b9e91d71375ea684566a4ccedad8623bd7f3778de126e\"}",
    );
    let parsed: Sealed = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed.open(password).unwrap().as_slice(), &secret);

    // Decrypt again straight from the documented construction, without the keystore module.
    use argon2::{Algorithm, Argon2, Params, Version};
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    use chacha20poly1305::{XChaCha20Poly1305, XNonce};
    let salt = hex::decode(&sealed.salt).unwrap();
    let mut aead_key = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(19456, 2, 1, Some(32)).unwrap())
        .hash_password_into(password.as_bytes(), &salt, &mut aead_key)
        .unwrap();
    let mut aad = b"FERROCOIN/KEYSTORE/V1".to_vec();
    for v in [19456u32, 2, 1] {
        aad.extend_from_slice(&v.to_le_bytes());
    }
    assert_eq!(aad.len(), 33);
    let nonce = hex::decode(&sealed.nonce).unwrap();
    let ciphertext = hex::decode(&sealed.ciphertext).unwrap();
    let plain = XChaCha20Poly1305::new((&aead_key).into())
        .decrypt(XNonce::from_slice(&nonce), Payload { msg: &ciphertext, aad: &aad })
        .unwrap();
    assert_eq!(plain, secret);
}

#[test]
fn documented_vectors_use_the_listed_recipients() {
    // The recipients of the regular transaction are the documented key hashes.
    let (tx, _) = regular_tx();
    assert_eq!(tx.outputs[0].recipient, PubkeyHash(hash32(BOB_HASH)));
    assert_eq!(tx.outputs[1].recipient, PubkeyHash(hash32(ALICE_HASH)));
}

/// Block filter: the key hashes of alice and bob, keyed by the Merkle root 00 01 02 … 1f. The
/// bits are assembled here from the document's construction, with SipHash-2-4 computed directly.
#[test]
fn block_filter_vector() {
    use core::hash::Hasher;
    use ferro_shared::filter::{BlockFilter, M, P};
    use ferro_shared::hash::MerkleRoot;
    let key = MerkleRoot(core::array::from_fn(|i| i as u8));
    let hash_of = |hex_str: &str| PubkeyHash(hex::decode(hex_str).unwrap().try_into().unwrap());
    let mut elements = vec![hash_of(ALICE_HASH), hash_of(BOB_HASH)];
    elements.sort_unstable();
    let filter = BlockFilter::of_elements(&key, &elements);
    check("filter.alice_bob", hex::encode(filter.as_bytes()), "02000000cbab21354340");
    check(
        "filter.alice_bob.hash",
        filter.hash().to_hex(),
        "680a89dffcf920b191643b5fdbb53c4c33ee21066d5067d155e76e2a65d1a8af",
    );

    // By hand: SipHash-2-4 keyed (k0, k1) = the root's first 16 bytes as two u64 LE, mapped to
    // [0, N·M) by (hash · N·M) >> 64, sorted, then each delta as a unary quotient (delta >> P
    // ones, a zero) and P bits of remainder, most significant bit first, zero padded.
    let k0 = u64::from_le_bytes(key.0[0..8].try_into().unwrap());
    let k1 = u64::from_le_bytes(key.0[8..16].try_into().unwrap());
    let n = elements.len() as u64;
    let mut mapped: Vec<u64> = elements
        .iter()
        .map(|e| {
            let mut h = siphasher::sip::SipHasher24::new_with_keys(k0, k1);
            h.write(&e.0);
            ((u128::from(h.finish()) * u128::from(n * M)) >> 64) as u64
        })
        .collect();
    mapped.sort_unstable();
    let mut bits = String::new();
    let mut last = 0;
    for v in mapped {
        let delta = v - last;
        last = v;
        bits.push_str(&"1".repeat((delta >> P) as usize));
        bits.push('0');
        bits.push_str(&format!("{:0width$b}", delta & ((1 << P) - 1), width = P as usize));
    }
    while bits.len() % 8 != 0 {
        bits.push('0');
    }
    let mut by_hand = (n as u32).to_le_bytes().to_vec();
    by_hand.extend(
        bits.as_bytes().chunks(8).map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 2).unwrap()),
    );
    assert_eq!(by_hand, filter.as_bytes());
    for e in &elements {
        assert!(filter.matches_any(&key, &[*e]).unwrap());
    }
}
