//! Worker ids: `hostname:pid:n`.

use std::sync::atomic::{AtomicU32, Ordering};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A fresh worker id, `hostname:pid:n`, where `n` counts the workers made by
/// this process (from 0). It is the lease owner recorded in the store, so an
/// operator can tell which machine and process holds a task.
pub fn new_worker_id() -> String {
    format!(
        "{}:{}:{}",
        hostname(),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The machine's host name, or `unknown-host` if the system does not say.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: `buf` is a valid writable buffer of the length passed; gethostname
    // writes at most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    match std::str::from_utf8(&buf[..len]) {
        Ok(name) if rc == 0 && !name.is_empty() => name.to_string(),
        _ => "unknown-host".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_worker_id_is_host_pid_counter() {
        let a = new_worker_id();
        let b = new_worker_id();
        let parts: Vec<&str> = a.rsplitn(3, ':').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[1], std::process::id().to_string());
        assert_eq!(parts[2], hostname());
        let n: u32 = parts[0].parse().unwrap();
        let m: u32 = b.rsplit(':').next().unwrap().parse().unwrap();
        assert!(m > n);
    }
}
