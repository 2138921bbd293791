//! A tiny HTML writer that escapes by default.
//!
//! Why not a template engine: the pages are small and built from typed models, and what matters
//! is that no user-controlled text (object names, labels, messages, cluster names, the query
//! string) can reach the page unescaped. Here that is a property of the types: markup can only be
//! written from `&'static str` literals ([`Html::raw`]), while every runtime string goes through
//! [`Html::text`] or [`Html::attr`], which escape it. A `String` cannot be passed to `raw` at
//! all, so forgetting to escape does not compile. That is the guarantee maud or askama would
//! give, without a proc-macro dependency and a template language to learn.

use std::fmt::Display;

/// An HTML document under construction.
#[derive(Default)]
pub struct Html {
    out: String,
}

/// Escapes text for element content and double-quoted attribute values alike.
pub fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

impl Html {
    pub fn new() -> Self {
        Self::default()
    }

    /// Markup, from a literal only.
    pub fn raw(&mut self, markup: &'static str) -> &mut Self {
        self.out.push_str(markup);
        self
    }

    /// Text content, escaped.
    pub fn text(&mut self, text: impl Display) -> &mut Self {
        escape_into(&mut self.out, &text.to_string());
        self
    }

    /// ` name="value"` with the value escaped; `name` is a literal.
    pub fn attr(&mut self, name: &'static str, value: impl Display) -> &mut Self {
        self.out.push(' ');
        self.out.push_str(name);
        self.out.push_str("=\"");
        escape_into(&mut self.out, &value.to_string());
        self.out.push('"');
        self
    }

    /// `<a href="HREF">TEXT</a>`. `href` must be a link this server built ([`Href`]): a
    /// relative path, never a scheme the page could run.
    pub fn link(&mut self, href: &Href, text: impl Display) -> &mut Self {
        self.raw("<a")
            .attr("href", &href.0)
            .raw(">")
            .text(text)
            .raw("</a>")
    }

    /// `<TAG>TEXT</TAG>` for a literal tag name.
    pub fn el(&mut self, tag: &'static str, text: impl Display) -> &mut Self {
        self.out.push('<');
        self.out.push_str(tag);
        self.out.push('>');
        self.text(text);
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push('>');
        self
    }

    /// Another writer's output (already escaped by construction).
    pub fn append(&mut self, other: Html) -> &mut Self {
        self.out.push_str(&other.into_string());
        self
    }

    pub fn into_string(self) -> String {
        self.out
    }
}

/// A link into this server: a fixed path from a literal and a query whose values are
/// form-encoded, so user-controlled text can never make it `javascript:` or another origin.
/// (Identifiers such as cluster names travel in the query, never in the path, where a name like
/// `..` would be normalised away by the browser.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Href(String);

impl Href {
    /// `path` (a literal starting with `/`) and its query.
    pub fn to(path: &'static str, query: &[(&str, &str)]) -> Self {
        debug_assert!(path.starts_with('/'));
        let mut out = path.to_owned();
        if !query.is_empty() {
            out.push('?');
            out.push_str(
                &form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(query)
                    .finish(),
            );
        }
        Self(out)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Display for Href {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_attributes_are_escaped() {
        let mut h = Html::new();
        h.raw("<p").attr("title", "\"><script>").raw(">");
        h.text("<script>alert('x')</script>&").raw("</p>");
        assert_eq!(
            h.into_string(),
            "<p title=\"&quot;&gt;&lt;script&gt;\">&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;</p>"
        );
    }

    #[test]
    fn links_stay_on_this_server() {
        let h = Href::to(
            "/cluster",
            &[("name", "javascript:alert(1)"), ("q", "a&b=<c>")],
        );
        assert_eq!(
            h.as_str(),
            "/cluster?name=javascript%3Aalert%281%29&q=a%26b%3D%3Cc%3E"
        );
        assert_eq!(Href::to("/", &[]).as_str(), "/");
    }
}
