//! `raftctl`: talk to a running cluster, or inspect a stopped node's files.
//!
//! ```sh
//! raftctl --nodes 127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002 put greeting hello
//! raftctl --nodes ... get greeting
//! raftctl --nodes ... status          # every node: role, term, commit, applied, leader
//! raftctl --nodes ... log 1           # node 1's log: index, term, kind
//! raftctl --nodes ... kv 1            # node 1's kv store
//! raftctl --nodes ... members         # the configuration and addresses
//! raftctl --nodes ... add-learner 3 127.0.0.1:7003   # then: promote 3, remove 0
//! raftctl --nodes ... repl            # the same commands, interactively
//! raftctl inspect /var/lib/raft/n0    # a stopped node's log and snapshot, read only
//! ```

use clap::{Parser, Subcommand};
use host::fs::{FileSystem, RealFs, SimFs};
use host::wal_storage::WalStorage;
use node::{LogLine, Members, Status};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Talk to a raft-node cluster, or inspect a stopped node's files.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The cluster's nodes, HOST:PORT, comma separated, in id order.
    #[arg(long, value_delimiter = ',')]
    nodes: Vec<SocketAddr>,
    /// The client id the commands run under (default: from the process id).
    #[arg(long)]
    client: Option<u64>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Clone)]
enum Cmd {
    /// Put KEY=VALUE.
    Put { key: String, value: String },
    /// Read KEY through the log.
    Get { key: String },
    /// Append VALUE to KEY.
    Append { key: String, value: String },
    /// Set KEY to NEW if it holds EXPECTED (`_`: absent).
    Cas {
        key: String,
        expected: String,
        new: String,
    },
    /// Every node's role, term, commit, applied index and leader.
    Status,
    /// Node N's log (index, term, kind, size).
    Log { node: usize },
    /// Node N's kv store.
    Kv { node: usize },
    /// Hand leadership to node TARGET (asked of the leader).
    Transfer { target: u64 },
    /// Compact node N's log now.
    Snapshot { node: usize },
    /// The configuration (voters, learners) and every member's address.
    Members,
    /// Add node ID, serving at ADDR, as a learner (asked of the leader).
    AddLearner { id: u64, addr: SocketAddr },
    /// Make learner ID a voter (asked of the leader).
    Promote { id: u64 },
    /// Remove node ID from the configuration (asked of the leader).
    Remove { id: u64 },
    /// The same commands, interactively (history and completion).
    Repl,
    /// A stopped node's data directory: hard state, snapshot, log (read only).
    Inspect { dir: PathBuf },
}

const COMMANDS: [&str; 16] = [
    "put",
    "get",
    "append",
    "cas",
    "status",
    "log",
    "kv",
    "transfer",
    "snapshot",
    "members",
    "add-learner",
    "promote",
    "remove",
    "help",
    "quit",
    "exit",
];

struct Ctl {
    nodes: Vec<SocketAddr>,
    client_id: u64,
    seq: u64,
    http: reqwest::blocking::Client,
}

impl Ctl {
    fn url(&self, node: usize, path: &str) -> Result<String, String> {
        let addr = self
            .nodes
            .get(node)
            .ok_or_else(|| format!("no node {node} (give --nodes)"))?;
        Ok(format!("http://{addr}{path}"))
    }

