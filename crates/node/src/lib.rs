//! The real node: raft-core driven by the shared host driver
//! ([`host::Driver`]), with a write-ahead log on disk
//! ([`host::wal_storage::WalStorage`] over [`host::fs::RealFs`]), HTTP
//! between nodes and a JSON client API, on the tokio runtime.
//!
//! One task owns the driver: it takes inputs (ticks, messages from peers,
//! client commands, status queries) from a channel, hands each to the
//! driver, and after each round of inputs syncs the log once (group
//! commit) before the driver may release what waited for durability.
//! Messages to peers queue per peer and leave in batches, HTTP POSTs of a
//! postcard-encoded list to `/raft` (see `transport`); a lost or refused
//! one is simply lost (Raft retries).
//!
//! HTTP API:
//! * `POST /raft`: messages from a peer (a postcard-encoded list).
//! * `PUT /kv/{key}` with `{"client": C, "seq": S, "value": V}`: put;
//!   `POST /kv/{key}` with `{"op": "append", "client": C, "seq": S,
//!   "value": V}` or `{"op": "cas", "client": C, "seq": S, "expected": V
//!   or null, "new": V}`; `GET /kv/{key}?client=C&seq=S`: a read through
//!   the log (`&read=index`: by ReadIndex, no log entry: the leader
//!   confirms it still leads with a heartbeat round and answers from its
//!   state machine). Answers
//!   `200 {"result": ...}`, `421 {"error": ..., "leader": N}` from a node
//!   that does not lead, `503` when the command was not applied in time.
//! * `GET /admin/status`: the node's role, term, commit, applied index,
//!   leader, voters, learners and kv digest; `GET /admin/log`: the entries
//!   it holds (index, term, kind, size); `GET /admin/kv`: its kv store;
//!   `POST /admin/transfer/{id}`: hand leadership to node `id` (leader
//!   only, `409` with the reason otherwise); `POST /admin/snapshot`:
//!   compact the log now.
//! * Membership (leader only, `421` with the leader otherwise; each answers
//!   once the change commits): `GET /admin/members`; `POST
//!   /admin/members/{id}` with `{"addr": "HOST:PORT"}` adds node `id` as a
//!   learner (its address travels first, through the log: see [`admin`]);
//!   `POST /admin/members/{id}/promote` makes a learner a voter; `DELETE
//!   /admin/members/{id}` removes a member. A new node starts with
//!   `join` set (`raft-node --join`): outside the configuration, it waits
//!   for the leader to replicate to it.
//!
//! Keys starting with a NUL byte are reserved for the address book: the kv
//! API refuses them.

use axum::body::Bytes as BodyBytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub mod admin;
mod transport;

pub use admin::{peer_key, Members, PEER_KEY_PREFIX};
use axum::{Json, Router};
use host::fs::RealFs;
use host::wal_storage::WalStorage;
use host::{Answer, Driver, Effects, HostFault, Transport};
use kv::{Applied, Command, KvStore, Op, OpResult};
use raft_core::membership::ConfChange;
use raft_core::{Config, Message, NodeId, RaftNode, Role, Xoshiro256PlusPlus};
use rand_xoshiro::rand_core::SeedableRng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How long a client command may wait to be applied.
const APPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// A node's configuration.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// This node's id (a key of `peers`).
    pub id: u64,
    /// The cluster's first voters' ids and addresses, and this node's.
    pub peers: BTreeMap<u64, SocketAddr>,
    /// This node joins a running cluster: it is not one of the first
    /// voters (the others in `peers` are), and waits to be added.
    pub join: bool,
    /// Where the write-ahead log and snapshots live.
    pub data_dir: PathBuf,
    /// The length of one tick (raft-core's timeouts count ticks).
    pub tick: Duration,
    /// Compact the log every this many applied entries.
    pub snapshot_every: u64,
}

