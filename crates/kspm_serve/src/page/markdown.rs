//! Enough Markdown for the rule pages kspm writes itself (headings, paragraphs, fenced code,
//! lists, tables, inline code), rendered through the escaping writer. Anything else shows as
//! the text it is; no raw HTML from the Markdown ever reaches the page.

use crate::html::Html;

/// Text with `` `code` `` spans.
fn inline(h: &mut Html, text: &str) {
    let mut parts = text.split('`');
    let mut code = false;
    if let Some(first) = parts.next() {
        h.text(first);
    }
    for part in parts {
        code = !code;
        if code {
            h.raw("<code>").text(part).raw("</code>");
        } else {
            h.text(part);
        }
    }
}

pub fn render(h: &mut Html, md: &str) {
    let mut lines = md.lines().peekable();
    let mut paragraph: Vec<&str> = Vec::new();
    let flush = |h: &mut Html, p: &mut Vec<&str>| {
        if !p.is_empty() {
            h.raw("<p>");
            inline(h, &p.join(" "));
            h.raw("</p>");
            p.clear();
        }
    };
    while let Some(line) = lines.next() {
        let t = line.trim_end();
        if let Some(rest) = t.strip_prefix("```") {
            flush(h, &mut paragraph);
            h.raw("<pre");
            if !rest.is_empty() {
                h.attr("data-lang", rest);
            }
            h.raw("><code>");
            for l in lines.by_ref() {
                if l.trim_end().starts_with("```") {
                    break;
                }
                h.text(l).raw("\n");
            }
            h.raw("</code></pre>");
        } else if let Some((level, text)) = heading(t) {
            flush(h, &mut paragraph);
            h.raw(match level {
                1 => "<h1>",
                2 => "<h2>",
                _ => "<h3>",
            });
            inline(h, text);
            h.raw(match level {
                1 => "</h1>",
                2 => "</h2>",
                _ => "</h3>",
            });
        } else if t.starts_with('|') {
            flush(h, &mut paragraph);
            h.raw("<table><tbody>");
            let mut row = Some(t);
            while let Some(r) = row {
                let cells: Vec<&str> = r.trim_matches('|').split('|').map(str::trim).collect();
                if !cells
                    .iter()
                    .all(|c| c.chars().all(|ch| ch == '-' || ch == ':'))
                {
                    h.raw("<tr>");
                    for c in cells {
                        h.raw("<td>");
                        inline(h, c);
                        h.raw("</td>");
                    }
                    h.raw("</tr>");
                }
                row = lines.next_if(|l| l.trim_start().starts_with('|'));
            }
            h.raw("</tbody></table>");
        } else if let Some(item) = t.strip_prefix("- ").or_else(|| t.strip_prefix("* ")) {
            flush(h, &mut paragraph);
            h.raw("<ul><li>");
            inline(h, item);
            while let Some(next) = lines.next_if(|l| l.starts_with("- ") || l.starts_with("* ")) {
                h.raw("</li><li>");
                inline(h, &next[2..]);
            }
            h.raw("</li></ul>");
        } else if t.trim().is_empty() {
            flush(h, &mut paragraph);
        } else {
            paragraph.push(t.trim());
        }
    }
    flush(h, &mut paragraph);
}

fn heading(line: &str) -> Option<(usize, &str)> {
    let level = line.bytes().take_while(|b| *b == b'#').count();
    (1..=6)
        .contains(&level)
        .then(|| line[level..].strip_prefix(' '))
        .flatten()
        .map(|text| (level, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_escapes() {
        let mut h = Html::new();
        render(
            &mut h,
            "# PS001 `host-pid`\n\n| a | b |\n|---|---|\n| 1 | <x> |\n\nText <b>\n```yaml\nk: <v>\n```\n- one\n- two",
        );
        assert_eq!(
            h.into_string(),
            "<h1>PS001 <code>host-pid</code></h1><table><tbody><tr><td>a</td><td>b</td></tr>\
             <tr><td>1</td><td>&lt;x&gt;</td></tr></tbody></table><p>Text &lt;b&gt;</p>\
             <pre data-lang=\"yaml\"><code>k: &lt;v&gt;\n</code></pre><ul><li>one</li><li>two</li></ul>"
        );
    }
}
