//! `im-load plot`: draws the benchmark's figures as SVG files from a spec that
//! scripts/bench-report writes (series of points per figure).

use std::path::PathBuf;

use anyhow::Context;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use serde::Deserialize;

use crate::cli::PlotArgs;

#[derive(Deserialize)]
struct Figure {
    /// File name under the output directory, e.g. `send-latency.svg`.
    file: String,
    title: String,
    x: Axis,
    y_label: String,
    /// A logarithmic latency axis; else a linear one from 0.
    y_log: bool,
    series: Vec<Series>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum Axis {
    /// Percentiles, spread as in an HDR histogram plot: 90% and 99% and 99.9% equally apart.
    Percentile,
    /// Connections, doubling at each step.
    Connections,
}

#[derive(Deserialize)]
struct Series {
    name: String,
    points: Vec<(f64, f64)>,
}

pub fn run(args: PlotArgs) -> anyhow::Result<bool> {
    let spec = std::fs::read_to_string(&args.spec)
        .with_context(|| format!("cannot read {}", args.spec.display()))?;
    let figures: Vec<Figure> = serde_json::from_str(&spec).context("a malformed plot spec")?;
    std::fs::create_dir_all(&args.out_dir)?;
    for figure in figures {
        let path = args.out_dir.join(&figure.file);
        draw(&figure, &path).with_context(|| format!("cannot draw {}", path.display()))?;
        println!("drew {}", path.display());
    }
    Ok(true)
}

/// Where a point's x goes on the axis.
fn x_position(axis: Axis, x: f64) -> f64 {
    match axis {
        // 50% -> 0.3, 90% -> 1, 99% -> 2, 99.9% -> 3: the number of nines.
        Axis::Percentile => -(1.0 - x / 100.0).max(1e-6).log10(),
        Axis::Connections => x.max(1.0).log2(),
    }
}

fn x_label(axis: Axis, position: f64) -> String {
    match axis {
        Axis::Percentile => {
            let percentile = 100.0 * (1.0 - 10f64.powf(-position));
            format!("{}%", (percentile * 1000.0).round() / 1000.0)
        }
        Axis::Connections => format!("{}", 2f64.powf(position).round()),
    }
}

fn draw(figure: &Figure, path: &PathBuf) -> anyhow::Result<()> {
    let points = || figure.series.iter().flat_map(|s| s.points.iter());
    let x_max = points()
        .map(|&(x, _)| x_position(figure.x, x))
        .fold(1.0, f64::max);
    let y_max = points().map(|&(_, y)| y).fold(f64::MIN_POSITIVE, f64::max);
    let y_min = points().map(|&(_, y)| y).fold(y_max, f64::min);

    let root = SVGBackend::new(path, (900, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root);
    chart
        .caption(&figure.title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(72);
    // Whole steps: labels at 90%, 99%, 99.9%... or at 1, 2, 4, 8... connections.
    let x_steps = x_max.ceil();
    let x_range = 0.0..x_steps;
    if figure.y_log {
        // Headroom above the curves for the legend.
        let y_range = (y_min * 0.8).max(0.001)..y_max * 4.0;
        let chart = chart.build_cartesian_2d(x_range, y_range.log_scale())?;
        draw_series(chart, figure, x_steps)?;
    } else {
        let chart = chart.build_cartesian_2d(x_range, 0.0..y_max * 1.1)?;
        draw_series(chart, figure, x_steps)?;
    }
    root.present()?;
    Ok(())
}

/// The mesh, each series as a line with its points marked, and the legend, on either y axis.
fn draw_series<'a, Y>(
    mut chart: ChartContext<'a, SVGBackend<'a>, Cartesian2d<RangedCoordf64, Y>>,
    figure: &Figure,
    x_steps: f64,
) -> anyhow::Result<()>
where
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let x_axis = figure.x;
    chart
        .configure_mesh()
        .x_labels(x_steps as usize + 1)
        .x_desc(match x_axis {
            Axis::Percentile => "percentile",
            Axis::Connections => "connections",
        })
        .y_desc(&figure.y_label)
        .x_label_formatter(&|x| x_label(x_axis, *x))
        .draw()?;
    for (i, series) in figure.series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let line: Vec<(f64, f64)> = series
            .points
            .iter()
            .map(|&(x, y)| (x_position(x_axis, x), y))
            .collect();
        chart
            .draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))?
            .label(&series.name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2)));
        chart.draw_series(line.into_iter().map(|p| Circle::new(p, 3, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()?;
    Ok(())
}
