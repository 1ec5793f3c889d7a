//! Creating (or repairing) a realm: record, containerd namespace, cgroup
//! subtree, then the record again as Ready. A failure rolls back exactly what
//! this call created, in reverse order.

use super::{now_rfc3339, Host, OpError, OpResult};
use crate::model::cgroup_names::v2_controllers;
use crate::model::names::validate_namespace;
use crate::model::realm::{is_unset_time, state};
use crate::model::RealmDoc;
use crate::runtime::Runtime;
use crate::store::realms::KUKEON_REALM_LABEL;
use crate::store::Layout;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    pub name: String,
    pub namespace: Option<String>,
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Created,
    Existed,
    /// Was missing from an existing realm and has been made again.
    Repaired,
    Updated,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Existed => "already existed",
            Outcome::Repaired => "repaired",
            Outcome::Updated => "updated",
        }
    }
}

/// One step of a create, reported as it completes.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub step: &'static str,
    pub outcome: Outcome,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CreateReport {
    pub realm: String,
    pub namespace: String,
    pub cgroup_path: String,
    pub steps: Vec<Step>,
}

/// What this call made, so a failure can undo exactly that.
#[derive(Default)]
struct Made {
    realm_dir: Option<PathBuf>,
    record: bool,
    namespace: Option<String>,
    cgroup_dirs: Vec<PathBuf>,
}

/// Everything about a create request that can be refused without
/// containerd: the name, the namespace it gives, and a namespace already
/// claimed by another realm. Returns the namespace. The CLI calls it before
/// connecting, so bad input never waits on the daemon.
pub fn check_request(host: &Host, req: &CreateRequest) -> OpResult<String> {
    (host.store.new_name_rule())(&req.name).map_err(OpError::usage)?;
    if let Some(ns) = &req.namespace {
        validate_namespace(ns).map_err(OpError::usage)?;
    }
    let name = req.name.as_str();
    // Two realms sharing one namespace would delete each other's workloads.
    let wanted = req
        .namespace
        .clone()
        .unwrap_or_else(|| host.store.default_namespace(name));
    // A valid realm name can still make a namespace containerd refuses
    // ("a--b" gives "kukeon-a--b"); say so before anything is made.
    if req.namespace.is_none() && validate_namespace(&wanted).is_err() {
        return Err(OpError::usage(format!(
            "realm name {name:?} gives namespace {wanted:?}, which containerd refuses (separators must not touch); choose another name or give --namespace"
        )));
    }
    if let Ok(entries) = host.store.list() {
        let owner = entries.iter().find(|e| {
            e.name != name
                && e.record
                    .as_ref()
                    .is_ok_and(|doc| host.namespace_of(doc) == wanted)
        });
        if let Some(owner) = owner {
            return Err(OpError::usage(format!(
                "namespace {wanted:?} already belongs to realm {:?}; choose another with --namespace",
                owner.name
            )));
        }
    }
    Ok(wanted)
}

