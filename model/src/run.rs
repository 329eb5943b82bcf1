//! Running a checker with bounds and budgets, and reporting what it found:
//! the one place the command line and the tests start searches from.

use crate::deadline::{Deadlined, Replay};
use stateright::{Checker, Expectation, HasDiscoveries, Model};
use std::fmt::Debug;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// Breadth-first or depth-first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Breadth-first: shortest counterexamples; keeps whole states (memory).
    Bfs,
    /// Depth-first: keeps fingerprints only; goes further per GB.
    Dfs,
}

/// How far and how long to search.
#[derive(Clone, Debug)]
pub struct Budget {
    /// Breadth- or depth-first.
    pub strategy: Strategy,
    /// Worker threads.
    pub threads: usize,
    /// Longest path checked, in actions (`None`: unbounded).
    pub depth: Option<usize>,
    /// Stop after about this many generated states.
    pub max_states: Option<usize>,
    /// Stop after this long.
    pub time: Option<Duration>,
    /// Stop as soon as one of these properties has a discovery (`None`:
    /// search until every property has one or the space is exhausted).
    pub stop_on: Option<Vec<&'static str>>,
    /// Print a progress line (states, unique, depth, seconds) on standard
    /// error this often while the search runs (`None`: silent).
    pub progress: Option<Duration>,
}

impl Budget {
    /// Breadth-first, one thread, paths of up to `depth` actions.
    pub fn bfs(depth: usize) -> Self {
        Budget {
            strategy: Strategy::Bfs,
            threads: 1,
            depth: Some(depth),
            max_states: None,
            time: None,
            stop_on: None,
            progress: None,
        }
    }

    /// Stop once `property` has a discovery.
    pub fn stop_on(mut self, property: &'static str) -> Self {
        self.stop_on = Some(vec![property]);
        self
    }
}

/// A property and what the search found for it.
#[derive(Clone, Debug)]
pub struct Verdict<A> {
    /// The property's name.
    pub name: &'static str,
    /// `always` or `sometimes`.
    pub expectation: Expectation,
    /// The path to the counterexample (always) or example (sometimes).
    pub path: Option<Vec<A>>,
}

impl<A> Verdict<A> {
    /// Whether this verdict is a failure: an `always` property with a
    /// counterexample.
    pub fn is_violation(&self) -> bool {
        self.path.is_some() && self.expectation != Expectation::Sometimes
    }

    /// A one-line verdict.
    pub fn summary(&self, complete: bool) -> String {
        let scope = if complete {
            "in every state within the bound"
        } else {
            "in every state explored (not the whole bound)"
        };
        match (&self.expectation, &self.path) {
            (Expectation::Sometimes, Some(p)) => format!("example found ({} steps)", p.len()),
            (Expectation::Sometimes, None) => "NO EXAMPLE: never happens within the bound".into(),
            (_, Some(p)) => format!("VIOLATED (counterexample of {} steps)", p.len()),
            (_, None) => format!("holds {scope}"),
        }
    }
}

/// What a search did and found.
#[derive(Clone, Debug)]
pub struct Report<A> {
    /// States generated, repeats included.
    pub states: usize,
    /// Distinct states.
    pub unique: usize,
    /// Deepest path explored, in actions.
    pub max_depth: usize,
    /// Wall time.
    pub elapsed: Duration,
    /// How much of the bounded space the search covered.
    pub coverage: Coverage,
    /// One verdict per property, in the model's order.
    pub verdicts: Vec<Verdict<A>>,
}

