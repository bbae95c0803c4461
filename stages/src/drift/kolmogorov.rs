//! The distribution of the one-sample two-sided Kolmogorov–Smirnov statistic
//! D_n, as scipy's `kstwo.sf` computes it (`scipy/stats/_ksstats.py`, after
//! Simard & L'Ecuyer 2011): Ruben–Gambino at the ends, the Durbin matrix
//! (Marsaglia–Tsang–Wang) and Pomeranz's recursion for small n, the
//! Pelz–Good approximation for large n, and twice the one-sided Smirnov
//! probability in the upper tail. `ks_2samp` takes its asymptotic p-value
//! from here.

/// 2^128 and 2^-128, scipy's rescaling steps.
const EP128: f64 = 3.402_823_669_209_385e38;
const EM128: f64 = 2.938_735_877_055_719e-39;

/// Returns Pr(D_n ≥ x).
pub fn kstwo_sf(n: u64, x: f64) -> f64 {
    kolmogn(n, x, false)
}

fn clip(p: f64) -> f64 {
    p.clamp(0.0, 1.0)
}

fn select(cdf_prob: f64, sf_prob: f64, cdf: bool) -> f64 {
    clip(if cdf { cdf_prob } else { sf_prob })
}

/// log(n! / n^n) by Stirling's series (scipy's `_log_nfactorial_div_n_pow_n`).
fn log_nfactorial_div_n_pow_n(n: f64) -> f64 {
    const STIRLING: [f64; 8] = [
        -2.955_065_359_477_124e-2,
        6.410_256_410_256_41e-3,
        -1.917_526_917_526_917_6e-3,
        8.417_508_417_508_417e-4,
        -5.952_380_952_380_953e-4,
        7.936_507_936_507_937e-4,
        -2.777_777_777_777_778e-3,
        8.333_333_333_333_333e-2,
    ];
    let rn = 1.0 / n;
    let polynomial = STIRLING.iter().fold(0.0, |acc, c| acc * (rn / n) + c);
    n.ln() / 2.0 - n + (2.0 * std::f64::consts::PI).ln() / 2.0 + rn * polynomial
}

fn kolmogn(n: u64, x: f64, cdf: bool) -> f64 {
    if n == 0 || x.is_nan() {
        return f64::NAN;
    }
    let nf = n as f64;
    if x >= 1.0 {
        return select(1.0, 0.0, cdf);
    }
    if x <= 0.0 {
        return select(0.0, 1.0, cdf);
    }
    let t = nf * x;
    if t <= 1.0 {
        if t <= 0.5 {
            return select(0.0, 1.0, cdf);
        }
        let prob = if n <= 140 {
            (1..=n).map(|i| i as f64 / nf * (2.0 * t - 1.0)).product()
        } else {
            (log_nfactorial_div_n_pow_n(nf) + nf * (2.0 * t - 1.0).ln()).exp()
        };
        return select(prob, 1.0 - prob, cdf);
    }
    if t >= nf - 1.0 {
        let prob = 2.0 * (1.0 - x).powf(nf);
        return select(1.0 - prob, prob, cdf);
    }
    if x >= 0.5 {
        let prob = 2.0 * smirnov_sf(n, x);
        return select(1.0 - prob, prob, cdf);
    }
    let nxsquared = t * x;
    if n <= 140 {
        if nxsquared <= 0.754_693 {
            let prob = durbin_cdf(n, x);
            return select(prob, 1.0 - prob, cdf);
        }
        if nxsquared <= 4.0 {
            let prob = pomeranz_cdf(n, x);
            return select(prob, 1.0 - prob, cdf);
        }
        let prob = 2.0 * smirnov_sf(n, x);
        return select(1.0 - prob, prob, cdf);
    }
    if !cdf {
        if nxsquared >= 370.0 {
            return 0.0;
        }
        if nxsquared >= 2.2 {
            return clip(2.0 * smirnov_sf(n, x));
        }
    }
    let cdf_prob = if nxsquared >= 18.0 {
        1.0
    } else if n <= 100_000 && nf * x.powf(1.5) <= 1.4 {
        durbin_cdf(n, x)
    } else {
        pelz_good_cdf(n, x)
    };
    select(cdf_prob, 1.0 - cdf_prob, cdf)
}

type Matrix = Vec<Vec<f64>>;