/// Creates a realm, or repairs the parts of an existing one that are
/// missing: record, namespace, cgroup. A failure undoes what this call made.
pub async fn create_realm(
    host: &Host,
    rt: &Runtime,
    req: &CreateRequest,
    progress: &mut (dyn FnMut(&Step) + Send),
) -> OpResult<CreateReport> {
    check_request(host, req)?;
    let name = req.name.as_str();
    let mut made = Made::default();
    let mut steps = Vec::new();
    let mut report = |step: Step, steps: &mut Vec<Step>| {
        progress(&step);
        steps.push(step);
    };

    // Step 1: the record, under the realm's lock for the whole create so
    // concurrent creates of one realm serialize and only one says "created".
    let realm_dir = host.store.realm_dir(name);
    if realm_dir.symlink_metadata().is_err() {
        made.realm_dir = Some(realm_dir.clone());
    }
    let what = match made.realm_dir {
        Some(_) => "cannot create the realm directory",
        None => "cannot lock the realm directory",
    };
    let lock = host
        .store
        .lock(name)
        .map_err(|e| OpError::io(what, &realm_dir, &e))?;
    let existing = match host.store.entry(name).map(|e| e.record) {
        Some(Ok(doc)) => Some(doc),
        Some(Err(err)) if made.realm_dir.is_none() && err.message != "record is missing" => {
            return Err(OpError::failed(format!(
                "realm {name:?} has an unusable record: {err}; fix it or delete the realm first"
            )));
        }
        _ => None,
    };
    let mut doc = match existing {
        Some(doc) => {
            // Why: the directory check above ran before the lock; a
            // concurrent create may have made the realm meanwhile, and a
            // failure here must never roll back (remove) its record.
            made.realm_dir = None;
            if let Some(ns) = &req.namespace {
                if *ns != host.namespace_of(&doc) {
                    return Err(OpError::usage(format!(
                        "realm {name:?} already exists with namespace {:?}; drop --namespace or delete the realm first",
                        host.namespace_of(&doc)
                    )));
                }
            }
            report(
                Step {
                    step: "record",
                    outcome: Outcome::Existed,
                    detail: host.store.record_path(name).display().to_string(),
                },
                &mut steps,
            );
            doc
        }
        None => {
            let namespace = req
                .namespace
                .clone()
                .unwrap_or_else(|| host.store.default_namespace(name));
            let mut labels = req.labels.clone();
            if host.store.layout() == Layout::Kukeon {
                // Kukeon's create labels every realm with its namespace.
                labels
                    .entry(KUKEON_REALM_LABEL.to_string())
                    .or_insert_with(|| namespace.clone());
            }
            let mut doc = RealmDoc::new(name, &namespace, labels);
            let now = now_rfc3339();
            let status = doc.status_mut();
            status.state = Some(state::CREATING.into());
            status.created_at = Some(now.clone());
            status.updated_at = Some(now);
            status.cgroup_path = Some(host.realm_cgroup(name));
            if let Err(e) = host.store.write_record(&doc, &lock) {
                let err = OpError::io(
                    "cannot write the realm record",
                    &host.store.record_path(name),
                    &e,
                );
                return Err(rollback(host, rt, name, made, "record", err).await);
            }
            made.record = true;
            report(
                Step {
                    step: "record",
                    outcome: Outcome::Created,
                    detail: host.store.record_path(name).display().to_string(),
                },
                &mut steps,
            );
            doc
        }
    };
    let repairing = !made.record;
    let namespace = host.namespace_of(&doc);
    let (_, group) = host.realm_targets(name, Some(&doc));

    // Step 2: the containerd namespace.
    let ns_labels = BTreeMap::from([("kukeon.io/realm".to_string(), name.to_string())]);
    match rt.create_namespace(&namespace, &ns_labels).await {
        Ok(created) => {
            if created {
                made.namespace = Some(namespace.clone());
            }
            let outcome = match (created, repairing) {
                (false, _) => Outcome::Existed,
                (true, true) => Outcome::Repaired,
                (true, false) => Outcome::Created,
            };
            report(
                Step {
                    step: "namespace",
                    outcome,
                    detail: namespace.clone(),
                },
                &mut steps,
            );
        }
        Err(e) => {
            let err = OpError::from(e);
            return Err(fail(host, rt, name, made, "namespace", err, &mut doc, &lock).await);
        }
    }

    // Step 3: the cgroup subtree.
    let controllers = match host.cgroups.create(&group) {
        Ok(created) => {
            let outcome = match (created.created.is_empty(), repairing) {
                (true, _) => Outcome::Existed,
                (false, true) => Outcome::Repaired,
                (false, false) => Outcome::Created,
            };
            made.cgroup_dirs = created.created.clone();
            // Count only the realm's own directories (one per hierarchy), not ancestors.
            let own = created
                .created
                .iter()
                .chain(&created.existed)
                .filter(|d| d.ends_with(group.trim_start_matches('/')))
                .count();
            let detail = format!(
                "{group} in {own} hierarch{}",
                if own == 1 { "y" } else { "ies" }
            );
            report(
                Step {
                    step: "cgroup",
                    outcome,
                    detail,
                },
                &mut steps,
            );
            created.controllers
        }
        Err(e) => {
            let err = OpError::io("cannot create the cgroup", std::path::Path::new(&group), &e);
            return Err(fail(host, rt, name, made, "cgroup", err, &mut doc, &lock).await);
        }
    };

    // Step 4: the record, Ready, with what was observed.
    let before = doc.clone();
    let now = now_rfc3339();
    let status = doc.status_mut();
    status.state = Some(state::READY.into());
    status.cgroup_path = Some(group.clone());
    // Kukeon's field holds cgroup v2 names, also on a v1 host.
    status.subtree_controllers = match host.store.layout() {
        Layout::Kukeon => v2_controllers(&controllers),
        Layout::Docs => controllers,
    };
    status.containerd_namespace_ready = Some(true);
    status.cgroup_ready = Some(true);
    // Only a failure this tool recorded is cleared; a reason Kukeon (or
    // anyone else) wrote stays with its message.
    if status.reason.as_deref().is_some_and(is_own_reason) {
        status.reason = None;
        status.message = None;
    }
    // Set once; Go's zero time counts as never set.
    if is_unset_time(status.created_at.as_deref()) {
        status.created_at = Some(now.clone());
    }
    if is_unset_time(status.ready_at.as_deref()) {
        status.ready_at = Some(now.clone());
    }
    if status.observed_generation.is_none() {
        status.observed_generation = Some(0);
    }
    let changed = doc != before;
    if changed {
        doc.status_mut().updated_at = Some(now);
        if let Err(e) = host.store.write_record(&doc, &lock) {
            let err = OpError::io(
                "cannot write the realm record",
                &host.store.record_path(name),
                &e,
            );
            return Err(fail(host, rt, name, made, "status", err, &mut doc, &lock).await);
        }
    }
    if made.record {
        // The record step already said "created"; the status write completes it.
    } else if changed {
        report(
            Step {
                step: "status",
                outcome: Outcome::Updated,
                detail: "Ready".into(),
            },
            &mut steps,
        );
    }
    drop(lock);
    Ok(CreateReport {
        realm: name.into(),
        namespace,
        cgroup_path: group,
        steps,
    })
}

