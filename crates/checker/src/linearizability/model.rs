//! The sequential specification of one kv key: a register of `Option<String>`.
//!
//! This module owns the model step alone. It must never know about time,
//! clients or the search: it answers "from this value, can this op return this
//! result, and what is the value after it?".
//!
//! The search asks that question millions of times, so values are interned
//! as small ids ([`Values`], id 0 is the absent key) and each op is compiled
//! once into [`Step`], which the model applies with integer compares; only an
//! append makes a new string, once per (value, op) pair ([`Model::step`]
//! remembers it).

use crate::hash::FixedState;
use kv::{Op, OpResult};
use std::borrow::Cow;
use std::collections::HashMap;

/// The id of the absent value.
pub(super) const ABSENT: u32 = 0;

/// Register values, interned: the history's own strings borrowed, only
/// appends' results owned. (The maps here and in the search are looked up,
/// never iterated: ids come from the order values are first met, which is
/// the history's.)
#[derive(Default)]
pub(super) struct Values<'a> {
    /// By id; id 0 ([`ABSENT`]) is the absent value.
    values: Vec<Option<Cow<'a, str>>>,
    ids: HashMap<Cow<'a, str>, u32, FixedState>,
}

impl<'a> Values<'a> {
    fn with_capacity(n: usize) -> Values<'a> {
        let mut values = Vec::with_capacity(n + 1);
        values.push(None);
        Values {
            values,
            ids: HashMap::with_capacity_and_hasher(n, FixedState::default()),
        }
    }

    /// The id of `value`.
    fn intern(&mut self, value: Cow<'a, str>) -> u32 {
        if let Some(&id) = self.ids.get(value.as_ref()) {
            return id;
        }
        let id = self.values.len() as u32;
        self.values.push(Some(value.clone()));
        self.ids.insert(value, id);
        id
    }

    fn intern_str(&mut self, value: &'a str) -> u32 {
        self.intern(Cow::Borrowed(value))
    }

    /// The value with id `id`.
    pub(super) fn get(&self, id: u32) -> Option<&str> {
        self.values[id as usize].as_deref()
    }
}

/// What a failed compare-and-set saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Seen {
    /// This value.
    Value(u32),
    /// Not reported: any value other than the expected one.
    Unknown,
}

/// One op, compiled against the key's interned values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// A read that returned this value (`None`: its result is unknown).
    Get(Option<u32>),
    /// A write of this value.
    Put(u32),
    /// An append of the suffix with this id.
    Append(u32),
    /// A compare-and-set, and what it returned (`None`: unknown).
    Cas {
        expected: u32,
        new: u32,
        result: Option<CasResult>,
    },
    /// An op whose result no state allows (a put answered `CasOk`).
    Never,
}

impl Step {
    /// The op never changes the value, whatever it is: a read, a failed
    /// compare-and-set, a compare-and-set of a value with itself.
    pub(super) fn read_only(self) -> bool {
        match self {
            Step::Get(_) | Step::Never => true,
            Step::Cas {
                expected,
                new,
                result,
            } => expected == new || matches!(result, Some(CasResult::Failed(_))),
            Step::Put(_) | Step::Append(_) => false,
        }
    }
}

/// A compare-and-set's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CasResult {
    Ok,
    Failed(Seen),
}

/// The register model of one key: its values and compiled ops.
pub(super) struct Model<'a> {
    pub(super) values: Values<'a>,
    /// The new value of append `(value, suffix)`, once computed.
    appended: HashMap<(u32, u32), u32, FixedState>,
}

