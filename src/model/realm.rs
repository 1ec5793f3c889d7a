//! The realm document as Kukeon documents it (`realm.yaml`, camelCase keys).
//! Every level keeps the keys it does not know in `extra`, so a
//! read-modify-write by the console never drops what another tool wrote.

use serde::{Deserialize, Serialize};
use serde_yaml_ng::Mapping;
use std::collections::BTreeMap;

pub const API_VERSION: &str = "v1beta1";
pub const KIND: &str = "Realm";
/// Shown in place of every password unless `--show-secrets` is given.
pub const MASK: &str = "********";

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RealmDoc {
    #[serde(default = "default_api_version")]
    pub api_version: String,
    #[serde(default = "default_kind")]
    pub kind: String,
    pub metadata: Metadata,
    #[serde(default)]
    pub spec: Spec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(flatten)]
    pub extra: Mapping,
}

fn default_api_version() -> String {
    API_VERSION.to_string()
}
fn default_kind() -> String {
    KIND.to_string()
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    pub name: String,
    /// Go writes a nil map as `null`: read it as no labels.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: BTreeMap<String, String>,
    /// Kukeon v0.6+: 1 at creation, +1 whenever `spec` changes; absent
    /// counts as 0. After `labels`, where Kukeon's Go struct has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    #[serde(flatten)]
    pub extra: Mapping,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub registry_credentials: Vec<RegistryCredential>,
    #[serde(flatten)]
    pub extra: Mapping,
}

/// Debug is written by hand (below): it masks the password.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RegistryCredential {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
    /// Omitted means "the registry of the image reference".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_address: Option<String>,
    #[serde(flatten)]
    pub extra: Mapping,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// A name (`Ready`), or the integer v0.4 daemons wrote, read as the name
    /// (`state::from_index`). Always written as the name.
    #[serde(
        default,
        deserialize_with = "state_name_or_index",
        skip_serializing_if = "Option::is_none"
    )]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup_path: Option<String>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub subtree_controllers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup_ready: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containerd_namespace_ready: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(flatten)]
    pub extra: Mapping,
}

/// Realm lifecycle states as Kukeon names them.
pub mod state {
    pub const PENDING: &str = "Pending";
    pub const CREATING: &str = "Creating";
    pub const READY: &str = "Ready";
    pub const DELETING: &str = "Deleting";
    pub const FAILED: &str = "Failed";
    pub const UNKNOWN: &str = "Unknown";

    /// Kukeon's `RealmState` enum in its declared order: the integer a v0.4
    /// daemon wrote is the index here (`v1beta1/state_marshal.go`).
    pub const BY_INDEX: [&str; 6] = [PENDING, CREATING, READY, DELETING, FAILED, UNKNOWN];

    /// The name of an integer state; `None` out of range (Kukeon refuses it).
    pub fn from_index(index: i64) -> Option<&'static str> {
        usize::try_from(index)
            .ok()
            .and_then(|i| BY_INDEX.get(i).copied())
    }
}

/// Reads `status.state` as Kukeon v0.5+ does: a name, or an integer index
/// into `state::BY_INDEX`; any other integer is refused, as Kukeon does.
fn state_name_or_index<'de, D>(deserializer: D) -> Result<Option<String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct StateVisitor;
    impl serde::de::Visitor<'_> for StateVisitor {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a state name or an integer state")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
            state::from_index(v)
                .map(|s| Some(s.to_string()))
                .ok_or_else(|| E::custom(format!("realm state: int {v} out of range 0-5")))
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
            self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    deserializer.deserialize_any(StateVisitor)
}

impl RealmDoc {
    pub fn new(name: &str, namespace: &str, labels: BTreeMap<String, String>) -> Self {
        RealmDoc {
            api_version: API_VERSION.into(),
            kind: KIND.into(),
            metadata: Metadata {
                name: name.into(),
                generation: None,
                labels,
                extra: Mapping::new(),
            },
            spec: Spec {
                namespace: Some(namespace.into()),
                ..Default::default()
            },
            status: None,
            extra: Mapping::new(),
        }
    }

    /// The containerd namespace the record names, if any; the default when it
    /// names none depends on the layout (`Host::namespace_of`).
    pub fn explicit_namespace(&self) -> Option<&str> {
        self.spec.namespace.as_deref().filter(|ns| !ns.is_empty())
    }

    pub fn status_mut(&mut self) -> &mut Status {
        self.status.get_or_insert_with(Status::default)
    }

    pub fn state(&self) -> Option<&str> {
        self.status.as_ref().and_then(|s| s.state.as_deref())
    }

    /// A copy safe to print: every password replaced by the mask.
    pub fn masked(&self) -> RealmDoc {
        let mut doc = self.clone();
        for c in &mut doc.spec.registry_credentials {
            c.mask();
        }
        doc
    }
}

/// `null` (Go's nil map or slice) reads as the empty value.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Go writes an unset time as its zero value; that is "not set", not a time.
pub fn is_unset_time(value: Option<&str>) -> bool {
    value.is_none_or(|t| t.is_empty() || t.starts_with("0001-01-01"))
}

