//! Scripted interaction tests, in the style of etcd-raft's `testdata/*.txt`:
//! each file in `testdata/` is a story of steps with golden output, run
//! against a cluster of [`host::Driver`]s over in-memory disks, with one FIFO
//! network and a [`checker::SafetyChecker`] watching every change.
//!
//! Nothing is random: the only randomness is each node's election jitter,
//! drawn from a generator seeded with a fixed function of the node's id and
//! incarnation. The same script always prints the same output, so a change
//! in raft-core or the driver shows up as a golden diff. Regenerate with
//! `REWRITE=1 cargo test -p host --test interaction` and read the diff.
//! `RUN=name.txt` runs one file.
//!
//! A test fails on a golden mismatch (printed as a line diff), on a
//! malformed directive (with the file and line), and on any safety
//! violation or driver fault, even one recorded in a golden file.
//!
//! # Directives
//!
//! `ID` is a node id (1..=N) or `leader` (the live leader of the highest
//! term). A filter is any of `from=ID to=ID type=KIND` (`KIND` as printed:
//! `Vote`, `VoteResp`, `PreVote`, `PreVoteResp`, `Append`, `AppendResp`,
//! `Heartbeat`, `HeartbeatResp`).
//!
//! * `add-nodes N [pre-vote=on|off] [check-quorum=on|off] [election=K]
//!   [heartbeat=K] [max-entries=K] [max-inflight=K] [max-uncommitted=K]`:
//!   N nodes with ids 1..=N (raft-core's `Config` defaults otherwise);
//! * `tick ID [n=K]`, `tick-all [n=K]`: logical time, delivering nothing;
//! * `campaign ID`: ticks a follower until it leaves the follower role
//!   (there is no campaign API; at most twice the election timeout);
//! * `run [n=K] [verbose]`: K rounds of a tick of every live node followed
//!   by a stabilize; prints only role changes, answers and violations
//!   (everything with `verbose`) and a summary;
//! * `propose ID put=(k,v) | append=(k,v) | cas=(k,old,new) | get=k`: one kv
//!   command (`_` for an absent `old`); prints the accepted index or the
//!   refusal, and later the answer;
//! * `propose-many ID n=K`: K puts, printed as one summary line;
//! * `deliver-msgs [filter] [drop]`: delivers (or drops) the matching
//!   in-flight messages in FIFO order; what they cause stays in flight;
//! * `hold [filter] [copy]`: moves (or copies) matching in-flight messages
//!   aside, where nothing else delivers them (to delay, reorder or
//!   duplicate a message); `deliver-held [filter] [drop]` delivers them;
//! * `sync ID|all`: makes a node's writes durable and tells its driver,
//!   which releases the votes and acks held until then (writes are never
//!   durable before a sync);
//! * `stabilize [max-rounds=K] [quiet]`: rounds of sync every node then
//!   deliver everything in flight, until a round does nothing (at most K
//!   rounds, 1000 by default; says so if it is still busy);
//! * `partition NAME=(ids) NAME=(ids) ...`: each group is a side of the
//!   network, the nodes not named form one more; `isolate ID`: a side of
//!   its own; `heal`: one network again. Messages across sides are dropped
//!   at delivery, and printed as dropped;
//! * `crash ID [keep=K]`: loses memory and unsynced writes (keeping the
//!   first K writes whole: a write is one batch, its entries and hard state
//!   in one log record); `restart ID`: rebuilds the node from its disk alone;
//! * `status [ID]`, `log ID [from=INDEX] [to=INDEX]`, `kv ID`, `digests`, `check`:
//!   views (`check` lists every violation so far, or says `ok`).
//!
//! Output lines: `1->2 Vote term=2 last=5@1` is a message delivered (or
//! `... dropped: why`); lines indented under it are what the receiver did.
//! `2 term=2 vote=1` is a hard state change (not durable until `2 synced`),
//! `1 became Leader at term 2` a role change, `1 commit 5->6` a commit,
//! `2 holds 1 message until sync` a reply waiting for durability, and
//! `VIOLATION: ...` a broken rule (the checker numbers nodes from 0).

#[path = "interaction/args.rs"]
mod args;
#[path = "interaction/env.rs"]
mod env;
#[path = "interaction/format.rs"]
mod format;
#[path = "interaction/observer.rs"]
mod observer;

use args::{parse_id, Args, Res, Target};
use env::{Env, Filter, Knobs, STABILIZE_ROUNDS};
use kv::Op;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Where the scripts are.
const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata");

/// Most lines of a golden diff shown per stanza.
const DIFF_LINES_MAX: usize = 40;

