//! Simulated latency of the board's slow data sources, labelled as such.
//!
//! The board's database answers in microseconds. Real pages wait on slower
//! things: a recommendation service, a heavy aggregate, another team's API.
//! Streaming is for exactly those, so each boundary's source waits this long
//! before its query, to make the progressive render plain to see.
//! `--latency 0` turns all of it off; `--latency comments=2s,popular=0`
//! changes some.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// How long each source waits before it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latency {
    /// "Popular this week" on the board (a heavy aggregate).
    pub popular: Duration,
    /// "Latest comments" on the board.
    pub latest: Duration,
    /// A post's comments.
    pub comments: Duration,
    /// Related posts (a recommendation service).
    pub related: Duration,
    /// The author card.
    pub author: Duration,
    /// The author's other posts, nested in the card.
    pub author_posts: Duration,
}

impl Default for Latency {
    fn default() -> Self {
        let ms = Duration::from_millis;
        Latency {
            popular: ms(1200),
            latest: ms(600),
            comments: ms(900),
            related: ms(1800),
            author: ms(300),
            author_posts: ms(1000),
        }
    }
}

impl Latency {
    /// No simulated latency at all.
    pub const NONE: Latency = Latency {
        popular: Duration::ZERO,
        latest: Duration::ZERO,
        comments: Duration::ZERO,
        related: Duration::ZERO,
        author: Duration::ZERO,
        author_posts: Duration::ZERO,
    };

    /// Each source by its name in `--latency`.
    fn entries(&self) -> [(&'static str, Duration); 6] {
        [
            ("popular", self.popular),
            ("latest", self.latest),
            ("comments", self.comments),
            ("related", self.related),
            ("author", self.author),
            ("author-posts", self.author_posts),
        ]
    }

    fn slot(&mut self, name: &str) -> Option<&mut Duration> {
        Some(match name {
            "popular" => &mut self.popular,
            "latest" => &mut self.latest,
            "comments" => &mut self.comments,
            "related" => &mut self.related,
            "author" => &mut self.author,
            "author-posts" => &mut self.author_posts,
            _ => return None,
        })
    }
}

/// `0`, or `source=duration` pairs separated by commas (`comments=2s`);
/// sources not named keep their default.
impl FromStr for Latency {
    type Err = String;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let spec = spec.trim();
        if spec == "0" || spec == "off" {
            return Ok(Latency::NONE);
        }
        let mut latency = Latency::default();
        for pair in spec.split(',').filter(|p| !p.trim().is_empty()) {
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("{pair:?}: expected SOURCE=DURATION or 0"))?;
            let name = name.trim();
            let value = value.trim();
            let duration = if value == "0" {
                Duration::ZERO
            } else {
                humantime::parse_duration(value).map_err(|e| format!("{name}: {e}"))?
            };
            if duration > Duration::from_secs(60) {
                return Err(format!("{name}: at most 60s"));
            }
            *latency.slot(name).ok_or_else(|| {
                let names: Vec<&str> = Latency::NONE.entries().map(|(n, _)| n).into();
                format!(
                    "unknown source {name:?}: expected one of {}",
                    names.join(", ")
                )
            })? = duration;
        }
        Ok(latency)
    }
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, (name, latency)) in self.entries().into_iter().enumerate() {
            if n > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{name} {} ms", latency.as_millis())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert_eq!("0".parse::<Latency>(), Ok(Latency::NONE));
        let l: Latency = "comments=2s, popular=0".parse().unwrap();
        assert_eq!(l.comments, Duration::from_secs(2));
        assert_eq!(l.popular, Duration::ZERO);
        assert_eq!(l.related, Latency::default().related);
        assert!(
            "nope=1s"
                .parse::<Latency>()
                .unwrap_err()
                .contains("unknown source")
        );
        assert!("comments".parse::<Latency>().is_err());
        assert!("comments=soon".parse::<Latency>().is_err());
        assert!("comments=2m".parse::<Latency>().is_err());
    }
}
