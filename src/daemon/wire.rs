//! The `KukeonV1` argument and reply structs of Kukeon's
//! `pkg/api/kukeonv1/types.go`, as Go's `encoding/json` spells them: the
//! structs' own fields by their exported Go names (`Doc`, `Force`, `Result`,
//! `Err`, `OK`, `RawYAML`), the documents inside by their json tags
//! (camelCase, `v1beta1.RealmDoc`). Fields a newer daemon adds are kept
//! (`extra`), so a document read with GetRealm and applied back loses nothing.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `null` (Go's nil map or slice) reads as the empty value.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `v1beta1.RealmDoc`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RealmDoc {
    #[serde(rename = "apiVersion", default)]
    pub api_version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub metadata: RealmMetadata,
    #[serde(default)]
    pub spec: RealmSpec,
    /// Kept as sent: Kukeon's status carries Go times and an enum state.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub status: Value,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RealmMetadata {
    #[serde(default)]
    pub name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub labels: BTreeMap<String, String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RealmSpec {
    #[serde(default)]
    pub namespace: String,
    #[serde(
        rename = "registryCredentials",
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub registry_credentials: Vec<RegistryCredentials>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `v1beta1.RegistryCredentials` has the record's json tags, so the
/// model's entry (password masked in Debug, unknown keys kept) serves both.
pub use crate::model::RegistryCredential as RegistryCredentials;

/// `kukeonv1.APIError`: the client shows `Message` verbatim, as kuke does.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ApiError {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub message: String,
}

