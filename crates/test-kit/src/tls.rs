//! A throwaway TLS certificate for the HTTPS tests: P-256, two days, for
//! `localhost` and `127.0.0.1`, made with the `openssl` tool.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Debian's `openssl` (package `openssl`).
pub const OPENSSL: &str = "/usr/bin/openssl";

/// A certificate and its key, as certbot names them.
pub struct Certificate {
    /// Holds `fullchain.pem` and `privkey.pem` (both world-readable: a
    /// container's nginx worker reads them through a mount).
    pub dir: PathBuf,
    /// base64 of the SHA-256 of its public key, for Chromium's
    /// `--ignore-certificate-errors-spki-list` (trust this key, no other).
    pub spki: String,
}

impl Certificate {
    /// Makes a fresh one in `dir` (created if missing).
    pub fn make(dir: &Path) -> Certificate {
        std::fs::create_dir_all(dir).expect("the certificate's directory");
        let run = |script: &str| {
            let out = Command::new("sh")
                .arg("-c")
                .arg(script)
                .current_dir(dir)
                .output()
                .expect("sh");
            assert!(
                out.status.success(),
                "{script}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap().trim().to_owned()
        };
        run(&format!(
            "{OPENSSL} req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
             -keyout privkey.pem -out fullchain.pem -days 2 -subj /CN=localhost \
             -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>&1 && chmod 644 privkey.pem"
        ));
        let spki = run(&format!(
            "{OPENSSL} x509 -in fullchain.pem -pubkey -noout | {OPENSSL} pkey -pubin -outform der \
             | {OPENSSL} dgst -sha256 -binary | {OPENSSL} base64 -A"
        ));
        Certificate {
            dir: dir.to_owned(),
            spki,
        }
    }

    /// The chain, for a client's `--cacert`.
    pub fn chain(&self) -> PathBuf {
        self.dir.join("fullchain.pem")
    }
}
