//! Ask Linux for a shorter scheduling slice for the calling thread.
//!
//! Linux's fair scheduler (EEVDF, since 6.6) gives each task a virtual
//! deadline of its eligible time plus its *slice*; a task that wakes with an
//! earlier deadline than the running one may preempt it. Since 6.12 a task
//! may ask for its own slice, between 0.1 and 100 ms, through
//! `sched_setattr(2)`'s `sched_runtime` field, without any privilege
//! (kernel commit 857b158dc5e8, "sched/eevdf: Use sched_attr::sched_runtime
//! to set request/slice suggestion"). It does not give the task more CPU
//! time; it makes its turns shorter and earlier.
//!
//! Why a server wants that: a request on a socket wakes the server's thread
//! with a "sync" wake-up, which tells the scheduler the waker is about to
//! sleep, so the server's thread is often placed on the client's CPU. With
//! the default slice it then waits there until the client has used up its
//! turn (measured in this repository: 0.2 to 0.4 ms for a Python client
//! after it sends a request), while the other core idles. With a 100 µs
//! slice it preempts the client at once and answers.
//!
//! [`request`] reads the thread's attributes, changes only the slice, and
//! writes them back, so a policy (`SCHED_BATCH`) or a nice value chosen by
//! whoever started the process stays as it was; real-time, deadline and
//! idle threads are left alone. Threads inherit the slice from the thread
//! that creates them (unless it set `SCHED_RESET_ON_FORK`), so calling it
//! once on the main thread before a runtime starts its workers covers them.
//!
//! Why a crate of its own: no maintained crate wraps `sched_setattr`
//! (rustix lists it as not implemented; nix has no binding), so this makes
//! the two system calls through `libc`, each with its reasoning beside it.
//! With `crates/heap-trim`, the only `unsafe` in the workspace; every other
//! crate forbids it.
//!
//! ```
//! use std::time::Duration;
//! match sched_slice::request(Duration::from_micros(100)) {
//!     Ok(outcome) => println!("{outcome}"),
//!     Err(error) => println!("kept the kernel's slice: {error}"),
//! }
//! ```

use std::fmt;
use std::io;
use std::time::Duration;

/// The shortest slice the kernel takes (it clamps shorter ones up to this).
pub const MIN: Duration = Duration::from_micros(100);
/// The longest slice the kernel takes.
pub const MAX: Duration = Duration::from_millis(100);

/// What became of a [`request`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The kernel took the slice: reading the thread's attributes back
    /// shows it.
    Applied(Duration),
    /// The kernel accepted the call but does not keep a slice per thread
    /// (before Linux 6.12): nothing changed.
    Unsupported,
    /// The thread runs under a policy that is not the fair scheduler's
    /// normal or batch one (real-time, deadline or idle): left alone.
    OtherPolicy(u32),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Applied(slice) => write!(f, "scheduling slice {slice:?}"),
            Outcome::Unsupported => {
                f.write_str("this kernel keeps no slice per thread (Linux 6.12 does)")
            }
            Outcome::OtherPolicy(policy) => {
                write!(f, "scheduling policy {policy} left as it is")
            }
        }
    }
}

/// Asks the kernel to give the calling thread (and the threads it creates
/// from now on) turns of `slice`, which must be within [`MIN`]..=[`MAX`].
///
/// The thread's policy and nice value are kept. Errors: a slice out of
/// range (`InvalidInput`), a system other than Linux (`Unsupported`), or
/// what the system call returned.
pub fn request(slice: Duration) -> io::Result<Outcome> {
    if !(MIN..=MAX).contains(&slice) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("a scheduling slice must be between {MIN:?} and {MAX:?}, not {slice:?}"),
        ));
    }
    sys::request(slice)
}

/// The calling thread's slice as the kernel reports it: `None` when it has
/// none of its own (the kernel's default applies).
pub fn current() -> io::Result<Option<Duration>> {
    sys::current()
}

#[cfg(target_os = "linux")]
mod sys {
    use super::Outcome;
    use std::io;
    use std::time::Duration;

    /// `SCHED_ATTR_SIZE_VER0`: the fields up to `sched_period`, which is
    /// what `libc::sched_attr` holds.
    const SIZE: u32 = std::mem::size_of::<libc::sched_attr>() as u32;
    const _: () = assert!(SIZE == 48);
    /// The only flag read back that may be written again as it is.
    const RESET_ON_FORK: u64 = 0x01;

    pub(super) fn request(slice: Duration) -> io::Result<Outcome> {
        let mut attr = get()?;
        let policy = attr.sched_policy;
        if policy != libc::SCHED_OTHER as u32 && policy != libc::SCHED_BATCH as u32 {
            return Ok(Outcome::OtherPolicy(policy));
        }
        attr.size = SIZE;
        attr.sched_flags &= RESET_ON_FORK;
        attr.sched_runtime = u64::try_from(slice.as_nanos()).unwrap_or(u64::MAX);
        set(&attr)?;
        Ok(match current()? {
            Some(kept) => Outcome::Applied(kept),
            None => Outcome::Unsupported,
        })
    }

