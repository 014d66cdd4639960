//! Throwaway PostgreSQL servers for tests.
//!
//! [`cluster()`] gives every test of a test binary the same private cluster, started on first
//! use: `initdb` into a fresh temporary directory (trust auth, UTF8, C.UTF-8), then `postgres`
//! on 127.0.0.1, a free port, its unix socket in that directory, durability off (`fsync`,
//! `synchronous_commit`, `full_page_writes`) since the data is thrown away. As root, `initdb` and
//! `postgres` run as the `postgres` user (or `nobody`) by setting the child's uid/gid, and the
//! directory is chowned to it.
//!
//! Stopping. A `static` is never dropped, so the server cannot be stopped from Rust when the
//! test process ends. Instead `postgres` is started by a small `sh` watchdog whose stdin is a
//! pipe held by the test process. When that pipe closes — `PgCluster` dropped, or the test
//! process exiting in any way, even killed — the watchdog sends SIGQUIT (immediate shutdown) to
//! the server, waits for it and removes the temporary directory. The watchdog runs in its own
//! process group so a Ctrl-C on `cargo test` reaches only the test process (whose exit then stops
//! the server). Nothing is left running after `cargo test` returns.
//!
//! Restarting. A test of what an outage does to the issuer starts a cluster of its own
//! ([`PgCluster::start_restartable`], whose commits are written out before they are
//! acknowledged, so that an immediate shutdown loses none) and stops its server ([`PgCluster::stop_server`], fast or immediate,
//! as `pg_ctl stop -m` would) and starts it again ([`PgCluster::start_server`]) on the same data
//! and port; the watchdog keeps watching across restarts.
//!
//! Environment:
//! - `TRUSTC_TEST_POSTGRES_URL=postgres://user@host:port`: use that server instead of starting one
//!   (databases created there are left behind);
//! - `TRUSTC_REQUIRE_POSTGRES=1`: panic instead of skipping when no server binaries are found;
//! - `TRUSTC_PG_BINDIR=/path/to/bin`: where `initdb` and `postgres` are (otherwise the newest
//!   `/usr/lib/postgresql/*/bin`, `pg_config --bindir`, or `PATH`).

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A PostgreSQL server for tests: private (started here) or external (`TRUSTC_TEST_POSTGRES_URL`).
pub struct PgCluster {
    /// `postgres://postgres@127.0.0.1:PORT` (no database).
    pub url_base: String,
    server: Option<Server>,
    next_database: AtomicU64,
}

struct Server {
    dir: PathBuf,
    port: u16,
    /// The watchdog; its stdin is the pipe whose closing stops the server.
    watchdog: Mutex<Child>,
}

/// Runs `postgres` in the background and stops it (then removes the directory) when stdin
/// closes. Exits with the server's status if the server stops by itself (the directory is then
/// kept for its log), unless the file `paused` exists ([`PgCluster::stop_server`]): then it
/// starts the server again on the same data and port once that file is removed
/// ([`PgCluster::start_server`]). The server's pid is kept in `postgres.pid`. Arguments: bindir,
/// dir, port, `synchronous_commit`.
const WATCHDOG: &str = r#"
exec 3<&0
( cat <&3 >/dev/null; : >"$2/stopping" 2>/dev/null
  while [ ! -e "$2/postgres.pid" ]; do sleep 0.05; done
  kill -QUIT "$(cat "$2/postgres.pid")" 2>/dev/null ) &
exec 3<&-
status=0
while [ ! -e "$2/stopping" ]; do
    "$1/postgres" -D "$2/data" -p "$3" -c listen_addresses=127.0.0.1 -c "unix_socket_directories=$2" \
        -c fsync=off -c "synchronous_commit=$4" -c full_page_writes=off -c max_connections=300 \
        </dev/null >>"$2/server.log" 2>&1 &
    pg=$!
    echo "$pg" >"$2/postgres.pid"
    wait "$pg"
    status=$?
    [ -e "$2/stopping" ] && break
    [ -e "$2/paused" ] || exit "$status"
    while [ -e "$2/paused" ] && [ ! -e "$2/stopping" ]; do sleep 0.05; done