fn multiply(a: &Matrix, b: &Matrix) -> Matrix {
    let m = a.len();
    let mut out = vec![vec![0.0; m]; m];
    for i in 0..m {
        for k in 0..m {
            let aik = a[i][k];
            if aik == 0.0 {
                continue;
            }
            for j in 0..m {
                out[i][j] += aik * b[k][j];
            }
        }
    }
    out
}

/// Pr(D_n ≤ d) by the Durbin matrix, as Marsaglia, Tsang and Wang compute it.
fn durbin_cdf(n: u64, d: f64) -> f64 {
    if d >= 1.0 {
        return 1.0;
    }
    let nd = n as f64 * d;
    if nd <= 0.5 {
        return 0.0;
    }
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;
    let mut v: Vec<f64> = (1..=m).map(|j| 1.0 - h.powi(j as i32)).collect();
    let mut w = vec![0.0; m];
    let mut fac = 1.0;
    for j in 1..=m {
        w[j - 1] = fac;
        fac /= j as f64;
        v[j - 1] *= fac;
    }
    let tt = (2.0 * h - 1.0).max(0.0).powi(m as i32) - 2.0 * h.powi(m as i32);
    v[m - 1] = (1.0 + tt) * fac;
    let mut matrix = vec![vec![0.0; m]; m];
    for i in 1..m {
        for row in (i - 1)..m {
            matrix[row][i] = w[row - (i - 1)];
        }
    }
    for row in 0..m {
        matrix[row][0] = v[row];
    }
    for column in 0..m {
        matrix[m - 1][column] = v[m - 1 - column];
    }
    let mut power: Matrix =
        (0..m).map(|i| (0..m).map(|j| f64::from(u8::from(i == j))).collect()).collect();
    let (mut nn, mut exponent, mut matrix_exponent) = (n, 0i32, 0i32);
    while nn > 0 {
        if nn % 2 == 1 {
            power = multiply(&power, &matrix);
            exponent += matrix_exponent;
        }
        matrix = multiply(&matrix, &matrix);
        matrix_exponent *= 2;
        if matrix[k - 1][k - 1].abs() > EP128 {
            matrix.iter_mut().flatten().for_each(|x| *x /= EP128);
            matrix_exponent += 128;
        }
        nn /= 2;
    }
    let mut p = power[k - 1][k - 1];
    for i in 1..=n {
        p = i as f64 * p / n as f64;
        if p.abs() < EM128 {
            p *= EP128;
            exponent -= 128;
        }
    }
    if exponent != 0 {
        p *= 2f64.powi(exponent);
    }
    clip(p)
}

/// The interval of row `i` in Pomeranz's recursion.
fn pomeranz_j1j2(i: i64, n: i64, ll: i64, ceilf: i64, roundf: i64) -> (i64, i64) {
    let (j1, j2) = if i == 0 {
        (-ll - ceilf - 1, ll + ceilf - 1)
    } else {
        let (half, odd) = ((i + 1) / 2, (i + 1) % 2);
        if odd == 0 {
            if half == n + 1 {
                (n - ll - ceilf - 1, n + ll + ceilf - 1)
            } else {
                (half - 1 - ll - roundf - 1, half + ll - 1 + ceilf - 1)
            }
        } else {
            (half - 1 - ll - 1, half + ll + roundf - 1)
        }
    };
    ((j1 + 2).max(0), j2.min(n))
}

