//! What runs inside a realm's namespace: images, containers and their tasks,
//! placed in Kukeon's hierarchy by the `kukeon.io/*` labels.

use super::{Host, OpResult};
use crate::cgroup::Usage;
use crate::runtime::{Runtime, TaskInfo};
use futures::stream::{self, StreamExt};
use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageView {
    pub reference: String,
    pub digest: String,
    /// What `ctr images ls` shows: manifest, config and layers; None if unreadable.
    pub size_bytes: Option<u64>,
    pub created_at: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerView {
    pub id: String,
    pub image: String,
    /// The task's status, or `NoTask` for a container that was never started
    /// or whose task was deleted.
    pub status: String,
    pub pid: Option<u32>,
    pub exit_code: Option<u32>,
    pub space: Option<String>,
    pub stack: Option<String>,
    pub cell: Option<String>,
    pub container_type: Option<String>,
    /// Carries Kukeon's labels; an unmanaged container was started by something else.
    pub managed: bool,
    pub cgroup_path: Option<String>,
    /// The task's cgroup reading; all unknown when its cgroup is not found.
    pub usage: Usage,
}

pub async fn list_images(host: &Host, rt: &Runtime, realm: &str) -> OpResult<Vec<ImageView>> {
    let namespace = realm_namespace(host, realm)?;
    let images = rt.list_images(&namespace).await?;
    let namespace = namespace.as_str();
    let views = stream::iter(images)
        .map(|image| async move {
            let size_bytes = rt.image_size(namespace, &image).await.ok().flatten();
            ImageView {
                reference: image.name.clone(),
                digest: image.digest.clone(),
                size_bytes,
                created_at: image
                    .created_at
                    .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
            }
        })
        .buffered(8)
        .collect()
        .await;
    Ok(views)
}

/// Every container with its task (if any); `tasks_only` keeps those with a task.
pub async fn list_containers(
    host: &Host,
    rt: &Runtime,
    realm: &str,
    tasks_only: bool,
) -> OpResult<Vec<ContainerView>> {
    let namespace = realm_namespace(host, realm)?;
    let (containers, tasks) =
        tokio::try_join!(rt.list_containers(&namespace), rt.list_tasks(&namespace))?;
    let tasks: HashMap<&str, &TaskInfo> =
        tasks.iter().map(|t| (t.container_id.as_str(), t)).collect();
    let mut views: Vec<ContainerView> = containers
        .iter()
        .filter(|c| !tasks_only || tasks.contains_key(c.id.as_str()))
        .map(|c| {
            let task = tasks.get(c.id.as_str());
            let label = |k: &str| c.labels.get(k).cloned();
            // systemd-style paths (slice:prefix:name) are not group paths we can read.
            let readable_cgroup = c.cgroups_path.clone().filter(|p| p.starts_with('/'));
            let usage = match (&readable_cgroup, task) {
                (Some(path), Some(_)) => host.cgroups.read_usage(path),
                _ => Usage::default(),
            };
            ContainerView {
                id: c.id.clone(),
                image: c.image.clone(),
                status: task
                    .map(|t| t.status.as_str().to_string())
                    .unwrap_or_else(|| "NoTask".into()),
                pid: task.map(|t| t.pid).filter(|p| *p > 0),
                exit_code: task.and_then(|t| t.exit_status),
                space: label("kukeon.io/space"),
                stack: label("kukeon.io/stack"),
                cell: label("kukeon.io/cell"),
                container_type: label("kukeon.io/container-type"),
                managed: c.labels.contains_key("kukeon.io/realm"),
                cgroup_path: c.cgroups_path.clone(),
                usage,
            }
        })
        .collect();
    views.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(views)
}

fn realm_namespace(host: &Host, realm: &str) -> OpResult<String> {
    let doc = host.require_realm(realm)?;
    Ok(host.namespace_of(&doc))
}