done
# The server's last processes may still be exiting: retry until the directory is gone.
for _ in 1 2 3 4 5 6 7 8 9 10; do
    rm -rf "$2" 2>/dev/null
    [ -e "$2" ] || exit 0
    sleep 0.5
done
exit 0
"#;

/// How [`PgCluster::stop_server`] stops the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shutdown {
    /// `pg_ctl stop -m fast` (SIGINT): sessions are ended, then a clean shutdown.
    Fast,
    /// `pg_ctl stop -m immediate` (SIGQUIT): everything stops at once, as in a crash; the next
    /// start recovers from the WAL.
    Immediate,
}

/// The test binary's shared cluster, started on first use; `None` (after a SKIPPED message) when
/// PostgreSQL is not installed.
pub fn cluster() -> Option<&'static PgCluster> {
    static CLUSTER: OnceLock<Option<PgCluster>> = OnceLock::new();
    CLUSTER.get_or_init(PgCluster::start).as_ref()
}

/// A fresh database on the shared cluster, or `None` after printing why `test` is skipped.
pub fn database(test: &str) -> Option<String> {
    match cluster() {
        Some(cluster) => Some(cluster.database(test)),
        None => {
            skipped(&format!("{test} on PostgreSQL (no PostgreSQL server)"));
            None
        }
    }
}

/// Prints a SKIPPED line past the test harness's output capture, so it shows in `cargo test`.
pub fn skipped(what: &str) {
    let _ = writeln!(std::io::stderr(), "SKIPPED: {what}");
}

impl PgCluster {
    /// Starts a private throwaway cluster (or uses `TRUSTC_TEST_POSTGRES_URL`). `None` after a
    /// SKIPPED message when the server binaries are missing, unless `TRUSTC_REQUIRE_POSTGRES=1`
    /// (then it panics). Panics when the binaries are there but the server cannot start.
    pub fn start() -> Option<PgCluster> {
        if let Some(url) = std::env::var("TRUSTC_TEST_POSTGRES_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            let mut parsed = url::Url::parse(&url)
                .unwrap_or_else(|e| panic!("TRUSTC_TEST_POSTGRES_URL `{url}` is not a URL: {e}"));
            parsed.set_path("");
            parsed.set_query(None);
            return Some(PgCluster {
                url_base: parsed.to_string().trim_end_matches('/').to_owned(),
                server: None,
                next_database: AtomicU64::new(0),
            });
        }
        PgCluster::start_private(false)
    }

    /// A private cluster whose commits reach the operating system before they are acknowledged
    /// (`synchronous_commit=on`, PostgreSQL's default; `fsync` stays off, since only the server
    /// stops, never the machine): what a test needs that stops the server abruptly
    /// ([`PgCluster::stop_server`] with [`Shutdown::Immediate`]) and then counts what it kept.
    /// Always private (`TRUSTC_TEST_POSTGRES_URL` is not used); `None` after a SKIPPED message
    /// when the server binaries are missing, unless `TRUSTC_REQUIRE_POSTGRES=1`.
    pub fn start_restartable() -> Option<PgCluster> {
        PgCluster::start_private(true)
    }

