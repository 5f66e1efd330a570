//! Exact client shares: walks a population of clients (the whole IPv4
//! space by address and the global IPv6 space by `/48`, or a client list)
//! through one or two compiled snapshots, and hands every piece of clients,
//! with the provider distribution each snapshot gives it, to a [`Sink`]
//! (`simulate` adds them up, `diff` computes what moves).
//!
//! It hides the three ways a piece is evaluated, each what `select` does:
//!
//! - a rule with one live target (or none: the built-in provider) answers
//!   every client of a location alike, and a `random` rule draws each query
//!   with its weights: the location's share of clients is multiplied by the
//!   exact probabilities, once per location (the rule depends only on the
//!   location: `select` of one address of the location says which);
//! - a `sticky` rule with several live targets hashes the client's subnet:
//!   every `/24` of IPv4 is picked with the engine's own sticky keys
//!   ([`sticky_client_key`], [`sticky_policy_key`]) and pick (decided
//!   without its logarithms where a bound allows: the `sticky` module), as
//!   `select` picks it: the shares the hash really produces, not the
//!   weights. Only the ranges of locations under such a rule are walked
//!   block by block; every other location is one piece of clients
//!   (unless the sink counts subnets: `diff`);
//! - IPv6 counts `/48` networks, each located and hashed by its network
//!   address; under a sticky rule, a range is evaluated on evenly spaced
//!   `/48`s (there are 2^45 of them in `2000::/3`): every sticky rule gets
//!   about [`V6_SAMPLES`], spread over its ranges in proportion to their
//!   size (at least [`V6_MIN_SAMPLES`] each), and the result is marked
//!   estimated where that is fewer than a range holds.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use steerage::Snapshot;
use steerage::engine::{sticky_client_key, sticky_policy_key, sticky_target_key};
use steerage::geo::LocationId;
use steerage::policy::{Policy, SelectionMode};

use crate::sticky::StickyPick;

/// About how many `/48`s the IPv6 walk evaluates per sticky rule, spread
/// over the rule's ranges in proportion to their size: a share estimated
/// from them is off by about `0.5 / sqrt(V6_SAMPLES)` (0.2 %) at most.
pub const V6_SAMPLES: f64 = 65_536.0;

/// The fewest `/48`s the IPv6 walk evaluates in a range under a sticky
/// rule (all of them when it holds fewer).
pub const V6_MIN_SAMPLES: u128 = 16;

/// The global unicast space `2000::/3`, where IPv6 clients are.
const V6_GLOBAL: (u128, u128) = (0x2000 << 112, (0x4000 << 112) - 1);

/// An address family of the space walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4, counted by address; sticky subnets are `/24`s.
    V4,
    /// IPv6 in `2000::/3`, counted by `/48`.
    V6,
}

impl Family {
    /// Bits below a block: `/24` blocks for IPv4, `/48` for IPv6.
    fn block_bits(self) -> u32 {
        match self {
            Self::V4 => 8,
            Self::V6 => 80,
        }
    }

    fn ip(self, bits: u128) -> IpAddr {
        match self {
            // The walk keeps IPv4 addresses below 2^32.
            Self::V4 => IpAddr::V4(Ipv4Addr::from(bits as u32)),
            Self::V6 => IpAddr::V6(Ipv6Addr::from(bits)),
        }
    }

    /// The clients in `[start, end]`: addresses for IPv4, `/48`s (possibly
    /// a fraction) for IPv6.
    fn weight(self, start: u128, end: u128) -> f64 {
        match self {
            // Below 2^32: a 64-bit conversion, cheaper than a 128-bit one.
            Self::V4 => (end - start) as u64 as f64 + 1.0,
            Self::V6 => ((end - start) as f64 + 1.0) / 2f64.powi(80),
        }
    }
}

/// The ranges of the address space over which every compared snapshot
/// locates alike, shared by every domain walked.
#[derive(Debug)]
pub struct Space<const K: usize> {
    v4: Vec<Piece<K>>,
    v6: Vec<Piece<K>>,
    cells_v4: Vec<Cell<K>>,
    cells_v6: Vec<Cell<K>>,
    /// The pieces of each cell, in address order.
    members_v4: Members,
    members_v6: Members,
    /// The clients of each family, summed once.
    totals: [f64; 2],
}

#[derive(Debug, Clone, Copy)]
struct Piece<const K: usize> {
    start: u128,
    end: u128,
    ids: [LocationId; K],
}

/// Every piece with the same locations, summed.
#[derive(Debug, Clone, Copy)]
struct Cell<const K: usize> {
    ids: [LocationId; K],
    weight: f64,
    /// The first address of one of its pieces.
    first: u128,
}

impl<const K: usize> Space<K> {
    fn from_pieces(v4: Vec<Piece<K>>, v6: Vec<Piece<K>>) -> Self {
        let (cells_v4, members_v4) = cells(&v4, Family::V4);
        let (cells_v6, members_v6) = cells(&v6, Family::V6);
        let totals = [
            cells_v4.iter().map(|c| c.weight).sum(),
            cells_v6.iter().map(|c| c.weight).sum(),
        ];
        Self {
            v4,
            v6,
            cells_v4,
            cells_v6,
            members_v4,
            members_v6,
            totals,
        }
    }

    fn pieces(&self, family: Family) -> &[Piece<K>] {
        match family {
            Family::V4 => &self.v4,
            Family::V6 => &self.v6,
        }
    }

