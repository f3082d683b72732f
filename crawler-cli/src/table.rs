//! Aligned tables for people: a header row, columns as wide as their content, the
//! widest text columns cut (with `…`) to fit the terminal, and a colour per cell
//! where the caller gives one. Cells arrive escaped (`escape::escape`); widths are
//! measured in terminal columns.

use anstyle::Style;
use unicode_width::UnicodeWidthStr;

/// How a column is aligned, and whether it may be cut to fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    /// Numbers: right-aligned, never cut.
    Right,
    /// Short words: left-aligned, never cut.
    Left,
    /// Free text (URLs, titles): left-aligned, cut first when the table is too wide.
    Text,
}

/// A cell's text and its style (plain unless the caller colours it).
pub struct Cell {
    pub text: String,
    pub style: Style,
}

impl Cell {
    pub fn plain(text: String) -> Cell {
        Cell {
            text,
            style: Style::new(),
        }
    }
}

/// Cut text columns keep at least this many terminal columns.
const MIN_TEXT_WIDTH: usize = 12;
/// Between two columns.
const GAP: &str = "  ";

/// Renders `headers` and `rows` as lines (no trailing newline), fitted to `width`
/// terminal columns when given, with styles only when `colour`.
pub fn render(
    headers: &[(&str, Align)],
    rows: &[Vec<Cell>],
    width: Option<usize>,
    colour: bool,
) -> Vec<String> {
    let mut widths: Vec<usize> = headers.iter().map(|(name, _)| name.width()).collect();
    for row in rows {
        for (at, cell) in row.iter().enumerate() {
            widths[at] = widths[at].max(cell.text.width());
        }
    }
    if let Some(width) = width {
        fit(&mut widths, headers, width);
    }
    let last = headers.len().saturating_sub(1);
    let line = |cells: Vec<(String, Style)>| -> String {
        let mut line = String::new();
        for (at, (text, style)) in cells.into_iter().enumerate() {
            let align = headers[at].1;
            let text = cut(&text, widths[at]);
            let pad = " ".repeat(widths[at].saturating_sub(text.width()));
            let styled = if colour && style != Style::new() {
                format!("{}{text}{}", style.render(), style.render_reset())
            } else {
                text
            };
            match align {
                Align::Right => line.push_str(&format!("{pad}{styled}")),
                // The last column is not padded: no trailing blanks.
                _ if at == last => line.push_str(&styled),
                _ => line.push_str(&format!("{styled}{pad}")),
            }
            if at != last {
                line.push_str(GAP);
            }
        }
        line
    };
    let header_style = Style::new().bold();
    let mut lines = vec![line(
        headers
            .iter()
            .map(|(name, _)| (name.to_uppercase(), header_style))
            .collect(),
    )];
    for row in rows {
        lines.push(line(
            row.iter()
                .map(|cell| (cell.text.clone(), cell.style))
                .collect(),
        ));
    }
    lines
}

/// Narrows the text columns, widest first, until the table fits `width` (or each is
/// at its minimum).
fn fit(widths: &mut [usize], headers: &[(&str, Align)], width: usize) {
    let total = |widths: &[usize]| widths.iter().sum::<usize>() + GAP.len() * (widths.len() - 1);
    while total(widths) > width {
        let widest = (0..widths.len())
            .filter(|&at| headers[at].1 == Align::Text && widths[at] > MIN_TEXT_WIDTH)
            .max_by_key(|&at| widths[at]);
        let Some(at) = widest else {
            return;
        };
        let over = total(widths) - width;
        widths[at] = widths[at].saturating_sub(over).max(MIN_TEXT_WIDTH);
    }
}

/// `text` in at most `width` terminal columns, ending in `…` when cut.
fn cut(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_owned();
    }
    let mut kept = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        kept.push(c);
        used += w;
    }
    kept.push('…');
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(cells: &[&[&str]]) -> Vec<Vec<Cell>> {
        cells
            .iter()
            .map(|row| row.iter().map(|c| Cell::plain((*c).to_owned())).collect())
            .collect()
    }

    const HEADERS: [(&str, Align); 3] = [
        ("status", Align::Left),
        ("size", Align::Right),
        ("url", Align::Text),
    ];

    #[test]
    fn columns_are_as_wide_as_their_content_under_a_header() {
        let lines = render(
            &HEADERS,
            &rows(&[
                &["200", "1.0 KiB", "http://a.test/"],
                &["404", "0 B", "http://a.test/x"],
            ]),
            None,
            false,
        );
        assert_eq!(
            lines,
            [
                "STATUS     SIZE  URL",
                "200     1.0 KiB  http://a.test/",
                "404         0 B  http://a.test/x",
            ]
        );
    }

    #[test]
    fn text_columns_are_cut_to_the_width() {
        let url = format!("http://a.test/{}", "x".repeat(100));
        let lines = render(&HEADERS, &rows(&[&["200", "1 B", &url]]), Some(40), false);
        assert!(lines.iter().all(|l| l.width() <= 40), "{lines:?}");
        assert!(lines[1].ends_with('…'), "{lines:?}");
        assert!(
            lines[1].starts_with("200      1 B  http://a.test/xx"),
            "{lines:?}"
        );
    }

    #[test]
    fn colour_only_when_asked_and_never_in_the_width() {
        let red = Style::new().fg_color(Some(anstyle::AnsiColor::Red.into()));
        let table = vec![vec![
            Cell {
                text: "500".into(),
                style: red,
            },
            Cell::plain("1 B".into()),
            Cell::plain("http://a.test/".into()),
        ]];
        let plain = render(&HEADERS, &table, None, false);
        assert!(!plain.concat().contains('\u{1b}'), "{plain:?}");
        let coloured = render(&HEADERS, &table, None, true);
        assert!(coloured[1].starts_with(&format!("{}500{}", red.render(), red.render_reset())));
        assert!(
            coloured[1].ends_with("   1 B  http://a.test/"),
            "{coloured:?}"
        );
    }
}
