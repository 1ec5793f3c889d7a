//! The background side of the console: it owns every adapter call and
//! sends whole snapshots to the screen, which only ever receives messages.
//!
//! Each tick reads the cgroup files of every realm and stats the records.
//! containerd is never waited on: connecting, listing and detail reads run
//! in their own tasks and report back, so a dead or hung daemon only makes
//! the containerd columns stale while usage keeps flowing. containerd is
//! re-read when something may have changed there (an event, a record
//! change, a mutation, a reconnect) or every `REMOTE_EVERY` as a safety net,
//! which keeps an idle console nearly free.

use super::follow_up::FollowUps;
use super::snapshot::{Connection, DetailData, Message, RealmRow, Request, Snapshot};
use crate::ops::credentials::{list_credentials, CredentialChange};
use crate::ops::daemon::{probe, route, DaemonStatus, Route};
use crate::ops::delete::{plan_delete, DeleteOptions};
use crate::ops::realms::{
    age, describe_realm, list_realms_cached, local_realms, RealmSummary, RemoteCache,
};
use crate::ops::usage::{RealmRate, UsageSampler, UsageTarget};
use crate::ops::via_daemon::{
    create_realm_routed, delete_credential_routed, delete_realm_routed, upsert_credential_routed,
};
use crate::ops::workloads::{list_containers, list_images};
use crate::ops::{host_info, Host, HostInfo, OpError};
use crate::runtime::Runtime;
use crate::store::realms::RecordStamp;
use futures::StreamExt;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Events come in bursts (a cascade emits dozens): refresh at most this often.
const EVENT_DEBOUNCE: Duration = Duration::from_millis(250);
/// containerd is re-read at least this often even without events (a
/// safety net: events already report tasks, containers, images, namespaces).
const REMOTE_EVERY: Duration = Duration::from_secs(60);
/// A daemon that hangs (SIGSTOP, a deadlock) breaks no stream and sends no
/// events, so after this long without hearing from it the console asks
/// (one small version request, bounded by --timeout).
const PROBE_AFTER: Duration = Duration::from_secs(5);
/// How long a task gets after SIGTERM when the console cascades.
const DELETE_GRACE: Duration = Duration::from_secs(10);
/// kukeond is asked (Ping) this often for the header, and after each change.
const DAEMON_EVERY: Duration = Duration::from_secs(30);

/// Starts the collector on the current tokio runtime.
pub fn spawn(
    host: Arc<Host>,
    interval: Duration,
    to_ui: UnboundedSender<Message>,
) -> UnboundedSender<Request> {
    let (tx, rx) = unbounded_channel();
    let (bg_tx, bg_rx) = unbounded_channel();
    let collector = Collector::new(host, interval, to_ui, tx.clone(), bg_tx);
    tokio::spawn(collector.run(rx, bg_rx));
    tx
}

/// Results of the collector's own background work.
enum Background {
    Connected(Result<(Runtime, Option<String>), String>),
    /// A read's result, and the per-namespace figures it kept.
    Remote(Result<Vec<RealmSummary>, String>, RemoteCache),
    /// The answer to a liveness probe.
    Probe(Result<(), String>),
    /// containerd reported something in this namespace (None: in any, or
    /// the stream broke): re-read soon. The topic decides on follow-ups.
    Event(Option<String>, String),
    /// kukeond's answer to Ping.
    Daemon(DaemonStatus),
}