    fn cells(&self, family: Family) -> &[Cell<K>] {
        match family {
            Family::V4 => &self.cells_v4,
            Family::V6 => &self.cells_v6,
        }
    }

    /// The cell of every piece of a family.
    fn cell_of(&self, family: Family) -> &[u32] {
        match family {
            Family::V4 => &self.members_v4.of,
            Family::V6 => &self.members_v6.of,
        }
    }

    /// The pieces of cell `cell` of a family, in address order.
    fn members(&self, family: Family, cell: usize) -> impl Iterator<Item = &Piece<K>> + '_ {
        let (members, pieces) = match family {
            Family::V4 => (&self.members_v4, &self.v4),
            Family::V6 => (&self.members_v6, &self.v6),
        };
        let (from, to) = (members.starts[cell], members.starts[cell + 1]);
        members.pieces[from as usize..to as usize]
            .iter()
            .map(|&p| &pieces[p as usize])
    }

    /// The clients of a family: 2^32 addresses, or 2^45 `/48`s.
    pub fn total(&self, family: Family) -> f64 {
        match family {
            Family::V4 => self.totals[0],
            Family::V6 => self.totals[1],
        }
    }
}

/// The pieces of every cell: `pieces[starts[c]..starts[c + 1]]` are cell
/// `c`'s, by index into the family's pieces, in address order.
#[derive(Debug, Default)]
struct Members {
    starts: Vec<u32>,
    pieces: Vec<u32>,
    /// The cell of every piece.
    of: Vec<u32>,
}

impl Members {
    /// From the cell of every piece (`of[piece]`), `cells` of them.
    fn new(of: Vec<u32>, cells: usize) -> Self {
        let mut starts = vec![0u32; cells + 1];
        for &c in &of {
            starts[c as usize + 1] += 1;
        }
        for c in 0..cells {
            starts[c + 1] += starts[c];
        }
        let mut next = starts.clone();
        let mut pieces = vec![0u32; of.len()];
        for (p, &c) in of.iter().enumerate() {
            // Fewer than 2^32 pieces: a location table's ranges are u32-indexed.
            pieces[next[c as usize] as usize] = p as u32;
            next[c as usize] += 1;
        }
        Self { starts, pieces, of }
    }
}

fn cells<const K: usize>(pieces: &[Piece<K>], family: Family) -> (Vec<Cell<K>>, Members) {
    // Location ids are small (hundreds in real data): the tuples index a
    // dense table when it is small enough, else a hash map.
    let n = pieces
        .iter()
        .flat_map(|p| p.ids)
        .map(|id| id.index() + 1)
        .max()
        .unwrap_or(1);
    let dense_size = (0..K).try_fold(1usize, |size, _| {
        size.checked_mul(n).filter(|&s| s <= DENSE_CELLS)
    });
    let mut dense: Vec<u32> = vec![u32::MAX; dense_size.unwrap_or(0)];
    let mut sparse: HashMap<[LocationId; K], usize> = HashMap::new();
    let mut out: Vec<Cell<K>> = Vec::new();
    let mut of: Vec<u32> = Vec::with_capacity(pieces.len());
    for p in pieces {
        let weight = family.weight(p.start, p.end);
        let slot = if dense_size.is_some() {
            let at = p.ids.iter().fold(0usize, |at, id| at * n + id.index());
            match dense[at] {
                u32::MAX => {
                    // At most DENSE_CELLS cells.
                    dense[at] = out.len() as u32;
                    None
                }
                i => Some(i as usize),
            }
        } else {
            match sparse.get(&p.ids) {
                Some(&i) => Some(i),
                None => {
                    sparse.insert(p.ids, out.len());
                    None
                }
            }
        };
        match slot {
            Some(i) => {
                out[i].weight += weight;
                of.push(i as u32);
            }
            None => {
                // Fewer cells than pieces.
                of.push(out.len() as u32);
                out.push(Cell {
                    ids: p.ids,
                    weight,
                    first: p.start,
                });
            }
        }
    }
    let members = Members::new(of, out.len());
    (out, members)
}

/// The largest dense table of location tuples [`cells`] uses (16 MiB).
const DENSE_CELLS: usize = 1 << 22;

fn v4_pieces(snapshot: &Snapshot) -> Vec<Piece<1>> {
    snapshot
        .locations()
        .ranges_v4()
        .map(|(s, e, id)| Piece {
            start: u128::from(u32::from(s)),
            end: u128::from(u32::from(e)),
            ids: [id],
        })
        .collect()
}

fn v6_pieces(snapshot: &Snapshot) -> Vec<Piece<1>> {
    let (low, high) = V6_GLOBAL;
    snapshot
        .locations()
        .ranges_v6()
        .filter_map(|(s, e, id)| {
            let (s, e) = (u128::from(s).max(low), u128::from(e).min(high));
            (s <= e).then_some(Piece {
                start: s,
                end: e,
                ids: [id],
            })
        })
        .collect()
}

/// Two covering range lists cut at every boundary of either.
fn zip(a: &[Piece<1>], b: &[Piece<1>]) -> Vec<Piece<2>> {
    let mut out: Vec<Piece<2>> = Vec::with_capacity(a.len().max(b.len()));
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let start = a[i].start.max(b[j].start);
        let end = a[i].end.min(b[j].end);
        let ids = [a[i].ids[0], b[j].ids[0]];
        match out.last_mut() {
            Some(last) if last.ids == ids && last.end.checked_add(1) == Some(start) => {
                last.end = end;
            }
            _ => out.push(Piece { start, end, ids }),
        }
        if a[i].end == end {
            i += 1;
        }
        if b[j].end == end {
            j += 1;
        }
    }
    out
}