impl NodeConfig {
    /// Checks the configuration; the first problem found.
    ///
    /// # Errors
    /// The id is not among the peers, or the tick is zero.
    pub fn validate(&self) -> Result<(), String> {
        if !self.peers.contains_key(&self.id) {
            return Err(format!("--id {} is not among the peers", self.id));
        }
        if self.tick.is_zero() {
            return Err("the tick must be longer than zero".into());
        }
        if self.join && self.peers.len() < 2 {
            return Err("a joining node needs the cluster's voters among the peers".into());
        }
        Ok(())
    }

    /// The first configuration's voters: every peer, but a joining node.
    #[must_use]
    pub fn voters(&self) -> Vec<NodeId> {
        self.peers
            .keys()
            .filter(|&&id| !(self.join && id == self.id))
            .map(|&id| NodeId(id))
            .collect()
    }
}

/// An input to the node's task.
enum Input {
    Tick,
    Message(Message),
    Command(Command, oneshot::Sender<Reply>),
    /// A get served by ReadIndex: no log entry.
    Read(Command, oneshot::Sender<Reply>),
    Status(oneshot::Sender<Status>),
    Log(oneshot::Sender<Vec<LogLine>>),
    Transfer(u64, oneshot::Sender<Result<(), String>>),
    Snapshot(oneshot::Sender<Result<u64, String>>),
    Kv(oneshot::Sender<BTreeMap<String, String>>),
    Members(oneshot::Sender<Members>),
    /// Commit node `id`'s address to the address book (leader only).
    SetAddress(u64, SocketAddr, oneshot::Sender<Result<(), String>>),
    ConfChange(ConfChange, oneshot::Sender<Result<u64, String>>),
}

/// One entry as `GET /admin/log` lists it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct LogLine {
    /// Its index.
    pub index: u64,
    /// Its term.
    pub term: u64,
    /// `Normal` or `ConfChange`.
    pub kind: String,
    /// Its payload's size in bytes.
    pub bytes: usize,
}

/// How a client command ended.
#[derive(Debug)]
enum Reply {
    Done(OpResult),
    NotLeader(Option<u64>),
    Lost,
}

/// What `GET /admin/status` answers.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Status {
    /// The node.
    pub id: u64,
    /// `Follower`, `PreCandidate`, `Candidate` or `Leader`.
    pub role: String,
    /// Its term.
    pub term: u64,
    /// Its commit index.
    pub commit: u64,
    /// The last index its kv store applied.
    pub applied: u64,
    /// Its last log index.
    pub last_index: u64,
    /// The leader it knows of.
    pub leader: Option<u64>,
    /// The voters of its configuration.
    pub voters: Vec<u64>,
    /// The learners of its configuration.
    #[serde(default)]
    pub learners: Vec<u64>,
    /// Its kv store's digest (equal on nodes that applied the same entries).
    pub digest: u64,
}

/// A running node: its address and the way to stop it.
pub struct NodeHandle {
    /// The address it serves on.
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl NodeHandle {
    /// Stops the node (as a crash: nothing is flushed that was not).
    pub async fn stop(mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        self.task.abort();
        let _ = self.task.await;
    }
}

/// The driver's effects for one round: messages to send, answers.
#[derive(Default)]
struct Round {
    messages: Vec<Message>,
    answers: Vec<(u64, Answer<Applied>)>,
    faults: Vec<HostFault>,
}

impl Transport for Round {
    fn send(&mut self, m: Message) {
        self.messages.push(m);
    }
}

impl Effects<u64, Applied> for Round {
    fn answer(&mut self, token: u64, answer: Answer<Applied>) {
        self.answers.push((token, answer));
    }