/// The steps whose failure `fail` records as `<step>Failed`.
const STEPS: [&str; 4] = ["record", "namespace", "cgroup", "status"];

/// Whether a `status.reason` is one `fail` wrote.
fn is_own_reason(reason: &str) -> bool {
    STEPS
        .iter()
        .any(|step| reason.strip_prefix(step) == Some("Failed"))
}

/// A failure after the record exists: undo what this call made; a record
/// that existed before is kept and marked Failed with the reason.
#[allow(clippy::too_many_arguments)]
async fn fail(
    host: &Host,
    rt: &Runtime,
    name: &str,
    made: Made,
    step: &str,
    err: OpError,
    doc: &mut RealmDoc,
    lock: &crate::store::realms::RealmLock,
) -> OpError {
    if !made.record {
        let status = doc.status_mut();
        status.state = Some(state::FAILED.into());
        status.reason = Some(format!("{step}Failed"));
        status.message = Some(err.message.clone());
        status.updated_at = Some(now_rfc3339());
        let _ = host.store.write_record(doc, lock);
    }
    rollback(host, rt, name, made, step, err).await
}

async fn rollback(
    host: &Host,
    rt: &Runtime,
    name: &str,
    made: Made,
    step: &str,
    err: OpError,
) -> OpError {
    let mut undone = Vec::new();
    let mut left = Vec::new();
    if !made.cgroup_dirs.is_empty() {
        match host.cgroups.remove_dirs(&made.cgroup_dirs) {
            Ok(()) => undone.push("cgroup"),
            Err(e) => left.push(format!("cgroup ({e})")),
        }
    }
    if let Some(ns) = &made.namespace {
        match rt.delete_namespace(ns).await {
            Ok(_) => undone.push("namespace"),
            Err(e) => left.push(format!("namespace {ns} ({e})")),
        }
    }
    if made.record || made.realm_dir.is_some() {
        let removed = match &made.realm_dir {
            Some(_) => host.store.remove_realm_dir(name).map(|_| ()),
            None => std::fs::remove_file(host.store.record_path(name)),
        };
        match removed {
            Ok(()) => undone.push("record"),
            Err(e) => left.push(format!("record ({e})")),
        }
    }
    let mut message = format!(
        "create realm {name:?} failed at step {step}: {}",
        err.message
    );
    if !undone.is_empty() {
        message.push_str(&format!("; rolled back: {}", undone.join(", ")));
    }
    if !left.is_empty() {
        message.push_str(&format!("; could not roll back: {}", left.join(", ")));
    }
    OpError {
        kind: err.kind,
        message,
    }
}
