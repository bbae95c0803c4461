//! The lines in the channel between two rows of boxes.
//!
//! Everything that leaves the upper row (a box's port, a passing line) moves
//! sideways on a horizontal track of its own and drops into the lower row's
//! ports, into lines that go on down, or into the collecting track of a box with
//! several parents. Every vertical segment in a channel gets a column of its own,
//! so lines never overlap, and a join always shows as `┬ ┴ ├ ┤` or a corner:
//! `┼` is only ever a crossing.

use std::collections::{BTreeMap, BTreeSet};

use super::layout::{Layout, Line};

/// A level in a channel that a vertical segment starts or ends at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// The upper row (the line continues into it).
    Top,
    /// A horizontal track, by index from the top of the channel.
    Track(usize),
    /// The lower row (the line continues into it).
    Bottom,
}

/// The lines of one channel.
#[derive(Debug, Default)]
pub struct Channel {
    /// Horizontal tracks, top to bottom, as column spans.
    pub tracks: Vec<(usize, usize)>,
    /// Vertical segments: column, from, to.
    pub verticals: Vec<(usize, Level, Level)>,
    /// Where lines enter the boxes of the lower row: (node, column).
    pub ports: Vec<(usize, usize)>,
}

/// What leaves the upper row on one line other than an `Into` line.
struct Outgoing {
    entry: usize,
    children: Vec<usize>,
    continues: Option<usize>,
    joins: Vec<usize>,
}

/// An `Into` line crossing the channel.
struct Collector {
    node: usize,
    entry: Option<usize>,
    exit: usize,
    joins: Vec<usize>,
}

/// Where a drop from a track goes.
#[derive(Clone, Copy)]
enum Target {
    Below,
    Collector(usize),
}

/// Routes the channel below row `row`.
pub fn route(layout: &Layout, row: usize) -> Channel {
    let outgoing = outgoing(layout, row);
    let mut collectors = collectors(layout, row);
    let mut used: BTreeSet<usize> = outgoing.iter().map(|o| o.entry).collect();
    used.extend(outgoing.iter().filter_map(|o| o.continues));
    used.extend(collectors.iter().filter_map(|c| c.entry));
    used.extend(collectors.iter().filter(|c| layout.row_of[c.node] != row + 1).map(|c| c.exit));
    let mut channel = Channel::default();
    let ports = choose_ports(layout, row, &outgoing, &collectors, &mut used);
    for collector in &mut collectors {
        if let Some(&port) = ports.get(&collector.node) {
            collector.exit = port;
        }
    }
    channel.ports = ports.iter().map(|(&n, &c)| (n, c)).collect();
    let mut sole: BTreeSet<usize> = BTreeSet::new();
    for (index, collector) in collectors.iter().enumerate() {
        let joining = outgoing.iter().filter(|o| o.joins.contains(&collector.node)).count();
        if collector.entry.is_none() && joining == 1 {
            sole.insert(index);
        }
    }
    let drops: Vec<Vec<(usize, Target)>> =
        outgoing.iter().map(|o| drops(o, &ports, &mut collectors, &sole, &mut used)).collect();
    let mut order: Vec<usize> = (0..outgoing.len()).collect();
    order.sort_by_key(|&i| outgoing[i].entry);
    let track_count = order.iter().filter(|&&i| needs_track(outgoing[i].entry, &drops[i])).count();
    let collector_tracks = plan_collectors(&mut channel, &collectors, track_count);
    let mut track = 0;
    for i in order {
        let (entry, drops) = (outgoing[i].entry, &drops[i]);
        let level = |target: &Target, column: usize| match target {
            Target::Below => Level::Bottom,
            Target::Collector(c) => Level::Track(collector_tracks[*c].track_for(column)),
        };
        if !needs_track(entry, drops) {
            channel.verticals.push((entry, Level::Top, level(&drops[0].1, entry)));
            continue;
        }
        let columns = drops.iter().map(|(c, _)| *c).chain([entry]);
        channel.tracks.insert(track, span(columns));
        channel.verticals.push((entry, Level::Top, Level::Track(track)));
        for (column, target) in drops {
            channel.verticals.push((*column, Level::Track(track), level(target, *column)));
        }
        track += 1;
    }
    channel
}

