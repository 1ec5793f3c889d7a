//! Containers (records) and tasks (their running processes).
//!
//! Teardown order matters: kill, wait, delete the task, then the container;
//! deleting a container record while its task lives orphans the shim.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use containerd_client::services::v1::containers_client::ContainersClient;
use containerd_client::services::v1::tasks_client::TasksClient;
use containerd_client::services::v1::{
    DeleteContainerRequest, DeleteTaskRequest, KillRequest, ListContainersRequest,
    ListTasksRequest, ResumeTaskRequest, WaitRequest,
};
use containerd_client::types::v1::Status;
use serde::Serialize;
use tonic::transport::Channel;

use super::{found, request, timestamp, Runtime, RuntimeError, MAX_MESSAGE};

/// A container record, with the cgroup its OCI spec asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerInfo {
    pub id: String,
    pub image: String,
    pub labels: BTreeMap<String, String>,
    pub snapshotter: String,
    pub snapshot_key: String,
    pub runtime_name: String,
    pub created_at: Option<DateTime<Utc>>,
    /// `linux.cgroupsPath` from the OCI spec, when set.
    pub cgroups_path: Option<String>,
}

/// containerd's task status (containerd.v1.types.Status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum TaskStatus {
    Unknown,
    Created,
    Running,
    Stopped,
    Paused,
    Pausing,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Unknown => "Unknown",
            TaskStatus::Created => "Created",
            TaskStatus::Running => "Running",
            TaskStatus::Stopped => "Stopped",
            TaskStatus::Paused => "Paused",
            TaskStatus::Pausing => "Pausing",
        }
    }

    fn from_proto(v: i32) -> Self {
        match Status::try_from(v) {
            Ok(Status::Created) => TaskStatus::Created,
            Ok(Status::Running) => TaskStatus::Running,
            Ok(Status::Stopped) => TaskStatus::Stopped,
            Ok(Status::Paused) => TaskStatus::Paused,
            Ok(Status::Pausing) => TaskStatus::Pausing,
            Ok(Status::Unknown) | Err(_) => TaskStatus::Unknown,
        }
    }
}

impl std::fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A task (the init process of a container).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskInfo {
    pub container_id: String,
    pub pid: u32,
    pub status: TaskStatus,
    /// Only for stopped tasks.
    pub exit_status: Option<u32>,
    pub exited_at: Option<DateTime<Utc>>,
}

/// `linux.cgroupsPath` from a container spec (an Any holding JSON).
fn cgroups_path(spec: Option<&prost_types::Any>) -> Option<String> {
    let spec: serde_json::Value = serde_json::from_slice(&spec?.value).ok()?;
    let path = spec.pointer("/linux/cgroupsPath")?.as_str()?;
    (!path.is_empty()).then(|| path.to_string())
}

impl Runtime {
    fn containers_client(&self) -> ContainersClient<Channel> {
        ContainersClient::new(self.channel.clone()).max_decoding_message_size(MAX_MESSAGE)
    }

    fn tasks_client(&self) -> TasksClient<Channel> {
        TasksClient::new(self.channel.clone()).max_decoding_message_size(MAX_MESSAGE)
    }