#[derive(Debug, Serialize)]
pub struct PingArgs {}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PingReply {
    #[serde(rename = "OK", default)]
    pub ok: bool,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub err: Option<ApiError>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DocArgs {
    pub doc: RealmDoc,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteRealmArgs {
    pub doc: RealmDoc,
    pub force: bool,
    pub cascade: bool,
}

/// `ApplyDocumentsArgs`: a `[]byte`, which Go's json sends as base64.
#[derive(Debug)]
pub struct ApplyDocumentsArgs {
    pub raw_yaml: Vec<u8>,
}

impl Serialize for ApplyDocumentsArgs {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("ApplyDocumentsArgs", 1)?;
        st.serialize_field("RawYAML", &BASE64.encode(&self.raw_yaml))?;
        st.end()
    }
}

/// Every reply is `{Result, Err}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Reply<T> {
    #[serde(default = "Option::default")]
    pub result: Option<T>,
    #[serde(default)]
    pub err: Option<ApiError>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateRealmResult {
    pub realm: RealmDoc,
    pub metadata_exists_pre: bool,
    pub metadata_exists_post: bool,
    pub cgroup_exists_pre: bool,
    pub cgroup_exists_post: bool,
    pub cgroup_created: bool,
    pub containerd_namespace_exists_pre: bool,
    pub containerd_namespace_exists_post: bool,
    pub containerd_namespace_created: bool,
    pub created: bool,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeleteRealmResult {
    pub realm: RealmDoc,
    #[serde(deserialize_with = "null_as_default")]
    pub deleted: Vec<String>,
    pub metadata_deleted: bool,
    pub cgroup_deleted: bool,
    pub containerd_namespace_deleted: bool,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct GetRealmResult {
    pub realm: RealmDoc,
    pub metadata_exists: bool,
    pub cgroup_exists: bool,
    pub containerd_namespace_exists: bool,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApplyDocumentsResult {
    #[serde(deserialize_with = "null_as_default")]
    pub resources: Vec<ApplyResourceResult>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApplyResourceResult {
    pub index: i64,
    pub kind: String,
    pub name: String,
    pub action: String,
    pub error: String,
    #[serde(deserialize_with = "null_as_default")]
    pub changes: Vec<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub details: BTreeMap<String, String>,
}

/// The realm document as `kuke create registry-credential` applies it: the
/// document GetRealm returned, `apiVersion` and `kind` set, the status
/// reset to Go's zero value (which yaml.v3 writes as `state: Pending`), as
/// YAML in Go's field order.
pub fn apply_yaml(doc: &RealmDoc) -> Result<Vec<u8>, String> {
    let mut desired = doc.clone();
    desired.api_version = "v1beta1".into();
    desired.kind = "Realm".into();
    desired.status = serde_json::json!({ "state": "Pending" });
    serde_yaml_ng::to_string(&desired)
        .map(String::into_bytes)
        .map_err(|e| format!("cannot write the realm document as YAML: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_use_go_field_names() {
        let args = DeleteRealmArgs {
            doc: RealmDoc {
                metadata: RealmMetadata {
                    name: "main".into(),
                    ..Default::default()
                },
                ..Default::default()
            },
            force: true,
            cascade: false,
        };
        let v = serde_json::to_value(&args).unwrap();
        assert_eq!(v["Doc"]["metadata"]["name"], "main");
        assert_eq!(v["Force"], true);
        assert_eq!(v["Cascade"], false);
        let raw = serde_json::to_value(ApplyDocumentsArgs {
            raw_yaml: b"kind: Realm\n".to_vec(),
        })
        .unwrap();
        assert_eq!(raw["RawYAML"], "a2luZDogUmVhbG0K");
    }

    #[test]
    fn replies_decode_from_go_names() {
        let r: Reply<CreateRealmResult> = serde_json::from_str(
            r#"{"Result":{"Realm":{"apiVersion":"v1beta1","kind":"Realm","metadata":{"name":"a","labels":null},"spec":{"namespace":"a.kukeon.io"},"status":{"state":"Ready","createdAt":"0001-01-01T00:00:00Z"}},"Created":true,"CgroupExistsPost":true},"Err":null}"#,
        )
        .unwrap();
        let res = r.result.unwrap();
        assert!(res.created && res.cgroup_exists_post && !res.cgroup_created);
        assert_eq!(res.realm.spec.namespace, "a.kukeon.io");
        let p: PingReply =
            serde_json::from_str(r#"{"OK":true,"Version":"v0.6.1","Err":null}"#).unwrap();
        assert!(p.ok && p.version == "v0.6.1" && p.err.is_none());
        let e: Reply<DeleteRealmResult> = serde_json::from_str(
            r#"{"Result":{"Realm":{"metadata":{"name":""},"spec":{"namespace":""},"status":{"state":"Pending"}},"Deleted":null},"Err":{"Kind":"ResourceHasDependencies","Message":"realm \"a\" has 1 space(s)"}}"#,
        )
        .unwrap();
        assert_eq!(e.err.unwrap().kind, "ResourceHasDependencies");
    }

    #[test]
    fn apply_yaml_keeps_unknown_fields_and_resets_status() {
        let doc: RealmDoc = serde_json::from_str(
            r#"{"apiVersion":"","kind":"","metadata":{"name":"m","labels":{"a":"b"}},"spec":{"namespace":"m.x","registryCredentials":[{"username":"u","password":"p","serverAddress":"r.io","insecure":true}],"future":1},"status":{"state":"Ready"}}"#,
        )
        .unwrap();
        let yaml = String::from_utf8(apply_yaml(&doc).unwrap()).unwrap();
        let back: serde_yaml_ng::Value = serde_yaml_ng::from_str(&yaml).unwrap();
        assert_eq!(back["apiVersion"], "v1beta1");
        assert_eq!(back["kind"], "Realm");
        assert_eq!(back["status"]["state"], "Pending");
        assert_eq!(back["spec"]["future"], 1);
        assert_eq!(back["spec"]["registryCredentials"][0]["insecure"], true);
        assert!(yaml.find("apiVersion").unwrap() < yaml.find("metadata").unwrap());
        assert!(yaml.find("metadata").unwrap() < yaml.find("spec").unwrap());
        assert!(!format!("{:?}", doc).contains("\"p\""));
    }
}
