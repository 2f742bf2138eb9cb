//! Everything a command prints on stdout goes through [`Output`].
//!
//! Human mode prints aligned tables and short sentences, fitted to the
//! terminal's width. `--json` follows the one rule of `docs/cli.md`: a
//! command that lists things (tasks, pools, experiments, records, generated
//! tasks, ensemble rows) prints one JSON object per line; every other command
//! prints exactly one JSON object. The shapes are the structs of
//! [`crate::json`]. Logs and errors go to stderr.
//!
//! `-q` prints nothing on stdout but what was asked for explicitly: `--json`
//! documents and file contents (`gen`, `ensemble`, `completions`, an
//! artifact written to `-`).
//!
//! A closed stdout (`taskpool query | head`) ends the process quietly with
//! exit code 0, as Unix filters do.

use std::io::{self, Write};

use serde::Serialize;

/// The longest cell a human table shows before cutting it with `…` (on a
/// terminal, tables are also fitted to its width).
pub const MAX_CELL_CHARS: usize = 200;

/// Where and how results are printed.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    json: bool,
    quiet: bool,
}

impl Output {
    /// Human output, or JSON with `json`; with `quiet`, no human output.
    pub fn new(json: bool, quiet: bool) -> Output {
        Output { json, quiet }
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

    /// Print one JSON object per line for each item of a stream.
    ///
    /// # Errors
    /// When stdout fails for another reason than being closed.
    pub fn json_lines<T: Serialize>(
        &self,
        items: impl IntoIterator<Item = T>,
    ) -> anyhow::Result<()> {
        for item in items {
            self.json(&item)?;
        }
        Ok(())
    }

    /// Print a line of human output (nothing with `--json` or `-q`).
    ///
    /// # Errors
    /// When stdout fails for another reason than being closed.
    pub fn line(&self, text: impl std::fmt::Display) -> anyhow::Result<()> {
        if self.json || self.quiet {
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

    /// Print a table (nothing with `--json` or `-q`), fitted to the
    /// terminal's width when stdout is a terminal.
    ///
    /// # Errors
    /// When stdout fails for another reason than being closed.
    pub fn table(&self, table: &Table) -> anyhow::Result<()> {
        if self.json || self.quiet {
            return Ok(());
        }
        write_stdout(format_args!("{}", table.render_within(terminal_width())))
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
        self.render_within(None)
    }

    /// [`Table::render`], with lines of at most `width` characters when
    /// given: the widest columns are narrowed (to no less than
    /// [`MIN_CELL_CHARS`]) and their cells cut with `…`.
    pub fn render_within(&self, width: Option<usize>) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        if let Some(width) = width {
            fit(&mut widths, width);
        }
        let mut out = String::new();
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                let cell = &cut(cell, widths[i]);
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

/// The narrowest a column gets when a table is fitted to the terminal.
pub const MIN_CELL_CHARS: usize = 8;

/// Narrow the widest columns until the line (with two spaces between
/// columns) fits in `width`, or every column is at [`MIN_CELL_CHARS`].
fn fit(widths: &mut [usize], width: usize) {
    let gaps = 2 * widths.len().saturating_sub(1);
    while widths.iter().sum::<usize>() + gaps > width {
        let Some(widest) = widths
            .iter_mut()
            .filter(|w| **w > MIN_CELL_CHARS)
            .max_by_key(|w| **w)
        else {
            return;
        };
        *widest -= 1;
    }
}

/// The width of the terminal on stdout, `None` when stdout is not one.
fn terminal_width() -> Option<usize> {
    use std::io::IsTerminal;
    if !io::stdout().is_terminal() {
        return None;
    }
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` into the struct we pass, which
    // lives for the whole call.
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col > 0).then_some(usize::from(size.ws_col))
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
    fn render_within_narrows_the_widest_column() {
        let mut t = Table::new(["ID", "FILTER"]);
        t.row(["a1", &"x".repeat(50)]);
        let text = t.render_within(Some(30));
        for line in text.lines() {
            assert!(line.chars().count() <= 30, "{line}");
        }
        assert!(text.lines().nth(1).unwrap().ends_with('…'));
        assert_eq!(t.render_within(Some(200)), t.render());
    }

    #[test]
    fn row_cuts_long_cells_and_newlines() {
        let mut t = Table::new(["A"]);
        t.row(["x".repeat(MAX_CELL_CHARS + 40)]);
        t.row(["a\nb"]);
        let text = t.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1].chars().count(), MAX_CELL_CHARS);
        assert!(lines[1].ends_with('…'));
        assert_eq!(lines[2], "a b");
    }
}
