//! The mutations through kukeond, and the one entry point per mutation that
//! both faces call: it takes the `Route` from `ops::daemon::route` and either
//! asks the daemon or runs the direct code (`create_realm`, `execute_delete`,
//! the credential functions) unchanged. Through the daemon nothing is
//! written on our side, so a daemon that fails, hangs or drops the
//! connection leaves nothing half-done here.

use super::create::{check_request, create_realm, CreateReport, CreateRequest, Outcome, Step};
use super::credentials::{
    check_new_credential, check_server_given, delete_credential, put_credential, take_credentials,
    upsert_credential, CredentialChange,
};
use super::daemon::{Kukeond, Route};
use super::delete::{
    check_plan, check_scope, execute_delete, DeleteOptions, DeletePlan, DeleteStep,
};
use super::{Host, OpError, OpResult};
use crate::daemon::wire::{
    apply_yaml, ApiError, ApplyDocumentsArgs, ApplyDocumentsResult, CreateRealmResult,
    DeleteRealmArgs, DeleteRealmResult, DocArgs, GetRealmResult, RealmDoc, RealmMetadata,
    RealmSpec, Reply,
};
use crate::runtime::Runtime;
use std::time::Duration;

/// Bound of a DeleteRealm call: the daemon stops every container of the
/// realm, each of which may take the grace period and a containerd call or
/// two, so `(1 + containers) × (--timeout + --grace)`; an empty realm gets
/// `--timeout + --grace`.
pub fn delete_bound(timeout: Duration, grace: Duration, plan: &DeletePlan) -> Duration {
    let containers = plan.containers.len().max(plan.tasks.len()) as u32;
    (timeout + grace) * (1 + containers)
}

