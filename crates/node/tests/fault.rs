//! The real-process fault test: three `raft-node` processes, four
//! concurrent clients, and `kill -9` of random nodes (the leader too) and
//! restarts, several times (reads alternate between the log and ReadIndex).
//! Afterwards the recorded client history must be
//! linearizable (judged by the checker, and written as a history file for
//! `sim check-history`), a final read of every key is part of it (so every
//! acknowledged write is accounted for), and every node's kv digest agrees.
//! Then one node's synced log is damaged: it refuses to start with a clear
//! message, and the two others still serve every acknowledged write.
//! Bounded: the workload runs a few seconds and every wait gives up.

use checker::{check_linearizability, write_history, HistoryOp, LinearizabilityOutcome};
use kv::{Op, OpResult};
use node::Status;
use rand::Rng;
use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const NODES: usize = 3;
const CLIENTS: u64 = 4;
const KEYS: [&str; 3] = ["a", "b", "c"];

/// Free loopback ports (bound and released at once: loopback only).
fn free_addrs(n: usize) -> Vec<SocketAddr> {
    let listeners: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("a port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("bound"))
        .collect()
}

struct Cluster {
    addrs: Vec<SocketAddr>,
    dirs: Vec<PathBuf>,
    children: Vec<Option<Child>>,
}

impl Cluster {
    fn peers(&self) -> String {
        self.addrs
            .iter()
            .enumerate()
            .map(|(i, a)| format!("{i}={a}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn spawn(&mut self, i: usize) {
        let child = Command::new(env!("CARGO_BIN_EXE_raft-node"))
            .args([
                "--id",
                &i.to_string(),
                "--peers",
                &self.peers(),
                "--tick-ms",
                "10",
            ])
            .arg("--data-dir")
            .arg(&self.dirs[i])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("raft-node starts");
        self.children[i] = Some(child);
    }

    /// `kill -9`.
    fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.children[i].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.children.len() {
            self.kill(i);
        }
        for d in &self.dirs {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

async fn status(client: &reqwest::Client, addr: SocketAddr) -> Option<Status> {
    let r = client
        .get(format!("http://{addr}/admin/status"))
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .ok()?;
    r.json::<Status>().await.ok()
}

/// Sends one command to `addr`; the result, or `None` if it did not
/// complete (refused, lost, timed out: the client tries again).
async fn send(
    client: &reqwest::Client,
    addr: SocketAddr,
    id: u64,
    seq: u64,
    op: &Op,
) -> Result<OpResult, Option<u64>> {
    let url = |key: &str| format!("http://{addr}/kv/{key}");
    let req = match op {
        Op::Put { key, value } => client
            .put(url(key))
            .json(&serde_json::json!({"client": id, "seq": seq, "value": value})),
        Op::Append { key, value } => client.post(url(key)).json(
            &serde_json::json!({"op": "append", "client": id, "seq": seq, "value": value}),
        ),
        Op::Cas { key, expected, new } => client.post(url(key)).json(
            &serde_json::json!({"op": "cas", "client": id, "seq": seq, "expected": expected, "new": new}),
        ),
        // Every other read by ReadIndex (no log entry), the rest through
        // the log: both must be linearizable.
        Op::Get { key } if seq % 2 == 0 => {
            client.get(format!("{}?client={id}&seq={seq}&read=index", url(key)))
        }
        Op::Get { key } => client.get(format!("{}?client={id}&seq={seq}", url(key))),
    };
    let r = req
        .timeout(Duration::from_millis(1_500))
        .send()
        .await
        .map_err(|_| None)?;
    let code = r.status().as_u16();
    let body: serde_json::Value = r.json().await.map_err(|_| None)?;
    if code == 421 {
        return Err(body["leader"].as_u64());
    }
    if code != 200 {
        return Err(None);
    }
    serde_json::from_value::<OpResult>(body["result"].clone()).map_err(|_| None)
}

/// One client: operations one at a time, each retried (same session
/// number) at the leader it learns of until it completes or its time is
/// up (then its outcome is unknown and the client moves on).
async fn client_loop(
    id: u64,
    addrs: Vec<SocketAddr>,
    start: Instant,
    until: Instant,
    history: Arc<Mutex<Vec<HistoryOp>>>,
) {
    let client = reqwest::Client::new();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(id);
    let mut guess = id as usize % addrs.len();
    let mut seq = 0;
    while Instant::now() < until {
        seq += 1;
        let key = KEYS[rng.gen_range(0..KEYS.len())].to_string();
        let v = format!("{id}.{seq}");
        let op = match rng.gen_range(0..4) {
            0 => Op::Put { key, value: v },
            1 => Op::Append { key, value: v },
            2 => Op::Get { key },
            _ => Op::Cas {
                key,
                expected: None,
                new: v,
            },
        };
        let op_deadline = Instant::now() + Duration::from_secs(2);
        let invoke_us = start.elapsed().as_micros() as u64;
        let mut outcome = None;
        while Instant::now() < op_deadline {
            match send(&client, addrs[guess], id, seq, &op).await {
                Ok(r) => {
                    outcome = Some(r);
                    break;
                }
                Err(Some(leader)) if (leader as usize) < addrs.len() => guess = leader as usize,
                Err(_) => {
                    guess = (guess + 1) % addrs.len();
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
        let complete_us = outcome.as_ref().map(|_| start.elapsed().as_micros() as u64);
        let done = HistoryOp {
            client_id: id,
            seq,
            op,
            invoke_us,
            complete_us,
            result: outcome,
            cas_current_unknown: false,
        };
        if let Ok(mut h) = history.lock() {
            h.push(done);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_and_restarted_nodes_lose_nothing_and_stay_linearizable() {
    let addrs = free_addrs(NODES);
    let base = std::env::temp_dir().join(format!("raft-fault-{}", std::process::id()));
    let mut cluster = Cluster {
        dirs: (0..NODES).map(|i| base.join(format!("n{i}"))).collect(),
        children: (0..NODES).map(|_| None).collect(),
        addrs: addrs.clone(),
    };
    for i in 0..NODES {
        cluster.spawn(i);
    }
    let http = reqwest::Client::new();
    let start = Instant::now();
    let until = start + Duration::from_secs(5);
    let history = Arc::new(Mutex::new(Vec::new()));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|id| {
            tokio::spawn(client_loop(
                id,
                addrs.clone(),
                start,
                until,
                history.clone(),
            ))
        })
        .collect();
    // Faults: kill -9 a node (every other time the leader) and restart it.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    let mut kills = 0;
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(700)).await;
        let mut victim = rng.gen_range(0..NODES);
        if kills % 2 == 0 {
            for (i, &a) in addrs.iter().enumerate() {
                if status(&http, a).await.is_some_and(|s| node::is_leader(&s)) {
                    victim = i;
                }
            }
        }
        cluster.kill(victim);
        kills += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
        cluster.spawn(victim);
    }
    for c in clients {
        c.await.expect("a client task");
    }
    assert!(kills >= 4, "{kills} kills");

    // Every node up; once they agree, read every key through the log.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut agreed = None;
    while Instant::now() < deadline {
        let mut all = Vec::new();
        for &a in &addrs {
            all.extend(status(&http, a).await);
        }
        let first = all.first().map(|s| (s.applied, s.digest));
        if all.len() == NODES && all.iter().all(|s| Some((s.applied, s.digest)) == first) {
            agreed = first;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (applied, _) = agreed.expect("all nodes applied the same entries to the same state");
    assert!(applied > 20, "real work: {applied} entries");

    // A bit flipped in the middle of a node's synced log: it refuses to
    // start, saying where; the other two go on, losing nothing.
    cluster.kill(2);
    let wal = cluster.dirs[2].join("wal");
    let mut bytes = std::fs::read(&wal).expect("n2's log");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x04;
    std::fs::write(&wal, &bytes).expect("written back");
    let mut refused = Command::new(env!("CARGO_BIN_EXE_raft-node"))
        .args(["--id", "2", "--peers", &cluster.peers()])
        .arg("--data-dir")
        .arg(&cluster.dirs[2])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("raft-node starts");
    let waited = Instant::now();
    let status = loop {
        if let Some(s) = refused.try_wait().expect("a status") {
            break s;
        }
        if waited.elapsed() > Duration::from_secs(5) {
            let _ = refused.kill();
            panic!("a node with a damaged log kept running");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    if let Some(mut e) = refused.stderr.take() {
        use std::io::Read as _;
        let _ = e.read_to_string(&mut stderr);
    }
    assert!(!status.success(), "refused: {stderr}");
    assert!(
        stderr.contains("is corrupt at offset"),
        "a clear message: {stderr}"
    );
    let finals = Arc::new(Mutex::new(Vec::new()));
    let end = Instant::now() + Duration::from_secs(5);
    // A reader client with one read per key (a fresh session).
    let reader = tokio::spawn({
        let (addrs, finals) = (addrs.clone(), finals.clone());
        async move {
            let client = reqwest::Client::new();
            for (k, key) in KEYS.iter().enumerate() {
                let op = Op::Get {
                    key: (*key).to_string(),
                };
                let seq = k as u64 + 1;
                let invoke_us = start.elapsed().as_micros() as u64;
                let mut guess = 0;
                while Instant::now() < end {
                    match send(&client, addrs[guess], 99, seq, &op).await {
                        Ok(r) => {
                            let h = HistoryOp {
                                client_id: 99,
                                seq,
                                op: op.clone(),
                                invoke_us,
                                complete_us: Some(start.elapsed().as_micros() as u64),
                                result: Some(r),
                                cas_current_unknown: false,
                            };
                            if let Ok(mut f) = finals.lock() {
                                f.push(h);
                            }
                            break;
                        }
                        Err(Some(l)) if (l as usize) < addrs.len() => guess = l as usize,
                        Err(_) => guess = (guess + 1) % addrs.len(),
                    }
                }
            }
        }
    });
    reader.await.expect("the reader");
    let mut all = history.lock().expect("the history").clone();
    let finals = finals.lock().expect("the final reads").clone();
    assert_eq!(finals.len(), KEYS.len(), "every key read at the end");
    all.extend(finals);
    let acked = all.iter().filter(|h| h.result.is_some()).count();
    assert!(acked > 30, "real work: {acked} operations acknowledged");
    let file = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fault-history.jsonl");
    let _ = std::fs::write(&file, write_history(&all));
    assert_eq!(
        check_linearizability(&all, 1_000_000),
        LinearizabilityOutcome::Linearizable,
        "the history ({} ops, {acked} acknowledged) is in {}",
        all.len(),
        file.display()
    );
}
