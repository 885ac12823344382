//! The real `airlock` binary under test: started as a process on a free
//! port with its own data folder, driven over HTTP and its CLI.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Airlock {
    pub base: String,
    /// A PostgreSQL database for this instance (SQLite in the data folder when None).
    database: Option<airlock_store::testdb::TestDb>,
    pub data_dir: tempfile::TempDir,
    log_path: PathBuf,
    child: Option<Child>,
    /// More `airlock serve` processes on the same database (see [`Airlock::peer`]).
    peers: Vec<Child>,
    pub http: reqwest::Client,
}

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_airlock")
}

/// The address a server said it bound (`airlock listening on http://ADDR/`)
/// in its log, once it has.
fn bound_address(log: &str) -> Option<String> {
    let (_, rest) = log.split_once("airlock listening on http://")?;
    let addr: String = rest.chars().take_while(|c| c.is_ascii_digit() || matches!(c, '.' | ':')).collect();
    addr.contains(':').then_some(addr)
}

impl Airlock {
    /// A data folder with a config file for fast retries, on SQLite, not yet serving.
    pub fn new() -> Airlock {
        Airlock::on(None)
    }

    /// Like [`Airlock::new`], on the given test database.
    pub fn on(database: Option<airlock_store::testdb::TestDb>) -> Airlock {
        let data_dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(data_dir.path().join("airlock.toml"), "retry_base_ms = 100\njob_max_attempts = 3\nupstream_timeout_secs = 10\n").expect("config");
        let log_path = data_dir.path().join("serve.log");
        Airlock { base: String::new(), database, data_dir, log_path, child: None, peers: Vec::new(), http: reqwest::Client::new() }
    }

    /// The CLI with this instance's data folder and config.
    pub fn cli(&self) -> Command {
        let mut cmd = Command::new(binary());
        cmd.arg("--data-dir").arg(self.data_dir.path()).arg("--config").arg(self.config_path());
        cmd.env_remove("AIRLOCK_UPSTREAM").env_remove("DATABASE_URL").env_remove("AIRLOCK_CONFIG");
        cmd.env_remove("AIRLOCK_UPSTREAM_FILE_HOSTS").env_remove("AIRLOCK_UPSTREAM_ALLOW_PRIVATE");
        if let Some(db) = &self.database {
            cmd.arg("--database-url").arg(&db.url);
        }
        cmd
    }

    pub fn config_path(&self) -> PathBuf {
        self.data_dir.path().join("airlock.toml")
    }

    /// Set keys of the config file (replacing any the harness wrote), before `serve`.
    pub fn set_config(&self, settings: &[(&str, &str)]) {
        let path = self.config_path();
        let config = std::fs::read_to_string(&path).expect("config");
        let mut lines: Vec<String> = config.lines().filter(|l| !settings.iter().any(|(k, _)| l.starts_with(&format!("{k} ")))).map(String::from).collect();
        lines.extend(settings.iter().map(|(k, v)| format!("{k} = {v}")));
        std::fs::write(path, lines.join("\n") + "\n").expect("config");
    }

