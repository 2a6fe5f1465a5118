//! The arguments of one script directive, parsed into something the harness
//! can ask for by name, with an error (never a panic) for anything malformed.
//!
//! `datadriven` hands arguments over as a map from name to values: a bare
//! word (`tick 1`, `quiet`) is a name with no values, `n=3` a name with one
//! value and `a=(1,2)` a name with several. Bare words lose their order, so a
//! directive takes at most one positional argument (a node id, `leader` or
//! `all`) and everything else by name. This module owns that convention; it
//! must never look at the cluster.

use std::collections::BTreeMap;
use std::str::FromStr;

/// A result whose error is a message for the script's author.
pub type Res<T> = Result<T, String>;

/// What a directive names a node by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A node id.
    Id(u64),
    /// The live leader of the highest term.
    Leader,
    /// Every live node (only where a directive allows it).
    All,
}

/// The arguments of one directive, taken one by one; [`Args::finish`]
/// rejects whatever was not taken.
#[derive(Debug)]
pub struct Args {
    directive: String,
    /// Bare words, sorted (their order in the line is lost).
    bare: Vec<String>,
    /// `name=value` and `name=(v1,v2)` arguments.
    named: BTreeMap<String, Vec<String>>,
}

impl Args {
    /// Splits `datadriven`'s argument map into bare words and named values.
    pub fn new<I>(directive: &str, args: I) -> Args
    where
        I: IntoIterator<Item = (String, Vec<String>)>,
    {
        let mut bare = Vec::new();
        let mut named = BTreeMap::new();
        for (name, values) in args {
            if values.is_empty() {
                bare.push(name);
            } else {
                named.insert(name, values);
            }
        }
        bare.sort();
        Args {
            directive: directive.to_string(),
            bare,
            named,
        }
    }

    /// The positional node argument: a number, `leader`, or (if `allow_all`)
    /// `all`. `None` if there is none.
    pub fn take_target(&mut self, allow_all: bool) -> Res<Option<Target>> {
        let is_target =
            |w: &str| w.parse::<u64>().is_ok() || w == "leader" || (allow_all && w == "all");
        let found: Vec<String> = self.bare.iter().filter(|w| is_target(w)).cloned().collect();
        if found.len() > 1 {
            return Err(format!(
                "{} takes one node, got {}",
                self.directive,
                found.join(" ")
            ));
        }
        let Some(word) = found.into_iter().next() else {
            return Ok(None);
        };
        self.bare.retain(|w| *w != word);
        Ok(Some(match word.as_str() {
            "leader" => Target::Leader,
            "all" => Target::All,
            n => Target::Id(n.parse().map_err(|e| format!("node id {n}: {e}"))?),
        }))
    }

    /// Like [`Args::take_target`], but the node is required.
    pub fn need_target(&mut self, allow_all: bool) -> Res<Target> {
        let what = if allow_all {
            "a node id, `leader` or `all`"
        } else {
            "a node id or `leader`"
        };
        self.take_target(allow_all)?
            .ok_or_else(|| format!("{} needs {what}", self.directive))
    }

    /// Whether the bare word `name` is present (and takes it).
    pub fn flag(&mut self, name: &str) -> bool {
        let before = self.bare.len();
        self.bare.retain(|w| w != name);
        self.bare.len() != before
    }

    /// The single value of `name=value`, parsed.
    pub fn take<T: FromStr>(&mut self, name: &str) -> Res<Option<T>>
    where
        T::Err: std::fmt::Display,
    {
        let Some(values) = self.named.remove(name) else {
            return Ok(None);
        };
        let [value] = values.as_slice() else {
            return Err(format!("{name} takes one value, got {values:?}"));
        };
        value
            .parse()
            .map(Some)
            .map_err(|e| format!("{name}={value}: {e}"))
    }

    /// `name=on` / `name=off`.
    pub fn take_on_off(&mut self, name: &str) -> Res<Option<bool>> {
        match self.take::<String>(name)?.as_deref() {
            None => Ok(None),
            Some("on") => Ok(Some(true)),
            Some("off") => Ok(Some(false)),
            Some(other) => Err(format!("{name} must be on or off, not {other}")),
        }
    }

    /// The values of `name=(v1,v2,...)` (or `name=v`).
    pub fn take_list(&mut self, name: &str) -> Option<Vec<String>> {
        self.named.remove(name)
    }

    /// Every remaining named argument (for directives whose argument names
    /// are labels, like `partition`), in name order.
    pub fn take_all_named(&mut self) -> BTreeMap<String, Vec<String>> {
        std::mem::take(&mut self.named)
    }

    /// Fails if an argument was not taken (a typo must not pass silently).
    pub fn finish(self) -> Res<()> {
        let mut left: Vec<String> = self.bare;
        left.extend(self.named.keys().cloned());
        if left.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{}: unknown or repeated argument(s): {}",
                self.directive,
                left.join(" ")
            ))
        }
    }
}

/// Parses a node id written in a list (`partition a=(1,2)`).
pub fn parse_id(word: &str) -> Res<u64> {
    word.parse().map_err(|e| format!("node id {word}: {e}"))
}
