//! Crash safety (issue 5, point 1): the real binary is SIGKILLed at random
//! points of `create realm`, `create registry-credential` and
//! `delete realm --cascade --yes`, against a private containerd, real cgroups
//! and realms holding an imported image, a container and sometimes a running
//! task. After every kill:
//! - `get realms -o json` lists no realm as invalid, and every record file
//!   parses when read directly;
//! - the realm is whole (record Ready, namespace, cgroup) or absent (none of
//!   the three), or else the same command run again (not killed) succeeds and
//!   leaves it whole (create, credential) or absent (delete);
//! - a re-run credential add leaves exactly one entry for that server and
//!   username (on Kukeon's layout: for that server), with the new password,
//!   and every other credential intact;
//! - no temp file of an interrupted write is left once the realm has been
//!   written again (the re-run), so none piles up or breaks a later write.
//!
//! Kill delays are drawn uniformly over each operation's measured typical
//! duration, so they land before the work starts, inside it (mid-write,
//! mid-teardown) and after it. Most runs use the documented layout, a share
//! Kukeon v0.5's (`--layout kukeon`, a run path with `.kukeon-instance.json`).
//!
//! The PRNG is seeded from the clock and the seed is printed;
//! `KUKE_TUI_CRASH_SEED=<n>` replays a run.

mod common;

use common::{credential_args, ok_stdout, run_cmd, spawn_cmd, Harness};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// Killed operations on the documented layout and on Kukeon's.
const DOCS_KILLS: usize = 150;
const KUKEON_KILLS: usize = 50;
/// Kill delays are drawn from [0, KILL_SPAN x typical duration).
const KILL_SPAN: f64 = 0.9;
/// Realms each site cycles through (create, credentials, delete, again).
const SLOTS: usize = 4;
const GRACE: &str = "1s";
/// A task that exits on SIGTERM (busybox sh as pid 1 would ignore it).
const TASK_CMD: &[&str] = &["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"];

// ---------------------------------------------------------------------------
// a small seeded PRNG (xorshift64*)

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

fn seed() -> u64 {
    match std::env::var("KUKE_TUI_CRASH_SEED") {
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("KUKE_TUI_CRASH_SEED={text:?} is not a number")),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
    }
}

// ---------------------------------------------------------------------------
// a run path in one layout

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Layout {
    Docs,
    Kukeon,
}

struct Site<'a> {
    h: &'a Harness,
    /// Realm names of this site's worker start with it.
    prefix: &'static str,
    layout: Layout,
    run: PathBuf,
    /// The cgroup realms are created under.
    cgroup_root: String,
}

