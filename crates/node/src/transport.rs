//! Messages to peers over HTTP: one bounded queue and one sending task per
//! peer address. The task takes whatever has queued up since its last POST
//! and sends it as one batch (`POST /raft`, a postcard-encoded list of
//! messages), so a burst of appends and heartbeats to a peer costs one
//! request, and messages to one peer leave in the order they were sent.
//! Nothing is retried and nothing waits on a slow peer: a full queue, a
//! refused connection or a timeout loses messages, which Raft re-sends.
//! The pooled client reconnects on its own; the tasks end with the node.

use raft_core::Message;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use tokio::sync::mpsc;

/// Messages waiting for one peer, at most (more are dropped).
const QUEUE_MAX: usize = 1024;

/// A batch's body stops growing past this many bytes (a single larger
/// message still goes, alone).
const BATCH_BYTES_MAX: usize = 1 << 20;

/// The node's way out: a queue per peer address.
pub(crate) struct Outbox {
    client: reqwest::Client,
    queues: BTreeMap<SocketAddr, mpsc::Sender<Message>>,
}

impl Outbox {
    pub(crate) fn new(client: reqwest::Client) -> Outbox {
        Outbox {
            client,
            queues: BTreeMap::new(),
        }
    }

    /// Queues `m` for the peer at `addr` (dropped if its queue is full).
    pub(crate) fn send(&mut self, addr: SocketAddr, m: Message) {
        let client = &self.client;
        let queue = self.queues.entry(addr).or_insert_with(|| {
            let (tx, rx) = mpsc::channel(QUEUE_MAX);
            tokio::spawn(deliver(addr, client.clone(), rx));
            tx
        });
        let _ = queue.try_send(m);
    }
}

/// Encodes `messages` as postcard encodes a `Vec<Message>`: the count,
/// then each message.
pub(crate) fn encode_batch(messages: &[Vec<u8>]) -> Vec<u8> {
    let len: usize = messages.iter().map(Vec::len).sum();
    let mut body = Vec::with_capacity(len + 10);
    let mut count = messages.len() as u64;
    while count >= 0x80 {
        body.push((count as u8) | 0x80);
        count >>= 7;
    }
    body.push(count as u8);
    for m in messages {
        body.extend_from_slice(m);
    }
    body
}

/// The sending task for one peer.
async fn deliver(addr: SocketAddr, client: reqwest::Client, mut rx: mpsc::Receiver<Message>) {
    let url = format!("http://{addr}/raft");
    let mut next: Option<Message> = None;
    loop {
        let first = match next.take() {
            Some(m) => m,
            None => match rx.recv().await {
                Some(m) => m,
                None => return,
            },
        };
        let mut encoded = Vec::new();
        let mut bytes = 0;
        let mut m = Some(first);
        while let Some(msg) = m.take() {
            let Ok(e) = postcard::to_allocvec(&msg) else {
                m = rx.try_recv().ok();
                continue;
            };
            if bytes > 0 && bytes + e.len() > BATCH_BYTES_MAX {
                next = Some(msg);
                break;
            }
            bytes += e.len();
            encoded.push(e);
            m = rx.try_recv().ok();
        }
        if encoded.is_empty() {
            continue;
        }
        let _ = client
            .post(&url)
            .header("content-type", "application/octet-stream")
            .body(encode_batch(&encoded))
            .send()
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use raft_core::{MessageBody, NodeId, Term};

    #[test]
    fn a_batch_is_what_postcard_makes_of_the_list() {
        for n in [0usize, 1, 3, 200] {
            let messages: Vec<Message> = (0..n)
                .map(|i| Message {
                    from: NodeId(1),
                    to: NodeId(2),
                    term: Term(i as u64),
                    body: MessageBody::HeartbeatResponse { read_round: 0 },
                })
                .collect();
            let encoded: Vec<Vec<u8>> = messages
                .iter()
                .map(|m| postcard::to_allocvec(m).expect("encodes"))
                .collect();
            let body = encode_batch(&encoded);
            assert_eq!(body, postcard::to_allocvec(&messages).expect("encodes"));
            let back: Vec<Message> = postcard::from_bytes(&body).expect("decodes");
            assert_eq!(back, messages);
        }
    }
}
