//! The order jobs may start in: a job is ready once every job it needs has succeeded, at most
//! `limit` run at once, and among ready jobs the one with the highest `priority` goes first,
//! the first in the file on a tie. A service counts as succeeded for what needs it once it is
//! ready, and from then on no longer takes a place among the `limit`. Pure bookkeeping; starting processes is the caller's
//! business.

/// How a finished job counts for the jobs that need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Succeeded,
    /// Failed, timed out, cancelled or skipped: its dependents are skipped.
    NotSucceeded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Waiting,
    /// Started by us, or run by someone else (not ours to start) and not finished yet.
    Running,
    /// A service that is ready: it runs on, and what needs it may start.
    Serving,
    Done(Outcome),
}

#[derive(Debug)]
pub(crate) struct Schedule {
    needs: Vec<Vec<usize>>,
    priority: Vec<i64>,
    slots: Vec<Slot>,
    ours: Vec<bool>,
    limit: usize,
    running: usize,
}

impl Schedule {
    /// `ours[i]` says whether job `i` is started through [`Schedule::next`]; the others are
    /// run elsewhere and only reported with [`Schedule::finish`].
    pub(crate) fn new(
        needs: Vec<Vec<usize>>,
        priority: Vec<i64>,
        ours: Vec<bool>,
        limit: usize,
    ) -> Self {
        let slots = ours
            .iter()
            .map(|&mine| if mine { Slot::Waiting } else { Slot::Running })
            .collect();
        Self {
            needs,
            priority,
            slots,
            ours,
            limit: limit.max(1),
            running: 0,
        }
    }

    /// The next job to start now, if any; it is marked running.
    pub(crate) fn next(&mut self) -> Option<usize> {
        if self.running >= self.limit {
            return None;
        }
        let ready = (0..self.slots.len())
            .filter(|&i| {
                self.slots[i] == Slot::Waiting
                    && self.needs[i].iter().all(|&n| {
                        matches!(
                            self.slots[n],
                            Slot::Serving | Slot::Done(Outcome::Succeeded)
                        )
                    })
            })
            // The highest priority; among equals, the first in the file.
            .max_by_key(|&i| (self.priority[i], std::cmp::Reverse(i)))?;
        self.slots[ready] = Slot::Running;
        self.running += 1;
        Some(ready)
    }

    /// Job `i`, handed out by [`Schedule::next`], did not start after all: it waits again.
    pub(crate) fn unstart(&mut self, i: usize) {
        if self.slots[i] == Slot::Running && self.ours[i] {
            self.slots[i] = Slot::Waiting;
            self.running -= 1;
        }
    }

    /// At most `limit` jobs (at least one) run at once from now on.
    pub(crate) fn set_limit(&mut self, limit: usize) {
        self.limit = limit.max(1);
    }

    /// Service `i` is ready: what needs it may start, and it leaves its place to another job.
    pub(crate) fn serve(&mut self, i: usize) {
        if self.slots[i] == Slot::Running {
            if self.ours[i] {
                self.running -= 1;
            }
            self.slots[i] = Slot::Serving;
        }
    }

    /// Records that job `i` finished. Returns the jobs now skipped because of it (directly or
    /// through another skipped job), each with the need that did not succeed. A service that
    /// ends after it was ready skips nothing: what needed it has started already.
    pub(crate) fn finish(&mut self, i: usize, outcome: Outcome) -> Vec<(usize, usize)> {
        if self.slots[i] == Slot::Running && self.ours[i] {
            self.running -= 1;
        }
        let outcome = if self.slots[i] == Slot::Serving {
            Outcome::Succeeded
        } else {
            outcome
        };
        self.slots[i] = Slot::Done(outcome);
        let mut skipped = Vec::new();
        if outcome == Outcome::NotSucceeded {
            self.skip_dependents(i, &mut skipped);
        }
        skipped
    }

    fn skip_dependents(&mut self, failed: usize, skipped: &mut Vec<(usize, usize)>) {
        for j in 0..self.slots.len() {
            if self.slots[j] == Slot::Waiting && self.needs[j].contains(&failed) {
                self.slots[j] = Slot::Done(Outcome::NotSucceeded);
                skipped.push((j, failed));
                self.skip_dependents(j, skipped);
            }
        }
    }

