//! The drift statistics, each as scipy (or Evidently) defines it, to 1e-6:
//! the two-sample Kolmogorov–Smirnov test (`ks_2samp`, method 'auto'), the
//! chi-squared test of a 2 × K contingency table (`chi2_contingency`, with
//! Yates' correction when K = 2) and of goodness of fit (`chisquare`), PSI,
//! `wasserstein_distance`, `jensenshannon`, and Evidently's two-proportion
//! Z-test.

use super::kolmogorov::kstwo_sf;

/// Above this many values in the larger sample, `ks_2samp` stops computing
/// the exact p-value (scipy's `MAX_AUTO_N`).
const MAX_EXACT_N: usize = 10_000;

/// Returns `ks_2samp(reference, current)`: the statistic and the two-sided p-value.
pub fn ks_2samp(reference: &[f64], current: &[f64]) -> (f64, f64) {
    let (mut a, mut b) = (reference.to_vec(), current.to_vec());
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (n1, n2) = (a.len(), b.len());
    if n1 == 0 || n2 == 0 {
        return (f64::NAN, f64::NAN);
    }
    // The largest gap between the two empirical CDFs, at every value of either.
    let mut d: f64 = 0.0;
    for &value in a.iter().chain(&b) {
        let f1 = a.partition_point(|&v| v <= value) as f64 / n1 as f64;
        let f2 = b.partition_point(|&v| v <= value) as f64 / n2 as f64;
        d = d.max((f1 - f2).abs());
    }
    let d = d.min(1.0);
    if n1.max(n2) <= MAX_EXACT_N {
        let g = gcd(n1, n2);
        let lcm = (n1 / g) as f64 * n2 as f64;
        let h = (d * lcm).round();
        let d = h / lcm;
        if h == 0.0 {
            return (d, 1.0);
        }
        let h = h as usize;
        let p =
            if n1 == n2 { prob_outside_square(n1, h) } else { prob_outside_lines(n1, n2, g, h) };
        if p.is_finite() && (0.0..=1.0).contains(&p) {
            return (d, p);
        }
        // scipy falls back to the asymptotic distribution when the exact one fails.
        return (d, asymptotic(n1, n2, d));
    }
    (d, asymptotic(n1, n2, d))
}

fn asymptotic(n1: usize, n2: usize, d: f64) -> f64 {
    let (m, n) = (n1.max(n2) as f64, n1.min(n2) as f64);
    let en = m * n / (m + n);
    kstwo_sf(en.round() as u64, d).clamp(0.0, 1.0)
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Pr(D_{n,n} ≥ h/n) (scipy's `_compute_prob_outside_square`).
fn prob_outside_square(n: usize, h: usize) -> f64 {
    let mut p = 0.0;
    let mut k = (n / h) as i64;
    while k >= 0 {
        let mut p1 = 1.0;
        let ku = k as usize;
        for j in 0..h {
            p1 = (n as f64 - (ku * h) as f64 - j as f64) * p1
                / (n as f64 + (ku * h) as f64 + j as f64 + 1.0);
        }
        p = p1 * (1.0 - p);
        k -= 1;
    }
    2.0 * p
}

/// The share of lattice paths from (0, 0) to (m, n) that leave the band
/// |x/m − y/n| < h/lcm (scipy's `_compute_outer_prob_inside_method`, after
/// Hodges and Viehmann).
fn prob_outside_lines(m: usize, n: usize, g: usize, h: usize) -> f64 {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let (mg, ng) = ((m / g) as i64, (n / g) as i64);
    let (h, n_i) = (h as i64, n as i64);
    let ceil_div = |a: i64, b: i64| (a as f64 / b as f64).ceil() as i64;
    let floor_div = |a: i64, b: i64| (a as f64 / b as f64).floor() as i64;
    let (mut minj, mut maxj) = (0i64, ceil_div(h, mg).min(n_i + 1));
    let mut curlen = maxj - minj;
    let len = (2 * maxj + 2).min(n_i + 1) as usize;
    let mut a = vec![1.0; len];
    for value in a.iter_mut().take(maxj as usize).skip(minj as usize) {
        *value = 0.0;
    }
    for i in 1..=m as i64 {
        let (lastminj, lastlen) = (minj, curlen);
        minj = (floor_div(ng * i - h, mg) + 1).max(0).min(n_i);
        maxj = ceil_div(ng * i + h, mg).min(n_i + 1);
        if maxj <= minj {
            return 1.0;
        }
        let mut value = if minj == 0 { 0.0 } else { 1.0 };
        for jj in 0..(maxj - minj) {
            let j = jj + minj;
            let previous = a[(jj + minj - lastminj) as usize];
            value = (previous * i as f64 + value * j as f64) / (i + j) as f64;
            a[jj as usize] = value;
        }
        curlen = maxj - minj;
        if lastlen > curlen {
            let start = (maxj - minj) as usize;
            for slot in a.iter_mut().skip(start).take((lastlen - curlen) as usize) {
                *slot = 1.0;
            }
        }
    }
    a[(maxj - minj - 1) as usize]
}

/// The upper tail of the chi-squared distribution: Q(dof/2, x/2).
pub fn chi2_sf(x: f64, dof: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 1.0;
    }
    if x.is_infinite() {
        return 0.0;
    }
    upper_regularised_gamma(dof / 2.0, x / 2.0)
}

/// Q(a, x) = Γ(a, x) / Γ(a): a series below a + 1, a continued fraction above.
fn upper_regularised_gamma(a: f64, x: f64) -> f64 {
    let log_prefix = a * x.ln() - x - libm::lgamma(a);
    if x < a + 1.0 {
        let (mut term, mut sum, mut ap) = (1.0 / a, 1.0 / a, a);
        for _ in 0..10_000 {
            ap += 1.0;
            term *= x / ap;
            sum += term;
            if term.abs() < sum.abs() * 1e-17 {
                break;
            }
        }
        1.0 - sum * log_prefix.exp()
    } else {
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..10_000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let delta = d * c;
            h *= delta;
            if (delta - 1.0).abs() < 1e-17 {
                break;
            }
        }
        log_prefix.exp() * h
    }
}

