//! Reloading a [`Steering`]'s config file while the server answers: the
//! file is read, parsed and compiled on a thread of its own (one per
//! process, kept between reloads), at a lower
//! scheduling priority (on Linux), so the threads that answer queries never
//! wait for it, not even for a CPU, and the outcome is logged through
//! `tracing`.

use std::error::Error;
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::Instant;

use steerage::{Steering, SteeringError};

use crate::DnsError;

/// Reloads `steering`'s config file ([`Steering::reload`]) on a thread of
/// its own and returns the version serving afterwards: the new one, or the
/// same when the file configures what is serving. Logs the outcome (`info`,
/// or `warn` with the whole error chain).
///
/// Call it from a SIGHUP handler, a file watcher or an admin endpoint, on
/// the runtime that serves: with a current-thread runtime (one thread
/// answering TCP) a reload run inline would hold every answer for as long as
/// a large file takes to parse and compile. Dropping the future does not
/// stop a reload that has started: it runs to its end (publishing, or
/// changing nothing).
///
/// On Linux the reload thread runs [`RELOAD_NICENESS`] nice levels below
/// the process (a thread's nice value is its own there): a reload of
/// 100,000 policies keeps a core busy for about a second, and on a machine
/// with fewer free cores than busy threads the answering threads would
/// otherwise wait for their turn behind it, several milliseconds at a time.
/// The cost is on the reload: on a machine whose cores the answering
/// threads keep busy, it gets about a tenth of a core and takes that much
/// longer. Elsewhere, and where the priority cannot be changed, the thread
/// runs at the process's.
///
/// # Errors
///
/// [`DnsError::Reload`] when the file cannot be read or is invalid (the
/// previous configuration keeps serving), [`DnsError::ReloadInterrupted`]
/// when the reload ended without a result (the runtime shut down).
///
/// # Panics
///
/// Outside a tokio runtime, when no thread can be spawned (the reload then
/// runs on tokio's blocking pool).
pub async fn reload(steering: &Arc<Steering>) -> Result<u64, DnsError> {
    let before = steering.version();
    let started = Instant::now();
    let outcome = run_reload(steering).await;
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match outcome {
        Ok(Ok(version)) if version == before => {
            tracing::info!(version, elapsed_ms, "configuration file unchanged");
            Ok(version)
        }
        Ok(Ok(version)) => {
            tracing::info!(
                version,
                previous = before,
                elapsed_ms,
                "configuration reloaded"
            );
            Ok(version)
        }
        Ok(Err(source)) => {
            let serving = steering.version();
            tracing::warn!(
                serving,
                elapsed_ms,
                error = %chain(&source),
                "configuration reload failed; the previous configuration keeps serving"
            );
            Err(DnsError::Reload {
                serving,
                source: Box::new(source),
            })
        }
        Err(interrupted) => {
            let serving = steering.version();
            tracing::warn!(serving, error = %interrupted, "configuration reload interrupted");
            Err(DnsError::ReloadInterrupted { serving })
        }
    }
}

/// How many nice levels the reload thread runs below the process, on
/// Linux: a weight about a tenth of the answering threads'.
pub const RELOAD_NICENESS: i32 = 10;

/// Runs `steering.reload()` on the reload thread; on tokio's blocking pool
/// if it cannot be started. `Err` when it ended without a result (a panic,
/// or the runtime shut down).
async fn run_reload(steering: &Arc<Steering>) -> Result<Result<u64, SteeringError>, String> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let reloading = Arc::clone(steering);
    let job: Job = Box::new(move || {
        // The caller may have gone: the reload still ran to its end.
        let _ = tx.send(reloading.reload());
    });
    if let Err(job) = submit(job) {
        tracing::warn!("no reload thread; reloading on the blocking pool");
        tokio::task::spawn_blocking(job)
            .await
            .map_err(|join| join.to_string())?;
    }
    rx.await
        .map_err(|_| "the reload ended without a result".to_owned())
}

/// Work for the reload thread.
type Job = Box<dyn FnOnce() + Send>;

/// The process's reload thread, started by the first reload and kept (as
/// tokio keeps its blocking threads): a thread made for each reload was
/// itself a cost to answering, its first allocations setting up memory
/// for it while the answering threads wait on the same address space.
static RELOAD_THREAD: Mutex<Option<mpsc::Sender<Job>>> = Mutex::new(None);

