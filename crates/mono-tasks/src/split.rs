//! Splitting a task graph across CI machines ("shards"), balanced by each task's expected
//! time (docs/ci.md, "The balance algorithm").
//!
//! The model: `shards` machines, each running up to `concurrency` tasks at once; a task
//! starts when its dependencies have finished, and one that depends on a task of another
//! shard also waits `transfer_ms` (the upload, the poll, the download). The aim is the
//! shortest longest shard (makespan). Two candidates are computed and the better kept:
//!
//! 1. **Whole components.** The weakly-connected components of the graph, largest first,
//!    each to the least-loaded shard (LPT). Nothing crosses shards, so nothing waits for
//!    another machine. Kept when its makespan is within 5% of the second's.
//! 2. **List scheduling.** Tasks in order of their bottom level (the longest path from the
//!    task to the end of the graph, its own time included; the critical path first), each
//!    placed on the shard where it can start earliest, counting the transfer from
//!    dependencies on other shards; ties go to the shard that already holds most of its
//!    dependencies' time, so chains stay together unless splitting them saves time.
//!
//! Tasks marked [`SplitTask::keep_with_dependents`] (nothing another machine could take:
//! not cacheable) are placed on the shard of their dependents, in both candidates.
//!
//! Everything is a function of the input in its order: ties are broken by index, never by
//! hashing or time, so every machine computes the same split from the same input.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// What a dependency on another shard's task adds in the model, in milliseconds: the
/// producer's upload, the waiter's poll delay and its download and restore. Measured by
/// bench/shard_balance.py against a cache server on loopback (1,000 artifacts of 15 KB:
/// upload 39 ms median, 75 ms p90; fetch 16/29 ms; restore 3/12 ms) plus half the 100 ms
/// poll of a task that is due: about 110 ms median, 170 ms at p90, rounded up to leave room
/// for a remote across a network (docs/ci.md, "The cost of a transfer").
pub const TRANSFER_MS: u64 = 200;

/// One task to place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SplitTask {
    /// Its expected time on a shard, in milliseconds (0 for a cache hit).
    pub cost_ms: u64,
    /// Indices of the tasks it depends on.
    pub dependencies: Vec<usize>,
    /// Its result cannot be taken from another shard: it goes where its dependents go.
    pub keep_with_dependents: bool,
}

/// The machines and what crossing between them costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitOptions {
    /// How many shards (at least 1).
    pub shards: usize,
    /// Tasks that run at once on one shard (at least 1).
    pub concurrency: usize,
    /// What a dependency on another shard's task adds before the task can start.
    pub transfer_ms: u64,
}

/// Which candidate a split came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitStrategy {
    /// Whole weakly-connected components per shard.
    Components,
    /// List scheduling by bottom level.
    ListScheduling,
}

/// One shard of a split.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShardEstimate {
    /// Its tasks (indices), in the order of their simulated start.
    pub tasks: Vec<usize>,
    /// When its last task is expected to end, waits for other shards included.
    pub end_ms: u64,
    /// The sum of its tasks' times.
    pub busy_ms: u64,
}

/// Where each task goes, and the simulated schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// The shard (0-based) of each task.
    pub shard_of: Vec<usize>,
    /// The simulated start of each task.
    pub start_ms: Vec<u64>,
    /// Each shard.
    pub shards: Vec<ShardEstimate>,
    /// The sum of every task's time.
    pub total_ms: u64,
    /// The longest chain of dependent tasks, by time.
    pub longest_chain_ms: u64,
    /// No split can end sooner: max(total / (shards × concurrency), longest chain).
    pub lower_bound_ms: u64,
    /// A bound that also counts the first wait of the shards that have no task to start
    /// with (a task that can start at once: no dependency, or only hits): they wait at
    /// least for the shortest such task and one transfer. At least
    /// [`Split::lower_bound_ms`].
    pub lower_bound_with_transfers_ms: u64,
    /// The candidate kept.
    pub strategy: SplitStrategy,
}

impl Split {
    /// The longest shard's expected time.
    pub fn makespan_ms(&self) -> u64 {
        self.shards.iter().map(|s| s.end_ms).max().unwrap_or(0)
    }
}