pub fn default_namespace(realm: &str) -> String {
    format!("kukeon-{realm}")
}

impl RegistryCredential {
    pub fn server(&self) -> &str {
        self.server_address.as_deref().unwrap_or("")
    }

    /// Replaces the password, and fields other tools add (Docker's `auth`,
    /// `identitytoken`, ...), by the mask.
    pub fn mask(&mut self) {
        self.password = MASK.into();
        for (key, value) in self.extra.iter_mut() {
            let key = key.as_str().unwrap_or("").to_ascii_lowercase();
            if ["pass", "token", "auth", "secret"]
                .iter()
                .any(|k| key.contains(k))
            {
                *value = serde_yaml_ng::Value::String(MASK.into());
            }
        }
    }
}

/// Masked, like every other way out: a record printed with `{:?}` (an
/// assertion, a panic message, a log line) must not carry the password, and
/// `RealmDoc`'s derived Debug prints its credentials through this.
impl std::fmt::Debug for RegistryCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut shown = self.clone();
        shown.mask();
        f.debug_struct("RegistryCredential")
            .field("username", &shown.username)
            .field("password", &shown.password)
            .field("server_address", &shown.server_address)
            .field("extra", &shown.extra)
            .finish()
    }
}

/// A password on its way from a form to the store. Debug prints the mask, so
/// a request or message printed with `{:?}` does not carry it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(MASK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_document_fills_namespace() {
        let doc: RealmDoc = serde_yaml_ng::from_str("metadata:\n  name: main\nspec: {}\n").unwrap();
        assert_eq!(doc.explicit_namespace(), None);
        assert_eq!(doc.api_version, API_VERSION);
    }

    #[test]
    fn unknown_keys_survive_round_trip() {
        let text = "apiVersion: v1beta1\nkind: Realm\nfuture: 1\nmetadata:\n  name: m\n  annotations:\n    a: b\nspec:\n  namespace: ns\n  quota: {cpu: 2}\n  registryCredentials:\n  - username: u\n    password: p\n    serverAddress: r.io\n    email: e@x\nstatus:\n  state: Ready\n  custom: x\n";
        let doc: RealmDoc = serde_yaml_ng::from_str(text).unwrap();
        let back = serde_yaml_ng::to_string(&doc).unwrap();
        let again: RealmDoc = serde_yaml_ng::from_str(&back).unwrap();
        assert_eq!(doc, again);
        for key in ["future", "annotations", "quota", "email", "custom"] {
            assert!(back.contains(key), "{key} lost in:\n{back}");
        }
    }

    #[test]
    fn go_nulls_and_zero_times_read_as_unset() {
        let doc: RealmDoc = serde_json::from_str(
            r#"{"metadata":{"name":"m","labels":null},"spec":{"registryCredentials":null},"status":{"readyAt":"0001-01-01T00:00:00Z","subtreeControllers":null}}"#,
        )
        .unwrap();
        assert!(doc.metadata.labels.is_empty());
        assert!(is_unset_time(
            doc.status.as_ref().unwrap().ready_at.as_deref()
        ));
        assert!(!is_unset_time(Some("2026-01-02T03:04:05Z")));
    }

    #[test]
    fn masking_hides_every_password() {
        let mut doc = RealmDoc::new("m", "ns", Default::default());
        doc.spec.registry_credentials.push(RegistryCredential {
            username: "u".into(),
            password: "hunter2".into(),
            server_address: Some("r.io".into()),
            extra: Mapping::new(),
        });
        doc.spec.registry_credentials[0]
            .extra
            .insert("identitytoken".into(), "tok-hunter3".into());
        let text = serde_yaml_ng::to_string(&doc.masked()).unwrap();
        assert!(!text.contains("hunter2"));
        assert!(
            !text.contains("tok-hunter3"),
            "secret-looking extra fields are masked too"
        );
        assert!(text.contains(MASK));
    }

    #[test]
    fn debug_prints_never_carry_a_password() {
        let mut doc = RealmDoc::new("m", "ns", Default::default());
        doc.spec.registry_credentials.push(RegistryCredential {
            username: "u".into(),
            password: "hunter2-dbg".into(),
            server_address: Some("r.io".into()),
            extra: Mapping::new(),
        });
        doc.spec.registry_credentials[0]
            .extra
            .insert("auth".into(), "dTpodW50ZXIyLWRiZw==".into());
        for text in [format!("{doc:?}"), format!("{doc:#?}")] {
            assert!(!text.contains("hunter2-dbg"), "{text}");
            assert!(!text.contains("dTpodW50ZXIyLWRiZw=="), "{text}");
            assert!(text.contains(MASK) && text.contains("r.io"), "{text}");
        }
        // The document itself still holds the password: only Debug masks.
        assert_eq!(doc.spec.registry_credentials[0].password, "hunter2-dbg");
        let secret = Secret("hunter2-dbg".into());
        assert_eq!(format!("{secret:?}"), MASK);
        assert_eq!(format!("{:?}", Some(&secret)), format!("Some({MASK})"));
    }
}
