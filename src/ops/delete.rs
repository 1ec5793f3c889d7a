//! Deleting a realm is two values: a `DeletePlan` (everything that would go,
//! printed by `--dry-run` and shown in the console's dialog) and its
//! execution, which re-reads each kind of object as it goes so that a rerun
//! after a failure finishes the job.

use super::{now_rfc3339, Host, OpError, OpResult, SYSTEM_REALMS};
use crate::cgroup::{signal_in_cgroup, Signalled};
use crate::model::names::validate_existing_realm_name;
use crate::model::realm::state;
use crate::ops::patient::patient;
use crate::ops::realms::namespace_names;
use crate::ops::space_network;
use crate::runtime::{ContainerInfo, Runtime, RuntimeErrorKind, TaskInfo, TaskStatus};
use futures::stream::{self, StreamExt};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Containers torn down at once. The work is the daemon's, the shims' and
/// runc's, and on 2 cores 4, 8 and 16 at once measured the same; more would
/// only crowd the daemon.
const TEARDOWN_CONCURRENCY: usize = 8;
const SIGTERM: u32 = 15;
const SIGKILL: u32 = 9;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedTask {
    pub id: String,
    pub pid: u32,
    pub status: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedSnapshot {
    pub snapshotter: String,
    pub key: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletePlan {
    pub realm: String,
    pub namespace: String,
    pub cgroup_path: String,
    pub record_present: bool,
    pub system_realm: bool,
    pub spaces: Vec<String>,
    pub namespace_exists: bool,
    pub tasks: Vec<PlannedTask>,
    pub containers: Vec<String>,
    pub snapshots: Vec<PlannedSnapshot>,
    pub images: Vec<String>,
    pub leases: Vec<String>,
    pub content: Vec<String>,
    /// Deepest first, across every hierarchy.
    pub cgroup_dirs: Vec<PathBuf>,
    /// Every file and directory under the realm's run-path directory, deepest first.
    pub files: Vec<PathBuf>,
    /// BuildKit's `<namespace>_history`, drained and deleted with the realm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub companion: Option<CompanionPlan>,
    /// Kukeon's layout: each space's CNI network objects, torn down first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub networks: Vec<crate::network::SpaceNetwork>,
}

/// A companion namespace and everything in it, as `kind id` lines.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CompanionPlan {
    pub namespace: String,
    pub objects: Vec<String>,
}

impl DeletePlan {
    /// Nothing of the realm exists anywhere.
    pub fn is_gone(&self) -> bool {
        !self.namespace_exists
            && self.companion.is_none()
            && self.cgroup_dirs.is_empty()
            && self.files.is_empty()
    }

    /// Workloads or spaces that a plain (non-cascade) delete refuses to touch.
    pub fn has_contents(&self) -> bool {
        !(self.tasks.is_empty()
            && self.containers.is_empty()
            && self.images.is_empty()
            && self.spaces.is_empty()
            && self.companion.as_ref().is_none_or(|c| c.objects.is_empty()))
    }

    pub fn contents_summary(&self) -> String {
        let mut text = format!(
            "{} task(s), {} container(s), {} image(s), {} space(s)",
            self.tasks.len(),
            self.containers.len(),
            self.images.len(),
            self.spaces.len()
        );
        if let Some(c) = self.companion.as_ref().filter(|c| !c.objects.is_empty()) {
            text.push_str(&format!(
                ", {} object(s) in {}",
                c.objects.len(),
                c.namespace
            ));
        }
        text
    }
}

pub async fn plan_delete(host: &Host, rt: &Runtime, name: &str) -> OpResult<DeletePlan> {
    validate_existing_realm_name(name).map_err(OpError::usage)?;
    if !host.store.listable(name) {
        return Err(OpError::usage(format!(
            "{name:?} is not a realm in the {:?} layout of {}; check --layout",
            host.store.layout(),
            host.settings.run_path.display()
        )));
    }
    let entry = host.store.entry(name);
    let record = entry.as_ref().and_then(|e| e.record.as_ref().ok());
    let (namespace, group) = host.realm_targets(name, record);
    let present = namespace_names(rt).await?;
    let namespace_exists = present.contains(&namespace);
    let history = history_namespace(&namespace);
    let companion = match present.contains(&history) {
        true => Some(CompanionPlan {
            objects: namespace_objects(rt, &history).await?,
            namespace: history,
        }),
        false => None,
    };
    let mut plan = DeletePlan {
        companion,
        realm: name.into(),
        // A realm is the system realm by name, or by sitting on a system
        // realm's namespace in either layout.
        system_realm: SYSTEM_REALMS.contains(&name)
            || SYSTEM_REALMS.iter().any(|s| {
                namespace == *s
                    || namespace == host.store.default_namespace(s)
                    || namespace == crate::model::realm::default_namespace(s)
            }),
        record_present: record.is_some(),
        spaces: host.store.spaces(name),
        namespace_exists,
        tasks: Vec::new(),
        containers: Vec::new(),
        snapshots: Vec::new(),
        images: Vec::new(),
        leases: Vec::new(),
        content: Vec::new(),
        cgroup_dirs: host.cgroups.subtree_dirs(&group),
        files: host.store.subtree(name),
        namespace,
        cgroup_path: group,
        networks: Vec::new(),
    };
    let mut live = Vec::new();
    if namespace_exists {
        let ns = plan.namespace.as_str();
        let all = list_contents(rt, ns).await?;
        live = space_network::live_tasks(&all.tasks, &all.containers);
        plan.tasks = all
            .tasks
            .into_iter()
            .map(|t| PlannedTask {
                id: t.container_id,
                pid: t.pid,
                status: t.status.as_str().into(),
            })
            .collect();
        plan.containers = all.containers.into_iter().map(|c| c.id).collect();
        plan.images = all.images.into_iter().map(|i| i.name).collect();
        plan.leases = all.leases;
        plan.content = all.content.into_iter().map(|c| c.digest).collect();
        plan.snapshots = all
            .snapshots
            .into_iter()
            .map(|s| PlannedSnapshot {
                snapshotter: s.snapshotter,
                key: s.key,
            })
            .collect();
    }
    plan.networks = space_network::plan_networks(host, name, live).await?;
    Ok(plan)
}

/// Everything in a namespace, one `kind id` line each, in teardown order.
async fn namespace_objects(rt: &Runtime, ns: &str) -> OpResult<Vec<String>> {
    let Contents {
        tasks,
        containers,
        images,
        leases,
        content,
        snapshots,
    } = list_contents(rt, ns).await?;
    let mut out: Vec<String> = tasks
        .into_iter()
        .map(|t| format!("task {}", t.container_id))
        .collect();
    out.extend(
        containers
            .into_iter()
            .map(|c| format!("container {}", c.id)),
    );
    out.extend(
        snapshots
            .into_iter()
            .map(|s| format!("snapshot {}/{}", s.snapshotter, s.key)),
    );
    out.extend(images.into_iter().map(|i| format!("image {}", i.name)));
    out.extend(leases.into_iter().map(|l| format!("lease {l}")));
    out.extend(content.into_iter().map(|c| format!("content {}", c.digest)));
    Ok(out)
}

/// Everything a namespace holds, listed at once.
struct Contents {
    tasks: Vec<crate::runtime::TaskInfo>,
    containers: Vec<crate::runtime::ContainerInfo>,
    images: Vec<crate::runtime::ImageInfo>,
    leases: Vec<String>,
    content: Vec<crate::runtime::ContentInfo>,
    snapshots: Vec<crate::runtime::SnapshotInfo>,
}

async fn list_contents(rt: &Runtime, ns: &str) -> OpResult<Contents> {
    let (tasks, containers, images, leases, content, snapshots) = tokio::try_join!(
        rt.list_tasks(ns),
        rt.list_containers(ns),
        rt.list_images(ns),
        rt.list_leases(ns),
        rt.list_content(ns),
        list_all_snapshots(rt, ns),
    )?;
    Ok(Contents {
        tasks,
        containers,
        images,
        leases,
        content,
        snapshots,
    })
}

async fn list_all_snapshots(
    rt: &Runtime,
    ns: &str,
) -> Result<Vec<crate::runtime::SnapshotInfo>, crate::runtime::RuntimeError> {
    let mut all = Vec::new();
    for snapshotter in rt.snapshotters().await? {
        all.extend(rt.list_snapshots(ns, &snapshotter).await?);
    }
    Ok(all)
}

#[derive(Debug, Clone)]
pub struct DeleteOptions {
    pub cascade: bool,
    pub force: bool,
    /// How long a task has after SIGTERM before SIGKILL.
    pub grace: Duration,
}

/// One finished step of a delete.
#[derive(Debug, Clone, Serialize)]
pub struct DeleteStep {
    pub step: &'static str,
    pub removed: usize,
    pub detail: String,
}

/// Checks a plan against the options for a direct delete; an error here
/// means nothing was touched.
pub fn check_plan(plan: &DeletePlan, opts: &DeleteOptions) -> OpResult<()> {
    check_scope(plan, opts)?;
    space_network::check_networks(plan, opts)
}

/// The checks that hold whoever tears the realm down: the system realm and a
/// non-empty realm without `--cascade`. (Through kukeond the space networks
/// are the daemon's to tear down, so missing local CNI tools do not matter.)
pub fn check_scope(plan: &DeletePlan, opts: &DeleteOptions) -> OpResult<()> {
    if plan.system_realm && !opts.force {
        return Err(OpError::usage(format!(
            "realm {:?} is the system realm that runs the Kukeon daemon; refusing to delete it without --force",
            plan.realm
        )));
    }
    if !opts.cascade && plan.has_contents() {
        return Err(OpError::failed(format!(
            "realm {:?} is not empty: {}; use --cascade to delete them too (--dry-run shows the plan)",
            plan.realm,
            plan.contents_summary()
        )));
    }
    Ok(())
}

/// Tears the realm down in a safe order. Each step lists its objects again,
/// so anything that appeared or survived since the plan is handled too.
pub async fn execute_delete(
    host: &Host,
    rt: &Runtime,
    plan: &DeletePlan,
    opts: &DeleteOptions,
    progress: &mut (dyn FnMut(&DeleteStep) + Send),
) -> OpResult<Vec<DeleteStep>> {
    check_plan(plan, opts)?;
    let name = plan.realm.as_str();
    check_removable(host, name)?;
    let ns = plan.namespace.as_str();
    let mut steps = Vec::new();
    let mut done = |step: DeleteStep, steps: &mut Vec<DeleteStep>| {
        progress(&step);
        steps.push(step);
    };
    let fail = |step: &str, err: String| {
        OpError::failed(format!("delete realm {name:?} failed at step {step}: {err}; run the same command again to finish"))
    };

    mark_deleting(host, name);
    // Space networks first (Kukeon's delete_space.go order): the CNI DEL
    // needs each task's network namespace, which dies with the task.
    space_network::teardown_networks(host, rt, plan, opts, &mut |step| done(step, &mut steps))
        .await?;
    let present = namespace_names(rt).await?;
    // The realm's namespace, then BuildKit's `<ns>_history` companion.
    for namespace in [ns.to_string(), history_namespace(ns)] {
        if present.contains(&namespace) {
            drain_namespace(
                rt,
                &namespace,
                opts,
                &mut |step| done(step, &mut steps),
                &fail,
            )
            .await?;
        } else if namespace == ns {
            done(
                DeleteStep {
                    step: "namespace",
                    removed: 0,
                    detail: format!("{ns} (already gone)"),
                },
                &mut steps,
            );
        }
    }

    let removed = host
        .cgroups
        .remove(&plan.cgroup_path, Duration::from_secs(5))
        .map_err(|e| fail("cgroup", e.to_string()))?;
    done(
        DeleteStep {
            step: "cgroup",
            removed: removed.len(),
            detail: plan.cgroup_path.clone(),
        },
        &mut steps,
    );

    let removed = host.store.remove_realm_dir(name).map_err(|e| {
        fail(
            "files",
            OpError::io("cannot remove", &host.store.realm_dir(name), &e).message,
        )
    })?;
    done(
        DeleteStep {
            step: "files",
            removed: removed.len(),
            detail: host.store.realm_dir(name).display().to_string(),
        },
        &mut steps,
    );
    Ok(steps)
}

/// Refuses, before anything is torn down, a delete whose last step (the
/// realm's files) cannot succeed, such as on a read-only run path: otherwise
/// the namespace and cgroup would go and the record would stay behind.
fn check_removable(host: &Host, name: &str) -> OpResult<()> {
    use std::os::unix::ffi::OsStrExt;
    let mut dirs = Vec::new();
    if host.store.linked_dir(name).is_none() {
        dirs.push(host.store.realm_dir(name));
    }
    dirs.push(host.store.realms_root());
    for dir in dirs {
        let Ok(path) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
            continue;
        };
        // SAFETY: access(2) on a valid NUL-terminated path.
        if unsafe { libc::access(path.as_ptr(), libc::W_OK) } == 0 {
            continue;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::NotFound {
            return Err(OpError::failed(format!(
                "delete realm {name:?} refused, nothing was deleted: {}",
                OpError::io("cannot remove files in", &dir, &err).message
            )));
        }
    }
    Ok(())
}

/// BuildKit keeps build history in a companion namespace next to the realm's.
pub fn history_namespace(ns: &str) -> String {
    format!("{ns}_history")
}

/// Empties and deletes one namespace in a safe order: tasks (SIGTERM, SIGKILL
/// after the grace period, wait, delete), containers with their snapshots,
/// the remaining snapshots leaves first, images, leases, content, the
/// namespace. Each kind is listed again when its turn comes.
async fn drain_namespace(
    rt: &Runtime,
    ns: &str,
    opts: &DeleteOptions,
    done: &mut (dyn FnMut(DeleteStep) + Send),
    fail: &(dyn Fn(&str, String) -> OpError + Sync),
) -> OpResult<()> {
    let companion = if ns.ends_with("_history") {
        format!(" ({ns})")
    } else {
        String::new()
    };
    // Tasks and containers. Every live task gets SIGTERM first, so all of
    // them share one grace period rather than one per batch; then each
    // container is torn down on its own, TEARDOWN_CONCURRENCY at a time: its
    // task waited for (SIGKILL past the deadline) and deleted, then the
    // container and its snapshot.
    let (tasks, containers) = tokio::try_join!(
        patient(rt, |rt| async move { rt.list_tasks(ns).await }),
        patient(rt, |rt| async move { rt.list_containers(ns).await })
    )?;
    let (task_count, container_count) = (tasks.len(), containers.len());
    // Each container with its task, then any task without a container.
    // Owned work items: closures over borrowed ones trip the compiler's
    // higher-ranked lifetime inference inside the console's spawned task.
    let mut tasks_by_id: HashMap<String, TaskInfo> = tasks
        .into_iter()
        .map(|t| (t.container_id.clone(), t))
        .collect();
    let mut work: Vec<(Option<TaskInfo>, Option<ContainerInfo>)> = containers
        .into_iter()
        .map(|c| (tasks_by_id.remove(&c.id), Some(c)))
        .collect();
    work.extend(tasks_by_id.into_values().map(|t| (Some(t), None)));
    // Up to TEARDOWN_CONCURRENCY calls are in flight at once and containerd
    // (and its shims) serve them together, so each waits its share: the
    // per-call budget scales with how many run side by side. On top of
    // that, a call that still times out is retried (`patient`).
    let side_by_side = work.len().clamp(1, TEARDOWN_CONCURRENCY) as u32;
    let scaled = rt.with_timeout(rt.timeout().saturating_mul(side_by_side));
    let rt = &scaled;

    let live: Vec<(TaskInfo, Option<String>)> = work
        .iter()
        .filter_map(|(task, container)| {
            let task = task.as_ref().filter(|t| is_live(t.status))?;
            let cgroup = container.as_ref().and_then(|c| c.cgroups_path.clone());
            Some((task.clone(), cgroup))
        })
        .collect();
    bounded(live, |(t, cgroup)| async move {
        signal_task(rt, ns, &t, cgroup.as_deref()).await
    })
    .await
    .map_err(|e| fail("tasks", e))?;
    let deadline = Instant::now() + opts.grace;

    let killed = AtomicUsize::new(0);
    let killed = &killed;
    bounded(work, |(task, container)| async move {
        if let Some(t) = &task {
            if finish_task(rt, ns, t, deadline)
                .await
                .map_err(|e| ("tasks", e))?
            {
                killed.fetch_add(1, Ordering::Relaxed);
            }
        }
        if let Some(c) = &container {
            delete_container(rt, ns, c)
                .await
                .map_err(|e| ("containers", e))?;
        }
        Ok(())
    })
    .await
    .map_err(|(step, e)| fail(step, e))?;
    let killed = killed.load(Ordering::Relaxed);
    let how = if killed == 0 {
        "stopped and deleted".to_string()
    } else {
        format!(
            "stopped and deleted; {killed} got SIGKILL after the {} grace period",
            humantime::format_duration(opts.grace)
        )
    };
    done(DeleteStep {
        step: "tasks",
        removed: task_count,
        detail: format!("{how}{companion}"),
    });
    done(DeleteStep {
        step: "containers",
        removed: container_count,
        detail: format!("deleted with their snapshots{companion}"),
    });

    // Remaining snapshots, leaves first (a parent cannot go before its
    // children). Parents with a stale child record wait for the images.
    let (removed, refused) = remove_snapshots(rt, ns)
        .await
        .map_err(|e| fail("snapshots", e))?;
    // The refused ones and the parents they hold.
    let stale = if refused.is_empty() {
        0
    } else {
        count_snapshots(rt, ns)
            .await
            .map_err(|e| fail("snapshots", e))?
    };
    let held = if stale == 0 {
        String::new()
    } else {
        format!("; {stale} held by a stale child record, retried after content")
    };
    done(DeleteStep {
        step: "snapshots",
        removed,
        detail: format!("removed{companion}{held}"),
    });

    let images = patient(rt, |rt| async move { rt.list_images(ns).await }).await?;
    let count = images.len();
    for (i, image) in images.iter().enumerate() {
        // Synchronous garbage collection on the last one only.
        let last = i + 1 == count;
        let name = image.name.as_str();
        ignore_not_found(
            patient(
                rt,
                |rt| async move { rt.delete_image(ns, name, last).await },
            )
            .await,
        )
        .map_err(|e| fail("images", format!("{}: {e}", image.name)))?;
    }
    done(DeleteStep {
        step: "images",
        removed: count,
        detail: format!("deleted{companion}"),
    });

    let leases = patient(rt, |rt| async move { rt.list_leases(ns).await }).await?;
    for lease in &leases {
        ignore_not_found(patient(rt, |rt| async move { rt.delete_lease(ns, lease).await }).await)
            .map_err(|e| fail("leases", format!("{lease}: {e}")))?;
    }
    done(DeleteStep {
        step: "leases",
        removed: leases.len(),
        detail: format!("deleted{companion}"),
    });

    let content = patient(rt, |rt| async move { rt.list_content(ns).await }).await?;
    for blob in &content {
        let digest = blob.digest.as_str();
        ignore_not_found(
            patient(rt, |rt| async move { rt.delete_content(ns, digest).await }).await,
        )
        .map_err(|e| fail("content", format!("{}: {e}", blob.digest)))?;
    }
    done(DeleteStep {
        step: "content",
        removed: content.len(),
        detail: format!("blobs deleted{companion}"),
    });

    if stale > 0 {
        let removed = sweep_stale_snapshots(rt, ns, stale)
            .await
            .map_err(|e| fail("snapshots", e))?;
        done(DeleteStep {
            step: "snapshots",
            removed,
            detail: format!("collected after their images{companion}"),
        });
    }

    let deleted = patient(rt, |rt| async move { rt.delete_namespace(ns).await })
        .await
        .map_err(|e| fail("namespace", e.to_string()))?;
    done(DeleteStep {
        step: "namespace",
        removed: deleted as usize,
        detail: ns.into(),
    });
    Ok(())
}

/// Records that a delete is under way, so a half-finished delete is visible.
/// Best effort: a realm without a usable record has nothing to mark.
fn mark_deleting(host: &Host, name: &str) {
    if host.store.read_record(name).is_err() {
        return;
    }
    let Ok(lock) = host.store.lock(name) else {
        return;
    };
    if let Ok(mut doc) = host.store.read_record(name) {
        let status = doc.status_mut();
        status.state = Some(state::DELETING.into());
        status.updated_at = Some(now_rfc3339());
        let _ = host.store.write_record(&doc, &lock);
    }
}

fn is_live(status: TaskStatus) -> bool {
    matches!(
        status,
        TaskStatus::Running | TaskStatus::Paused | TaskStatus::Pausing
    )
}

/// Sends a live task SIGTERM (resuming it first if paused: a frozen task
/// ignores signals). The task's init is signalled directly when it provably
/// is the task (see `signal_in_cgroup`), which spares the shim a `runc kill`;
/// otherwise containerd does it. Either way only the init gets SIGTERM, as
/// with `docker stop`; the init decides how its children stop.
async fn signal_task(
    rt: &Runtime,
    ns: &str,
    task: &TaskInfo,
    cgroups_path: Option<&str>,
) -> Result<(), String> {
    let id = task.container_id.as_str();
    let ctx = |e: crate::runtime::RuntimeError| format!("task {id}: {e}");
    if matches!(task.status, TaskStatus::Paused | TaskStatus::Pausing) {
        let resumed = patient(rt, |rt| async move { rt.resume_task(ns, id).await }).await;
        ignore_not_found(resumed.map(|_| true)).map_err(ctx)?;
    }
    if let Some(path) = cgroups_path {
        if signal_in_cgroup(task.pid, path, libc::SIGTERM) != Signalled::Unverified {
            return Ok(());
        }
    }
    ignore_exited(
        patient(rt, |rt| async move {
            rt.kill_task(ns, id, SIGTERM, false).await
        })
        .await,
    )
    .map_err(ctx)
}

/// Waits for a task signalled by `signal_task` until `deadline`, SIGKILLs
/// everything in it past that, and deletes it. True when SIGKILL was needed.
async fn finish_task(
    rt: &Runtime,
    ns: &str,
    task: &TaskInfo,
    deadline: Instant,
) -> Result<bool, String> {
    let id = task.container_id.as_str();
    let ctx = |e: crate::runtime::RuntimeError| format!("task {id}: {e}");
    let mut killed = false;
    if is_live(task.status) {
        let left = deadline.saturating_duration_since(Instant::now());
        if rt.wait_task(ns, id, left).await.map_err(ctx)?.is_none() {
            killed = true;
            ignore_exited(
                patient(
                    rt,
                    |rt| async move { rt.kill_task(ns, id, SIGKILL, true).await },
                )
                .await,
            )
            .map_err(ctx)?;
            if rt
                .wait_task(ns, id, Duration::from_secs(10))
                .await
                .map_err(ctx)?
                .is_none()
            {
                return Err(format!("task {id} did not exit 10s after SIGKILL"));
            }
        }
    }
    match ignore_not_found(patient(rt, |rt| async move { rt.delete_task(ns, id).await }).await) {
        Ok(_) => {}
        // A delete that timed out may have finished on containerd's side
        // anyway; the retry then finds the shim gone ("ttrpc: closed").
        // What counts is that the task is gone.
        Err(_) if task_gone(rt, ns, id).await => {}
        Err(e) => return Err(ctx(e)),
    }
    Ok(killed)
}

/// True when `id` no longer shows in the namespace's task list (looked at a
/// few times over about a second: containerd drops a task just after its
/// shim goes).
async fn task_gone(rt: &Runtime, ns: &str, id: &str) -> bool {
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        match patient(rt, |rt| async move { rt.list_tasks(ns).await }).await {
            Ok(tasks) if tasks.iter().all(|t| t.container_id != id) => return true,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    false
}

async fn delete_container(rt: &Runtime, ns: &str, c: &ContainerInfo) -> Result<(), String> {
    let id = c.id.as_str();
    patient(rt, |rt| async move { rt.delete_container(ns, id).await })
        .await
        .map_err(|e| format!("container {}: {e}", c.id))?;
    if !c.snapshot_key.is_empty() && !c.snapshotter.is_empty() {
        let (snapshotter, key) = (c.snapshotter.as_str(), c.snapshot_key.as_str());
        ignore_not_found(
            patient(rt, |rt| async move {
                rt.remove_snapshot(ns, snapshotter, key).await
            })
            .await,
        )
        .map_err(|e| format!("snapshot {}: {e}", c.snapshot_key))?;
    }
    Ok(())
}

/// Runs `each` over `items`, `TEARDOWN_CONCURRENCY` at a time; all are tried,
/// and the first failure (if any) is returned, else how many there were.
async fn bounded<T, E, F, Fut>(items: Vec<T>, each: F) -> Result<usize, E>
where
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = Result<(), E>>,
{
    let results: Vec<Result<(), E>> = stream::iter(items)
        .map(each)
        .buffer_unordered(TEARDOWN_CONCURRENCY)
        .collect()
        .await;
    let count = results.len();
    match results.into_iter().find_map(Result::err) {
        Some(err) => Err(err),
        None => Ok(count),
    }
}

/// Removes every snapshot it can, leaves first, and returns how many went
/// and the refusals of those left.
///
/// A snapshot can refuse with "cannot remove snapshot with child" although
/// no listed snapshot names it as parent: when containerd's garbage collector
/// removes an orphaned child (a container's snapshot left behind, or one it
/// collects in the moment between a container's delete and ours), it does not
/// unlink the child from its parent. Nothing but the collector can remove
/// such a parent, and only once nothing references it, so those wait for
/// `sweep_stale_snapshots` after the images are gone.
async fn remove_snapshots(rt: &Runtime, ns: &str) -> Result<(usize, Vec<String>), String> {
    let mut removed = 0;
    let mut refused = Vec::new();
    for snapshotter in rt.snapshotters().await.map_err(|e| e.to_string())? {
        loop {
            let sn = snapshotter.as_str();
            let snaps = patient(rt, |rt| async move { rt.list_snapshots(ns, sn).await })
                .await
                .map_err(|e| e.to_string())?;
            let parents: HashSet<&str> = snaps.iter().filter_map(|s| s.parent.as_deref()).collect();
            let leaves: Vec<_> = snaps
                .iter()
                .filter(|s| !parents.contains(s.key.as_str()))
                .collect();
            if !snaps.is_empty() && leaves.is_empty() {
                return Err(format!(
                    "snapshots in {snapshotter} form a cycle; cannot order their removal"
                ));
            }
            let mut progress = false;
            let mut round_refused = Vec::new();
            for leaf in leaves {
                let key = leaf.key.as_str();
                let removal = patient(
                    rt,
                    |rt| async move { rt.remove_snapshot(ns, sn, key).await },
                )
                .await;
                match ignore_not_found(removal) {
                    Ok(_) => {
                        removed += 1;
                        progress = true;
                    }
                    Err(e) if e.kind == RuntimeErrorKind::FailedPrecondition => {
                        round_refused.push(format!("snapshot {}: {e}", leaf.key))
                    }
                    Err(e) => return Err(format!("snapshot {}: {e}", leaf.key)),
                }
            }
            if !progress {
                refused.extend(round_refused);
                break;
            }
        }
    }
    Ok((removed, refused))
}

/// Finishes the snapshots `remove_snapshots` could not remove, once images,
/// leases and content are gone: most were collected with their images;
/// for the rest the collector is run once more, then they are removed again.
/// Returns how many went, counting those the collector took.
async fn sweep_stale_snapshots(rt: &Runtime, ns: &str, stale: usize) -> Result<usize, String> {
    let present = count_snapshots(rt, ns).await?;
    let collected = stale.saturating_sub(present);
    if present == 0 {
        return Ok(collected);
    }
    patient(rt, |rt| async move { rt.collect_garbage(ns).await })
        .await
        .map_err(|e| e.to_string())?;
    let (_, refused) = remove_snapshots(rt, ns).await?;
    let left = count_snapshots(rt, ns).await?;
    if left > 0 {
        let why = refused.first().cloned().unwrap_or_default();
        return Err(format!(
            "{left} snapshot(s) in {ns} are still held after the garbage collector ran ({why})"
        ));
    }
    // Every snapshot present then is gone now, collected or removed.
    Ok(collected + present)
}

async fn count_snapshots(rt: &Runtime, ns: &str) -> Result<usize, String> {
    list_all_snapshots(rt, ns)
        .await
        .map(|all| all.len())
        .map_err(|e| e.to_string())
}

/// A signal to a task that exited since it was listed is not an error: the
/// wait that follows sees the exit.
fn ignore_exited(
    result: Result<(), crate::runtime::RuntimeError>,
) -> Result<(), crate::runtime::RuntimeError> {
    match result {
        Err(e)
            if matches!(
                e.kind,
                RuntimeErrorKind::NotFound | RuntimeErrorKind::FailedPrecondition
            ) =>
        {
            Ok(())
        }
        other => other,
    }
}

fn ignore_not_found(
    result: Result<bool, crate::runtime::RuntimeError>,
) -> Result<bool, crate::runtime::RuntimeError> {
    match result {
        Err(e) if e.kind == RuntimeErrorKind::NotFound => Ok(false),
        other => other,
    }
}