    /// All container records of `ns`, sorted by id. Uses the streaming list
    /// so many containers with large specs do not hit a message size limit.
    pub async fn list_containers(&self, ns: &str) -> Result<Vec<ContainerInfo>, RuntimeError> {
        let req = request(ListContainersRequest::default(), ns)?;
        let mut client = self.containers_client();
        let msgs = self
            .collect(&format!("list containers in {ns}"), client.list_stream(req))
            .await?;
        let mut out: Vec<ContainerInfo> = msgs
            .into_iter()
            .filter_map(|m| m.container)
            .map(|c| ContainerInfo {
                cgroups_path: cgroups_path(c.spec.as_ref()),
                created_at: timestamp(c.created_at.as_ref()),
                runtime_name: c.runtime.map(|r| r.name).unwrap_or_default(),
                id: c.id,
                image: c.image,
                labels: c.labels.into_iter().collect(),
                snapshotter: c.snapshotter,
                snapshot_key: c.snapshot_key,
            })
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// All tasks of `ns`, sorted by container id.
    pub async fn list_tasks(&self, ns: &str) -> Result<Vec<TaskInfo>, RuntimeError> {
        let req = request(ListTasksRequest::default(), ns)?;
        let mut client = self.tasks_client();
        let resp = self
            .unary(&format!("list tasks in {ns}"), client.list(req))
            .await?;
        let mut out: Vec<TaskInfo> = resp
            .tasks
            .into_iter()
            .map(|p| {
                let status = TaskStatus::from_proto(p.status);
                let stopped = status == TaskStatus::Stopped;
                TaskInfo {
                    // containerd 1.6 fills only `id` (= container id) for tasks.
                    container_id: if p.container_id.is_empty() {
                        p.id
                    } else {
                        p.container_id
                    },
                    pid: p.pid,
                    status,
                    exit_status: stopped.then_some(p.exit_status),
                    exited_at: if stopped {
                        timestamp(p.exited_at.as_ref())
                    } else {
                        None
                    },
                }
            })
            .collect();
        out.sort_by(|a, b| a.container_id.cmp(&b.container_id));
        Ok(out)
    }

    /// Sends `signal` to the task's init process (`all`: to every process).
    pub async fn kill_task(
        &self,
        ns: &str,
        id: &str,
        signal: u32,
        all: bool,
    ) -> Result<(), RuntimeError> {
        let req = request(
            KillRequest {
                container_id: id.to_string(),
                exec_id: String::new(),
                signal,
                all,
            },
            ns,
        )?;
        let mut client = self.tasks_client();
        self.unary(&format!("kill task {id} in {ns}"), client.kill(req))
            .await
    }

    /// Resumes a paused task (a frozen task ignores signals).
    pub async fn resume_task(&self, ns: &str, id: &str) -> Result<(), RuntimeError> {
        let req = request(
            ResumeTaskRequest {
                container_id: id.to_string(),
            },
            ns,
        )?;
        let mut client = self.tasks_client();
        self.unary(&format!("resume task {id} in {ns}"), client.resume(req))
            .await
    }

    /// Waits up to `max` for the task to exit and returns its exit status;
    /// `Ok(None)` when it is still running. Bounded by `max`, not by the
    /// handle's timeout, since waiting is the point.
    pub async fn wait_task(
        &self,
        ns: &str,
        id: &str,
        max: Duration,
    ) -> Result<Option<u32>, RuntimeError> {
        let req = request(
            WaitRequest {
                container_id: id.to_string(),
                exec_id: String::new(),
            },
            ns,
        )?;
        let mut client = self.tasks_client();
        match tokio::time::timeout(max, client.wait(req)).await {
            Err(_) => Ok(None),
            Ok(Err(status)) => Err(self.status_error(&format!("wait task {id} in {ns}"), &status)),
            Ok(Ok(resp)) => Ok(Some(resp.into_inner().exit_status)),
        }
    }

    /// Deletes a stopped task; `Ok(false)` when there was no task.
    pub async fn delete_task(&self, ns: &str, id: &str) -> Result<bool, RuntimeError> {
        let req = request(
            DeleteTaskRequest {
                container_id: id.to_string(),
            },
            ns,
        )?;
        let mut client = self.tasks_client();
        found(
            self.unary(&format!("delete task {id} in {ns}"), client.delete(req))
                .await,
        )
    }

    /// Deletes a container record (not its snapshot); `Ok(false)` when absent.
    pub async fn delete_container(&self, ns: &str, id: &str) -> Result<bool, RuntimeError> {
        let req = request(DeleteContainerRequest { id: id.to_string() }, ns)?;
        let mut client = self.containers_client();
        found(
            self.unary(
                &format!("delete container {id} in {ns}"),
                client.delete(req),
            )
            .await,
        )
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn status_strings_and_serde() {
        assert_eq!(TaskStatus::from_proto(2), TaskStatus::Running);
        assert_eq!(TaskStatus::from_proto(99), TaskStatus::Unknown);
        assert_eq!(TaskStatus::Pausing.as_str(), "Pausing");
        assert_eq!(
            serde_json::to_string(&TaskStatus::Stopped).unwrap(),
            "\"Stopped\""
        );
    }

    #[test]
    fn cgroups_path_from_spec() {
        let any = |json: &str| prost_types::Any {
            type_url: "types.containerd.io/opencontainers/runtime-spec/1/Spec".into(),
            value: json.as_bytes().to_vec(),
        };
        assert_eq!(
            cgroups_path(Some(&any(r#"{"linux":{"cgroupsPath":"/a/b"}}"#))).as_deref(),
            Some("/a/b")
        );
        assert_eq!(cgroups_path(Some(&any(r#"{"linux":{}}"#))), None);
        assert_eq!(cgroups_path(Some(&any("not json"))), None);
        assert_eq!(cgroups_path(None), None);
    }
}