    fn fault(&mut self, fault: HostFault) {
        self.faults.push(fault);
    }
}

/// Starts a node on `listener`: recovers its storage from `data_dir`, and
/// serves until stopped.
///
/// # Errors
/// An invalid configuration, or storage that cannot be recovered (a
/// damaged log is refused with its file and offset).
pub async fn start(
    config: NodeConfig,
    listener: tokio::net::TcpListener,
) -> Result<NodeHandle, String> {
    config.validate()?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let fs = RealFs::open(&config.data_dir).map_err(|e| e.to_string())?;
    let (disk, durable) = WalStorage::open(fs).map_err(|e| e.to_string())?;
    let raft_config = Config::new(NodeId(config.id), config.voters());
    let id = config.id;
    let seed = config.id ^ (u64::from(addr.port()) << 16);
    let rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let raft = RaftNode::restore(raft_config, durable, rng).map_err(|e| e.to_string())?;
    let mut driver = Driver::restore(raft, KvStore::new()).map_err(|e| e.to_string())?;
    driver.set_snapshot_every(config.snapshot_every);
    let (inputs, rx) = mpsc::channel::<Input>(4096);
    let (shutdown, shutdown_rx) = oneshot::channel();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .map_err(|e| e.to_string())?;
    let app = Router::new()
        .route(
            "/raft",
            post(move |state, body| raft_message(state, NodeId(id), body)),
        )
        .route("/kv/:key", get(kv_get).put(kv_put).post(kv_post))
        .route("/admin/status", get(admin::status))
        .route("/admin/log", get(admin::log))
        .route("/admin/kv", get(admin::kv))
        .route("/admin/transfer/:id", post(admin::transfer))
        .route("/admin/snapshot", post(admin::snapshot))
        .route("/admin/members", get(admin::members))
        .route(
            "/admin/members/:id",
            post(admin::add_learner).delete(admin::remove),
        )
        .route("/admin/members/:id/promote", post(admin::promote))
        .with_state(inputs.clone());
    let tick = config.tick;
    let peers = config.peers.clone();
    let task = tokio::spawn(async move {
        let server = axum::serve(listener, app).with_graceful_shutdown(async {
            let _ = shutdown_rx.await;
        });
        let ticker = async move {
            let mut interval = tokio::time::interval(tick);
            // After a stall, ticks resume at their pace rather than in a
            // burst (a burst would look like an election timeout).
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                if inputs.send(Input::Tick).await.is_err() {
                    return;
                }
            }
        };
        let node = run(driver, disk, rx, peers, client);
        tokio::select! {
            _ = server => {}
            () = ticker => {}
            () = node => {}
        }
    });
    Ok(NodeHandle {
        addr,
        shutdown: Some(shutdown),
        task,
    })
}