struct Collector {
    host: Arc<Host>,
    interval: Duration,
    to_ui: UnboundedSender<Message>,
    to_self: UnboundedSender<Request>,
    background: UnboundedSender<Background>,
    runtime: Option<Runtime>,
    version: Option<String>,
    connection: Connection,
    connecting: bool,
    backoff: Duration,
    next_attempt: Instant,
    remote_in_flight: bool,
    /// A read became due while one was in flight: start another when it lands,
    /// so what changed meanwhile (a realm just created) is not missed.
    remote_again: bool,
    probe_in_flight: bool,
    /// The event stream's task: ended on disconnect, so a daemon that comes
    /// back from a hang does not feed two streams.
    events_task: Option<tokio::task::JoinHandle<()>>,
    /// When containerd last answered or sent an event.
    heard_from: Instant,
    detail_in_flight: Arc<AtomicBool>,
    /// containerd figures per namespace between reads; a read in flight
    /// holds it.
    remote_cache: RemoteCache,
    /// Namespaces containerd reported a change in since the last read began.
    changed: HashSet<String>,
    /// The next read re-lists every namespace (connect, `r`, safety net, a
    /// change whose namespace is unknown).
    full_read: bool,
    /// The last containerd-derived view, kept (stale) while disconnected.
    last_remote: HashMap<String, RealmSummary>,
    containerd_at: Option<SystemTime>,
    sampler: UsageSampler,
    rates: HashMap<String, RealmRate>,
    focus: Option<String>,
    last_collect: Instant,
    /// The realms as last summarized, reused between containerd reads.
    rows: Vec<RealmSummary>,
    /// Realm directories and record stamps seen at the last summary.
    stamps: Vec<(String, Option<RecordStamp>)>,
    /// When containerd was last read; None asks for a read.
    remote_read: Option<Instant>,
    error: Option<String>,
    /// Run path, socket and cgroup description: fixed for the session.
    host_info: HostInfo,
    /// kukeond as last asked, for the header.
    daemon: Option<DaemonStatus>,
    /// When kukeond was last asked; None asks at the next tick.
    daemon_asked: Option<Instant>,
    daemon_in_flight: bool,
}

impl Collector {
    fn new(
        host: Arc<Host>,
        interval: Duration,
        to_ui: UnboundedSender<Message>,
        to_self: UnboundedSender<Request>,
        background: UnboundedSender<Background>,
    ) -> Self {
        Collector {
            interval,
            to_ui,
            to_self,
            background,
            runtime: None,
            version: None,
            connection: Connection::Connecting,
            connecting: false,
            backoff: Duration::from_secs(1),
            next_attempt: Instant::now(),
            remote_in_flight: false,
            remote_again: false,
            probe_in_flight: false,
            events_task: None,
            heard_from: Instant::now(),
            detail_in_flight: Arc::new(AtomicBool::new(false)),
            remote_cache: RemoteCache::default(),
            changed: HashSet::new(),
            full_read: true,
            last_remote: HashMap::new(),
            containerd_at: None,
            sampler: UsageSampler::new(),
            rates: HashMap::new(),
            focus: None,
            last_collect: Instant::now() - EVENT_DEBOUNCE,
            rows: Vec::new(),
            stamps: Vec::new(),
            remote_read: None,
            error: None,
            host_info: host_info(&host),
            host,
            daemon: None,
            daemon_asked: None,
            daemon_in_flight: false,
        }
    }