    /// Run the CLI and return stdout; panics with stderr on failure.
    pub fn run_cli(&self, args: &[&str], stdin: Option<&str>) -> String {
        let mut cmd = self.cli();
        cmd.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn airlock");
        if let Some(input) = stdin {
            child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
        } else {
            drop(child.stdin.take());
        }
        let out = child.wait_with_output().expect("airlock output");
        assert!(out.status.success(), "airlock {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    pub fn add_user(&self, name: &str, role: &str, password: &str) {
        self.run_cli(&["user", "add", name, "--role", role, "--password-stdin"], Some(&format!("{password}\n")));
    }

    /// A user of `role` and an API token for them.
    pub fn user_with_token(&self, name: &str, role: &str) -> String {
        self.add_user(name, role, "correct horse battery");
        self.run_cli(&["token", "create", "--user", name], None).trim().to_string()
    }

    /// Start `airlock serve` on a free port; waits until /healthz answers.
    pub fn serve(&mut self, upstream: Option<&str>) {
        self.serve_with(upstream, &[]);
    }

    /// Like [`Airlock::serve`], with more `serve` flags.
    pub fn serve_with(&mut self, upstream: Option<&str>, extra: &[&str]) {
        let (child, base) = self.spawn_server(upstream, extra, &self.log_path);
        self.child = Some(child);
        self.base = base;
    }

    /// A second `airlock serve` process on the same database and blobs, as a
    /// second node would run; returns its base URL. Its log is `peer-N.log`.
    pub fn peer(&mut self, upstream: Option<&str>, extra: &[&str]) -> String {
        let log = self.data_dir.path().join(format!("peer-{}.log", self.peers.len()));
        let (child, base) = self.spawn_server(upstream, extra, &log);
        self.peers.push(child);
        base
    }

    fn spawn_server(&self, upstream: Option<&str>, extra: &[&str], log_path: &Path) -> (Child, String) {
        let log = std::fs::File::create(log_path).expect("log file");
        let mut cmd = self.cli();
        // Port 0: the server binds a free port itself and logs it (no race
        // between choosing a port here and binding it there).
        cmd.args(["serve", "--listen", "127.0.0.1:0"]);
        if !extra.contains(&"--workers") {
            cmd.args(["--workers", "2"]);
        }
        if let Some(up) = upstream {
            cmd.args(["--upstream", up]);
        }
        cmd.args(extra);
        cmd.env("RUST_LOG", "info").stdout(Stdio::null()).stderr(log);
        let mut child = cmd.spawn().expect("spawn airlock serve");
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut base = None;
        loop {
            if base.is_none() {
                base = bound_address(&std::fs::read_to_string(log_path).unwrap_or_default()).map(|addr| format!("http://{addr}"));
            }
            if let Some(base) = base.as_ref().filter(|b| health_ok(&format!("{b}/healthz"))) {
                return (child, base.clone());
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("airlock serve exited with {status}: {}", std::fs::read_to_string(log_path).unwrap_or_default());
            }
            assert!(Instant::now() < deadline, "airlock serve did not become healthy: {}", std::fs::read_to_string(log_path).unwrap_or_default());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn simple_url(&self) -> String {
        self.url("/simple/")
    }

    pub async fn request(&self, token: &str, requirement: &str) -> reqwest::Response {
        self.http.post(self.url("/api/v1/requests")).bearer_auth(token).json(&serde_json::json!({ "requirement": requirement })).send().await.expect("request")
    }

    /// Request each `(name, version)` in turn and wait until it awaits review.
    pub async fn request_for_review(&self, token: &str, releases: &[(&str, &str)]) {
        for (name, version) in releases {
            self.request(token, &format!("{name}=={version}")).await;
            self.wait_for(token, name, version, &["awaiting_review"]).await;
        }
    }

    pub async fn release(&self, token: &str, name: &str, version: &str) -> Value {
        let resp = self.http.get(self.url(&format!("/api/v1/releases/{name}/{version}"))).bearer_auth(token).send().await.expect("get");
        assert!(resp.status().is_success(), "GET release {name} {version}: {}", resp.status());
        resp.json().await.expect("json")
    }

    /// Poll the release until its status is one of `statuses` (panics after 60 s).
    pub async fn wait_for(&self, token: &str, name: &str, version: &str, statuses: &[&str]) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            // A release requested asynchronously (an index miss) appears once a worker resolves it.
            let resp = self.http.get(self.url(&format!("/api/v1/releases/{name}/{version}"))).bearer_auth(token).send().await.expect("get");
            if resp.status() == 404 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            assert!(resp.status().is_success(), "GET release {name} {version}: {}\n{}", resp.status(), self.log());
            let r: Value = resp.json().await.expect("json");
            let status = r["status"].as_str().unwrap_or("").to_string();
            if statuses.contains(&status.as_str()) {
                return r;
            }
            assert!(Instant::now() < deadline, "{name} {version} stuck in {status}: {r}\n{}", self.log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The release once the worker has measured its audit size (panics after 30 s).
    pub async fn measured(&self, token: &str, name: &str, version: &str) -> Value {
        let what = format!("{name} {version} was never measured");
        super::eventually(&what, Duration::from_secs(30), || async { !self.release(token, name, version).await["audit_lines"].is_null() }).await;
        self.release(token, name, version).await
    }

    pub async fn decide(&self, token: &str, name: &str, version: &str, decision: &str, comment: &str) -> reqwest::Response {
        self.http
            .post(self.url(&format!("/api/v1/releases/{name}/{version}/decision")))
            .bearer_auth(token)
            .json(&serde_json::json!({ "decision": decision, "comment": comment }))
            .send()
            .await
            .expect("decision")
    }

    pub fn data_path(&self) -> &Path {
        self.data_dir.path()
    }

    /// The database URL given to every process, when not the data folder's SQLite.
    pub fn database_url(&self) -> Option<&str> {
        self.database.as_ref().map(|db| db.url.as_str())
    }

    /// Send SIGTERM to the `airlock serve` started by [`Airlock::serve`] and
    /// wait for it to exit (at most `bound`); returns how it exited and how long it took.
    pub fn terminate(&mut self, bound: Duration) -> (std::process::ExitStatus, Duration) {
        let mut child = self.child.take().expect("airlock serve is running");
        let started = Instant::now();
        let sent = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill -TERM");
        assert!(sent.success(), "kill -TERM failed");
        loop {
            if let Some(status) = child.try_wait().expect("wait for airlock serve") {
                return (status, started.elapsed());
            }
            if started.elapsed() > bound {
                let _ = child.kill();
                panic!("airlock serve did not exit within {bound:?} of SIGTERM: {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The process id of the `airlock serve` started by [`Airlock::serve`].
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("airlock serve is running").id()
    }
}

impl Airlock {
    /// `kill -9` the serving process, as a crash or the OOM killer would.
    pub fn kill_hard(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Airlock {
    fn drop(&mut self) {
        for mut child in self.child.take().into_iter().chain(self.peers.drain(..)) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A blocking health probe over a raw TCP connection, so the harness needs
/// no blocking HTTP client: true when `GET url` answers 200.
fn health_ok(url: &str) -> bool {
    use std::io::Read;
    let rest = url.strip_prefix("http://").unwrap_or(url);
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let Ok(mut s) = std::net::TcpStream::connect(host) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if write!(s, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").is_err() {
        return false;
    }
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf.starts_with("HTTP/1.1 200")
}

/// The Python whose pip is the real client (a venv made by scripts/test),
/// or a fresh venv made here when run without it.
pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("AIRLOCK_TEST_PYTHON") {
        return PathBuf::from(p);
    }
    static VENV: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    VENV.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("airlock-test-venv-{}", std::process::id()));
        let ok = Command::new("python3").args(["-m", "venv"]).arg(&dir).status().map(|s| s.success()).unwrap_or(false);
        assert!(ok, "python3 -m venv failed; set AIRLOCK_TEST_PYTHON or run scripts/test");
        let python = dir.join("bin/python");
        // Current pip, as scripts/test installs it.
        let _ = Command::new(&python).args(["-m", "pip", "install", "-q", "--disable-pip-version-check", "--upgrade", "pip"]).status();
        python
    })
    .clone()
}

/// Output of a pip run.
pub struct PipRun {
    pub success: bool,
    pub output: String,
}

impl PipRun {
    /// Run an installer and keep its success and output (stdout, then stderr).
    pub fn of(cmd: &mut Command) -> PipRun {
        let out = cmd.output().expect("run installer");
        PipRun { success: out.status.success(), output: format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)) }
    }
}

/// `<python> -m pip <args>` from `index_url` only: no cache, no prompts,
/// and no configuration from the machine (no config file, none of the
/// variables that add an index or a find-links folder: a machine-wide
/// find-links folder would let pip bypass Airlock).
pub fn pip_command(python: &Path, index_url: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(python);
    cmd.args(["-m", "pip"])
        .args(args)
        .args(["--no-cache-dir", "--disable-pip-version-check", "--no-input", "--index-url", index_url])
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env_remove("PIP_INDEX_URL")
        .env_remove("PIP_EXTRA_INDEX_URL")
        .env_remove("PIP_FIND_LINKS")
        .env_remove("PIP_NO_INDEX");
    cmd
}

/// `pip install` into a fresh target folder, from `index_url` only.
pub fn pip_install(index_url: &str, target: &Path, args: &[&str]) -> PipRun {
    PipRun::of(pip_command(&python(), index_url, &["install", "--target", target.to_str().expect("utf-8 path")]).args(args))
}

/// uv, the second real client: `AIRLOCK_TEST_UV` (set by scripts/test), else
/// `uv` next to the test Python, installed there with pip when missing.
pub fn uv() -> PathBuf {
    if let Ok(p) = std::env::var("AIRLOCK_TEST_UV") {
        return PathBuf::from(p);
    }
    let beside = python().with_file_name("uv");
    if !beside.exists() {
        let ok = Command::new(python()).args(["-m", "pip", "install", "-q", "uv"]).status().map(|s| s.success()).unwrap_or(false);
        assert!(ok, "could not install uv into the test venv; run scripts/test");
    }
    beside
}

/// Run `uv pip <args>` against `index_url` only, with no cache and no
/// config from the machine; returns the run's success and output.
pub fn uv_pip(index_url: &str, args: &[&str]) -> PipRun {
    uv_pip_into(&python(), index_url, args)
}

/// [`uv_pip`] into the environment of another Python (a fresh venv).
pub fn uv_pip_into(venv_python: &Path, index_url: &str, args: &[&str]) -> PipRun {
    let cache = tempfile::tempdir().expect("uv cache dir");
    PipRun::of(
        Command::new(uv())
            .arg("pip")
            .args(args)
            .args(["--index-url", index_url, "--no-config", "--python"])
            .arg(venv_python)
            .env("UV_CACHE_DIR", cache.path())
            .env("UV_NO_PROGRESS", "1")
            .env_remove("UV_INDEX_URL")
            .env_remove("UV_EXTRA_INDEX_URL")
            .env_remove("UV_DEFAULT_INDEX")
            .env_remove("UV_INDEX")
            .env_remove("UV_FIND_LINKS"),
    )
}

/// `python -m pip <args>` against `index_url` only (for runs that are not installs into a target).
pub fn pip(index_url: &str, args: &[&str]) -> PipRun {
    PipRun::of(&mut pip_command(&python(), index_url, args))
}