impl Space<1> {
    /// The space as one snapshot locates it.
    pub fn new(snapshot: &Snapshot) -> Self {
        Self::from_pieces(v4_pieces(snapshot), v6_pieces(snapshot))
    }
}

impl Space<2> {
    /// The space cut where either snapshot's location changes (they differ
    /// where their custom lines do).
    pub fn zipped(old: &Snapshot, new: &Snapshot) -> Self {
        Self::from_pieces(
            zip(&v4_pieces(old), &v4_pieces(new)),
            zip(&v6_pieces(old), &v6_pieces(new)),
        )
    }
}

/// Provider names of one domain, interned.
#[derive(Debug, Default, Clone)]
pub struct Names {
    names: Vec<String>,
    index: HashMap<String, u16>,
}

impl Names {
    fn intern(&mut self, name: &str) -> u16 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        // A policy has far fewer than 65,536 providers; saturate regardless.
        let i = u16::try_from(self.names.len()).unwrap_or(u16::MAX);
        self.names.push(name.to_owned());
        self.index.insert(name.to_owned(), i);
        i
    }

    /// The names, by index.
    pub fn all(&self) -> &[String] {
        &self.names
    }
}

/// A row of the report: a rule and the line that matched (`None` for the
/// default rule and a disabled policy).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RowKey {
    /// The rule.
    pub rule: String,
    /// The line.
    pub line: Option<String>,
}

/// How a rule answers.
#[derive(Debug, Clone)]
enum Class {
    /// Always this provider.
    One(u16),
    /// A random pick with these probabilities.
    Split(Box<[(u16, f64)]>),
    /// A sticky pick: the engine's own pick over the rule's live targets,
    /// hashed with the policy's key as `select` hashes them.
    Sticky(StickyPick),
}

/// A distribution of one piece of clients over providers.
#[derive(Debug, Clone, Copy)]
pub enum Dist<'a> {
    /// All to one provider.
    One(u16),
    /// Split with these probabilities (summing to 1).
    Split(&'a [(u16, f64)]),
}

impl Dist<'_> {
    /// The probability of `provider`.
    pub fn of(&self, provider: u16) -> f64 {
        match *self {
            Self::One(p) => f64::from(u8::from(p == provider)),
            Self::Split(split) => split
                .iter()
                .filter(|(p, _)| *p == provider)
                .map(|(_, w)| *w)
                .sum(),
        }
    }

    /// Calls `f` for every provider with a positive probability.
    pub fn each(&self, mut f: impl FnMut(u16, f64)) {
        match *self {
            Self::One(p) => f(p, 1.0),
            Self::Split(split) => split.iter().for_each(|&(p, w)| f(p, w)),
        }
    }
}

/// One domain as one snapshot answers it: the rows and classes met so far,
/// cached by location.
#[derive(Debug)]
pub struct Evaluator<'s> {
    snapshot: &'s Snapshot,
    domain: &'s str,
    mode: SelectionMode,
    /// The policy's sticky key ([`sticky_policy_key`]).
    key: u64,
    rows: Vec<RowKey>,
    row_index: HashMap<RowKey, u32>,
    classes: Vec<Class>,
    class_index: HashMap<String, u32>,
    by_location: Vec<Option<(u32, u32)>>,
}

impl<'s> Evaluator<'s> {
    /// `policy` as `snapshot` (compiled from the set holding it) answers.
    pub fn new(snapshot: &'s Snapshot, policy: &'s Policy) -> Self {
        let domain = policy.domain().as_str();
        Self {
            snapshot,
            domain,
            mode: policy.mode(),
            key: sticky_policy_key(policy.seed(), domain),
            rows: Vec::new(),
            row_index: HashMap::new(),
            classes: Vec::new(),
            class_index: HashMap::new(),
            by_location: vec![None; snapshot.locations().locations().len()],
        }
    }

    /// The selection mode.
    pub fn mode(&self) -> SelectionMode {
        self.mode
    }

    /// The rows met, by index.
    pub fn rows(&self) -> &[RowKey] {
        &self.rows
    }

    /// The row and class of a client at `ip`.
    fn classify(&mut self, names: &mut Names, ip: IpAddr) -> (u32, u32) {
        let Some(decision) = self.snapshot.select(self.domain, ip) else {
            // Policies are made only for steered domains.
            return (0, 0);
        };
        let key = RowKey {
            rule: decision.rule().to_owned(),
            line: decision.line().map(ToString::to_string),
        };
        let row = match self.row_index.get(&key) {
            Some(&row) => row,
            None => {
                let row = u32::try_from(self.rows.len()).unwrap_or(u32::MAX);
                self.rows.push(key.clone());
                self.row_index.insert(key, row);
                row
            }
        };
        if let Some(&class) = self.class_index.get(decision.rule()) {
            return (row, class);
        }
        let provider = decision.provider().to_owned();
        let rule = decision.rule().to_owned();
        let class = self.class_of(names, ip, &provider);
        let index = u32::try_from(self.classes.len()).unwrap_or(u32::MAX);
        self.classes.push(class);
        self.class_index.insert(rule, index);
        (row, index)
    }

