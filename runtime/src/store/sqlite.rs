//! The SQLite backend: rusqlite in-process, built for many small requests on few cores.
//!
//! Every operation, read or write, is a job for the ONE connection. Jobs are run by flat
//! combining ([`Queue`]): a request queues its job, yields once so that its worker runs what
//! else is ready (other requests, queuing jobs of their own), and then, if no one holds the
//! connection, takes it and runs every job waiting (up to [`SQLITE_MAX_BATCH`]) in one
//! transaction, each write in its own savepoint (a failing job rolls back only itself; a job
//! alone in its batch has the transaction to itself), commits once, and answers each: nothing is
//! reported before it is committed. Under load the jobs queued meanwhile form one batch — group
//! commit, one lock and one commit per batch — and no thread is woken to run a job or to hand
//! its answer back (measured against a dedicated writer thread: ~10% less server CPU per
//! issuance, the wake-ups and cross-core hand-offs gone; the yield took batches from ~1.4 to
//! ~5.5 jobs and another ~9% off).
//!
//! Reads go there too, rather than to connections of their own: SQLite drops a connection's page
//! cache whenever another connection has written, so under a steady stream of writes a separate
//! reader re-reads every page it touches (measured: ~100 µs more CPU per issuance than reading
//! on the one connection, whose cache stays warm). A read then sees the committed state plus the
//! jobs before it in its batch, and is answered only once that batch is committed. A batch of
//! reads only takes a read snapshot (`BEGIN`), and its commit writes nothing; a read alone in
//! its batch runs as it is (SQLite gives each statement its own snapshot), without the two
//! statements and the lock round of a transaction around it.
//!
//! A batch runs on the thread of the request that took the connection, a tokio worker: it is
//! short (tens of microseconds; nothing in it waits on the network), and `BEGIN IMMEDIATE` waits
//! for SQLite's write lock only while another process on the same file (a second instance, which
//! SQLite deployments should not have: PostgreSQL is for several) runs a batch of its own
//! (`busy_timeout`). That lock makes each job's check-then-change atomic across processes. The
//! file is in WAL mode with `synchronous = NORMAL` (a commit survives a crash of the process; the
//! last commits before a power loss may not). A background thread checkpoints the WAL every
//! [`CHECKPOINT_INTERVAL`] (`PASSIVE`: it never blocks a batch), so commits never stall on a
//! checkpoint's fsync. In memory (`sqlite::memory:`) there is no WAL and no checkpointer.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, params};
use tokio::sync::oneshot;

use super::{
    Advance, Authorization, AuthorizationAdvance, AuthorizationKind, AuthorizationRequest,
    AuthorizationState, CHECKPOINT_INTERVAL, Issue, Issued, LoginAudit, MIGRATOR, NewOffer, Offer,
    OfferState, PendingPresentations, Presentation, PresentationState, RecordLogin, Redeem,
    Redemption, SQLITE_FORMS, SQLITE_MAX_BATCH, StatusEntry, StoreError, Verdict, Verification,
    failed, judge, status_index_candidates, unreachable,
};

/// Where an SQLite store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target {
    Memory,
    File { path: PathBuf, create: bool },
}

impl Target {
    /// Parses what follows `sqlite:` in a database URL: `PATH`, `//PATH`, `:memory:`, with an
    /// optional `?mode=rwc|rw|memory`.
    pub(super) fn parse(rest: &str) -> Result<Target, String> {
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut mode = "rwc";
        for param in query.split('&').filter(|p| !p.is_empty()) {
            match param.split_once('=') {
                Some(("mode", value @ ("rwc" | "rw" | "memory"))) => mode = value,
                Some(("mode", "ro")) => {
                    return Err("`mode=ro`: the issuer writes to its database".into());
                }
                _ => {
                    return Err(format!(
                        "unsupported SQLite URL parameter `{param}` (the issuer knows `mode=rwc`, \
                         the default, `mode=rw` and `mode=memory`)"
                    ));
                }
            }
        }
        if path == ":memory:" || mode == "memory" {
            return Ok(Target::Memory);
        }
        if path.is_empty() {
            return Err("the SQLite URL names no file".into());
        }
        Ok(Target::File {
            path: path.into(),
            create: mode == "rwc",
        })
    }
}

/// A job's result as its batch hands it back: errors as text (the caller adds what it was doing).
type JobResult<T> = Result<T, String>;

/// A unit of work for the connection.
trait Job: Send {
    /// Runs the work in its own savepoint of the batch's transaction, so that a failure rolls
    /// back the work's changes and nothing else; `alone` in the batch, the transaction is its
    /// own and no savepoint is needed.
    fn run(&mut self, conn: &Connection, alone: bool);
    /// Whether the work failed (its changes are not kept).
    fn failed(&self) -> bool;
    /// Whether the work may change the database.
    fn writes(&self) -> bool;
    /// Answers the caller once the batch is committed (`Ok`), or failed (`Err`: nothing of the
    /// batch was kept).
    fn answer(self: Box<Self>, batch: Result<(), &str>);
}

struct QueuedJob<T, F> {
    work: Option<F>,
    /// Whether the work may change the database (and so runs in a savepoint, unless it is alone
    /// in its batch).
    writes: bool,
    result: Option<JobResult<T>>,
    reply: oneshot::Sender<JobResult<T>>,
}

impl<T, F> Job for QueuedJob<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> rusqlite::Result<T> + Send,
{
    fn run(&mut self, conn: &Connection, alone: bool) {
        if let Some(work) = self.work.take() {
            self.result = Some(if self.writes && !alone {
                in_savepoint(conn, work)
            } else {
                caught(|| work(conn))
            });
        }
    }

    fn failed(&self) -> bool {
        matches!(self.result, Some(Err(_)))
    }

    fn writes(&self) -> bool {
        self.writes
    }

