//! The command-line wallet's verification: the shared light client ([`LightSync`]) driven over
//! the node's HTTP API. Nothing the node says about the wallet's coins is believed: headers are
//! checked by the consensus rules, filters against the headers, blocks against the headers.

use super::client::{ClientError, NodeClient};
use ferro_shared::hash::PubkeyHash;
use ferro_shared::light::{LightError, LightSync, Need};
use ferro_shared::Network;

/// Why verification did not finish.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Node(#[from] ClientError),
    #[error("the node at {url} served something that failed verification: {error}")]
    Failed { url: String, error: LightError },
}

/// Verifies the chain the node serves and the wallet's coins on it, from genesis.
pub async fn verify(
    client: &NodeClient,
    network: Network,
    watch: &[PubkeyHash],
) -> Result<LightSync, VerifyError> {
    let now = crate::env::system_unix_now();
    let mut sync = LightSync::new(network, &[], watch.iter().copied(), now);
    let failed = |error| VerifyError::Failed { url: client.url().to_string(), error };
    loop {
        match sync.next() {
            Need::Headers { locator } => {
                let headers = client.headers_after(&locator).await?;
                sync.on_headers(&headers, now).map_err(failed)?;
            }
            Need::Filters { from } => {
                let filters = client.filters(from).await?;
                if filters.is_empty() {
                    // The node's chain ends below the headers it served: it cannot show the
                    // rest, so verification stops here.
                    return Err(failed(LightError::UnknownHeight(from)));
                }
                sync.on_filters(filters).map_err(failed)?;
            }
            Need::Block { height, .. } => {
                let block = client.raw_block(height).await?;
                sync.on_block(height, &block).map_err(failed)?;
            }
            Need::Done => return Ok(sync),
        }
    }
}