// ----- directives -------------------------------------------------------------

/// The node a target names; `all` only where the directive allows it.
fn resolve(env: &Env, target: Target) -> Res<Vec<u64>> {
    match target {
        Target::Id(id) => Ok(vec![id]),
        Target::Leader => Ok(vec![env.leader()?]),
        Target::All => Ok(env.ids()),
    }
}

/// The one node a directive acts on.
fn one_node(env: &Env, args: &mut Args) -> Res<u64> {
    let ids = resolve(env, args.need_target(false)?)?;
    ids.first().copied().ok_or_else(|| "no node".to_string())
}

fn filter(args: &mut Args) -> Res<Filter> {
    Ok(Filter {
        from: args.take("from")?,
        to: args.take("to")?,
        kind: args.take("type")?,
    })
}

/// The kv operation of a `propose`.
fn operation(args: &mut Args) -> Res<Op> {
    let mut ops = Vec::new();
    for name in ["put", "append", "cas", "get"] {
        if let Some(values) = args.take_list(name) {
            ops.push((name, values));
        }
    }
    let [(name, values)] = ops.as_slice() else {
        return Err(
            "propose needs exactly one of put=(k,v) append=(k,v) cas=(k,old,new) get=k".into(),
        );
    };
    let v: Vec<&str> = values.iter().map(String::as_str).collect();
    match (*name, v.as_slice()) {
        ("put", [k, val]) => Ok(Op::Put {
            key: (*k).into(),
            value: (*val).into(),
        }),
        ("append", [k, val]) => Ok(Op::Append {
            key: (*k).into(),
            value: (*val).into(),
        }),
        ("cas", [k, old, new]) => Ok(Op::Cas {
            key: (*k).into(),
            expected: (*old != "_").then(|| (*old).to_string()),
            new: (*new).into(),
        }),
        ("get", [k]) => Ok(Op::Get { key: (*k).into() }),
        _ => Err(format!("propose {name}: wrong number of values {values:?}")),
    }
}

/// Runs one directive against the cluster; its output is left in `env`.
fn run_directive(env: &mut Env, directive: &str, mut a: Args) -> Res<()> {
    match directive {
        "add-nodes" => {
            let Some(Target::Id(n)) = a.take_target(false)? else {
                return Err("add-nodes needs a node count".into());
            };
            let knobs = Knobs {
                pre_vote: a.take_on_off("pre-vote")?,
                check_quorum: a.take_on_off("check-quorum")?,
                election: a.take("election")?,
                heartbeat: a.take("heartbeat")?,
                max_entries: a.take("max-entries")?,
                max_inflight: a.take("max-inflight")?,
                max_uncommitted: a.take("max-uncommitted")?,
                snapshot_every: a.take("snapshot-every")?,
                chunk: a.take("chunk")?,
            };
            a.finish()?;
            env.add_nodes(n, &knobs)
        }
        "tick" => {
            let id = one_node(env, &mut a)?;
            let n = a.take("n")?.unwrap_or(1);
            a.finish()?;
            env.tick(id, n)
        }
        "tick-all" => {
            let n = a.take("n")?.unwrap_or(1);
            a.finish()?;
            env.tick_all(n);
            Ok(())
        }
        "campaign" => {
            let id = one_node(env, &mut a)?;
            a.finish()?;
            env.campaign(id)
        }
        "run" => {
            let n = a.take("n")?.unwrap_or(1);
            let verbose = a.flag("verbose");
            a.finish()?;
            env.run(n, verbose);
            Ok(())
        }
        "propose" => {
            let id = one_node(env, &mut a)?;
            let op = operation(&mut a)?;
            a.finish()?;
            env.propose(id, op)
        }
        "propose-many" => {
            let id = one_node(env, &mut a)?;
            let n = a.take("n")?.ok_or("propose-many needs n=K")?;
            a.finish()?;
            env.propose_many(id, n)
        }
        "deliver-msgs" | "deliver-held" | "hold" => {
            let f = filter(&mut a)?;
            let (drop, copy) = match directive {
                "hold" => (false, a.flag("copy")),
                _ => (a.flag("drop"), false),
            };
            a.finish()?;
            match directive {
                "hold" => env.hold(&f, copy),
                "deliver-held" => env.deliver_held(&f, drop),
                _ => env.deliver_msgs(&f, drop),
            }
            Ok(())
        }
        "sync" => {
            let ids = resolve(env, a.need_target(true)?)?;
            a.finish()?;
            env.sync(&ids)
        }
        "stabilize" => {
            let max = a.take("max-rounds")?.unwrap_or(STABILIZE_ROUNDS);
            let quiet = a.flag("quiet");
            a.finish()?;
            env.stabilize(max, quiet);
            Ok(())
        }
        "partition" => {
            let groups = a
                .take_all_named()
                .into_values()
                .map(|ids| ids.iter().map(|w| parse_id(w)).collect::<Res<Vec<u64>>>())
                .collect::<Res<Vec<Vec<u64>>>>()?;
            a.finish()?;
            if groups.is_empty() {
                return Err("partition needs groups: a=(1,2) b=(3)".into());
            }
            env.partition(&groups)
        }
        "isolate" => {
            let id = one_node(env, &mut a)?;
            a.finish()?;
            env.isolate(id)
        }
        "heal" => {
            a.finish()?;
            env.heal();
            Ok(())
        }
        "crash" => {
            let id = one_node(env, &mut a)?;
            let keep = a.take("keep")?.unwrap_or(0);
            a.finish()?;
            env.crash(id, keep)
        }
        "restart" => {
            let id = one_node(env, &mut a)?;
            a.finish()?;
            env.restart(id)
        }
        "status" => {
            let ids = match a.take_target(false)? {
                Some(t) => resolve(env, t)?,
                None => env.ids(),
            };
            a.finish()?;
            env.status(&ids)
        }
        "log" => {
            let id = one_node(env, &mut a)?;
            let from = a.take("from")?.unwrap_or(0);
            let to = a.take("to")?.unwrap_or(u64::MAX);
            a.finish()?;
            env.log(id, from, to)
        }
        "kv" => {
            let id = one_node(env, &mut a)?;
            a.finish()?;
            env.kv(id)
        }
        "digests" => {
            a.finish()?;
            env.digests();
            Ok(())
        }
        "check" => {
            a.finish()?;
            env.check();
            Ok(())
        }
        other => Err(format!("unknown directive {other}")),
    }
}