    /// Sends a command to the leader (following redirects), one session
    /// number, retried for a few seconds.
    fn command(
        &mut self,
        body: serde_json::Value,
        key: &str,
        method: &str,
    ) -> Result<String, String> {
        if self.nodes.is_empty() {
            return Err("no nodes: give --nodes HOST:PORT,...".into());
        }
        self.seq += 1;
        let seq = self.seq;
        let mut node = 0;
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let mut last = String::from("no answer");
        while std::time::Instant::now() < deadline {
            let url = self.url(node, &format!("/kv/{key}"))?;
            let mut b = body.clone();
            b["client"] = self.client_id.into();
            b["seq"] = seq.into();
            let req = match method {
                "put" => self.http.put(url).json(&b),
                "post" => self.http.post(url).json(&b),
                _ => self
                    .http
                    .get(format!("{url}?client={}&seq={seq}", self.client_id)),
            };
            match req.send() {
                Ok(r) => {
                    let code = r.status().as_u16();
                    let v: serde_json::Value = r.json().unwrap_or_default();
                    if code == 200 {
                        return Ok(v["result"].to_string());
                    }
                    last = v["error"].as_str().unwrap_or("refused").to_string();
                    match v["leader"].as_u64() {
                        Some(l) if (l as usize) < self.nodes.len() => node = l as usize,
                        _ => node = (node + 1) % self.nodes.len(),
                    }
                }
                Err(e) => {
                    last = e.to_string();
                    node = (node + 1) % self.nodes.len();
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(last)
    }

    /// Sends an admin request to the leader: tries each node in turn and
    /// follows a `421`'s leader hint. The JSON answer.
    fn to_leader(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<serde_json::Value, String> {
        if self.nodes.is_empty() {
            return Err("no nodes: give --nodes HOST:PORT,...".into());
        }
        let mut node = 0;
        let mut last = String::from("no leader");
        for _ in 0..2 * self.nodes.len() {
            let mut req = self.http.request(method.clone(), self.url(node, path)?);
            if let Some(b) = &body {
                req = req.json(b);
            }
            match req.send() {
                Ok(r) => {
                    let code = r.status();
                    let v: serde_json::Value = r.json().unwrap_or_default();
                    if code.is_success() {
                        return Ok(v);
                    }
                    last = v["error"].as_str().unwrap_or("refused").to_string();
                    if code != reqwest::StatusCode::MISDIRECTED_REQUEST {
                        // Refused by the leader itself: no use asking others.
                        return Err(last);
                    }
                    node = match v["leader"].as_u64() {
                        Some(l) if (l as usize) < self.nodes.len() => l as usize,
                        _ => (node + 1) % self.nodes.len(),
                    };
                }
                Err(e) => {
                    last = e.to_string();
                    node = (node + 1) % self.nodes.len();
                }
            }
        }
        Err(last)
    }

    fn run(&mut self, cmd: Cmd) -> Result<String, String> {
        match cmd {
            Cmd::Put { key, value } => {
                self.command(serde_json::json!({ "value": value }), &key, "put")
            }
            Cmd::Get { key } => self.command(serde_json::json!({}), &key, "get"),
            Cmd::Append { key, value } => self.command(
                serde_json::json!({ "op": "append", "value": value }),
                &key,
                "post",
            ),
            Cmd::Cas { key, expected, new } => {
                let expected = (expected != "_").then_some(expected);
                self.command(
                    serde_json::json!({ "op": "cas", "expected": expected, "new": new }),
                    &key,
                    "post",
                )
            }
            Cmd::Status => {
                let mut out = String::new();
                for i in 0..self.nodes.len() {
                    let line = self
                        .http
                        .get(self.url(i, "/admin/status")?)
                        .send()
                        .and_then(|r| r.json::<Status>())
                        .map(|s| {
                            format!(
                                "n{} {} term={} commit={} applied={} last={} leader={} voters={:?} digest={:016x}",
                                s.id,
                                s.role,
                                s.term,
                                s.commit,
                                s.applied,
                                s.last_index,
                                s.leader.map_or("none".into(), |l| format!("n{l}")),
                                s.voters,
                                s.digest
                            )
                        })
                        .unwrap_or_else(|e| format!("n{i} unreachable: {e}"));
                    out.push_str(&line);
                    out.push('\n');
                }
                Ok(out.trim_end().to_string())
            }
            Cmd::Log { node } => {
                let lines: Vec<LogLine> = self
                    .http
                    .get(self.url(node, "/admin/log")?)
                    .send()
                    .and_then(|r| r.json())
                    .map_err(|e| e.to_string())?;
                Ok(lines
                    .iter()
                    .map(|l| format!("{}@{} {} {} bytes", l.index, l.term, l.kind, l.bytes))
                    .collect::<Vec<_>>()
                    .join("\n"))
            }
            Cmd::Kv { node } => {
                let kv: BTreeMap<String, String> = self
                    .http
                    .get(self.url(node, "/admin/kv")?)
                    .send()
                    .and_then(|r| r.json())
                    .map_err(|e| e.to_string())?;
                Ok(kv
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("\n"))
            }
            Cmd::Transfer { target } => {
                // Ask every node; the leader accepts.
                let mut last = String::from("no leader");
                for i in 0..self.nodes.len() {
                    let url = self.url(i, &format!("/admin/transfer/{target}"))?;
                    if let Ok(r) = self.http.post(url).send() {
                        let ok = r.status().is_success();
                        let v: serde_json::Value = r.json().unwrap_or_default();
                        if ok {
                            return Ok(format!("n{i} hands leadership to n{target}"));
                        }
                        last = v["error"].as_str().unwrap_or("refused").to_string();
                    }
                }
                Err(last)
            }
            Cmd::Snapshot { node } => {
                let r = self
                    .http
                    .post(self.url(node, "/admin/snapshot")?)
                    .send()
                    .map_err(|e| e.to_string())?;
                let ok = r.status().is_success();
                let v: serde_json::Value = r.json().unwrap_or_default();
                if ok {
                    Ok(format!(
                        "n{node} compacted its log up to {}",
                        v["snapshot_index"]
                    ))
                } else {
                    Err(v["error"].as_str().unwrap_or("refused").to_string())
                }
            }
            Cmd::Members => {
                let v = self.to_leader(reqwest::Method::GET, "/admin/members", None)?;
                let m: Members = serde_json::from_value(v).map_err(|e| e.to_string())?;
                Ok(describe_members(&m))
            }
            Cmd::AddLearner { id, addr } => {
                let body = serde_json::json!({ "addr": addr });
                let path = format!("/admin/members/{id}");
                let v = self.to_leader(reqwest::Method::POST, &path, Some(body))?;
                Ok(changed(&v, &format!("n{id} ({addr}) added as a learner")))
            }
            Cmd::Promote { id } => {
                let path = format!("/admin/members/{id}/promote");
                let v = self.to_leader(reqwest::Method::POST, &path, None)?;
                Ok(changed(&v, &format!("n{id} promoted to voter")))
            }
            Cmd::Remove { id } => {
                let path = format!("/admin/members/{id}");
                let v = self.to_leader(reqwest::Method::DELETE, &path, None)?;
                Ok(changed(&v, &format!("n{id} removed")))
            }
            Cmd::Repl => Err("already in the REPL".into()),
            Cmd::Inspect { dir } => inspect(&dir),
        }
    }
}

fn describe_members(m: &Members) -> String {
    let list = |ids: &[u64]| {
        ids.iter()
            .map(|id| match m.addresses.get(id) {
                Some(a) => format!("n{id}@{a}"),
                None => format!("n{id}"),
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut out = format!("voters: {}", list(&m.voters));
    if !m.outgoing.is_empty() {
        out.push_str(&format!("\noutgoing (joint): {}", list(&m.outgoing)));
    }
    out.push_str(&format!("\nlearners: {}", list(&m.learners)));
    out
}

/// A committed membership change's answer, as one line and the new
/// configuration.
fn changed(v: &serde_json::Value, what: &str) -> String {
    let members = serde_json::from_value::<Members>(v["members"].clone())
        .map(|m| describe_members(&m))
        .unwrap_or_default();
    format!("{what} (committed at index {})\n{members}", v["index"])
}

/// A stopped node's files, read into memory and recovered there (the
/// directory itself is not touched).
fn inspect(dir: &PathBuf) -> Result<String, String> {
    if !dir.is_dir() {
        return Err(format!("{}: no such directory", dir.display()));
    }
    let real = RealFs::open(dir).map_err(|e| e.to_string())?;
    let mut copy = SimFs::default();
    for name in real.list().map_err(|e| e.to_string())? {
        if let Some(bytes) = real.read(&name).map_err(|e| e.to_string())? {
            copy.replace(&name, &bytes).map_err(|e| e.to_string())?;
        }
    }
    let (_, durable) = WalStorage::open(copy).map_err(|e| e.to_string())?;
    let hs = durable.hard_state;
    let mut out = format!(
        "hard state: term={} vote={} commit={}\n",
        hs.term.0,
        hs.vote.map_or("none".into(), |v| v.to_string()),
        hs.commit.0
    );
    match &durable.snapshot {
        Some(s) => out.push_str(&format!(
            "snapshot: {}@{} ({} bytes), voters {:?}\n",
            s.meta.index.0,
            s.meta.term.0,
            s.data.len(),
            s.meta
                .membership
                .voters
                .iter()
                .map(|v| v.0)
                .collect::<Vec<_>>()
        )),
        None => out.push_str("snapshot: none\n"),
    }
    out.push_str(&format!("log: {} entries\n", durable.entries.len()));
    for e in &durable.entries {
        out.push_str(&format!(
            "{}@{} {:?} {} bytes\n",
            e.index.0,
            e.term.0,
            e.kind,
            e.data.len()
        ));
    }
    Ok(out.trim_end().to_string())
}

/// The REPL's completion: command names, then a command's argument: node
/// numbers for the commands that take one, keys (read from a node's kv
/// store when asked) for the kv commands.
struct Names {
    nodes: Vec<SocketAddr>,
    http: reqwest::blocking::Client,
}

impl Names {
    /// The keys some node holds (the first that answers; none if none does).
    fn keys(&self) -> Vec<String> {
        self.nodes
            .iter()
            .find_map(|a| {
                self.http
                    .get(format!("http://{a}/admin/kv"))
                    .timeout(Duration::from_millis(300))
                    .send()
                    .and_then(|r| r.json::<BTreeMap<String, String>>())
                    .ok()
            })
            .map(|kv| kv.into_keys().collect())
            .unwrap_or_default()
    }

    /// What may follow `command` as its first argument.
    fn arguments(&self, command: &str) -> Vec<String> {
        match command {
            "log" | "kv" | "snapshot" | "transfer" | "promote" | "remove" | "add-learner" => {
                (0..self.nodes.len()).map(|n| n.to_string()).collect()
            }
            "get" | "put" | "append" | "cas" => self.keys(),
            _ => Vec::new(),
        }
    }
}

impl rustyline::completion::Completer for Names {
    type Candidate = String;
    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let before = &line[..pos];
        let words: Vec<&str> = before.split(' ').collect();
        let word = words.last().copied().unwrap_or("");
        let start = pos - word.len();
        let candidates: Vec<String> = match words.len() {
            1 => COMMANDS.iter().map(|c| (*c).to_string()).collect(),
            2 => self.arguments(words[0]),
            _ => Vec::new(),
        };
        let found = candidates
            .into_iter()
            .filter(|c| c.starts_with(word))
            .collect();
        Ok((start, found))
    }
}

impl rustyline::hint::Hinter for Names {
    type Hint = String;
}
impl rustyline::highlight::Highlighter for Names {}
impl rustyline::validate::Validator for Names {}
impl rustyline::Helper for Names {}

fn repl(ctl: &mut Ctl) -> ExitCode {
    let mut rl = match rustyline::Editor::<Names, rustyline::history::DefaultHistory>::new() {
        Ok(rl) => rl,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    rl.set_helper(Some(Names {
        nodes: ctl.nodes.clone(),
        http: ctl.http.clone(),
    }));
    println!(
        "commands: {} (tab completes commands, node numbers and keys)",
        COMMANDS.join(", ")
    );
    loop {
        let line = match rl.readline("raft> ") {
            Ok(l) => l,
            Err(_) => return ExitCode::SUCCESS,
        };
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.is_empty() {
            continue;
        }
        let _ = rl.add_history_entry(line.as_str());
        match words[0] {
            "quit" | "exit" => return ExitCode::SUCCESS,
            "help" => {
                println!("put K V | get K | append K V | cas K EXPECTED|_ NEW | status | log N | kv N | transfer N | snapshot N | members | add-learner ID ADDR | promote ID | remove ID | quit");
                continue;
            }
            _ => {}
        }
        let parsed = Args::try_parse_from(std::iter::once("raftctl").chain(words.iter().copied()));
        match parsed {
            Ok(a) if matches!(a.command, Cmd::Repl | Cmd::Inspect { .. }) => {
                println!("not in the REPL");
            }
            Ok(a) => match ctl.run(a.command) {
                Ok(out) => println!("{out}"),
                Err(e) => println!("error: {e}"),
            },
            Err(e) => println!("{}", e.to_string().lines().next().unwrap_or("bad command")),
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let http = match reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut ctl = Ctl {
        nodes: args.nodes,
        client_id: args
            .client
            .unwrap_or_else(|| u64::from(std::process::id()) << 20),
        seq: 0,
        http,
    };
    if let Cmd::Repl = args.command {
        return repl(&mut ctl);
    }
    match ctl.run(args.command) {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustyline::completion::Completer;

    fn complete(names: &Names, line: &str) -> (usize, Vec<String>) {
        let history = rustyline::history::DefaultHistory::new();
        let cx = rustyline::Context::new(&history);
        names.complete(line, line.len(), &cx).expect("completes")
    }

    #[test]
    fn commands_node_numbers_and_keys_complete() {
        let names = Names {
            // Nothing listens on port 1: no keys to offer, quickly.
            nodes: vec![SocketAddr::from(([127, 0, 0, 1], 1)); 3],
            http: reqwest::blocking::Client::new(),
        };
        assert_eq!(complete(&names, "lo"), (0, vec!["log".to_string()]));
        assert_eq!(
            complete(&names, "p"),
            (0, vec!["put".to_string(), "promote".to_string()])
        );
        assert_eq!(complete(&names, "log ").1, vec!["0", "1", "2"]);
        assert_eq!(complete(&names, "remove 2"), (7, vec!["2".to_string()]));
        assert_eq!(complete(&names, "get k"), (4, Vec::new()));
        assert_eq!(complete(&names, "put k v").1, Vec::<String>::new());
    }
}