fn needs_track(entry: usize, drops: &[(usize, Target)]) -> bool {
    !(drops.len() == 1 && drops[0].0 == entry)
}

fn span(columns: impl Iterator<Item = usize> + Clone) -> (usize, usize) {
    (columns.clone().min().unwrap_or(0), columns.max().unwrap_or(0))
}

/// Returns the boxes and `From` lines that leave `row` downwards.
fn outgoing(layout: &Layout, row: usize) -> Vec<Outgoing> {
    let below = |node: usize| {
        let mut children: Vec<usize> = layout.children[node]
            .iter()
            .copied()
            .filter(|&c| !layout.fan_in(c) && layout.row_of[c] == row + 1)
            .collect();
        children.sort_unstable();
        let continues = layout
            .span(Line::From(node))
            .filter(|&(_, last)| last > row + 1)
            .map(|_| layout.line_column(Line::From(node), row + 1));
        (children, continues)
    };
    let mut found = Vec::new();
    for &node in layout.rows[row].iter().filter(|&&n| !layout.children[n].is_empty()) {
        let (children, continues) = below(node);
        let joins = layout.children[node].iter().copied().filter(|&c| layout.fan_in(c)).collect();
        found.push(Outgoing { entry: layout.port(node), children, continues, joins });
    }
    for &(line, column) in &layout.passes[row] {
        if let Line::From(node) = line {
            let (children, continues) = below(node);
            found.push(Outgoing { entry: column, children, continues, joins: Vec::new() });
        }
    }
    found
}

/// Returns the `Into` lines that cross the channel below `row`.
fn collectors(layout: &Layout, row: usize) -> Vec<Collector> {
    (0..layout.row_of.len())
        .filter_map(|node| {
            let (first, last) = layout.span(Line::Into(node))?;
            if !(first..last).contains(&row) {
                return None;
            }
            let entry = (row > first).then(|| layout.line_column(Line::Into(node), row));
            let exit =
                if last == row + 1 { 0 } else { layout.line_column(Line::Into(node), row + 1) };
            Some(Collector { node, entry, exit, joins: Vec::new() })
        })
        .collect()
}

/// Chooses where each box of the lower row is entered.
fn choose_ports(
    layout: &Layout,
    row: usize,
    outgoing: &[Outgoing],
    collectors: &[Collector],
    used: &mut BTreeSet<usize>,
) -> BTreeMap<usize, usize> {
    let mut ports = BTreeMap::new();
    for &node in &layout.rows[row + 1] {
        let low = layout.x[node] + 1;
        let high = layout.x[node] + layout.width[node] - 2;
        let straight = |column: usize, only: bool| only && (low..=high).contains(&column);
        let port = if let Some(c) = collectors.iter().find(|c| c.node == node) {
            match c.entry {
                Some(entry) if straight(entry, true) => entry,
                Some(entry) => nearest_free(used, entry, low, high),
                None => match alone_join(outgoing, node).filter(|&e| straight(e, true)) {
                    Some(entry) => entry,
                    None => nearest_free(used, layout.port(node), low, high),
                },
            }
        } else if let Some(o) = outgoing.iter().find(|o| o.children.contains(&node)) {
            let only = o.children.len() + o.joins.len() + usize::from(o.continues.is_some()) == 1;
            if straight(o.entry, only) { o.entry } else { nearest_free(used, o.entry, low, high) }
        } else {
            continue;
        };
        used.insert(port);
        ports.insert(node, port);
    }
    ports
}

/// Returns the entry of a line whose only edge in this channel joins `node`'s
/// collector: the collector can start on it and run straight into the box.
fn alone_join(outgoing: &[Outgoing], node: usize) -> Option<usize> {
    outgoing
        .iter()
        .find(|o| o.joins == [node] && o.children.is_empty() && o.continues.is_none())
        .map(|o| o.entry)
}