    async fn run(
        mut self,
        mut requests: UnboundedReceiver<Request>,
        mut background: UnboundedReceiver<Background>,
    ) {
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut pending_event = false;
        let mut follow_ups = FollowUps::default();
        loop {
            let debounce =
                tokio::time::sleep(EVENT_DEBOUNCE.saturating_sub(self.last_collect.elapsed()));
            let follow_up_at = follow_ups.next_due();
            let follow_up = tokio::time::sleep_until(
                follow_up_at.map_or_else(tokio::time::Instant::now, tokio::time::Instant::from_std),
            );
            tokio::select! {
                _ = ticker.tick() => self.tick().await,
                Some(done) = background.recv() => match done {
                    Background::Event(namespace, topic) => {
                        self.heard_from = Instant::now();
                        pending_event = true;
                        match namespace {
                            Some(ns) => {
                                follow_ups.on_event(&ns, &topic, Instant::now());
                                self.changed.insert(ns);
                            }
                            None => {
                                follow_ups.clear();
                                self.full_read = true;
                            }
                        }
                    }
                    Background::Probe(result) => self.on_probe(result).await,
                    Background::Daemon(status) => {
                        self.daemon_in_flight = false;
                        self.daemon = Some(status);
                        self.publish().await;
                    }
                    Background::Connected(result) => self.on_connected(result).await,
                    Background::Remote(result, cache) => {
                        self.remote_cache = cache;
                        self.on_remote(result).await
                    }
                },
                // Deletes containerd may not announce (see follow_up.rs).
                _ = follow_up, if follow_up_at.is_some() => {
                    let due = follow_ups.take_due(Instant::now());
                    if !due.is_empty() {
                        self.changed.extend(due);
                        pending_event = true;
                    }
                }
                _ = debounce, if pending_event => {
                    pending_event = false;
                    self.remote_read = None;
                    self.tick().await;
                }
                request = requests.recv() => match request {
                    None => return,
                    Some(Request::SetInterval(d)) => {
                        self.interval = d;
                        ticker = tokio::time::interval(d);
                        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    }
                    Some(Request::Focus(realm)) => {
                        self.focus = realm;
                        self.collect_detail();
                    }
                    Some(Request::RefreshNow) => {
                        self.daemon_asked = None;
                        self.remote_read = None;
                        self.full_read = true;
                        self.tick().await;
                    }
                    Some(other) => self.mutate(other),
                },
            }
            if self.to_ui.is_closed() {
                return;
            }
        }
    }

    /// One sample: cgroups and records now, containerd in the background
    /// when due.
    async fn tick(&mut self) {
        self.last_collect = Instant::now();
        self.error = None;
        let stamps = self.record_stamps();
        let records_changed = stamps != self.stamps;
        self.stamps = stamps;
        if self.runtime.is_none() && !self.connecting && Instant::now() >= self.next_attempt {
            self.connect();
        }
        if !self.daemon_in_flight
            && self
                .daemon_asked
                .is_none_or(|at| at.elapsed() >= DAEMON_EVERY)
        {
            self.ask_daemon();
        }
        let safety_net = self
            .remote_read
            .is_some_and(|at| at.elapsed() >= REMOTE_EVERY);
        self.full_read |= safety_net;
        let remote_due = records_changed || safety_net || self.remote_read.is_none();
        match self.runtime.clone() {
            Some(rt) if remote_due && !self.remote_in_flight => self.read_remote(rt),
            Some(_) if remote_due => self.remote_again = true,
            Some(rt)
                if !self.remote_in_flight
                    && !self.probe_in_flight
                    && self.heard_from.elapsed() >= PROBE_AFTER =>
            {
                self.probe(rt)
            }
            Some(_) => {}
            // Without containerd, records and cgroups still tell a lot.
            None if records_changed || self.rows.is_empty() => self.rows = self.local_rows().await,
            None => {}
        }
        let targets: Vec<UsageTarget> = self.rows.iter().map(UsageTarget::of).collect();
        self.rates = self
            .sampler
            .sample(&self.host, &targets)
            .into_iter()
            .map(|r| (r.realm.clone(), r))
            .collect();
        self.publish().await;
        self.collect_detail();
    }

    /// Pings kukeond in the background (bounded by --timeout) for the header.
    fn ask_daemon(&mut self) {
        self.daemon_in_flight = true;
        self.daemon_asked = Some(Instant::now());
        let host = self.host.clone();
        let done = self.background.clone();
        tokio::spawn(async move {
            let (status, _) = probe(&host).await;
            let _ = done.send(Background::Daemon(status));
        });
    }

    fn connect(&mut self) {
        self.connecting = true;
        let host = self.host.clone();
        let done = self.background.clone();
        tokio::spawn(async move {
            let result = match host.runtime().await {
                Ok(rt) => {
                    let version = rt.version().await.ok();
                    Ok((rt, version))
                }
                Err(err) => Err(err.message),
            };
            let _ = done.send(Background::Connected(result));
        });
    }

