//! A seeded sweep of bad input over every endpoint of a running node:
//! random bytes, broken and mistyped JSON, wrong content types, odd path
//! segments and query strings, unknown routes and methods, and raft
//! messages that decode but are not for this node. Every answer must be a
//! 4xx with a message (reads may succeed: their bodies are ignored); no
//! write, member or raft message is accepted; never a 5xx, never a dead
//! node. Bounded: a fixed number of requests.

use node::{start, NodeConfig};
use rand::Rng;
use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Requests the sweep sends.
const REQUESTS: usize = 1_500;

/// Every route and the methods it serves (`{}`: a path segment).
const ROUTES: [(&str, &[&str]); 11] = [
    ("/raft", &["POST"]),
    ("/kv/{}", &["GET", "PUT", "POST"]),
    ("/admin/status", &["GET"]),
    ("/admin/log", &["GET"]),
    ("/admin/kv", &["GET"]),
    ("/admin/transfer/{}", &["POST"]),
    ("/admin/snapshot", &["POST"]),
    ("/admin/members", &["GET"]),
    ("/admin/members/{}", &["POST", "DELETE"]),
    ("/admin/members/{}/promote", &["POST"]),
    ("/no/such/route", &["GET"]),
];

fn segment(rng: &mut Xoshiro256PlusPlus) -> String {
    match rng.gen_range(0..8) {
        0 => String::new(),
        1 => "x".repeat(rng.gen_range(1..5_000)),
        2 => "%FF%FE".into(),
        3 => "%00peer%2F1".into(),
        4 => u64::MAX.to_string(),
        5 => "-1".into(),
        6 => "%E2%9C%93".into(),
        _ => rng.gen_range(0..5u64).to_string(),
    }
}

fn query(rng: &mut Xoshiro256PlusPlus) -> String {
    match rng.gen_range(0..6) {
        0 => String::new(),
        1 => "?client=x&seq=1".into(),
        2 => "?client=1".into(),
        3 => format!("?client={}&seq={}", 1u64 << 63, 1),
        4 => "?client=1&seq=1&extra=2".into(),
        _ => format!("?client={}&seq={}", rng.gen::<u32>(), rng.gen::<u32>()),
    }
}

/// A body (and its content type) that is almost never a valid request.
fn body(rng: &mut Xoshiro256PlusPlus) -> (Vec<u8>, &'static str) {
    let json = "application/json";
    match rng.gen_range(0..12) {
        0 => (Vec::new(), json),
        1 => {
            let n = rng.gen_range(1..256);
            ((0..n).map(|_| rng.gen()).collect(), json)
        }
        2 => (b"{".to_vec(), json),
        3 => (
            br#"{"client": "one", "seq": 1, "value": "v"}"#.to_vec(),
            json,
        ),
        4 => (br#"{"client": -1, "seq": 1, "value": 7}"#.to_vec(), json),
        5 => (br#"{"op": "delete", "client": 1, "seq": 1}"#.to_vec(), json),
        6 => (br#"{"addr": "nowhere"}"#.to_vec(), json),
        7 => (br#"[1, 2, 3]"#.to_vec(), json),
        8 => (
            br#"{"client": 1, "seq": 1, "value": "v"}"#.to_vec(),
            "text/plain",
        ),
        9 => (vec![b'['; 100_000], json),
        10 => (b"null".to_vec(), json),
        _ => {
            // A raft message that decodes, addressed elsewhere or from itself.
            let m = raft_core::Message {
                from: raft_core::NodeId(rng.gen_range(0..2)),
                to: raft_core::NodeId(rng.gen_range(1..4)),
                term: raft_core::Term(rng.gen_range(0..1_000)),
                body: raft_core::MessageBody::HeartbeatResponse { read_round: 0 },
            };
            let batch = if rng.gen_bool(0.5) {
                vec![m]
            } else {
                vec![m; 3]
            };
            let bytes = postcard::to_allocvec(&batch).unwrap_or_default();
            (bytes, "application/octet-stream")
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_answers_bad_input_with_a_4xx_and_keeps_serving() {
    let dir = std::env::temp_dir().join(format!("raft-node-bad-input-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let addr = l.local_addr().expect("bound");
    let config = NodeConfig {
        id: 0,
        peers: BTreeMap::from([(0, addr)]),
        data_dir: dir.clone(),
        tick: Duration::from_millis(10),
        snapshot_every: 100,
        join: false,
    };
    let handle = start(config, l).await.expect("starts");
    // A fresh connection per request: the server may close one after
    // refusing a body it did not read, and a pooled connection would then
    // fail the next request instead.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(8))
        .pool_max_idle_per_host(0)
        .build()
        .expect("a client");
    // A leader first (one node: it elects itself).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = client
            .get(format!("http://{addr}/admin/status"))
            .send()
            .await;
        if let Ok(r) = s {
            let s: node::Status = r.json().await.expect("a status");
            if node::is_leader(&s) {
                break;
            }
        }
        assert!(Instant::now() < deadline, "no leader");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    let mut answered: BTreeMap<u16, usize> = BTreeMap::new();
    for i in 0..REQUESTS {
        let (route, methods) = ROUTES[rng.gen_range(0..ROUTES.len())];
        let method = if rng.gen_bool(0.1) {
            "PATCH"
        } else {
            methods[rng.gen_range(0..methods.len())]
        };
        let path = route.replace("{}", &segment(&mut rng));
        let url = format!("http://{addr}{path}{}", query(&mut rng));
        let (bytes, content_type) = body(&mut rng);
        let n = bytes.len();
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let sent = client
            .request(method.clone(), url.as_str())
            .header("content-type", content_type)
            .body(bytes)
            .send()
            .await;
        let r = match sent {
            Ok(r) => r,
            // A server may answer a large body it will not read (a wrong
            // method, route or type) and close the connection before the
            // client finished sending: a refusal at the connection.
            Err(_) if n >= 64 << 10 => continue,
            Err(e) => panic!("request {i} ({method} {url}, {n} bytes) got no answer: {e:?}"),
        };
        let code = r.status();
        *answered.entry(code.as_u16()).or_default() += 1;
        let text = r.text().await.unwrap_or_default();
        assert!(
            !code.is_server_error(),
            "request {i} ({method} {path}): {code} {text}"
        );
        if code.is_client_error() {
            assert!(
                !text.trim().is_empty() || code.as_u16() == 404 || code.as_u16() == 405,
                "request {i} ({method} {path}): {code} without a message"
            );
        }
        // No body the sweep makes is a valid write, member or message.
        let writes = matches!(
            (method.as_str(), route),
            ("POST", "/raft" | "/kv/{}" | "/admin/members/{}") | ("PUT", "/kv/{}")
        );
        assert!(
            !writes || code.is_client_error(),
            "request {i} ({method} {path}) was accepted: {code} {text}"
        );
    }
    // Refusals of every kind, and the node still serves a real command.
    for code in [400, 404, 405, 409, 415, 422] {
        assert!(answered.contains_key(&code), "no {code}: {answered:?}");
    }
    let r = client
        .put(format!("http://{addr}/kv/after"))
        .json(&serde_json::json!({"client": 9, "seq": 1, "value": "ok"}))
        .send()
        .await
        .expect("an answer");
    assert!(r.status().is_success(), "{}", r.status());
    handle.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