impl<'a> Site<'a> {
    fn docs(h: &'a Harness, prefix: &'static str) -> Site<'a> {
        Site {
            h,
            prefix,
            layout: Layout::Docs,
            run: h.run_path.clone(),
            cgroup_root: h.cgroup_root.clone(),
        }
    }

    /// A Kukeon v0.5 run path next to the harness's: the instance file names
    /// the namespace suffix and a cgroup root below the harness's own (so the
    /// harness removes it), and `data/` holds the realms.
    fn kukeon(h: &'a Harness, prefix: &'static str) -> Site<'a> {
        let run = h.dir.join("kukeon-run");
        let cgroup_root = format!("{}/kk", h.cgroup_root);
        fs::create_dir_all(run.join("data")).unwrap();
        fs::write(
            run.join(".kukeon-instance.json"),
            format!(
                "{{\n  \"containerdNamespaceSuffix\": \"kukeon.io\",\n  \"cgroupRoot\": \"{cgroup_root}\"\n}}\n"
            ),
        )
        .unwrap();
        Site {
            h,
            prefix,
            layout: Layout::Kukeon,
            run,
            cgroup_root,
        }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.h.kuke();
        c.env("KUKEON_RUN_PATH", &self.run)
            .env_remove("KUKEON_LAYOUT")
            .args(args);
        if self.layout == Layout::Kukeon {
            // The cgroup root comes from the instance file.
            c.env_remove("KUKEON_CGROUP_ROOT")
                .args(["--layout", "kukeon"]);
        }
        c
    }

    fn namespace(&self, realm: &str) -> String {
        match self.layout {
            Layout::Docs => format!("kukeon-{realm}"),
            Layout::Kukeon => format!("{realm}.kukeon.io"),
        }
    }

    fn cgroup(&self, realm: &str) -> String {
        format!("{}/{realm}", self.cgroup_root)
    }

    fn realms_root(&self) -> PathBuf {
        match self.layout {
            Layout::Docs => self.run.clone(),
            Layout::Kukeon => self.run.join("data"),
        }
    }

    fn record_path(&self, realm: &str) -> PathBuf {
        self.realms_root().join(realm).join(match self.layout {
            Layout::Docs => "realm.yaml",
            Layout::Kukeon => "metadata.json",
        })
    }

    fn parse(&self, text: &str) -> Result<Value, String> {
        match self.layout {
            Layout::Docs => serde_yaml_ng::from_str::<Value>(text).map_err(|e| e.to_string()),
            Layout::Kukeon => serde_json::from_str::<Value>(text).map_err(|e| e.to_string()),
        }
    }

    /// Runs a command to completion (stdin text when given).
    fn run(&self, args: &[&str], input: Option<&str>) -> Output {
        run_cmd(self.cmd(args), input)
    }

    /// Spawns a command, SIGKILLs it after `delay`; `true` when it was still
    /// running (a real kill), `false` when it had already exited.
    fn run_killed(&self, args: &[&str], input: Option<&str>, delay: Duration) -> bool {
        // Its output is not read: it is killed or done by the time we wait.
        let mut child = spawn_cmd(self.cmd(args), input);
        sleep(delay);
        let killed = match child.try_wait().unwrap() {
            Some(_) => false,
            None => {
                // Child::kill is SIGKILL, to this pid only.
                child.kill().unwrap();
                true
            }
        };
        child.wait().unwrap();
        killed
    }

    /// What is on disk, in containerd and in the cgroup tree for a realm.
    fn observe(&self, realm: &str) -> Seen {
        let dir = self.realms_root().join(realm);
        let record = match fs::read_to_string(self.record_path(realm)) {
            Ok(text) => Some(self.parse(&text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => Some(Err(e.to_string())),
        };
        let temps = temp_files(&dir)
            .into_iter()
            .chain(temp_files(&self.realms_root()))
            .chain(temp_files(&self.run))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let ns = self.h.namespaces().contains(&self.namespace(realm));
        let cgroup = !self.h.cgroup_dirs(&self.cgroup(realm)).is_empty();
        Seen {
            unborn: self.unborn(realm),
            side: self.side_dirs(realm),
            dir: dir.exists(),
            record,
            ns,
            cgroup,
            temps,
        }
    }

    /// `get realms -o json`: every realm listed must have a usable record.
    fn listing_problems(&self) -> Vec<String> {
        let out = self.run(&["get", "realms", "-o", "json"], None);
        if !out.status.success() {
            return vec![format!(
                "get realms failed ({:?}): {}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            )];
        }
        let list: Value = match serde_json::from_slice(&out.stdout) {
            Ok(v) => v,
            Err(e) => return vec![format!("get realms -o json is not JSON: {e}")],
        };
        list["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|r| r["valid"] != true || r["state"] == "Invalid")
            .map(|r| {
                format!(
                    "realm {} listed as {}: {}",
                    r["name"], r["state"], r["error"]
                )
            })
            .collect()
    }

    /// Every record file under the realms root parses.
    fn unparsable_records(&self) -> Vec<String> {
        let mut bad = Vec::new();
        let Ok(read) = fs::read_dir(self.realms_root()) else {
            return bad;
        };
        for entry in read.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !entry.file_type().unwrap().is_dir() || name.starts_with('.') {
                continue;
            }
            let path = self.record_path(&name);
            // Another worker may be mid-create or mid-delete of this realm:
            // no record in a directory that is unborn or already gone is not
            // a realm; one whose first record is written between the read
            // and the `unborn` check is read once more before reporting.
            let dir = self.realms_root().join(&name);
            let read = || match fs::read_to_string(&path) {
                Err(e)
                    if e.kind() == std::io::ErrorKind::NotFound
                        && (self.unborn(&name) || !dir.exists()) =>
                {
                    None
                }
                other => Some(other),
            };
            let Some(first) = read() else { continue };
            let result = match first {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => match read() {
                    Some(again) => again,
                    None => continue,
                },
                other => other,
            };
            match result {
                Ok(text) => {
                    if let Err(e) = self.parse(&text) {
                        bad.push(format!("{} does not parse: {e}", path.display()));
                    }
                }
                Err(e) => bad.push(format!("{}: {e}", path.display())),
            }
        }
        bad
    }

    /// A realm directory holding nothing but its lock file and hidden temp
    /// files (no record): what a create killed before its first record
    /// write leaves.
    fn unborn(&self, realm: &str) -> bool {
        let lock = match self.layout {
            Layout::Docs => "realm.yaml.lock",
            Layout::Kukeon => "metadata.json.lock",
        };
        let names: Vec<String> = fs::read_dir(self.realms_root().join(realm))
            .map(|read| {
                read.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        !self.record_path(realm).exists()
            && names.iter().any(|n| n == lock)
            && names
                .iter()
                .all(|n| n == lock || (n.starts_with('.') && n.contains(".tmp")))
    }

    /// Hidden directories a killed create or delete of `realm` left in the
    /// realms root (`.<realm>.creating-*`, `.<realm>.deleting-*`).
    fn side_dirs(&self, realm: &str) -> Vec<PathBuf> {
        let prefix = format!(".{realm}.");
        fs::read_dir(self.realms_root())
            .map(|read| {
                read.flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                    .map(|e| e.path())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The realm's credentials as `(server, username) -> password`.
    fn credentials(&self, realm: &str) -> BTreeMap<(String, String), Vec<String>> {
        let mut out: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        let text = fs::read_to_string(self.record_path(realm)).unwrap_or_default();
        let Ok(doc) = self.parse(&text) else {
            return out;
        };
        for c in doc["spec"]["registryCredentials"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let key = (
                c["serverAddress"].as_str().unwrap_or_default().to_string(),
                c["username"].as_str().unwrap_or_default().to_string(),
            );
            out.entry(key)
                .or_default()
                .push(c["password"].as_str().unwrap_or_default().to_string());
        }
        out
    }

    /// A running task in the realm's namespace and below its cgroup. Its id
    /// is unique: runc's state directory is shared by every namespace.
    fn start_task(&self, realm: &str) {
        static TASKS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let id = format!(
            "task-{realm}-{}",
            TASKS.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        self.h.run_task(
            &self.namespace(realm),
            &id,
            &format!("{}/{id}", self.cgroup(realm)),
            TASK_CMD,
        );
    }

    /// Gives a realm work for a delete to be interrupted in: the test image,
    /// usually a container (with its snapshot), sometimes a running task in
    /// the realm's cgroup.
    fn populate(&self, realm: &str, rng: &mut Rng) -> &'static str {
        let ns = self.namespace(realm);
        self.h.import_image(&ns);
        if rng.chance(0.25) {
            self.start_task(realm);
            "image+task"
        } else if rng.chance(0.8) {
            self.h
                .ctr_ok(&["-n", &ns, "containers", "create", &self.h.image_ref, "idle"]);
            "image+container"
        } else {
            "image"
        }
    }
}

/// Temp files of an interrupted write (ours are `.<name>.tmp-<pid>-<n>`).
fn temp_files(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .map(|read| {
            read.flatten()
                .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

#[derive(Debug)]
struct Seen {
    dir: bool,
    record: Option<Result<Value, String>>,
    ns: bool,
    cgroup: bool,
    temps: Vec<PathBuf>,
    /// The directory holds only the lock (and temp files): not listed.
    unborn: bool,
    /// Hidden `.<realm>.creating-*` / `.<realm>.deleting-*` directories.
    side: Vec<PathBuf>,
}

impl Seen {
    fn state(&self) -> Option<&str> {
        self.record.as_ref()?.as_ref().ok()?["status"]["state"].as_str()
    }
    fn whole(&self) -> bool {
        self.dir && self.state() == Some("Ready") && self.ns && self.cgroup
    }
    fn absent(&self) -> bool {
        !self.dir && !self.ns && !self.cgroup
    }
}

// ---------------------------------------------------------------------------
// the operations

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Op {
    Create,
    Credential,
    Delete,
}

/// Where a kill landed, judged by the state found afterwards.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Landed {
    /// Nothing had changed yet.
    Before,
    /// A partial state: the re-run had work to finish.
    During,
    /// The work was complete although the process was killed.
    After,
}

#[derive(Default)]
struct Slot {
    exists: bool,
    /// What the record must hold: (server, username) -> password.
    creds: BTreeMap<(String, String), String>,
    /// What `populate` gave it since the last delete.
    contents: Option<&'static str>,
}

#[derive(Default)]
struct Tally {
    runs: usize,
    kills: BTreeMap<(Op, Landed), usize>,
    /// Ran to completion before the kill came (not counted as kills).
    finished_first: BTreeMap<Op, usize>,
    temps_after_kill: usize,
    unborn_after_kill: usize,
    side_dirs_after_kill: usize,
    /// Hidden directories still there after the re-run (none holds a record).
    side_dirs_after_rerun: usize,
    /// Realm states found right after kills that were neither whole nor absent.
    partial: BTreeMap<String, usize>,
    inconsistencies: Vec<String>,
}

impl Tally {
    fn killed(&self) -> usize {
        self.kills.values().sum()
    }
}

/// Typical duration of each operation (a delete with a running task apart):
/// the median of its latest un-killed full runs. Measured first, then kept
/// current with every re-run that did the whole work again, as the load on
/// the machine changes.
#[derive(Default)]
struct Typical(BTreeMap<(Op, bool), Vec<Duration>>);

impl Typical {
    fn add(&mut self, key: (Op, bool), took: Duration) {
        self.0.entry(key).or_default().push(took);
    }
    fn get(&self, key: (Op, bool)) -> Duration {
        let all = &self.0[&key];
        median(all[all.len().saturating_sub(9)..].to_vec())
    }
}

/// `delete realm <realm> --cascade --yes --grace GRACE`.
fn cascade_args(realm: &str) -> [&str; 7] {
    [
        "delete",
        "realm",
        realm,
        "--cascade",
        "--yes",
        "--grace",
        GRACE,
    ]
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Runs each operation un-killed a few times on `site` and returns the
/// medians; leaves no realm behind.
fn measure(site: &Site) -> Typical {
    let mut typical = Typical::default();
    for i in 0..3 {
        let realm = format!("{}calib{i}", site.prefix);
        let t = Instant::now();
        ok_stdout(&site.run(&["create", "realm", &realm], None), "create");
        typical.add((Op::Create, false), t.elapsed());
        let t = Instant::now();
        ok_stdout(
            &site.run(
                &credential_args(&realm, "reg.example.com", "robot", &["--password-stdin"]),
                Some("calibration-pw\n"),
            ),
            "credential",
        );
        typical.add((Op::Credential, false), t.elapsed());
        let ns = site.namespace(&realm);
        site.h.import_image(&ns);
        if i == 0 {
            site.start_task(&realm);
        } else {
            site.h
                .ctr_ok(&["-n", &ns, "containers", "create", &site.h.image_ref, "idle"]);
        }
        let t = Instant::now();
        ok_stdout(&site.run(&cascade_args(&realm), None), "delete");
        typical.add((Op::Delete, i == 0), t.elapsed());
        assert!(
            site.observe(&realm).absent(),
            "calibration delete left {realm}"
        );
    }
    typical
}

/// One operation killed at a random point, the state it left checked, then
/// the same command run again and the result checked.
fn trial(
    site: &Site,
    rng: &mut Rng,
    typical: &mut Typical,
    slots: &mut [Slot],
    tally: &mut Tally,
    n: usize,
) {
    let index = rng.below(slots.len() as u64) as usize;
    let realm = format!("{}{index}", site.prefix);
    let slot = &mut slots[index];
    let op = if !slot.exists {
        Op::Create
    } else {
        match rng.below(100) {
            0..=14 => Op::Create,
            15..=64 => Op::Credential,
            _ => Op::Delete,
        }
    };
    let mut args: Vec<String> = Vec::new();
    let mut input = None;
    let mut password_file = None;
    let mut cred_key = None;
    let mut password = String::new();
    let key = match op {
        Op::Create => {
            args.extend(["create", "realm", &realm].map(String::from));
            (Op::Create, false)
        }
        Op::Credential => {
            // Few servers and users, so both adds and updates happen.
            let server = format!("reg{}.example.com", rng.below(3));
            let user = format!("user{}", rng.below(2));
            password = format!("pw-{n}-{:x}", rng.next());
            args.extend(
                [
                    "create",
                    "registry-credential",
                    &realm,
                    "--server",
                    &server,
                    "--username",
                    &user,
                ]
                .map(String::from),
            );
            if rng.chance(0.5) {
                args.push("--password-stdin".into());
                input = Some(format!("{password}\n"));
            } else {
                let file = site.h.dir.join(format!("pw-{}{n}", site.prefix));
                fs::write(&file, &password).unwrap();
                args.extend(["--from-file".to_string(), file.display().to_string()]);
                password_file = Some(file);
            }
            cred_key = Some((server, user));
            (Op::Credential, false)
        }
        Op::Delete => {
            if slot.contents.is_none() {
                slot.contents = Some(site.populate(&realm, rng));
            }
            args.extend(cascade_args(&realm).map(String::from));
            (Op::Delete, slot.contents == Some("image+task"))
        }
    };
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let before_creds = site.credentials(&realm);
    let delay = typical.get(key).mul_f64(KILL_SPAN * rng.unit());
    let existed = slot.exists;
    tally.runs += 1;
    let killed = site.run_killed(&args, input.as_deref(), delay);
    if !killed {
        *tally.finished_first.entry(op).or_default() += 1;
    }

    // Right after the kill.
    let seen = site.observe(&realm);
    let ctx = |what: String| {
        format!(
            "{}run {n} ({:?} layout) {op:?} {realm} killed after {delay:?}: {what}",
            site.prefix, site.layout
        )
    };
    for problem in site.listing_problems() {
        tally.inconsistencies.push(ctx(problem));
    }
    for problem in site.unparsable_records() {
        tally.inconsistencies.push(ctx(problem));
    }
    if let Some(Err(e)) = &seen.record {
        tally
            .inconsistencies
            .push(ctx(format!("record does not parse: {e}")));
    }
    tally.temps_after_kill += seen.temps.len();
    tally.unborn_after_kill += seen.unborn as usize;
    tally.side_dirs_after_kill += seen.side.len();
    let after_creds = site.credentials(&realm);
    let landed = match op {
        Op::Create if slot.exists => {
            if seen.whole() {
                Landed::After
            } else {
                Landed::During
            }
        }
        Op::Create if seen.absent() && seen.temps.is_empty() => Landed::Before,
        Op::Create if seen.whole() && seen.temps.is_empty() => Landed::After,
        Op::Credential => {
            let key = cred_key.clone().unwrap();
            if after_creds.get(&key) == Some(&vec![password.clone()]) {
                Landed::After
            } else if after_creds == before_creds && seen.temps.is_empty() {
                Landed::Before
            } else {
                Landed::During
            }
        }
        Op::Delete if seen.absent() => Landed::After,
        Op::Delete if seen.whole() && seen.state() == Some("Ready") => {
            // Whole, but were its workloads touched?
            let ns = site.namespace(&realm);
            let images = site.h.ctr_ok(&["-n", &ns, "images", "ls", "-q"]);
            if images.trim().is_empty() {
                Landed::During
            } else {
                Landed::Before
            }
        }
        _ => Landed::During,
    };
    if killed {
        *tally.kills.entry((op, landed)).or_default() += 1;
        if !seen.whole() && !seen.absent() {
            let what = format!(
                "{op:?}: dir={} record={} ns={} cgroup={}",
                seen.dir,
                match &seen.record {
                    None => "none".to_string(),
                    Some(Err(_)) => "unparsable".to_string(),
                    Some(Ok(_)) => seen.state().unwrap_or("no state").to_string(),
                },
                seen.ns,
                seen.cgroup
            );
            *tally.partial.entry(what).or_default() += 1;
        }
    }

    // The same command again, not killed: it must succeed and finish the job.
    let t = Instant::now();
    let out = site.run(&args, input.as_deref());
    // A re-run that did the whole work again is a fresh full-run sample.
    if killed && (landed == Landed::Before || (op == Op::Create && existed)) {
        typical.add(key, t.elapsed());
    }
    if !out.status.success() {
        tally.inconsistencies.push(ctx(format!(
            "re-run failed ({:?}): {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    if let Some(file) = password_file {
        let _ = fs::remove_file(file);
    }
    let seen = site.observe(&realm);
    if !seen.temps.is_empty() {
        tally.inconsistencies.push(ctx(format!(
            "temp files left after the re-run: {:?}",
            seen.temps
        )));
    }
    for problem in site.listing_problems() {
        tally
            .inconsistencies
            .push(ctx(format!("after the re-run: {problem}")));
    }
    // A hidden leftover shows in no listing and blocks no write; it must not
    // hold a record (credentials), and they must not pile up.
    tally.side_dirs_after_rerun += seen.side.len();
    for side in &seen.side {
        if side.join("realm.yaml").exists() || side.join("metadata.json").exists() {
            tally.inconsistencies.push(ctx(format!(
                "hidden leftover {} holds a record",
                side.display()
            )));
        }
    }
    if seen.side.len() > 1 {
        tally
            .inconsistencies
            .push(ctx(format!("hidden leftovers pile up: {:?}", seen.side)));
    }
    match op {
        Op::Create | Op::Credential => {
            if !seen.whole() {
                tally
                    .inconsistencies
                    .push(ctx(format!("not whole after the re-run: {seen:?}")));
            }
            slot.exists = true;
            if let Some(key) = cred_key {
                // Kukeon's layout keys a credential by server alone: the
                // add replaces the server's entry whatever its username.
                if site.layout == Layout::Kukeon {
                    slot.creds.retain(|(server, _), _| *server != key.0);
                }
                slot.creds.insert(key, password);
            }
            let now: BTreeMap<_, _> = site
                .credentials(&realm)
                .into_iter()
                .map(|(k, v)| {
                    if v.len() != 1 {
                        tally.inconsistencies.push(ctx(format!(
                            "{} credential entries for {k:?} after the re-run",
                            v.len()
                        )));
                    }
                    (k, v.into_iter().next().unwrap_or_default())
                })
                .collect();
            if now != slot.creds {
                tally.inconsistencies.push(ctx(format!(
                    "credentials after the re-run {:?}, expected {:?}",
                    now.keys().collect::<Vec<_>>(),
                    slot.creds.keys().collect::<Vec<_>>()
                )));
                slot.creds = now;
            }
        }
        Op::Delete => {
            if !seen.absent() {
                tally
                    .inconsistencies
                    .push(ctx(format!("not absent after the re-run: {seen:?}")));
            }
            *slot = Slot::default();
        }
    }
}

/// One worker: measures the operations on its site, then kills operations
/// on its own realms until `kills` of them were killed while running.
fn run_site(site: &Site, seed: u64, kills: usize) -> Tally {
    let mut rng = Rng::new(seed);
    let mut tally = Tally::default();
    let started = Instant::now();
    let mut typical = measure(site);
    eprintln!(
        "crash: worker {:?} ({:?} layout): typical durations (median, un-killed): create {:?}, credential {:?}, delete --cascade {:?} (with a running task {:?})",
        site.prefix,
        site.layout,
        typical.get((Op::Create, false)),
        typical.get((Op::Credential, false)),
        typical.get((Op::Delete, false)),
        typical.get((Op::Delete, true))
    );
    let mut slots: Vec<Slot> = (0..SLOTS).map(|_| Slot::default()).collect();
    let mut n = 0;
    while tally.killed() < kills {
        trial(site, &mut rng, &mut typical, &mut slots, &mut tally, n);
        n += 1;
        assert!(
            n < 10 * kills,
            "too few operations were still running when killed"
        );
    }
    // Leave nothing behind: every slot deleted, and verified gone.
    for i in 0..SLOTS {
        let realm = format!("{}{i}", site.prefix);
        ok_stdout(&site.run(&cascade_args(&realm), None), "final delete");
        assert!(site.observe(&realm).absent(), "{realm} left behind");
    }
    eprintln!(
        "crash: worker {:?} ({:?} layout): {} kills in {} runs, {:?}",
        site.prefix,
        site.layout,
        tally.killed(),
        tally.runs,
        started.elapsed()
    );
    tally
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.runs += other.runs;
        for (k, v) in other.kills {
            *self.kills.entry(k).or_default() += v;
        }
        for (k, v) in other.finished_first {
            *self.finished_first.entry(k).or_default() += v;
        }
        for (k, v) in other.partial {
            *self.partial.entry(k).or_default() += v;
        }
        self.temps_after_kill += other.temps_after_kill;
        self.unborn_after_kill += other.unborn_after_kill;
        self.side_dirs_after_kill += other.side_dirs_after_kill;
        self.side_dirs_after_rerun += other.side_dirs_after_rerun;
        self.inconsistencies.extend(other.inconsistencies);
    }
}

#[test]
fn killed_operations_leave_realms_whole_absent_or_repairable() {
    let seed = seed();
    eprintln!("crash: seed {seed} (replay with KUKE_TUI_CRASH_SEED={seed})");
    let h = Harness::start();
    let started = Instant::now();
    // Three workers at once, each on its own realms: two on the documented
    // layout (sharing its run path, so each also lists the other's realms
    // mid-operation), one on Kukeon's. Each has its own PRNG stream.
    let kukeon_site = Site::kukeon(&h, "k");
    let sites = [
        (Site::docs(&h, "a"), DOCS_KILLS / 2),
        (Site::docs(&h, "b"), DOCS_KILLS - DOCS_KILLS / 2),
        (kukeon_site, KUKEON_KILLS),
    ];
    let mut tally = Tally::default();
    std::thread::scope(|scope| {
        let workers: Vec<_> = sites
            .iter()
            .enumerate()
            .map(|(i, (site, kills))| {
                let seed = seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                scope.spawn(move || run_site(site, seed, *kills))
            })
            .collect();
        for worker in workers {
            tally.merge(worker.join().expect("worker panicked"));
        }
    });

    eprintln!(
        "crash: {} runs, {} killed while running, {} finished before the kill, in {:?}",
        tally.runs,
        tally.killed(),
        tally.finished_first.values().sum::<usize>(),
        started.elapsed()
    );
    for ((op, landed), count) in &tally.kills {
        eprintln!("crash: killed {op:?} landed {landed:?}: {count}");
    }
    for (op, count) in &tally.finished_first {
        eprintln!("crash: {op:?} finished before its kill: {count}");
    }
    for (state, count) in &tally.partial {
        eprintln!("crash: partial state after a kill ({count}x): {state}");
    }
    eprintln!(
        "crash: temp files found right after kills: {}",
        tally.temps_after_kill
    );
    eprintln!(
        "crash: unborn realm directories (lock only, not listed) right after kills: {}",
        tally.unborn_after_kill
    );
    eprintln!(
        "crash: hidden .<realm>.creating/.deleting directories right after kills: {}, still there after the re-run: {}",
        tally.side_dirs_after_kill, tally.side_dirs_after_rerun
    );
    eprintln!("crash: inconsistencies: {}", tally.inconsistencies.len());
    for problem in &tally.inconsistencies {
        eprintln!("crash: INCONSISTENT: {problem}");
    }
    assert!(
        tally.killed() >= DOCS_KILLS + KUKEON_KILLS,
        "only {} kills",
        tally.killed()
    );
    for op in [Op::Create, Op::Credential, Op::Delete] {
        let during = tally.kills.get(&(op, Landed::During)).copied().unwrap_or(0);
        let total: usize = tally
            .kills
            .iter()
            .filter(|((o, _), _)| *o == op)
            .map(|(_, c)| c)
            .sum();
        assert!(total > 0, "no {op:?} was killed (seed {seed})");
        eprintln!("crash: {op:?}: {total} killed, {during} mid-work");
    }
    assert!(
        tally.inconsistencies.is_empty(),
        "{} inconsistencies (seed {seed}); first: {}",
        tally.inconsistencies.len(),
        tally.inconsistencies[0]
    );
}
