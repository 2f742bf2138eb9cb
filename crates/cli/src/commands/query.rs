//! `taskpool query [QUERY]`: the matching tasks, in creation (`_id`) order.
//!
//! Tasks are fetched in pages by `_id` (keyset pagination), so a large pool is
//! streamed with `--json` rather than loaded at once.
//!
//! `--fields` takes the paths of the task document (`_id`, `status`,
//! `def.<path>`, `filter.<path>`, `res.<path>`, …): every field a query can
//! name is one of them. The default table's FILTER column shows only the
//! parts of the definitions that differ between the tasks shown (`gen`'s
//! tasks share everything but their windows), and the table fits the
//! terminal.

use std::collections::{HashMap, HashSet};

use clap::Args;
use serde_json::{Map, Value};
use taskpool::store::query::{Field, Op, Scalar};
use taskpool::store::{Query, QueryParams};

use crate::cli::GlobalArgs;
use crate::context::{Context, parse_query};
use crate::exit::bad_input;
use crate::output::Table;

/// How many tasks one store round trip fetches.
const PAGE: usize = 500;

/// The columns of the human table when `--fields` is not given.
const DEFAULT_FIELDS: [&str; 5] = ["_id", "status", "priority", "attempts", "filter"];

/// The top-level fields of a task document: the first segment of every
/// `--fields` path.
const TASK_FIELDS: [&str; 15] = [
    "_id",
    "def",
    "filter",
    "key",
    "status",
    "priority",
    "res",
    "attempts",
    "max_attempts",
    "lease",
    "errors",
    "created_at",
    "updated_at",
    "started_at",
    "finished_at",
];

/// Arguments of `query`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  taskpool -t rolling query '{\"status\": \"failed\"}'
  taskpool -t rolling query '{\"filter.model.class\": \"LGBModel\"}' --limit 5 --fields _id,status,def.dataset
  taskpool -t rolling --json query | jq .res      # one task per line")]
pub struct QueryArgs {
    /// Only tasks matching this JSON query (default: all).
    pub query: Option<String>,
    /// At most this many tasks.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Only these fields, as dotted paths into the task (`_id,status,def.model.class`).
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub fields: Vec<String>,
}

/// Print the matching tasks: a table, or one JSON document per task with `--json`.
///
/// # Errors
/// No pool, a bad query or field list, or a store failure.
pub fn run(global: &GlobalArgs, args: &QueryArgs) -> anyhow::Result<()> {
    let ctx = Context::new(global)?;
    let query = parse_query(args.query.as_deref())?;
    let fields = parse_fields(&args.fields)?;
    let columns: Vec<String> = match &fields {
        Some(f) => f.clone(),
        None => DEFAULT_FIELDS.iter().map(|s| s.to_string()).collect(),
    };
    let mut docs = Vec::new();
    ctx.block_on(async {
        let (store, pool) = ctx.pool_store().await?;
        let mut remaining = args.limit.unwrap_or(usize::MAX);
        let mut after: Option<String> = None;
        while remaining > 0 {
            let page_query = match &after {
                Some(last) => query
                    .clone()
                    .and(Query::Cond(Field::Id, Op::Gt(Scalar::String(last.clone())))),
                None => query.clone(),
            };
            let want = remaining.min(PAGE);
            let params = QueryParams {
                query: page_query,
                limit: Some(want),
                skip: 0,
                ..QueryParams::default()
            };
            let tasks = store.query(pool, params).await?;
            for task in &tasks {
                let doc = serde_json::to_value(task)?;
                if ctx.out.is_json() {
                    match &fields {
                        Some(f) => ctx.out.json(&project(&doc, f))?,
                        None => ctx.out.json(task)?,
                    }
                } else {
                    docs.push(doc);
                }
            }
            remaining -= tasks.len();
            match tasks.last() {
                Some(last) if tasks.len() == want => after = Some(last.id.to_string()),
                _ => break,
            }
        }
        Ok::<_, anyhow::Error>(())
    })?;
    if ctx.out.is_json() {
        return Ok(());
    }
    for field in &columns {
        if !docs.is_empty() && docs.iter().all(|d| lookup(d, field).is_none()) {
            tracing::warn!("no task shown has the field {field}");
        }
    }
    let differing = differing_filter(&docs);
    let mut table = Table::new(columns.iter().map(|c| c.to_uppercase()));
    for (doc, filter) in docs.iter().zip(&differing) {
        table.row(columns.iter().map(|c| match (c.as_str(), &fields) {
            ("filter", None) => filter.clone(),
            _ => cell(lookup(doc, c)),
        }));
    }
    ctx.out.table(&table)
}

