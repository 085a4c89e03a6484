//! A real browser for the tests: Debian's headless Chromium, driven over
//! WebDriver (`chromium-driver`) with fantoccini; and Debian's Firefox ESR
//! over geckodriver (from crates.io), a second engine.
//!
//! Each [`Browser`] is its own chromedriver on a free loopback port and its
//! own Chromium with a fresh profile directory, both gone when it is closed
//! (or dropped, if the test failed). Pages are opened with the `none` page
//! load strategy, so the test gets control back while the response is still
//! streaming and can look at the page between chunks. Every wait is bounded.
//!
//! Without Chromium the tests are skipped, loudly (a line on the real stderr,
//! counted by `scripts/test`); under `CI=true` a missing browser fails them.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::{WAIT, have_tool};

/// Debian's paths; `SUSPENSE_CHROMIUM` and `SUSPENSE_CHROMEDRIVER` point
/// elsewhere (a matching pair: the driver must know the browser's version).
fn tool(var: &str, debian: &str) -> PathBuf {
    std::env::var_os(var).map_or_else(|| PathBuf::from(debian), PathBuf::from)
}

/// Starting a browser on a loaded two-core machine can take a while.
const LAUNCH_WAIT: Duration = Duration::from_secs(60);

pub struct Browser {
    client: Option<Client>,
    driver: Child,
    profile: PathBuf,
}

/// The kind of browser a test drives: Chromium with its pages' JavaScript
/// on or off, and with its native `<template for>` patching (Chromium 150
/// and later) on, or off to stand for a browser without it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    pub javascript: bool,
    pub native: bool,
    /// Another `User-Agent` for the browser to send (to stand for another
    /// browser in what the server decides from it).
    pub agent: Option<&'static str>,
}

impl Kind {
    /// Every kind, for tests that run in each.
    pub const ALL: [Kind; 4] = [
        Kind {
            javascript: true,
            native: true,
            agent: None,
        },
        Kind {
            javascript: true,
            native: false,
            agent: None,
        },
        Kind {
            javascript: false,
            native: true,
            agent: None,
        },
        Kind {
            javascript: false,
            native: false,
            agent: None,
        },
    ];

    /// The two kinds with the pages' JavaScript on: Chromium patching
    /// natively, and Chromium leaving it to the runtime's polyfill.
    pub const WITH_JAVASCRIPT: [Kind; 2] = [Kind::ALL[0], Kind::ALL[1]];

    /// A short name for screenshots and messages: `js-native`,
    /// `nojs-polyfill`…
    pub fn name(self) -> String {
        format!(
            "{}-{}",
            if self.javascript { "js" } else { "nojs" },
            if self.native { "native" } else { "polyfill" }
        )
    }
}

impl Browser {
    /// A fresh headless Chromium, or `None` (after saying so on stderr) when
    /// this machine has none and this is not CI.
    pub async fn launch(test: &str) -> Option<Browser> {
        Self::launch_with(test, true).await
    }

    /// As [`launch`](Self::launch), with the pages' JavaScript on or off
    /// (the content setting a user flips; the test's own scripts still run).
    pub async fn launch_with(test: &str, javascript: bool) -> Option<Browser> {
        Self::launch_as(
            test,
            Kind {
                javascript,
                native: true,
                agent: None,
            },
        )
        .await
    }

    /// As [`launch`](Self::launch), as the given kind of browser.
    pub async fn launch_as(test: &str, kind: Kind) -> Option<Browser> {
        Self::launch_with_args(test, kind, Vec::new()).await
    }

