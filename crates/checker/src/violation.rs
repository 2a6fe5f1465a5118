//! The properties the checker decides and the structured report of a broken one.
//!
//! This module owns [`Property`] (with its stable kebab-case names, used in JSON,
//! corpus files and CLI output) and [`Violation`]. It must never decide anything:
//! the checks live in their own modules and only build violations through the
//! small builder here.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A property of a correct run. Serialized as its [`name`](Property::name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Property {
    /// At most one leader per term, over the whole run.
    ElectionSafety,
    /// A node votes for at most one candidate per term.
    VoteOncePerTerm,
    /// A leader never overwrites or deletes entries of its own log.
    LeaderAppendOnly,
    /// Two logs with an entry of the same index and term agree on it and on
    /// everything before it.
    LogMatching,
    /// Every committed entry is in the log of every leader of a later term.
    LeaderCompleteness,
    /// Every node applies the same entry at each index, in order, exactly once,
    /// and only committed entries.
    StateMachineSafety,
    /// Commit indices never decrease and never pass the end of the log.
    CommitMonotonic,
    /// Terms (in memory within an incarnation, and durable ones always) never decrease.
    TermMonotonic,
    /// Every acknowledged write survives to the end of the run.
    Durability,
    /// The client history is linearizable.
    Linearizability,
    /// After the heal, a leader is elected and client operations complete in bounded time.
    Liveness,
    /// A node's own invariants (raft-core's `check_invariants`) hold after every input.
    NodeInvariant,
    /// The host's rules hold: the disk boundary (contiguous writes, nothing at
    /// or below the written commit rewritten), storage writes, bounded batches.
    HostInvariant,
    /// The simulator's own rules hold: time never goes back, queues stay bounded.
    EngineInvariant,
    /// With check-quorum, a node votes for no candidate within the minimum
    /// election timeout of hearing its leader: the leader's lease holds
    /// (what lease reads rely on, and what keeps a rejoining node from
    /// deposing a live leader).
    LeaderLease,
    /// The protocol does no work it is specified not to: batches filled to
    /// the message limits and within them, pipelines as wide as the
    /// in-flight limit, backoff straight to the conflict hint, a lost
    /// election conceded at once, vote requests answered, election timeouts
    /// drawn over their whole range. A break wastes messages, round trips or
    /// terms without breaking safety, so no other check would see it.
    Efficiency,
    /// Configurations follow the log: a node uses the configuration of the
    /// latest configuration entry in its log (committed or not, the
    /// bootstrap one when there is none), and a leader's log holds at most
    /// one configuration entry above the committed index (one change at a
    /// time). The quorums counted with a configuration are checked under
    /// election safety (votes) and leader completeness (commits).
    Membership,
    /// Snapshots hold committed state only: a snapshot's index is a
    /// committed entry of its term, at or below what its node applied; its
    /// configuration is the one in force at its index; and a state machine
    /// restored from a snapshot at index `i` (installed from the leader, or
    /// read back at a restart) equals the state reached by applying the
    /// committed entries `1..=i`, compared by digest.
    Snapshot,
    /// Damaged data is detected, never applied: a node whose synced files
    /// had a bit flipped refuses to start, or reads back exactly what the
    /// undamaged files held.
    Corruption,
}

impl Property {
    /// Every property, in declaration order.
    pub const ALL: [Property; 19] = [
        Property::ElectionSafety,
        Property::VoteOncePerTerm,
        Property::LeaderAppendOnly,
        Property::LogMatching,
        Property::LeaderCompleteness,
        Property::StateMachineSafety,
        Property::CommitMonotonic,
        Property::TermMonotonic,
        Property::Durability,
        Property::Linearizability,
        Property::Liveness,
        Property::NodeInvariant,
        Property::HostInvariant,
        Property::EngineInvariant,
        Property::LeaderLease,
        Property::Efficiency,
        Property::Membership,
        Property::Snapshot,
        Property::Corruption,
    ];