/// Splits `tasks` (an acyclic graph; dependency indices in range) across
/// `options.shards` shards.
pub fn split(tasks: &[SplitTask], options: &SplitOptions) -> Split {
    let shards = options.shards.max(1);
    let concurrency = options.concurrency.max(1);
    let n = tasks.len();
    let mut dependents = vec![Vec::new(); n];
    for (index, task) in tasks.iter().enumerate() {
        for &dependency in &task.dependencies {
            dependents[dependency].push(index);
        }
    }
    let order = topological_order(tasks, &dependents);
    // The bottom level: the task's time plus the longest path below it, each edge counted
    // as a transfer (which it may become): deep chains start first, so their waits for
    // other shards hide behind other work.
    let mut bottom = vec![0u64; n];
    for &index in order.iter().rev() {
        let edge = match tasks[index].cost_ms {
            0 => 0,
            _ => options.transfer_ms,
        };
        let below = dependents[index]
            .iter()
            .map(|&d| bottom[d] + edge)
            .max()
            .unwrap_or(0);
        bottom[index] = tasks[index].cost_ms + below;
    }
    // The longest chain ending at each task, from the top.
    let mut top = vec![0u64; n];
    for &index in &order {
        let above = tasks[index]
            .dependencies
            .iter()
            .map(|&d| top[d])
            .max()
            .unwrap_or(0);
        top[index] = above + tasks[index].cost_ms;
    }
    let total_ms: u64 = tasks.iter().map(|t| t.cost_ms).sum();
    let longest_chain_ms = top.iter().copied().max().unwrap_or(0);
    let capacity = (shards * concurrency) as u64;
    let lower_bound_ms = total_ms.div_ceil(capacity).max(longest_chain_ms);
    // The tasks that can start at time 0: those whose dependencies are all hits (cost 0)
    // that can start at 0 themselves. A shard given none of them waits at least for the
    // shortest to end and one transfer.
    let mut at_zero = vec![false; n];
    for &index in &order {
        at_zero[index] = tasks[index]
            .dependencies
            .iter()
            .all(|&d| at_zero[d] && tasks[d].cost_ms == 0);
    }
    let sources: Vec<u64> = (0..n)
        .filter(|&i| at_zero[i] && tasks[i].cost_ms > 0)
        .map(|i| tasks[i].cost_ms)
        .collect();
    let first_wait = match sources.iter().min() {
        Some(&shortest) => shortest + options.transfer_ms,
        None => 0,
    };
    let idle_slots = (shards - shards.min(sources.len())) * concurrency;
    let lower_bound_with_transfers_ms = (total_ms + idle_slots as u64 * first_wait)
        .div_ceil(capacity)
        .max(lower_bound_ms);

    // Tasks that must share a shard: a kept task with each of its dependents.
    let mut kept = UnionFind::new(n);
    for (index, task) in tasks.iter().enumerate() {
        if task.keep_with_dependents {
            for &dependent in &dependents[index] {
                kept.union(index, dependent);
            }
        }
    }
    let groups: Vec<usize> = (0..n).map(|i| kept.find(i)).collect();

    let schedule = Schedule {
        tasks,
        dependents: &dependents,
        bottom: &bottom,
        groups: &groups,
        shards,
        concurrency,
        transfer_ms: options.transfer_ms,
    };
    let listed = schedule.run(None);
    let mut chosen = (listed, SplitStrategy::ListScheduling);
    if let Some(fixed) = components_by_lpt(tasks, &dependents, shards) {
        let whole = schedule.run(Some(&fixed));
        let (listed, _) = &chosen;
        if whole.makespan() * 20 <= listed.makespan() * 21 {
            chosen = (whole, SplitStrategy::Components);
        }
    }
    let (simulated, strategy) = chosen;
    let mut estimates = vec![ShardEstimate::default(); shards];
    let mut by_start: Vec<usize> = (0..n).collect();
    let positions = positions(&order);
    by_start.sort_by_key(|&i| (simulated.start[i], positions[i]));
    for index in by_start {
        let shard = &mut estimates[simulated.shard[index]];
        shard.tasks.push(index);
        shard.busy_ms += tasks[index].cost_ms;
        shard.end_ms = shard
            .end_ms
            .max(simulated.start[index] + tasks[index].cost_ms);
    }
    Split {
        shard_of: simulated.shard,
        start_ms: simulated.start,
        shards: estimates,
        total_ms,
        longest_chain_ms,
        lower_bound_ms,
        lower_bound_with_transfers_ms,
        strategy,
    }
}

