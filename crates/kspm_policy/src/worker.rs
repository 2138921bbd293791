//! Policies evaluated in worker processes, so that one policy's memory is bounded.
//!
//! A policy is code written by someone else: one builtin call (`numbers.range(1, 1e10)`) or one
//! nested CEL comprehension over a long list can ask for more memory than the machine has, and
//! neither regorus's interpreter nor the `cel` crate can be stopped half-way through an
//! allocation. So when [`Limits::memory`](crate::Limits::memory) is set, the scan starts worker
//! processes (the program given to [`install`], for kspm its own binary with a hidden
//! subcommand) that:
//!
//! 1. load the same policy sources and the scan's inventory (setup line),
//! 2. cap their own data segment (`RLIMIT_DATA`, Linux) at what they hold then plus the budget,
//!    and switch core dumps off,
//! 3. answer one request line per resource: the policies to evaluate on it, in order.
//!
//! A worker that runs out of memory aborts; one that overruns the time budget by far is killed
//! by a watchdog thread here. Either way the request is replayed policy by policy on a fresh
//! worker, so the culprit is named and switched off for the rest of the scan, and every other
//! policy's result on that resource still counts. The protocol is one JSON document per line
//! on the worker's stdin and stdout.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use kspm_model::{Diagnostic, FieldPath, Node, Resource, Seg, Source};
use serde_json::{Value as Json, json};

use crate::rego::Violation;
use crate::run::{Inputs, Outcome, PolicySet};
use crate::{Limits, cel, load_sources};

/// How to start a worker: a program and its arguments.
#[derive(Clone, Debug)]
pub struct Program {
    pub path: PathBuf,
    pub args: Vec<String>,
}

static PROGRAM: OnceLock<Program> = OnceLock::new();

/// Names the program that serves as policy worker ([`serve`] on its stdin and stdout). Without
/// one, a memory bound cannot be enforced and policies run in the scanning process (the run says
/// so in a warning).
pub fn install(program: Program) {
    let _ = PROGRAM.set(program);
}

pub(crate) fn program() -> Option<&'static Program> {
    PROGRAM.get()
}

/// Extra time, on top of the per-policy budgets, before a silent worker is killed.
const GRACE: Duration = Duration::from_secs(2);
/// At most this many workers per scan.
const MAX_WORKERS: usize = 16;
/// A setup (policies plus inventory) larger than this is loaded by at most 4 workers.
const LARGE_SETUP: usize = 64 << 20;
/// The first bytes of a worker's stderr, kept to explain its death (the rest is drained).
const STDERR_KEPT: usize = 4096;

/// The scan side: one slot per evaluating thread, each holding a worker started on first use.
pub(crate) struct Pool {
    program: &'static Program,
    /// The setup line every worker is started with.
    setup: String,
    timeout: Duration,
    slots: Vec<Mutex<Option<Worker>>>,
    /// Why workers could not start, or a bound they could not apply: said once at the end.
    notes: Mutex<Vec<String>>,
}

impl Pool {
    pub(crate) fn new(
        program: &'static Program,
        set: &PolicySet,
        enabled: &[usize],
        inventory: &[Resource],
        memory: u64,
    ) -> Self {
        let limits = set.limits();
        let setup = json!({
            "sources": set.texts(),
            "codes": enabled.iter().map(|&i| set.code(i)).collect::<Vec<_>>(),
            "timeout_ms": limits.timeout.as_millis() as u64,
            "max_violations": limits.max_violations,
            "memory": memory,
            "inventory": inventory.iter().map(|r| r.root.to_json()).collect::<Vec<_>>(),
        });
        let setup = setup.to_string();
        // One worker per evaluating thread, but each holds its own copy of a cross-resource
        // inventory: with a large one, fewer workers (a 64-core machine must not load 65).
        let threads = rayon::current_num_threads() + 1;
        let workers = if setup.len() > LARGE_SETUP {
            threads.min(4)
        } else {
            threads.min(MAX_WORKERS)
        };
        let slots = (0..workers).map(|_| Mutex::new(None)).collect();
        Self {
            program,
            setup,
            timeout: limits.timeout,
            slots,
            notes: Mutex::new(Vec::new()),
        }
    }