/// The node's task: inputs in, one sync per round, messages out.
async fn run(
    mut driver: Driver<KvStore, u64>,
    mut disk: WalStorage<RealFs>,
    mut rx: mpsc::Receiver<Input>,
    peers: BTreeMap<u64, SocketAddr>,
    client: reqwest::Client,
) {
    let mut next_token = 0u64;
    let mut waiting: BTreeMap<u64, oneshot::Sender<Reply>> = BTreeMap::new();
    let mut outbox = transport::Outbox::new(client);
    // A node's messages to itself (a candidate's own vote), stepped back in.
    let mut local: VecDeque<Message> = VecDeque::new();
    loop {
        let first = match local.pop_front() {
            Some(m) => Input::Message(m),
            None => match rx.recv().await {
                Some(i) => i,
                None => return,
            },
        };
        let mut round = Round::default();
        let mut input = Some(first);
        // Group commit: every input already queued shares one sync.
        while let Some(i) = input.take() {
            match i {
                Input::Tick => driver.tick(&mut disk, &mut round),
                Input::Message(m) => driver.step(m, &mut disk, &mut round),
                Input::SetAddress(id, addr, reply) => {
                    let raft = driver.raft();
                    // The node's own session, numbered by the index the
                    // entry takes: larger than any it committed before.
                    let cmd = Command {
                        client_id: ADMIN_CLIENT | raft.id().0,
                        seq: raft.log().last_index().0 + 1,
                        op: Op::Put {
                            key: peer_key(id),
                            value: addr.to_string(),
                        },
                    };
                    let (tx, rx) = oneshot::channel();
                    next_token += 1;
                    match driver.propose(cmd.encode().into(), next_token, &mut disk, &mut round) {
                        Ok(_) => {
                            waiting.insert(next_token, tx);
                            tokio::spawn(async move {
                                let r = match rx.await {
                                    Ok(Reply::Done(_)) => Ok(()),
                                    _ => Err("the address was not committed; retry".to_string()),
                                };
                                let _ = reply.send(r);
                            });
                        }
                        Err(e) => {
                            let _ = reply.send(Err(e.to_string()));
                        }
                    }
                }
                Input::ConfChange(change, reply) => {
                    let r = driver
                        .propose_conf_change(&change, &mut disk, &mut round)
                        .map(|(index, _)| index.0)
                        .map_err(|e| e.to_string());
                    let _ = reply.send(r);
                }
                Input::Members(reply) => {
                    let _ = reply.send(members_of(&driver, &peers));
                }
                Input::Command(cmd, reply) => {
                    next_token += 1;
                    let data = cmd.encode().into();
                    match driver.propose(data, next_token, &mut disk, &mut round) {
                        Ok(_) => {
                            waiting.insert(next_token, reply);
                        }
                        Err(_) => {
                            let leader = driver.raft().leader().map(|l| l.0);
                            let _ = reply.send(Reply::NotLeader(leader));
                        }
                    }
                }
                Input::Read(cmd, reply) => {
                    next_token += 1;
                    let query = cmd.encode().into();
                    match driver.read(query, next_token, &mut disk, &mut round) {
                        Ok(()) => {
                            waiting.insert(next_token, reply);
                        }
                        Err(_) => {
                            let leader = driver.raft().leader().map(|l| l.0);
                            let _ = reply.send(Reply::NotLeader(leader));
                        }
                    }
                }
                Input::Status(reply) => {
                    let _ = reply.send(status_of(&driver));
                }
                Input::Log(reply) => {
                    let lines = driver
                        .raft()
                        .log()
                        .entries()
                        .iter()
                        .map(|e| LogLine {
                            index: e.index.0,
                            term: e.term.0,
                            kind: format!("{:?}", e.kind),
                            bytes: e.data.len(),
                        })
                        .collect();
                    let _ = reply.send(lines);
                }
                Input::Transfer(target, reply) => {
                    let r = driver
                        .transfer_leadership(NodeId(target), &mut disk, &mut round)
                        .map_err(|e| e.to_string());
                    let _ = reply.send(r);
                }
                Input::Snapshot(reply) => {
                    let r = driver
                        .compact_now(&mut disk, &mut round)
                        .map(|i| i.0)
                        .map_err(|e| e.to_string());
                    let _ = reply.send(r);
                }
                Input::Kv(reply) => {
                    // Clients' keys only (the address book shows in
                    // `GET /admin/members`).
                    let kv = driver
                        .state_machine()
                        .iter()
                        .filter(|(k, _)| !k.starts_with(PEER_KEY_PREFIX))
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect();
                    let _ = reply.send(kv);
                }
            }
            input = local
                .pop_front()
                .map(Input::Message)
                .or_else(|| rx.try_recv().ok());
        }
        while disk.has_unsynced() {
            let upto = disk.issued_seq();
            if let Err(e) = disk.sync_to(upto) {
                round.faults.push(HostFault::Storage(e));
                break;
            }
            driver.on_synced(&mut disk, &mut round);
        }
        if !round.faults.is_empty() || driver.is_stopped() {
            for f in &round.faults {
                eprintln!("raft-node: stopping: {f}");
            }
            return;
        }
        for (token, answer) in round.answers {
            if let Some(reply) = waiting.remove(&token) {
                let r = match answer {
                    Answer::Applied {
                        output: Applied::Fresh { result, .. } | Applied::Duplicate { result, .. },
                        ..
                    }
                    | Answer::Read {
                        output: Applied::Fresh { result, .. },
                        ..
                    } => Reply::Done(result),
                    Answer::ReadRefused => Reply::NotLeader(driver.raft().leader().map(|l| l.0)),
                    _ => Reply::Lost,
                };
                let _ = reply.send(r);
            }
        }
        for m in round.messages {
            if m.to == m.from {
                local.push_back(m);
                continue;
            }
            if let Some(addr) = address_of(&driver, &peers, m.to.0) {
                outbox.send(addr, m);
            }
        }
    }
}