impl<A> Report<A> {
    /// States generated per second.
    pub fn states_per_second(&self) -> f64 {
        self.states as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The verdict for `name`.
    ///
    /// # Panics
    /// If the model has no such property.
    pub fn verdict(&self, name: &str) -> &Verdict<A> {
        self.verdicts
            .iter()
            .find(|v| v.name == name)
            .unwrap_or_else(|| panic!("no property {name:?}"))
    }

    /// The counterexample or example path for `name`, if found.
    pub fn path(&self, name: &str) -> Option<&Vec<A>> {
        self.verdict(name).path.as_ref()
    }

    /// Whether any `always` property was violated.
    pub fn has_violation(&self) -> bool {
        self.verdicts.iter().any(Verdict::is_violation)
    }

    /// What the search proved, as a whole (see [`Proved`]).
    pub fn proved(&self) -> Proved {
        if self.has_violation() {
            return Proved::Violated;
        }
        let mut missing: Vec<&'static str> = self
            .verdicts
            .iter()
            .filter(|v| matches!(v.expectation, Expectation::Sometimes) && v.path.is_none())
            .map(|v| v.name)
            .collect();
        if self.coverage != Coverage::Exhaustive || !missing.is_empty() {
            missing.sort_unstable();
            return Proved::Inconclusive {
                coverage: self.coverage,
                missing_examples: missing,
            };
        }
        Proved::Holds
    }

    /// Whether every state within the bound was explored and checked.
    pub fn exhaustive(&self) -> bool {
        self.coverage == Coverage::Exhaustive
    }
}

/// How much of the bounded space a search covered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coverage {
    /// Every state within the bound was explored and checked.
    Exhaustive,
    /// A budget (time or states) or a discovery asked for (`stop_on`)
    /// ended the search first.
    StoppedEarly,
    /// The search ran to its end, but not in breadth-first order (depth
    /// first, or several threads, each with its own queue), and its depth
    /// cap cut states, or may have (several threads' deepest is not
    /// reported reliably). Stateright marks a state seen when it first reaches
    /// it: one first reached on a long path and cut there is not explored
    /// again when a shorter path reaches it, so states within the bound may
    /// never have been checked. Only breadth-first search on one thread
    /// reaches every state first by a shortest path.
    CutOutOfOrder,
}

impl Coverage {
    /// Why a search with this coverage proved nothing; `None` if exhaustive.
    pub fn shortfall(self) -> Option<&'static str> {
        match self {
            Coverage::Exhaustive => None,
            Coverage::StoppedEarly => Some("a budget stopped the search before the bound"),
            Coverage::CutOutOfOrder => Some(
                "a depth-first or multi-threaded search was cut at its depth (a state \
                 first reached on a longer path and cut there is never expanded from a \
                 shorter one; breadth-first search on one thread proves the bound)",
            ),
        }
    }
}

/// Progress lines on standard error while a search runs (stateright's
/// `report`), without its end-of-run dump of discoveries: the caller prints
/// counterexamples in its own readable form.
struct Progress {
    every: Duration,
    /// When the last "searching" line was printed (time since the start).
    printed: Duration,
    /// Switched on at the search's end: stateright's `report` then rebuilds
    /// each discovery's path, replaying actions that a passed deadline
    /// would otherwise withhold (a run stopped by `--time-budget` that had
    /// found an example panicked there).
    replay: Replay,
}

impl Progress {
    fn new(every: Duration, replay: Replay) -> Self {
        Progress {
            every,
            printed: Duration::ZERO,
            replay,
        }
    }
}

impl<M: Model> stateright::report::Reporter<M> for Progress {
    fn report_checking(&mut self, data: stateright::report::ReportData) {
        if data.done {
            self.replay.start();
        }
        if !data.done && data.duration < self.printed + self.every {
            return;
        }
        self.printed = data.duration;
        eprintln!(
            "check: {} {} states, {} unique, depth {}, {} s",
            if data.done { "done:" } else { "searching:" },
            data.total_states,
            data.unique_states,
            data.max_depth.saturating_sub(1),
            data.duration.as_secs()
        );
    }

    fn report_discoveries(
        &mut self,
        _: &M,
        _: std::collections::BTreeMap<&'static str, stateright::report::ReportDiscovery<M>>,
    ) where
        M::Action: Debug + PartialEq,
        M::State: Debug + Hash + PartialEq,
    {
    }

    /// How long stateright sleeps between looks at the search: it notices
    /// the end only at a look, so this is short and `every` only spaces
    /// the lines (a sleep of `every` made each search last a multiple of it).
    fn delay(&self) -> Duration {
        self.every.min(Duration::from_millis(20))
    }
}

/// What a search proved. Only [`Proved::Holds`] is a pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Proved {
    /// The bounded space was explored exhaustively, every `always`
    /// property holds in every state of it, and every `sometimes` property
    /// has an example.
    Holds,
    /// Nothing was violated in what was explored, but nothing was proved
    /// either: a budget stopped the search before the bound, or some
    /// `sometimes` property has no example (the bound does not reach what
    /// it is about, so the `always` properties held vacuously there).
    Inconclusive {
        /// How much of the bound the search covered: not exhaustive, or an
        /// example is missing.
        coverage: Coverage,
        /// The `sometimes` properties without an example, by name.
        missing_examples: Vec<&'static str>,
    },
    /// Some property is violated: its verdict holds the counterexample.
    Violated,
}