/// Hands `job` to the reload thread, starting it (at a lower priority) if
/// there is none; gives `job` back when no thread can be started.
fn submit(job: Job) -> Result<(), Job> {
    let mut thread = RELOAD_THREAD.lock().unwrap_or_else(PoisonError::into_inner);
    // A thread that is gone (it cannot be, bar an abort) is started anew.
    let job = match thread.as_ref() {
        Some(jobs) => match jobs.send(job) {
            Ok(()) => return Ok(()),
            Err(mpsc::SendError(job)) => job,
        },
        None => job,
    };
    let (jobs, queue) = mpsc::channel::<Job>();
    let spawned = std::thread::Builder::new()
        .name("steerage-reload".to_owned())
        .spawn(move || {
            lower_priority();
            while let Ok(job) = queue.recv() {
                // A panicking reload drops its result channel (the caller
                // gets an error) and leaves the thread serving.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            }
        });
    if let Err(error) = spawned {
        tracing::warn!(%error, "the reload thread cannot be started");
        return Err(job);
    }
    let sent = jobs.send(job).map_err(|mpsc::SendError(job)| job);
    *thread = Some(jobs);
    sent
}

/// Lowers the calling thread's scheduling priority by [`RELOAD_NICENESS`]
/// (Linux: per thread); leaves it as it is where it cannot.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        let thread = Some(rustix::thread::gettid());
        let lowered = rustix::process::getpriority_process(thread).and_then(|nice| {
            rustix::process::setpriority_process(thread, (nice + RELOAD_NICENESS).min(19))
        });
        if let Err(error) = lowered {
            tracing::debug!(%error, "the reload thread keeps the process's priority");
        }
    }
}

/// An error and its sources on one line.
fn chain(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use steerage::geo::LocationTable;

    use super::*;

    const CONFIG: &str = "[builtin]\ncname = \"edge.example.org\"\n";

    fn steering(path: &std::path::Path) -> Arc<Steering> {
        Arc::new(
            Steering::builder()
                .config_file(path)
                .locations(LocationTable::sample())
                .build()
                .unwrap(),
        )
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_reload_thread_runs_below_the_process_priority() {
        let nice = |tid| rustix::process::getpriority_process(Some(tid)).unwrap();
        let caller = nice(rustix::thread::gettid());
        let (own, after) = std::thread::spawn(move || {
            let tid = rustix::thread::gettid();
            let own = nice(tid);
            lower_priority();
            (own, nice(tid))
        })
        .join()
        .unwrap();
        assert_eq!(
            own, caller,
            "a new thread starts at its creator's nice value"
        );
        assert_eq!(after, (own + RELOAD_NICENESS).min(19));
        // Only that thread: the caller keeps its own.
        assert_eq!(nice(rustix::thread::gettid()), caller);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn reloads_a_changed_file_keeps_an_unchanged_one_and_reports_a_bad_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("steerage.toml");
        std::fs::write(&path, CONFIG).unwrap();
        let steering = steering(&path);
        let first = steering.version();
        assert_eq!(reload(&steering).await.unwrap(), first);

        std::fs::write(
            &path,
            format!("{CONFIG}[[policy]]\ndomain = \"www.example.com\"\n"),
        )
        .unwrap();
        assert_eq!(reload(&steering).await.unwrap(), first + 1);
        assert_eq!(steering.config().len(), 1);

        std::fs::write(&path, "[[policy]]\ndomain = \n").unwrap();
        let error = reload(&steering).await.unwrap_err();
        assert!(
            matches!(error, DnsError::Reload { serving, .. } if serving == first + 1),
            "{error:?}"
        );
        // The message alone carries the file, line and column, and the
        // chain repeats nothing.
        let message = error.to_string();
        assert!(
            message.starts_with(&format!(
                "reloading the configuration failed; still serving version {}: invalid config file `{}`: TOML config, line 1, column 1: ",
                first + 1,
                path.display()
            )),
            "{message}"
        );
        assert_eq!(chain(&error), message);
        assert_eq!(steering.config().len(), 1);
    }
}
