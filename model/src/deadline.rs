//! A model under a wall-clock deadline: what makes `--time-budget` stop a
//! search when it says, and not when the search ends on its own.
//!
//! Stateright's `timeout` closes the job market a worker takes batches from,
//! and a worker looks at the market only when its own queue is empty. On one
//! thread that queue empties only when the whole space is explored (a
//! depth-first queue refills from its own successors; a breadth-first one
//! holds the whole frontier), so the progress report said "done" at the
//! budget while the search ran on to its end: a one-thread depth-first run
//! of the vault model with `--time-budget 10s` still ran two minutes later.
//! [`Deadlined`] wraps the model so that, once the deadline has passed, no
//! state has successors: every worker drains what it holds (each state is
//! still checked against every property) and stops.
//!
//! Why this is sound: the run is reported as stopped by its budget
//! (`Coverage::StoppedEarly`, nothing proved) whenever the deadline passed,
//! so states left unexpanded are never counted as explored. States checked
//! while draining are real states of the model, so a violation found there
//! is real. No property of these models is an `eventually` property, the
//! only kind stateright judges at states without successors; [`Deadlined`]
//! refuses to wrap one.

use stateright::{Expectation, Model, Property};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// The most properties a wrapped model may have (one trampoline each).
pub const MAX_PROPERTIES: usize = 64;

/// `M`, whose states have no successors once `deadline` has passed while
/// the search runs. See the module documentation.
pub struct Deadlined<M: Model> {
    inner: M,
    properties: Vec<Property<M>>,
    deadline: Option<Instant>,
    /// Set once the search is over: paths are then replayed (to build
    /// counterexamples) with every action, whatever the time. Shared with
    /// whoever learns first that the search is over ([`Replay`]).
    replaying: Arc<AtomicBool>,
}

/// A handle that switches a [`Deadlined`] model to replaying, for a party
/// that learns the search is over before the model's owner does:
/// stateright's `report` rebuilds every discovery's path as soon as the
/// search ends, before it hands the checker back.
#[derive(Clone, Debug)]
pub struct Replay(Arc<AtomicBool>);

impl Replay {
    /// The search is over: from now on every state has its successors.
    pub fn start(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl<M: Model> Deadlined<M> {
    /// Wraps `inner`; `deadline` `None` changes nothing.
    ///
    /// # Panics
    /// If `inner` has more than [`MAX_PROPERTIES`] properties, or an
    /// `eventually` property (a programming error in a model, not input).
    pub fn new(inner: M, deadline: Option<Instant>) -> Self {
        let properties = inner.properties();
        assert!(
            properties.len() <= MAX_PROPERTIES,
            "a model with {} properties: raise deadline::MAX_PROPERTIES",
            properties.len()
        );
        assert!(
            properties
                .iter()
                .all(|p| p.expectation != Expectation::Eventually),
            "an eventually property is judged at states without successors, which a deadline makes"
        );
        Deadlined {
            inner,
            properties,
            deadline,
            replaying: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The search is over: from now on every state has its successors.
    pub fn replay(&self) {
        self.replaying.store(true, Ordering::Relaxed);
    }

    /// A handle that does what [`Deadlined::replay`] does, for a reporter.
    pub fn replay_handle(&self) -> Replay {
        Replay(Arc::clone(&self.replaying))
    }

    fn past_deadline(&self) -> bool {
        !self.replaying.load(Ordering::Relaxed)
            && self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

/// Property `I` of the wrapped model, as a property of the wrapper:
/// stateright's conditions are plain `fn` pointers, so each index needs a
/// function of its own.
fn held<M: Model, const I: usize>(model: &Deadlined<M>, state: &M::State) -> bool {
    (model.properties[I].condition)(&model.inner, state)
}

macro_rules! trampolines {
    ($($i:literal)*) => {
        fn trampolines<M: Model>() -> [fn(&Deadlined<M>, &M::State) -> bool; MAX_PROPERTIES] {
            [$(held::<M, $i>),*]
        }
    };
}

trampolines!(
    0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31
    32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61
    62 63
);

impl<M: Model> Model for Deadlined<M> {
    type State = M::State;
    type Action = M::Action;

    fn init_states(&self) -> Vec<Self::State> {
        self.inner.init_states()
    }

    fn actions(&self, state: &Self::State, actions: &mut Vec<Self::Action>) {
        if !self.past_deadline() {
            self.inner.actions(state, actions);
        }
    }

    fn next_state(&self, last: &Self::State, action: Self::Action) -> Option<Self::State> {
        self.inner.next_state(last, action)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        let conditions = trampolines::<M>();
        self.properties
            .iter()
            .zip(conditions)
            .map(|(p, condition)| Property {
                expectation: p.expectation.clone(),
                name: p.name,
                condition,
            })
            .collect()
    }

    fn within_boundary(&self, state: &Self::State) -> bool {
        self.inner.within_boundary(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Counting up from 0 by one or two, up to 10; "never 3" is violated,
    /// "reaches 7" has an example.
    struct Count;

    impl Model for Count {
        type State = u64;
        type Action = u64;
        fn init_states(&self) -> Vec<u64> {
            vec![0]
        }
        fn actions(&self, _: &u64, actions: &mut Vec<u64>) {
            actions.extend([1, 2]);
        }
        fn next_state(&self, s: &u64, a: u64) -> Option<u64> {
            Some(s + a)
        }
        fn properties(&self) -> Vec<Property<Self>> {
            vec![
                Property::always("never 3", |_, s| *s != 3),
                Property::sometimes("reaches 7", |_, s| *s == 7),
            ]
        }
        fn within_boundary(&self, s: &u64) -> bool {
            *s <= 10
        }
    }

    #[test]
    fn the_wrapper_keeps_every_property_and_action_before_the_deadline() {
        let m = Deadlined::new(Count, None);
        let props = m.properties();
        assert_eq!(props.len(), 2);
        assert!(!(props[0].condition)(&m, &3));
        assert!((props[0].condition)(&m, &4));
        assert!((props[1].condition)(&m, &7));
        let mut actions = Vec::new();
        m.actions(&0, &mut actions);
        assert_eq!(actions, vec![1, 2]);
        assert!(m.within_boundary(&10));
        assert!(!m.within_boundary(&11));
    }

    #[test]
    fn past_the_deadline_no_state_has_successors_until_the_replay() {
        let m = Deadlined::new(Count, Some(Instant::now() - Duration::from_secs(1)));
        let mut actions = Vec::new();
        m.actions(&0, &mut actions);
        assert!(actions.is_empty());
        m.replay();
        m.actions(&0, &mut actions);
        assert_eq!(actions, vec![1, 2]);
    }
}
