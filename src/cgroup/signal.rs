//! Signals a task's init process directly, without containerd.
//!
//! containerd's Kill makes the task's shim exec `runc kill`, a fresh Go
//! process per task: about a fifth of the CPU of a 50-task cascade delete.
//! The kernel does the same with one syscall, provided the pid is still the
//! task's. So the process is pinned with a pidfd first (its pid cannot be
//! reused under us from then on) and must then sit in the container's cgroup.
//! Anything less certain is `Unverified`, and the caller asks containerd.

use std::fs;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signalled {
    /// The signal was delivered to the process in the container's cgroup.
    Sent,
    /// No such process any more: it has exited and been reaped.
    Gone,
    /// Not sent: the process could not be proved to be the task (another
    /// cgroup, a relative or systemd-style cgroups path, a cgroup namespace,
    /// no pidfd support). Ask containerd instead.
    Unverified,
}

/// Sends `signal` to `pid` only if that process is in the cgroup
/// `cgroups_path` (an absolute cgroupfs path, as in the OCI spec).
pub fn signal_in_cgroup(pid: u32, cgroups_path: &str, signal: i32) -> Signalled {
    let want = cgroups_path.trim_end_matches('/');
    if pid == 0 || !want.starts_with('/') || want.len() < 2 {
        return Signalled::Unverified;
    }
    let pidfd = match pidfd_open(pid) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => return Signalled::Gone,
        Err(_) => return Signalled::Unverified,
    };
    // Read after pinning: if the pid was reused before the pidfd_open, this is
    // the newcomer's cgroup, which is not the container's.
    match fs::read_to_string(format!("/proc/{pid}/cgroup")) {
        Ok(text) if in_cgroup(&text, want) => {}
        Ok(_) => return Signalled::Unverified,
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => return Signalled::Gone,
        Err(_) => return Signalled::Unverified,
    }
    match pidfd_send_signal(&pidfd, signal) {
        Ok(()) => Signalled::Sent,
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Signalled::Gone,
        Err(_) => Signalled::Unverified,
    }
}

/// True when any line of a `/proc/<pid>/cgroup` text (`id:controllers:path`)
/// names exactly `path`.
fn in_cgroup(proc_cgroup: &str, path: &str) -> bool {
    proc_cgroup.lines().any(|line| {
        line.splitn(3, ':')
            .nth(2)
            .is_some_and(|p| p.trim_end_matches('/') == path)
    })
}

fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor
    // or -1; no memory is passed.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the descriptor was just returned to us and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn pidfd_send_signal(pidfd: &OwnedFd, signal: i32) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid pidfd, a signal number, a null siginfo (the kernel then
    // fills in the sender as for kill(2)) and no flags.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{real, unique_top};
    use super::*;
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Child, Command};

    #[test]
    fn in_cgroup_matches_a_whole_path_on_any_line() {
        let v1 = "12:pids:/kuke/r/t1\n11:memory:/kuke/r/t1\n0::/\n";
        assert!(in_cgroup(v1, "/kuke/r/t1"));
        assert!(!in_cgroup(v1, "/kuke/r/t"));
        assert!(!in_cgroup(v1, "/kuke/r"));
        assert!(in_cgroup("0::/a/b/\n", "/a/b"));
        assert!(!in_cgroup("garbage\n", "/a/b"));
    }

    fn sleeper() -> Child {
        Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn sleep")
    }

    /// A fresh cgroup holding a `sleep`; on drop the sleep is ended first,
    /// then the cgroup removed. `None` (the test is skipped) unless root with
    /// cgroups mounted (`real`).
    struct Caged {
        cg: crate::cgroup::Cgroups,
        group: String,
        child: Child,
    }

    impl Caged {
        fn new() -> Option<Caged> {
            let cg = real()?;
            let group = unique_top("signal");
            cg.create(&group).expect("create the test cgroup");
            let child = sleeper();
            let dir = cg
                .dirs(&group)
                .into_iter()
                .find(|d| d.exists())
                .expect("a dir");
            fs::write(dir.join("cgroup.procs"), child.id().to_string()).expect("move sleep");
            Some(Caged { cg, group, child })
        }
    }

    impl Drop for Caged {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
            let _ = self
                .cg
                .remove(&self.group, std::time::Duration::from_secs(2));
        }
    }

    #[test]
    fn a_process_in_the_cgroup_is_signalled_and_a_reaped_one_is_gone() {
        let Some(mut caged) = Caged::new() else {
            return;
        };
        let (pid, group) = (caged.child.id(), caged.group.clone());
        assert_eq!(
            signal_in_cgroup(pid, &group, libc::SIGTERM),
            Signalled::Sent
        );
        let status = caged.child.wait().expect("reap sleep");
        assert_eq!(status.signal(), Some(libc::SIGTERM));
        // Reaped: nothing holds the pid any more.
        assert_eq!(
            signal_in_cgroup(pid, &group, libc::SIGTERM),
            Signalled::Gone
        );
    }

    #[test]
    fn a_process_outside_the_cgroup_is_not_signalled() {
        let mut child = sleeper();
        let got = signal_in_cgroup(child.id(), "/not/this/cgroup", libc::SIGTERM);
        assert_eq!(got, Signalled::Unverified);
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "sleep must still run"
        );
        child.kill().expect("kill sleep");
        child.wait().expect("reap sleep");
    }

    #[test]
    fn relative_and_root_paths_are_refused() {
        let mut child = sleeper();
        for path in ["", "/", "kuke/r/t1", "system.slice:kuke:t1"] {
            assert_eq!(
                signal_in_cgroup(child.id(), path, libc::SIGTERM),
                Signalled::Unverified,
                "{path:?}"
            );
        }
        assert!(child.try_wait().expect("try_wait").is_none());
        child.kill().expect("kill sleep");
        child.wait().expect("reap sleep");
    }
}
