//! Help texts and shell completions.

use predicates::prelude::*;

use crate::support::taskpool;

const MANAGE_COMMANDS: &[&str] = &[
    "list",
    "stat",
    "query",
    "get",
    "reset-waiting",
    "reset-status",
    "remove",
    "prioritize",
    "create",
    "lost",
    "prune",
    "drop-pool",
    "completions",
    "import-qlib",
];

#[test]
fn help_lists_the_exit_codes() {
    taskpool()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Exit codes: 0 ok"));
}

#[test]
fn help_of_every_manage_command_shows_an_example() {
    for command in MANAGE_COMMANDS {
        let out = taskpool().args([command, "--help"]).output().unwrap();
        assert!(out.status.success(), "{command}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Example"),
            "{command} --help has no example:\n{text}"
        );
        assert!(text.contains("taskpool "), "{command}");
    }
}

#[test]
fn completions_generate_scripts_naming_the_commands() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        taskpool()
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains("reset-waiting"))
            .stdout(predicate::str::contains("drop-pool"));
    }
}

#[test]
fn completions_unknown_shell_is_bad_usage() {
    taskpool()
        .args(["completions", "tcsh"])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty());
}