/// Runs `model` within `budget`.
pub fn check<M>(model: M, budget: &Budget) -> Report<M::Action>
where
    M: Model + Send + Sync + 'static,
    M::State: Hash + Send + Sync + Clone + PartialEq + Debug + 'static,
    M::Action: Clone + PartialEq + Debug,
{
    let properties: Vec<_> = model
        .properties()
        .iter()
        .map(|p| (p.name, p.expectation.clone()))
        .collect();
    let start = Instant::now();
    // Stateright's own timeout (below) stops workers only between batches;
    // the deadline stops a search on one thread too (`deadline.rs`).
    let model = Deadlined::new(model, budget.time.map(|t| start + t));
    let replay = model.replay_handle();
    let mut builder = model.checker().threads(budget.threads.max(1));
    if let Some(depth) = budget.depth {
        // Stateright counts the initial state as depth 1 and neither checks
        // nor expands states at the target depth: paths of `depth` actions
        // end at depth `depth + 1`, which must still be checked.
        builder = builder.target_max_depth(depth + 2);
    }
    if let Some(n) = budget.max_states {
        builder = builder.target_state_count(n);
    }
    if let Some(t) = budget.time {
        builder = builder.timeout(t);
    }
    if let Some(names) = &budget.stop_on {
        builder = builder.finish_when(HasDiscoveries::AnyOf(names.iter().copied().collect()));
    }
    let (states, unique, raw_depth, discoveries) = match (budget.strategy, budget.progress) {
        (Strategy::Bfs, None) => finish(builder.spawn_bfs().join()),
        (Strategy::Dfs, None) => finish(builder.spawn_dfs().join()),
        (Strategy::Bfs, Some(every)) => finish(
            builder
                .spawn_bfs()
                .report(&mut Progress::new(every, replay.clone()))
                .join(),
        ),
        (Strategy::Dfs, Some(every)) => finish(
            builder
                .spawn_dfs()
                .report(&mut Progress::new(every, replay.clone()))
                .join(),
        ),
    };
    let elapsed = start.elapsed();
    let found_stop = budget.stop_on.as_ref().is_some_and(|names| {
        names
            .iter()
            .any(|n| discoveries.iter().any(|(d, _)| d == n))
    });
    let stopped_early = found_stop
        || budget.time.is_some_and(|t| elapsed >= t)
        || budget.max_states.is_some_and(|n| states >= n);
    // Stateright skips the states it reaches at the target depth (`depth +
    // 2` in its count). On one thread the deepest it saw is there only if
    // it cut one; several threads update that figure with a relaxed
    // compare-and-swap that can lose a thread's deeper value, so it is no
    // evidence that nothing was cut.
    let may_have_cut = budget
        .depth
        .is_some_and(|d| budget.threads > 1 || raw_depth >= d + 2);
    let breadth_first_order = budget.strategy == Strategy::Bfs && budget.threads <= 1;
    let coverage = if stopped_early {
        Coverage::StoppedEarly
    } else if may_have_cut && !breadth_first_order {
        Coverage::CutOutOfOrder
    } else {
        Coverage::Exhaustive
    };
    let verdicts = properties
        .into_iter()
        .map(|(name, expectation)| Verdict {
            name,
            expectation,
            path: discoveries
                .iter()
                .find(|(d, _)| *d == name)
                .map(|(_, p)| p.clone()),
        })
        .collect();
    Report {
        states,
        unique,
        // Stateright's depth counts states from 1; ours counts actions, and
        // states at the cap are generated but not checked.
        max_depth: budget.depth.map_or(raw_depth.saturating_sub(1), |d| {
            raw_depth.saturating_sub(1).min(d)
        }),
        elapsed,
        coverage,
        verdicts,
    }
}