fn positions(order: &[usize]) -> Vec<usize> {
    let mut at = vec![0; order.len()];
    for (position, &index) in order.iter().enumerate() {
        at[index] = position;
    }
    at
}

/// Kahn's algorithm, lowest index first among the ready: deterministic.
fn topological_order(tasks: &[SplitTask], dependents: &[Vec<usize>]) -> Vec<usize> {
    let mut waiting: Vec<usize> = tasks.iter().map(|t| t.dependencies.len()).collect();
    let mut ready: BinaryHeap<Reverse<usize>> = (0..tasks.len())
        .filter(|&i| waiting[i] == 0)
        .map(Reverse)
        .collect();
    let mut order = Vec::with_capacity(tasks.len());
    while let Some(Reverse(index)) = ready.pop() {
        order.push(index);
        for &dependent in &dependents[index] {
            waiting[dependent] -= 1;
            if waiting[dependent] == 0 {
                ready.push(Reverse(dependent));
            }
        }
    }
    order
}

/// The components, heaviest first (ties: lowest first index), each to the least-loaded
/// shard. `None` when there is a single component (nothing to choose).
fn components_by_lpt(
    tasks: &[SplitTask],
    dependents: &[Vec<usize>],
    shards: usize,
) -> Option<Vec<usize>> {
    let n = tasks.len();
    let mut components = UnionFind::new(n);
    for (index, list) in dependents.iter().enumerate() {
        for &dependent in list {
            components.union(index, dependent);
        }
    }
    let mut members: std::collections::BTreeMap<usize, (u64, usize, Vec<usize>)> =
        std::collections::BTreeMap::new();
    for (index, task) in tasks.iter().enumerate() {
        let root = components.find(index);
        let entry = members.entry(root).or_insert((0, index, Vec::new()));
        entry.0 += task.cost_ms;
        entry.1 = entry.1.min(index);
        entry.2.push(index);
    }
    if members.len() < 2 {
        return None;
    }
    let mut list: Vec<(u64, usize, Vec<usize>)> = members.into_values().collect();
    list.sort_by_key(|(cost, first, _)| (Reverse(*cost), *first));
    let mut load = vec![0u64; shards];
    let mut fixed = vec![0usize; n];
    for (cost, _, indices) in list {
        let shard = (0..shards)
            .min_by_key(|&s| (load[s], s))
            .expect("at least one shard");
        load[shard] += cost;
        for index in indices {
            fixed[index] = shard;
        }
    }
    Some(fixed)
}

struct Schedule<'a> {
    tasks: &'a [SplitTask],
    dependents: &'a [Vec<usize>],
    bottom: &'a [u64],
    groups: &'a [usize],
    shards: usize,
    concurrency: usize,
    transfer_ms: u64,
}

struct Simulated {
    shard: Vec<usize>,
    start: Vec<u64>,
    end: Vec<u64>,
}

impl Simulated {
    fn makespan(&self) -> u64 {
        self.end.iter().copied().max().unwrap_or(0)
    }
}