impl<'a> Model<'a> {
    /// A model for a key with `ops` operations.
    pub(super) fn new(ops: usize) -> Model<'a> {
        Model {
            values: Values::with_capacity(ops),
            appended: HashMap::default(),
        }
    }

    /// Compiles `op` with its `result` (`None` if unknown; `Some(None)`
    /// for a failed compare-and-set whose current value is unknown is
    /// `cas_unknown`).
    pub(super) fn compile(
        &mut self,
        op: &'a Op,
        result: Option<&'a OpResult>,
        cas_unknown: bool,
    ) -> Step {
        let acked_ok = matches!(result, None | Some(OpResult::Ok));
        match op {
            Op::Get { .. } => match result {
                None => Step::Get(None),
                Some(OpResult::Value(v)) => Step::Get(Some(
                    v.as_deref().map_or(ABSENT, |s| self.values.intern_str(s)),
                )),
                Some(_) => Step::Never,
            },
            Op::Put { value, .. } if acked_ok => Step::Put(self.values.intern_str(value)),
            Op::Append { value, .. } if acked_ok => Step::Append(self.values.intern_str(value)),
            Op::Put { .. } | Op::Append { .. } => Step::Never,
            Op::Cas { expected, new, .. } => {
                let expected = expected
                    .as_deref()
                    .map_or(ABSENT, |s| self.values.intern_str(s));
                let new = self.values.intern_str(new);
                let result = match result {
                    None => None,
                    Some(OpResult::CasOk) => Some(CasResult::Ok),
                    Some(OpResult::CasFailed { .. }) if cas_unknown => {
                        Some(CasResult::Failed(Seen::Unknown))
                    }
                    Some(OpResult::CasFailed { current }) => {
                        let seen = current
                            .as_deref()
                            .map_or(ABSENT, |s| self.values.intern_str(s));
                        Some(CasResult::Failed(Seen::Value(seen)))
                    }
                    Some(_) => return Step::Never,
                };
                Step::Cas {
                    expected,
                    new,
                    result,
                }
            }
        }
    }

    /// Applies `step` to a register holding `value`: the value after it,
    /// or `None` if the op cannot have returned its result from `value`.
    ///
    /// Put sets and returns `Ok`; Get returns the current value; Append
    /// concatenates (absent counts as `""`) and returns `Ok`; Cas sets `new`
    /// and returns `CasOk` if the value equals `expected`, else returns
    /// `CasFailed` with the current value.
    #[inline]
    pub(super) fn step(&mut self, value: u32, step: Step) -> Option<u32> {
        match step {
            Step::Get(None) => Some(value),
            Step::Get(Some(read)) => (read == value).then_some(value),
            Step::Put(new) => Some(new),
            Step::Append(suffix) => Some(self.append(value, suffix)),
            Step::Cas {
                expected,
                new,
                result,
            } => {
                if value == expected {
                    matches!(result, None | Some(CasResult::Ok)).then_some(new)
                } else {
                    match result {
                        None | Some(CasResult::Failed(Seen::Unknown)) => Some(value),
                        Some(CasResult::Failed(Seen::Value(seen))) => {
                            (seen == value).then_some(value)
                        }
                        Some(CasResult::Ok) => None,
                    }
                }
            }
            Step::Never => None,
        }
    }

    fn append(&mut self, value: u32, suffix: u32) -> u32 {
        if let Some(&id) = self.appended.get(&(value, suffix)) {
            return id;
        }
        let mut s = self.values.get(value).unwrap_or("").to_owned();
        s.push_str(self.values.get(suffix).unwrap_or(""));
        let id = self.values.intern(Cow::Owned(s));
        self.appended.insert((value, suffix), id);
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(v: &str) -> Op {
        Op::Put {
            key: "k".into(),
            value: v.into(),
        }
    }

    /// Runs `op` with `result` from the string `value` through the model.
    fn step<'a>(
        m: &mut Model<'a>,
        value: Option<&'a str>,
        op: &'a Op,
        result: Option<&'a OpResult>,
    ) -> Option<Option<String>> {
        let from = value.map_or(ABSENT, |s| m.values.intern_str(s));
        let compiled = m.compile(op, result, false);
        m.step(from, compiled)
            .map(|id| m.values.get(id).map(str::to_owned))
    }

    #[test]
    fn model_follows_the_kv_semantics() {
        let (put_a, get) = (put("a"), Op::Get { key: "k".into() });
        let append = Op::Append {
            key: "k".into(),
            value: "b".into(),
        };
        let cas = Op::Cas {
            key: "k".into(),
            expected: Some("a".into()),
            new: "c".into(),
        };
        let (ok, cas_ok) = (OpResult::Ok, OpResult::CasOk);
        let read_a = OpResult::Value(Some("a".into()));
        let read_none = OpResult::Value(None);
        let failed_a = OpResult::CasFailed {
            current: Some("a".into()),
        };
        let failed_x = OpResult::CasFailed {
            current: Some("x".into()),
        };
        let m = &mut Model::new(8);
        let some = |s: &str| Some(Some(s.to_owned()));
        assert_eq!(step(m, None, &put_a, Some(&ok)), some("a"));
        assert_eq!(step(m, None, &put_a, Some(&cas_ok)), None);
        assert_eq!(step(m, Some("a"), &get, Some(&read_a)), some("a"));
        assert_eq!(step(m, None, &get, Some(&read_a)), None);
        assert_eq!(step(m, None, &get, Some(&read_none)), Some(None));
        assert_eq!(step(m, None, &append, Some(&ok)), some("b"));
        assert_eq!(step(m, Some("a"), &append, None), some("ab"));
        assert_eq!(step(m, Some("a"), &append, None), some("ab"), "remembered");
        assert_eq!(step(m, Some("a"), &cas, Some(&cas_ok)), some("c"));
        assert_eq!(step(m, Some("a"), &cas, Some(&failed_a)), None);
        assert_eq!(step(m, Some("x"), &cas, Some(&failed_x)), some("x"));
        assert_eq!(step(m, Some("y"), &cas, Some(&failed_x)), None);
        assert_eq!(step(m, Some("x"), &cas, Some(&cas_ok)), None);
        assert_eq!(step(m, Some("x"), &cas, None), some("x"));
        // A failure whose current value is unknown: any value but the
        // expected one.
        let unknown = m.compile(&cas, Some(&failed_x), true);
        let (a, y) = (m.values.intern_str("a"), m.values.intern_str("y"));
        assert_eq!(m.step(y, unknown), Some(y));
        assert_eq!(m.step(ABSENT, unknown), Some(ABSENT));
        assert_eq!(m.step(a, unknown), None);
    }
}