fn yn(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// An APIError as one line: the daemon's message verbatim (as `kuke`
/// shows it), its kind, and what to do for the kinds that have a fix.
fn api_error(what: &str, err: ApiError) -> OpError {
    let fix = match err.kind.as_str() {
        "RealmNotFound" => "; list realms with `kuke-tui get realms`",
        "ResourceHasDependencies" => {
            "; use --cascade to delete them too (--dry-run shows the plan)"
        }
        _ => "",
    };
    let kind = if err.kind.is_empty() {
        "Unknown"
    } else {
        &err.kind
    };
    OpError::failed(format!(
        "kukeond refused {what}: {} ({kind}){fix}",
        err.message
    ))
}

fn realm_ref(name: &str, namespace: &str) -> RealmDoc {
    RealmDoc {
        api_version: "v1beta1".into(),
        kind: "Realm".into(),
        metadata: RealmMetadata {
            name: name.into(),
            ..Default::default()
        },
        spec: RealmSpec {
            namespace: namespace.into(),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// `create realm` through kukeond: CreateRealm with the name, labels and
/// `--namespace` (empty: the daemon's default, as `kuke create realm`
/// sends it). The steps report the daemon's Pre/Post/Created flags.
pub async fn create_realm_via(
    d: &Kukeond,
    host: &Host,
    req: &CreateRequest,
    progress: &mut (dyn FnMut(&Step) + Send),
) -> OpResult<CreateReport> {
    check_request(host, req)?;
    let name = req.name.as_str();
    let mut doc = realm_ref(name, req.namespace.as_deref().unwrap_or(""));
    doc.metadata.labels = req.labels.clone();
    let what = format!("create realm {name:?}");
    let r: CreateRealmResult = request(
        d,
        "KukeonV1.CreateRealm",
        &DocArgs { doc },
        d.timeout,
        &what,
    )
    .await?;
    let outcome = |pre: bool, created: bool, post: bool| match (
        created,
        pre || r.metadata_exists_pre,
        post,
    ) {
        (true, false, _) => Some(Outcome::Created),
        (true, true, _) => Some(Outcome::Repaired),
        (false, _, true) => Some(Outcome::Existed),
        (false, _, false) => None,
    };
    let namespace = Some(r.realm.spec.namespace.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| host.store.default_namespace(name));
    let cgroup_path = r
        .realm
        .status
        .get("cgroupPath")
        .and_then(|v| v.as_str())
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| host.realm_cgroup(name));
    let parts = [
        (
            "record",
            r.metadata_exists_pre,
            r.created,
            r.metadata_exists_post,
            host.store.record_path(name).display().to_string(),
        ),
        (
            "namespace",
            r.containerd_namespace_exists_pre,
            r.containerd_namespace_created,
            r.containerd_namespace_exists_post,
            namespace.clone(),
        ),
        (
            "cgroup",
            r.cgroup_exists_pre,
            r.cgroup_created,
            r.cgroup_exists_post,
            cgroup_path.clone(),
        ),
    ];
    let mut steps = Vec::new();
    let mut missing = Vec::new();
    for (step, pre, created, post, detail) in parts {
        let detail = format!(
            "{detail} (kukeond: existed {}, created {}, exists {})",
            yn(pre),
            yn(created),
            yn(post)
        );
        match outcome(pre, created, post) {
            Some(outcome) => {
                let s = Step {
                    step,
                    outcome,
                    detail,
                };
                progress(&s);
                steps.push(s);
            }
            None => missing.push(step),
        }
    }
    if !missing.is_empty() {
        return Err(OpError::failed(format!(
            "kukeond answered {what} but reports its {} missing afterwards; check the daemon (journalctl -u kukeond) and run the command again",
            missing.join(" and ")
        )));
    }
    Ok(CreateReport {
        realm: name.into(),
        namespace,
        cgroup_path,
        steps,
    })
}

/// `delete realm` through kukeond: DeleteRealm with `--force` and
/// `--cascade` after the same local checks as the direct path. The steps
/// report the daemon's Deleted list and flags.
pub async fn delete_realm_via(
    d: &Kukeond,
    host: &Host,
    plan: &DeletePlan,
    opts: &DeleteOptions,
    progress: &mut (dyn FnMut(&DeleteStep) + Send),
) -> OpResult<Vec<DeleteStep>> {
    check_scope(plan, opts)?;
    let name = plan.realm.as_str();
    let what = format!("delete realm {name:?}");
    let args = DeleteRealmArgs {
        doc: realm_ref(name, &plan.namespace),
        force: opts.force,
        cascade: opts.cascade,
    };
    let bound = delete_bound(d.timeout, opts.grace, plan);
    let r: DeleteRealmResult = request(d, "KukeonV1.DeleteRealm", &args, bound, &what).await?;
    let listed = if r.deleted.is_empty() {
        "nothing listed".to_string()
    } else {
        r.deleted.join(", ")
    };
    let steps = vec![
        DeleteStep {
            step: "kukeond",
            removed: r.deleted.len(),
            detail: format!("deleted: {listed}"),
        },
        DeleteStep {
            step: "namespace",
            removed: r.containerd_namespace_deleted as usize,
            detail: plan.namespace.clone(),
        },
        DeleteStep {
            step: "cgroup",
            removed: r.cgroup_deleted as usize,
            detail: plan.cgroup_path.clone(),
        },
        DeleteStep {
            step: "files",
            removed: r.metadata_deleted as usize,
            detail: host.store.realm_dir(name).display().to_string(),
        },
    ];
    for s in &steps {
        progress(s);
    }
    Ok(steps)
}

/// One kukeonv1 call whose reply carries `Result` and `Err`: an APIError
/// becomes the one-line error, an absent result its default (Go's zero).
async fn request<A: serde::Serialize, T: serde::de::DeserializeOwned + Default>(
    d: &Kukeond,
    method: &str,
    args: &A,
    bound: Duration,
    what: &str,
) -> OpResult<T> {
    let reply: Reply<T> = d.call(method, args, bound, what).await?;
    match reply.err {
        Some(err) => Err(api_error(what, err)),
        None => Ok(reply.result.unwrap_or_default()),
    }
}

/// GetRealm; a realm the daemon does not know is an error.
async fn get_realm(d: &Kukeond, realm: &str, what: &str) -> OpResult<RealmDoc> {
    let r: GetRealmResult = request(
        d,
        "KukeonV1.GetRealm",
        &DocArgs {
            doc: RealmDoc {
                metadata: RealmMetadata {
                    name: realm.into(),
                    ..Default::default()
                },
                ..Default::default()
            },
        },
        d.timeout,
        what,
    )
    .await?;
    if !r.metadata_exists {
        return Err(OpError::failed(format!(
            "realm {realm:?} not found by kukeond; list realms with `kuke-tui get realms`"
        )));
    }
    Ok(r.realm)
}

/// ApplyDocuments with the whole realm document, as `kuke create
/// registry-credential` does; a resource the daemon failed is an error.
async fn apply_realm(d: &Kukeond, doc: &RealmDoc, what: &str) -> OpResult<()> {
    let raw_yaml = apply_yaml(doc).map_err(OpError::failed)?;
    let r: ApplyDocumentsResult = request(
        d,
        "KukeonV1.ApplyDocuments",
        &ApplyDocumentsArgs { raw_yaml },
        d.timeout,
        what,
    )
    .await?;
    if let Some(failed) = r
        .resources
        .iter()
        .find(|res| res.action == "failed" || !res.error.is_empty())
    {
        return Err(OpError::failed(format!(
            "kukeond could not apply {what}: {} {:?}: {}",
            failed.kind,
            failed.name,
            if failed.error.is_empty() {
                "failed"
            } else {
                &failed.error
            }
        )));
    }
    Ok(())
}

/// Adds or replaces a credential through kukeond: GetRealm, the entry with
/// the same server replaced (Kukeon keys by server alone), ApplyDocuments.
pub async fn upsert_credential_via(
    d: &Kukeond,
    realm: &str,
    server: &str,
    username: &str,
    password: &str,
) -> OpResult<CredentialChange> {
    check_new_credential(server, username, password)?;
    let what = format!("the registry credential of realm {realm:?}");
    let mut doc = get_realm(d, realm, &what).await?;
    // Kukeon keys an entry by its server alone.
    let change = put_credential(
        &mut doc.spec.registry_credentials,
        server,
        username,
        password,
        true,
    );
    apply_realm(d, &doc, &what).await?;
    Ok(change)
}

/// Removes the entries for `server` (and `username`, when given) through
/// kukeond; returns how many.
pub async fn delete_credential_via(
    d: &Kukeond,
    realm: &str,
    server: &str,
    username: Option<&str>,
) -> OpResult<usize> {
    check_server_given(server)?;
    let what = format!("the registry credential of realm {realm:?}");
    let mut doc = get_realm(d, realm, &what).await?;
    let removed = take_credentials(&mut doc.spec.registry_credentials, realm, server, username)?;
    apply_realm(d, &doc, &what).await?;
    Ok(removed)
}

// ---------------------------------------------------------------------------
// one entry point per mutation, for both faces

fn need_runtime(rt: Option<&Runtime>) -> OpResult<&Runtime> {
    rt.ok_or_else(|| OpError::failed("containerd is not connected; try again in a moment"))
}

pub async fn create_realm_routed(
    host: &Host,
    route: &Route,
    rt: Option<&Runtime>,
    req: &CreateRequest,
    progress: &mut (dyn FnMut(&Step) + Send),
) -> OpResult<CreateReport> {
    match route {
        Route::Daemon(d) => create_realm_via(d, host, req, progress).await,
        Route::Direct => create_realm(host, need_runtime(rt)?, req, progress).await,
    }
}

/// The checks a delete must pass before anyone is asked to confirm it:
/// through kukeond the daemon tears the space networks down, so only the
/// direct path needs the local CNI plugins, ip and iptables.
pub fn check_delete_routed(route: &Route, plan: &DeletePlan, opts: &DeleteOptions) -> OpResult<()> {
    match route {
        Route::Daemon(_) => check_scope(plan, opts),
        Route::Direct => check_plan(plan, opts),
    }
}

pub async fn delete_realm_routed(
    host: &Host,
    route: &Route,
    rt: &Runtime,
    plan: &DeletePlan,
    opts: &DeleteOptions,
    progress: &mut (dyn FnMut(&DeleteStep) + Send),
) -> OpResult<Vec<DeleteStep>> {
    match route {
        Route::Daemon(d) => delete_realm_via(d, host, plan, opts, progress).await,
        Route::Direct => execute_delete(host, rt, plan, opts, progress).await,
    }
}

pub async fn upsert_credential_routed(
    host: &Host,
    route: &Route,
    realm: &str,
    server: &str,
    username: &str,
    password: &str,
) -> OpResult<CredentialChange> {
    match route {
        Route::Daemon(d) => upsert_credential_via(d, realm, server, username, password).await,
        Route::Direct => upsert_credential(host, realm, server, username, password),
    }
}

pub async fn delete_credential_routed(
    host: &Host,
    route: &Route,
    realm: &str,
    server: &str,
    username: Option<&str>,
) -> OpResult<usize> {
    match route {
        Route::Daemon(d) => delete_credential_via(d, realm, server, username).await,
        Route::Direct => delete_credential(host, realm, server, username),
    }
}