/// For each task, the leaves of its `filter` whose value is not the same in
/// every task, as `name=value` pairs (the leaves with the most distinct
/// values first, each named by the shortest end of its path that no other
/// shown leaf shares); the whole filter when all tasks are equal.
fn differing_filter(docs: &[Value]) -> Vec<String> {
    let leaves: Vec<Vec<(String, String)>> = docs
        .iter()
        .map(|d| {
            let mut out = Vec::new();
            flatten("", d.get("filter").unwrap_or(&Value::Null), &mut out);
            out
        })
        .collect();
    // Per path: its distinct values and how many tasks have it.
    let mut seen: HashMap<&str, (HashSet<&str>, usize)> = HashMap::new();
    for (path, value) in leaves.iter().flatten() {
        let entry = seen.entry(path).or_default();
        entry.0.insert(value);
        entry.1 += 1;
    }
    let varying: HashMap<&str, usize> = seen
        .iter()
        .filter(|(_, (values, count))| values.len() > 1 || *count < docs.len())
        .map(|(path, (values, _))| (*path, values.len()))
        .collect();
    let names = short_names(&varying.keys().copied().collect::<Vec<_>>());
    docs.iter()
        .zip(&leaves)
        .map(|(doc, own)| {
            let mut shown: Vec<(usize, &str, &str)> = own
                .iter()
                .filter_map(|(p, v)| {
                    varying
                        .get(p.as_str())
                        .map(|n| (*n, p.as_str(), v.as_str()))
                })
                .collect();
            if shown.is_empty() {
                return cell(doc.get("filter"));
            }
            shown.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
            shown
                .iter()
                .map(|(_, path, value)| format!("{}={value}", names[path]))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// For each dotted path, its shortest trailing segments that no other path
/// ends with (`dataset.kwargs.segments.test` → `test`).
fn short_names<'p>(paths: &[&'p str]) -> HashMap<&'p str, String> {
    let ends_with =
        |path: &str, suffix: &str| path == suffix || path.ends_with(&format!(".{suffix}"));
    paths
        .iter()
        .map(|&path| {
            let segments: Vec<&str> = path.split('.').collect();
            let name = (1..=segments.len())
                .map(|k| segments[segments.len() - k..].join("."))
                .find(|suffix| {
                    paths
                        .iter()
                        .all(|&other| other == path || !ends_with(other, suffix))
                })
                .unwrap_or_else(|| path.to_string());
            (path, name)
        })
        .collect()
}

/// The leaves of `value` as (dotted path, compact JSON) pairs.
fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&path, v, out);
            }
        }
        other => out.push((prefix.to_string(), cell(Some(other)))),
    }
}

/// `None` when no fields were asked for.
fn parse_fields(raw: &[String]) -> anyhow::Result<Option<Vec<String>>> {
    if raw.is_empty() {
        return Ok(None);
    }
    let fields: Vec<String> = raw.iter().map(|f| f.trim().to_string()).collect();
    if let Some(bad) = fields
        .iter()
        .find(|f| f.is_empty() || f.split('.').any(str::is_empty))
    {
        return Err(bad_input(format!(
            "invalid field {bad:?} in --fields: use dotted paths such as _id,status,def.model.class"
        )));
    }
    if let Some(unknown) = fields
        .iter()
        .find(|f| !TASK_FIELDS.contains(&f.split('.').next().unwrap_or("")))
    {
        return Err(bad_input(format!(
            "unknown field {unknown:?} in --fields: a task has {}; inside the definition use \
             def.<path> or filter.<path>, inside the result res.<path>",
            TASK_FIELDS.join(", ")
        )));
    }
    Ok(Some(fields))
}

/// The value at a dotted path of the task document (`None` if absent).
fn lookup<'v>(doc: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.')
        .try_fold(doc, |v, seg| v.as_object()?.get(seg))
}

/// `{path: value}` for each field (absent fields are `null`).
fn project(doc: &Value, fields: &[String]) -> Value {
    let map: Map<String, Value> = fields
        .iter()
        .map(|f| (f.clone(), lookup(doc, f).cloned().unwrap_or(Value::Null)))
        .collect();
    Value::Object(map)
}

/// A table cell: strings bare, other values as compact JSON, absent empty.
fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lookup_follows_dotted_paths() {
        let doc = json!({"def": {"model": {"class": "LGB"}}, "status": "done"});
        assert_eq!(lookup(&doc, "def.model.class"), Some(&json!("LGB")));
        assert_eq!(lookup(&doc, "def.missing"), None);
        assert_eq!(lookup(&doc, "status.x"), None);
        assert_eq!(
            project(&doc, &["status".into(), "def.nope".into()]),
            json!({"status": "done", "def.nope": null})
        );
    }

    #[test]
    fn parse_fields_rejects_empty_segments() {
        assert!(parse_fields(&["a..b".into()]).is_err());
        assert!(parse_fields(&[String::new()]).is_err());
        assert_eq!(parse_fields(&[]).unwrap(), None);
        assert!(parse_fields(&["nosuch".into()]).is_err());
        assert!(parse_fields(&["filter.model.class".into(), "res.ic".into()]).is_ok());
    }

    #[test]
    fn short_names_keep_the_shortest_unique_end() {
        let names = short_names(&["a.seg.test", "b.seg.test", "a.end_time", "x"]);
        assert_eq!(names["a.seg.test"], "a.seg.test");
        assert_eq!(names["b.seg.test"], "b.seg.test");
        assert_eq!(names["a.end_time"], "end_time");
        assert_eq!(names["x"], "x");
    }

    #[test]
    fn differing_filter_puts_the_most_varied_first() {
        let doc = |end: &str, test: i64| json!({"filter": {"end": end, "seg": {"test": test}}});
        let docs = vec![doc("a", 1), doc("a", 2), doc("b", 3)];
        assert_eq!(differing_filter(&docs)[0], "test=1 end=a");
    }

    #[test]
    fn differing_filter_shows_what_differs() {
        let doc = |start: &str| json!({"filter": {"model": "lgb", "seg": {"test": [start, null]}}});
        let docs = vec![doc("2020-01-01"), doc("2020-04-01")];
        assert_eq!(
            differing_filter(&docs),
            vec![
                "test=[\"2020-01-01\",null]".to_string(),
                "test=[\"2020-04-01\",null]".to_string()
            ]
        );
        let same = differing_filter(&[doc("x")]);
        assert!(same[0].contains("lgb"), "{same:?}");
    }
}