/// Returns `chi2_contingency` of the 2 × K table `[reference, current]`
/// (counts per category): the statistic and the p-value; Yates' correction
/// applies when the table has one degree of freedom.
pub fn chi2_contingency(reference: &[f64], current: &[f64]) -> (f64, f64) {
    let k = reference.len();
    let (r0, r1): (f64, f64) = (reference.iter().sum(), current.iter().sum());
    let total = r0 + r1;
    let dof = k.saturating_sub(1);
    if dof == 0 {
        return (0.0, 1.0);
    }
    let mut statistic = 0.0;
    for (row, (observed, sum)) in [(reference, r0), (current, r1)].into_iter().enumerate() {
        let _ = row;
        for (j, &o) in observed.iter().enumerate() {
            let expected = sum * (reference[j] + current[j]) / total;
            let mut o = o;
            if dof == 1 {
                let difference = expected - o;
                o += difference.signum() * difference.abs().min(0.5);
            }
            statistic += (o - expected).powi(2) / expected;
        }
    }
    (statistic, chi2_sf(statistic, dof as f64))
}

/// Returns scipy's `chisquare(observed, expected)`: statistic and p-value.
pub fn chisquare(observed: &[f64], expected: &[f64]) -> (f64, f64) {
    let statistic: f64 = observed.iter().zip(expected).map(|(o, e)| (o - e).powi(2) / e).sum();
    (statistic, chi2_sf(statistic, observed.len().saturating_sub(1) as f64))
}

/// Returns `numpy.quantile(sorted, q)` (linear interpolation).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    crate::statistics::quantile(sorted, q)
}

/// PSI over per-bin counts: p = count / n, an empty bin's p taken as 1e-6.
pub fn psi_of_counts(reference: &[f64], current: &[f64]) -> f64 {
    let (nr, nc): (f64, f64) = (reference.iter().sum(), current.iter().sum());
    reference
        .iter()
        .zip(current)
        .map(|(&r, &c)| {
            let p_ref = if r == 0.0 { 1e-6 } else { r / nr };
            let p_cur = if c == 0.0 { 1e-6 } else { c / nc };
            (p_cur - p_ref) * (p_cur / p_ref).ln()
        })
        .sum()
}

/// Counts per PSI bin of a numeric column: cut points at the reference's
/// deciles, bins right-closed, the first from −∞ and the last to +∞.
pub fn decile_counts(reference: &[f64], current: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut sorted = reference.to_vec();
    sorted.sort_by(f64::total_cmp);
    let cuts: Vec<f64> = (1..10).map(|k| quantile(&sorted, f64::from(k) / 10.0)).collect();
    let count = |values: &[f64]| {
        let mut counts = vec![0.0; 10];
        for &v in values {
            // The first cut point at or above v: (q_{i-1}, q_i] holds it.
            let bin = cuts.partition_point(|&c| c < v);
            counts[bin] += 1.0;
        }
        counts
    };
    (count(reference), count(current))
}