    fn answer(self: Box<Self>, batch: Result<(), &str>) {
        let result = match (self.result, batch) {
            (Some(Err(own)), _) => Err(own),
            (_, Err(batch)) => Err(batch.to_owned()),
            (Some(Ok(value)), Ok(())) => Ok(value),
            (None, Ok(())) => Err("the write was lost".into()),
        };
        // The caller may have gone away (request cancelled); the change stands either way.
        let _ = self.reply.send(result);
    }
}

/// Runs `work` between `SAVEPOINT` and `RELEASE`, rolling its changes back if it fails or panics.
fn in_savepoint<T>(
    conn: &Connection,
    work: impl FnOnce(&Connection) -> rusqlite::Result<T>,
) -> JobResult<T> {
    statement(conn, "SAVEPOINT job").map_err(|e| e.to_string())?;
    let result = match caught(|| work(conn)) {
        Ok(value) => match statement(conn, "RELEASE job") {
            Ok(()) => return Ok(value),
            Err(e) => e.to_string(),
        },
        Err(e) => e,
    };
    let _ = statement(conn, "ROLLBACK TO job");
    let _ = statement(conn, "RELEASE job");
    Err(result)
}

/// Runs `work`, a panic in it becoming an error: it runs in a request handler's thread, which
/// must go on answering (and the batch must still be committed or rolled back).
fn caught<T>(work: impl FnOnce() -> rusqlite::Result<T>) -> JobResult<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the database work failed unexpectedly (a bug: a panic was caught)".into()),
    }
}