    async fn on_connected(&mut self, result: Result<(Runtime, Option<String>), String>) {
        self.connecting = false;
        match result {
            Ok((rt, version)) => {
                self.version = version;
                self.heard_from = Instant::now();
                self.backoff = Duration::from_secs(1);
                self.connection = Connection::Connected;
                self.watch_events(&rt);
                self.runtime = Some(rt.clone());
                self.remote_read = None;
                self.read_remote(rt);
            }
            Err(error) => self.disconnected(error),
        }
        self.publish().await;
    }

    fn probe(&mut self, rt: Runtime) {
        self.probe_in_flight = true;
        let done = self.background.clone();
        tokio::spawn(async move {
            let result = rt.version().await.map(|_| ()).map_err(|e| e.message);
            let _ = done.send(Background::Probe(result));
        });
    }

    async fn on_probe(&mut self, result: Result<(), String>) {
        self.probe_in_flight = false;
        match result {
            Ok(()) => self.heard_from = Instant::now(),
            // Only when still connected: a reconnect may have happened meanwhile.
            Err(error) if self.runtime.is_some() => {
                self.disconnected(error);
                self.publish().await;
            }
            Err(_) => {}
        }
    }

    /// Re-reads containerd in the background: every namespace on a full
    /// read, else only those with a change reported since the last read.
    fn read_remote(&mut self, rt: Runtime) {
        self.remote_in_flight = true;
        let host = self.host.clone();
        let done = self.background.clone();
        let mut cache = std::mem::take(&mut self.remote_cache);
        if std::mem::take(&mut self.full_read) {
            cache.clear();
            self.changed.clear();
        }
        for ns in self.changed.drain() {
            cache.invalidate(&ns);
        }
        tokio::spawn(async move {
            let result = list_realms_cached(&host, &rt, &mut cache)
                .await
                .map_err(|e| e.message);
            if result.is_err() {
                cache.clear();
            }
            let _ = done.send(Background::Remote(result, cache));
        });
    }

    async fn on_remote(&mut self, result: Result<Vec<RealmSummary>, String>) {
        self.remote_in_flight = false;
        match result {
            Ok(list) => {
                self.heard_from = Instant::now();
                self.containerd_at = Some(SystemTime::now());
                self.remote_read = Some(Instant::now());
                self.last_remote = list.iter().map(|r| (r.name.clone(), r.clone())).collect();
                self.rows = list;
            }
            Err(error) => {
                self.disconnected(error.clone());
                self.error = Some(error);
                self.rows = self.local_rows().await;
            }
        }
        self.publish().await;
        if std::mem::take(&mut self.remote_again) {
            if let Some(rt) = self.runtime.clone() {
                self.read_remote(rt);
            }
        }
    }

    /// Every containerd event asks for a re-read (debounced by the loop), and
    /// so does the end of the stream.
    fn watch_events(&mut self, rt: &Runtime) {
        let stream = rt.subscribe_events(Vec::new());
        let events = self.background.clone();
        if let Some(old) = self.events_task.take() {
            old.abort();
        }
        self.events_task = Some(tokio::spawn(async move {
            futures::pin_mut!(stream);
            while let Some(Ok(event)) = stream.next().await {
                let namespace = Some(event.namespace).filter(|ns| !ns.is_empty());
                if events
                    .send(Background::Event(namespace, event.topic))
                    .is_err()
                {
                    return;
                }
            }
            // The stream broke: the daemon may be gone. A re-read tells.
            let _ = events.send(Background::Event(None, String::new()));
        }));
    }

    fn disconnected(&mut self, error: String) {
        self.runtime = None;
        // Events are missed while disconnected: trust no kept figure.
        self.full_read = true;
        if let Some(events) = self.events_task.take() {
            events.abort();
        }
        self.connection = Connection::Disconnected {
            error,
            retry_in_secs: self.backoff.as_secs(),
        };
        self.next_attempt = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
    }

