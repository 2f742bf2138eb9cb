//! Reading task definitions from a file: a JSON array, JSON lines, or a YAML
//! list, chosen by extension (`.json`, `.jsonl`/`.ndjson`, `.yaml`/`.yml`)
//! or, for other names and stdin (`-`), by the first non-blank character.

use std::io::Read;
use std::path::Path;

use serde_json::Value;

use crate::exit::bad_input;

/// A file format for task definitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `[{...}, {...}]`.
    JsonArray,
    /// One JSON object per line (blank lines ignored).
    JsonLines,
    /// A YAML sequence of mappings.
    Yaml,
}

/// Read the definitions in `path` (`-` for stdin).
///
/// # Errors
/// An unreadable file, malformed content, or an item that is not an object
/// (exit code 2, one-line message naming the file and the place).
pub fn read_definitions(path: &str) -> anyhow::Result<Vec<Value>> {
    let text = if path == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| bad_input(format!("cannot read task definitions from stdin: {e}")))?;
        text
    } else {
        std::fs::read_to_string(path).map_err(|e| bad_input(format!("cannot read {path}: {e}")))?
    };
    let format = detect(path, &text);
    parse(&text, format).map_err(|e| bad_input(format!("{path}: {e}")))
}

/// The format of `path`, by extension, else by content.
pub fn detect(path: &str, text: &str) -> Format {
    let ext = Path::new(path)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("json") => Format::JsonArray,
        Some("jsonl" | "ndjson") => Format::JsonLines,
        Some("yaml" | "yml") => Format::Yaml,
        _ => match text.trim_start().chars().next() {
            Some('[') => Format::JsonArray,
            Some('{') => Format::JsonLines,
            _ => Format::Yaml,
        },
    }
}

/// Parse `text` as a list of task definitions (JSON objects).
///
/// # Errors
/// A one-line message saying what and where.
pub fn parse(text: &str, format: Format) -> Result<Vec<Value>, String> {
    let items = match format {
        Format::JsonArray => match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(items)) => items,
            Ok(other) => {
                return Err(format!(
                    "expected a JSON array of task definitions, got {}",
                    kind(&other)
                ));
            }
            Err(e) => return Err(format!("malformed JSON: {e}")),
        },
        Format::JsonLines => text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(i, line)| {
                serde_json::from_str::<Value>(line)
                    .map_err(|e| format!("line {}: malformed JSON: {e}", i + 1))
            })
            .collect::<Result<_, _>>()?,
        Format::Yaml => {
            if text.trim().is_empty() {
                Vec::new()
            } else {
                match serde_saphyr::from_str::<Value>(text) {
                    Ok(Value::Array(items)) => items,
                    Ok(other) => {
                        return Err(format!(
                            "expected a YAML list of task definitions, got {}",
                            kind(&other)
                        ));
                    }
                    Err(e) => return Err(format!("malformed YAML: {}", one_line(&e.to_string()))),
                }
            }
        }
    };
    if let Some((i, item)) = items.iter().enumerate().find(|(_, v)| !v.is_object()) {
        return Err(format!(
            "task definition {} is {}: each task definition must be an object",
            i + 1,
            kind(item)
        ));
    }
    Ok(items)
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The first line of a parser message (the YAML parser draws a source
/// snippet below it), without its own `error:` prefix.
fn one_line(text: &str) -> String {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let first = first.trim();
    first
        .strip_prefix("error:")
        .unwrap_or(first)
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn detect_uses_extension_then_content() {
        assert_eq!(detect("t.json", "{}"), Format::JsonArray);
        assert_eq!(detect("t.JSONL", "[1]"), Format::JsonLines);
        assert_eq!(detect("t.yml", "[1]"), Format::Yaml);
        assert_eq!(detect("-", "  [ {} ]"), Format::JsonArray);
        assert_eq!(detect("-", "{\"a\":1}\n"), Format::JsonLines);
        assert_eq!(detect("tasks.txt", "- a: 1\n"), Format::Yaml);
    }

    #[test]
    fn parse_reads_every_format() {
        let want = vec![json!({"a": 1}), json!({"b": [1, 2]})];
        assert_eq!(
            parse(r#"[{"a":1},{"b":[1,2]}]"#, Format::JsonArray).unwrap(),
            want
        );
        assert_eq!(
            parse("{\"a\":1}\n\n{\"b\":[1,2]}\n", Format::JsonLines).unwrap(),
            want
        );
        assert_eq!(parse("- a: 1\n- b: [1, 2]\n", Format::Yaml).unwrap(), want);
        assert_eq!(parse("", Format::Yaml).unwrap(), Vec::<Value>::new());
    }

    #[test]
    fn parse_rejects_malformed_and_non_objects() {
        assert!(parse("[{", Format::JsonArray).is_err());
        assert!(parse("{\"a\":1}", Format::JsonArray).is_err());
        let e = parse("{\"a\":1}\n{oops\n", Format::JsonLines).unwrap_err();
        assert!(e.starts_with("line 2:"), "{e}");
        assert!(parse("- a: [1\n", Format::Yaml).is_err());
        assert!(parse("a: 1\n", Format::Yaml).is_err());
        let e = parse("[{\"a\":1}, 3]", Format::JsonArray).unwrap_err();
        assert!(e.contains("definition 2"), "{e}");
        assert!(!parse("- a: [1\n", Format::Yaml).unwrap_err().contains('\n'));
    }
}