/// Runs one statement that returns no rows, prepared once per connection.
fn statement(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// The queue of jobs and the one connection that runs them, by flat combining: a caller queues
/// its job, lets its worker run whatever else is ready (see [`SqliteStore::run`]), then, if no
/// one is running jobs, takes the connection and runs every job waiting (its own and those
/// queued meanwhile) as one batch, answering each; a caller that finds the connection taken
/// leaves its job to whoever holds it. No thread is woken to run a job and none hands its answer
/// back across cores; under load the jobs queued meanwhile form one batch, so commits group.
struct Queue {
    state: Mutex<QueueState>,
    /// The connection, held by whoever runs a batch; `None` once closed.
    conn: Mutex<Option<Connection>>,
}

#[derive(Default)]
struct QueueState {
    jobs: Vec<Box<dyn Job>>,
    /// No more jobs are taken.
    closed: bool,
}

impl Queue {
    fn new(conn: Connection) -> Arc<Queue> {
        Arc::new(Queue {
            state: Mutex::new(QueueState::default()),
            conn: Mutex::new(Some(conn)),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a job; gives it back when the store is closed. The caller then runs the waiting
    /// jobs (through a [`CombineOnDrop`]), unless someone else is.
    fn push(&self, job: Box<dyn Job>) -> Result<(), Box<dyn Job>> {
        {
            let mut state = self.lock();
            if state.closed {
                return Err(job);
            }
            state.jobs.push(job);
        }
        Ok(())
    }

    /// Runs batches while jobs wait and the connection is free. Checking the queue again after
    /// letting the connection go is what keeps a job from being stranded: whoever queued it
    /// either found the connection free or queued it before this check.
    fn combine(&self) {
        let mut batch: Vec<Box<dyn Job>> = Vec::new();
        loop {
            let conn = match self.conn.try_lock() {
                Ok(conn) => conn,
                Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => return,
            };
            {
                let mut state = self.lock();
                let take = state.jobs.len().min(SQLITE_MAX_BATCH);
                batch.extend(state.jobs.drain(..take));
            }
            if batch.is_empty() {
                return;
            }
            let outcome = commit_batch(conn.as_ref(), &mut batch);
            // Answered after letting the connection go: the next batch need not wait for it.
            drop(conn);
            answer_all(&mut batch, outcome);
        }
    }

    /// Takes no more jobs, runs those queued, and closes the connection.
    fn close(&self) {
        self.lock().closed = true;
        let mut conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let mut batch: Vec<Box<dyn Job>> = std::mem::take(&mut self.lock().jobs);
        if !batch.is_empty() {
            let outcome = commit_batch(conn.as_ref(), &mut batch);
            answer_all(&mut batch, outcome);
        }
        conn.take();
    }
}

/// Runs the waiting jobs ([`Queue::combine`]) when dropped: after its caller let the worker run
/// what else was ready, or when the caller's request is cancelled before that, so that a queued
/// job is never left with no one to run it.
struct CombineOnDrop<'a>(&'a Queue);

impl Drop for CombineOnDrop<'_> {
    fn drop(&mut self) {
        self.0.combine();
    }
}

/// Answers every job of a batch (emptying it) with the batch's outcome.
fn answer_all(batch: &mut Vec<Box<dyn Job>>, outcome: Result<(), String>) {
    for job in batch.drain(..) {
        job.answer(outcome.as_ref().copied().map_err(String::as_str));
    }
}

/// Runs a batch in one transaction: `BEGIN IMMEDIATE` (the write lock) when a job of it writes;
/// a batch of reads takes only a read snapshot, and its commit writes nothing; a lone read runs
/// without a transaction around it. Without a connection (the store closed) the batch fails.
fn commit_batch(conn: Option<&Connection>, batch: &mut [Box<dyn Job>]) -> Result<(), String> {
    let Some(conn) = conn else {
        return Err("the store is closed".to_owned());
    };
    if let [job] = batch
        && !job.writes()
    {
        // A lone read needs no transaction of its own: nothing to commit or roll back.
        job.run(conn, true);
        return Ok(());
    }
    let begin = if batch.iter().any(|job| job.writes()) {
        "BEGIN IMMEDIATE"
    } else {
        "BEGIN"
    };
    statement(conn, begin).map_err(|e| e.to_string())?;
    let alone = batch.len() == 1;
    for job in batch.iter_mut() {
        job.run(conn, alone);
    }
    if alone && batch[0].failed() {
        // The transaction is the job's own: rolling it back undoes exactly the job's changes
        // (and the job answers with its own error).
        return statement(conn, "ROLLBACK").map_err(|e| e.to_string());
    }
    statement(conn, "COMMIT").map_err(|e| {
        let _ = statement(conn, "ROLLBACK");
        format!("the commit failed: {e}")
    })
}

/// An SQLite database: the queue of jobs with its connection, and the checkpointer.
pub(super) struct SqliteStore {
    /// The URL, for messages.
    url: String,
    /// The jobs and the connection that runs them.
    queue: Arc<Queue>,
    /// The checkpointer thread (a file only) and the sender whose dropping stops it.
    checkpointer: Mutex<Option<(mpsc::Sender<()>, std::thread::JoinHandle<()>)>>,
}

impl Drop for SqliteStore {
    /// The last handle gone: the jobs queued are run and the connections closed.
    fn drop(&mut self) {
        self.stop_checkpointer();
        self.queue.close();
    }
}

impl SqliteStore {
    /// Opens (and creates, per `target`) the database, switches a file to WAL, runs the
    /// migrations and (for a file) starts the checkpointer.
    pub(super) async fn open(target: Target, url: String) -> Result<SqliteStore, StoreError> {
        let shown = url.clone();
        tokio::task::spawn_blocking(move || SqliteStore::open_blocking(target, url))
            .await
            .map_err(|e| StoreError::new(format!("cannot open the database `{shown}`: {e}")))?
    }

    fn open_blocking(target: Target, url: String) -> Result<SqliteStore, StoreError> {
        let open_failed =
            |e: rusqlite::Error| StoreError::new(format!("cannot open the database `{url}`: {e}"));
        let (conn, checkpoints) = match target {
            Target::Memory => {
                let conn = Connection::open_in_memory().map_err(open_failed)?;
                pragmas(&conn).map_err(open_failed)?;
                (conn, None)
            }
            Target::File { path, create } => {
                let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                if create {
                    flags |= OpenFlags::SQLITE_OPEN_CREATE;
                    create_owner_only(&path).map_err(|e| {
                        let why = match path.parent() {
                            Some(folder) if e.kind() == std::io::ErrorKind::NotFound => {
                                format!("its folder `{}` does not exist", folder.display())
                            }
                            _ => e.to_string(),
                        };
                        StoreError::new(format!("cannot open the database `{url}`: {why}"))
                    })?;
                }
                // The store's connection first: it creates the file and switches it to WAL
                // before any other connection opens it.
                let conn = Connection::open_with_flags(&path, flags).map_err(open_failed)?;
                pragmas(&conn).map_err(open_failed)?;
                wal(&conn).map_err(open_failed)?;
                // Checkpoints run in the background, not in the batches' commits; this is only
                // a safety net should the checkpointer fall behind.
                conn.pragma_update(None, "wal_autocheckpoint", 20_000) // pages
                    .map_err(open_failed)?;
                let checkpointer = open_checkpointer(&path).map_err(open_failed)?;
                let (stop, stopped) = mpsc::channel::<()>();
                let shown = url.clone();
                let thread = std::thread::Builder::new()
                    .name("trustc-sqlite-checkpoint".into())
                    .spawn(move || checkpoint_loop(checkpointer, stopped, shown))
                    .map_err(|e| {
                        StoreError::new(format!("cannot open the database `{url}`: {e}"))
                    })?;
                (conn, Some((stop, thread)))
            }
        };
        migrate(&conn).map_err(|e| {
            StoreError::new(format!(
                "cannot run the database migrations on `{url}`: {e}"
            ))
        })?;
        Ok(SqliteStore {
            url,
            queue: Queue::new(conn),
            checkpointer: Mutex::new(checkpoints),
        })
    }

    pub(super) fn url(&self) -> &str {
        &self.url
    }

    /// Runs `work`, which changes the database, in a savepoint of the next batch; returns once
    /// the batch is committed.
    async fn write<T, F>(&self, what: impl FnOnce() -> String, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        self.run(what, work, true).await
    }

    /// Runs `work`, which only reads, in the next batch; returns once the batch is committed
    /// (what it read is then durable).
    async fn read<T, F>(&self, what: impl FnOnce() -> String, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        self.run(what, work, false).await
    }

    async fn run<T, F>(
        &self,
        what: impl FnOnce() -> String,
        work: F,
        writes: bool,
    ) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(QueuedJob {
            work: Some(work),
            writes,
            result: None,
            reply,
        });
        if self.queue.push(job).is_err() {
            return Err(unreachable(&self.url, &what(), "the store is closed"));
        }
        let combine = CombineOnDrop(&self.queue);
        // Let this worker first run whatever else is ready (requests read meanwhile, which may
        // queue jobs of their own): the two workers spend most of their time on signatures, so
        // jobs otherwise reach an idle connection one at a time and each pays a transaction
        // (locks, WAL frames) alone. Measured: batches of ~5.5 jobs instead of ~1.4, ~40 µs less
        // server CPU per issuance. Alone, the job waits only for the worker to look for I/O.
        tokio::task::yield_now().await;
        drop(combine);
        match answer.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(why)) => Err(failed(&self.url, &what(), why)),
            Err(_) => Err(unreachable(
                &self.url,
                &what(),
                "the store was closed before the job ran",
            )),
        }
    }

    /// Runs the jobs queued, then closes the database. The checkpointer's connection closes
    /// first, so that the store's is the last: SQLite then writes the WAL back into the file and
    /// removes it, and a stopped issuer leaves one file, complete.
    pub(super) async fn close(&self) {
        self.stop_checkpointer();
        self.queue.close();
    }

    /// Stops the checkpointer and waits until its connection is closed (at most one checkpoint
    /// in progress: milliseconds).
    fn stop_checkpointer(&self) {
        let checkpointer = self
            .checkpointer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some((stop, thread)) = checkpointer {
            drop(stop);
            if thread.join().is_err() {
                tracing::warn!("the checkpointer of `{}` panicked", self.url);
            }
        }
    }

    pub(super) async fn ping(&self) -> Result<(), StoreError> {
        self.read(
            || "reach the database".into(),
            |conn| conn.query_row("SELECT 1", [], |_| Ok(())),
        )
        .await
    }

    pub(super) async fn create_offer(&self, offer: &NewOffer) -> Result<(), StoreError> {
        let offer = offer.clone();
        let id = offer.id.clone();
        self.write(
            || format!("create offer `{id}`"),
            move |conn| {
                conn.prepare_cached(
                    "INSERT INTO offers (id, pre_authorized_code, tx_code, credential, claims, \
                     state, tx_attempts, created_at, expires_at, needs_presentation, \
                     needs_login, subject, logged_in_at, login_subject) \
                     VALUES (?1, ?2, ?3, ?4, ?5, 'offered', 0, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                )?
                .execute(params![
                    offer.id,
                    offer.pre_authorized_code,
                    offer.tx_code,
                    offer.credential,
                    offer.claims,
                    offer.created_at,
                    offer.expires_at,
                    i64::from(offer.needs_presentation),
                    i64::from(offer.needs_login),
                    offer.subject,
                    offer.logged_in.as_ref().map(|(at, _)| *at),
                    offer.logged_in.as_ref().map(|(_, sub)| sub.as_str())
                ])
                .map(|_| ())
            },
        )
        .await
    }

    pub(super) async fn offer(&self, id: &str) -> Result<Option<Offer>, StoreError> {
        let key = id.to_owned();
        self.read(
            || format!("read offer `{id}`"),
            move |conn| offer_by_id(conn, &key),
        )
        .await
    }

    pub(super) async fn redeem(
        &self,
        offer_id: &str,
        redeem: &Redeem<'_>,
        token_hash: &str,
    ) -> Result<Redemption, StoreError> {
        let (id, code, tx_code, hash) = (
            offer_id.to_owned(),
            redeem.code.to_owned(),
            redeem.tx_code.map(str::to_owned),
            token_hash.to_owned(),
        );
        let Redeem {
            token_expires_at,
            now,
            tx_code_attempts,
            ..
        } = *redeem;
        self.write(
            || "redeem a pre-authorized code".into(),
            move |conn| {
                let Some(offer) = offer_by_id(conn, &id)? else {
                    return Ok(Redemption::UnknownCode);
                };
                match judge(&offer, &code, tx_code.as_deref(), now) {
                    Verdict::Refuse(refusal) => Ok(refusal),
                    Verdict::Redeem => {
                        // The batch holds the write lock: the offer is still what was judged.
                        conn.prepare_cached(
                            "UPDATE offers SET state = 'redeemed', redeemed_at = ?2, \
                             access_token_hash = ?3, token_expires_at = ?4 WHERE id = ?1",
                        )?
                        .execute(params![offer.id, now, hash, token_expires_at])?;
                        Ok(Redemption::Redeemed {
                            offer_id: offer.id,
                            credential: offer.credential,
                        })
                    }
                    Verdict::CountWrongTxCode => conn
                        .prepare_cached(
                            "UPDATE offers SET tx_attempts = tx_attempts + 1, state = CASE \
                             WHEN state = 'offered' AND tx_attempts + 1 >= ?2 THEN 'locked' ELSE state END \
                             WHERE id = ?1 RETURNING tx_attempts, state",
                        )?
                        .query_row(params![offer.id, tx_code_attempts], |row| {
                            let state: String = row.get(1)?;
                            Ok(Redemption::WrongTxCode {
                                attempts: row.get(0)?,
                                locked: state == OfferState::Locked.as_str(),
                            })
                        }),
                }
            },
        )
        .await
    }

    pub(super) async fn issue(&self, issue: &Issue<'_>) -> Result<Issued, StoreError> {
        let (offer_id, credential, nonce) = (
            issue.offer_id.to_owned(),
            issue.credential.to_owned(),
            issue.nonce.to_owned(),
        );
        let Issue {
            now,
            nonce_expires_at,
            count,
            per_offer,
            revocable,
            list_id,
            list_size,
            ..
        } = *issue;
        self.write(
            || format!("issue offer `{}`", issue.offer_id),
            move |conn| {
                // The batch holds the write lock: what these reads find stays true until commit.
                // A spent nonce is refused first, whatever the offer's state.
                let spent: bool = conn
                    .prepare_cached(
                        "SELECT EXISTS (SELECT 1 FROM spent_nonces \
                         WHERE expires_at = ?1 AND nonce = ?2)",
                    )?
                    .query_row(params![nonce_expires_at, nonce], |row| row.get(0))?;
                if spent {
                    return Ok(Issued::NonceSpent);
                }
                let offer: Option<(String, i64)> = conn
                    .prepare_cached(
                        "SELECT claims, issued_count FROM offers \
                         WHERE id = ?1 AND state IN ('redeemed', 'issued') AND credential = ?2",
                    )?
                    .query_row([&offer_id, &credential], |row| {
                        Ok((row.get(0)?, row.get(1)?))
                    })
                    .optional()?;
                let Some((claims, issued)) = offer else {
                    return Ok(Issued::NotRedeemed);
                };
                let count = count.min(per_offer - issued);
                if count < 1 {
                    return Ok(Issued::Exhausted { issued });
                }
                conn.prepare_cached(
                    "UPDATE offers SET state = 'issued', issued_at = COALESCE(issued_at, ?2), \
                     issued_count = issued_count + ?3 WHERE id = ?1",
                )?
                .execute(params![offer_id, now, count])?;
                conn.prepare_cached(
                    "INSERT INTO spent_nonces (nonce, expires_at) VALUES (?1, ?2)",
                )?
                .execute(params![nonce, nonce_expires_at])?;
                if !revocable {
                    return Ok(Issued::Issued {
                        claims,
                        count,
                        statuses: Vec::new(),
                    });
                }
                let mut insert = conn.prepare_cached(
                    "INSERT INTO status_entries (list_id, idx, offer_id, revoked, issued_at) \
                     VALUES (?1, ?2, ?3, 0, ?4) ON CONFLICT (list_id, idx) DO NOTHING",
                )?;
                // The candidates go on from where the last entry found room: each entry its own
                // index, never one another credential (or this request) has.
                let mut candidates = status_index_candidates(list_id, list_size);
                let mut statuses = Vec::with_capacity(count as usize);
                while statuses.len() < count as usize {
                    let Some((list, idx)) = candidates.next() else {
                        return Err(rusqlite::Error::SqliteFailure(
                            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
                            Some("no status list has room".into()),
                        ));
                    };
                    if insert.execute(params![list, idx, offer_id, now])? == 1 {
                        statuses.push(StatusEntry {
                            list_id: list,
                            idx,
                            revoked: false,
                            issued_at: now,
                        });
                    }
                }
                Ok(Issued::Issued {
                    claims,
                    count,
                    statuses,
                })
            },
        )
        .await
    }

    pub(super) async fn revoke_offer(
        &self,
        id: &str,
        now: i64,
    ) -> Result<Option<Vec<StatusEntry>>, StoreError> {
        let key = id.to_owned();
        self.write(
            || format!("revoke offer `{id}`"),
            move |conn| {
                let moved = conn
                    .prepare_cached(
                        "UPDATE offers SET state = 'revoked', revoked_at = ?2 \
                         WHERE id = ?1 AND state <> 'revoked'",
                    )?
                    .execute(params![key, now])?;
                if moved == 0 {
                    let exists: bool = conn
                        .prepare_cached("SELECT EXISTS (SELECT 1 FROM offers WHERE id = ?1)")?
                        .query_row([&key], |row| row.get(0))?;
                    if !exists {
                        return Ok(None);
                    }
                }
                conn.prepare_cached(
                    "UPDATE status_entries SET revoked = 1 WHERE offer_id = ?1 AND revoked = 0",
                )?
                .execute([&key])?;
                entries_of(conn, &key).map(Some)
            },
        )
        .await
    }

    pub(super) async fn statuses_of_offer(&self, id: &str) -> Result<Vec<StatusEntry>, StoreError> {
        let key = id.to_owned();
        self.read(
            || format!("read the status entries of offer `{id}`"),
            move |conn| entries_of(conn, &key),
        )
        .await
    }

    pub(super) async fn revoked_indices(
        &self,
        list_id: i64,
    ) -> Result<(bool, Vec<i64>), StoreError> {
        self.read(
            || format!("read status list {list_id}"),
            move |conn| {
                let revoked = conn
                    .prepare_cached(
                        "SELECT idx FROM status_entries WHERE list_id = ?1 AND revoked = 1 \
                         ORDER BY idx",
                    )?
                    .query_map([list_id], |row| row.get(0))?
                    .collect::<rusqlite::Result<Vec<i64>>>()?;
                if !revoked.is_empty() {
                    return Ok((true, revoked));
                }
                let exists: bool = conn
                    .prepare_cached(
                        "SELECT EXISTS (SELECT 1 FROM status_entries WHERE list_id = ?1)",
                    )?
                    .query_row([list_id], |row| row.get(0))?;
                Ok((exists, revoked))
            },
        )
        .await
    }

    pub(super) async fn create_presentation(
        &self,
        presentation: &Presentation,
    ) -> Result<(), StoreError> {
        let p = presentation.clone();
        self.write(
            || format!("create presentation `{}`", presentation.id),
            move |conn| {
                conn.prepare_cached(concat!(
                    "INSERT INTO presentations (",
                    presentation_columns!(),
                    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
                ))?
                .execute(params![
                    p.id,
                    p.offer_id,
                    p.nonce,
                    p.state.as_str(),
                    p.authorization.auth_session,
                    p.authorization.client_id,
                    p.authorization.code_challenge,
                    p.authorization.redirect_uri,
                    p.session,
                    p.code,
                    p.code_expires_at,
                    p.created_at,
                    p.expires_at
                ])
                .map(|_| ())
            },
        )
        .await
    }

    pub(super) async fn pending_presentations(
        &self,
        offer_id: &str,
        now: i64,
    ) -> Result<PendingPresentations, StoreError> {
        let key = offer_id.to_owned();
        self.read(
            || format!("count the pending presentations of offer `{offer_id}`"),
            move |conn| {
                conn.prepare_cached(
                    "SELECT COUNT(*), MIN(expires_at) FROM presentations \
                     WHERE offer_id = ?1 AND state = 'pending' AND expires_at > ?2",
                )?
                .query_row(params![key, now], |row| {
                    Ok(PendingPresentations {
                        count: row.get(0)?,
                        first_expiry: row.get(1)?,
                    })
                })
            },
        )
        .await
    }

    pub(super) async fn presentation(&self, id: &str) -> Result<Option<Presentation>, StoreError> {
        let key = id.to_owned();
        self.read(
            || format!("read presentation `{id}`"),
            move |conn| {
                conn.prepare_cached(concat!(
                    "SELECT ",
                    presentation_columns!(),
                    " FROM presentations WHERE id = ?1"
                ))?
                .query_row([key], presentation_from_row)
                .optional()
            },
        )
        .await
    }

    pub(super) async fn advance_presentation(
        &self,
        advance: &Advance<'_>,
    ) -> Result<bool, StoreError> {
        let (id, from, to, unexpired_at) = (
            advance.id.to_owned(),
            advance.from.as_str(),
            advance.to.as_str(),
            advance.unexpired_at,
        );
        let code = advance.code.map(|(code, at)| (code.to_owned(), at));
        self.write(
            || format!("move presentation `{}` to {to}", advance.id),
            move |conn| {
                let (code, code_expires_at) = code.unzip();
                conn.prepare_cached(
                    "UPDATE presentations SET state = ?3, code = COALESCE(?5, code), \
                     code_expires_at = COALESCE(?6, code_expires_at) \
                     WHERE id = ?1 AND state = ?2 AND (?4 IS NULL OR expires_at > ?4)",
                )?
                .execute(params![id, from, to, unexpired_at, code, code_expires_at])
                .map(|n| n == 1)
            },
        )
        .await
    }

    pub(super) async fn record_presented(
        &self,
        presentation_id: &str,
        session: &str,
        claims: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let (id, session, claims) = (
            presentation_id.to_owned(),
            session.to_owned(),
            claims.to_owned(),
        );
        self.write(
            || format!("record presentation `{presentation_id}` as verified"),
            move |conn| {
                // The batch holds the write lock: what is read here stays so until the updates.
                let offer_id: Option<String> = conn
                    .prepare_cached(
                        "SELECT p.offer_id FROM presentations p JOIN offers o ON o.id = p.offer_id \
                         WHERE p.id = ?1 AND p.state = 'answered' AND o.state = 'offered' \
                         AND o.presented_at IS NULL",
                    )?
                    .query_row([&id], |row| row.get(0))
                    .optional()?;
                let Some(offer_id) = offer_id else {
                    return Ok(false);
                };
                conn.prepare_cached(
                    "UPDATE presentations SET state = 'verified', session = ?2 WHERE id = ?1",
                )?
                .execute(params![id, session])?;
                conn.prepare_cached(
                    "UPDATE offers SET claims = ?2, presented_at = ?3 WHERE id = ?1",
                )?
                .execute(params![offer_id, claims, now])?;
                Ok(true)
            },
        )
        .await
    }

    pub(super) async fn audit_verification(
        &self,
        verification: &Verification,
    ) -> Result<(), StoreError> {
        let v = verification.clone();
        self.write(
            || {
                format!(
                    "audit a verification of presentation `{}`",
                    verification.presentation_id
                )
            },
            move |conn| {
                conn.prepare_cached(concat!(
                    "INSERT INTO verifications (",
                    verification_columns!(),
                    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
                ))?
                .execute(params![
                    v.presentation_id,
                    v.offer_id,
                    v.at,
                    v.prerequisite,
                    v.issuer,
                    v.vct,
                    v.status_uri,
                    v.status_idx,
                    v.outcome,
                    v.reason
                ])
                .map(|_| ())
            },
        )
        .await
    }

    pub(super) async fn verifications_of_offer(
        &self,
        id: &str,
    ) -> Result<Vec<Verification>, StoreError> {
        let key = id.to_owned();
        self.read(
            || format!("read the verifications of offer `{id}`"),
            move |conn| {
                conn.prepare_cached(concat!(
                    "SELECT ",
                    verification_columns!(),
                    " FROM verifications WHERE offer_id = ?1 ORDER BY at, rowid"
                ))?
                .query_map([key], |row| {
                    Ok(Verification {
                        presentation_id: row.get(0)?,
                        offer_id: row.get(1)?,
                        at: row.get(2)?,
                        prerequisite: row.get(3)?,
                        issuer: row.get(4)?,
                        vct: row.get(5)?,
                        status_uri: row.get(6)?,
                        status_idx: row.get(7)?,
                        outcome: row.get(8)?,
                        reason: row.get(9)?,
                    })
                })?
                .collect()
            },
        )
        .await
    }

    pub(super) async fn record_login(&self, login: &RecordLogin<'_>) -> Result<bool, StoreError> {
        let (id, claims, subject, now) = (
            login.offer_id.to_owned(),
            login.claims.to_owned(),
            login.subject.to_owned(),
            login.now,
        );
        self.write(
            || format!("record the login on offer `{}`", login.offer_id),
            move |conn| {
                conn.prepare_cached(
                    "UPDATE offers SET claims = ?2, logged_in_at = ?4, login_subject = ?3 \
                     WHERE id = ?1 AND state = 'offered' AND expires_at > ?4 \
                     AND logged_in_at IS NULL AND (subject IS NULL OR subject = ?3)",
                )?
                .execute(params![id, claims, subject, now])
                .map(|n| n == 1)
            },
        )
        .await
    }

    pub(super) async fn create_authorization(
        &self,
        authorization: &Authorization,
    ) -> Result<(), StoreError> {
        let a = authorization.clone();
        self.write(
            || format!("create authorization `{}`", authorization.id),
            move |conn| {
                conn.prepare_cached(concat!(
                    "INSERT INTO authorizations (",
                    authorization_columns!(),
                    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, \
                     ?16, ?17, ?18)"
                ))?
                .execute(params![
                    a.id,
                    a.kind.as_str(),
                    a.state.as_str(),
                    a.credential,
                    a.offer_id,
                    a.client_id,
                    a.redirect_uri,
                    a.code_challenge,
                    a.wallet_state,
                    a.dpop_jkt,
                    a.provider,
                    a.login_state,
                    a.login_nonce,
                    a.login_verifier,
                    a.code,
                    a.code_expires_at,
                    a.created_at,
                    a.expires_at
                ])
                .map(|_| ())
            },
        )
        .await
    }

    pub(super) async fn authorization(
        &self,
        id: &str,
    ) -> Result<Option<Authorization>, StoreError> {
        let key = id.to_owned();
        self.read(
            || format!("read authorization `{id}`"),
            move |conn| {
                conn.prepare_cached(concat!(
                    "SELECT ",
                    authorization_columns!(),
                    " FROM authorizations WHERE id = ?1"
                ))?
                .query_row([key], authorization_from_row)
                .optional()
            },
        )
        .await
    }

    pub(super) async fn advance_authorization(
        &self,
        advance: &AuthorizationAdvance<'_>,
    ) -> Result<bool, StoreError> {
        let owned = |s: Option<&str>| s.map(str::to_owned);
        let (id, from, to, unexpired_at, expires_at) = (
            advance.id.to_owned(),
            advance.from.as_str(),
            advance.to.as_str(),
            advance.unexpired_at,
            advance.expires_at,
        );
        let (login_state, login_nonce, login_verifier) = match advance.login {
            Some((state, nonce, verifier)) => (Some(state), Some(nonce), Some(verifier)),
            None => (None, None, None),
        };
        let (login_state, login_nonce, login_verifier) = (
            owned(login_state),
            owned(login_nonce),
            owned(login_verifier),
        );
        let offer_id = owned(advance.offer_id);
        let (code, code_expires_at) = advance.code.unzip();
        let code = owned(code);
        self.write(
            || format!("move authorization `{}` to {to}", advance.id),
            move |conn| {
                conn.prepare_cached(
                    "UPDATE authorizations SET state = ?3, expires_at = COALESCE(?5, expires_at), \
                     login_state = COALESCE(?6, login_state), \
                     login_nonce = COALESCE(?7, login_nonce), \
                     login_verifier = COALESCE(?8, login_verifier), \
                     offer_id = COALESCE(?9, offer_id), code = COALESCE(?10, code), \
                     code_expires_at = COALESCE(?11, code_expires_at) \
                     WHERE id = ?1 AND state = ?2 AND (?4 IS NULL OR expires_at > ?4)",
                )?
                .execute(params![
                    id,
                    from,
                    to,
                    unexpired_at,
                    expires_at,
                    login_state,
                    login_nonce,
                    login_verifier,
                    offer_id,
                    code,
                    code_expires_at
                ])
                .map(|n| n == 1)
            },
        )
        .await
    }

    pub(super) async fn audit_login(&self, login: &LoginAudit) -> Result<(), StoreError> {
        let l = login.clone();
        self.write(
            || {
                format!(
                    "audit the login of authorization `{}`",
                    login.authorization_id
                )
            },
            move |conn| {
                conn.prepare_cached(concat!(
                    "INSERT INTO logins (",
                    login_columns!(),
                    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                ))?
                .execute(params![
                    l.authorization_id,
                    l.offer_id,
                    l.at,
                    l.provider,
                    l.subject,
                    l.acr,
                    l.outcome,
                    l.reason
                ])
                .map(|_| ())
            },
        )
        .await
    }

    pub(super) async fn logins_of_offer(
        &self,
        offer_id: &str,
    ) -> Result<Vec<LoginAudit>, StoreError> {
        let key = offer_id.to_owned();
        self.read(
            || format!("read the logins of offer `{offer_id}`"),
            move |conn| {
                conn.prepare_cached(concat!(
                    "SELECT ",
                    login_columns!(),
                    " FROM logins WHERE offer_id = ?1 ORDER BY at, rowid"
                ))?
                .query_map([key], |row| {
                    Ok(LoginAudit {
                        authorization_id: row.get(0)?,
                        offer_id: row.get(1)?,
                        at: row.get(2)?,
                        provider: row.get(3)?,
                        subject: row.get(4)?,
                        acr: row.get(5)?,
                        outcome: row.get(6)?,
                        reason: row.get(7)?,
                    })
                })?
                .collect()
            },
        )
        .await
    }

    pub(super) async fn spend_once(&self, key: &str, expires_at: i64) -> Result<bool, StoreError> {
        let key = key.to_owned();
        self.write(
            || "spend a single-use key".into(),
            move |conn| {
                conn.prepare_cached(
                    "INSERT INTO spent_once (id, expires_at) VALUES (?1, ?2) \
                     ON CONFLICT (id) DO NOTHING",
                )?
                .execute(params![key, expires_at])
                .map(|n| n == 1)
            },
        )
        .await
    }

    /// One step of a sweep: `step` ([`super::SWEEPS`]) forgetting `what`.
    pub(super) async fn sweep(
        &self,
        what: &str,
        step: &'static str,
        before: i64,
        chunk: i64,
    ) -> Result<u64, StoreError> {
        self.write(
            || format!("forget {what}"),
            move |conn| {
                conn.prepare_cached(step)?
                    .execute([before, chunk])
                    .map(|n| n as u64)
            },
        )
        .await
    }
}