    /// How the rule answering `ip` picks: from `explain`'s weights of that
    /// rule (effective weights: a disabled provider's is 0).
    fn class_of(&self, names: &mut Names, ip: IpAddr, provider: &str) -> Class {
        let live: Vec<(String, f64)> = self
            .snapshot
            .explain(self.domain, ip)
            .map(|e| {
                e.weights
                    .into_iter()
                    .filter(|w| w.effective > 0)
                    .map(|w| (w.provider, f64::from(w.effective)))
                    .collect()
            })
            .unwrap_or_default();
        match live.as_slice() {
            // Nothing live: the built-in provider answers, as decided.
            [] => Class::One(names.intern(provider)),
            [(only, _)] => Class::One(names.intern(only)),
            many if self.mode == SelectionMode::Sticky => {
                // Weights are whole numbers up to 10,000 (explain's u16).
                let targets = many
                    .iter()
                    .map(|(p, w)| (names.intern(p), sticky_target_key(p), *w as u32));
                match StickyPick::new(targets) {
                    Some(pick) => Class::Sticky(pick),
                    None => Class::One(names.intern(provider)),
                }
            }
            many => {
                let total: f64 = many.iter().map(|(_, w)| w).sum();
                Class::Split(
                    many.iter()
                        .map(|(p, w)| (names.intern(p), w / total))
                        .collect(),
                )
            }
        }
    }

    /// Row and class of a location, `ip` one of its addresses.
    fn at_location(&mut self, names: &mut Names, id: LocationId, ip: IpAddr) -> (u32, u32) {
        if let Some(Some(cached)) = self.by_location.get(id.index()) {
            return *cached;
        }
        let found = self.classify(names, ip);
        if let Some(slot) = self.by_location.get_mut(id.index()) {
            *slot = Some(found);
        }
        found
    }

    fn is_sticky_class(&self, class: u32) -> bool {
        matches!(self.classes.get(class as usize), Some(Class::Sticky(_)))
    }

    /// The sticky pick of a class and the policy's key, for sticky classes.
    fn sticky_pick(&self, class: u32) -> Option<(&StickyPick, u64)> {
        match self.classes.get(class as usize) {
            Some(Class::Sticky(pick)) => Some((pick, self.key)),
            _ => None,
        }
    }

    /// The distribution of a client at `ip` whose rule has class `class`.
    fn dist(&self, class: u32, ip: IpAddr) -> Dist<'_> {
        match self.classes.get(class as usize) {
            Some(Class::One(p)) => Dist::One(*p),
            Some(Class::Split(split)) => Dist::Split(split),
            Some(Class::Sticky(pick)) => Dist::One(pick.pick(sticky_client_key(ip, self.key))),
            None => Dist::One(0),
        }
    }
}

/// Which clients a piece holds, for counting subnets that switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// The blocks (`/24` of IPv4, `/48` of IPv6) `first..=last` of a
    /// family; `sampled` when it stands for more blocks than it names.
    Blocks {
        /// The family.
        family: Family,
        /// The first block.
        first: u128,
        /// The last block.
        last: u128,
        /// Whether the piece is one sample standing for others.
        sampled: bool,
    },
    /// This many whole blocks of a family, none of them shared with
    /// another piece (they need no de-duplication when counted).
    Whole {
        /// The family.
        family: Family,
        /// How many blocks.
        blocks: u128,
    },
    /// All locations of a family with the same answer, summed: no subnet
    /// identity (random policies).
    Cell,
    /// Line `index` of a client list.
    Client(usize),
}

