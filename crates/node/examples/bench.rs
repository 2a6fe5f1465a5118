//! Throughput and latency of a three-node cluster on this machine: three
//! nodes in this process (each its own HTTP server and write-ahead log
//! with fsync on the local disk), `CLIENTS` concurrent clients putting
//! for `SECONDS` seconds. Prints operations per second and latency
//! percentiles.
//!
//! ```sh
//! cargo run --release -p node --example bench [-- CLIENTS SECONDS]
//! ```

use node::{start, NodeConfig};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let clients: u64 = args.next().map_or(Ok(16), |a| a.parse())?;
    let seconds: u64 = args.next().map_or(Ok(5), |a| a.parse())?;
    let base = std::env::temp_dir().join(format!("raft-bench-{}", std::process::id()));
    let mut listeners = Vec::new();
    let mut peers = BTreeMap::new();
    for id in 0..3u64 {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        peers.insert(id, l.local_addr()?);
        listeners.push(l);
    }
    let mut nodes = Vec::new();
    for (id, l) in listeners.into_iter().enumerate() {
        let config = NodeConfig {
            id: id as u64,
            peers: peers.clone(),
            data_dir: base.join(format!("n{id}")),
            tick: Duration::from_millis(10),
            snapshot_every: 10_000,
            join: false,
        };
        nodes.push(start(config, l).await?);
    }
    let http = reqwest::Client::new();
    let addrs: Vec<_> = peers.values().copied().collect();
    // Wait for a leader.
    let deadline = Instant::now() + Duration::from_secs(10);
    let leader = loop {
        let mut found = None;
        for &a in &addrs {
            if let Ok(r) = http.get(format!("http://{a}/admin/status")).send().await {
                if let Ok(s) = r.json::<node::Status>().await {
                    if node::is_leader(&s) {
                        found = Some(a);
                    }
                }
            }
        }
        if let Some(a) = found {
            break a;
        }
        if Instant::now() > deadline {
            return Err("no leader".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let until = Instant::now() + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let http = http.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut seq = 0;
                while Instant::now() < until {
                    seq += 1;
                    let t = Instant::now();
                    let r = http
                        .put(format!("http://{leader}/kv/k{}", c % 8))
                        .json(
                            &serde_json::json!({"client": c, "seq": seq, "value": "x".repeat(64)}),
                        )
                        .send()
                        .await;
                    if r.is_ok_and(|r| r.status().is_success()) {
                        latencies.push(t.elapsed());
                    }
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await?);
    }
    all.sort_unstable();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    println!(
        "{clients} clients, {seconds} s: {} puts, {:.0} ops/s; latency p50 {:?} p99 {:?} max {:?}",
        all.len(),
        all.len() as f64 / seconds as f64,
        pct(0.50),
        pct(0.99),
        all[all.len() - 1]
    );
    for n in nodes {
        n.stop().await;
    }
    let _ = std::fs::remove_dir_all(&base);
    Ok(())
}
