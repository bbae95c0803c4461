//! Numbers as people read them: `Fixed(x)` prints with the precision asked
//! for (`{:.4}`) and never as `-0.0000`.

use std::fmt;

/// A number shown to a fixed number of decimals, a negative that rounds to
/// zero shown as zero.
#[derive(Clone, Copy, Debug)]
pub struct Fixed(pub f64);

impl fmt::Display for Fixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let places = f.precision().unwrap_or(4);
        let scale = 10f64.powi(i32::try_from(places).unwrap_or(i32::MAX));
        let value = if (self.0 * scale).round() == 0.0 { 0.0 } else { self.0 };
        write!(f, "{value:.places$}")
    }
}

#[cfg(test)]
mod tests {
    use super::Fixed;

    #[test]
    fn a_negative_that_rounds_to_zero_is_zero() {
        assert_eq!(format!("{:.4}", Fixed(-0.00001)), "0.0000");
        assert_eq!(format!("{:.4}", Fixed(-0.0)), "0.0000");
        assert_eq!(format!("{:.2}", Fixed(-0.004)), "0.00");
        assert_eq!(format!("{:.4}", Fixed(-0.00005)), "-0.0001");
        assert_eq!(format!("{:.4}", Fixed(0.80634)), "0.8063");
        assert_eq!(format!("{}", Fixed(1.5)), "1.5000");
        assert_eq!(format!("{:.4}", Fixed(f64::NAN)), "NaN");
    }
}