/// Returns where one outgoing line drops: ports, its continuation, collectors.
/// A collector in `sole` starts in this channel and has one line joining it: that
/// line drops straight onto the collector's exit column.
fn drops(
    outgoing: &Outgoing,
    ports: &BTreeMap<usize, usize>,
    collectors: &mut [Collector],
    sole: &BTreeSet<usize>,
    used: &mut BTreeSet<usize>,
) -> Vec<(usize, Target)> {
    let mut drops: Vec<(usize, Target)> =
        outgoing.children.iter().map(|child| (ports[child], Target::Below)).collect();
    drops.extend(outgoing.continues.map(|column| (column, Target::Below)));
    let alone = drops.is_empty() && outgoing.joins.len() == 1;
    for &node in &outgoing.joins {
        let Some(index) = collectors.iter().position(|c| c.node == node) else {
            continue;
        };
        let column = if alone {
            outgoing.entry
        } else if sole.contains(&index) {
            collectors[index].exit
        } else {
            let near = nearest_free(used, collectors[index].exit, 0, usize::MAX);
            used.insert(near);
            near
        };
        collectors[index].joins.push(column);
        drops.push((column, Target::Collector(index)));
    }
    drops
}

/// The tracks of one collector: one, or two when joins arrive from both sides
/// of a line that goes straight through (so the junctions read `┤` and `├`).
struct CollectorTracks {
    first: usize,
    split: Option<usize>,
}

impl CollectorTracks {
    fn track_for(&self, column: usize) -> usize {
        match self.split {
            Some(middle) if column > middle => self.first + 1,
            _ => self.first,
        }
    }
}

/// Adds the collectors' tracks (below the `first` tracks of outgoing lines) and
/// their verticals; returns each collector's tracks.
fn plan_collectors(
    channel: &mut Channel,
    collectors: &[Collector],
    first: usize,
) -> Vec<CollectorTracks> {
    let mut next = first;
    let mut planned = Vec::with_capacity(collectors.len());
    let mut extra_tracks = Vec::new();
    for collector in collectors {
        let exit = collector.exit;
        let straight = collector.entry == Some(exit);
        if straight || collector.joins.is_empty() {
            if let Some(entry) = collector.entry.filter(|&e| e != exit) {
                extra_tracks.push(span([entry, exit].into_iter()));
                channel.verticals.push((entry, Level::Top, Level::Track(next)));
                channel.verticals.push((exit, Level::Track(next), Level::Bottom));
                planned.push(CollectorTracks { first: next, split: None });
                next += 1;
                continue;
            }
            channel.verticals.push((exit, Level::Top, Level::Bottom));
            let left: Vec<usize> = collector.joins.iter().copied().filter(|&c| c < exit).collect();
            let right: Vec<usize> = collector.joins.iter().copied().filter(|&c| c > exit).collect();
            let (start, split) = (next, (!left.is_empty() && !right.is_empty()).then_some(exit));
            for side in [left, right].into_iter().filter(|s| !s.is_empty()) {
                extra_tracks.push(span(side.into_iter().chain([exit])));
                next += 1;
            }
            planned.push(CollectorTracks { first: start, split });
            continue;
        }
        let columns = collector.joins.iter().copied().chain(collector.entry).chain([exit]);
        extra_tracks.push(span(columns));
        if let Some(entry) = collector.entry {
            channel.verticals.push((entry, Level::Top, Level::Track(next)));
        }
        channel.verticals.push((exit, Level::Track(next), Level::Bottom));
        planned.push(CollectorTracks { first: next, split: None });
        next += 1;
    }
    channel.tracks.extend(extra_tracks);
    planned
}

/// Returns the free column in `low..=high` nearest to `wanted` (`wanted` clamped).
fn nearest_free(used: &BTreeSet<usize>, wanted: usize, low: usize, high: usize) -> usize {
    let wanted = wanted.clamp(low, high);
    for distance in 0..=(high - low).min(4096) {
        for candidate in
            [wanted.checked_add(distance), wanted.checked_sub(distance)].into_iter().flatten()
        {
            if (low..=high).contains(&candidate) && !used.contains(&candidate) {
                return candidate;
            }
        }
    }
    wanted
}