/// The session bit of the nodes' own commands (the address book's puts):
/// `ADMIN_CLIENT | node id`. Client ids with this bit are refused.
const ADMIN_CLIENT: u64 = 1 << 63;

/// Node `id`'s address: from the configuration, else from the address book.
fn address_of(
    driver: &Driver<KvStore, u64>,
    peers: &BTreeMap<u64, SocketAddr>,
    id: u64,
) -> Option<SocketAddr> {
    peers.get(&id).copied().or_else(|| {
        driver
            .state_machine()
            .get(&peer_key(id))
            .and_then(|a| a.parse().ok())
    })
}

fn members_of(driver: &Driver<KvStore, u64>, peers: &BTreeMap<u64, SocketAddr>) -> Members {
    let m = driver.raft().membership();
    let ids = |v: &[NodeId]| v.iter().map(|n| n.0).collect::<Vec<_>>();
    let addresses = m
        .voters
        .iter()
        .chain(&m.outgoing)
        .chain(&m.learners)
        .filter_map(|n| address_of(driver, peers, n.0).map(|a| (n.0, a)))
        .collect();
    Members {
        voters: ids(&m.voters),
        outgoing: ids(&m.outgoing),
        learners: ids(&m.learners),
        addresses,
    }
}

fn status_of(driver: &Driver<KvStore, u64>) -> Status {
    let raft = driver.raft();
    Status {
        id: raft.id().0,
        role: format!("{:?}", raft.role()),
        term: raft.term().0,
        commit: raft.log().committed().0,
        applied: driver.state_machine().applied_index(),
        last_index: raft.log().last_index().0,
        leader: raft.leader().map(|l| l.0),
        voters: raft.membership().voters.iter().map(|v| v.0).collect(),
        learners: raft.membership().learners.iter().map(|v| v.0).collect(),
        digest: driver.state_machine().digest(),
    }
}

type Inputs = mpsc::Sender<Input>;

async fn raft_message(State(inputs): State<Inputs>, me: NodeId, body: BodyBytes) -> Response {
    let messages = match postcard::take_from_bytes::<Vec<Message>>(&body) {
        Ok((messages, [])) if !messages.is_empty() => messages,
        Ok((messages, rest)) => {
            let found = format!(
                "a list of {} raft messages and {} bytes more",
                messages.len(),
                rest.len()
            );
            return error(StatusCode::BAD_REQUEST, &found, None);
        }
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("not a list of raft messages: {e}"),
                None,
            )
        }
    };
    if let Some(m) = messages.iter().find(|m| m.to != me || m.from == me) {
        let found = format!("a message from {} to {} is not for {me}", m.from, m.to);
        return error(StatusCode::BAD_REQUEST, &found, None);
    }
    for m in messages {
        if inputs.send(Input::Message(m)).await.is_err() {
            break;
        }
    }
    StatusCode::NO_CONTENT.into_response()
}

/// `PUT /kv/{key}`'s body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PutBody {
    client: u64,
    seq: u64,
    value: String,
}

/// `POST /kv/{key}`'s body: an append or a compare-and-set.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, tag = "op", rename_all = "snake_case")]
enum PostBody {
    Append {
        client: u64,
        seq: u64,
        value: String,
    },
    Cas {
        client: u64,
        seq: u64,
        /// The value expected (`null`: the key is absent).
        expected: Option<String>,
        new: String,
    },
}

