//! Helpers around a child process: its process group, its stdout and the tail
//! of its stderr.

use std::collections::VecDeque;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};

/// The longest stderr line kept for an error message, in bytes.
const MAX_LINE_BYTES: usize = 1024;

/// Signals a child's process group; sends SIGKILL to it when dropped while
/// armed, so that a worker giving up on a task (lost lease, end of the grace
/// period) never leaves the command or its own children running.
#[derive(Debug)]
pub(crate) struct ProcessGroup {
    pgid: Option<i32>,
}

impl ProcessGroup {
    /// The group led by `pid` (the child was started with `process_group(0)`).
    pub(crate) fn new(pid: Option<u32>) -> ProcessGroup {
        ProcessGroup {
            pgid: pid.and_then(|p| i32::try_from(p).ok()),
        }
    }

    /// Send `signal` to every process of the group.
    pub(crate) fn signal(&self, signal: i32) {
        if let Some(pgid) = self.pgid {
            // The group exists while the child is unreaped; a failure (the
            // group already gone) leaves nothing to do.
            let _ = kill(-pgid, signal);
        }
    }

    /// The child was reaped: never signal this group id again (it may be reused).
    pub(crate) fn disarm(&mut self) {
        self.pgid = None;
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.signal(libc::SIGKILL);
    }
}

/// Send `signal` to the process `pid`: the one place this workspace calls
/// kill(2) (worker processes of `taskpool run`, tests that stop workers).
/// Pass the id of a child not yet reaped (`Child::id` is `None` once it
/// is): a reaped child's id may belong to another process.
///
/// # Errors
/// An id that fits no process id, or what kill(2) reports (`ESRCH`: no such
/// process).
pub fn signal_process(pid: u32, signal: i32) -> std::io::Result<()> {
    let pid = i32::try_from(pid)
        .ok()
        .filter(|&p| p > 0)
        .ok_or_else(|| std::io::Error::other(format!("{pid} is not a process id")))?;
    kill(pid, signal)
}

/// kill(2): a positive `pid` is a process, a negative one a process group.
fn kill(pid: i32, signal: i32) -> std::io::Result<()> {
    // SAFETY: kill(2) has no memory-safety preconditions.
    if unsafe { libc::kill(pid, signal) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Read a stream to its end, keeping at most `limit` bytes. Returns the bytes
/// and whether more were sent (the excess is read and dropped so the writer
/// never blocks).
pub(crate) async fn read_capped(
    mut stream: impl AsyncRead + Unpin,
    limit: usize,
) -> std::io::Result<(Vec<u8>, bool)> {
    let mut kept = Vec::new();
    let mut overflow = false;
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok((kept, overflow));
        }
        let room = limit.saturating_sub(kept.len());
        kept.extend_from_slice(&chunk[..n.min(room)]);
        overflow |= n > room;
    }
}

/// The last lines a child wrote on stderr.
#[derive(Debug, Default, Clone)]
pub(crate) struct StderrTail {
    lines: VecDeque<String>,
    capacity: usize,
}

impl StderrTail {
    fn new(capacity: usize) -> StderrTail {
        StderrTail {
            lines: VecDeque::with_capacity(capacity),
            capacity,
        }
    }

    fn push(&mut self, line: String) {
        if self.capacity == 0 {
            return;
        }
        if self.lines.len() == self.capacity {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }

    /// `"\nlast N lines of stderr:\n…"`, or nothing when stderr was empty.
    pub(crate) fn section(&self) -> String {
        if self.lines.is_empty() {
            return String::new();
        }
        let mut out = format!("\nlast {} line(s) of stderr:", self.lines.len());
        for line in &self.lines {
            out.push('\n');
            out.push_str(line);
        }
        out
    }
}

/// Read a child's stderr line by line: log each line (at `info`, naming the
/// task) and keep the last `capacity` lines.
pub(crate) async fn read_stderr(
    stream: impl AsyncRead + Unpin,
    capacity: usize,
    task: String,
) -> StderrTail {
    let mut tail = StderrTail::new(capacity);
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => return tail,
            Ok(_) => {
                let text = String::from_utf8_lossy(&buf);
                let line = text.trim_end_matches(['\n', '\r']);
                tracing::info!(target: "taskpool::worker::child", task = %task, "{line}");
                tail.push(truncate_line(line));
            }
        }
    }
}

fn truncate_line(line: &str) -> String {
    if line.len() <= MAX_LINE_BYTES {
        return line.to_string();
    }
    let mut end = MAX_LINE_BYTES;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}[…]", &line[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn read_stderr_keeps_the_last_lines() {
        let input: &[u8] = b"one\ntwo\nthree\nfour";
        let tail = read_stderr(input, 2, "t".into()).await;
        assert_eq!(tail.section(), "\nlast 2 line(s) of stderr:\nthree\nfour");
    }

    #[tokio::test]
    async fn read_capped_reports_overflow() {
        let input = [b'x'; 100];
        let (kept, overflow) = read_capped(&input[..], 10).await.unwrap();
        assert_eq!(kept.len(), 10);
        assert!(overflow);
        let (kept, overflow) = read_capped(&input[..], 100).await.unwrap();
        assert_eq!(kept.len(), 100);
        assert!(!overflow);
    }

    #[test]
    fn truncate_line_respects_char_boundaries() {
        let line = "é".repeat(MAX_LINE_BYTES);
        let cut = truncate_line(&line);
        assert!(cut.ends_with("[…]"));
        assert!(cut.len() <= MAX_LINE_BYTES + "[…]".len());
    }
}
