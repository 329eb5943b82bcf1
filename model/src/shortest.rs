//! Shortest counterexamples: a second, breadth-first search for the states
//! that violate an `always` property, once a check has found that one does.
//!
//! Stateright keeps the last violating state its threads reach, not the
//! first: every later state that still violates the property (the
//! violation's own successors, mostly) replaces the discovery, so a path
//! found at depth 5 can be reported with 10 steps, and cutting it at its
//! first violating state still leaves the detour that led there. Here one
//! thread visits states in order of depth, each reached first along a
//! shortest path (a state is recorded at its first generation, and every
//! state of depth `d` is generated before any of depth `d + 1`), so the
//! first violating state visited ends a shortest counterexample.

use stateright::Model;
use std::collections::hash_map::{DefaultHasher, Entry};
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};

/// What the search is allowed: its depth and how many distinct states it
/// may record before it gives up and leaves the first check's paths as
/// they are.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Longest path searched, in actions: the longest path being shortened.
    pub depth: usize,
    /// Distinct states recorded at most (memory: one state per entry of
    /// the queue, a fingerprint and an action per state seen).
    pub states: usize,
}

/// An `always` property to find a counterexample to: its name, and its
/// condition (stateright's `Property::condition`).
pub type Target<M> = (&'static str, fn(&M, &<M as Model>::State) -> bool);

/// For each `(name, condition)`, a shortest action path from an initial
/// state of `model` to a state within its boundary where `condition` is
/// false, or nothing for that name if none exists within `limits` (the
/// caller keeps what it had). Deterministic: the order of `init_states` and
/// `actions` decides between paths of the same length.
pub fn counterexamples<M>(
    model: &M,
    targets: &[Target<M>],
    limits: Limits,
) -> Vec<(&'static str, Vec<M::Action>)>
where
    M: Model,
    M::State: Hash,
    M::Action: Clone,
{
    let mut found: Vec<(&'static str, Vec<M::Action>)> = Vec::new();
    // Each state seen: how it was first reached (`None` for an initial
    // state). A 64-bit fingerprint, as stateright's own, stands for it.
    let mut seen: HashMap<u64, Option<(u64, M::Action)>> = HashMap::new();
    let mut queue: VecDeque<(M::State, u64, usize)> = VecDeque::new();
    for state in model.init_states() {
        let fp = fingerprint(&state);
        if let Entry::Vacant(e) = seen.entry(fp) {
            e.insert(None);
            queue.push_back((state, fp, 0));
        }
    }
    let mut actions = Vec::new();
    while let Some((state, fp, depth)) = queue.pop_front() {
        for (name, condition) in targets {
            if !found.iter().any(|(n, _)| n == name) && !condition(model, &state) {
                found.push((name, path_to(&seen, fp)));
            }
        }
        if found.len() == targets.len() {
            break;
        }
        if depth >= limits.depth {
            continue;
        }
        model.actions(&state, &mut actions);
        for action in actions.drain(..) {
            let Some(next) = model.next_state(&state, action.clone()) else {
                continue;
            };
            if !model.within_boundary(&next) {
                continue;
            }
            let next_fp = fingerprint(&next);
            if let Entry::Vacant(e) = seen.entry(next_fp) {
                e.insert(Some((fp, action)));
                queue.push_back((next, next_fp, depth + 1));
            }
        }
        if seen.len() > limits.states {
            break;
        }
    }
    found
}

/// The actions from an initial state to the state `fp`, by the first
/// generation of each state on the way.
fn path_to<A: Clone>(seen: &HashMap<u64, Option<(u64, A)>>, mut fp: u64) -> Vec<A> {
    let mut path = Vec::new();
    while let Some(Some((parent, action))) = seen.get(&fp) {
        path.push(action.clone());
        fp = *parent;
    }
    path.reverse();
    path
}

fn fingerprint<T: Hash>(value: &T) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use stateright::Property;

    /// A counter from 0 that adds 1 or 3, up to 20.
    struct Counter;

    impl Model for Counter {
        type State = u8;
        type Action = u8;
        fn init_states(&self) -> Vec<u8> {
            vec![0]
        }
        fn actions(&self, _: &u8, actions: &mut Vec<u8>) {
            actions.extend([1, 3]);
        }
        fn next_state(&self, state: &u8, add: u8) -> Option<u8> {
            Some(state + add)
        }
        fn within_boundary(&self, state: &u8) -> bool {
            *state <= 20
        }
        fn properties(&self) -> Vec<Property<Self>> {
            vec![Property::always("never 7", |_, s| *s != 7)]
        }
    }

    fn not_seven(_: &Counter, s: &u8) -> bool {
        *s != 7
    }

    fn not_nineteen(_: &Counter, s: &u8) -> bool {
        *s != 19
    }

    #[test]
    fn finds_a_shortest_path_to_each_violation() {
        let limits = Limits {
            depth: 10,
            states: 1000,
        };
        let found = counterexamples(
            &Counter,
            &[("never 7", not_seven), ("never 19", not_nineteen)],
            limits,
        );
        // 7 = 3 + 3 + 1 in three steps, 19 = 3 * 6 + 1 in seven; the
        // actions are tried in order, so ties go to the first.
        assert_eq!(
            found,
            vec![
                ("never 7", vec![1, 3, 3]),
                ("never 19", vec![1, 3, 3, 3, 3, 3, 3])
            ]
        );
    }

    #[test]
    fn gives_up_past_its_limits() {
        let shallow = Limits {
            depth: 2,
            states: 1000,
        };
        assert!(counterexamples(&Counter, &[("never 7", not_seven)], shallow).is_empty());
        let small = Limits {
            depth: 10,
            states: 3,
        };
        assert!(counterexamples(&Counter, &[("never 7", not_seven)], small).is_empty());
    }

    /// From 0, a step of 1 or a jump to 100; then steps of 1, up to 110.
    /// The property fails at 2 (two steps) and from 105 on (six or more).
    struct Corridor;

    impl Model for Corridor {
        type State = u8;
        type Action = u8;
        fn init_states(&self) -> Vec<u8> {
            vec![0]
        }
        fn actions(&self, state: &u8, actions: &mut Vec<u8>) {
            actions.push(1);
            if *state == 0 {
                actions.push(100);
            }
        }
        fn next_state(&self, state: &u8, add: u8) -> Option<u8> {
            Some(state + add)
        }
        fn within_boundary(&self, state: &u8) -> bool {
            *state <= 110
        }
        fn properties(&self) -> Vec<Property<Self>> {
            // A property that holds keeps the search going after the
            // first violation, as the vault model's many do.
            vec![
                Property::always("never 2, nor past 104", |_, s| *s != 2 && *s < 105),
                Property::always("holds", |_, _| true),
            ]
        }
    }

    #[test]
    fn shortens_what_the_checker_reports() {
        // Stateright's search keeps the last violating state it visits
        // (110, eleven steps down the corridor), whose path first violates
        // at 105, six steps in; the shortest counterexample is two steps.
        let report = crate::run::check(Corridor, &crate::run::Budget::bfs(12));
        let path = report.verdicts[0].path.clone().expect("violated");
        assert_eq!(path, vec![1, 1]);
    }
}
