//! The page shell every page shares (title, navigation, store label, style)
//! and the error page. No JavaScript: auto-refresh is a `<meta refresh>`.

use axum::http::StatusCode;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use taskpool::store::{Status, Timestamp};

const STYLE: &str = "
body{font-family:system-ui,sans-serif;margin:0;color:#222}
header{background:#23395b;color:#fff;padding:.5em 1em;display:flex;gap:1.5em;align-items:baseline;flex-wrap:wrap}
header a{color:#fff;text-decoration:none;font-weight:600}
header .store{margin-left:auto;font-family:monospace;font-size:.85em;opacity:.8}
main{padding:1em}
table{border-collapse:collapse;margin:.5em 0}
th,td{border-bottom:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}
pre{background:#f4f4f4;padding:.5em;overflow:auto;max-height:30em;white-space:pre-wrap}
.bar{background:#eee;width:10em;height:.8em;display:inline-block}
.bar span{background:#3a7;height:100%;display:block}
.flash{background:#e8f4e8;border:1px solid #3a7;padding:.4em .8em}
.error{background:#fbeaea;border:1px solid #c33;padding:.4em .8em}
form.inline{display:inline}
fieldset{border:1px solid #ccc;margin:.5em 0}
.waiting{color:#555}.running{color:#1a5fb4}.part_done{color:#8a5a00}.done{color:#26734d}.failed{color:#b00}
";

/// A whole page: `title`, the body, and (for the overview) a refresh period.
pub(crate) fn page(title: &str, store: &str, refresh_secs: Option<u32>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(secs) = refresh_secs {
                    meta http-equiv="refresh" content=(secs);
                }
                title { (title) " · taskpool" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    a href="/" { "taskpool" }
                    a href="/lost" { "Lost leases" }
                    a href="/experiments" { "Experiments" }
                    a href="/metrics" { "Metrics" }
                    span.store title="store (password redacted)" { (store) }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// The page of a failed request: the status and the message naming the problem.
pub(crate) fn error_page(status: StatusCode, message: &str) -> Markup {
    let title = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    html! {
        (DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; title { (title) " · taskpool" } style { (PreEscaped(STYLE)) } }
            body {
                header { a href="/" { "taskpool" } }
                main {
                    h1 { (title) }
                    p.error #error-message { (message) }
                    p { a href="/" { "Back to the overview" } }
                }
            }
        }
    }
}

/// A status name in its colour.
pub(crate) fn status(s: Status) -> Markup {
    html! { span class=(s.as_str()) { (s.as_str()) } }
}

/// A timestamp (RFC 3339) or a dash.
pub(crate) fn time(t: Option<Timestamp>) -> Markup {
    match t {
        Some(t) => html! { time datetime=(t) { (t) } },
        None => html! { "—" },
    }
}

/// A progress bar at `percent`.
pub(crate) fn bar(percent: f64) -> Markup {
    html! {
        span.bar title=(format!("{percent:.1} %")) { span style=(format!("width:{percent:.1}%")) {} }
        " " (format!("{percent:.0} %"))
    }
}

/// The flash message an action left (`?msg=`), if any.
pub(crate) fn flash(msg: Option<&str>) -> Markup {
    html! {
        @if let Some(msg) = msg.filter(|m| !m.is_empty()) {
            p.flash #flash { (msg) }
        }
    }
}

/// Pretty JSON in a `<pre>`.
pub(crate) fn json(value: &serde_json::Value) -> Markup {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("unprintable: {e}"));
    html! { pre { (text) } }
}