type Found<A> = Vec<(&'static str, Vec<A>)>;

/// What a finished search found, its paths replayed with every action
/// whatever the deadline.
fn finish<M, K>(checker: K) -> (usize, usize, usize, Found<M::Action>)
where
    M: Model,
    M::State: Clone + PartialEq + Hash,
    M::Action: Clone + PartialEq,
    K: Checker<Deadlined<M>>,
{
    checker.model().replay();
    collect(checker)
}

fn collect<M, K>(checker: K) -> (usize, usize, usize, Found<M::Action>)
where
    M: Model,
    M::State: Clone + PartialEq + Hash,
    M::Action: Clone + PartialEq,
    K: Checker<M>,
{
    let model = checker.model();
    let properties = model.properties();
    let discoveries = checker
        .discoveries()
        .into_iter()
        .map(|(name, path)| {
            // Several threads, or later states that still violate, may
            // have replaced the first discovery: cut the path at the first
            // state where the property is decided.
            let property = properties.iter().find(|p| p.name == name);
            let steps = path.into_vec();
            let cut = property.and_then(|p| {
                steps.iter().position(|(state, _)| {
                    let holds = (p.condition)(model, state);
                    if p.expectation == Expectation::Sometimes {
                        holds
                    } else {
                        !holds
                    }
                })
            });
            let actions: Vec<M::Action> = steps.into_iter().filter_map(|(_, a)| a).collect();
            let len = cut.unwrap_or(actions.len()).min(actions.len());
            (name, actions[..len].to_vec())
        })
        .collect();
    let discoveries = shorten(model, &properties, discoveries);
    (
        checker.state_count(),
        checker.unique_state_count(),
        checker.max_depth(),
        discoveries,
    )
}

/// The distinct states the search for shortest counterexamples may record
/// before it gives up and leaves the paths as found (memory: the states of
/// a breadth-first frontier, held whole).
const SHORTEST_STATES: usize = 100_000;

/// Replaces each `always` property's counterexample with a shortest one
/// (`shortest::counterexamples`, no deeper than the path found), so that a
/// report shows the violation without the detour a search thread happened
/// to take to it. A path that search does not improve on is kept.
fn shorten<M>(
    model: &M,
    properties: &[stateright::Property<M>],
    mut found: Found<M::Action>,
) -> Found<M::Action>
where
    M: Model,
    M::State: Hash,
    M::Action: Clone,
{
    let targets: Vec<_> = properties
        .iter()
        .filter(|p| p.expectation == Expectation::Always)
        .filter(|p| found.iter().any(|(n, path)| *n == p.name && path.len() > 1))
        .map(|p| (p.name, p.condition))
        .collect();
    let Some(depth) = found
        .iter()
        .filter(|(n, _)| targets.iter().any(|(t, _)| t == n))
        .map(|(_, path)| path.len())
        .max()
    else {
        return found;
    };
    let limits = crate::shortest::Limits {
        depth,
        states: SHORTEST_STATES,
    };
    for (name, shorter) in crate::shortest::counterexamples(model, &targets, limits) {
        if let Some((_, path)) = found.iter_mut().find(|(n, _)| *n == name) {
            if shorter.len() < path.len() {
                *path = shorter;
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(name: &'static str, expectation: Expectation, path: bool) -> Verdict<u8> {
        Verdict {
            name,
            expectation,
            path: path.then(|| vec![1, 2]),
        }
    }

    fn report(stopped_early: bool, verdicts: Vec<Verdict<u8>>) -> Report<u8> {
        Report {
            states: 10,
            unique: 5,
            max_depth: 2,
            elapsed: Duration::from_millis(1),
            coverage: if stopped_early {
                Coverage::StoppedEarly
            } else {
                Coverage::Exhaustive
            },
            verdicts,
        }
    }

    #[test]
    fn only_an_exhaustive_search_with_every_example_proves() {
        let holds = verdict("A", Expectation::Always, false);
        let found = verdict("S", Expectation::Sometimes, true);
        let missing = verdict("M", Expectation::Sometimes, false);
        let broken = verdict("B", Expectation::Always, true);
        assert_eq!(
            report(false, vec![holds.clone(), found.clone()]).proved(),
            Proved::Holds
        );
        assert_eq!(
            report(true, vec![holds.clone(), found.clone()]).proved(),
            Proved::Inconclusive {
                coverage: Coverage::StoppedEarly,
                missing_examples: vec![],
            }
        );
        assert_eq!(
            report(false, vec![holds.clone(), missing.clone()]).proved(),
            Proved::Inconclusive {
                coverage: Coverage::Exhaustive,
                missing_examples: vec!["M"],
            }
        );
        // A violation wins over everything else.
        assert_eq!(
            report(true, vec![missing, broken, holds]).proved(),
            Proved::Violated
        );
    }

    /// From 0, a detour (1, then 3) or a shortcut (2) to 4, and from 4 the
    /// state 5 that breaks the property: three steps away by the shortcut,
    /// four by the detour.
    struct Detour;

    impl Model for Detour {
        type State = u8;
        type Action = u8;
        fn init_states(&self) -> Vec<u8> {
            vec![0]
        }
        fn actions(&self, state: &u8, actions: &mut Vec<u8>) {
            match state {
                // Depth-first search expands the last successor first.
                0 => actions.extend([2, 1]),
                1 => actions.push(3),
                2 | 3 => actions.push(4),
                4 => actions.push(5),
                _ => {}
            }
        }
        fn next_state(&self, _: &u8, to: u8) -> Option<u8> {
            Some(to)
        }
        fn properties(&self) -> Vec<stateright::Property<Self>> {
            vec![stateright::Property::always("never 5", |_, s| *s != 5)]
        }
    }

    #[test]
    fn a_depth_capped_search_out_of_breadth_first_order_proves_nothing() {
        // Breadth-first on one thread reaches 4 by the shortcut first and
        // finds 5 within three steps.
        let bfs = check(Detour, &Budget::bfs(3));
        assert_eq!(bfs.proved(), Proved::Violated);
        assert_eq!(bfs.path("never 5"), Some(&vec![2, 4, 5]));
        // Depth-first takes the detour: it reaches 4 in three steps, cuts 5
        // there, and never expands 4 again when the shortcut reaches it.
        // Nothing is violated in what it saw, and that must not read as a
        // proof.
        let dfs = Budget {
            strategy: Strategy::Dfs,
            ..Budget::bfs(3)
        };
        let r = check(Detour, &dfs);
        assert!(!r.has_violation(), "{:?}", r.verdicts);
        assert_eq!(r.coverage, Coverage::CutOutOfOrder);
        assert!(matches!(r.proved(), Proved::Inconclusive { .. }));
        // With room to spare, depth-first on one thread cuts nothing and
        // finds 5.
        let deep = Budget {
            strategy: Strategy::Dfs,
            ..Budget::bfs(4)
        };
        assert_eq!(check(Detour, &deep).proved(), Proved::Violated);
        // Several threads keep a queue each, so their order is not
        // breadth-first either, and the deepest they report is unreliable:
        // a depth cap makes any such search unproven.
        let two = Budget {
            threads: 2,
            ..Budget::bfs(2)
        };
        assert_eq!(check(Detour, &two).coverage, Coverage::CutOutOfOrder);
        // Without a depth cap, every order explores the whole space.
        let uncapped = Budget {
            strategy: Strategy::Dfs,
            depth: None,
            threads: 2,
            ..Budget::bfs(0)
        };
        assert_eq!(check(Detour, &uncapped).proved(), Proved::Violated);
    }

    /// Counting up from 0 by one or two, for ever: a space without end,
    /// where 5 breaks a property.
    struct Endless;

    impl Model for Endless {
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
        fn properties(&self) -> Vec<stateright::Property<Self>> {
            vec![
                stateright::Property::always("never 5", |_, s| *s != 5),
                // Holds everywhere, so the search goes on after 5.
                stateright::Property::always("counts", |_, _| true),
            ]
        }
    }

    /// A time budget ends a search whatever its order and threads. On one
    /// thread, stateright's own timeout never did: its workers look at it
    /// only when their queue is empty, which in a space without end is
    /// never (`deadline.rs`). The search runs on its own thread here, so
    /// that a search the budget does not stop fails the test instead of
    /// hanging it.
    #[test]
    fn a_time_budget_ends_a_search_of_a_space_without_end() {
        let runs = [(Strategy::Dfs, 1), (Strategy::Bfs, 1), (Strategy::Dfs, 2)];
        // With progress lines too, as `check run` prints them: stateright's
        // reporter rebuilds the paths itself as the search ends.
        let progress = [None, Some(Duration::from_millis(50))];
        for ((strategy, threads), progress) in
            runs.into_iter().flat_map(|r| progress.map(|p| (r, p)))
        {
            let budget = Budget {
                strategy,
                threads,
                depth: None,
                time: Some(Duration::from_millis(200)),
                progress,
                ..Budget::bfs(0)
            };
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let _ = tx.send(check(Endless, &budget));
            });
            let r = rx
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|e| {
                    panic!("a {strategy:?} search on {threads} thread(s), progress {progress:?}: {e} (it panicked, or ran on past its budget)")
                });
            assert_eq!(r.coverage, Coverage::StoppedEarly);
            assert!(r.unique > 5);
            // What it found before the budget ran out is reported, its path
            // replayed with every action although the deadline has passed.
            let path = r.verdicts[0].path.as_ref().expect("5 is reached");
            assert_eq!(path.iter().sum::<u64>(), 5, "{path:?}");
            assert_eq!(r.proved(), Proved::Violated);
        }
    }
}