    pub(super) fn current() -> io::Result<Option<Duration>> {
        let attr = get()?;
        Ok((attr.sched_runtime != 0).then(|| Duration::from_nanos(attr.sched_runtime)))
    }

    #[allow(unsafe_code)]
    fn get() -> io::Result<libc::sched_attr> {
        let mut attr = libc::sched_attr {
            size: SIZE,
            sched_policy: 0,
            sched_flags: 0,
            sched_nice: 0,
            sched_priority: 0,
            sched_runtime: 0,
            sched_deadline: 0,
            sched_period: 0,
        };
        // SAFETY: sched_getattr(pid 0 = the calling thread, attr, size,
        // flags 0) writes at most `size` bytes to `attr`, and `attr` is a
        // live, exclusively borrowed `sched_attr` of exactly `SIZE` bytes.
        // It reads no other memory of ours.
        let done = unsafe {
            libc::syscall(
                libc::SYS_sched_getattr,
                0,
                &raw mut attr,
                SIZE as libc::c_uint,
                0 as libc::c_uint,
            )
        };
        if done == 0 {
            Ok(attr)
        } else {
            Err(io::Error::last_os_error())
        }
    }

    #[allow(unsafe_code)]
    fn set(attr: &libc::sched_attr) -> io::Result<()> {
        // SAFETY: sched_setattr(pid 0 = the calling thread, attr, flags 0)
        // reads `attr.size` bytes from `attr`; `attr` is a live
        // `sched_attr` of `SIZE` bytes with `size` set to `SIZE`. It writes
        // no memory of ours.
        let done =
            unsafe { libc::syscall(libc::SYS_sched_setattr, 0, std::ptr::from_ref(attr), 0) };
        if done == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod sys {
    use super::Outcome;
    use std::io;
    use std::time::Duration;

    pub(super) fn request(_: Duration) -> io::Result<Outcome> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "scheduling slices are a Linux feature",
        ))
    }

    pub(super) fn current() -> io::Result<Option<Duration>> {
        Ok(None)
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// What the kernel's own accounting says of the calling thread:
    /// `/proc/thread-self/sched`'s `se.slice` in nanoseconds, and its nice
    /// value from `/proc/thread-self/stat`.
    fn kernel_view() -> (u64, i64) {
        let sched = std::fs::read_to_string("/proc/thread-self/sched").unwrap();
        let slice = sched
            .lines()
            .find_map(|l| l.strip_prefix("se.slice"))
            .and_then(|v| v.trim().trim_start_matches(':').trim().parse().ok())
            .expect("se.slice in /proc/thread-self/sched");
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        // Fields after the command name, which is in parentheses.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .collect();
        let nice = fields[16].parse().unwrap();
        (slice, nice)
    }

    #[test]
    fn out_of_range_is_refused_and_changes_nothing() {
        std::thread::spawn(|| {
            let before = kernel_view();
            for slice in [Duration::from_micros(99), Duration::from_millis(101)] {
                let error = request(slice).unwrap_err();
                assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
                assert!(error.to_string().contains("between"), "{error}");
            }
            assert_eq!(kernel_view(), before);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn the_slice_is_applied_inherited_and_keeps_the_nice_value() {
        std::thread::spawn(|| {
            // A nice value set by whoever started the process: raising it
            // needs no privilege, and the request must not lower it back.
            let raise = std::process::Command::new("renice")
                .args(["-n", "3", "-p"])
                .arg(
                    std::fs::read_link("/proc/thread-self")
                        .unwrap()
                        .file_name()
                        .unwrap(),
                )
                .stdout(std::process::Stdio::null())
                .status();
            let nice_before = kernel_view().1;
            let outcome = request(Duration::from_micros(200)).unwrap();
            match outcome {
                Outcome::Applied(slice) => {
                    assert_eq!(slice, Duration::from_micros(200));
                    assert_eq!(kernel_view().0, 200_000, "the kernel's own view");
                    assert_eq!(current().unwrap(), Some(slice));
                    // A thread made from now on starts with it.
                    let child = std::thread::spawn(|| (kernel_view().0, current().unwrap()))
                        .join()
                        .unwrap();
                    assert_eq!(child, (200_000, Some(slice)));
                }
                // Before Linux 6.12 the call succeeds and nothing changes.
                Outcome::Unsupported => assert_eq!(current().unwrap(), None),
                Outcome::OtherPolicy(policy) => panic!("test thread under policy {policy}"),
            }
            assert_eq!(kernel_view().1, nice_before, "nice value kept");
            if raise.is_ok_and(|s| s.success()) {
                assert_eq!(nice_before, 3);
            }
        })
        .join()
        .unwrap();
    }
}
