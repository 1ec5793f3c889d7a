//! Leases: they pin content and snapshots against garbage collection, so a
//! realm teardown deletes them before the namespace can go.

use containerd_client::services::v1::leases_client::LeasesClient;
use containerd_client::services::v1::{DeleteRequest, ListRequest};
use tonic::transport::Channel;

use super::{found, request, Runtime, RuntimeError, MAX_MESSAGE};

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
}