impl Schedule<'_> {
    /// When `task`'s inputs are on shard `s`: its dependencies' ends, plus the transfer for
    /// those that ran elsewhere (a hit is in the cache already: no transfer).
    fn available(&self, task: usize, s: usize, shard: &[usize], end: &[u64]) -> u64 {
        self.tasks[task]
            .dependencies
            .iter()
            .map(|&d| {
                let crosses = shard[d] != s && self.tasks[d].cost_ms > 0;
                end[d] + if crosses { self.transfer_ms } else { 0 }
            })
            .max()
            .unwrap_or(0)
    }

    /// List scheduling in time: whenever a slot of a shard is free, it takes the task with
    /// the highest bottom level among those whose inputs are there by then (so a slot
    /// never idles while another task could run); a task that several shards could take
    /// goes to the one holding most of its dependencies' time. With `fixed`, each task's
    /// shard is given and only the order is decided.
    fn run(&self, fixed: Option<&[usize]>) -> Simulated {
        let n = self.tasks.len();
        let mut slots = vec![vec![0u64; self.concurrency]; self.shards];
        let mut shard = vec![usize::MAX; n];
        let mut start = vec![0u64; n];
        let mut end = vec![0u64; n];
        let mut group_shard: std::collections::HashMap<usize, usize> =
            std::collections::HashMap::new();
        let mut waiting: Vec<usize> = self.tasks.iter().map(|t| t.dependencies.len()).collect();
        // Tasks whose dependencies are all placed (their ends known), by index, with when
        // their inputs are on each shard and how much of their dependencies' time each holds.
        let mut ready: std::collections::BTreeSet<(Reverse<u64>, usize)> =
            std::collections::BTreeSet::new();
        let mut available = vec![Vec::new(); n];
        let mut affinity = vec![Vec::new(); n];
        let prepare = |task: usize,
                       shard: &[usize],
                       end: &[u64],
                       available: &mut Vec<Vec<u64>>,
                       affinity: &mut Vec<Vec<u64>>| {
            available[task] = (0..self.shards)
                .map(|s| self.available(task, s, shard, end))
                .collect();
            affinity[task] = (0..self.shards)
                .map(|s| {
                    self.tasks[task]
                        .dependencies
                        .iter()
                        .filter(|&&d| shard[d] == s)
                        .map(|&d| self.tasks[d].cost_ms + 1)
                        .sum()
                })
                .collect();
        };
        for task in (0..n).filter(|&i| waiting[i] == 0) {
            prepare(task, &shard, &end, &mut available, &mut affinity);
            ready.insert((Reverse(self.bottom[task]), task));
        }
        let allowed =
            |task: usize, group_shard: &std::collections::HashMap<usize, usize>| match fixed
                .map(|f| f[task])
                .or_else(|| group_shard.get(&self.groups[task]).copied())
            {
                Some(s) => s..s + 1,
                None => 0..self.shards,
            };
        let mut now = 0u64;
        let mut placed = 0;
        while placed < n {
            loop {
                // The best (task, shard) that can start now.
                let free: Vec<bool> = slots
                    .iter()
                    .map(|slots| slots.iter().any(|&free| free <= now))
                    .collect();
                if !free.contains(&true) {
                    break;
                }
                // Ready tasks in priority order: the first that can start somewhere now.
                let picked = ready.iter().find_map(|&(_, task)| {
                    allowed(task, &group_shard)
                        .filter(|&s| free[s] && available[task][s] <= now)
                        .max_by_key(|&s| (affinity[task][s], Reverse(s)))
                        .map(|s| (task, s))
                });
                let Some((task, s)) = picked else { break };
                let slot = slots[s]
                    .iter()
                    .position(|&free| free <= now)
                    .expect("a free slot");
                ready.remove(&(Reverse(self.bottom[task]), task));
                shard[task] = s;
                start[task] = now;
                end[task] = now + self.tasks[task].cost_ms;
                slots[s][slot] = end[task];
                group_shard.entry(self.groups[task]).or_insert(s);
                placed += 1;
                for &dependent in &self.dependents[task] {
                    waiting[dependent] -= 1;
                    if waiting[dependent] == 0 {
                        prepare(dependent, &shard, &end, &mut available, &mut affinity);
                        ready.insert((Reverse(self.bottom[dependent]), dependent));
                    }
                }
            }
            if placed == n {
                break;
            }
            // The next moment something changes: a slot frees, or inputs arrive.
            let mut next = u64::MAX;
            for free in slots.iter().flatten() {
                if *free > now {
                    next = next.min(*free);
                }
            }
            for &(_, task) in &ready {
                for s in allowed(task, &group_shard) {
                    let at = available[task][s];
                    if at > now {
                        next = next.min(at);
                    }
                }
            }
            debug_assert!(next != u64::MAX, "a task can always start later");
            now = next;
        }
        Simulated { shard, start, end }
    }
}

struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        Self {
            parent: (0..n).collect(),
        }
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    /// Joins two sets; the smaller root stays the root, so roots are deterministic.
    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        let (low, high) = (a.min(b), a.max(b));
        self.parent[high] = low;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(cost_ms: u64, dependencies: &[usize]) -> SplitTask {
        SplitTask {
            cost_ms,
            dependencies: dependencies.to_vec(),
            keep_with_dependents: false,
        }
    }

    fn options(shards: usize) -> SplitOptions {
        SplitOptions {
            shards,
            concurrency: 1,
            transfer_ms: 0,
        }
    }

    /// A small deterministic generator (xorshift), so the tests need no crate.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// A layered graph like a monorepo's `^build`: each task depends on up to three of
    /// the tasks before it.
    fn layered(n: usize, seed: u64) -> Vec<SplitTask> {
        let mut rng = Rng(seed);
        (0..n)
            .map(|i| {
                let cost = 200 + rng.next() % 1800;
                let mut deps: Vec<usize> = match i {
                    0 => Vec::new(),
                    _ => (0..rng.next() % 4)
                        .map(|_| (rng.next() as usize) % i)
                        .collect(),
                };
                deps.sort_unstable();
                deps.dedup();
                task(cost, &deps)
            })
            .collect()
    }

    #[test]
    fn independent_tasks_balance_to_the_lower_bound() {
        let tasks: Vec<SplitTask> = [5, 4, 3, 3, 2, 2, 1]
            .iter()
            .map(|&c| task(c, &[]))
            .collect();
        let split = split(&tasks, &options(2));
        assert_eq!(split.total_ms, 20);
        assert_eq!(split.lower_bound_ms, 10);
        assert_eq!(split.makespan_ms(), 10);
        let busy: Vec<u64> = split.shards.iter().map(|s| s.busy_ms).collect();
        assert_eq!(busy.iter().sum::<u64>(), 20);
    }

    #[test]
    fn a_long_chain_bounds_the_split() {
        // A chain of 3 × 10 and six independent tasks of 5.
        let mut tasks = vec![task(10, &[]), task(10, &[0]), task(10, &[1])];
        tasks.extend((0..6).map(|_| task(5, &[])));
        let split = split(&tasks, &options(3));
        assert_eq!(split.longest_chain_ms, 30);
        assert_eq!(split.lower_bound_ms, 30);
        assert_eq!(split.makespan_ms(), 30);
        // The chain stays on one shard.
        assert_eq!(split.shard_of[0], split.shard_of[1]);
        assert_eq!(split.shard_of[1], split.shard_of[2]);
    }

    #[test]
    fn chains_stay_together_when_it_costs_nothing() {
        // Two chains of equal weight, with a transfer cost: each on a shard of its own.
        let tasks = vec![
            task(10, &[]),
            task(10, &[0]),
            task(10, &[1]),
            task(10, &[]),
            task(10, &[3]),
            task(10, &[4]),
        ];
        let split = split(
            &tasks,
            &SplitOptions {
                shards: 2,
                concurrency: 1,
                transfer_ms: 5,
            },
        );
        assert_eq!(split.makespan_ms(), 30);
        assert_eq!(split.shard_of[0], split.shard_of[1]);
        assert_eq!(split.shard_of[1], split.shard_of[2]);
        assert_eq!(split.shard_of[3], split.shard_of[4]);
        assert_eq!(split.shard_of[4], split.shard_of[5]);
        assert_ne!(split.shard_of[0], split.shard_of[3]);
        assert_eq!(split.strategy, SplitStrategy::Components);
    }

    #[test]
    fn one_component_is_split_when_that_saves_time() {
        // A root and eight leaves of 10 under it: one component, split across 4 shards.
        let mut tasks = vec![task(1, &[])];
        tasks.extend((0..8).map(|_| task(10, &[0])));
        let split = split(&tasks, &options(4));
        assert_eq!(split.makespan_ms(), 21);
        assert_eq!(split.lower_bound_ms, 21);
        assert_eq!(split.strategy, SplitStrategy::ListScheduling);
        let used: std::collections::BTreeSet<usize> = split.shard_of.iter().copied().collect();
        assert_eq!(used.len(), 4);
    }

    #[test]
    fn a_waiting_shard_is_counted() {
        // b (shard A) waits for a, which runs on another shard when splitting pays.
        let tasks = vec![task(10, &[]), task(10, &[]), task(10, &[0, 1])];
        let split = split(
            &tasks,
            &SplitOptions {
                shards: 2,
                concurrency: 1,
                transfer_ms: 3,
            },
        );
        // The dependent starts after both and after one transfer.
        assert_eq!(split.start_ms[2], 13);
        assert_eq!(split.makespan_ms(), 23);
    }

    #[test]
    fn kept_tasks_go_with_their_dependents() {
        let mut tasks = vec![
            SplitTask {
                cost_ms: 5,
                dependencies: vec![],
                keep_with_dependents: true,
            },
            task(10, &[0]),
            task(10, &[0]),
        ];
        tasks.push(task(10, &[]));
        let split = split(&tasks, &options(3));
        assert_eq!(split.shard_of[0], split.shard_of[1]);
        assert_eq!(split.shard_of[0], split.shard_of[2]);
    }

    #[test]
    fn shards_without_a_start_wait_for_one_transfer() {
        // Everything depends on one root: three of four shards wait for it and a transfer.
        let mut tasks = vec![task(10, &[])];
        tasks.extend((0..40).map(|_| task(10, &[0])));
        let split = split(
            &tasks,
            &SplitOptions {
                shards: 4,
                concurrency: 1,
                transfer_ms: 20,
            },
        );
        assert_eq!(split.lower_bound_ms, 103);
        // (410 + 3 × (10 + 20)) / 4
        assert_eq!(split.lower_bound_with_transfers_ms, 125);
        assert!(split.makespan_ms() >= split.lower_bound_with_transfers_ms);
        assert!(split.makespan_ms() <= split.lower_bound_with_transfers_ms * 11 / 10);
    }

    #[test]
    fn hits_cost_nothing() {
        let tasks = vec![task(0, &[]), task(0, &[0]), task(10, &[1]), task(10, &[])];
        let split = split(&tasks, &options(2));
        assert_eq!(split.makespan_ms(), 10);
    }

    #[test]
    fn the_split_is_deterministic() {
        let tasks = layered(400, 7);
        let options = SplitOptions {
            shards: 4,
            concurrency: 2,
            transfer_ms: 100,
        };
        let first = split(&tasks, &options);
        for _ in 0..3 {
            assert_eq!(split(&tasks, &options), first);
        }
    }

    #[test]
    fn every_task_is_placed_once_and_after_its_dependencies() {
        let tasks = layered(300, 11);
        let options = SplitOptions {
            shards: 4,
            concurrency: 2,
            transfer_ms: 50,
        };
        let split = split(&tasks, &options);
        let mut seen = vec![0; tasks.len()];
        for shard in &split.shards {
            for &t in &shard.tasks {
                seen[t] += 1;
            }
        }
        assert!(seen.iter().all(|&c| c == 1));
        for (index, task) in tasks.iter().enumerate() {
            for &d in &task.dependencies {
                let cross = if split.shard_of[d] != split.shard_of[index] {
                    50
                } else {
                    0
                };
                assert!(split.start_ms[index] >= split.start_ms[d] + tasks[d].cost_ms + cross);
            }
        }
    }

    #[test]
    fn wide_graphs_are_within_ten_percent_of_the_lower_bound() {
        for seed in 1..6 {
            let tasks = layered(1000, seed);
            for shards in [2, 4, 8] {
                let split = split(
                    &tasks,
                    &SplitOptions {
                        shards,
                        concurrency: 1,
                        transfer_ms: 0,
                    },
                );
                let ratio = split.makespan_ms() as f64 / split.lower_bound_ms as f64;
                assert!(
                    ratio <= 1.10,
                    "seed {seed}, {shards} shards: {} vs lower bound {} ({ratio:.3})",
                    split.makespan_ms(),
                    split.lower_bound_ms
                );
            }
        }
    }
}