/// busy_timeout (how long to wait for another connection's lock: 5 s) first, so that the others
/// wait for a lock instead of failing.
fn pragmas(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "NORMAL")
}

/// The checkpointer's connection to the file.
/// Creates a missing database file readable and writable by its owner only: it holds the offers'
/// claims and the codes. SQLite gives its WAL and shared-memory files the database file's mode.
fn create_owner_only(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

fn open_checkpointer(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    pragmas(&conn)?;
    Ok(conn)
}

/// Switches the file to WAL (persistent in the file). Changing the journal mode needs an
/// exclusive lock that `busy_timeout` does not wait for, so a busy database is retried here.
fn wal(conn: &Connection) -> rusqlite::Result<()> {
    let mut attempts = 0;
    loop {
        match conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
        {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            Ok(mode) => {
                return Err(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
                    Some(format!(
                        "SQLite refused the WAL journal (journal_mode is {mode})"
                    )),
                ));
            }
            Err(e) if attempts < 100 && is_busy(&e) => {
                attempts += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => return Err(e),
        }
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Checkpoints the WAL every [`CHECKPOINT_INTERVAL`] until `stop` is dropped. A checkpoint writes
/// the WAL back into the database file and syncs it; run at commit (SQLite's
/// default) it would stall every write for milliseconds.
fn checkpoint_loop(conn: Connection, stop: mpsc::Receiver<()>, url: String) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_INTERVAL) {
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!("cannot checkpoint the WAL of `{url}`: {e}");
        }
    }
}