    /// As [`launch_as`](Self::launch_as), with more command-line switches
    /// for Chromium (`--disable-http2`, a certificate to trust…).
    pub async fn launch_with_args(test: &str, kind: Kind, extra: Vec<String>) -> Option<Browser> {
        let chromium = tool("SUSPENSE_CHROMIUM", "/usr/bin/chromium");
        let driver = tool("SUSPENSE_CHROMEDRIVER", "/usr/bin/chromedriver");
        if !have_tool(test, &chromium, "chromium") || !have_tool(test, &driver, "chromium-driver") {
            return None;
        }
        Some(
            tokio::time::timeout(
                LAUNCH_WAIT,
                Self::start(test, &chromium, &driver, kind, extra),
            )
            .await
            .unwrap_or_else(|_| panic!("{test}: the browser did not start in time")),
        )
    }

    async fn start(
        test: &str,
        chromium: &Path,
        driver: &Path,
        kind: Kind,
        extra: Vec<String>,
    ) -> Browser {
        let Kind {
            javascript,
            native,
            agent,
        } = kind;
        let mut args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--window-size=1100,800".to_owned(),
            // Off: a browser without native `<template for>` patching.
            if native {
                "--enable-blink-features=DocumentPatching".to_owned()
            } else {
                "--disable-blink-features=DocumentPatching".to_owned()
            },
        ];
        if let Some(agent) = agent {
            args.push(format!("--user-agent={agent}"));
        }
        args.extend(extra);
        let profile = fresh_profile("chromium", test);

        // Once in a long while, on a loaded machine, chromedriver exits
        // before it has taken a port (seen once in CI); a second one works.
        let mut tries = 0;
        let (driver, port) = loop {
            tries += 1;
            let mut driver = Command::new(driver)
                .arg("--port=0")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                // Its own process group, so a failed test can stop the
                // driver and the browser it started in one go.
                .process_group(0)
                .kill_on_drop(true)
                .spawn()
                .expect("start chromedriver");
            match driver_port(&mut driver).await {
                Ok(port) => break (driver, port),
                Err(said) if tries < 3 => {
                    eprintln!("{test}: chromedriver exited before it took a port; again ({said})");
                }
                Err(said) => {
                    panic!("chromedriver exited {tries} times before it took a port: {said}")
                }
            }
        };