/// Pr(D_n ≤ x) by Pomeranz's recursion.
fn pomeranz_cdf(n: u64, x: f64) -> f64 {
    let n_i = n as i64;
    let nf = n as f64;
    let t = nf * x;
    let ll = t.floor() as i64;
    let f = t - ll as f64;
    let g = f.min(1.0 - f);
    let ceilf = i64::from(f > 0.0);
    let roundf = i64::from(f > 0.5);
    let npwrs = (2 * (ll + 1)) as usize;
    let mut gpower = vec![1.0; npwrs];
    let mut twogpower = vec![1.0; npwrs];
    let mut onem2gpower = vec![1.0; npwrs];
    let (g_over_n, two_g_over_n, one_minus_two_g_over_n) =
        (g / nf, 2.0 * g / nf, (1.0 - 2.0 * g) / nf);
    for m in 1..npwrs {
        gpower[m] = gpower[m - 1] * g_over_n / m as f64;
        twogpower[m] = twogpower[m - 1] * two_g_over_n / m as f64;
        onem2gpower[m] = onem2gpower[m - 1] * one_minus_two_g_over_n / m as f64;
    }
    let mut v0 = vec![0.0; npwrs];
    let mut v1 = vec![0.0; npwrs];
    v1[0] = 1.0;
    let (mut v0s, mut v1s) = (0i64, 0i64);
    let mut exponent = 0i32;
    let mut j1 = pomeranz_j1j2(0, n_i, ll, ceilf, roundf).0;
    for i in 1..(2 * n_i + 2) {
        let k1 = j1;
        std::mem::swap(&mut v0, &mut v1);
        std::mem::swap(&mut v0s, &mut v1s);
        v1.iter_mut().for_each(|x| *x = 0.0);
        let j2;
        (j1, j2) = pomeranz_j1j2(i, n_i, ll, ceilf, roundf);
        let powers = if i == 1 || i == 2 * n_i + 1 {
            &gpower
        } else if i % 2 == 1 {
            &twogpower
        } else {
            &onem2gpower
        };
        let ln2 = j2 - k1 + 1;
        if ln2 > 0 {
            let start = (k1 - v0s) as usize;
            let length = ln2 as usize;
            let a = &v0[start..(start + length).min(v0.len())];
            let b = &powers[..length.min(powers.len())];
            // Full convolution of a and b.
            let mut conv = vec![0.0; a.len() + b.len() - 1];
            for (p, &x) in a.iter().enumerate() {
                for (q, &y) in b.iter().enumerate() {
                    conv[p + q] += x * y;
                }
            }
            let conv_start = (j1 - k1) as usize;
            let conv_len = (j2 - j1 + 1).max(0) as usize;
            for (c, slot) in v1.iter_mut().take(conv_len).enumerate() {
                *slot = conv.get(conv_start + c).copied().unwrap_or(0.0);
            }
            let top = v1.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if top > 0.0 && top < EM128 {
                v1.iter_mut().for_each(|x| *x *= EP128);
                exponent -= 128;
            }
            v1s = v0s + j1 - k1;
        }
    }
    let mut answer = v1[(n_i - v1s) as usize];
    for m in 1..=n {
        if answer.abs() > EP128 {
            answer *= EM128;
            exponent += 128;
        }
        answer *= m as f64;
    }
    if exponent != 0 {
        answer *= 2f64.powi(exponent);
    }
    clip(answer)
}

/// The Pelz–Good approximation of Pr(D_n ≤ x).
fn pelz_good_cdf(n: u64, x: f64) -> f64 {
    use std::f64::consts::PI;
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let nf = n as f64;
    let z = nf.sqrt() * x;
    let (z2, z3, z4, z6) = (z * z, z.powi(3), z.powi(4), z.powi(6));
    let (pi2, pi4, pi6) = (PI * PI, PI.powi(4), PI.powi(6));
    let qlog = -pi2 / 8.0 / z2;
    if qlog < -708.0 {
        return 0.0;
    }
    let q = qlog.exp();
    let (k1a, k1b) = (-z2, pi2 / 4.0);
    let k2a = 6.0 * z6 + 2.0 * z4;
    let k2b = (2.0 * z4 - 5.0 * z2) * pi2 / 4.0;
    let k2c = pi4 * (1.0 - 2.0 * z2) / 16.0;
    let k3d = pi6 * (5.0 - 30.0 * z2) / 64.0;
    let k3c = pi4 * (-60.0 * z2 + 212.0 * z4) / 16.0;
    let k3b = pi2 * (135.0 * z4 - 96.0 * z6) / 4.0;
    let k3a = -30.0 * z6 - 90.0 * z.powi(8);
    let mut k = [0.0f64; 4];
    let maxk = (16.0 * z / PI).ceil() as i64;
    for kk in (1..=maxk).rev() {
        let m = (2 * kk - 1) as f64;
        let (m2, m4, m6) = (m * m, m.powi(4), m.powi(6));
        let qpower = q.powf(8.0 * kk as f64);
        let coeffs =
            [1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6];
        for (value, c) in k.iter_mut().zip(coeffs) {
            *value = *value * qpower + c;
        }
    }
    let sqrt2pi = (2.0 * PI).sqrt();
    let divisors = [z, 6.0 * z4, 72.0 * z.powi(7), 6480.0 * z.powi(10)];
    for (value, divisor) in k.iter_mut().zip(divisors) {
        *value = *value * q * sqrt2pi / divisor;
    }
    let q = (-pi2 / 2.0 / z2).exp();
    let sqrt3z = 3f64.sqrt() * z;
    let (mut k2extra, mut k3extra) = (0.0, 0.0);
    for kk in (1..=maxk).rev() {
        let kf = kk as f64;
        let qpower = q.powf(kf * kf);
        k2extra += kf * kf * qpower;
        let kspi = PI * kf;
        k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * kf * kf * qpower;
    }
    k[2] += k2extra * pi2 * sqrt2pi / (-36.0 * z3);
    k[3] += k3extra * pi2 * sqrt2pi / (216.0 * z6);
    for (i, value) in k.iter_mut().enumerate() {
        *value /= nf.powf(i as f64 / 2.0);
    }
    k.iter().sum()
}