    /// Stops everything that has not started: returns those jobs.
    pub(crate) fn stop(&mut self) -> Vec<usize> {
        let waiting: Vec<usize> = (0..self.slots.len())
            .filter(|&i| self.slots[i] == Slot::Waiting)
            .collect();
        for &i in &waiting {
            self.slots[i] = Slot::Done(Outcome::NotSucceeded);
        }
        waiting
    }

    /// Whether job `i` has finished (or will never start).
    pub(crate) fn is_settled(&self, i: usize) -> bool {
        matches!(self.slots[i], Slot::Done(_))
    }

    /// Whether no job of ours is waiting or running.
    pub(crate) fn is_done(&self) -> bool {
        (0..self.slots.len()).all(|i| !self.ours[i] || matches!(self.slots[i], Slot::Done(_)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(schedule: &mut Schedule) -> Vec<usize> {
        std::iter::from_fn(|| schedule.next()).collect()
    }

    #[test]
    fn a_diamond_runs_its_middle_in_parallel() {
        // a → {b, c} → d
        let mut s = Schedule::new(
            vec![vec![], vec![0], vec![0], vec![1, 2]],
            vec![0; 4],
            vec![true; 4],
            8,
        );
        assert_eq!(drain(&mut s), [0]);
        s.finish(0, Outcome::Succeeded);
        assert_eq!(drain(&mut s), [1, 2]);
        s.finish(1, Outcome::Succeeded);
        assert_eq!(drain(&mut s), Vec::<usize>::new());
        s.finish(2, Outcome::Succeeded);
        assert_eq!(drain(&mut s), [3]);
        s.finish(3, Outcome::Succeeded);
        assert!(s.is_done());
    }

    #[test]
    fn a_limit_of_one_keeps_file_order() {
        let mut s = Schedule::new(vec![vec![1], vec![], vec![]], vec![0; 3], vec![true; 3], 1);
        assert_eq!(drain(&mut s), [1]);
        s.finish(1, Outcome::Succeeded);
        assert_eq!(drain(&mut s), [0]);
        s.finish(0, Outcome::Succeeded);
        assert_eq!(drain(&mut s), [2]);
    }

    #[test]
    fn a_higher_priority_starts_first_and_ties_keep_file_order() {
        let mut s = Schedule::new(vec![vec![]; 4], vec![0, 5, 0, 5], vec![true; 4], 1);
        let mut order = Vec::new();
        while let Some(i) = s.next() {
            order.push(i);
            s.finish(i, Outcome::Succeeded);
        }
        assert_eq!(order, [1, 3, 0, 2]);
    }

    #[test]
    fn a_failure_skips_everything_downstream() {
        let mut s = Schedule::new(
            vec![vec![], vec![0], vec![1], vec![]],
            vec![0; 4],
            vec![true; 4],
            8,
        );
        assert_eq!(drain(&mut s), [0, 3]);
        assert_eq!(s.finish(0, Outcome::NotSucceeded), [(1, 0), (2, 1)]);
        s.finish(3, Outcome::Succeeded);
        assert!(s.is_done());
    }

    #[test]
    fn a_ready_service_lets_its_dependents_start_and_leaves_its_place() {
        // 0 is a service; 1 needs it; 2 waits for a place (one at a time).
        let mut s = Schedule::new(vec![vec![], vec![0], vec![]], vec![0; 3], vec![true; 3], 1);
        assert_eq!(drain(&mut s), [0]);
        s.serve(0);
        assert_eq!(drain(&mut s), [1]);
        s.finish(1, Outcome::Succeeded);
        assert_eq!(drain(&mut s), [2]);
        s.finish(2, Outcome::Succeeded);
        assert!(!s.is_done(), "the service still runs");
        // It dies later: nothing that needed it is undone, and the schedule is done.
        assert_eq!(s.finish(0, Outcome::NotSucceeded), []);
        assert!(s.is_done());
    }

    #[test]
    fn jobs_run_elsewhere_gate_ours() {
        // 0 is synchronous (run by the hook), 1 is a background job that needs it.
        let mut s = Schedule::new(vec![vec![], vec![0]], vec![0; 2], vec![false, true], 8);
        assert_eq!(drain(&mut s), Vec::<usize>::new());
        assert!(!s.is_done());
        s.finish(0, Outcome::Succeeded);
        assert_eq!(drain(&mut s), [1]);
    }
}
