//! What the account view shows, computed from the node's answers: coins the account can spend
//! now, history lines, amounts in coins, the address as a QR code.

use ferro_shared::api::{HistoryEntry, UtxoView};
use ferro_shared::wallet::Spendable;
use ferro_shared::{Address, Amount, Network};

/// An amount as the wallet shows it: `50 FRC`, `0.00000454 FRC`.
pub fn coins(amount: Amount) -> String {
    format!("{} FRC", amount.to_coin_string())
}

/// The outputs a transaction in the next block may spend: everything the node lists, minus
/// coinbase outputs that are still maturing (`tip` is the node's current height).
pub fn spendable(utxos: &[UtxoView], tip: u64, network: Network) -> Vec<Spendable> {
    let maturity = network.params().coinbase_maturity;
    let next_height = tip.saturating_add(1);
    utxos
        .iter()
        .filter(|u| match (u.coinbase, u.height) {
            (false, _) => true,
            (true, Some(h)) => maturity == 0 || next_height >= h.saturating_add(maturity).saturating_add(1),
            (true, None) => false,
        })
        .map(|u| Spendable { outpoint: u.outpoint, amount: u.amount })
        .collect()
}

/// Which way a history entry moved coins, seen from the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Received,
    Sent,
}

/// One history line: direction and the net amount (for a payment: amount plus fee).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryLine {
    pub direction: Direction,
    pub amount: Amount,
}

impl HistoryLine {
    pub fn of(entry: &HistoryEntry) -> Self {
        if entry.received >= entry.sent {
            HistoryLine {
                direction: Direction::Received,
                amount: entry.received.checked_sub(entry.sent).unwrap_or(Amount::ZERO),
            }
        } else {
            HistoryLine {
                direction: Direction::Sent,
                amount: entry.sent.checked_sub(entry.received).unwrap_or(Amount::ZERO),
            }
        }
    }

    /// `received`, `sent`.
    pub fn label(&self) -> &'static str {
        match self.direction {
            Direction::Received => "received",
            Direction::Sent => "sent",
        }
    }

    /// `+1.5 FRC`, `-0.25 FRC`.
    pub fn signed(&self) -> String {
        let sign = match self.direction {
            Direction::Received => '+',
            Direction::Sent => '-',
        };
        format!("{sign}{}", coins(self.amount))
    }
}

/// Where a transaction stands, in words: `pending` or `block 12`.
pub fn where_confirmed(height: Option<u64>) -> String {
    match height {
        Some(h) => format!("block {h}"),
        None => "pending".into(),
    }
}

/// The address as an SVG QR code (upper case, which QR codes store more compactly and which
/// addresses accept). Without the XML prolog, so it can be placed inside HTML.
pub fn address_qr_svg(address: &Address) -> String {
    let text = address.to_string().to_uppercase();
    let code = qrcode::QrCode::new(text.as_bytes()).expect("an address fits in a QR code");
    let svg =
        code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(180, 180).quiet_zone(true).build();
    match svg.find("<svg") {
        Some(i) => svg[i..].to_string(),
        None => svg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferro_shared::{OutPoint, PubkeyHash, Txid};

    fn utxo(n: u8, units: u64, height: Option<u64>, coinbase: bool) -> UtxoView {
        UtxoView {
            outpoint: OutPoint { txid: Txid([n; 32]), vout: 0 },
            amount: Amount::from_units(units),
            height,
            coinbase,
        }
    }

    #[test]
    fn maturing_coinbase_is_not_spendable() {
        // Test network: maturity 10, a coinbase of height h is spendable from height h + 11.
        //   height:  5 ....... 15   16
        //   coinbase@5         no   yes  (tip 14 → next block 15; tip 15 → next 16)
        let utxos = [utxo(1, 100, Some(5), true), utxo(2, 200, Some(5), false), utxo(3, 300, None, false)];
        let ids = |tip, net| -> Vec<u8> {
            spendable(&utxos, tip, net).iter().map(|s| s.outpoint.txid.0[0]).collect()
        };
        assert_eq!(ids(14, Network::Test), vec![2, 3]);
        assert_eq!(ids(15, Network::Test), vec![1, 2, 3]);
        // Dev network: maturity 0, spendable in the next block.
        assert_eq!(ids(5, Network::Dev), vec![1, 2, 3]);
    }

    #[test]
    fn history_lines() {
        let entry = |received, sent| HistoryEntry {
            txid: Txid([0; 32]),
            height: None,
            time: None,
            received: Amount::from_units(received),
            sent: Amount::from_units(sent),
        };
        let mined = HistoryLine::of(&entry(5_000_000_000, 0));
        assert_eq!((mined.label(), mined.signed()), ("received", "+50 FRC".to_string()));
        // Spent a 50 FRC coin, got 39.99999546 back as change: sent 10 plus a 454-unit fee.
        let paid = HistoryLine::of(&entry(3_999_999_546, 5_000_000_000));
        assert_eq!((paid.label(), paid.signed()), ("sent", "-10.00000454 FRC".to_string()));
        assert_eq!(where_confirmed(Some(12)), "block 12");
        assert_eq!(where_confirmed(None), "pending");
        assert_eq!(coins(Amount::from_units(454)), "0.00000454 FRC");
    }

    #[test]
    fn qr_is_inline_svg() {
        let svg = address_qr_svg(&Address::new(Network::Dev, PubkeyHash([3; 32])));
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        assert!(svg.ends_with("</svg>"));
    }
}
