//! Namespaces: one per realm, so list/create/delete are the realm lifecycle
//! at the containerd level.

use std::collections::BTreeMap;

use containerd_client::services::v1::namespaces_client::NamespacesClient;
use containerd_client::services::v1::{
    CreateNamespaceRequest, DeleteNamespaceRequest, ListNamespacesRequest, Namespace,
};
use serde::Serialize;
use tonic::transport::Channel;

use super::{found, request, Runtime, RuntimeError, RuntimeErrorKind, MAX_MESSAGE};

/// A containerd namespace with its labels (sorted for stable output).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamespaceInfo {
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

impl Runtime {
    fn namespaces_client(&self) -> NamespacesClient<Channel> {
        NamespacesClient::new(self.channel.clone()).max_decoding_message_size(MAX_MESSAGE)
    }

    /// All namespaces, sorted by name.
    pub async fn list_namespaces(&self) -> Result<Vec<NamespaceInfo>, RuntimeError> {
        let mut client = self.namespaces_client();
        let resp = self
            .unary(
                "list namespaces",
                client.list(ListNamespacesRequest::default()),
            )
            .await?;
        let mut out: Vec<NamespaceInfo> = resp
            .namespaces
            .into_iter()
            .map(|n| NamespaceInfo {
                name: n.name,
                labels: n.labels.into_iter().collect(),
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Creates `ns`; `Ok(false)` when it already existed. The request carries
    /// the namespace header itself: containerd 1.6 otherwise answers
    /// "namespace is required" after having created it.
    pub async fn create_namespace(
        &self,
        ns: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<bool, RuntimeError> {
        let msg = CreateNamespaceRequest {
            namespace: Some(Namespace {
                name: ns.to_string(),
                labels: labels.clone().into_iter().collect(),
            }),
        };
        let req = request(msg, ns)?;
        let mut client = self.namespaces_client();
        match self
            .unary(&format!("create namespace {ns}"), client.create(req))
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.kind == RuntimeErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Deletes `ns`; `Ok(false)` when it did not exist. A namespace that still
    /// holds resources fails with kind `FailedPrecondition`.
    pub async fn delete_namespace(&self, ns: &str) -> Result<bool, RuntimeError> {
        let req = request(
            DeleteNamespaceRequest {
                name: ns.to_string(),
            },
            ns,
        )?;
        let mut client = self.namespaces_client();
        found(
            self.unary(&format!("delete namespace {ns}"), client.delete(req))
                .await,
        )
    }
}