    /// The stable kebab-case name, e.g. `"election-safety"`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Property::ElectionSafety => "election-safety",
            Property::VoteOncePerTerm => "vote-once-per-term",
            Property::LeaderAppendOnly => "leader-append-only",
            Property::LogMatching => "log-matching",
            Property::LeaderCompleteness => "leader-completeness",
            Property::StateMachineSafety => "state-machine-safety",
            Property::CommitMonotonic => "commit-monotonic",
            Property::TermMonotonic => "term-monotonic",
            Property::Durability => "durability",
            Property::Linearizability => "linearizability",
            Property::Liveness => "liveness",
            Property::NodeInvariant => "node-invariant",
            Property::HostInvariant => "host-invariant",
            Property::EngineInvariant => "engine-invariant",
            Property::LeaderLease => "leader-lease",
            Property::Efficiency => "efficiency",
            Property::Membership => "membership",
            Property::Snapshot => "snapshot",
            Property::Corruption => "corruption",
        }
    }

    /// The property with this [`name`](Property::name), if any.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Property> {
        Property::ALL.into_iter().find(|p| p.name() == name)
    }
}

impl fmt::Display for Property {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One broken property, as structured data.
///
/// `found` says what was observed (it names the nodes, term and index involved),
/// `expected` states the rule it broke; [`Violation::message`] joins them into one line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// The broken property.
    pub property: Property,
    /// The nodes involved (node indices, as in the simulator), most relevant first.
    pub nodes: Vec<u64>,
    /// The term concerned, if one is.
    pub term: Option<u64>,
    /// The log index concerned, if one is.
    pub index: Option<u64>,
    /// The simulator's event counter when the violation was detected (0 for checks
    /// that are not fed events, such as linearizability; the caller may overwrite it).
    pub event_index: u64,
    /// The rule that should have held.
    pub expected: String,
    /// What was observed instead.
    pub found: String,
}

impl Violation {
    /// A violation of `property` with no nodes, term or index yet.
    #[must_use]
    pub fn new(
        property: Property,
        event_index: u64,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Violation {
        Violation {
            property,
            nodes: Vec::new(),
            term: None,
            index: None,
            event_index,
            expected: expected.into(),
            found: found.into(),
        }
    }

    /// Sets the nodes involved (simulator node indices).
    #[must_use]
    pub fn with_nodes(mut self, nodes: &[usize]) -> Violation {
        self.nodes = nodes.iter().map(|&n| n as u64).collect();
        self
    }

    /// Sets the term concerned.
    #[must_use]
    pub fn with_term(mut self, term: u64) -> Violation {
        self.term = Some(term);
        self
    }

    /// Sets the log index concerned.
    #[must_use]
    pub fn with_index(mut self, index: u64) -> Violation {
        self.index = Some(index);
        self
    }

    /// One line: `"<property>: <found>; expected <expected> (event <n>)"`, e.g.
    /// `"election-safety: n0 and n2 both leaders of term 5; expected at most one leader per term (event 1234)"`.
    #[must_use]
    pub fn message(&self) -> String {
        format!(
            "{}: {}; expected {} (event {})",
            self.property.name(),
            self.found,
            self.expected,
            self.event_index
        )
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kebab_case_and_round_trip_through_serde() {
        for p in Property::ALL {
            let json = serde_json::to_string(&p).expect("serializes");
            assert_eq!(json, format!("\"{}\"", p.name()));
            let back: Property = serde_json::from_str(&json).expect("deserializes");
            assert_eq!(back, p);
            assert_eq!(Property::from_name(p.name()), Some(p));
        }
        assert_eq!(Property::ElectionSafety.name(), "election-safety");
        assert_eq!(Property::VoteOncePerTerm.name(), "vote-once-per-term");
        assert_eq!(Property::Membership.name(), "membership");
        assert_eq!(Property::from_name("nope"), None);
    }

    #[test]
    fn message_is_one_line_with_property_and_event() {
        let v = Violation::new(
            Property::ElectionSafety,
            1234,
            "at most one leader per term",
            "n0 and n2 both leaders of term 5",
        )
        .with_nodes(&[0, 2])
        .with_term(5);
        assert_eq!(
            v.message(),
            "election-safety: n0 and n2 both leaders of term 5; expected at most one leader per term (event 1234)"
        );
        assert_eq!(v.to_string(), v.message());
        assert_eq!(v.nodes, vec![0, 2]);
        let json = serde_json::to_string(&v).expect("serializes");
        assert!(json.contains("\"property\":\"election-safety\""), "{json}");
        let back: Violation = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, v);
    }
}