// ----- files ----------------------------------------------------------------

/// One stanza of a script as written in the file: the directive's line
/// number and text, and the golden output.
#[derive(Clone, Debug, Default)]
struct Stanza {
    line: usize,
    text: String,
    expected: String,
}

/// The stanzas of a script, in order, read the way `datadriven` 0.8 reads
/// them (so errors and diffs can name the line).
fn stanzas(contents: &str) -> Vec<Stanza> {
    let lines: Vec<&str> = contents.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let head: String = lines[i].chars().take_while(|c| *c != '#').collect();
        if head.trim().is_empty() {
            i += 1;
            continue;
        }
        let (line, text) = (i + 1, lines[i].to_string());
        i += 1;
        while i < lines.len() && lines[i] != "----" {
            i += 1;
        }
        i += 1;
        let blank_mode = i < lines.len() && lines[i] == "----";
        if blank_mode {
            i += 1;
        }
        let mut expected = String::new();
        while i < lines.len() {
            if blank_mode {
                if lines[i] == "----" && i + 1 < lines.len() {
                    if lines[i + 1] == "----" {
                        i += 2;
                        break;
                    }
                    if lines[i + 1] == "---- (no newline)" {
                        i += 2;
                        if expected.ends_with('\n') {
                            expected.pop();
                        }
                        break;
                    }
                }
            } else if lines[i].trim().is_empty() {
                break;
            }
            expected.push_str(lines[i]);
            expected.push('\n');
            i += 1;
        }
        out.push(Stanza {
            line,
            text,
            expected,
        });
        i += 1;
    }
    out
}