/// Pr(D_n⁺ ≥ x), the one-sided Smirnov upper tail, by the exact
/// Birnbaum–Tingey sum (terms in log space).
pub fn smirnov_sf(n: u64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    if x >= 1.0 {
        return 0.0;
    }
    let nf = n as f64;
    let last = (nf * (1.0 - x)).floor() as u64;
    let log_n_factorial = libm::lgamma(nf + 1.0);
    let mut sum = 0.0;
    for j in 0..=last {
        let jf = j as f64;
        let a = 1.0 - x - jf / nf;
        if a <= 0.0 && n - j > 0 {
            continue;
        }
        let log_choose = log_n_factorial - libm::lgamma(jf + 1.0) - libm::lgamma(nf - jf + 1.0);
        let log_a = if n == j { 0.0 } else { (nf - jf) * a.ln() };
        let log_b = (jf - 1.0) * (x + jf / nf).ln();
        sum += (log_choose + log_a + log_b).exp();
    }
    clip(x * sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values from scipy 1.17.1: `scipy.stats.kstwo.sf(x, n)` and
    /// `scipy.special.smirnov(n, x)`, one case or more per branch.
    #[test]
    fn matches_scipy() {
        let cases: &[(u64, f64, f64)] = &[
            (5, 0.15, 0.9988),
            (5, 0.3, 0.664),
            (5, 0.55, 0.059696249999999965),
            (5, 0.9, 1.9999999999999978e-05),
            (20, 0.05, 0.9999999767980384),
            (20, 0.12, 0.9031355120796009),
            (20, 0.2, 0.352720173623415),
            (20, 0.35, 0.01075496344438931),
            (20, 0.6, 2.0483011649719853e-07),
            (100, 0.03, 0.9999692479033473),
            (100, 0.08, 0.5182193645480672),
            (100, 0.15, 0.019839242125643017),
            (100, 0.25, 5.408871776434847e-06),
            (140, 0.1, 0.11353657290090946),
            (141, 0.1, 0.11128445516467944),
            (500, 0.02, 0.9859871786857471),
            (500, 0.05, 0.15866260223815387),
            (500, 0.08, 0.0031305058199356268),
            (1000, 0.03, 0.3226902143914636),
            (5000, 0.01, 0.6954557253913853),
            (5000, 0.02, 0.03613941395325637),
            (5000, 0.03, 0.00024159234422666817),
            (20000, 0.005, 0.6974088406327613),
            (20000, 0.01, 0.03638603905248727),
            (150000, 0.003, 0.1341018124495077),
            (150000, 0.002, 0.5852546878861703),
        ];
        for &(n, x, expected) in cases {
            let got = kstwo_sf(n, x);
            assert!((got - expected).abs() < 1e-9, "kstwo.sf({x}, {n}) = {got}, scipy {expected}");
        }
        for (n, x, expected) in [
            (5, 0.3, 0.34282),
            (100, 0.1, 0.1265906584562817),
            (5000, 0.02, 0.01806981293722266),
            (20, 0.6, 1.0241505824859927e-07),
        ] {
            let got = smirnov_sf(n, x);
            assert!((got - expected).abs() < 1e-12, "smirnov({n}, {x}) = {got}, scipy {expected}");
        }
    }
}
