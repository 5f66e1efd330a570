//! Reloading a [`Steering`]'s config file while the server answers: the
//! file is read, parsed and compiled on one of tokio's blocking threads, so
//! the threads that answer queries never wait for it, and the outcome is
//! logged through `tracing`.

use std::error::Error;
use std::sync::Arc;
use std::time::Instant;

use steerage::Steering;

use crate::DnsError;

/// Reloads `steering`'s config file ([`Steering::reload`]) on a blocking
/// thread and returns the version serving afterwards: the new one, or the
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
/// # Errors
///
/// [`DnsError::Reload`] when the file cannot be read or is invalid (the
/// previous configuration keeps serving), [`DnsError::ReloadInterrupted`]
/// when the reload ended without a result (the runtime shut down).
///
/// # Panics
///
/// Outside a tokio runtime.
pub async fn reload(steering: &Arc<Steering>) -> Result<u64, DnsError> {
    let before = steering.version();
    let started = Instant::now();
    let reloading = Arc::clone(steering);
    let outcome = tokio::task::spawn_blocking(move || reloading.reload()).await;
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
        Err(join) => {
            let serving = steering.version();
            tracing::warn!(serving, error = %join, "configuration reload interrupted");
            Err(DnsError::ReloadInterrupted { serving })
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