/// What a walk hands its pieces to.
pub trait Sink<const K: usize> {
    /// `weight` clients in `span`, answered by each snapshot with (row,
    /// distribution).
    fn add(&mut self, weight: f64, span: Span, answers: [(u32, Dist<'_>); K]);

    /// Whether the sink reads which subnets a piece holds ([`Span::Blocks`]
    /// of unhashed pieces, to count subnets): when not, a walk hands every
    /// location whose rule hashes nothing over as one [`Span::Cell`] and
    /// walks block by block only the ranges under a sticky rule.
    fn counts_subnets(&self) -> bool {
        true
    }
}

/// Whole blocks counted per answer: `(answer per evaluator, blocks)`, the
/// answer `u16::MAX` for an evaluator whose class hashes nothing.
type BlockCounts<const K: usize> = Vec<([u16; K], u128)>;

/// [`BlockCounts`] of several pieces, by their classes.
type ClassBlockCounts<const K: usize> = Vec<([(u32, u32); K], [u16; K], u128)>;

/// What a walk shares between its pieces.
struct Walk<'w, 'e, const K: usize, S> {
    policies: &'w [Evaluator<'e>; K],
    family: Family,
    sink: &'w mut S,
    /// The IPv6 clients of each sticky class, over which its samples are
    /// spread.
    sticky_clients: [HashMap<u32, f64>; K],
    /// Whole blocks of the pieces walked since the last flush.
    counts: ClassBlockCounts<K>,
    /// Whole blocks of the piece being walked.
    scratch: BlockCounts<K>,
    /// Whole blocks of the piece being walked per target position (fewer
    /// than 2^64: a piece walked block by block holds at most 2^24 blocks
    /// of IPv4, or [`V6_SAMPLES`] of IPv6).
    tally: Vec<u64>,
    estimated: bool,
}

/// Walks one family of the space for one domain through `K` snapshots
/// (`policies[k]` in `space`'s snapshot `k`). Returns whether a result is
/// estimated (sampled IPv6).
pub fn walk_space<const K: usize>(
    policies: &mut [Evaluator<'_>; K],
    names: &mut Names,
    space: &Space<K>,
    family: Family,
    sink: &mut impl Sink<K>,
) -> bool {
    let sticky = policies.iter().any(|p| p.mode == SelectionMode::Sticky);
    // The classes of every cell (every location tuple), computed once.
    let cells = space.cells(family);
    let classes: Vec<[(u32, u32); K]> = cells
        .iter()
        .map(|cell| {
            let ip = family.ip(cell.first);
            std::array::from_fn(|k| policies[k].at_location(names, cell.ids[k], ip))
        })
        .collect();
    let hashed = |c: &[(u32, u32); K]| (0..K).any(|k| policies[k].is_sticky_class(c[k].1));
    let mut walk = Walk {
        policies,
        family,
        sink,
        sticky_clients: std::array::from_fn(|_| HashMap::new()),
        counts: Vec::new(),
        scratch: Vec::new(),
        tally: Vec::new(),
        estimated: false,
    };
    if !sticky || !walk.sink.counts_subnets() {
        // A location whose rules hash nothing is one piece of clients;
        // only the ranges of the others are walked, block by block.
        let sticky_cells: Vec<usize> = (0..cells.len()).filter(|&c| hashed(&classes[c])).collect();
        walk.count_sticky_clients(sticky_cells.iter().map(|&c| (&classes[c], cells[c].weight)));
        for (cell, c) in cells.iter().zip(&classes) {
            if !hashed(c) {
                let ip = family.ip(cell.first);
                let answers = std::array::from_fn(|k| (c[k].0, walk.policies[k].dist(c[k].1, ip)));
                walk.sink.add(cell.weight, Span::Cell, answers);
            }
        }
        for c in sticky_cells {
            for piece in space.members(family, c) {
                walk.piece(piece, &classes[c]);
            }
            walk.flush();
        }
    } else {
        // Piece by piece in address order: the sink counts the subnets of
        // unhashed pieces too, a /24 cut between pieces once.
        let cell_of = space.cell_of(family);
        walk.count_sticky_clients(
            cells
                .iter()
                .zip(&classes)
                .filter(|(_, c)| hashed(c))
                .map(|(cell, c)| (c, cell.weight)),
        );
        for (piece, &cell) in space.pieces(family).iter().zip(cell_of) {
            walk.piece(piece, &classes[cell as usize]);
        }
        walk.flush();
    }
    walk.estimated
}

impl<const K: usize, S: Sink<K>> Walk<'_, '_, K, S> {
    /// Adds up the clients of each sticky class (for IPv6 sampling).
    fn count_sticky_clients<'c>(
        &mut self,
        cells: impl Iterator<Item = (&'c [(u32, u32); K], f64)>,
    ) {
        if self.family != Family::V6 {
            return;
        }
        for (classes, weight) in cells {
            for (k, policy) in self.policies.iter().enumerate() {
                if policy.is_sticky_class(classes[k].1) {
                    *self.sticky_clients[k].entry(classes[k].1).or_default() += weight;
                }
            }
        }
    }

    /// One piece, its location's classes `classes`.
    fn piece(&mut self, piece: &Piece<K>, classes: &[(u32, u32); K]) {
        let (policies, family) = (self.policies, self.family);
        let ip = family.ip(piece.start);
        let bits = family.block_bits();
        let (first, last) = (piece.start >> bits, piece.end >> bits);
        let hashed = (0..K).any(|k| policies[k].is_sticky_class(classes[k].1));
        if !hashed {
            let answers =
                std::array::from_fn(|k| (classes[k].0, policies[k].dist(classes[k].1, ip)));
            let span = Span::Blocks {
                family,
                first,
                last,
                sampled: false,
            };
            self.sink
                .add(family.weight(piece.start, piece.end), span, answers);
            return;
        }
        let blocks = last - first + 1;
        let wanted = match family {
            Family::V4 => blocks,
            // The share of the samples this range's clients are of the
            // family's, rounded up (a float of at most 2^20 here).
            Family::V6 => {
                let weight = family.weight(piece.start, piece.end);
                // The most any sticky class of the piece asks for.
                let share = (0..K)
                    .filter_map(|k| self.sticky_clients[k].get(&classes[k].1))
                    .map(|&of| (V6_SAMPLES * weight / of).ceil())
                    .fold(0.0, f64::max);
                // At most V6_SAMPLES, a float that fits.
                (share as u128).max(V6_MIN_SAMPLES)
            }
        };
        if blocks > wanted.max(1) {
            self.estimated = true;
            let (step, count) = (blocks / wanted.max(1), wanted.max(1));
            let share = family.weight(piece.start, piece.end) / count as f64;
            for i in 0..count {
                let ip = family.ip(((first + i * step) << bits).max(piece.start));
                let answers =
                    std::array::from_fn(|k| (classes[k].0, policies[k].dist(classes[k].1, ip)));
                let span = Span::Blocks {
                    family,
                    first: first + i * step,
                    last: first + i * step,
                    sampled: true,
                };
                self.sink.add(share, span, answers);
            }
            return;
        }
        // A block cut by an end of the piece is evaluated alone (the next
        // or the previous piece holds the rest of it); the whole blocks
        // inside are counted per answer, handed to the sink at the flush.
        let mask = (1u128 << bits) - 1;
        let cut_start = piece.start & mask != 0;
        let cut_end = piece.end & mask != mask;
        let lone = |block: u128| {
            let start = (block << bits).max(piece.start);
            let end = (block << bits | mask).min(piece.end);
            (start, end)
        };
        if cut_start {
            let (start, end) = lone(first);
            self.edge(classes, first, start, end);
        }
        let whole_first = first + u128::from(cut_start);
        let whole_last = last.checked_sub(u128::from(cut_end));
        if let Some(whole_last) = whole_last.filter(|&l| l >= whole_first) {
            self.whole_blocks(classes, (whole_first, whole_last));
        }
        if cut_end && !(cut_start && first == last) {
            let (start, end) = lone(last);
            self.edge(classes, last, start, end);
        }
    }

    /// One block cut by an end of its piece: `[start, end]`, evaluated alone.
    fn edge(&mut self, classes: &[(u32, u32); K], block: u128, start: u128, end: u128) {
        let (policies, family) = (self.policies, self.family);
        let ip = family.ip(start);
        let answers = std::array::from_fn(|k| (classes[k].0, policies[k].dist(classes[k].1, ip)));
        let span = Span::Blocks {
            family,
            first: block,
            last: block,
            sampled: false,
        };
        self.sink.add(family.weight(start, end), span, answers);
    }

    /// The whole blocks `first..=last` of one piece: each hashed by the
    /// sticky evaluators and counted per distinct answer until the flush
    /// (a sink call per block, or per piece, cost more than the pick).
    fn whole_blocks(&mut self, classes: &[(u32, u32); K], (first, last): (u128, u128)) {
        let policies = self.policies;
        let picks: [Option<(&StickyPick, u64)>; K] =
            std::array::from_fn(|k| policies[k].sticky_pick(classes[k].1));
        let bits = self.family.block_bits();
        let scratch = &mut self.scratch;
        scratch.clear();
        if let [Some((pick, key))] = picks[..] {
            // One sticky evaluator (a simulation): counted by target
            // position, without a search or a branch on the answer.
            let tally = &mut self.tally;
            tally.clear();
            tally.resize(pick.len(), 0);
            for block in first..=last {
                let ip = self.family.ip(block << bits);
                tally[pick.pick_index(sticky_client_key(ip, key))] += 1;
            }
            for (i, &n) in tally.iter().enumerate().filter(|(_, n)| **n > 0) {
                let (answer, n) = ([pick.value(i); K], u128::from(n));
                match scratch.iter_mut().find(|(a, _)| *a == answer) {
                    Some((_, c)) => *c += n,
                    None => scratch.push((answer, n)),
                }
            }
        } else {
            self.count_blocks(&picks, (first, last));
        }
        let scratch = &mut self.scratch;
        for &(answer, blocks) in scratch.iter() {
            match self
                .counts
                .iter_mut()
                .find(|(c, a, _)| c == classes && *a == answer)
            {
                Some((_, _, n)) => *n += blocks,
                None => self.counts.push((*classes, answer, blocks)),
            }
        }
    }

    /// Counts the whole blocks `first..=last` per answer into the scratch.
    fn count_blocks(
        &mut self,
        picks: &[Option<(&StickyPick, u64)>; K],
        (first, last): (u128, u128),
    ) {
        let bits = self.family.block_bits();
        let scratch = &mut self.scratch;
        for block in first..=last {
            let ip = self.family.ip(block << bits);
            let answer: [u16; K] = std::array::from_fn(|k| match picks[k] {
                Some((pick, key)) => pick.pick(sticky_client_key(ip, key)),
                None => u16::MAX,
            });
            match scratch.iter_mut().find(|(a, _)| *a == answer) {
                Some((_, n)) => *n += 1,
                None => scratch.push((answer, 1)),
            }
        }
    }

    /// Hands the whole blocks counted so far to the sink, one call per
    /// classes and answer.
    fn flush(&mut self) {
        let (policies, family) = (self.policies, self.family);
        let block_weight = family.weight(0, (1u128 << family.block_bits()) - 1);
        for (classes, answer, blocks) in self.counts.drain(..) {
            let answers = std::array::from_fn(|k| {
                let dist = match answer[k] {
                    // Unhashed: a distribution that depends on the class
                    // alone (any address of the class gives it).
                    u16::MAX => policies[k].dist(classes[k].1, family.ip(0)),
                    p => Dist::One(p),
                };
                (classes[k].0, dist)
            });
            // At most 2^24 IPv4 blocks or 2^80 IPv6 ones: exact enough in f64.
            self.sink.add(
                blocks as f64 * block_weight,
                Span::Whole { family, blocks },
                answers,
            );
        }
    }
}

/// One client of a client list: a subnet (a host prefix for an address)
/// and how many clients it stands for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Client {
    /// The subnet; it is located, and hashed, by its network address, as
    /// an EDNS Client Subnet option is.
    pub subnet: IpNet,
    /// Its weight (queries or clients), positive.
    pub count: f64,
}

/// Walks a client list for one domain through `K` snapshots.
pub fn walk_clients<const K: usize>(
    policies: &mut [Evaluator<'_>; K],
    names: &mut Names,
    clients: &[Client],
    sink: &mut impl Sink<K>,
) {
    for (i, client) in clients.iter().enumerate() {
        let ip = client.subnet.network().to_canonical();
        let classes: [(u32, u32); K] = std::array::from_fn(|k| policies[k].classify(names, ip));
        let answers = std::array::from_fn(|k| (classes[k].0, policies[k].dist(classes[k].1, ip)));
        sink.add(client.count, Span::Client(i), answers);
    }
}

/// `f` of every item, in order, computed by as many threads as the machine
/// runs at once (domains are independent: each walk reads the shared
/// snapshots and space and writes only its own result).
pub fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(items.len());
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        done.push((i, f(item)));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            // A worker that panicked re-raises its panic here.
            .flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use proptest::prelude::*;
    use steerage::geo::{Country, Location, LocationTable, Subdivision, TableBuilder};
    use steerage::policy::PolicySet;

    const DOMAIN: &str = "www.example.com";

    /// A table locating `10.0.0.0/16` in pieces starting at `cuts`
    /// (offsets in the /16), each CN, CN-BJ, US or unknown; everything
    /// else unknown.
    fn table(cuts: &[(u16, usize)]) -> Arc<LocationTable> {
        let location = |kind: usize| {
            let mut l = Location::default();
            if kind < 3 {
                l.country = Country::from_code(if kind == 2 { "US" } else { "CN" });
                l.continent = l.country.map(Country::continent);
            }
            if kind == 1 {
                l.subdivision = Subdivision::from_code("CN-BJ");
            }
            l
        };
        let mut cuts = cuts.to_vec();
        cuts.sort_unstable();
        cuts.dedup_by_key(|c| c.0);
        let base = u32::from(Ipv4Addr::new(10, 0, 0, 0));
        let mut builder = TableBuilder::new("test");
        for (i, &(offset, kind)) in cuts.iter().enumerate() {
            let end = cuts.get(i + 1).map_or(0xffff, |c| u32::from(c.0) - 1);
            let id = builder.intern(&location(kind));
            builder
                .push_v4(base + u32::from(offset), base + end, id)
                .unwrap();
        }
        Arc::new(builder.finish().unwrap())
    }

    /// China split a/b, Beijing split b/builtin, the rest to the built-in
    /// provider.
    fn config(china: (u16, u16), beijing: (u16, u16)) -> PolicySet {
        let provider = |n: &str| {
            format!(
                "[[policy.provider]]\nname = \"{n}\"\nkind = \"cdn\"\ncname = \"{n}.example.net\"\n"
            )
        };
        let rule = |name: &str, line: &str, (x, wx): (&str, u16), (y, wy): (&str, u16)| {
            format!(
                "[[policy.rule]]\nname = \"{name}\"\nlines = [\"{line}\"]\n\
                 targets = [{{ provider = \"{x}\", weight = {wx} }}, {{ provider = \"{y}\", weight = {wy} }}]\n"
            )
        };
        let text = format!(
            "[builtin]\ncname = \"edge.example.org\"\n[[policy]]\ndomain = \"{DOMAIN}\"\n\
             mode = \"sticky\"\n{}{}{}{}",
            provider("a"),
            provider("b"),
            rule("china", "CN", ("a", china.0), ("b", china.1)),
            rule("beijing", "CN-BJ", ("b", beijing.0), ("builtin", beijing.1)),
        );
        PolicySet::from_toml_str(&text).unwrap()
    }

    /// Clients per provider index; `.1`: walk by location (as `simulate`)
    /// instead of piece by piece (as `diff`).
    #[derive(Default)]
    struct Counts(Vec<f64>, bool);

    impl Sink<1> for Counts {
        fn add(&mut self, weight: f64, _: Span, [(_, dist)]: [(u32, Dist<'_>); 1]) {
            dist.each(|p, w| {
                let p = usize::from(p);
                if self.0.len() <= p {
                    self.0.resize(p + 1, 0.0);
                }
                self.0[p] += weight * w;
            });
        }

        fn counts_subnets(&self) -> bool {
            !self.1
        }
    }

    /// Switching blocks and addresses, as `diff` counts them.
    #[derive(Default)]
    struct Switches {
        blocks: f64,
        addresses: f64,
        last: Option<u128>,
    }

    impl Sink<2> for Switches {
        fn add(&mut self, weight: f64, span: Span, [(_, a), (_, b)]: [(u32, Dist<'_>); 2]) {
            let (Dist::One(a), Dist::One(b)) = (a, b) else {
                panic!("sticky answers are single providers");
            };
            if a == b {
                return;
            }
            self.addresses += weight;
            match span {
                Span::Blocks { first, last, .. } => {
                    self.blocks +=
                        (last - first + 1) as f64 - f64::from(u8::from(self.last == Some(first)));
                    self.last = Some(last);
                }
                Span::Whole { blocks, .. } => self.blocks += blocks as f64,
                Span::Cell | Span::Client(_) => panic!("not a space walk of a sticky policy"),
            }
        }
    }

    fn region() -> impl Iterator<Item = IpAddr> {
        let base = u32::from(Ipv4Addr::new(10, 0, 0, 0));
        (0..=0xffff_u32).map(move |i| IpAddr::V4(Ipv4Addr::from(base + i)))
    }

    /// Regression: IPv6 samples were spread over the whole space by size,
    /// so a sticky rule over a small part of it (here 2^20 of 2^45 `/48`s)
    /// got 16 samples and shares off by tens of percent; each sticky rule
    /// now gets about `V6_SAMPLES` of its own.
    #[test]
    fn a_small_sticky_ipv6_rule_is_sampled_enough() {
        let mut china = Location::default();
        china.country = Country::from_code("CN");
        let mut builder = TableBuilder::new("test");
        let id = builder.intern(&china);
        let start = u128::from("2400::".parse::<Ipv6Addr>().unwrap());
        builder
            .push_v6(start, start + (1u128 << 100) - 1, id)
            .unwrap();
        let table = Arc::new(builder.finish().unwrap());
        let set = config((70, 30), (1, 1));
        let snapshot = Snapshot::compile(&set, table, 1).unwrap();
        let space = Space::new(&snapshot);
        let mut names = Names::default();
        let mut counts = Counts::default();
        let mut evaluators = [Evaluator::new(&snapshot, set.policy(DOMAIN).unwrap())];
        let estimated = walk_space(&mut evaluators, &mut names, &space, Family::V6, &mut counts);
        assert!(estimated);
        let share = |name: &str| {
            let i = names.all().iter().position(|n| n == name).unwrap();
            counts.0[i] / 2f64.powi(20)
        };
        // Five standard deviations of a share over 65,536 samples: 0.9 %.
        assert!((share("a") - 0.7).abs() < 0.009, "{}", share("a"));
        assert!((share("b") - 0.3).abs() < 0.009, "{}", share("b"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// The walk (whole /24s counted per answer, cut ones alone; by
        /// location or piece by piece) counts exactly what `select`
        /// answers, address by address.
        #[test]
        fn sticky_shares_are_what_select_answers_address_by_address(
            cuts in proptest::collection::vec((any::<u16>(), 0usize..4), 1..10),
            china in (1u16..100, 1u16..100),
            beijing in (1u16..100, 1u16..100),
            by_location in any::<bool>(),
        ) {
            let set = config(china, beijing);
            let snapshot = Snapshot::compile(&set, table(&cuts), 1).unwrap();
            let policy = set.policy(DOMAIN).unwrap();
            let space = Space::new(&snapshot);
            let mut names = Names::default();
            let mut counts = Counts(Vec::new(), by_location);
            walk_space(&mut [Evaluator::new(&snapshot, policy)], &mut names, &space, Family::V4, &mut counts);
            let walked: HashMap<&str, f64> = names
                .all()
                .iter()
                .zip(&counts.0)
                .filter(|(_, c)| **c > 0.0)
                .map(|(n, c)| (n.as_str(), *c))
                .collect();
            let mut selected: HashMap<&str, f64> = HashMap::new();
            *selected.entry("builtin").or_default() += 4_294_967_296.0 - 65_536.0;
            for ip in region() {
                *selected.entry(snapshot.select(DOMAIN, ip).unwrap().provider()).or_default() += 1.0;
            }
            prop_assert_eq!(walked, selected);
        }

        /// `diff`'s count of switching /24s and addresses is exactly what
        /// `select` of the two configurations answers, address by address.
        #[test]
        fn switching_blocks_are_what_select_answers_address_by_address(
            cuts in proptest::collection::vec((any::<u16>(), 0usize..4), 1..10),
            old in ((1u16..100, 1u16..100), (1u16..100, 1u16..100)),
            new in ((1u16..100, 1u16..100), (1u16..100, 1u16..100)),
        ) {
            let table = table(&cuts);
            let (old_set, new_set) = (config(old.0, old.1), config(new.0, new.1));
            let a = Snapshot::compile(&old_set, Arc::clone(&table), 1).unwrap();
            let b = Snapshot::compile(&new_set, table, 2).unwrap();
            let space = Space::zipped(&a, &b);
            let mut evaluators = [
                Evaluator::new(&a, old_set.policy(DOMAIN).unwrap()),
                Evaluator::new(&b, new_set.policy(DOMAIN).unwrap()),
            ];
            let mut switches = Switches::default();
            walk_space(&mut evaluators, &mut Names::default(), &space, Family::V4, &mut switches);
            let mut blocks = std::collections::HashSet::new();
            let mut addresses = 0.0;
            for ip in region() {
                if a.select(DOMAIN, ip).unwrap().provider() != b.select(DOMAIN, ip).unwrap().provider() {
                    addresses += 1.0;
                    let IpAddr::V4(v4) = ip else { unreachable!() };
                    blocks.insert(u32::from(v4) >> 8);
                }
            }
            prop_assert_eq!(switches.addresses, addresses);
            prop_assert_eq!(switches.blocks, blocks.len() as f64);
        }
    }

    fn piece(start: u128, end: u128, id: u32) -> Piece<1> {
        Piece {
            start,
            end,
            ids: [LocationId(id)],
        }
    }

    #[test]
    fn zip_cuts_at_every_boundary_and_merges_equal_neighbours() {
        let a = [piece(0, 9, 1), piece(10, 19, 2), piece(20, 99, 1)];
        let b = [piece(0, 4, 7), piece(5, 14, 8), piece(15, 99, 8)];
        let z: Vec<(u128, u128, [u32; 2])> = zip(&a, &b)
            .iter()
            .map(|p| (p.start, p.end, [p.ids[0].0, p.ids[1].0]))
            .collect();
        assert_eq!(
            z,
            [
                (0, 4, [1, 7]),
                (5, 9, [1, 8]),
                (10, 19, [2, 8]),
                (20, 99, [1, 8])
            ]
        );
    }

    #[test]
    fn weights_count_addresses_and_48s() {
        assert_eq!(Family::V4.weight(0, u128::from(u32::MAX)), 4_294_967_296.0);
        assert_eq!(Family::V6.weight(V6_GLOBAL.0, V6_GLOBAL.1), 2f64.powi(45));
        assert_eq!(Family::V6.weight(0, (1 << 79) - 1), 0.5);
    }
}