    /// Evaluates active policies `todo` on `r` in a worker; one result per policy, in order.
    pub(crate) fn evaluate(
        &self,
        r: &Resource,
        namespace: Option<&Resource>,
        todo: &[usize],
    ) -> Vec<(usize, Outcome, Duration)> {
        let object = r.root.to_json();
        let namespace = namespace.map(|n| n.root.to_json());
        self.evaluate_json(&object, namespace.as_ref(), todo)
    }

    fn evaluate_json(
        &self,
        object: &Json,
        namespace: Option<&Json>,
        todo: &[usize],
    ) -> Vec<(usize, Outcome, Duration)> {
        let request = json!({"object": object, "namespace": namespace, "policies": todo});
        let mut slot = self.slot();
        let started = Instant::now();
        let result = match &mut *slot {
            Some(w) => w.request(&request.to_string(), self.deadline(todo.len())),
            None => match Worker::start(self.program, &self.setup) {
                Ok((w, note)) => {
                    if let Some(n) = note {
                        self.note(n);
                    }
                    let w = slot.insert(w);
                    w.request(&request.to_string(), self.deadline(todo.len()))
                }
                Err(e) => {
                    self.note(e.to_string());
                    let why = format!("could not be evaluated: {e}");
                    return todo
                        .iter()
                        .map(|&i| (i, Outcome::Failed(why.clone()), Duration::ZERO))
                        .collect();
                }
            },
        };
        match result {
            Ok(results) if results.len() == todo.len() => todo
                .iter()
                .zip(results)
                .map(|(&i, (o, d))| (i, o, d))
                .collect(),
            Ok(results) => {
                let why = format!(
                    "the policy worker answered {} results for {} policies",
                    results.len(),
                    todo.len()
                );
                *slot = None;
                todo.iter()
                    .map(|&i| (i, Outcome::Failed(why.clone()), Duration::ZERO))
                    .collect()
            }
            Err(death) => {
                let worker = slot.take();
                drop(slot);
                let outcome = match worker {
                    Some(w) => w.autopsy(&death),
                    None => Outcome::Crashed(death.to_string()),
                };
                if let [i] = todo {
                    vec![(*i, outcome, started.elapsed())]
                } else {
                    // Replayed one by one on fresh workers: only the culprit is named.
                    todo.iter()
                        .flat_map(|&i| self.evaluate_json(object, namespace, &[i]))
                        .collect()
                }
            }
        }
    }

