//! Everything a command prints on stdout goes through [`Output`].
//!
//! Human mode prints aligned tables and short sentences. `--json` prints
//! exactly one JSON document per command, or one JSON document per line for
//! streams (`query`), and nothing else: logs and errors go to stderr.
//!
//! A closed stdout (`taskpool query | head`) ends the process quietly with
//! exit code 0, as Unix filters do.

use std::io::{self, Write};

use serde::Serialize;

/// The longest cell a human table shows before cutting it with `…`.
pub const MAX_CELL_CHARS: usize = 60;

/// Where and how results are printed.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    json: bool,
}

impl Output {
    /// Human output, or JSON with `json`.
    pub fn new(json: bool) -> Output {
        Output { json }
    }

    /// Whether `--json` was given.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Print one JSON value on one line (a whole `--json` result, or one item
    /// of a stream).
    ///
    /// # Errors
    /// When stdout fails for another reason than being closed.
    pub fn json<T: Serialize + ?Sized>(&self, value: &T) -> anyhow::Result<()> {
        let text = serde_json::to_string(value)?;
        write_stdout(format_args!("{text}\n"))
    }

    /// Print a line of human output (nothing with `--json`).
    ///
    /// # Errors
    /// When stdout fails for another reason than being closed.
    pub fn line(&self, text: impl std::fmt::Display) -> anyhow::Result<()> {
        if self.json {
            return Ok(());
        }
        write_stdout(format_args!("{text}\n"))
    }

    /// Print `text` as it is, in both modes (for generated files such as
    /// completion scripts).
    ///
    /// # Errors
    /// When stdout fails for another reason than being closed.
    pub fn raw(&self, text: &str) -> anyhow::Result<()> {
        write_stdout(format_args!("{text}"))
    }

    /// Print a table (nothing with `--json`).
    ///
    /// # Errors
    /// When stdout fails for another reason than being closed.
    pub fn table(&self, table: &Table) -> anyhow::Result<()> {
        if self.json {
            return Ok(());
        }
        write_stdout(format_args!("{}", table.render()))
    }
}

fn write_stdout(args: std::fmt::Arguments<'_>) -> anyhow::Result<()> {
    let mut stdout = io::stdout().lock();
    match stdout.write_fmt(args).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(e.into()),
    }
}

/// A table with a header row; numeric columns can be right-aligned.
#[derive(Debug, Clone, Default)]
pub struct Table {
    headers: Vec<String>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers (left-aligned).
    pub fn new<S: Into<String>>(headers: impl IntoIterator<Item = S>) -> Table {
        let headers: Vec<String> = headers.into_iter().map(Into::into).collect();
        let right = vec![false; headers.len()];
        Table {
            headers,
            right,
            rows: Vec::new(),
        }
    }

    /// Right-align column `index` (for counts).
    pub fn right_align(mut self, index: usize) -> Table {
        if let Some(r) = self.right.get_mut(index) {
            *r = true;
        }
        self
    }

    /// Append a row; cells beyond the headers are dropped, missing ones are empty.
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        let mut row: Vec<String> = cells
            .into_iter()
            .map(|c| cut(&c.into(), MAX_CELL_CHARS))
            .collect();
        row.resize(self.headers.len(), String::new());
        self.rows.push(row);
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as text: columns separated by two spaces, no trailing spaces.
    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                let pad = widths[i] - cell.chars().count();
                if self.right[i] {
                    line.extend(std::iter::repeat_n(' ', pad));
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// `text` on one line, at most `max` characters (the last one `…` if cut).
pub fn cut(text: &str, max: usize) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() <= max {
        return one_line;
    }
    let mut short: String = one_line.chars().take(max.saturating_sub(1)).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_aligns_columns() {
        let mut t = Table::new(["STATUS", "COUNT"]).right_align(1);
        t.row(["waiting", "3"]);
        t.row(["part_done", "12"]);
        assert_eq!(
            t.render(),
            "STATUS     COUNT\nwaiting        3\npart_done     12\n"
        );
    }

    #[test]
    fn row_cuts_long_cells_and_newlines() {
        let mut t = Table::new(["A"]);
        t.row(["x".repeat(100)]);
        t.row(["a\nb"]);
        let text = t.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1].chars().count(), MAX_CELL_CHARS);
        assert!(lines[1].ends_with('…'));
        assert_eq!(lines[2], "a b");
    }
}
