//! Content store: blobs (manifests, configs, layers) per namespace. Listed
//! and deleted for realm teardown; read to size images.

use containerd_client::services::v1::content_client::ContentClient;
use containerd_client::services::v1::{
    DeleteContentRequest, InfoRequest, ListContentRequest, ReadContentRequest,
};
use serde::Serialize;
use tonic::transport::Channel;

use super::{found, request, Runtime, RuntimeError, RuntimeErrorKind, MAX_MESSAGE};

/// One blob in a namespace's content store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContentInfo {
    pub digest: String,
    pub size: u64,
}

impl Runtime {
    fn content_client(&self) -> ContentClient<Channel> {
        ContentClient::new(self.channel.clone()).max_decoding_message_size(MAX_MESSAGE)
    }

    /// All blobs of `ns`, sorted by digest.
    pub async fn list_content(&self, ns: &str) -> Result<Vec<ContentInfo>, RuntimeError> {
        let req = request(ListContentRequest::default(), ns)?;
        let mut client = self.content_client();
        let pages = self
            .collect(&format!("list content in {ns}"), client.list(req))
            .await?;
        let mut out: Vec<ContentInfo> = pages
            .into_iter()
            .flat_map(|p| p.info)
            .map(|i| ContentInfo {
                digest: i.digest,
                size: u64::try_from(i.size).unwrap_or(0),
            })
            .collect();
        out.sort_by(|a, b| a.digest.cmp(&b.digest));
        Ok(out)
    }

    /// Deletes one blob; `Ok(false)` when it was not there.
    pub async fn delete_content(&self, ns: &str, digest: &str) -> Result<bool, RuntimeError> {
        let req = request(
            DeleteContentRequest {
                digest: digest.to_string(),
            },
            ns,
        )?;
        let mut client = self.content_client();
        found(
            self.unary(
                &format!("delete content {digest} in {ns}"),
                client.delete(req),
            )
            .await,
        )
    }

    /// Size recorded for a blob; `None` when it is not in the store.
    pub(super) async fn content_size(
        &self,
        ns: &str,
        digest: &str,
    ) -> Result<Option<u64>, RuntimeError> {
        let req = request(
            InfoRequest {
                digest: digest.to_string(),
            },
            ns,
        )?;
        let mut client = self.content_client();
        match self
            .unary(&format!("content info {digest} in {ns}"), client.info(req))
            .await
        {
            Ok(resp) => Ok(resp.info.and_then(|i| u64::try_from(i.size).ok())),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Reads a whole (small) blob such as a manifest or index; `None` when it
    /// is not in the store. Blobs larger than `limit` are refused so a
    /// mislabelled layer cannot be pulled into memory.
    pub(super) async fn read_blob(
        &self,
        ns: &str,
        digest: &str,
        limit: usize,
    ) -> Result<Option<Vec<u8>>, RuntimeError> {
        let req = request(
            ReadContentRequest {
                digest: digest.to_string(),
                offset: 0,
                size: 0,
            },
            ns,
        )?;
        let what = format!("read content {digest} in {ns}");
        let mut client = self.content_client();
        let res = self
            .bounded(&what, async {
                let mut stream = client.read(req).await?.into_inner();
                let mut data = Vec::new();
                while let Some(chunk) = stream.message().await? {
                    data.extend_from_slice(&chunk.data);
                    if data.len() > limit {
                        return Ok(None);
                    }
                }
                Ok(Some(data))
            })
            .await;
        match res {
            Ok(Some(data)) => Ok(Some(data)),
            Ok(None) => Err(RuntimeError::new(
                RuntimeErrorKind::Other,
                format!("{what}: blob larger than {limit} bytes"),
            )),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}