    fn deadline(&self, policies: usize) -> Instant {
        let per = u32::try_from(policies + 1).unwrap_or(u32::MAX);
        Instant::now() + self.timeout.saturating_mul(per) + GRACE
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<Worker>> {
        let n = self.slots.len();
        let home = rayon::current_thread_index().map_or(n - 1, |i| i.min(n - 1));
        for i in 0..n {
            if let Ok(s) = self.slots[(home + i) % n].try_lock() {
                return s;
            }
        }
        self.slots[home]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn note(&self, text: String) {
        let mut notes = self.notes.lock().unwrap_or_else(PoisonError::into_inner);
        if !notes.contains(&text) {
            notes.push(text);
        }
    }

    pub(crate) fn notes(&self) -> Vec<Diagnostic> {
        let notes = self.notes.lock().unwrap_or_else(PoisonError::into_inner);
        notes
            .iter()
            .map(|n| Diagnostic::error("policies", n.clone()).warning())
            .collect()
    }
}

/// The watchdog's view of a worker.
struct Watch {
    deadline: Mutex<Option<Instant>>,
    killed: AtomicBool,
    done: AtomicBool,
}

/// What went wrong starting or talking to a worker process.
#[derive(Debug, thiserror::Error)]
enum WorkerError {
    /// The program could not be run.
    #[error("cannot start the policy worker {}: {source}", path.display())]
    Spawn {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The process came without the pipes it was started with.
    #[error("the policy worker has no standard streams")]
    NoStreams,
    /// It died, stopped answering or refused while loading (how, in words).
    #[error("the policy worker did not start: {0}")]
    NotStarted(String),
    /// Its first line was not the ready message.
    #[error("the policy worker said something unexpected: {0}")]
    UnexpectedReady(serde_json::Error),
    /// It closed its output.
    #[error("it closed its output")]
    Closed,
    /// Writing to it or reading from it failed.
    #[error("{0}")]
    Pipe(std::io::Error),
    /// An answer that is not JSON.
    #[error("the policy worker answered something unexpected: {0}")]
    Unexpected(serde_json::Error),
    /// An answer without its results.
    #[error("the policy worker answered without results")]
    NoResults,
    /// An answer naming a policy it was not asked about.
    #[error("the policy worker answered out of range")]
    OutOfRange,
}

/// One running worker process.
struct Worker {
    child: Arc<Mutex<Child>>,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    watch: Arc<Watch>,
    /// What the worker wrote on stderr, sent when the stream ends.
    stderr: Option<Receiver<Vec<u8>>>,
}

impl Worker {
    /// Starts a worker and waits until it has loaded; returns a note when it could not bound
    /// its memory.
    fn start(program: &Program, setup: &str) -> Result<(Self, Option<String>), WorkerError> {
        let mut child = Command::new(&program.path)
            .args(&program.args)
            // Its death is explained by the first line it writes, not by a backtrace.
            .env("RUST_BACKTRACE", "0")
            // The bound is on the data segment (`RLIMIT_DATA`, set from what the worker holds
            // once loaded). mimalloc (kspm's allocator) reserves its arenas 1 GiB at a time by
            // default, writable, so the reservation made before the bound would let a policy
            // grow a gigabyte past it: small reservations keep every new one under the bound.
            // Other allocators ignore the variable.
            .env("MIMALLOC_ARENA_RESERVE", "4MiB")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| WorkerError::Spawn {
                path: program.path.clone(),
                source,
            })?;
        let (Some(stdin), Some(stdout), Some(mut stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(WorkerError::NoStreams);
        };
        let (sender, tail) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut kept = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let room = STDERR_KEPT.saturating_sub(kept.len()).min(n);
                kept.extend_from_slice(&buf[..room]);
            }
            let _ = sender.send(kept);
        });
        let child = Arc::new(Mutex::new(child));
        let watch = Arc::new(Watch {
            deadline: Mutex::new(None),
            killed: AtomicBool::new(false),
            done: AtomicBool::new(false),
        });
        {
            let (child, watch) = (Arc::clone(&child), Arc::clone(&watch));
            std::thread::spawn(move || watchdog(&child, &watch));
        }
        let mut w = Worker {
            child,
            stdin,
            stdout: BufReader::new(stdout),
            watch,
            stderr: Some(tail),
        };
        // Loading is bounded too: a policy set that takes minutes to compile is a broken one.
        let deadline = Instant::now() + Duration::from_mins(1);
        let line = match w.exchange(setup, deadline) {
            Ok(l) => l,
            Err(e) => return Err(WorkerError::NotStarted(w.death(&e))),
        };
        let ready: Json = serde_json::from_str(&line).map_err(WorkerError::UnexpectedReady)?;
        if let Some(e) = ready.get("error").and_then(Json::as_str) {
            return Err(WorkerError::NotStarted(e.to_owned()));
        }
        let note = ready.get("note").and_then(Json::as_str).map(str::to_owned);
        Ok((w, note))
    }

    /// Writes one line and reads the answer, with the watchdog armed until `deadline`.
    fn exchange(&mut self, line: &str, deadline: Instant) -> Result<String, WorkerError> {
        *self
            .watch
            .deadline
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(deadline);
        let mut answer = String::new();
        let result = writeln!(self.stdin, "{line}")
            .and_then(|()| self.stdin.flush())
            .and_then(|()| self.stdout.read_line(&mut answer));
        *self
            .watch
            .deadline
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
        match result {
            Ok(0) => Err(WorkerError::Closed),
            Ok(_) => Ok(answer),
            Err(e) => Err(WorkerError::Pipe(e)),
        }
    }

    fn request(
        &mut self,
        line: &str,
        deadline: Instant,
    ) -> Result<Vec<(Outcome, Duration)>, WorkerError> {
        let answer = self.exchange(line, deadline)?;
        let doc: Json = serde_json::from_str(&answer).map_err(WorkerError::Unexpected)?;
        let (Some(n), Some(results)) = (
            doc.get("n").and_then(Json::as_u64),
            doc.get("results").and_then(Json::as_array),
        ) else {
            return Err(WorkerError::NoResults);
        };
        let n = usize::try_from(n).map_err(|_| WorkerError::OutOfRange)?;
        let mut out: Vec<(Outcome, Duration)> = (0..n)
            .map(|_| {
                (
                    Outcome::Violations {
                        list: Vec::new(),
                        total: 0,
                    },
                    Duration::ZERO,
                )
            })
            .collect();
        for item in results {
            let pos = item
                .get(0)
                .and_then(Json::as_u64)
                .and_then(|p| usize::try_from(p).ok());
            match (pos.and_then(|p| out.get_mut(p)), item.get(1)) {
                (Some(slot), Some(doc)) => *slot = decode(doc),
                _ => return Err(WorkerError::OutOfRange),
            }
        }
        Ok(out)
    }

