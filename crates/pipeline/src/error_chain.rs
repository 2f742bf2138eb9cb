//! One error and its sources as one line of text.

/// An error and its sources, joined with `: ` (`outer: cause: root`), for
/// messages that must say why without a backtrace.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn error_chain_joins_every_source() {
        let e = Outer(std::io::Error::other("root"));
        assert_eq!(error_chain(&e), "outer: root");
    }
}
