//! What the background collector hands the screen: whole values, never
//! handles. The draw path reads only these.

use crate::ops::create::{CreateReport, Step};
use crate::ops::credentials::CredentialView;
use crate::ops::delete::{DeletePlan, DeleteStep};
use crate::ops::realms::RealmSummary;
use crate::ops::usage::RealmRate;
use crate::ops::workloads::{ContainerView, ImageView};
use crate::ops::HostInfo;
use std::time::SystemTime;

#[derive(Debug, Clone, PartialEq)]
pub enum Connection {
    /// Not yet tried, or a first attempt under way.
    Connecting,
    Connected,
    /// The last attempt failed; the next comes after `retry_in_secs` (backoff).
    Disconnected {
        error: String,
        retry_in_secs: u64,
    },
}

/// Everything the realms screen shows, taken at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub host: HostInfo,
    pub connection: Connection,
    pub realms: Vec<RealmRow>,
    /// When containerd-derived columns were last refreshed (they go stale
    /// while disconnected; cgroup usage keeps updating).
    pub containerd_at: Option<SystemTime>,
    pub taken_at: SystemTime,
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RealmRow {
    pub summary: RealmSummary,
    /// None until two cgroup readings exist.
    pub rate: Option<RealmRate>,
}

/// The realm detail screen's data, for the one realm it shows.
#[derive(Debug, Clone, Default)]
pub struct DetailData {
    pub realm: String,
    pub tasks: Vec<ContainerView>,
    pub images: Vec<ImageView>,
    pub credentials: Vec<CredentialView>,
    /// The record as YAML, passwords masked.
    pub yaml: String,
    pub error: Option<String>,
}

/// From the collector to the screen.
#[derive(Debug, Clone)]
pub enum Message {
    Snapshot(Box<Snapshot>),
    Detail(Box<DetailData>),
    CreateStep(Step),
    CreateDone(Result<CreateReport, String>),
    Plan(Result<Box<DeletePlan>, String>),
    DeleteStep(DeleteStep),
    DeleteDone(Result<(), String>),
    CredentialDone(Result<String, String>),
}

/// From the screen to the collector.
#[derive(Debug, Clone)]
pub enum Request {
    SetInterval(std::time::Duration),
    /// The realm whose detail to collect each tick (None: no detail screen).
    Focus(Option<String>),
    RefreshNow,
    Create(crate::ops::create::CreateRequest),
    PlanDelete(String),
    Delete {
        plan: Box<DeletePlan>,
        cascade: bool,
        force: bool,
    },
    UpsertCredential {
        realm: String,
        server: String,
        username: String,
        /// Debug prints the mask.
        password: crate::model::realm::Secret,
    },
    DeleteCredential {
        realm: String,
        server: String,
        username: String,
    },
}
