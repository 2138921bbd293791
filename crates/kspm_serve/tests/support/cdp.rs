//! Headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`:
//! NUL-separated JSON on file descriptors 3 and 4), wired through two named pipes by `sh`, so
//! no WebSocket client and no `unsafe` are needed. It records what a person would call a
//! broken page: console errors (CSP violations and failed loads are logged there too),
//! uncaught exceptions, failed requests, HTTP errors, and any JavaScript dialog (a planted
//! `alert` that ran).
//!
//! Chromium comes from `scripts/install-chromium` (scripts/test runs it) or `KSPM_CHROMIUM`.
//! With `KSPM_REQUIRE_TOOLS=1` a missing browser fails the test instead of skipping it.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub fn chromium() -> Option<String> {
    let candidates: Vec<String> = std::env::var("KSPM_CHROMIUM")
        .into_iter()
        .chain(["chromium", "chromium-browser", "google-chrome"].map(String::from))
        .collect();
    let found = candidates.into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    assert!(
        found.is_some() || std::env::var_os("KSPM_REQUIRE_TOOLS").is_none(),
        "Chromium is not installed; run scripts/install-chromium (scripts/test does) or set KSPM_CHROMIUM"
    );
    if found.is_none() {
        eprintln!("skipped: Chromium is not installed (scripts/install-chromium installs it)");
    }
    found
}