/// Applies the migrations the file lacks, in one `BEGIN IMMEDIATE` transaction: instances
/// starting together on a new file wait for each other's write lock, and the one that comes
/// second finds the schema in place. The version applied is kept in `PRAGMA user_version`.
fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let latest = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    if applied(conn)? >= latest {
        return Ok(());
    }
    statement(conn, "BEGIN IMMEDIATE")?;
    let result = (|| {
        let current = applied(conn)?;
        for migration in MIGRATOR
            .iter()
            .filter(|m| m.version > current && m.migration_type.is_up_migration())
        {
            let sqlite_form = SQLITE_FORMS
                .iter()
                .find(|(version, _)| *version == migration.version)
                .map(|(_, sql)| *sql);
            conn.execute_batch(sqlite_form.unwrap_or(migration.sql.as_str()))?;
        }
        conn.pragma_update(None, "user_version", latest.max(current))
    })();
    match result {
        Ok(()) => statement(conn, "COMMIT"),
        Err(e) => {
            let _ = statement(conn, "ROLLBACK");
            Err(e)
        }
    }
}

/// The last migration applied: `user_version`, or for a file an earlier trustc created through
/// sqlx, the last version in sqlx's ledger.
fn applied(conn: &Connection) -> rusqlite::Result<i64> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if version > 0 {
        return Ok(version);
    }
    let has_sqlx_ledger: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' \
         AND name = '_sqlx_migrations')",
        [],
        |row| row.get(0),
    )?;
    if !has_sqlx_ledger {
        return Ok(0);
    }
    conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success",
        [],
        |row| row.get(0),
    )
}

