//! The other nodes a wallet checks its node against: parsed from what the user typed, one URL
//! per line.

/// Most nodes checked besides the wallet's own: each costs a request per tip.
pub const MAX_OTHER_NODES: usize = 5;

/// Why a list of nodes was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeListError {
    #[error("line {line}: {text:?} is not a node address like http://host:port")]
    NotAUrl { line: usize, text: String },
    #[error("at most {MAX_OTHER_NODES} other nodes")]
    TooMany,
}

/// The node URLs in `text` (one per line, blank lines ignored), without a trailing slash, each
/// once, in order, leaving out `own` (the wallet's node).
pub fn parse_node_list(text: &str, own: &str) -> Result<Vec<String>, NodeListError> {
    let own = own.trim_end_matches('/');
    let mut out: Vec<String> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let url = line.trim_end_matches('/');
        let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"));
        let host_ok = rest
            .is_some_and(|r| !r.is_empty() && !r.contains(['/', '?', '#', ' ', '@']) && !r.starts_with(':'));
        if !host_ok {
            return Err(NodeListError::NotAUrl { line: i + 1, text: line.chars().take(80).collect() });
        }
        if url != own && !out.iter().any(|u| u == url) {
            out.push(url.to_string());
        }
    }
    if out.len() > MAX_OTHER_NODES {
        return Err(NodeListError::TooMany);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_lists() {
        let own = "http://127.0.0.1:8080";
        let cases: &[(&str, Result<Vec<&str>, NodeListError>)] = &[
            ("", Ok(vec![])),
            ("http://a:1\n\n  https://b:2/ \nhttp://a:1/", Ok(vec!["http://a:1", "https://b:2"])),
            ("http://127.0.0.1:8080/\nhttp://c", Ok(vec!["http://c"])),
            ("ws://a:1", Err(NodeListError::NotAUrl { line: 1, text: "ws://a:1".into() })),
            ("http://a\nhttp://b/api", Err(NodeListError::NotAUrl { line: 2, text: "http://b/api".into() })),
            ("http://", Err(NodeListError::NotAUrl { line: 1, text: "http://".into() })),
            ("http://u@evil", Err(NodeListError::NotAUrl { line: 1, text: "http://u@evil".into() })),
            ("http://1\nhttp://2\nhttp://3\nhttp://4\nhttp://5\nhttp://6", Err(NodeListError::TooMany)),
        ];
        for (text, expected) in cases {
            let got = parse_node_list(text, own);
            let expected: Result<Vec<String>, NodeListError> =
                expected.clone().map(|v| v.into_iter().map(String::from).collect());
            assert_eq!(got, expected, "{text:?}");
        }
    }
}
