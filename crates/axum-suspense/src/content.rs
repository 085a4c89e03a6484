//! Ready-made content for the common cases, so that a part that is a line
//! of text, a piece of trusted HTML or a list of parts needs no template of
//! its own. Each is an askama [`Template`](askama::Template), so it goes
//! wherever a template does: a fallback, a part's content, error content,
//! or inside another template.

use std::borrow::Cow;

use askama::Template;

/// Text, escaped for HTML when it is rendered: `<`, `>`, `&`, `"` and `'`
/// become entities, so any string, from any source, shows as itself.
///
/// ```
/// use askama::Template;
/// use axum_suspense::Text;
///
/// assert_eq!(Text::new("Loading…").render().unwrap(), "Loading…");
/// assert_eq!(Text::new("<b>5 > 3</b>").render().unwrap(), "&#60;b&#62;5 &#62; 3&#60;/b&#62;");
/// let owned: Text = format!("{} comments", 3).into();
/// assert_eq!(owned.render().unwrap(), "3 comments");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Template)]
#[template(source = "{{ text }}", ext = "html")]
pub struct Text {
    text: Cow<'static, str>,
}

impl Text {
    /// Text to be shown as it is.
    pub fn new(text: impl Into<Cow<'static, str>>) -> Self {
        Text { text: text.into() }
    }
}

impl From<String> for Text {
    fn from(text: String) -> Self {
        Text::new(text)
    }
}

impl From<&'static str> for Text {
    fn from(text: &'static str) -> Self {
        Text::new(text)
    }
}

/// HTML written as it is, without escaping: for markup the application made
/// itself or got from a source it trusts (a Markdown renderer's output, a
/// sanitizer's). Never put input in it: that is what [`Text`] and askama's
/// templates are for.
///
/// ```
/// use askama::Template;
/// use axum_suspense::Html;
///
/// let html = Html::trusted("<p class=\"note\">Saved.</p>");
/// assert_eq!(html.render().unwrap(), "<p class=\"note\">Saved.</p>");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Template)]
#[template(source = "{{ html|safe }}", ext = "html")]
pub struct Html {
    html: Cow<'static, str>,
}

impl Html {
    /// HTML the application vouches for: it is written as it is.
    pub fn trusted(html: impl Into<Cow<'static, str>>) -> Self {
        Html { html: html.into() }
    }
}

/// Templates rendered one after another, in order: the rows of a table,
/// the items of a list, each its own template (each escapes its own
/// values).
///
/// ```
/// use askama::Template;
/// use axum_suspense::{List, Text};
///
/// #[derive(Template)]
/// #[template(source = "<li>{{ name }}</li>", ext = "html")]
/// struct Item { name: String }
///
/// let items: List<Item> = ["a<b", "c"].into_iter().map(|name| Item { name: name.into() }).collect();
/// assert_eq!(items.render().unwrap(), "<li>a&#60;b</li><li>c</li>");
/// assert_eq!(List::<Text>::default().render().unwrap(), "");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Template)]
#[template(
    source = "{% for item in items %}{{ item|safe }}{% endfor %}",
    ext = "html"
)]
pub struct List<T: Template> {
    items: Vec<T>,
}

impl<T: Template> List<T> {
    /// The templates, in the order they are rendered.
    pub fn new(items: Vec<T>) -> Self {
        List { items }
    }
}

impl<T: Template> Default for List<T> {
    fn default() -> Self {
        List { items: Vec::new() }
    }
}

impl<T: Template> From<Vec<T>> for List<T> {
    fn from(items: Vec<T>) -> Self {
        List { items }
    }
}

impl<T: Template> FromIterator<T> for List<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        List {
            items: iter.into_iter().collect(),
        }
    }
}
