//! Snapshots: container root filesystems and unpacked layers, per
//! snapshotter. Teardown removes children before parents.

use containerd_client::services::v1::introspection_client::IntrospectionClient;
use containerd_client::services::v1::snapshots::snapshots_client::SnapshotsClient;
use containerd_client::services::v1::snapshots::{
    Kind, ListSnapshotsRequest, RemoveSnapshotRequest,
};
use containerd_client::services::v1::PluginsRequest;
use serde::Serialize;
use tonic::transport::Channel;

use super::{found, request, Runtime, RuntimeError, MAX_MESSAGE};

/// One snapshot; `kind` is "View", "Active", "Committed" or "Unknown".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotInfo {
    pub snapshotter: String,
    pub key: String,
    pub parent: Option<String>,
    pub kind: String,
}

fn kind_name(v: i32) -> &'static str {
    match Kind::try_from(v) {
        Ok(Kind::View) => "View",
        Ok(Kind::Active) => "Active",
        Ok(Kind::Committed) => "Committed",
        Ok(Kind::Unknown) | Err(_) => "Unknown",
    }
}

impl Runtime {
    fn snapshots_client(&self) -> SnapshotsClient<Channel> {
        SnapshotsClient::new(self.channel.clone()).max_decoding_message_size(MAX_MESSAGE)
    }

    /// Snapshotter plugins that loaded (btrfs, zfs, ... often fail to init and
    /// listing them would only produce errors). Sorted.
    pub async fn snapshotters(&self) -> Result<Vec<String>, RuntimeError> {
        let mut client =
            IntrospectionClient::new(self.channel.clone()).max_decoding_message_size(MAX_MESSAGE);
        let req = PluginsRequest {
            filters: vec!["type==io.containerd.snapshotter.v1".to_string()],
        };
        let resp = self
            .unary("list snapshotter plugins", client.plugins(req))
            .await?;
        let mut out: Vec<String> = resp
            .plugins
            .into_iter()
            .filter(|p| p.init_err.as_ref().is_none_or(|e| e.code == 0))
            .map(|p| p.id)
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Snapshots of `ns` in one snapshotter, sorted by key.
    pub async fn list_snapshots(
        &self,
        ns: &str,
        snapshotter: &str,
    ) -> Result<Vec<SnapshotInfo>, RuntimeError> {
        let req = request(
            ListSnapshotsRequest {
                snapshotter: snapshotter.to_string(),
                filters: Vec::new(),
            },
            ns,
        )?;
        let mut client = self.snapshots_client();
        let pages = self
            .collect(
                &format!("list {snapshotter} snapshots in {ns}"),
                client.list(req),
            )
            .await?;
        let mut out: Vec<SnapshotInfo> = pages
            .into_iter()
            .flat_map(|p| p.info)
            .map(|i| SnapshotInfo {
                snapshotter: snapshotter.to_string(),
                kind: kind_name(i.kind).to_string(),
                parent: (!i.parent.is_empty()).then_some(i.parent),
                key: i.name,
            })
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// Removes one snapshot; `Ok(false)` when absent. A snapshot that still
    /// has children fails with kind `FailedPrecondition`.
    pub async fn remove_snapshot(
        &self,
        ns: &str,
        snapshotter: &str,
        key: &str,
    ) -> Result<bool, RuntimeError> {
        let req = request(
            RemoveSnapshotRequest {
                snapshotter: snapshotter.to_string(),
                key: key.to_string(),
            },
            ns,
        )?;
        let mut client = self.snapshots_client();
        found(
            self.unary(
                &format!("remove {snapshotter} snapshot {key} in {ns}"),
                client.remove(req),
            )
            .await,
        )
    }
}