/// Returns scipy's `wasserstein_distance(u, v)`.
pub fn wasserstein(u: &[f64], v: &[f64]) -> f64 {
    let (mut a, mut b) = (u.to_vec(), v.to_vec());
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let mut all: Vec<f64> = a.iter().chain(&b).copied().collect();
    all.sort_by(f64::total_cmp);
    let mut distance = 0.0;
    for pair in all.windows(2) {
        let delta = pair[1] - pair[0];
        let ua = a.partition_point(|&x| x <= pair[0]) as f64 / a.len() as f64;
        let vb = b.partition_point(|&x| x <= pair[0]) as f64 / b.len() as f64;
        distance += (ua - vb).abs() * delta;
    }
    distance
}

/// Returns scipy's `jensenshannon(p, q)` (natural log, a distance) of two
/// count vectors, each normalised to sum 1.
pub fn jensen_shannon(p: &[f64], q: &[f64]) -> f64 {
    let (sp, sq): (f64, f64) = (p.iter().sum(), q.iter().sum());
    let relative = |x: f64, y: f64| {
        if x > 0.0 && y > 0.0 {
            x * (x / y).ln()
        } else if x == 0.0 && y >= 0.0 {
            0.0
        } else {
            f64::INFINITY
        }
    };
    let mut total = 0.0;
    for (&a, &b) in p.iter().zip(q) {
        let (a, b) = (a / sp, b / sq);
        let m = (a + b) / 2.0;
        total += relative(a, m) + relative(b, m);
    }
    (total / 2.0).sqrt()
}

/// Returns Evidently's two-proportion Z-test p-value for a binary column:
/// the share of rows not equal to `first` (the smaller value) in each sample.
pub fn z_test(reference_ones: f64, reference_n: f64, current_ones: f64, current_n: f64) -> f64 {
    let (p1, p2) = (reference_ones / reference_n, current_ones / current_n);
    let pooled = (p1 * reference_n + p2 * current_n) / (reference_n + current_n);
    let z = (p1 - p2) / (pooled * (1.0 - pooled) * (1.0 / reference_n + 1.0 / current_n)).sqrt();
    2.0 * (1.0 - 0.5 * libm::erfc(-z.abs() / std::f64::consts::SQRT_2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, expected: f64) {
        assert!((got - expected).abs() < 1e-12, "{got} against scipy's {expected}");
    }

    /// Expected values from scipy 1.17.1 (and checked by hand where small).
    #[test]
    fn small_cases_match_scipy() {
        let (a, b) = ([1.0, 2.0, 2.0, 3.0, 5.0, 8.0], [2.0, 4.0, 4.0, 6.0, 9.0]);
        // ECDFs at 3: 4/6 against 1/5, the largest gap, 7/15.
        let (d, p) = ks_2samp(&a, &b);
        close(d, 7.0 / 15.0);
        close(p, 0.474025974025974);
        let (d, p) = ks_2samp(&[0.1, 0.4, 0.5, 0.9], &[0.2, 0.3, 0.6, 0.7]);
        close(d, 0.25);
        close(p, 1.0);
        let (stat, p) = chi2_contingency(&[10.0, 20.0, 30.0], &[15.0, 15.0, 20.0]);
        close(stat, 2.8285714285714287);
        close(p, 0.24309919372964037);
        let (stat, p) = chi2_contingency(&[12.0, 5.0], &[7.0, 9.0]);
        close(stat, 1.455996378814684);
        close(p, 0.22756821457580642);
        let (stat, p) = chisquare(&[10.0, 20.0, 30.0], &[15.0, 20.0, 25.0]);
        close(stat, 2.666666666666667);
        close(p, 0.2635971381157267);
        close(wasserstein(&a, &b), 1.5);
        close(jensen_shannon(&[1.0, 2.0, 3.0, 0.0], &[2.0, 2.0, 1.0, 1.0]), 0.3398889967229363);
        close(z_test(30.0, 100.0, 45.0, 100.0), 0.02845973691631065);
    }

    #[test]
    fn psi_uses_reference_deciles_and_a_floor_for_empty_bins() {
        let reference: Vec<f64> = (1..=100).map(f64::from).collect();
        let (r, c) = decile_counts(&reference, &reference);
        assert_eq!(r, vec![10.0; 10]);
        assert_eq!(psi_of_counts(&r, &c), 0.0);
        // Everything above the reference: one bin holds all, nine are empty.
        let shifted: Vec<f64> = (1..=50).map(|v| f64::from(v) + 1000.0).collect();
        let (r, c) = decile_counts(&reference, &shifted);
        assert_eq!(c[9], 50.0);
        let expected =
            9.0 * (1e-6 - 0.1) * (1e-6f64 / 0.1).ln() + (1.0 - 0.1) * (1.0f64 / 0.1).ln();
        close(psi_of_counts(&r, &c), expected);
    }
}
