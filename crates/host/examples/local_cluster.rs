//! A replicated kv store in one process: three Raft nodes exchanging
//! messages by direct calls, each with its own write-ahead log on an
//! in-memory file system. The leader is crashed half way; the others elect
//! a new one and nothing acknowledged is lost.
//!
//! ```sh
//! cargo run -p host --example local_cluster
//! ```

use host::cluster::LocalCluster;
use kv::{Op, OpResult};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut cluster = LocalCluster::new(3, 42)?;
    let leader = cluster.elect(200).ok_or("no leader within 200 ticks")?;
    println!("{leader} leads");
    for (key, value) in [("apple", "red"), ("banana", "yellow")] {
        let put = Op::Put {
            key: key.into(),
            value: value.into(),
        };
        println!("put {key}={value}: {:?}", cluster.submit(put, 100)?);
    }
    println!("crashing {leader}");
    cluster.crash(leader);
    let next = cluster.elect(400).ok_or("no new leader")?;
    println!("{next} leads");
    let append = Op::Append {
        key: "apple".into(),
        value: " and green".into(),
    };
    cluster.submit(append, 100)?;
    let get = Op::Get {
        key: "apple".into(),
    };
    if let OpResult::Value(v) = cluster.submit(get, 100)? {
        println!("apple = {v:?}");
    }
    cluster.restart(leader)?;
    for _ in 0..20 {
        cluster.tick();
    }
    for (node, applied, digest) in cluster.digests() {
        println!("{node}: applied {applied}, digest {digest:016x}");
    }
    Ok(())
}
