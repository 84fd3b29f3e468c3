//! The verified headers, kept in the browser's IndexedDB so that a reload resumes instead of
//! starting over: one record per network, the headers' canonical bytes back to back. What is
//! read back is verified again before use (`light::VerifiedHeaders::restore`): storage is
//! believed no more than a node.

use ferro_shared::block::HEADER_SIZE;
use ferro_shared::encode::from_bytes;
use ferro_shared::{BlockHeader, Network};
use rexie::{ObjectStore, Rexie, TransactionMode};
use wasm_bindgen::JsValue;

const DATABASE: &str = "ferrocoin";
const STORE: &str = "headers";

async fn open() -> Result<Rexie, String> {
    Rexie::builder(DATABASE)
        .version(1)
        .add_object_store(ObjectStore::new(STORE))
        .build()
        .await
        .map_err(|e| e.to_string())
}

/// The headers kept for `network`, genesis first (empty when none, or unreadable).
pub async fn load(network: Network) -> Vec<BlockHeader> {
    let Ok(db) = open().await else { return vec![] };
    let read = async {
        let tx = db.transaction(&[STORE], TransactionMode::ReadOnly).map_err(|e| e.to_string())?;
        let store = tx.store(STORE).map_err(|e| e.to_string())?;
        let value = store.get(JsValue::from_str(network.name())).await.map_err(|e| e.to_string())?;
        Ok::<_, String>(value.map(|v| js_sys::Uint8Array::new(&v).to_vec()))
    };
    let bytes = read.await.ok().flatten().unwrap_or_default();
    db.close();
    bytes.chunks_exact(HEADER_SIZE).map_while(|h| from_bytes::<BlockHeader>(h).ok()).collect()
}

/// Keeps `headers` (genesis first) for `network`, replacing what was kept.
pub async fn save(network: Network, headers: &[BlockHeader]) -> Result<(), String> {
    let db = open().await?;
    let mut bytes = Vec::with_capacity(headers.len() * HEADER_SIZE);
    for header in headers {
        bytes.extend_from_slice(&header.to_array());
    }
    let write = async {
        let tx = db.transaction(&[STORE], TransactionMode::ReadWrite).map_err(|e| e.to_string())?;
        let store = tx.store(STORE).map_err(|e| e.to_string())?;
        let value = js_sys::Uint8Array::from(bytes.as_slice());
        store
            .put(&value.into(), Some(&JsValue::from_str(network.name())))
            .await
            .map_err(|e| e.to_string())?;
        tx.done().await.map_err(|e| e.to_string())?;
        Ok(())
    };
    let result = write.await;
    db.close();
    result
}
