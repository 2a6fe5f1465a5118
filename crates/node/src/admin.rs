//! The admin API: status, log and kv dumps, leadership transfer, snapshots,
//! and membership changes.
//!
//! A membership change that adds a node carries the node's address: the
//! leader first commits it to the replicated address book (a kv key under
//! [`PEER_KEY_PREFIX`], applied by every node, kept in snapshots), then
//! proposes the change. Every node that applies the change has the address
//! before it, and a node that restarts finds it in its store again.

use super::{error, is_leader, Input, Inputs, LogLine, Status};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use raft_core::membership::{Change, ConfChange};
use raft_core::NodeId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Keys of the replicated address book start with this (a byte no client
/// key may start with: the kv API refuses it).
pub const PEER_KEY_PREFIX: &str = "\u{0}peer/";

/// The address book's key for node `id`.
#[must_use]
pub fn peer_key(id: u64) -> String {
    format!("{PEER_KEY_PREFIX}{id}")
}

/// How long a membership change may take to commit.
const CHANGE_TIMEOUT: Duration = Duration::from_secs(5);

/// What `GET /admin/members` answers.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Members {
    /// The voters (the incoming configuration's, while joint).
    pub voters: Vec<u64>,
    /// While joint: the outgoing configuration's voters.
    pub outgoing: Vec<u64>,
    /// Members that receive the log but do not vote.
    pub learners: Vec<u64>,
    /// Every member's address, as this node knows it.
    pub addresses: BTreeMap<u64, SocketAddr>,
}

/// `POST /admin/members/{id}`'s body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AddBody {
    addr: SocketAddr,
}

/// Sends an input built around a reply channel and waits for the reply.
async fn ask<R>(
    inputs: &Inputs,
    make: impl FnOnce(oneshot::Sender<R>) -> Input,
) -> Result<R, Response> {
    let stopping = || {
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the node is stopping",
            None,
        )
    };
    let (tx, rx) = oneshot::channel();
    inputs.send(make(tx)).await.map_err(|_| stopping())?;
    rx.await.map_err(|_| stopping())
}

pub(super) async fn status(State(inputs): State<Inputs>) -> Response {
    match ask(&inputs, Input::Status).await {
        Ok(s) => Json(s).into_response(),
        Err(r) => r,
    }
}

pub(super) async fn log(State(inputs): State<Inputs>) -> Response {
    match ask::<Vec<LogLine>>(&inputs, Input::Log).await {
        Ok(lines) => Json(lines).into_response(),
        Err(r) => r,
    }
}

pub(super) async fn kv(State(inputs): State<Inputs>) -> Response {
    match ask::<BTreeMap<String, String>>(&inputs, Input::Kv).await {
        Ok(kv) => Json(kv).into_response(),
        Err(r) => r,
    }
}

pub(super) async fn transfer(State(inputs): State<Inputs>, Path(target): Path<u64>) -> Response {
    match ask(&inputs, |tx| Input::Transfer(target, tx)).await {
        Ok(Ok(())) => Json(serde_json::json!({ "transferring_to": target })).into_response(),
        Ok(Err(e)) => error(StatusCode::CONFLICT, &e, None),
        Err(r) => r,
    }
}

pub(super) async fn snapshot(State(inputs): State<Inputs>) -> Response {
    match ask(&inputs, Input::Snapshot).await {
        Ok(Ok(index)) => Json(serde_json::json!({ "snapshot_index": index })).into_response(),
        Ok(Err(e)) => error(StatusCode::CONFLICT, &e, None),
        Err(r) => r,
    }
}

pub(super) async fn members(State(inputs): State<Inputs>) -> Response {
    match ask(&inputs, Input::Members).await {
        Ok(m) => Json(m).into_response(),
        Err(r) => r,
    }
}

/// `POST /admin/members/{id}` with `{"addr": "HOST:PORT"}`: node `id`
/// joins as a learner, its address first committed to the address book.
pub(super) async fn add_learner(
    State(inputs): State<Inputs>,
    Path(id): Path<u64>,
    Json(body): Json<AddBody>,
) -> Response {
    if let Err(r) = leading(&inputs).await {
        return r;
    }
    match ask(&inputs, |tx| Input::SetAddress(id, body.addr, tx)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return error(StatusCode::SERVICE_UNAVAILABLE, &e, None),
        Err(r) => return r,
    }
    change(&inputs, Change::AddLearner(NodeId(id))).await
}

/// `POST /admin/members/{id}/promote`: learner `id` becomes a voter. (A
/// node joins as a learner first, its address with it: promoting a
/// stranger would add a voter nobody can reach.)
pub(super) async fn promote(State(inputs): State<Inputs>, Path(id): Path<u64>) -> Response {
    match ask::<Members>(&inputs, Input::Members).await {
        Ok(m) if m.learners.contains(&id) => change(&inputs, Change::AddVoter(NodeId(id))).await,
        Ok(_) => error(
            StatusCode::CONFLICT,
            &format!("n{id} is not a learner: add it first (POST /admin/members/{id})"),
            None,
        ),
        Err(r) => r,
    }
}

/// `DELETE /admin/members/{id}`: node `id` leaves the configuration.
pub(super) async fn remove(State(inputs): State<Inputs>, Path(id): Path<u64>) -> Response {
    change(&inputs, Change::Remove(NodeId(id))).await
}

/// This node leads, or the answer to send instead (421 with the leader).
async fn leading(inputs: &Inputs) -> Result<(), Response> {
    let s: Status = ask(inputs, Input::Status).await?;
    if is_leader(&s) {
        return Ok(());
    }
    Err(error(
        StatusCode::MISDIRECTED_REQUEST,
        "not the leader",
        s.leader,
    ))
}

/// Proposes one change and waits until it commits.
async fn change(inputs: &Inputs, change: Change) -> Response {
    if let Err(r) = leading(inputs).await {
        return r;
    }
    let proposal = ConfChange::auto(vec![change]);
    let index = match ask(inputs, |tx| Input::ConfChange(proposal, tx)).await {
        Ok(Ok(index)) => index,
        Ok(Err(e)) => return error(StatusCode::CONFLICT, &e, None),
        Err(r) => return r,
    };
    let deadline = Instant::now() + CHANGE_TIMEOUT;
    while Instant::now() < deadline {
        match ask::<Status>(inputs, Input::Status).await {
            Ok(s) if s.commit >= index => {
                let m = ask(inputs, Input::Members).await;
                return match m {
                    Ok(m) => {
                        Json(serde_json::json!({ "index": index, "members": m })).into_response()
                    }
                    Err(r) => r,
                };
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            Err(r) => return r,
        }
    }
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        &format!("the change at index {index} did not commit in time"),
        None,
    )
}