    /// Waits for a worker that stopped answering and says how it died. `io` is what went wrong
    /// on its pipes; a worker still alive after that (it answered garbage) is killed.
    fn death(&mut self, io: &WorkerError) -> String {
        self.watch.done.store(true, Ordering::Relaxed);
        let (status, killed) = {
            let mut child = self.child.lock().unwrap_or_else(PoisonError::into_inner);
            // A worker that closed its output is exiting: let it finish, so its own status
            // (an abort, a signal) is what is reported.
            let until = Instant::now() + Duration::from_secs(2);
            let mut exited = child.try_wait().ok().flatten();
            while exited.is_none() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(10));
                exited = child.try_wait().ok().flatten();
            }
            match exited {
                Some(s) => (Ok(s), false),
                None => {
                    let _ = child.kill();
                    (child.wait(), true)
                }
            }
        };
        let tail = self
            .stderr
            .take()
            // Not waited for long: something the worker started may still hold the stream.
            .and_then(|r| r.recv_timeout(Duration::from_secs(1)).ok())
            .unwrap_or_default();
        let tail = String::from_utf8_lossy(&tail);
        let first = tail.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        match status {
            _ if killed => format!("the policy worker stopped answering ({io}) and was stopped"),
            Ok(s) if first.is_empty() => format!("the policy worker died ({s})"),
            Ok(s) => format!("the policy worker died ({s}): {}", first.trim()),
            Err(e) => format!("the policy worker died: {e}"),
        }
    }

    /// What killed a worker in the middle of a request.
    fn autopsy(mut self, io: &WorkerError) -> Outcome {
        let killed = self.watch.killed.load(Ordering::Relaxed);
        let how = self.death(io);
        if killed {
            Outcome::OverTime
        } else if how.contains("memory allocation of") || how.contains("out of memory") {
            Outcome::OverMemory
        } else {
            Outcome::Crashed(format!("crashed its evaluator ({how})"))
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.watch.done.store(true, Ordering::Relaxed);
        let mut child = self.child.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Kills the worker when a request outlives its deadline; ends with the worker.
fn watchdog(child: &Mutex<Child>, watch: &Watch) {
    while !watch.done.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(20));
        let deadline = *watch
            .deadline
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if deadline.is_some_and(|d| Instant::now() > d) {
            watch.killed.store(true, Ordering::Relaxed);
            let _ = child.lock().unwrap_or_else(PoisonError::into_inner).kill();
            return;
        }
        if let Ok(mut c) = child.try_lock()
            && matches!(c.try_wait(), Ok(Some(_)))
        {
            return;
        }
    }
}

fn encode(outcome: &Outcome, elapsed: Duration) -> Json {
    let us = elapsed.as_micros() as u64;
    match outcome {
        Outcome::Violations { list, total } => {
            let v: Vec<Json> = list
                .iter()
                .map(|v| json!([v.message, v.path.as_ref().map(path_json)]))
                .collect();
            json!({"violations": v, "total": total, "us": us})
        }
        Outcome::Failed(e) => json!({"failed": e, "us": us}),
        Outcome::OverTime => json!({"over_time": true, "us": us}),
        Outcome::OverMemory => json!({"over_memory": true, "us": us}),
        Outcome::Crashed(e) => json!({"crashed": e, "us": us}),
    }
}