        args.push(format!("--user-data-dir={}", profile.display()));
        let capabilities = json!({
            "browserName": "chrome",
            "pageLoadStrategy": "none",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": args,
                // 1 allows, 2 blocks.
                "prefs": {
                    "profile.managed_default_content_settings.javascript":
                        if javascript { 1 } else { 2 },
                },
            },
        });
        Browser {
            client: Some(session(port, capabilities).await),
            driver,
            profile,
        }
    }

    /// A fresh headless Firefox (Debian's `firefox-esr`, through
    /// geckodriver), with the pages' JavaScript on or off; `None` (after
    /// saying so) when this machine has neither and this is not CI.
    pub async fn launch_firefox(test: &str, javascript: bool) -> Option<Browser> {
        let firefox = tool("SUSPENSE_FIREFOX", "/usr/bin/firefox-esr");
        let driver = std::env::var_os("SUSPENSE_GECKODRIVER")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .map(|home| PathBuf::from(home).join(".cargo/bin/geckodriver"))
            })
            .unwrap_or_else(|| PathBuf::from("/usr/local/bin/geckodriver"));
        if !have_tool(test, &firefox, "firefox-esr")
            || !have_tool(test, &driver, "geckodriver (cargo install geckodriver)")
        {
            return None;
        }
        Some(
            tokio::time::timeout(
                LAUNCH_WAIT,
                Self::start_firefox(test, &firefox, &driver, javascript),
            )
            .await
            .unwrap_or_else(|_| panic!("{test}: Firefox did not start in time")),
        )
    }

    async fn start_firefox(test: &str, firefox: &Path, driver: &Path, javascript: bool) -> Browser {
        let profile = fresh_profile("firefox", test);
        let free = || {
            std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port()
        };
        let (port, websocket) = (free(), free());
        let driver = Command::new(driver)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--websocket-port", &websocket.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .expect("start geckodriver");
        let deadline = tokio::time::Instant::now() + LAUNCH_WAIT;
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "geckodriver did not listen"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let capabilities = json!({
            "browserName": "firefox",
            "pageLoadStrategy": "none",
            "moz:firefoxOptions": {
                "binary": firefox,
                "args": ["-headless", "-profile", profile, "--width=1100", "--height=800"],
                "prefs": {
                    "javascript.enabled": javascript,
                    // No calls home on a machine without a network.
                    "app.update.enabled": false,
                    "browser.shell.checkDefaultBrowser": false,
                    "datareporting.policy.dataSubmissionEnabled": false,
                    "toolkit.telemetry.enabled": false,
                    "network.captive-portal-service.enabled": false,
                },
            },
        });
        Browser {
            client: Some(session(port, capabilities).await),
            driver,
            profile,
        }
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("browser open")
    }

    /// Starts loading `url` and returns at once (the page may still be
    /// streaming for a long time).
    pub async fn open(&self, url: &str) {
        self.client().goto(url).await.expect("navigate");
        // The old document may still be current for a moment.
        self.wait_for(
            &format!("navigation to {url}"),
            "return location.href === arguments[0]",
            vec![json!(url)],
        )
        .await;
    }

    /// As [`open`](Self::open), for a page that may send the browser on to
    /// another query (a `<noscript>` refresh): waits for the path only.
    pub async fn open_path(&self, url: &str) {
        self.client().goto(url).await.expect("navigate");
        self.wait_for(
            &format!("navigation to {url}"),
            "const u = new URL(arguments[0]); return location.origin + location.pathname === u.origin + u.pathname && document.readyState !== 'uninitialized'",
            vec![json!(url)],
        )
        .await;
    }

    /// Clicks the first element matching `css` the way a user does (a
    /// WebDriver click: it works with the page's JavaScript off too).
    pub async fn click(&self, css: &str) {
        self.client()
            .find(fantoccini::Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Types `text` into the first element matching `css`.
    pub async fn type_into(&self, css: &str, text: &str) {
        self.client()
            .find(fantoccini::Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page.
    pub async fn eval(&self, script: &str, args: Vec<Value>) -> Value {
        self.client()
            .execute(script, args)
            .await
            .unwrap_or_else(|error| panic!("script failed: {error}\n{script}"))
    }

    /// Runs `script` until it returns something other than `null` or
    /// `false`, and returns that; fails the test after [`WAIT`]. A script
    /// that throws (the page is between documents) is tried again.
    pub async fn wait_for(&self, what: &str, script: &str, args: Vec<Value>) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut last = None;
        loop {
            match self.client().execute(script, args.clone()).await {
                Ok(Value::Null | Value::Bool(false)) => {}
                Ok(value) => return value,
                Err(error) => last = Some(error.to_string()),
            }
            if tokio::time::Instant::now() >= deadline {
                panic!("waited {WAIT:?} for {what}; last error: {last:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits (bounded) until the document has loaded: the response ended.
    pub async fn wait_loaded(&self) {
        self.wait_for(
            "the end of the document",
            "return document.readyState === 'complete'",
            vec![],
        )
        .await;
    }

    /// Saves a PNG of the window as `target/browser/NAME.png` and returns
    /// its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client().screenshot().await.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a screenshot is a PNG");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("create target/browser");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write the screenshot");
        path
    }

    /// Ends the session (Chromium quits), then the driver.
    pub async fn close(mut self) {
        if let Some(client) = self.client.take() {
            let _ = tokio::time::timeout(WAIT, client.close()).await;
        }
        let _ = self.driver.start_kill();
        let _ = tokio::time::timeout(WAIT, self.driver.wait()).await;
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if self.client.is_some() {
            // The test failed before `close`: stop the driver's whole group
            // (Chromium included) without waiting on the async session.
            if let Some(pid) = self.driver.id() {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", "--", &format!("-{pid}")])
                    .stderr(Stdio::null())
                    .status();
            }
            let _ = std::fs::remove_dir_all(&self.profile);
        }
    }
}

/// A new, empty profile directory for one `browser` of `test`, under
/// `target/tmp` (removed when the browser is closed).
fn fresh_profile(browser: &str, test: &str) -> PathBuf {
    static COUNT: AtomicU32 = AtomicU32::new(0);
    let profile = crate::target_dir().join("tmp").join(format!(
        "{browser}-profile-{test}-{}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&profile);
    std::fs::create_dir_all(&profile).expect("create the profile directory");
    profile
}

/// A WebDriver session with `capabilities` on the driver at `port`.
async fn session(port: u16, capabilities: Value) -> Client {
    let Value::Object(capabilities) = capabilities else {
        panic!("capabilities are a JSON object")
    };
    ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .unwrap_or_else(|error| panic!("open a WebDriver session on port {port}: {error}"))
}

/// Where screenshots go: `target/browser/`.
pub fn screenshot_dir() -> PathBuf {
    crate::target_dir().join("browser")
}

/// Reads chromedriver's stdout until it says which port it took; keeps
/// draining it (and its stderr) afterwards so the driver never blocks on a
/// full pipe. If it exits first: what it said, both streams.
async fn driver_port(driver: &mut Child) -> Result<u16, String> {
    let stdout = driver.stdout.take().expect("piped stdout");
    let stderr = driver.stderr.take().expect("piped stderr");
    let mut lines = BufReader::new(stdout).lines();
    let mut errors = BufReader::new(stderr).lines();
    const SAYS: &str = "started successfully on port ";
    let mut said = Vec::new();
    let port = loop {
        let Some(line) = lines.next_line().await.expect("read chromedriver's output") else {
            while let Ok(Some(line)) = errors.next_line().await {
                said.push(line);
            }
            let _ = driver.wait().await;
            return Err(said.join(" | "));
        };
        if let Some(at) = line.find(SAYS) {
            let digits: String = line[at + SAYS.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            break digits.parse().expect("a port number");
        }
        said.push(line);
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    tokio::spawn(async move { while let Ok(Some(_)) = errors.next_line().await {} });
    Ok(port)
}

/// Transport markup left in the document: `<template>` elements, comment
/// nodes, processing instructions (the stream's markers `<?start …>` and
/// `<?end>`, and its timings `<?s …>`, counted apart) and `<script>`
/// elements (test pages have none of their own), but for the parts' data
/// elements (`<script type="application/json">`), which stay on purpose:
/// islands registered late read them.
pub const LEFTOVERS: &str = r#"
    const walker = document.createTreeWalker(document, NodeFilter.SHOW_COMMENT | NodeFilter.SHOW_PROCESSING_INSTRUCTION);
    let comments = 0, markers = 0, timings = 0;
    while (walker.nextNode()) {
        const n = walker.currentNode;
        if (n.nodeType === Node.COMMENT_NODE) comments++;
        else if (n.target === "s") timings++;
        else markers++;
    }
    return {
        templates: document.querySelectorAll("template").length,
        comments, markers, timings,
        scripts: document.querySelectorAll('body script:not([type="application/json"])').length,
    };
"#;

/// Asserts that [`LEFTOVERS`] found none.
pub fn no_leftovers(value: Value) {
    assert_eq!(
        value,
        json!({"templates": 0, "comments": 0, "markers": 0, "timings": 0, "scripts": 0}),
        "no transport markup may be left in the document"
    );
}

/// Asserts what [`LEFTOVERS`] may find in a browser that patched natively
/// with scripting off: no template, comment or marker (the parser took
/// them), but the inert timings (one per part) and the unrun runtime, since
/// no script removed them.
pub fn no_leftovers_without_script(value: Value, parts: u64) {
    assert_eq!(
        value,
        json!({"templates": 0, "comments": 0, "markers": 0, "timings": parts, "scripts": 1}),
        "only inert timings and the unrun runtime may be left"
    );
}
