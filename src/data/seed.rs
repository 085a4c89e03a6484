//! A new board's content: 8 authors, 36 posts over the last two weeks and
//! about 150 comments, the same on every machine (a fixed pseudo-random
//! sequence), so the pages look like a board that has been in use. The rows
//! only: each store inserts them its own way.

const AUTHORS: &[(&str, &str)] = &[
    ("Ada", "Writes the event loop before breakfast."),
    ("Brian", "Has opinions about buffer sizes."),
    ("Chen", "Runs a small hosting company from a garage."),
    ("Dara", "Teaches networking to people who would rather not."),
    ("Emeka", "Measures everything twice, trusts neither."),
    ("Farah", "Front-end by day, nginx configs by night."),
    ("Grace", "Keeps a list of every outage she has caused."),
    (
        "Hiro",
        "Believes every page should work without JavaScript.",
    ),
];

const TOPICS: &[&str] = &[
    "streaming HTML",
    "static files",
    "connection pools",
    "load balancing",
    "the event loop",
    "HTTP caching",
    "gzip and brotli",
    "server-side rendering",
    "slow databases",
    "keep-alive",
    "selective hydration",
    "graceful shutdown",
];

const OPENERS: &[&str] = &[
    "What I learned about",
    "A short guide to",
    "Why I changed my mind on",
    "Measuring",
    "Common mistakes with",
    "Questions about",
];

const SENTENCES: &[&str] = &[
    "The first byte matters more than the last one, at least to the person waiting.",
    "We moved the slow query into its own boundary and the page stopped feeling slow.",
    "A web server sends files; an application server builds pages from data.",
    "One event loop can hold thousands of idle connections without breaking a sweat.",
    "Parallelism needs cores; concurrency only needs patience.",
    "Caching the fingerprinted stylesheet for a year was the easiest win we ever had.",
    "Every proxy between you and the user is a place where a stream can be buffered.",
    "The database was fine; the page was waiting for all of it at once.",
    "Measure before and after, on the same machine, in the same hour.",
    "Nothing about this needs JavaScript, but everything about it is nicer with it.",
];

const REPLIES: &[&str] = &[
    "Same here, the difference was visible at once.",
    "Did you measure this under load, or on an idle machine?",
    "We hit exactly this last month. The fix was a timeout.",
    "Great write-up, thanks!",
    "I would add: check what your proxy does with chunked responses.",
    "Interesting. How does it behave with a thousand clients?",
    "This is why I keep the static files behind nginx.",
    "Counterpoint: most pages are not that slow to begin with.",
    "Bookmarked for the next time someone asks me about this.",
    "The numbers surprised me too.",
];

const COMMENTERS: &[&str] = &[
    "Ines", "Jonas", "Kofi", "Lena", "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa",
];

/// xorshift64: the same sequence everywhere, no dependency.
struct Sequence(u64);

impl Sequence {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// A new board's rows, the same on every machine; times count back from
/// `now`. Each backend inserts them in one transaction.
pub(super) struct Board {
    /// `(name, bio)`; posts refer to authors by their index here.
    pub(super) authors: &'static [(&'static str, &'static str)],
    pub(super) posts: Vec<SeedPost>,
}

pub(super) struct SeedPost {
    /// An index into [`Board::authors`].
    pub(super) author: usize,
    pub(super) title: String,
    pub(super) body: String,
    pub(super) created_at: i64,
    pub(super) comments: Vec<SeedComment>,
}

pub(super) struct SeedComment {
    pub(super) author: &'static str,
    pub(super) body: &'static str,
    pub(super) created_at: i64,
    pub(super) likes: i64,
}

pub(super) fn board(now: i64) -> Board {
    let mut rng = Sequence(0x5EED_B0A2_D5EE_D001);
    const POSTS: usize = 36;
    let posts = (0..POSTS)
        .map(|n| {
            let author = rng.below(AUTHORS.len());
            let title = format!(
                "{} {}",
                OPENERS[rng.below(OPENERS.len())],
                TOPICS[(n + rng.below(3)) % TOPICS.len()]
            );
            let body: Vec<&str> = (0..3 + rng.below(3))
                .map(|_| SENTENCES[rng.below(SENTENCES.len())])
                .collect();
            // Oldest first, one every ~9 hours back to two weeks ago.
            let created_at = now - ((POSTS - n) as i64) * 9 * 3600 - rng.below(3600) as i64;
            let comments = (0..rng.below(8))
                .map(|k| SeedComment {
                    author: COMMENTERS[rng.below(COMMENTERS.len())],
                    body: REPLIES[rng.below(REPLIES.len())],
                    created_at: created_at + 600 * (k as i64 + 1),
                    likes: rng.below(12) as i64,
                })
                .collect();
            SeedPost {
                author,
                title,
                body: body.join("\n\n"),
                created_at,
                comments,
            }
        })
        .collect();
    Board {
        authors: AUTHORS,
        posts,
    }
}
