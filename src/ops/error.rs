//! One error type for every operation: a kind that decides the exit code and
//! a single line that names the problem and the fix.

use crate::runtime::RuntimeError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad input caught before anything changed: exit code 2.
    Usage,
    /// The operation was attempted and failed: exit code 1.
    Failed,
}

#[derive(Debug, Clone)]
pub struct OpError {
    pub kind: ErrorKind,
    pub message: String,
}

impl OpError {
    pub fn usage(message: impl Into<String>) -> Self {
        OpError {
            kind: ErrorKind::Usage,
            message: message.into(),
        }
    }

    pub fn failed(message: impl Into<String>) -> Self {
        OpError {
            kind: ErrorKind::Failed,
            message: message.into(),
        }
    }

    /// A filesystem error on `path`, with the fix when the cause has an obvious
    /// one (privilege, a read-only or full file system).
    pub fn io(what: &str, path: &std::path::Path, err: &std::io::Error) -> Self {
        if err.kind() == std::io::ErrorKind::PermissionDenied {
            OpError::failed(format!(
                "permission denied {what} {}: run kuke-tui as root (sudo)",
                path.display()
            ))
        } else {
            // The OS message names the problem; say what fixes it too.
            let fix = match err.raw_os_error() {
                Some(libc::EROFS) => "; remount it read-write and retry",
                Some(libc::ENOSPC) | Some(libc::EDQUOT) => "; free space on it and retry",
                _ => "",
            };
            OpError::failed(format!("{what} {}: {err}{fix}", path.display()))
        }
    }

    pub fn exit_code(&self) -> i32 {
        match self.kind {
            ErrorKind::Usage => 2,
            ErrorKind::Failed => 1,
        }
    }
}

impl std::fmt::Display for OpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for OpError {}

impl From<RuntimeError> for OpError {
    fn from(err: RuntimeError) -> Self {
        OpError::failed(err.to_string())
    }
}

pub type OpResult<T> = Result<T, OpError>;
