//! `taskpool ui`: refuses to serve a non-loopback address without a token,
//! serves the store on a loopback address and stops on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Stdio;

use crate::support::{assert_one_line_error, send, taskpool, taskpool_process, wait_exit};

#[test]
fn ui_on_a_public_address_without_token_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let output = taskpool()
        .args(["--store", &url, "ui", "--listen", "0.0.0.0:0"])
        .env_remove("TASKPOOL_UI_TOKEN")
        .output()
        .unwrap();
    assert_one_line_error(&output, 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("without a token"), "{stderr}");
    assert!(stderr.contains("TASKPOOL_UI_TOKEN"), "{stderr}");
}

#[test]
fn ui_serves_the_store_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let mut child = taskpool_process()
        .args(["--store", &url, "ui", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .trim_end_matches('/')
        .to_string();
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream
        .write_all(b"GET /api/pools HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("[]"), "{answer}");
    send(&child, libc::SIGTERM);
    assert!(wait_exit(&mut child).success());
}