pub struct Browser {
    child: Child,
    to_chromium: File,
    from_chromium: Receiver<Value>,
    next_id: u64,
    session: String,
    /// Every event received, in order.
    pub events: Vec<Value>,
    _dir: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    pub fn launch(chromium: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (to, from) = (dir.path().join("to"), dir.path().join("from"));
        for fifo in [&to, &from] {
            let ok = Command::new("mkfifo").arg(fifo).status().unwrap();
            assert!(ok.success(), "mkfifo {}", fifo.display());
        }
        let child = Command::new("sh")
            .arg("-c")
            .arg("exec \"$0\" \"$@\" 3<\"$KSPM_CDP_TO\" 4>\"$KSPM_CDP_FROM\"")
            .arg(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--no-first-run",
                "--no-default-browser-check",
                "--remote-debugging-pipe",
            ])
            .arg(format!(
                "--user-data-dir={}",
                dir.path().join("profile").display()
            ))
            .arg("about:blank")
            .env("KSPM_CDP_TO", &to)
            .env("KSPM_CDP_FROM", &from)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium starts");
        // The shell opens `to` for reading first, then `from` for writing: open them in that
        // order or both sides wait forever.
        let to_chromium = File::options().write(true).open(&to).unwrap();
        let from_file = File::open(&from).unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(from_file);
            let mut buf = Vec::new();
            while reader.read_until(0, &mut buf).is_ok_and(|n| n > 0) {
                if buf.last() == Some(&0) {
                    buf.pop();
                }
                if let Ok(v) = serde_json::from_slice::<Value>(&buf)
                    && tx.send(v).is_err()
                {
                    break;
                }
                buf.clear();
            }
        });
        let mut b = Browser {
            child,
            to_chromium,
            from_chromium: rx,
            next_id: 0,
            session: String::new(),
            events: Vec::new(),
            _dir: dir,
        };
        let target = b.call("Target.createTarget", &json!({"url": "about:blank"}));
        let target_id = target["result"]["targetId"].as_str().unwrap().to_owned();
        let attached = b.call(
            "Target.attachToTarget",
            &json!({"targetId": target_id, "flatten": true}),
        );
        attached["result"]["sessionId"]
            .as_str()
            .unwrap()
            .clone_into(&mut b.session);
        for domain in [
            "Page.enable",
            "Runtime.enable",
            "Log.enable",
            "Network.enable",
        ] {
            b.call(domain, &json!({}));
        }
        b
    }

    /// Sends a command (to the page once attached) and waits for its answer, keeping the
    /// events that arrive meanwhile.
    pub fn call(&mut self, method: &str, params: &Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if !self.session.is_empty() {
            msg["sessionId"] = json!(self.session);
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        self.to_chromium.write_all(&bytes).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.from_chromium.recv_timeout(left) {
                Ok(v) if v["id"].as_u64() == Some(id) => return v,
                Ok(v) => self.events.push(v),
                Err(RecvTimeoutError::Timeout) => panic!("no answer to {method} within 30 s"),
                Err(RecvTimeoutError::Disconnected) => panic!("Chromium went away during {method}"),
            }
        }
    }

    /// Evaluates `expression` in the page; `None` while the page is between documents.
    pub fn try_eval(&mut self, expression: &str) -> Option<Value> {
        let r = self.call(
            "Runtime.evaluate",
            &json!({"expression": expression, "returnByValue": true}),
        );
        if r.get("error").is_some() || r["result"].get("exceptionDetails").is_some() {
            return None;
        }
        Some(r["result"]["result"]["value"].clone())
    }

    pub fn eval(&mut self, expression: &str) -> Value {
        self.try_eval(expression)
            .unwrap_or_else(|| panic!("evaluating `{expression}` failed"))
    }

    /// Waits until `predicate` (a JavaScript expression) is true in a fully loaded document.
    pub fn wait_for(&mut self, predicate: &str) {
        let expr = format!("document.readyState === 'complete' && ({predicate})");
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.try_eval(&expr) == Some(Value::Bool(true)) {
                // Late events (a failed image, a console error) arrive right after load.
                self.settle();
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "timed out waiting for `{predicate}` (at {:?})",
            self.try_eval("location.href")
        );
    }

    pub fn navigate(&mut self, url: &str) {
        self.call("Page.navigate", &json!({"url": url}));
        self.wait_for(&format!("location.href === {}", json!(url)));
    }

    /// Clicks the first element matching `selector` and waits for the next document.
    pub fn click(&mut self, selector: &str) -> String {
        let before = self.eval("location.href");
        let href = self.eval(&format!(
            "(() => {{ const a = document.querySelector({s}); if (!a) return null; a.click(); return a.href; }})()",
            s = json!(selector)
        ));
        let href = href
            .as_str()
            .unwrap_or_else(|| panic!("no element `{selector}` on {before}"))
            .to_owned();
        self.wait_for(&format!("location.href === {}", json!(href)));
        href
    }

    fn settle(&mut self) {
        let deadline = Instant::now() + Duration::from_millis(150);
        while let Ok(v) = self
            .from_chromium
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            self.events.push(v);
        }
    }

    /// What went wrong since the last call, as readable lines; clears the record.
    pub fn problems(&mut self) -> Vec<String> {
        self.settle();
        let mut out = Vec::new();
        for e in self.events.drain(..) {
            let p = &e["params"];
            match e["method"].as_str().unwrap_or("") {
                "Runtime.exceptionThrown" => {
                    out.push(format!("exception: {}", p["exceptionDetails"]));
                }
                "Runtime.consoleAPICalled" if p["type"] == "error" || p["type"] == "assert" => {
                    out.push(format!("console.{}: {}", p["type"], p["args"]));
                }
                "Log.entryAdded" if p["entry"]["level"] == "error" => {
                    out.push(format!("log: {} {}", p["entry"]["text"], p["entry"]["url"]));
                }
                "Network.loadingFailed" => out.push(format!("request failed: {p}")),
                "Network.responseReceived"
                    if p["response"]["status"].as_u64().is_some_and(|s| s >= 400) =>
                {
                    out.push(format!(
                        "HTTP {} for {}",
                        p["response"]["status"], p["response"]["url"]
                    ));
                }
                "Page.javascriptDialogOpening" => {
                    out.push(format!("a script ran: dialog {}", p["message"]));
                }
                _ => {}
            }
        }
        out
    }
}
