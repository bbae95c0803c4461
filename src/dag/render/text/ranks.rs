//! Ranks: which layer each box sits in.
//!
//! A pipeline is often several independent strands (one per dataset) that meet
//! only in a few sinks (a comparison of every model). Drawn layer by layer, such
//! strands interleave and their lines cross the whole screen. So the strands are
//! found first (the weakly connected components left when those shared sinks are
//! set aside) and stacked one below the other, each with its own layers, and the
//! shared sinks come last.

/// Returns the rank of every node, strands stacked, shared sinks at the bottom.
pub fn ranks(children: &[Vec<usize>], parents: &[Vec<usize>]) -> Vec<usize> {
    let count = children.len();
    let shared = shared_sinks(children, parents);
    let strand = strands(children, parents, &shared);
    let mut order: Vec<usize> = strand.iter().copied().filter(|&s| s != usize::MAX).collect();
    order.sort_unstable();
    order.dedup();
    let mut rank = vec![0; count];
    let mut offset = 0;
    for group in order {
        let members: Vec<bool> = strand.iter().map(|&s| s == group).collect();
        let local = longest_path(children, parents, &members);
        let depth = (0..count).filter(|&n| members[n]).map(|n| local[n] + 1).max().unwrap_or(0);
        for node in (0..count).filter(|&n| members[n]) {
            rank[node] = offset + local[node];
        }
        offset += depth;
    }
    for node in (0..count).filter(|&n| shared[n]) {
        rank[node] = parents[node].iter().map(|&p| rank[p] + 1).max().unwrap_or(offset).max(offset);
    }
    rank
}

/// Returns the sinks with parents in two or more strands of several boxes each.
fn shared_sinks(children: &[Vec<usize>], parents: &[Vec<usize>]) -> Vec<bool> {
    let count = children.len();
    let mut candidate: Vec<bool> =
        (0..count).map(|n| children[n].is_empty() && parents[n].len() > 1).collect();
    loop {
        let strand = strands(children, parents, &candidate);
        let mut size = vec![0usize; count];
        for &s in strand.iter().filter(|&&s| s != usize::MAX) {
            size[s] += 1;
        }
        let mut changed = false;
        for node in 0..count {
            if !candidate[node] {
                continue;
            }
            let mut big: Vec<usize> =
                parents[node].iter().map(|&p| strand[p]).filter(|&s| size[s] > 1).collect();
            big.sort_unstable();
            big.dedup();
            if big.len() < 2 {
                candidate[node] = false;
                changed = true;
            }
        }
        if !changed {
            return candidate;
        }
    }
}

/// Labels each node with its strand (the smallest node index in it); set-aside
/// nodes get `usize::MAX`. Lone nodes without edges share one strand.
fn strands(children: &[Vec<usize>], parents: &[Vec<usize>], aside: &[bool]) -> Vec<usize> {
    let count = children.len();
    let mut label = vec![usize::MAX; count];
    let mut lone = None;
    for start in 0..count {
        if aside[start] || label[start] != usize::MAX {
            continue;
        }
        let mut stack = vec![start];
        let mut members = Vec::new();
        label[start] = start;
        while let Some(node) = stack.pop() {
            members.push(node);
            for &next in children[node].iter().chain(&parents[node]) {
                if !aside[next] && label[next] == usize::MAX {
                    label[next] = start;
                    stack.push(next);
                }
            }
        }
        if members.len() == 1 && children[start].is_empty() && parents[start].is_empty() {
            label[start] = *lone.get_or_insert(start);
        }
    }
    label
}

/// Longest-path ranks within `members`; a source sits just above its highest child.
fn longest_path(children: &[Vec<usize>], parents: &[Vec<usize>], members: &[bool]) -> Vec<usize> {
    let count = children.len();
    let inside = |n: &usize| members[*n];
    let mut rank = vec![0; count];
    let mut waiting: Vec<usize> =
        (0..count).map(|n| parents[n].iter().filter(|p| inside(p)).count()).collect();
    let mut ready: Vec<usize> =
        (0..count).filter(|&n| members[n] && waiting[n] == 0).rev().collect();
    let mut topological = Vec::with_capacity(count);
    while let Some(node) = ready.pop() {
        topological.push(node);
        for &child in children[node].iter().filter(|c| inside(c)) {
            rank[child] = rank[child].max(rank[node] + 1);
            waiting[child] -= 1;
            if waiting[child] == 0 {
                ready.push(child);
            }
        }
    }
    for &node in &topological {
        let kids: Vec<usize> = children[node].iter().copied().filter(|c| inside(c)).collect();
        if parents[node].iter().all(|p| !inside(p)) && !kids.is_empty() {
            rank[node] = kids.iter().map(|&c| rank[c]).min().unwrap_or(1) - 1;
        }
    }
    rank
}

#[cfg(test)]
mod tests {
    use super::ranks;

    fn graph(count: usize, edges: &[(usize, usize)]) -> (Vec<Vec<usize>>, Vec<Vec<usize>>) {
        let mut children = vec![Vec::new(); count];
        let mut parents = vec![Vec::new(); count];
        for &(a, b) in edges {
            children[a].push(b);
            parents[b].push(a);
        }
        (children, parents)
    }

    #[test]
    fn strands_are_stacked_and_shared_sinks_come_last() {
        // Two strands 0→1→2 and 3→4→5, both feeding the shared sink 6.
        let (children, parents) = graph(7, &[(0, 1), (1, 2), (3, 4), (4, 5), (2, 6), (5, 6)]);
        assert_eq!(ranks(&children, &parents), [0, 1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn a_single_strand_is_plain_longest_path() {
        // A diamond with a late source pulled down next to its child.
        let (children, parents) = graph(5, &[(0, 1), (0, 2), (1, 3), (2, 3), (4, 3)]);
        assert_eq!(ranks(&children, &parents), [0, 1, 1, 2, 1]);
    }
}