    /// Sends the screen the current rows with the latest usage reading.
    async fn publish(&mut self) {
        let realms = self
            .rows
            .iter()
            .map(|summary| {
                let mut summary = summary.clone();
                if let Some(usage) = self.sampler.latest(&summary.name) {
                    summary.usage = usage.clone();
                }
                let rate = self.rates.get(&summary.name).cloned();
                if let Some(rate) = &rate {
                    summary.observed.cgroup_exists = rate.cgroup_exists;
                }
                summary.age_seconds = age(summary.created_at.as_deref(), None)
                    .map(|d| d.as_secs())
                    .or(summary.age_seconds);
                RealmRow { rate, summary }
            })
            .collect();
        let snapshot = Snapshot {
            host: HostInfo {
                containerd_version: self.version.clone(),
                daemon: self.daemon.clone(),
                ..self.host_info.clone()
            },
            connection: self.connection.clone(),
            realms,
            containerd_at: self.containerd_at,
            taken_at: SystemTime::now(),
            error: self.error.clone().or_else(|| match &self.connection {
                Connection::Disconnected { error, .. } => Some(error.clone()),
                _ => None,
            }),
        };
        let _ = self.to_ui.send(Message::Snapshot(Box::new(snapshot)));
    }

    /// Realm directories and their record stamps: a stat each, no parsing.
    fn record_stamps(&self) -> Vec<(String, Option<RecordStamp>)> {
        self.host.store.realm_stamps().unwrap_or_default()
    }

    /// Summaries from records and cgroups, with the last containerd figures
    /// kept for realms containerd knew.
    async fn local_rows(&mut self) -> Vec<RealmSummary> {
        match local_realms(&self.host).await {
            Ok(local) => local
                .into_iter()
                .map(|mut r| {
                    if let Some(known) = self.last_remote.get(&r.name) {
                        r.counts = known.counts.clone();
                        r.observed.namespace_exists = known.observed.namespace_exists;
                    }
                    r
                })
                .collect(),
            Err(err) => {
                self.error = Some(err.message);
                Vec::new()
            }
        }
    }

    /// The focused realm's tasks, images, credentials and YAML, read in the
    /// background; one read at a time.
    fn collect_detail(&self) {
        let Some(realm) = self.focus.clone() else {
            return;
        };
        if self.detail_in_flight.swap(true, Ordering::AcqRel) {
            return;
        }
        let host = self.host.clone();
        let runtime = self.runtime.clone();
        let to_ui = self.to_ui.clone();
        let in_flight = self.detail_in_flight.clone();
        tokio::spawn(async move {
            let mut detail = DetailData {
                realm: realm.clone(),
                ..DetailData::default()
            };
            match list_credentials(&host, &realm, false) {
                Ok(creds) => detail.credentials = creds,
                Err(err) => detail.error = Some(err.message),
            }
            if let Some(rt) = runtime {
                let (tasks, images, described) = tokio::join!(
                    list_containers(&host, &rt, &realm, false),
                    list_images(&host, &rt, &realm),
                    describe_realm(&host, &rt, &realm, false),
                );
                match tasks {
                    Ok(t) => detail.tasks = t,
                    Err(e) => detail.error = Some(e.message),
                }
                match images {
                    Ok(i) => detail.images = i,
                    Err(e) => detail.error = Some(e.message),
                }
                match described.map(|d| serde_yaml_ng::to_string(&d)) {
                    Ok(Ok(yaml)) => detail.yaml = yaml,
                    Ok(Err(e)) => detail.error = Some(e.to_string()),
                    Err(e) => detail.error = Some(e.message),
                }
            } else if let Ok(doc) = host.require_realm(&realm) {
                detail.yaml = serde_yaml_ng::to_string(&doc.masked()).unwrap_or_default();
            }
            in_flight.store(false, Ordering::Release);
            let _ = to_ui.send(Message::Detail(Box::new(detail)));
        });
    }