fn offer_by_id(conn: &Connection, id: &str) -> rusqlite::Result<Option<Offer>> {
    conn.prepare_cached(concat!(
        "SELECT ",
        offer_columns!(),
        " FROM offers WHERE id = ?1"
    ))?
    .query_row([id], offer_from_row)
    .optional()
}

fn offer_from_row(row: &Row<'_>) -> rusqlite::Result<Offer> {
    let state: String = row.get(5)?;
    let state = state.parse::<OfferState>().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(5, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(Offer {
        id: row.get(0)?,
        pre_authorized_code: row.get(1)?,
        tx_code: row.get(2)?,
        credential: row.get(3)?,
        claims: row.get(4)?,
        state,
        tx_attempts: row.get(6)?,
        created_at: row.get(7)?,
        expires_at: row.get(8)?,
        redeemed_at: row.get(9)?,
        access_token_hash: row.get(10)?,
        token_expires_at: row.get(11)?,
        issued_at: row.get(12)?,
        revoked_at: row.get(13)?,
        needs_presentation: row.get::<_, i64>(14)? != 0,
        presented_at: row.get(15)?,
        needs_login: row.get::<_, i64>(16)? != 0,
        subject: row.get(17)?,
        logged_in_at: row.get(18)?,
        login_subject: row.get(19)?,
        issued_count: row.get(20)?,
    })
}

fn authorization_from_row(row: &Row<'_>) -> rusqlite::Result<Authorization> {
    let kind: String = row.get(1)?;
    let kind = kind.parse::<AuthorizationKind>().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e))
    })?;
    let state: String = row.get(2)?;
    let state = state.parse::<AuthorizationState>().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(Authorization {
        id: row.get(0)?,
        kind,
        state,
        credential: row.get(3)?,
        offer_id: row.get(4)?,
        client_id: row.get(5)?,
        redirect_uri: row.get(6)?,
        code_challenge: row.get(7)?,
        wallet_state: row.get(8)?,
        dpop_jkt: row.get(9)?,
        provider: row.get(10)?,
        login_state: row.get(11)?,
        login_nonce: row.get(12)?,
        login_verifier: row.get(13)?,
        code: row.get(14)?,
        code_expires_at: row.get(15)?,
        created_at: row.get(16)?,
        expires_at: row.get(17)?,
    })
}

fn presentation_from_row(row: &Row<'_>) -> rusqlite::Result<Presentation> {
    let state: String = row.get(3)?;
    let state = state.parse::<PresentationState>().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(Presentation {
        id: row.get(0)?,
        offer_id: row.get(1)?,
        nonce: row.get(2)?,
        state,
        authorization: AuthorizationRequest {
            auth_session: row.get(4)?,
            client_id: row.get(5)?,
            code_challenge: row.get(6)?,
            redirect_uri: row.get(7)?,
        },
        session: row.get(8)?,
        code: row.get(9)?,
        code_expires_at: row.get(10)?,
        created_at: row.get(11)?,
        expires_at: row.get(12)?,
    })
}

fn entries_of(conn: &Connection, offer_id: &str) -> rusqlite::Result<Vec<StatusEntry>> {
    conn.prepare_cached(
        "SELECT list_id, idx, revoked, issued_at FROM status_entries WHERE offer_id = ?1 \
         ORDER BY list_id, idx",
    )?
    .query_map([offer_id], |row| {
        Ok(StatusEntry {
            list_id: row.get(0)?,
            idx: row.get(1)?,
            revoked: row.get::<_, i64>(2)? != 0,
            issued_at: row.get(3)?,
        })
    })?
    .collect()
}