/// A line diff of two outputs: the common head and tail are skipped, the
/// middle is shown as `-expected` / `+actual` lines (bounded).
fn diff(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let head = e.iter().zip(&a).take_while(|(x, y)| x == y).count();
    let tail = e[head..]
        .iter()
        .rev()
        .zip(a[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let mut out = Vec::new();
    if head > 0 {
        out.push(format!("  {}  (after {head} equal lines)", e[head - 1]));
    }
    out.extend(e[head..e.len() - tail].iter().map(|l| format!("- {l}")));
    out.extend(a[head..a.len() - tail].iter().map(|l| format!("+ {l}")));
    if out.len() > DIFF_LINES_MAX {
        let more = out.len() - DIFF_LINES_MAX;
        out.truncate(DIFF_LINES_MAX);
        out.push(format!("... {more} more diff lines"));
    }
    out.join("\n")
}

/// What running one file found wrong, and every stanza's output.
#[derive(Default)]
struct FileRun {
    problems: Vec<String>,
    outputs: Vec<String>,
}

/// Runs one script file: every stanza against one fresh cluster.
fn run_file(tf: &mut datadriven::TestFile) -> FileRun {
    let filename = tf.filename.clone();
    let written = match std::fs::read_to_string(&filename) {
        Ok(contents) => stanzas(&contents),
        Err(e) => {
            return FileRun {
                problems: vec![format!("{filename}: cannot read: {e}")],
                outputs: Vec::new(),
            }
        }
    };
    let rewrite = std::env::var_os("REWRITE").is_some();
    let mut env = Env::default();
    let mut run = FileRun::default();
    tf.run(|tc| -> String {
        let k = run.outputs.len();
        let stanza = written.get(k).cloned().unwrap_or_default();
        let at = format!("{filename}:{}: `{}`", stanza.line, stanza.text);
        let args = Args::new(&tc.directive, tc.args.clone());
        let result = if tc.input.trim().is_empty() {
            run_directive(&mut env, &tc.directive, args)
        } else {
            Err("directives take no input lines before `----`".to_string())
        };
        let mut out = env.take_output();
        let failed = result.is_err();
        if let Err(e) = result {
            out = if out == "ok\n" { String::new() } else { out };
            out.push_str(&format!("ERROR: {e}\n"));
            run.problems.push(format!("{at}: {e}"));
        }
        // An error is reported above; its output differs from the file anyway.
        if !rewrite && !failed && out != stanza.expected {
            run.problems.push(format!(
                "{at}: output differs from the golden file:\n{}",
                diff(&stanza.expected, &out)
            ));
        }
        run.outputs.push(out.clone());
        out
    });
    for p in env.problems() {
        run.problems.push(format!("{filename}: VIOLATION: {p}"));
    }
    run
}

/// Runs the scripts at `path` (a directory's `.txt` files, or one file)
/// and returns everything that went wrong. `RUN` selects one file.
fn run_scripts() -> Vec<String> {
    let paths: Vec<String> = match std::env::var("RUN") {
        // datadriven joins RUN to the directory itself.
        Ok(_) => vec![TESTDATA.to_string()],
        Err(_) => {
            let mut files: Vec<String> = match std::fs::read_dir(TESTDATA) {
                Ok(dir) => dir
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "txt"))
                    .map(|p| p.display().to_string())
                    .collect(),
                Err(e) => return vec![format!("{TESTDATA}: {e}")],
            };
            files.sort();
            files
        }
    };
    let mut failures = Vec::new();
    let mut stanzas_run = 0;
    for path in paths {
        let mut problems = Vec::new();
        let walked = catch_unwind(AssertUnwindSafe(|| {
            datadriven::walk(&path, |tf| {
                let run = run_file(tf);
                stanzas_run += run.outputs.len();
                problems.extend(run.problems);
            });
        }));
        let diffs_found = !problems.is_empty();
        failures.extend(problems);
        if let Err(panic) = walked {
            // datadriven's own report (expected and actual in full) adds
            // nothing to the line diffs above, except for its parse errors.
            if !diffs_found {
                let text = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
                    .unwrap_or_else(|| "datadriven panicked".to_string());
                failures.push(format!("{path}: {text}"));
            }
        }
    }
    if stanzas_run == 0 {
        failures.push(format!("no script ran from {TESTDATA} (check RUN)"));
    }
    failures
}

#[test]
fn interaction_scripts() {
    let failures = run_scripts();
    assert!(
        failures.is_empty(),
        "{} problem(s):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The scripts are deterministic by construction (no randomness but the
/// seeded election jitter, no hash-map iteration in the output); this runs
/// one script with crashes, cuts and elections twice and compares.
#[test]
fn a_script_replays_identically() {
    if std::env::var_os("REWRITE").is_some() || std::env::var_os("RUN").is_some() {
        return;
    }
    let path = format!("{TESTDATA}/rolling_faults.txt");
    let mut runs = Vec::new();
    for _ in 0..2 {
        datadriven::walk(&path, |tf| runs.push(run_file(tf).outputs));
    }
    assert_eq!(runs.len(), 2);
    assert!(!runs[0].is_empty(), "{path} ran no stanza");
    assert!(
        runs[0] == runs[1],
        "two runs of {path} printed different output"
    );
}

#[test]
fn stanzas_are_read_like_datadriven_reads_them() {
    let text =
        "# c\nadd-nodes 3\n----\na\nb\n\n# c2\nstatus 1 # why\n----\n----\nx\n\ny\n----\n----\n";
    let s = stanzas(text);
    assert_eq!(s.len(), 2);
    assert_eq!((s[0].line, s[0].expected.as_str()), (2, "a\nb\n"));
    assert_eq!((s[1].line, s[1].expected.as_str()), (8, "x\n\ny\n"));
}
