//! `GET /api/addresses/{address}`: balance, spendable outputs and history of one address.

use crate::api::error::ApiError;
use crate::api::extract::Json;
use crate::node::Node;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use ferro_shared::api::AddressView;
use ferro_shared::Address;

pub fn routes() -> Router<Node> {
    Router::new().route("/addresses/{address}", get(address))
}

/// An address that does not parse, or belongs to another network, answers 400
/// `invalid_address` with the reason (a checksum typo, the wrong network, ...).
async fn address(
    State(node): State<Node>,
    address: Result<Path<String>, PathRejection>,
) -> Result<Json<AddressView>, ApiError> {
    let Path(address) = address?;
    let address = Address::parse(&address, node.network())?;
    Ok(Json(node.address(&address)?))
}

#[cfg(test)]
mod tests {
    use crate::api::testkit::*;
    use axum::http::StatusCode;
    use ferro_shared::api::AddressView;
    use ferro_shared::{Address, Amount, Network};

    #[tokio::test]
    async fn an_unused_address_is_empty() {
        let t = TestNode::dev();
        let view: AddressView = get_ok(&t.app(), &format!("/api/addresses/{}", address_of(&key(3)))).await;
        assert_eq!((view.balance, view.pending), (Amount::ZERO, Amount::ZERO));
        assert!(view.utxos.is_empty() && view.history.is_empty());
    }

    #[tokio::test]
    async fn invalid_addresses_say_why() {
        let t = TestNode::dev();
        let app = t.app();
        let good = address_of(&key(3)).to_string();
        // Change one character of the data part: the checksum no longer matches.
        let mut typo = good.clone().into_bytes();
        let last = typo.len() - 1;
        typo[last - 3] = if typo[last - 3] == b'q' { b'p' } else { b'q' };
        let typo = String::from_utf8(typo).unwrap();
        let other_network = Address::from_public_key(Network::Test, &key(3).public_key()).to_string();
        let cases = [
            ("checksum typo", typo.as_str(), "checksum"),
            ("other network", other_network.as_str(), "test network"),
            ("not an address", "hello", "bech32m"),
        ];
        for (name, address, says) in cases {
            let (status, body) = get_error(&app, &format!("/api/addresses/{address}")).await;
            assert_eq!(
                (status, body.error.code.as_str()),
                (StatusCode::BAD_REQUEST, "invalid_address"),
                "{name}"
            );
            assert!(body.error.message.contains(says), "{name}: {}", body.error.message);
        }
    }
}
