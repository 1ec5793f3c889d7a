//! Images: listing, deleting, and the size `ctr images ls` shows.
//!
//! `Image.target.size` is only the size of the manifest (or index) blob, so
//! the real size is computed like containerd's `images.Size`: walk the target,
//! pick one manifest from an index for this platform, and sum the sizes of
//! every descriptor met (index, manifest, config, layers).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use containerd_client::services::v1::images_client::ImagesClient;
use containerd_client::services::v1::{DeleteImageRequest, ListImagesRequest};
use serde::{Deserialize, Serialize};
use tonic::transport::Channel;

use super::{found, request, timestamp, Runtime, RuntimeError, MAX_MESSAGE};

/// Manifests and indexes are small JSON documents; anything bigger is not one.
const MAX_JSON_BLOB: usize = 4 << 20;

/// Guard against cyclic or absurd descriptor graphs.
const MAX_WALK: usize = 10_000;

const INDEX_TYPES: [&str; 2] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];
const MANIFEST_TYPES: [&str; 2] = [
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// An image record; `digest` and `media_type` describe its target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageInfo {
    pub name: String,
    pub digest: String,
    pub media_type: String,
    pub created_at: Option<DateTime<Utc>>,
    pub labels: BTreeMap<String, String>,
}

/// The parts of an OCI/Docker descriptor the size walk needs.
#[derive(Debug, Clone, Deserialize)]
struct Descriptor {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    digest: String,
    size: i64,
    #[serde(default)]
    platform: Option<Platform>,
}

#[derive(Debug, Clone, Deserialize)]
struct Platform {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
}

#[derive(Debug, Deserialize)]
struct Index {
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

#[derive(Debug, Deserialize)]
struct Manifest {
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

/// GOARCH spelling of the host architecture, as image platforms use it.
fn host_arch() -> &'static str {
    normalize_arch(std::env::consts::ARCH)
}

fn normalize_arch(arch: &str) -> &str {
    match arch {
        "x86_64" | "x86-64" => "amd64",
        "aarch64" => "arm64",
        "x86" | "i386" | "i686" => "386",
        "powerpc64" => "ppc64",
        other => other,
    }
}

/// Picks the manifest containerd would walk from an index: entries without a
/// platform or matching `os`/`arch`, those with a platform first. Unlike
/// containerd (which then errors), an index with no match falls back to its
/// first manifest so foreign-arch images still get a size.
fn pick_manifest<'a>(manifests: &'a [Descriptor], os: &str, arch: &str) -> Option<&'a Descriptor> {
    let matches =
        |p: &Platform| p.os.eq_ignore_ascii_case(os) && normalize_arch(&p.architecture) == arch;
    manifests
        .iter()
        .find(|d| d.platform.as_ref().is_some_and(matches))
        .or_else(|| manifests.iter().find(|d| d.platform.is_none()))
        .or_else(|| manifests.first())
}

impl Runtime {
    fn images_client(&self) -> ImagesClient<Channel> {
        ImagesClient::new(self.channel.clone()).max_decoding_message_size(MAX_MESSAGE)
    }