fn decode(doc: &Json) -> (Outcome, Duration) {
    let elapsed = Duration::from_micros(doc.get("us").and_then(Json::as_u64).unwrap_or(0));
    let text = |k: &str| doc.get(k).and_then(Json::as_str).map(str::to_owned);
    let outcome = if let Some(v) = doc.get("violations").and_then(Json::as_array) {
        let list: Vec<Violation> = v
            .iter()
            .map(|item| Violation {
                message: item
                    .get(0)
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                path: item.get(1).and_then(crate::rego::field_path),
            })
            .collect();
        let total = doc
            .get("total")
            .and_then(Json::as_u64)
            .and_then(|t| usize::try_from(t).ok())
            .unwrap_or(list.len());
        Outcome::Violations { list, total }
    } else if let Some(e) = text("failed") {
        Outcome::Failed(e)
    } else if doc.get("over_time").is_some() {
        Outcome::OverTime
    } else if doc.get("over_memory").is_some() {
        Outcome::OverMemory
    } else {
        Outcome::Crashed(text("crashed").unwrap_or_else(|| "answered nothing usable".to_owned()))
    };
    (outcome, elapsed)
}

fn path_json(path: &FieldPath) -> Json {
    path.segs()
        .iter()
        .map(|s| match s {
            Seg::Key(k) => Json::from(&**k),
            Seg::Index(i) => Json::from(*i),
        })
        .collect()
}

fn resource(json: &Json) -> Result<Resource, kspm_model::NotAnObject> {
    let source = Source {
        file: "<scan>".into(),
        doc: 0,
        origin: None,
    };
    Resource::from_node(Node::from_json(json), source)
}

/// The worker side: reads the setup line, loads, bounds its memory, then answers requests until
/// its input ends. Returns an error only when it cannot talk at all.
pub fn serve(input: impl Read, mut output: impl Write) -> std::io::Result<()> {
    let mut input = BufReader::new(input);
    let mut line = String::new();
    if input.read_line(&mut line)? == 0 {
        return Ok(());
    }
    let setup = match Setup::parse(&line) {
        Ok(s) => s,
        Err(e) => {
            writeln!(output, "{}", json!({"error": e.to_string()}))?;
            return output.flush();
        }
    };
    drop(line);
    let loaded = load_sources(&setup.sources, setup.limits);
    let set = loaded.set;
    // The scan's policies are found here by code, in the scan's order: a policy the scan could
    // not register (a code or slug taken earlier in its process) is then simply not asked for.
    let mut used = vec![false; set.len()];
    let mut enabled = Vec::with_capacity(setup.codes.len());
    for code in &setup.codes {
        match (0..set.len()).find(|&i| !used[i] && set.code(i) == code) {
            Some(i) => {
                used[i] = true;
                enabled.push(i);
            }
            None => {
                let e = format!("it did not load policy {code} the scan asked for");
                writeln!(output, "{}", json!({"error": e}))?;
                return output.flush();
            }
        }
    }
    let run = set.start_here(&setup.inventory, &enabled);
    drop(setup.inventory);
    let note = bound_memory(setup.memory);
    writeln!(output, "{}", json!({"ready": true, "note": note}))?;
    output.flush()?;
    cel::with_base(|base| -> std::io::Result<()> {
        let mut line = String::new();
        loop {
            line.clear();
            if input.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let answer = answer(&run, base, &line);
            writeln!(output, "{answer}")?;
            output.flush()?;
        }
    })
}

fn answer(run: &crate::run::Run<'_>, base: &kube_cel::cel::Context<'static>, line: &str) -> Json {
    let request: Json = match serde_json::from_str(line) {
        Ok(r) => r,
        Err(e) => return json!({"error": format!("unreadable request: {e}")}),
    };
    let todo: Vec<usize> = request
        .get("policies")
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Json::as_u64)
                .filter_map(|i| usize::try_from(i).ok())
                .collect()
        })
        .unwrap_or_default();
    let mut request = request;
    let object = request.get_mut("object").map(Json::take);
    let namespace = match request.get_mut("namespace").map(Json::take) {
        Some(Json::Null) | None => None,
        n => n,
    };
    let r = object.as_ref().map(resource);
    let ns = namespace.as_ref().and_then(|n| resource(n).ok());
    // Sparse: only what is not "no violation, in time" is sent, with its position; most
    // policies find nothing on most objects, and this keeps the answer small.
    let mut results: Vec<Json> = Vec::new();
    match r {
        Some(Ok(r)) => {
            let object = object.unwrap_or_default();
            let mut inputs = Inputs::from_json(base, object, namespace);
            let (known, timeout) = (run.len(), run.timeout());
            for (pos, &i) in todo.iter().enumerate() {
                if i >= known {
                    let failed = Outcome::Failed(format!("no policy {i}"));
                    results.push(json!([pos, encode(&failed, Duration::ZERO)]));
                    continue;
                }
                let started = Instant::now();
                let outcome = run
                    .outcome(i, &r, ns.as_ref(), &mut inputs)
                    .trimmed(run.max_violations());
                let elapsed = started.elapsed();
                let quiet = matches!(&outcome, Outcome::Violations { list, .. } if list.is_empty());
                if !quiet || elapsed > timeout {
                    results.push(json!([pos, encode(&outcome, elapsed)]));
                }
            }
        }
        Some(Err(e)) => {
            let failed = Outcome::Failed(format!("unreadable object: {e}"));
            for pos in 0..todo.len() {
                results.push(json!([pos, encode(&failed, Duration::ZERO)]));
            }
        }
        None => {}
    }
    json!({ "n": todo.len(), "results": results })
}

