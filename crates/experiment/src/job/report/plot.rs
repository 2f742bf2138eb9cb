//! `ic.png`: IC per test window (bars) above the cumulative daily IC of
//! each model's rolling ensemble and of the cross-model ensemble (lines),
//! on one shared axis of test dates.
//!
//! Text is drawn with an embedded subset of DejaVu Sans (see
//! `FONT-LICENSE.txt`), so the plot renders the same on machines without
//! system fonts.

use std::path::Path;
use std::sync::OnceLock;

use jiff::civil::Date;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::JobSummary;
use crate::job::results::ENSEMBLE;

const FONT: &[u8] = include_bytes!("DejaVuSans-subset.ttf");
const FAMILY: &str = "sans-serif";
const SIZE: (u32, u32) = (1200, 820);
const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// A chart of f64 × f64 on the PNG bitmap.
type Chart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A window's bar: first day, last day (open: to the end), IC.
type WindowBar = (Date, Option<Date>, f64);

fn register_font() -> Result<(), String> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED
        .get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err("the embedded font cannot be loaded".to_string())
    }
}

fn color(name: &str, index: usize) -> RGBColor {
    if name == ENSEMBLE {
        RGBColor(20, 20, 20)
    } else {
        COLORS[index % COLORS.len()]
    }
}

/// The lowest and highest of `values` and 0 (the axis always shows 0).
fn span(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((0.0, 0.0), |(lo, hi): (f64, f64), v| (lo.min(v), hi.max(v)))
}

/// A chart on `area` titled `text.0`, its y axis named `text.1`, with the
/// mesh drawn and x values labelled by `label_of` (test dates).
fn chart_on<'a, 'b>(
    area: &'a DrawingArea<BitMapBackend<'b>, Shift>,
    text: (&str, &str),
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    label_of: &dyn Fn(&f64) -> String,
) -> Result<Chart<'a, 'b>, String> {
    let (caption, y_desc) = text;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FAMILY, 24))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(70)
        .build_cartesian_2d(x, y)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_labels(12)
        .x_label_formatter(label_of)
        .y_desc(y_desc)
        .label_style((FAMILY, 14))
        .draw()
        .map_err(|e| e.to_string())?;
    Ok(chart)
}

/// The series' legend, in the chart's upper left corner.
fn draw_legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FAMILY, 14))
        .draw()
        .map_err(|e| e.to_string())
}

/// Draw the plot of `summary` into `path`.
///
/// # Errors
/// A message when drawing or encoding fails.
pub(crate) fn draw(summary: &JobSummary, path: &Path) -> Result<(), String> {
    register_font()?;
    let mut dates: Vec<Date> = summary
        .overall
        .iter()
        .flat_map(|s| s.daily.iter().map(|d| d.0))
        .collect();
    dates.sort();
    dates.dedup();
    if dates.is_empty() {
        return Err("no day has an IC to plot".to_string());
    }
    let x_max = dates.len() as f64;
    let index_of = |d: Date| dates.partition_point(|x| *x < d) as f64;
    let label_of = |x: &f64| {
        let i = (x.max(0.0) as usize).min(dates.len() - 1);
        dates[i].strftime("%Y-%m").to_string()
    };
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (top, bottom) = root.split_vertically(SIZE.1 / 2);

    // Top: one bar per group and window, spanning the window's dates.
    let groups: Vec<(&str, Vec<WindowBar>)> = summary
        .overall
        .iter()
        .map(|s| {
            let bars = if s.name == ENSEMBLE {
                summary
                    .ensemble_windows
                    .iter()
                    .filter_map(|e| Some((e.test_start, e.test_end, e.ic?)))
                    .collect()
            } else {
                summary
                    .windows
                    .iter()
                    .filter(|w| w.model == s.name)
                    .filter_map(|w| Some((w.test_start, w.test_end, *w.metrics.get("test_ic")?)))
                    .collect()
            };
            (s.name.as_str(), bars)
        })
        .collect();
    let (lo, hi) = span(groups.iter().flat_map(|(_, bars)| bars.iter().map(|b| b.2)));
    // Headroom above the bars for the legend.
    let pad = ((hi - lo) * 0.1).max(0.005);
    let room = (hi - lo) * 0.35 + pad;
    let mut chart = chart_on(
        &top,
        ("IC per test window", "IC"),
        0.0..x_max,
        (lo - pad)..(hi + room),
        &label_of,
    )?;
    let n = groups.len() as f64;
    for (g, (name, bars)) in groups.iter().enumerate() {
        let c = color(name, g);
        let rects = bars.iter().map(|(start, end, ic)| {
            let a = index_of(*start);
            let b = end.map_or(x_max, |e| dates.partition_point(|x| *x <= e) as f64);
            let width = (b - a) / n;
            let x0 = a + width * g as f64 + width * 0.1;
            let x1 = a + width * (g as f64 + 1.0) - width * 0.1;
            Rectangle::new([(x0, 0.0), (x1, *ic)], c.filled())
        });
        chart
            .draw_series(rects)
            .map_err(|e| e.to_string())?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], c.filled()));
    }
    draw_legend(&mut chart)?;

    // Bottom: cumulative daily IC.
    let cumulative: Vec<(&str, Vec<(f64, f64)>)> = summary
        .overall
        .iter()
        .map(|s| {
            let mut total = 0.0;
            let points = s
                .daily
                .iter()
                .map(|(d, ic, _)| {
                    total += ic;
                    (index_of(*d), total)
                })
                .collect();
            (s.name.as_str(), points)
        })
        .collect();
    let (lo, hi) = span(cumulative.iter().flat_map(|(_, p)| p.iter().map(|p| p.1)));
    let pad = ((hi - lo) * 0.05).max(0.05);
    let mut chart = chart_on(
        &bottom,
        ("Cumulative daily IC over the test period", "cumulative IC"),
        0.0..x_max,
        (lo - pad)..(hi + pad),
        &label_of,
    )?;
    for (g, (name, points)) in cumulative.into_iter().enumerate() {
        let c = color(name, g);
        let width = if name == ENSEMBLE { 3 } else { 2 };
        chart
            .draw_series(LineSeries::new(points, c.stroke_width(width)))
            .map_err(|e| e.to_string())?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], c.stroke_width(3)));
    }
    draw_legend(&mut chart)?;
    root.present().map_err(|e| e.to_string())
}
