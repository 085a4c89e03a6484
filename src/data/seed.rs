//! A new board's content: 8 authors, 36 posts over the last two weeks and
//! about 150 comments, the same on every machine (a fixed pseudo-random
//! sequence), so the pages look like a board that has been in use.

use rusqlite::{Connection, TransactionBehavior, params};

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

/// Fills an empty board, in one transaction; times count back from `now`.
pub(super) fn seed(conn: &mut Connection, now: i64) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut rng = Sequence(0x5EED_B0A2_D5EE_D001);
    for (name, bio) in AUTHORS {
        tx.execute(
            "INSERT INTO authors (name, bio) VALUES (?1, ?2)",
            params![name, bio],
        )?;
    }
    const POSTS: usize = 36;
    for n in 0..POSTS {
        let author = 1 + rng.below(AUTHORS.len()) as i64;
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
        tx.execute(
            "INSERT INTO posts (author_id, title, body, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![author, title, body.join("\n\n"), created_at],
        )?;
        let post = tx.last_insert_rowid();
        let comments = rng.below(8);
        for k in 0..comments {
            tx.execute(
                "INSERT INTO comments (post_id, author, body, created_at, likes)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    post,
                    COMMENTERS[rng.below(COMMENTERS.len())],
                    REPLIES[rng.below(REPLIES.len())],
                    created_at + 600 * (k as i64 + 1),
                    rng.below(12) as i64
                ],
            )?;
        }
        tx.execute(
            "UPDATE posts SET comment_count = ?1 WHERE id = ?2",
            params![comments as i64, post],
        )?;
    }
    tx.commit()
}
