//! The space-network part of a realm delete on Kukeon's layout: planning
//! each space's CNI objects and tearing them down (steps 1 to 5 of Kukeon's
//! `delete_space.go`) before the realm's tasks are killed, because a task's
//! network namespace goes away with it and the CNI DEL needs it.

use super::delete::{DeleteOptions, DeletePlan, DeleteStep};
use super::{Host, OpError, OpResult};
use crate::network::{self, LiveTask, SpaceNetwork};
use crate::runtime::{ContainerInfo, Runtime, TaskInfo, TaskStatus};
use crate::store::realms::Layout;

/// The live tasks of a namespace with their containers' Kukeon labels.
pub fn live_tasks(tasks: &[TaskInfo], containers: &[ContainerInfo]) -> Vec<LiveTask> {
    tasks
        .iter()
        .filter(|t| {
            t.pid > 0
                && matches!(
                    t.status,
                    TaskStatus::Running | TaskStatus::Paused | TaskStatus::Pausing
                )
        })
        .map(|t| {
            let labels = containers
                .iter()
                .find(|c| c.id == t.container_id)
                .map(|c| &c.labels);
            let label = |k: &str| labels.and_then(|l| l.get(k)).cloned();
            LiveTask {
                container_id: t.container_id.clone(),
                pid: t.pid,
                realm: label("kukeon.io/realm"),
                space: label("kukeon.io/space"),
            }
        })
        .collect()
}

/// Every space's network objects (Kukeon's layout only: the documented
/// layout has no space networks). The tools run on a blocking thread, off
/// the async workers the console shares.
pub async fn plan_networks(
    host: &Host,
    realm: &str,
    tasks: Vec<LiveTask>,
) -> OpResult<Vec<SpaceNetwork>> {
    if host.store.layout() != Layout::Kukeon || host.store.linked_dir(realm).is_some() {
        return Ok(Vec::new());
    }
    let dir = host.store.realm_dir(realm);
    let spaces = host.store.spaces(realm);
    let settings = host.settings.network.clone();
    let bound = host.settings.timeout;
    let realm = realm.to_string();
    tokio::task::spawn_blocking(move || {
        spaces
            .iter()
            .map(|space| {
                network::plan_space(&settings, bound, &realm, space, &dir.join(space), &tasks)
            })
            .collect()
    })
    .await
    .map_err(|e| OpError::failed(format!("space network planning stopped: {e}")))
}

/// Refuses a cascade that would leave network objects behind, unless forced.
pub fn check_networks(plan: &DeletePlan, opts: &DeleteOptions) -> OpResult<()> {
    if opts.force {
        return Ok(());
    }
    let remains: Vec<&String> = plan.networks.iter().flat_map(|n| &n.would_remain).collect();
    if let Some(first) = remains.first() {
        return Err(OpError::failed(format!(
            "delete realm {:?} refused, nothing was deleted: it would leave {first}{}; install the CNI plugins (containernetworking-plugins, or --cni-path DIR) and iptables/iproute2, or pass --force to delete the realm and leave them",
            plan.realm,
            network::remains_hint(remains.len())
        )));
    }
    Ok(())
}

/// Tears down every space network with a fresh look at the host (so a rerun
/// finishes what a failed run left), reporting each step.
pub async fn teardown_networks(
    host: &Host,
    rt: &Runtime,
    plan: &DeletePlan,
    opts: &DeleteOptions,
    done: &mut (dyn FnMut(DeleteStep) + Send),
) -> OpResult<()> {
    if host.store.layout() != Layout::Kukeon {
        return Ok(());
    }
    let ns = plan.namespace.as_str();
    let tasks = if super::realms::namespace_names(rt)
        .await?
        .iter()
        .any(|n| n == ns)
    {
        let (tasks, containers) = tokio::try_join!(rt.list_tasks(ns), rt.list_containers(ns))?;
        live_tasks(&tasks, &containers)
    } else {
        Vec::new()
    };
    for fresh in plan_networks(host, &plan.realm, tasks).await? {
        let settings = host.settings.network.clone();
        let (bound, force) = (host.settings.timeout, opts.force);
        let space = fresh.space.clone();
        let (steps, result) = tokio::task::spawn_blocking(move || {
            let mut steps = Vec::new();
            let result =
                network::teardown_space(&settings, bound, &fresh, force, &mut |s| steps.push(s));
            (steps, result)
        })
        .await
        .map_err(|e| OpError::failed(format!("space network teardown stopped: {e}")))?;
        for (step, removed, detail) in steps {
            done(DeleteStep {
                step,
                removed,
                detail,
            });
        }
        result.map_err(|e| {
            OpError::failed(format!(
                "delete realm {:?} failed at step network of space {space:?}: {e}; run the same command again to finish",
                plan.realm
            ))
        })?;
    }
    Ok(())
}
