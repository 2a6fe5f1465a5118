//! The command line's contract: exit codes 0 / 1 / 2 and clear messages.

use std::process::{Command, Output};

fn sim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(args)
        .output()
        .expect("the sim binary runs")
}

fn assert_usage_error(args: &[&str], needle: &str) {
    let out = sim(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{args:?} should exit 2; stderr: {stderr}"
    );
    assert!(
        stderr.contains(needle),
        "{args:?}: stderr {stderr:?} lacks {needle:?}"
    );
}

#[test]
fn bad_usage_exits_2_with_a_message() {
    assert_usage_error(&["run", "--seeds", "5..3"], "empty range");
    assert_usage_error(&["run", "--seeds", "abc"], "not a range");
    assert_usage_error(&["run", "--seeds", "0..x"], "not a seed number");
    assert_usage_error(
        &["run", "--seeds", "0..10", "--profile", "nope"],
        "unknown profile 'nope'",
    );
    assert_usage_error(
        &["run", "--seeds", "0..10", "--shard", "3/3"],
        "need 0 <= K < N",
    );
    assert_usage_error(
        &["run", "--seeds", "0..10", "--shard", "15/20"],
        "selects no seed",
    );
    assert_usage_error(&["shrink", "--seed", "1", "--max-runs", "0"], "--max-runs");
    assert_usage_error(
        &["shrink", "--case", "x.case", "--nodes", "3"],
        "cannot be used with",
    );
    assert_usage_error(
        &["run", "--seeds", "0..10", "--shard", "1/0"],
        "need 0 <= K < N",
    );
    assert_usage_error(&["run", "--seeds", "0..10", "--shard", "x"], "not a shard");
    assert_usage_error(&["run", "--seeds", "0..10", "--threads", "0"], "--threads");
    assert_usage_error(&["run", "--seeds", "0..10", "--nodes", "0"], "--nodes");
    assert_usage_error(
        &["run", "--seeds", "0..10", "--threads", "5000"],
        "--threads",
    );
    assert_usage_error(
        &["run", "--seeds", "0..10", "--max-failures", "0"],
        "--max-failures",
    );
    assert_usage_error(
        &["run", "--seed", "18446744073709551615"],
        "--seed must be below",
    );
    assert_usage_error(
        &["replay", "--case", "/nonexistent.case"],
        "/nonexistent.case: file",
    );
    assert_usage_error(
        &["shrink", "--seed", "1", "--profile", "calm"],
        "no failure to shrink",
    );
    assert_usage_error(&["corpus", "--dir", "/nonexistent"], "/nonexistent");
    assert_usage_error(&["run"], "--seeds");
    assert_usage_error(&["replay"], "--seed");
    assert_usage_error(&["frobnicate"], "unrecognized subcommand");
}

#[test]
fn a_single_node_cluster_runs() {
    let out = sim(&["run", "--seeds", "0..20", "--nodes", "1", "--json"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["failed"], 0);
}

#[test]
fn json_prints_only_the_summary_object() {
    let out = sim(&["run", "--seeds", "0..6", "--profile", "calm", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    assert_eq!(v["seeds"], 6);
    assert_eq!(v["failed"], 0);
    for field in [
        "events_per_sec",
        "seeds_per_sec",
        "sim_time_ms",
        "wall_ms",
        "threads",
    ] {
        assert!(v.get(field).is_some(), "missing {field}");
    }
    for field in [
        "leaders_elected",
        "entries_committed",
        "client_ops_ok",
        "unsynced_bytes_lost",
        "liveness_checks_passed",
    ] {
        assert!(v["stats"].get(field).is_some(), "missing stats.{field}");
    }
}

#[test]
fn replay_and_profiles_succeed() {
    let out = sim(&[
        "replay",
        "--seed",
        "3",
        "--profile",
        "calm",
        "--trace",
        "--dump",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("-> Leader"), "the trace shows elections");
    assert!(stdout.contains("verdict: Pass"));
    assert!(stdout.contains("kv  k"), "the dump shows kv state");
    let out = sim(&["profiles"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for name in ["calm", "lossy", "partitions", "crashes", "chaos (default)"] {
        assert!(stdout.contains(name), "profiles lists {name}");
    }
}

/// Ctrl-C stops a sweep of any size cleanly: the summary of what ran (here
/// the JSON) and exit 130. Bounded: the sweep is interrupted after a second.
#[cfg(unix)]
#[test]
fn an_interrupted_sweep_prints_what_ran_and_exits_130() {
    use std::process::Stdio;
    let child = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args([
            "run",
            "--seeds",
            "0..18446744073709551615",
            "--json",
            "--threads",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the sim binary runs");
    std::thread::sleep(std::time::Duration::from_millis(1_000));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let out = child.wait_with_output().expect("the sweep ends");
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(summary["stopped"], "interrupted");
    assert!(
        summary["seeds"].as_u64().is_some_and(|n| n > 0),
        "{summary}"
    );
    assert_eq!(summary["seeds_selected"], u64::MAX);
}

/// A hand-written case sweeps like a profile: its faults and operations
/// under each seed's remaining randomness, with the same summary; a failing
/// seed's replay command names the case and the seed.
#[test]
fn a_case_sweeps_over_seeds() {
    let case = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../sim-runs/vote-survives-restart.case"
    );
    let out = sim(&["run", "--case", case, "--seeds", "0..40", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(summary["seeds"], 40);
    assert_eq!(summary["case"], case);
    assert!(
        summary["stats"]["crashes"]
            .as_u64()
            .is_some_and(|c| c >= 40),
        "the case's crashes ran"
    );
    let again = sim(&["replay", "--case", case, "--seed", "7", "--json"]);
    let replayed: serde_json::Value = serde_json::from_slice(&again.stdout).expect("JSON");
    assert_eq!(replayed["result"]["seed"], 7);
    assert_usage_error(
        &[
            "run",
            "--case",
            case,
            "--seeds",
            "0..4",
            "--profile",
            "calm",
        ],
        "cannot be used",
    );
    assert_usage_error(
        &["run", "--case", "/nonexistent.case", "--seeds", "0..4"],
        "/nonexistent.case",
    );
}

/// Shard summaries merge into the summary of the whole range.
#[test]
fn shard_summaries_merge_into_the_whole() {
    let dir = std::env::temp_dir().join(format!("sim-merge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut files = Vec::new();
    for k in 0..3 {
        let out = sim(&[
            "run",
            "--seeds",
            "0..30",
            "--profile",
            "calm",
            "--shard",
            &format!("{k}/3"),
            "--json",
        ]);
        let path = dir.join(format!("shard-{k}.json"));
        std::fs::write(&path, &out.stdout).expect("write");
        files.push(path.display().to_string());
    }
    let whole = sim(&["run", "--seeds", "0..30", "--profile", "calm", "--json"]);
    let whole: serde_json::Value = serde_json::from_slice(&whole.stdout).expect("JSON");
    let mut args = vec!["merge", "--json"];
    args.extend(files.iter().map(String::as_str));
    let merged = sim(&args);
    assert_eq!(
        merged.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&merged.stderr)
    );
    let merged: serde_json::Value = serde_json::from_slice(&merged.stdout).expect("JSON");
    for field in [
        "seeds",
        "passed",
        "failed",
        "events",
        "stats",
        "seeds_selected",
    ] {
        assert_eq!(merged[field], whole[field], "{field}");
    }
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "{}").expect("write");
    assert_usage_error(
        &["merge", &bad.display().to_string()],
        "not a sweep summary",
    );
    let _ = std::fs::remove_dir_all(&dir);
}