struct Setup {
    sources: Vec<(String, String)>,
    codes: Vec<String>,
    limits: Limits,
    memory: u64,
    inventory: Vec<Resource>,
}

/// A setup line the worker cannot use (sent back to the scan as the reason it did not start).
#[derive(Debug, thiserror::Error)]
enum SetupError {
    #[error("unreadable setup: {0}")]
    Unreadable(serde_json::Error),
    #[error("setup without sources")]
    NoSources,
}

impl Setup {
    fn parse(line: &str) -> Result<Self, SetupError> {
        let doc: Json = serde_json::from_str(line).map_err(SetupError::Unreadable)?;
        let sources = doc
            .get("sources")
            .and_then(Json::as_array)
            .ok_or(SetupError::NoSources)?
            .iter()
            .filter_map(|p| {
                Some((
                    p.get(0)?.as_str()?.to_owned(),
                    p.get(1)?.as_str()?.to_owned(),
                ))
            })
            .collect();
        let codes = doc
            .get("codes")
            .and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Json::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let u = |k: &str| doc.get(k).and_then(Json::as_u64);
        let limits = Limits {
            timeout: Duration::from_millis(u("timeout_ms").unwrap_or(1000)),
            max_violations: u("max_violations")
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(100),
            // The worker evaluates in its own process: its bound is the process's.
            memory: None,
        };
        let inventory = doc
            .get("inventory")
            .and_then(Json::as_array)
            .map(|a| a.iter().filter_map(|j| resource(j).ok()).collect())
            .unwrap_or_default();
        Ok(Self {
            sources,
            codes,
            limits,
            memory: u("memory").unwrap_or(crate::DEFAULT_MEMORY),
            inventory,
        })
    }
}

/// Caps this process's data segment at what it uses now plus `budget`, switches core dumps off
/// (an aborting worker must not write hundreds of MB to the working directory), and asks to be
/// killed with the scan.
/// Returns why the bound could not be applied, if it could not.
#[cfg(target_os = "linux")]
fn bound_memory(budget: u64) -> Option<String> {
    use rustix::process::{Resource as Limit, Rlimit, getrlimit, setrlimit};
    // A worker busy in a runaway policy must not outlive a scan that was killed.
    let _ = rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL));
    let _ = setrlimit(
        Limit::Core,
        Rlimit {
            current: Some(0),
            maximum: getrlimit(Limit::Core).maximum,
        },
    );
    let status = match std::fs::read_to_string("/proc/self/status") {
        Ok(s) => s,
        Err(e) => {
            return Some(format!(
                "policy memory is not bounded: /proc/self/status: {e}"
            ));
        }
    };
    let Some(data_kib) = status
        .lines()
        .find_map(|l| l.strip_prefix("VmData:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    else {
        return Some("policy memory is not bounded: no VmData in /proc/self/status".to_owned());
    };
    let limit = (data_kib << 10).saturating_add(budget);
    let max = getrlimit(Limit::Data).maximum;
    if max.is_some_and(|m| m < limit) {
        return Some(format!(
            "policy memory is bounded by the hard data limit of this process ({} MiB), lower than asked",
            max.unwrap_or(0) >> 20
        ));
    }
    match setrlimit(
        Limit::Data,
        Rlimit {
            current: Some(limit),
            maximum: max,
        },
    ) {
        Ok(()) => None,
        Err(e) => Some(format!("policy memory is not bounded: setrlimit: {e}")),
    }
}

