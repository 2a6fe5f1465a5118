//! `raft-node`: one Raft node serving the kv store over HTTP.
//!
//! ```sh
//! raft-node --id 0 --peers 0=127.0.0.1:7000,1=127.0.0.1:7001,2=127.0.0.1:7002 --data-dir /tmp/n0
//! # a fourth node, joining (then: raftctl ... add-learner 3 127.0.0.1:7003)
//! raft-node --id 3 --join --peers 0=127.0.0.1:7000,1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003 --data-dir /tmp/n3
//! ```

use clap::Parser;
use node::{start, NodeConfig};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// One Raft node of a replicated kv store.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// This node's id (one of --peers).
    #[arg(long)]
    id: u64,
    /// The cluster's first voters as ID=HOST:PORT, comma separated, and
    /// this node.
    #[arg(long, value_parser = parse_peers)]
    peers: BTreeMap<u64, SocketAddr>,
    /// Where the write-ahead log and snapshots live.
    #[arg(long)]
    data_dir: PathBuf,
    /// The address to serve on (default: this node's address in --peers).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Milliseconds per tick (elections take 10 to 20 ticks).
    #[arg(long, default_value_t = 10)]
    tick_ms: u64,
    /// Compact the log every this many applied entries.
    #[arg(long, default_value_t = 10_000)]
    snapshot_every: u64,
    /// Join a running cluster: this node is not one of the first voters
    /// and waits until the leader adds it (`raftctl add-learner`).
    #[arg(long)]
    join: bool,
}

fn parse_peers(s: &str) -> Result<BTreeMap<u64, SocketAddr>, String> {
    let mut peers = BTreeMap::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        let (id, addr) = part
            .split_once('=')
            .ok_or_else(|| format!("'{part}' is not ID=HOST:PORT"))?;
        let id: u64 = id.parse().map_err(|_| format!("'{id}' is not a node id"))?;
        let addr: SocketAddr = addr
            .parse()
            .map_err(|_| format!("'{addr}' is not HOST:PORT"))?;
        if peers.insert(id, addr).is_some() {
            return Err(format!("node {id} is listed twice"));
        }
    }
    if peers.is_empty() {
        return Err("no peers".into());
    }
    Ok(peers)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = NodeConfig {
        id: args.id,
        peers: args.peers,
        data_dir: args.data_dir,
        tick: Duration::from_millis(args.tick_ms),
        snapshot_every: args.snapshot_every,
        join: args.join,
    };
    if let Err(e) = config.validate() {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let listen = args
        .listen
        .or_else(|| config.peers.get(&config.id).copied())
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: cannot listen on {listen}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let handle = match start(config, listener).await {
            Ok(h) => h,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        eprintln!("raft-node: serving on {}", handle.addr);
        let _ = tokio::signal::ctrl_c().await;
        handle.stop().await;
        ExitCode::SUCCESS
    })
}
