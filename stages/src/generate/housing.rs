//! California-housing-like districts: the eight features of scikit-learn's
//! `fetch_california_housing` and the median house value `MedHouseVal` in
//! $100,000s, capped at 5.00001 as in the census data.
//!
//! Value grows with income (less than linearly), much more near the coast and
//! in the big metros, falls with crowding; so a forest finds what a straight
//! line misses. Drift: incomes up 20 %, houses 6 years older, more people per
//! district; rooms and bedrooms grow with income, so they move too (the demo's
//! drift report flags them); locations and occupancy are unchanged.

use crate::random::{Random, round};
use crate::table::{Table, Values};

struct Metro {
    latitude: f64,
    longitude: f64,
    spread: f64,
    income: f64,
    premium: f64,
}

const METROS: [(Metro, f64); 6] = [
    (Metro { latitude: 34.05, longitude: -118.25, spread: 0.35, income: 1.0, premium: 1.0 }, 0.36),
    (Metro { latitude: 37.70, longitude: -122.20, spread: 0.30, income: 1.25, premium: 1.5 }, 0.22),
    (Metro { latitude: 32.80, longitude: -117.10, spread: 0.25, income: 1.05, premium: 1.1 }, 0.09),
    (Metro { latitude: 38.60, longitude: -121.40, spread: 0.30, income: 0.95, premium: 0.5 }, 0.10),
    (Metro { latitude: 36.70, longitude: -119.70, spread: 0.60, income: 0.8, premium: 0.3 }, 0.13),
    (Metro { latitude: 39.80, longitude: -121.80, spread: 0.90, income: 0.75, premium: 0.2 }, 0.10),
];

/// Returns the clean table of `rows` districts.
pub fn table(rows: usize, drift: bool, data: &mut Random, noise: &mut Random) -> Table {
    let mut columns: [Vec<Option<f64>>; 9] = Default::default();
    let metros: Vec<(&Metro, f64)> = METROS.iter().map(|(m, w)| (m, *w)).collect();
    for _ in 0..rows {
        let metro = data.pick(&metros);
        let latitude = (metro.latitude + data.normal(0.0, metro.spread)).clamp(32.54, 41.95);
        let longitude = (metro.longitude + data.normal(0.0, metro.spread)).clamp(-124.35, -114.31);
        let income_shift = if drift { 1.2 } else { 1.0 };
        let income = data.lognormal(3.4 * metro.income * income_shift, 0.45).clamp(0.4999, 15.0001);
        let age_shift = if drift { 6.0 } else { 0.0 };
        let age = data.normal(28.0 + age_shift, 12.0).round().clamp(1.0, 52.0);
        let rooms = (data.normal(3.9 + 0.38 * income, 0.7) - 0.008 * age).max(1.5);
        let bedrooms = data.normal(0.95 + 0.025 * rooms, 0.05).max(0.5);
        let population =
            data.lognormal(if drift { 1500.0 } else { 1160.0 }, 0.6).round().clamp(3.0, 35_682.0);
        let occupancy = data.lognormal(2.9, 0.22).clamp(1.0, 12.0);
        let coast = -124.2 + (42.0 - latitude) * 0.747;
        let inland = (longitude - coast).max(0.0);
        let near_coast = (-inland / 0.45).exp();
        let value =
            0.25 + 0.33 * income.powf(0.92) + (0.6 + 0.3 * income) * near_coast * metro.premium
                - 0.12 * (occupancy - 2.9)
                + 0.004 * (age - 28.0) * near_coast;
        let value = (value * noise.lognormal(1.0, 0.24)).clamp(0.14999, 5.00001);
        let row = [income, age, rooms, bedrooms, population, occupancy, latitude, longitude, value];
        let decimals = [4, 0, 4, 4, 0, 4, 2, 2, 5];
        for ((column, value), places) in columns.iter_mut().zip(row).zip(decimals) {
            column.push(Some(round(value, places)));
        }
    }
    let names = [
        "MedInc",
        "HouseAge",
        "AveRooms",
        "AveBedrms",
        "Population",
        "AveOccup",
        "Latitude",
        "Longitude",
        "MedHouseVal",
    ];
    let mut table = Table::default();
    for (name, values) in names.into_iter().zip(columns) {
        table.push(name, Values::Float(values));
    }
    table
}

/// Dirt: missing bedroom counts and populations, crowded outliers, a stray
/// "unknown" house age.
pub fn spoil(table: &mut Table, random: &mut Random, scale: f64) {
    super::dirt::missing(table, random, "AveBedrms", 0.01 * scale);
    super::dirt::missing(table, random, "Population", 0.003 * scale);
    super::dirt::outliers(table, random, "AveOccup", 0.001 * scale, 40.0);
    super::dirt::wrong_type(table, random, "HouseAge", 0.0005 * scale, "unknown");
}