/// `GET /kv/{key}`'s query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GetQuery {
    client: u64,
    seq: u64,
    /// How the read is served: through the log (default), or by ReadIndex.
    #[serde(default)]
    read: ReadMode,
}

/// How a get is served.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ReadMode {
    /// A log entry, applied like a write.
    #[default]
    Log,
    /// ReadIndex: the leader confirms it leads with a heartbeat round and
    /// answers from its state machine, writing nothing.
    Index,
}

async fn kv_put(
    State(inputs): State<Inputs>,
    Path(key): Path<String>,
    Json(body): Json<PutBody>,
) -> Response {
    let cmd = Command {
        client_id: body.client,
        seq: body.seq,
        op: Op::Put {
            key,
            value: body.value,
        },
    };
    submit(inputs, cmd).await
}

async fn kv_post(
    State(inputs): State<Inputs>,
    Path(key): Path<String>,
    Json(body): Json<PostBody>,
) -> Response {
    let cmd = match body {
        PostBody::Append { client, seq, value } => Command {
            client_id: client,
            seq,
            op: Op::Append { key, value },
        },
        PostBody::Cas {
            client,
            seq,
            expected,
            new,
        } => Command {
            client_id: client,
            seq,
            op: Op::Cas { key, expected, new },
        },
    };
    submit(inputs, cmd).await
}

async fn kv_get(
    State(inputs): State<Inputs>,
    Path(key): Path<String>,
    Query(q): Query<GetQuery>,
) -> Response {
    let cmd = Command {
        client_id: q.client,
        seq: q.seq,
        op: Op::Get { key },
    };
    match q.read {
        ReadMode::Log => submit(inputs, cmd).await,
        ReadMode::Index => submit_as(inputs, cmd, Input::Read).await,
    }
}

async fn submit(inputs: Inputs, cmd: Command) -> Response {
    submit_as(inputs, cmd, Input::Command).await
}

/// Sends `cmd` to the node as `make` builds the input, and answers with
/// what it replies.
async fn submit_as(
    inputs: Inputs,
    cmd: Command,
    make: fn(Command, oneshot::Sender<Reply>) -> Input,
) -> Response {
    let key = match &cmd.op {
        Op::Put { key, .. } | Op::Get { key } | Op::Append { key, .. } | Op::Cas { key, .. } => key,
    };
    if key.starts_with('\0') {
        return error(
            StatusCode::BAD_REQUEST,
            "keys starting with a NUL byte are reserved",
            None,
        );
    }
    if cmd.client_id & ADMIN_CLIENT != 0 {
        return error(
            StatusCode::BAD_REQUEST,
            "client ids of 2^63 and above are reserved",
            None,
        );
    }
    let (tx, rx) = oneshot::channel();
    if inputs.send(make(cmd, tx)).await.is_err() {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the node is stopping",
            None,
        );
    }
    match tokio::time::timeout(APPLY_TIMEOUT, rx).await {
        Ok(Ok(Reply::Done(result))) => (
            StatusCode::OK,
            Json(serde_json::json!({ "result": result })),
        )
            .into_response(),
        Ok(Ok(Reply::NotLeader(leader))) => {
            error(StatusCode::MISDIRECTED_REQUEST, "not the leader", leader)
        }
        Ok(Ok(Reply::Lost)) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "lost to a leader change; retry with the same client and seq",
            None,
        ),
        _ => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "not applied in time; retry with the same client and seq",
            None,
        ),
    }
}

fn error(code: StatusCode, message: &str, leader: Option<u64>) -> Response {
    (
        code,
        Json(serde_json::json!({ "error": message, "leader": leader })),
    )
        .into_response()
}

/// Whether `role` names a leader (for clients of [`Status`]).
#[must_use]
pub fn is_leader(status: &Status) -> bool {
    status.role == format!("{:?}", Role::Leader)
}