#[cfg(not(target_os = "linux"))]
fn bound_memory(_budget: u64) -> Option<String> {
    Some(
        "policy memory is bounded only on Linux; here policies run unbounded in a worker"
            .to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in worker (a shell script) that answers the setup, then does `then`. It must stay
    /// one process (`exec`), like the real worker: a child left holding its stdout would keep
    /// the pipe open after the worker is killed.
    #[cfg(unix)]
    fn fake(then: &str) -> Vec<(Outcome, Duration)> {
        let program: &'static Program = Box::leak(Box::new(Program {
            path: "/bin/sh".into(),
            args: vec![
                "-c".into(),
                format!("read setup; echo '{{\"ready\": true}}'; read request; {then}"),
            ],
        }));
        let text =
            "# METADATA\n# custom: {id: FAKE001}\npackage fake\n\ndeny contains \"x\" if true\n";
        let limits = Limits {
            timeout: Duration::from_millis(100),
            ..Limits::default()
        };
        let set = load_sources(&[("fake.rego".to_owned(), text.to_owned())], limits).set;
        let pool = Pool::new(program, &set, &[0], &[], 64 << 20);
        let object = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}});
        let started = Instant::now();
        let out = pool
            .evaluate_json(&object, None, &[0])
            .into_iter()
            .map(|(_, o, d)| (o, d))
            .collect();
        // Never longer than the budget, the grace and a little.
        assert!(
            started.elapsed() < Duration::from_secs(6),
            "{:?}",
            started.elapsed()
        );
        out
    }

    #[cfg(unix)]
    #[test]
    fn a_worker_that_misbehaves_is_named_not_waited_for() {
        // Garbage, then silence: killed at once, with what went wrong.
        let out = fake("echo garbage; exec sleep 60");
        let [(Outcome::Crashed(how), _)] = out.as_slice() else {
            panic!("{out:?}")
        };
        assert!(
            how.contains("stopped answering") && how.contains("unexpected"),
            "{how}"
        );
        // An exit: its own status.
        let out = fake("echo 'boom' >&2; exit 3");
        let [(Outcome::Crashed(how), _)] = out.as_slice() else {
            panic!("{out:?}")
        };
        assert!(
            how.contains("exit status: 3") && how.contains("boom"),
            "{how}"
        );
        // Silence: the watchdog kills it after the budget and the grace.
        let out = fake("exec sleep 60");
        assert!(
            matches!(out.as_slice(), [(Outcome::OverTime, _)]),
            "{out:?}"
        );
    }

    #[test]
    fn outcomes_survive_the_wire() {
        let list = vec![
            Violation {
                message: "no".into(),
                path: Some(FieldPath::parse("spec.containers[0].image")),
            },
            Violation {
                message: "top".into(),
                path: None,
            },
        ];
        let v = Outcome::Violations { list, total: 7 };
        let (back, d) = decode(&encode(&v, Duration::from_micros(1500)));
        assert_eq!(d, Duration::from_micros(1500));
        let Outcome::Violations { list: back, total } = back else {
            panic!("{back:?}")
        };
        assert_eq!(total, 7);
        assert_eq!(
            back[0].path,
            Some(FieldPath::parse("spec.containers[0].image"))
        );
        assert_eq!(back[1].path, None);
        assert_eq!(back[1].message, "top");
        for o in [
            Outcome::Failed("x".into()),
            Outcome::OverTime,
            Outcome::OverMemory,
            Outcome::Crashed("y".into()),
        ] {
            let want = format!("{o:?}");
            assert_eq!(format!("{:?}", decode(&encode(&o, Duration::ZERO)).0), want);
        }
    }

    #[test]
    fn a_worker_ships_no_more_violations_than_the_run_keeps() {
        let v = |m: &str| Violation {
            message: m.into(),
            path: None,
        };
        let list: Vec<Violation> = (0..1000).map(|i| v(&format!("m{}", i % 10))).collect();
        let Outcome::Violations { list, total } =
            (Outcome::Violations { list, total: 1000 }).trimmed(3)
        else {
            panic!()
        };
        let kept: Vec<&str> = list.iter().map(|v| v.message.as_str()).collect();
        assert_eq!(kept, ["m0", "m1", "m2", "m3"]);
        assert_eq!(total, 1000);
    }

    #[test]
    fn a_bad_setup_is_answered_not_panicked() {
        let mut out = Vec::new();
        serve("not json\n".as_bytes(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("unreadable setup"), "{text}");
    }
}
