//! Leases: they pin content and snapshots against garbage collection, so a
//! realm teardown deletes them before the namespace can go.

use containerd_client::services::v1::leases_client::LeasesClient;
use containerd_client::services::v1::{CreateRequest, DeleteRequest, ListRequest};
use tonic::transport::Channel;

use super::{found, request, Runtime, RuntimeError, RuntimeErrorKind, MAX_MESSAGE};

impl Runtime {
    fn leases_client(&self) -> LeasesClient<Channel> {
        LeasesClient::new(self.channel.clone()).max_decoding_message_size(MAX_MESSAGE)
    }

    /// Lease ids of `ns`, sorted.
    pub async fn list_leases(&self, ns: &str) -> Result<Vec<String>, RuntimeError> {
        let req = request(ListRequest::default(), ns)?;
        let mut client = self.leases_client();
        let resp = self
            .unary(&format!("list leases in {ns}"), client.list(req))
            .await?;
        let mut out: Vec<String> = resp.leases.into_iter().map(|l| l.id).collect();
        out.sort();
        Ok(out)
    }

    /// Deletes a lease and waits for the garbage collection it allows;
    /// `Ok(false)` when absent.
    pub async fn delete_lease(&self, ns: &str, id: &str) -> Result<bool, RuntimeError> {
        let req = request(
            DeleteRequest {
                id: id.to_string(),
                sync: true,
            },
            ns,
        )?;
        let mut client = self.leases_client();
        found(
            self.unary(&format!("delete lease {id} in {ns}"), client.delete(req))
                .await,
        )
    }

    /// Runs containerd's garbage collector now and waits for it. The API has
    /// no direct call for that, but deleting a lease with `sync` does it, so
    /// this creates an empty lease and deletes it. The lease expires by
    /// itself after a minute should this process die in between.
    pub async fn collect_garbage(&self, ns: &str) -> Result<(), RuntimeError> {
        let expires = (chrono::Utc::now() + chrono::Duration::minutes(1))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let req = request(
            CreateRequest {
                id: String::new(),
                labels: [("containerd.io/gc.expire".to_string(), expires)].into(),
            },
            ns,
        )?;
        let mut client = self.leases_client();
        let lease = self
            .unary(&format!("create a lease in {ns}"), client.create(req))
            .await?
            .lease
            .map(|l| l.id)
            .unwrap_or_default();
        if lease.is_empty() {
            return Err(RuntimeError::new(
                RuntimeErrorKind::Other,
                format!("create a lease in {ns}: containerd returned no lease id"),
            ));
        }
        self.delete_lease(ns, &lease).await.map(|_| ())
    }
}