    /// Mutations run in their own tasks so sampling goes on meanwhile.
    fn mutate(&mut self, request: Request) {
        let host = self.host.clone();
        let to_ui = self.to_ui.clone();
        let to_self = self.to_self.clone();
        let runtime = self.runtime.clone();
        let not_connected = || match &self.connection {
            Connection::Disconnected { error, .. } => {
                format!("containerd is not connected: {error}")
            }
            _ => "containerd is not connected yet; try again in a moment".to_string(),
        };
        let offline = not_connected();
        tokio::spawn(async move {
            let need_rt = || runtime.clone().ok_or_else(|| offline.clone());
            match request {
                Request::Create(req) => {
                    let ui = to_ui.clone();
                    let result = async {
                        // The same routing as the CLI: kukeond when it owns
                        // the run path and answers, else direct.
                        let route = route(&host, false).await?;
                        if matches!(route, Route::Direct) && runtime.is_none() {
                            return Err(OpError::failed(offline.clone()));
                        }
                        create_realm_routed(&host, &route, runtime.as_ref(), &req, &mut |step| {
                            let _ = ui.send(Message::CreateStep(step.clone()));
                        })
                        .await
                    }
                    .await
                    .map_err(|e| e.message);
                    let _ = to_ui.send(Message::CreateDone(result));
                }
                Request::PlanDelete(realm) => {
                    let result = match need_rt() {
                        Err(e) => Err(e),
                        Ok(rt) => plan_delete(&host, &rt, &realm)
                            .await
                            .map(Box::new)
                            .map_err(|e| e.message),
                    };
                    let _ = to_ui.send(Message::Plan(result));
                }
                Request::Delete {
                    plan,
                    cascade,
                    force,
                } => {
                    let result = match need_rt() {
                        Err(e) => Err(e),
                        Ok(rt) => {
                            let opts = DeleteOptions {
                                cascade,
                                force,
                                grace: DELETE_GRACE,
                            };
                            let ui = to_ui.clone();
                            async {
                                let route = route(&host, false).await?;
                                delete_realm_routed(&host, &route, &rt, &plan, &opts, &mut |step| {
                                    let _ = ui.send(Message::DeleteStep(step.clone()));
                                })
                                .await
                            }
                            .await
                            .map(|_| ())
                            .map_err(|e| e.message)
                        }
                    };
                    let _ = to_ui.send(Message::DeleteDone(result));
                }
                Request::UpsertCredential {
                    realm,
                    server,
                    username,
                    password,
                } => {
                    let result = async {
                        let route = route(&host, false).await?;
                        upsert_credential_routed(
                            &host,
                            &route,
                            &realm,
                            &server,
                            &username,
                            &password.0,
                        )
                        .await
                    }
                    .await
                    .map(|change| {
                        let verb = match change {
                            CredentialChange::Added => "added",
                            CredentialChange::Updated => "updated",
                            CredentialChange::Replaced => "replaced the server's entry",
                        };
                        format!("credential for {server} ({username}) {verb}")
                    })
                    .map_err(|e: OpError| e.message);
                    let _ = to_ui.send(Message::CredentialDone(result));
                }
                Request::DeleteCredential {
                    realm,
                    server,
                    username,
                } => {
                    let result = async {
                        let route = route(&host, false).await?;
                        delete_credential_routed(&host, &route, &realm, &server, Some(&username))
                            .await
                    }
                    .await
                    .map(|n| format!("removed {n} credential(s) for {server} ({username})"))
                    .map_err(|e| e.message);
                    let _ = to_ui.send(Message::CredentialDone(result));
                }
                Request::SetInterval(_) | Request::Focus(_) | Request::RefreshNow => {}
            }
            let _ = to_self.send(Request::RefreshNow);
        });
    }
}
