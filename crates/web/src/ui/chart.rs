//! Charts drawn on the server as SVG (no chart script to download): the geometry is computed
//! here and the template only places the shapes. Every chart on a page also has its numbers in
//! a table, which is what screen readers use (the SVG is `aria-hidden`).

/// Coordinates of the drawing, in SVG user units (the `viewBox`); the SVG scales to its box.
pub const WIDTH: f64 = 720.0;
pub const HEIGHT: f64 = 260.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;
/// Widest bar.
const MAX_BAR: f64 = 40.0;
/// At most this many x labels are written; the others are skipped evenly.
const MAX_LABELS: usize = 12;

/// One rectangle.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    /// The series' CSS class (its colour).
    pub class: &'static str,
}

/// A horizontal grid line with its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    pub y: f64,
    pub label: String,
}

/// A label under a group of bars.
#[derive(Debug, Clone, PartialEq)]
pub struct XLabel {
    pub x: f64,
    pub text: String,
}

/// A bar chart of several series side by side for each group (e.g. received and resolved per
/// day).
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    pub bars: Vec<Bar>,
    pub ticks: Vec<Tick>,
    pub labels: Vec<XLabel>,
    pub left: f64,
    pub right: f64,
    pub baseline: f64,
}

/// The smallest 1, 2 or 5 × 10ⁿ at least `raw` (and at least 1).
fn nice_step(raw: f64) -> u64 {
    let mut magnitude = 1u64;
    loop {
        for m in [1, 2, 5] {
            if (m * magnitude) as f64 >= raw {
                return m * magnitude;
            }
        }
        magnitude *= 10;
    }
}

/// Rounds to one decimal, which is finer than a pixel at any size the chart is shown.
fn r(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Lays out `groups` (label and one value per series) with the series' CSS `classes`.
pub fn grouped(classes: &[&'static str], groups: &[(String, Vec<u64>)]) -> BarChart {
    let max = groups.iter().flat_map(|(_, v)| v.iter().copied()).max().unwrap_or(0);
    let step = nice_step(max as f64 / 4.0);
    let top = step * max.div_ceil(step).max(1);
    let (plot_w, plot_h) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    let baseline = TOP + plot_h;
    let y_of = |v: u64| baseline - plot_h * v as f64 / top as f64;
    let ticks =
        (0..=top / step).map(|i| Tick { y: r(y_of(i * step)), label: crate::ui::fmt::count(i * step) }).collect();
    let n = groups.len().max(1);
    let slot = plot_w / n as f64;
    let series = classes.len().max(1) as f64;
    // Bars fill 70 % of their slot, leaving a gap between groups, and stay slim when there
    // are few groups; each group is centred in its slot.
    let bar_w = (slot * 0.7 / series).min(MAX_BAR);
    let every = groups.len().div_ceil(MAX_LABELS).max(1);
    let mut bars = Vec::new();
    let mut labels = Vec::new();
    for (i, (label, values)) in groups.iter().enumerate() {
        let x0 = LEFT + slot * i as f64 + (slot - bar_w * series) / 2.0;
        for (j, (&v, &class)) in values.iter().zip(classes).enumerate() {
            let y = y_of(v);
            bars.push(Bar { x: r(x0 + bar_w * j as f64), y: r(y), w: r(bar_w), h: r(baseline - y), class });
        }
        if i % every == 0 {
            labels.push(XLabel { x: r(LEFT + slot * (i as f64 + 0.5)), text: label.clone() });
        }
    }
    BarChart { bars, ticks, labels, left: LEFT, right: WIDTH - RIGHT, baseline }
}

/// One part of a bar that shows shares of a whole.
#[derive(Debug, Clone, PartialEq)]
pub struct Share {
    /// Start and width in per cent of the bar.
    pub x: f64,
    pub w: f64,
    pub class: &'static str,
}

/// Splits a bar into the shares of `parts` (CSS class and count); empty parts take no room, and
/// nothing is drawn when everything is zero.
pub fn shares(parts: &[(&'static str, u64)]) -> Vec<Share> {
    let total: u64 = parts.iter().map(|p| p.1).sum();
    if total == 0 {
        return Vec::new();
    }
    let mut x = 0.0;
    parts
        .iter()
        .filter(|p| p.1 > 0)
        .map(|&(class, n)| {
            let w = 100.0 * n as f64 / total as f64;
            let s = Share { x: r(x), w: r(w), class };
            x += w;
            s
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_round_numbers() {
        assert_eq!([0.0, 0.3, 1.0, 1.5, 3.0, 7.0, 12.0, 260.0].map(nice_step), [1, 1, 1, 2, 5, 10, 20, 500]);
    }

    #[test]
    fn bars_stand_on_the_baseline_and_scale_to_the_top_tick() {
        let c = grouped(&["a", "b"], &[("01/11".into(), vec![8, 4]), ("02/11".into(), vec![0, 3])]);
        assert_eq!(c.bars.len(), 4);
        for b in &c.bars {
            assert!((b.y + b.h - c.baseline).abs() < 0.11, "{b:?}");
            assert!(b.x >= c.left && b.x + b.w <= c.right);
        }
        // 8 is the largest value: step 2, top 8, drawn to the top of the plot.
        assert_eq!(c.ticks.iter().map(|t| t.label.as_str()).collect::<Vec<_>>(), ["0", "2", "4", "6", "8"]);
        assert_eq!(c.bars[0].y, TOP);
        assert_eq!(c.bars[1].h * 2.0, c.bars[0].h);
        assert_eq!(c.bars[2].h, 0.0);
        assert_eq!(c.labels.len(), 2);
    }

    #[test]
    fn an_empty_chart_still_has_an_axis_and_long_ones_skip_labels() {
        let c = grouped(&["a"], &[]);
        assert!(c.bars.is_empty());
        assert_eq!(c.ticks.len(), 2);
        let days: Vec<(String, Vec<u64>)> = (1..=31).map(|d| (format!("{d:02}/12"), vec![d])).collect();
        let c = grouped(&["a"], &days);
        assert_eq!(c.labels.len(), 11);
        assert_eq!(c.labels[1].text, "04/12");
    }

    #[test]
    fn shares_fill_the_bar() {
        let s = shares(&[("early", 1), ("on-time", 0), ("late", 3)]);
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].x, s[0].w, s[1].x, s[1].w), (0.0, 25.0, 25.0, 75.0));
        assert!(shares(&[("early", 0)]).is_empty());
    }
}