    /// All images of `ns`, sorted by name.
    pub async fn list_images(&self, ns: &str) -> Result<Vec<ImageInfo>, RuntimeError> {
        let req = request(ListImagesRequest::default(), ns)?;
        let mut client = self.images_client();
        let resp = self
            .unary(&format!("list images in {ns}"), client.list(req))
            .await?;
        let mut out: Vec<ImageInfo> = resp
            .images
            .into_iter()
            .map(|i| {
                let (digest, media_type) = i
                    .target
                    .map(|t| (t.digest, t.media_type))
                    .unwrap_or_default();
                ImageInfo {
                    name: i.name,
                    digest,
                    media_type,
                    created_at: timestamp(i.created_at.as_ref()),
                    labels: i.labels.into_iter().collect(),
                }
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The number `ctr images ls` prints in SIZE, in bytes. `None` when a
    /// manifest or index blob is missing or unreadable (the image cannot be
    /// sized, which is not a daemon failure).
    pub async fn image_size(
        &self,
        ns: &str,
        image: &ImageInfo,
    ) -> Result<Option<u64>, RuntimeError> {
        let os = "linux";
        let arch = host_arch();
        let mut total: u64 = 0;
        // (media type, digest, size from the parent descriptor; None for the
        // target, whose size is the blob's own length)
        let mut stack: Vec<(String, String, Option<i64>)> =
            vec![(image.media_type.clone(), image.digest.clone(), None)];
        let mut steps = 0;
        while let Some((media_type, digest, size)) = stack.pop() {
            steps += 1;
            if steps > MAX_WALK {
                return Ok(None);
            }
            let is_index = INDEX_TYPES.contains(&media_type.as_str());
            let is_manifest = MANIFEST_TYPES.contains(&media_type.as_str());
            if !is_index && !is_manifest {
                // Config and layers: counted from their descriptor, never read.
                let size = match size {
                    Some(s) => s,
                    None => match self.content_size(ns, &digest).await? {
                        Some(s) => s as i64,
                        None => return Ok(None),
                    },
                };
                let Ok(size) = u64::try_from(size) else {
                    return Ok(None);
                };
                total = total.saturating_add(size);
                continue;
            }
            let Some(blob) = self.read_blob(ns, &digest, MAX_JSON_BLOB).await? else {
                return Ok(None);
            };
            let Ok(size) = u64::try_from(size.unwrap_or(blob.len() as i64)) else {
                return Ok(None);
            };
            total = total.saturating_add(size);
            let children: Vec<Descriptor> = if is_index {
                let Ok(index) = serde_json::from_slice::<Index>(&blob) else {
                    return Ok(None);
                };
                pick_manifest(&index.manifests, os, arch)
                    .cloned()
                    .into_iter()
                    .collect()
            } else {
                let Ok(manifest) = serde_json::from_slice::<Manifest>(&blob) else {
                    return Ok(None);
                };
                manifest.config.into_iter().chain(manifest.layers).collect()
            };
            // Reverse so the walk visits children in document order.
            for child in children.into_iter().rev() {
                stack.push((child.media_type, child.digest, Some(child.size)));
            }
        }
        Ok(Some(total))
    }

    /// Deletes an image record; `sync` waits for garbage collection so its
    /// content and snapshots are gone on return. `Ok(false)` when absent.
    pub async fn delete_image(
        &self,
        ns: &str,
        name: &str,
        sync: bool,
    ) -> Result<bool, RuntimeError> {
        let req = request(
            DeleteImageRequest {
                name: name.to_string(),
                sync,
                target: None,
            },
            ns,
        )?;
        let mut client = self.images_client();
        found(
            self.unary(&format!("delete image {name} in {ns}"), client.delete(req))
                .await,
        )
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    fn desc(digest: &str, platform: Option<(&str, &str)>) -> Descriptor {
        Descriptor {
            media_type: MANIFEST_TYPES[0].to_string(),
            digest: digest.to_string(),
            size: 1,
            platform: platform.map(|(os, architecture)| Platform {
                os: os.to_string(),
                architecture: architecture.to_string(),
            }),
        }
    }

    #[test]
    fn pick_prefers_matching_platform_then_no_platform_then_first() {
        let list = vec![
            desc("a", Some(("linux", "arm64"))),
            desc("b", None),
            desc("c", Some(("linux", "amd64"))),
        ];
        assert_eq!(pick_manifest(&list, "linux", "amd64").unwrap().digest, "c");
        assert_eq!(pick_manifest(&list, "linux", "s390x").unwrap().digest, "b");
        let foreign = vec![
            desc("x", Some(("linux", "arm64"))),
            desc("y", Some(("windows", "amd64"))),
        ];
        assert_eq!(
            pick_manifest(&foreign, "linux", "amd64").unwrap().digest,
            "x"
        );
        assert!(pick_manifest(&[], "linux", "amd64").is_none());
        let spelled = vec![desc("z", Some(("linux", "x86_64")))];
        assert_eq!(
            pick_manifest(&spelled, "linux", "amd64").unwrap().digest,
            "z"
        );
    }

    #[test]
    fn index_and_manifest_json_parse() {
        let index: Index = serde_json::from_str(
            r#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:1","size":400,"platform":{"architecture":"amd64","os":"linux"}}]}"#,
        )
        .unwrap();
        assert_eq!(index.manifests[0].size, 400);
        let m: Manifest = serde_json::from_str(
            r#"{"schemaVersion":2,"config":{"mediaType":"c","digest":"sha256:2","size":5},"layers":[{"mediaType":"l","digest":"sha256:3","size":7}]}"#,
        )
        .unwrap();
        assert_eq!(m.config.unwrap().size + m.layers[0].size, 12);
    }
}
