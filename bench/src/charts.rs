//! PNG charts of a side-by-side run (plotters, bitmap backend).
//!
//! Text is drawn with plotters' `ab_glyph` renderer from a TrueType font read at run time
//! (`BENCH_FONT`, else DejaVu Sans or Liberation Sans from the usual system paths), so
//! building needs neither fontconfig nor freetype. Without a font the charts are drawn
//! without any text (bars, target lines and axes only) and the markdown carries the numbers.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::BoxError;
use crate::report::thousands;

/// Where a font may be (first found wins, after `BENCH_FONT`).
const FONT_CANDIDATES: [&str; 5] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
];

/// The family name the font is registered under.
const FAMILY: &str = "sans-serif";

/// Registers a font once; `true` if text can be drawn.
fn font() -> bool {
    static FONT: OnceLock<bool> = OnceLock::new();
    *FONT.get_or_init(|| {
        let env = std::env::var_os("BENCH_FONT").map(PathBuf::from);
        let found = env
            .into_iter()
            .chain(FONT_CANDIDATES.iter().map(PathBuf::from))
            .find_map(|p| std::fs::read(&p).ok());
        match found {
            // Registered fonts live as long as the process: leak the bytes once.
            Some(bytes) => {
                plotters::style::register_font(FAMILY, FontStyle::Normal, bytes.leak()).is_ok()
            }
            None => false,
        }
    })
}

/// One bar.
#[derive(Debug, Clone)]
pub(crate) struct Bar {
    /// Label under the bar.
    pub(crate) label: String,
    /// Height.
    pub(crate) value: f64,
    /// Text above the bar.
    pub(crate) caption: String,
    /// Fill colour.
    pub(crate) color: RGBColor,
}

/// Colours: ours, the librdkafka/Java ceilings, the seed's stack, the other Rust framework.
pub(crate) const OURS: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
/// Colour of the clients without a framework (raw rdkafka, Java).
pub(crate) const CEILING: RGBColor = RGBColor(0x7f, 0x7f, 0x7f);
/// Colour of the seed's stack (kafkajs).
pub(crate) const SEED: RGBColor = RGBColor(0xd6, 0x27, 0x28);
/// Colour of the other Rust framework (RustStream).
pub(crate) const RUST_PEER: RGBColor = RGBColor(0xff, 0x7f, 0x0e);
/// Colour of a met target.
pub(crate) const MET: RGBColor = RGBColor(0x2c, 0xa0, 0x2c);

/// A bar chart `title` of `bars` with y axis `y_label`, written to `path` (a 450 px high PNG,
/// 130 px wide per bar plus 100, at least 800, so the labels under the bars do not overlap);
/// `line` draws a dashed horizontal line at that height (e.g. a target).
pub(crate) fn bars(
    path: &Path,
    title: &str,
    y_label: &str,
    bars: &[Bar],
    line: Option<f64>,
) -> Result<(), BoxError> {
    let text = font();
    let width = u32::try_from(bars.len())
        .unwrap_or(u32::MAX)
        .saturating_mul(130)
        .saturating_add(100)
        .clamp(800, 2000);
    let root = BitMapBackend::new(path, (width, 450)).into_drawing_area();
    root.fill(&WHITE)?;
    let top = bars
        .iter()
        .map(|b| b.value)
        .chain(line)
        .fold(0.0_f64, f64::max)
        .max(1e-9)
        * 1.18;
    let n = bars.len().max(1) as u32;
    let mut builder = ChartBuilder::on(&root);
    builder.margin(14);
    if text {
        builder
            .caption(title, (FAMILY, 22))
            .x_label_area_size(44)
            .y_label_area_size(84);
    } else {
        builder.x_label_area_size(8).y_label_area_size(8);
    }
    // `(0..k).into_segmented()` has a segment for every value in 0..=k: k = n - 1 gives n.
    let mut chart = builder.build_cartesian_2d((0..n - 1).into_segmented(), 0.0..top)?;
    {
        let mut mesh = chart.configure_mesh();
        mesh.disable_x_mesh().light_line_style(WHITE.mix(0.0));
        if text {
            let labels: Vec<String> = bars.iter().map(|b| b.label.clone()).collect();
            let fmt_x = move |x: &SegmentValue<u32>| match x {
                SegmentValue::CenterOf(i) => labels.get(*i as usize).cloned().unwrap_or_default(),
                _ => String::new(),
            };
            mesh.y_desc(y_label)
                .axis_desc_style((FAMILY, 15))
                .label_style((FAMILY, 13))
                .x_label_formatter(&fmt_x)
                .y_label_formatter(&|y: &f64| short(*y))
                .draw()?;
        } else {
            mesh.disable_x_mesh()
                .disable_y_mesh()
                .x_labels(0)
                .y_labels(0)
                .draw()?;
        }
    }
    chart.draw_series(bars.iter().enumerate().map(|(i, b)| {
        let i = i as u32;
        let mut r = Rectangle::new(
            [
                (SegmentValue::Exact(i), 0.0),
                (SegmentValue::Exact(i + 1), b.value),
            ],
            b.color.filled(),
        );
        r.set_margin(0, 0, 14, 14);
        r
    }))?;
    if let Some(y) = line {
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(SegmentValue::Exact(0), y), (SegmentValue::Exact(n), y)],
            ShapeStyle::from(&BLACK).stroke_width(2),
        )))?;
    }
    if text {
        chart.draw_series(bars.iter().enumerate().map(|(i, b)| {
            Text::new(
                b.caption.clone(),
                (SegmentValue::CenterOf(i as u32), b.value + top * 0.015),
                (FAMILY, 14)
                    .into_font()
                    .color(&BLACK)
                    .pos(plotters::style::text_anchor::Pos::new(
                        plotters::style::text_anchor::HPos::Center,
                        plotters::style::text_anchor::VPos::Bottom,
                    )),
            )
        }))?;
    }
    root.present()?;
    Ok(())
}

/// `1234567` → `1.23M`, `45600` → `45.6k`, `0.95` → `0.95`.
pub(crate) fn short(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 10.0 {
        format!("{v:.0}")
    } else if a == 0.0 {
        "0".to_owned()
    } else {
        format!("{v:.2}")
    }
}

/// `caption` of a rate bar: `1,234,567/s`.
pub(crate) fn rate_caption(v: f64) -> String {
    format!("{}/s", thousands(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_numbers() {
        assert_eq!(short(2_166_340.0), "2.17M");
        assert_eq!(short(45_600.0), "46k");
        assert_eq!(short(1_500.0), "1.5k");
        assert_eq!(short(322.0), "322");
        assert_eq!(short(0.954), "0.95");
    }

    #[test]
    fn a_chart_is_written() {
        let dir = std::env::temp_dir().join(format!("consume-bench-chart-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("t.png");
        let b = |label: &str, value, color| Bar {
            label: label.to_owned(),
            value,
            caption: rate_caption(value),
            color,
        };
        bars(
            &p,
            "test",
            "msgs/s",
            &[
                b("a", 2.0e6, CEILING),
                b("b1", 1.9e6, OURS),
                b("c1", 3.0e5, SEED),
            ],
            Some(1.0e6),
        )
        .unwrap();
        let png = std::fs::read(&p).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