    fn start_private(synchronous_commit: bool) -> Option<PgCluster> {
        let Some(bindir) = find_bindir() else {
            if std::env::var("TRUSTC_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                panic!(
                    "TRUSTC_REQUIRE_POSTGRES=1 but no PostgreSQL server binaries (`initdb` and \
                     `postgres`) were found in TRUSTC_PG_BINDIR, /usr/lib/postgresql/*/bin, \
                     `pg_config --bindir` or PATH; install postgresql"
                );
            }
            skipped("PostgreSQL tests (no PostgreSQL server binaries; install postgresql)");
            return None;
        };
        let mut last_error = String::new();
        for _ in 0..3 {
            match start_server(&bindir, synchronous_commit) {
                Ok(cluster) => return Some(cluster),
                Err(e) => last_error = e,
            }
        }
        panic!(
            "cannot start a throwaway PostgreSQL server with {}: {last_error}",
            bindir.display()
        );
    }

    /// The temporary directory of a private server (data, socket, log); `None` for an external one.
    pub fn dir(&self) -> Option<&Path> {
        self.server.as_ref().map(|s| s.dir.as_path())
    }

    /// Stops a private server as `how` says, keeping its data directory and port, and returns
    /// once it no longer accepts connections; [`PgCluster::start_server`] starts it again. An
    /// error for an external server (`TRUSTC_TEST_POSTGRES_URL`), which is not ours to stop.
    ///
    /// Stop only a cluster of the test's own ([`PgCluster::start`]), never the shared
    /// [`cluster()`], whose other databases other tests are using.
    pub fn stop_server(&self, how: Shutdown) -> Result<(), String> {
        let server = self
            .server
            .as_ref()
            .ok_or("an external PostgreSQL server (TRUSTC_TEST_POSTGRES_URL) cannot be stopped")?;
        std::fs::write(server.dir.join("paused"), b"")
            .map_err(|e| format!("cannot mark the server paused: {e}"))?;
        let pid = std::fs::read_to_string(server.dir.join("postgres.pid"))
            .map_err(|e| format!("cannot read the server's pid: {e}"))?;
        let pid = pid.trim();
        let signal = match how {
            Shutdown::Fast => "-INT",
            Shutdown::Immediate => "-QUIT",
        };
        let sent = Command::new("kill")
            .args([signal, pid])
            .status()
            .map_err(|e| format!("cannot run kill: {e}"))?;
        if !sent.success() {
            return Err(format!("`kill {signal} {pid}` failed ({sent})"));
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let alive = Command::new("kill")
                .args(["-0", pid])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !alive && TcpStream::connect(("127.0.0.1", server.port)).is_err() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("postgres (pid {pid}) did not stop within 30 s"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts again a server [`PgCluster::stop_server`] stopped, on the same data and port, and
    /// returns once it accepts connections.
    pub fn start_server(&self) -> Result<(), String> {
        let server = self
            .server
            .as_ref()
            .ok_or("an external PostgreSQL server (TRUSTC_TEST_POSTGRES_URL) cannot be started")?;
        let log = server.dir.join("server.log");
        let ready = || {
            std::fs::read_to_string(&log)
                .map(|l| l.matches("ready to accept connections").count())
                .unwrap_or(0)
        };
        let before = ready();
        std::fs::remove_file(server.dir.join("paused"))
            .map_err(|e| format!("the server was not stopped by stop_server: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if ready() > before && TcpStream::connect(("127.0.0.1", server.port)).is_ok() {
                return Ok(());
            }
            if let Ok(Some(status)) = server
                .watchdog
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .try_wait()
            {
                return Err(format!(
                    "the server's watchdog exited ({status}): {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "postgres did not start again within 60 s: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Creates a fresh, empty database and returns its URL.
    pub fn database(&self, name_hint: &str) -> String {
        let n = self.next_database.fetch_add(1, Ordering::Relaxed);
        let mut name: String = format!("t_{name_hint}")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        let suffix = if self.server.is_some() {
            format!("_{n}")
        } else {
            // A shared server: make the name unique across processes too.
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or_default();
            format!("_{}_{nanos}_{n}", std::process::id())
        };
        name.truncate(63 - suffix.len());
        name.push_str(&suffix);
        let admin = format!("{}/postgres", self.url_base);
        let statement = format!("CREATE DATABASE \"{name}\"");
        let created = block_on(async move {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&admin).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
                .execute(&mut conn)
                .await?;
            conn.close().await
        });
        if let Err(e) = created {
            panic!("cannot create database `{name}` on {}: {e}", self.url_base);
        }
        format!("{}/{name}", self.url_base)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if let Some(server) = &self.server {
            let mut watchdog = server.watchdog.lock().unwrap_or_else(|e| e.into_inner());
            // Closing the pipe makes the watchdog stop the server and remove the directory.
            drop(watchdog.stdin.take());
            let _ = watchdog.wait();
            let _ = std::fs::remove_dir_all(&server.dir);
        }
    }
}

fn start_server(bindir: &Path, synchronous_commit: bool) -> Result<PgCluster, String> {
    let user = server_user()?;
    let dir = tempfile::Builder::new()
        .prefix("trustc-pg-")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary directory: {e}"))?
        .keep();
    let result = start_in(bindir, &dir, user, synchronous_commit);
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

fn start_in(
    bindir: &Path,
    dir: &Path,
    user: Option<(u32, u32)>,
    synchronous_commit: bool,
) -> Result<PgCluster, String> {
    if let Some((uid, gid)) = user {
        std::os::unix::fs::chown(dir, Some(uid), Some(gid))
            .map_err(|e| format!("cannot chown {} to the server user: {e}", dir.display()))?;
    }
    let data = dir.join("data");
    let mut initdb_error = String::new();
    for locale in ["--locale=C.UTF-8", "--locale=C"] {
        let mut initdb = Command::new(bindir.join("initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                locale,
                "--no-sync",
            ])
            .current_dir(dir)
            .stdin(Stdio::null());
        as_user(&mut initdb, user);
        let out = initdb
            .output()
            .map_err(|e| format!("cannot run initdb: {e}"))?;
        if out.status.success() {
            initdb_error.clear();
            break;
        }
        initdb_error = format!(
            "initdb failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let _ = std::fs::remove_dir_all(&data);
    }
    if !initdb_error.is_empty() {
        return Err(initdb_error);
    }

    let port = free_port()?;
    let mut watchdog = Command::new("sh");
    watchdog
        .arg("-c")
        .arg(WATCHDOG)
        .arg("sh")
        .arg(bindir)
        .arg(dir)
        .arg(port.to_string())
        .arg(if synchronous_commit { "on" } else { "off" })
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    as_user(&mut watchdog, user);
    let mut child = watchdog
        .spawn()
        .map_err(|e| format!("cannot start postgres: {e}"))?;

    let log = dir.join("server.log");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "postgres stopped during start-up ({status}): {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            ));
        }
        let ready = std::fs::read_to_string(&log)
            .is_ok_and(|l| l.contains("ready to accept connections"))
            && TcpStream::connect(("127.0.0.1", port)).is_ok();
        if ready {
            break;
        }
        if Instant::now() > deadline {
            drop(child.stdin.take());
            let _ = child.wait();
            return Err(format!(
                "postgres did not become ready within 60 s: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(PgCluster {
        url_base: format!("postgres://postgres@127.0.0.1:{port}"),
        server: Some(Server {
            dir: dir.to_owned(),
            port,
            watchdog: Mutex::new(child),
        }),
        next_database: AtomicU64::new(0),
    })
}

fn as_user(command: &mut Command, user: Option<(u32, u32)>) {
    if let Some((uid, gid)) = user {
        command.uid(uid).gid(gid);
    }
}

/// The uid/gid to run the server as when this process is root (PostgreSQL refuses root).
fn server_user() -> Result<Option<(u32, u32)>, String> {
    if id(&["-u"]).as_deref() != Some("0") {
        return Ok(None);
    }
    for user in ["postgres", "nobody"] {
        let uid = id(&["-u", user]).and_then(|uid| uid.parse().ok());
        let gid = id(&["-g", user]).and_then(|gid| gid.parse().ok());
        if let (Some(uid), Some(gid)) = (uid, gid) {
            return Ok(Some((uid, gid)));
        }
    }
    Err("running as root and there is no `postgres` or `nobody` user to run the server as".into())
}

fn id(args: &[&str]) -> Option<String> {
    let out = Command::new("id").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn find_bindir() -> Option<PathBuf> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    if let Some(dir) = std::env::var_os("TRUSTC_PG_BINDIR") {
        let dir = PathBuf::from(dir);
        return has_server(&dir).then_some(dir);
    }
    // Debian/Ubuntu: /usr/lib/postgresql/<major>/bin; take the newest.
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            has_server(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    if let Some(dir) = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .filter(|dir| has_server(dir))
    {
        return Some(dir);
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).find(|dir| has_server(dir))
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

/// Runs a future to completion on a private runtime in another thread, so that it can be called
/// from inside a test's runtime.
fn block_on<F>(future: F) -> F::Output
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("cannot build a tokio runtime")
            .block_on(future)
    })
    .join()
    .expect("the database helper thread panicked")
}
