//! Three real nodes on loopback ports, each with its write-ahead log in a
//! directory of its own: they elect a leader, serve a put and a get, lose
//! the leader, elect another, and still serve what was written. Bounded:
//! every wait gives up after a few seconds.

use node::{start, NodeConfig, NodeHandle, Status};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn data_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("raft-node-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

async fn status(client: &reqwest::Client, addr: SocketAddr) -> Option<Status> {
    let r = client
        .get(format!("http://{addr}/admin/status"))
        .send()
        .await
        .ok()?;
    r.json::<Status>().await.ok()
}

/// The leader among `addrs`, waiting up to `within`.
async fn leader(client: &reqwest::Client, addrs: &[SocketAddr], within: Duration) -> Option<usize> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        for (i, &a) in addrs.iter().enumerate() {
            if status(client, a).await.is_some_and(|s| node::is_leader(&s)) {
                return Some(i);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

/// Sends a request to the leader, retrying (same client and seq) until it
/// answers 200 or `within` passes; the JSON answer.
async fn request(
    client: &reqwest::Client,
    addrs: &[SocketAddr],
    within: Duration,
    make: impl Fn(&reqwest::Client, SocketAddr) -> reqwest::RequestBuilder,
) -> Option<serde_json::Value> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(i) = leader(client, addrs, Duration::from_secs(2)).await {
            if let Ok(r) = make(client, addrs[i]).send().await {
                if r.status().is_success() {
                    return r.json().await.ok();
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

/// `n` loopback listeners, and the peers map of their addresses by id.
async fn bind(n: u64) -> (Vec<tokio::net::TcpListener>, BTreeMap<u64, SocketAddr>) {
    let mut listeners = Vec::new();
    let mut peers = BTreeMap::new();
    for id in 0..n {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        peers.insert(id, l.local_addr().expect("bound"));
        listeners.push(l);
    }
    (listeners, peers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_serve_writes_and_survive_losing_the_leader() {
    let (listeners, peers) = bind(3).await;
    let addrs: Vec<SocketAddr> = peers.values().copied().collect();
    let mut nodes: Vec<Option<NodeHandle>> = Vec::new();
    for (id, l) in listeners.into_iter().enumerate() {
        let config = NodeConfig {
            id: id as u64,
            peers: peers.clone(),
            data_dir: data_dir(&format!("n{id}")),
            tick: Duration::from_millis(10),
            snapshot_every: 50,
            join: false,
        };
        nodes.push(Some(start(config, l).await.expect("starts")));
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(6))
        .build()
        .expect("a client");
    let within = Duration::from_secs(10);
    let put = request(&client, &addrs, within, |c, a| {
        c.put(format!("http://{a}/kv/k"))
            .json(&serde_json::json!({"client": 1, "seq": 1, "value": "v"}))
    })
    .await
    .expect("the put is applied");
    assert_eq!(put["result"], serde_json::json!("Ok"));
    let get = request(&client, &addrs, within, |c, a| {
        c.get(format!("http://{a}/kv/k?client=1&seq=2"))
    })
    .await
    .expect("the get is applied");
    assert_eq!(get["result"], serde_json::json!({"Value": "v"}));
    // The same read by ReadIndex: the value, and no entry in the log.
    let l = leader(&client, &addrs, within).await.expect("a leader");
    let before = status(&client, addrs[l]).await.expect("serves").last_index;
    let read = client
        .get(format!(
            "http://{}/kv/k?client=1&seq=9&read=index",
            addrs[l]
        ))
        .send()
        .await
        .expect("an answer");
    assert_eq!(read.status().as_u16(), 200);
    let read: serde_json::Value = read.json().await.expect("json");
    assert_eq!(read["result"], serde_json::json!({"Value": "v"}));
    let after = status(&client, addrs[l]).await.expect("serves").last_index;
    assert_eq!(after, before, "a ReadIndex read writes nothing");
    let append = request(&client, &addrs, within, |c, a| {
        c.post(format!("http://{a}/kv/k"))
            .json(&serde_json::json!({"op": "append", "client": 1, "seq": 3, "value": "+"}))
    })
    .await
    .expect("the append is applied");
    assert_eq!(append["result"], serde_json::json!("Ok"));
    let cas = request(&client, &addrs, within, |c, a| {
        c.post(format!("http://{a}/kv/k")).json(
            &serde_json::json!({"op": "cas", "client": 1, "seq": 4, "expected": "x", "new": "y"}),
        )
    })
    .await
    .expect("the cas is applied");
    assert_eq!(
        cas["result"],
        serde_json::json!({"CasFailed": {"current": "v+"}})
    );

    // Admin: compact the leader's log now; hand leadership to another node.
    let l = leader(&client, &addrs, within).await.expect("a leader");
    let r = client
        .post(format!("http://{}/admin/snapshot", addrs[l]))
        .send()
        .await
        .expect("an answer");
    assert!(r.status().is_success(), "{}", r.status());
    let body: serde_json::Value = r.json().await.expect("json");
    assert!(
        body["snapshot_index"].as_u64().is_some_and(|i| i >= 4),
        "{body}"
    );
    let target = (l + 1) % 3;
    let r = client
        .post(format!("http://{}/admin/transfer/{target}", addrs[l]))
        .send()
        .await
        .expect("an answer");
    assert!(r.status().is_success(), "{}", r.status());
    let deadline = Instant::now() + within;
    while leader(&client, &addrs, within).await != Some(target) {
        assert!(Instant::now() < deadline, "n{target} never took over");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let r = client
        .post(format!(
            "http://{}/admin/transfer/{l}",
            addrs[(target + 1) % 3]
        ))
        .send()
        .await
        .expect("an answer");
    assert_eq!(r.status().as_u16(), 409, "only the leader transfers");

    // Bad input gets a 4xx with a message, never a crash. (A fresh
    // connection per request: the server may close one after refusing a
    // body it did not read, and a pooled one would fail the next request.)
    let l = leader(&client, &addrs, within).await.expect("a leader");
    let a = addrs[l];
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(6))
        .pool_max_idle_per_host(0)
        .build()
        .expect("a client");
    for (req, what) in [
        (
            client.put(format!("http://{a}/kv/k")).body("{"),
            "malformed JSON",
        ),
        (
            client
                .put(format!("http://{a}/kv/k"))
                .json(&serde_json::json!({"client": 1})),
            "missing fields",
        ),
        (
            client
                .post(format!("http://{a}/kv/k"))
                .json(&serde_json::json!({"op": "delete", "client": 1, "seq": 9})),
            "unknown op",
        ),
        (client.get(format!("http://{a}/kv/k?client=x")), "bad query"),
        (
            client.post(format!("http://{a}/raft")).body("garbage"),
            "not a message",
        ),
        (
            client
                .put(format!("http://{a}/kv/k"))
                .header("content-type", "text/plain")
                .body(r#"{"client": 1, "seq": 9, "value": "v"}"#),
            "wrong content type",
        ),
        (
            client
                .put(format!("http://{a}/kv/k"))
                .header("content-type", "application/json")
                .body(vec![b' '; 3 << 20]),
            "oversized body",
        ),
        (
            client.post(format!("http://{a}/admin/transfer/77")),
            "unknown node id",
        ),
        (
            client.post(format!("http://{a}/admin/transfer/x")),
            "not a node id",
        ),
    ] {
        let r = req.send().await.expect("an answer");
        assert!(r.status().is_client_error(), "{what}: {}", r.status());
    }
    assert!(status(&client, a).await.is_some(), "still serving");

    // Lose the leader; the other two elect one and still hold the write.
    let old = leader(&client, &addrs, within).await.expect("a leader");
    if let Some(h) = nodes[old].take() {
        h.stop().await;
    }
    let rest: Vec<SocketAddr> = addrs
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != old)
        .map(|(_, &a)| a)
        .collect();
    let get = request(&client, &rest, within, |c, a| {
        c.get(format!("http://{a}/kv/k?client=1&seq=5"))
    })
    .await
    .expect("a new leader serves the get");
    assert_eq!(get["result"], serde_json::json!({"Value": "v+"}));
    // A follower refuses with the leader's id.
    let new = leader(&client, &rest, within).await.expect("a leader");
    let follower = rest[1 - new];
    let r = client
        .put(format!("http://{follower}/kv/k"))
        .json(&serde_json::json!({"client": 2, "seq": 1, "value": "w"}))
        .send()
        .await
        .expect("an answer");
    assert_eq!(r.status().as_u16(), 421);
    for h in nodes.into_iter().flatten() {
        h.stop().await;
    }
    for id in 0..3 {
        let _ = std::fs::remove_dir_all(data_dir(&format!("n{id}")));
    }
}

/// A node whose write-ahead log was damaged on disk refuses to start,
/// naming the file and the offset; an intact one comes back with its data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_log_is_refused_and_an_intact_one_recovers() {
    let dir = data_dir("single");
    let config = |addr: SocketAddr| NodeConfig {
        id: 0,
        peers: BTreeMap::from([(0, addr)]),
        data_dir: dir.clone(),
        tick: Duration::from_millis(10),
        snapshot_every: 1_000,
        join: false,
    };
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let addr = l.local_addr().expect("bound");
    let handle = start(config(addr), l).await.expect("starts");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(6))
        .build()
        .expect("a client");
    let within = Duration::from_secs(10);
    request(&client, &[addr], within, |c, a| {
        c.put(format!("http://{a}/kv/k"))
            .json(&serde_json::json!({"client": 1, "seq": 1, "value": "kept"}))
    })
    .await
    .expect("applied");
    handle.stop().await;

    // Intact: it restarts and still has the value.
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let addr = l.local_addr().expect("bound");
    let handle = start(config(addr), l).await.expect("restarts");
    let get = request(&client, &[addr], within, |c, a| {
        c.get(format!("http://{a}/kv/k?client=1&seq=2"))
    })
    .await
    .expect("applied");
    assert_eq!(get["result"], serde_json::json!({"Value": "kept"}));
    handle.stop().await;

    // raftctl reads the stopped node's files without touching them.
    let inspect = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_raftctl"))
            .arg("inspect")
            .arg(&dir)
            .output()
            .expect("raftctl runs")
    };
    let out = inspect();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("hard state: term=") && text.contains("log: "),
        "{text}"
    );

    // Damaged: a flipped bit in the first record.
    let wal = dir.join("wal");
    let mut bytes = std::fs::read(&wal).expect("the log");
    bytes[14] ^= 0x10;
    std::fs::write(&wal, &bytes).expect("written back");
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let addr = l.local_addr().expect("bound");
    let refused = start(config(addr), l).await.err().expect("refused");
    assert!(
        refused.contains("wal is corrupt at offset 0"),
        "a clear message: {refused}"
    );
    let out = inspect();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("corrupt at offset 0"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A fourth node joins a running cluster as a learner (its address
/// committed first), catches up, is promoted, and a founding follower is
/// removed; the remaining members agree on every byte. Membership requests
/// with bad input, and the reserved keys and client ids, get a 4xx.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_joins_is_promoted_and_another_leaves() {
    let (listeners, peers) = bind(4).await;
    let addrs: Vec<SocketAddr> = peers.values().copied().collect();
    let mut nodes: Vec<Option<NodeHandle>> = Vec::new();
    for (id, l) in listeners.into_iter().enumerate() {
        // The founders know each other; the newcomer knows them and itself.
        let mut known = peers.clone();
        if id < 3 {
            known.remove(&3);
        }
        let config = NodeConfig {
            id: id as u64,
            peers: known,
            data_dir: data_dir(&format!("m{id}")),
            tick: Duration::from_millis(10),
            snapshot_every: 20,
            join: id == 3,
        };
        nodes.push(Some(start(config, l).await.expect("starts")));
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(8))
        .build()
        .expect("a client");
    let within = Duration::from_secs(10);
    let founders = &addrs[..3];
    for seq in 1..=30u64 {
        request(&client, founders, within, |c, a| {
            c.put(format!("http://{a}/kv/k{}", seq % 5))
                .json(&serde_json::json!({"client": 1, "seq": seq, "value": seq.to_string()}))
        })
        .await
        .expect("applied");
    }
    let s3 = status(&client, addrs[3]).await.expect("n3 serves");
    assert!(!s3.voters.contains(&3) && s3.commit == 0, "{s3:?}");

    let l = leader(&client, founders, within).await.expect("a leader");
    let follower = (l + 1) % 3;
    let r = client
        .post(format!("http://{}/admin/members/3", addrs[follower]))
        .json(&serde_json::json!({"addr": addrs[3]}))
        .send()
        .await
        .expect("an answer");
    assert_eq!(r.status().as_u16(), 421, "only the leader changes members");
    let added = request(&client, founders, within, |c, a| {
        c.post(format!("http://{a}/admin/members/3"))
            .json(&serde_json::json!({"addr": addrs[3]}))
    })
    .await
    .expect("n3 is added");
    assert_eq!(
        added["members"]["learners"],
        serde_json::json!([3]),
        "{added}"
    );
    assert_eq!(
        added["members"]["addresses"]["3"],
        serde_json::json!(addrs[3].to_string())
    );
    // The learner catches up (from the leader's snapshot: logs compact
    // every 20 entries), then is promoted.
    let deadline = Instant::now() + within;
    loop {
        let lead = status(&client, addrs[l]).await.expect("the leader serves");
        let s3 = status(&client, addrs[3]).await.expect("n3 serves");
        if s3.applied >= lead.commit && s3.digest == lead.digest {
            assert_eq!(s3.learners, vec![3]);
            break;
        }
        assert!(Instant::now() < deadline, "n3 never caught up: {s3:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let promoted = request(&client, founders, within, |c, a| {
        c.post(format!("http://{a}/admin/members/3/promote"))
    })
    .await
    .expect("n3 is promoted");
    assert_eq!(
        promoted["members"]["voters"],
        serde_json::json!([0, 1, 2, 3])
    );

    // A founding follower leaves; the rest go on without it.
    let l = leader(&client, &addrs, within).await.expect("a leader");
    let gone = (0..3).find(|&i| i != l).expect("a follower");
    let removed = request(&client, &addrs, within, |c, a| {
        c.delete(format!("http://{a}/admin/members/{gone}"))
    })
    .await
    .expect("the follower is removed");
    let voters: Vec<u64> = (0..4).filter(|&i| i != gone as u64).collect();
    assert_eq!(removed["members"]["voters"], serde_json::json!(voters));
    if let Some(h) = nodes[gone].take() {
        h.stop().await;
    }
    let rest: Vec<SocketAddr> = (0..4).filter(|&i| i != gone).map(|i| addrs[i]).collect();
    request(&client, &rest, within, |c, a| {
        c.put(format!("http://{a}/kv/after"))
            .json(&serde_json::json!({"client": 1, "seq": 31, "value": "removal"}))
    })
    .await
    .expect("the smaller cluster commits");
    let deadline = Instant::now() + within;
    loop {
        let mut all = Vec::new();
        for &a in &rest {
            all.push(status(&client, a).await.expect("serves"));
        }
        let lead_commit = all.iter().map(|s| s.commit).max().unwrap_or(0);
        if all
            .iter()
            .all(|s| s.applied == lead_commit && s.digest == all[0].digest)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the members never agreed: {all:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Bad input: a 4xx with a message.
    let l = leader(&client, &rest, within).await.expect("a leader");
    let a = rest[l];
    for (req, what) in [
        (
            client
                .post(format!("http://{a}/admin/members/9"))
                .json(&serde_json::json!({"addr": "nowhere"})),
            "not an address",
        ),
        (
            client.post(format!("http://{a}/admin/members/9")).body("{"),
            "malformed body",
        ),
        (
            client.post(format!("http://{a}/admin/members/x/promote")),
            "not a node id",
        ),
        (
            client.post(format!("http://{a}/admin/members/9/promote")),
            "promoting a non-member",
        ),
        (
            client.delete(format!("http://{a}/admin/members/77")),
            "removing a non-member",
        ),
        (
            client
                .put(format!("http://{a}/kv/%00peer%2F9"))
                .json(&serde_json::json!({"client": 1, "seq": 40, "value": "127.0.0.1:1"})),
            "a reserved key",
        ),
        (
            client
                .put(format!("http://{a}/kv/k"))
                .json(&serde_json::json!({"client": 1u64 << 63, "seq": 1, "value": "v"})),
            "a reserved client id",
        ),
    ] {
        let r = req.send().await.expect("an answer");
        assert!(r.status().is_client_error(), "{what}: {}", r.status());
    }
    for h in nodes.into_iter().flatten() {
        h.stop().await;
    }
    for id in 0..4 {
        let _ = std::fs::remove_dir_all(data_dir(&format!("m{id}")));
    }
}
