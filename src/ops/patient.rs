//! Teardown calls that outlast a slow containerd.
//!
//! A cascade must not fail because containerd is slow (seen on 2.1 under
//! emulation: deleting 8 killed tasks at once took 7.7 s against a fixed 5 s
//! per call). Every teardown call is idempotent here (a second delete of what
//! the first one finished answers NotFound, which the callers already take as
//! done), so a call that times out is simply tried again with twice the
//! timeout: `--timeout` T allows T + 2T + 4T + 8T = 15T for one call before
//! the cascade gives up and says which call did not answer.

use std::future::Future;
use std::time::Duration;

use crate::runtime::{Runtime, RuntimeError, RuntimeErrorKind};

/// Tries per call; the timeout doubles after each one that timed out.
pub const ATTEMPTS: u32 = 4;

/// Runs `call` against `rt`, again with a doubled per-call timeout each time
/// it times out, up to `ATTEMPTS` tries. Any other outcome is returned as is.
pub async fn patient<T, F, Fut>(rt: &Runtime, call: F) -> Result<T, RuntimeError>
where
    F: Fn(Runtime) -> Fut,
    Fut: Future<Output = Result<T, RuntimeError>>,
{
    retry_on_timeout(rt.timeout(), |timeout| call(rt.with_timeout(timeout))).await
}

/// The retry policy alone, over any call that takes its timeout.
async fn retry_on_timeout<T, F, Fut>(first: Duration, call: F) -> Result<T, RuntimeError>
where
    F: Fn(Duration) -> Fut,
    Fut: Future<Output = Result<T, RuntimeError>>,
{
    let mut timeout = first;
    let mut attempt = 1;
    loop {
        match call(timeout).await {
            Err(e) if e.kind == RuntimeErrorKind::Timeout && attempt < ATTEMPTS => {
                attempt += 1;
                timeout = timeout.saturating_mul(2);
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn timeout_err() -> RuntimeError {
        RuntimeError::new(RuntimeErrorKind::Timeout, "did not answer")
    }

    #[tokio::test]
    async fn retries_timeouts_with_doubling_budget() {
        let seen = Mutex::new(Vec::new());
        let r = retry_on_timeout(Duration::from_millis(50), |t| {
            seen.lock().unwrap().push(t);
            let n = seen.lock().unwrap().len();
            async move {
                if n < 3 {
                    Err(timeout_err())
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(r.unwrap(), 3);
        let ms: Vec<u128> = seen.lock().unwrap().iter().map(|d| d.as_millis()).collect();
        assert_eq!(ms, vec![50, 100, 200]);
    }

    #[tokio::test]
    async fn gives_up_after_the_last_attempt_and_passes_other_errors() {
        let calls = Mutex::new(0u32);
        let r: Result<(), _> = retry_on_timeout(Duration::from_millis(1), |_| {
            *calls.lock().unwrap() += 1;
            async { Err(timeout_err()) }
        })
        .await;
        assert_eq!(r.unwrap_err().kind, RuntimeErrorKind::Timeout);
        assert_eq!(*calls.lock().unwrap(), ATTEMPTS);

        *calls.lock().unwrap() = 0;
        let r: Result<(), _> = retry_on_timeout(Duration::from_millis(1), |_| {
            *calls.lock().unwrap() += 1;
            async { Err(RuntimeError::new(RuntimeErrorKind::NotFound, "gone")) }
        })
        .await;
        assert_eq!(r.unwrap_err().kind, RuntimeErrorKind::NotFound);
        assert_eq!(*calls.lock().unwrap(), 1);
    }
}
