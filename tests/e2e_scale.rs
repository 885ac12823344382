//! Beyond one machine: several server and worker processes on one
//! PostgreSQL database and one S3-compatible object store (moto, started by
//! `scripts/s3-test-server`; CI sets `AIRLOCK_TEST_S3` and
//! `AIRLOCK_TEST_POSTGRES`), the probes a load balancer and Prometheus read,
//! and a shutdown that hands running jobs back to the queue.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::airlock::{binary, pip_install, Airlock};
use support::{Fault, LocalUpstream, Package, UpstreamFile};

/// The test object store from `AIRLOCK_TEST_S3` (`http://host:port/bucket`):
/// its endpoint and bucket, with the `AWS_*` variables every `airlock`
/// process started by this test inherits.
fn test_s3() -> Option<(String, String)> {
    let named = std::env::var("AIRLOCK_TEST_S3").ok().filter(|v| !v.is_empty())?;
    let url = reqwest::Url::parse(&named).expect("AIRLOCK_TEST_S3 is a URL");
    let endpoint = format!("{}://{}:{}", url.scheme(), url.host_str().expect("host"), url.port_or_known_default().expect("port"));
    let bucket = url.path().trim_matches('/').to_string();
    for (key, value) in [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
    ] {
        std::env::set_var(key, value);
    }
    Some((endpoint, bucket))
}

/// `airlock worker` with its own data folder (so its own blob cache) on `airlock`'s database.
fn worker_process(airlock: &Airlock, upstream: &str, blob_store: &str, data_dir: &std::path::Path, log: &std::path::Path) -> Child {
    let mut cmd = Command::new(binary());
    cmd.arg("--data-dir").arg(data_dir).arg("--config").arg(airlock.config_path());
    cmd.args(["--database-url", airlock.database_url().expect("a PostgreSQL test database")]);
    cmd.args(["--blob-store", blob_store, "--upstream", upstream, "worker", "--workers", "1"]);
    cmd.env("RUST_LOG", "info").env("AIRLOCK_LOG_FORMAT", "json").stdout(Stdio::null()).stderr(std::fs::File::create(log).expect("log"));
    cmd.spawn().expect("spawn airlock worker")
}

/// Kills the worker processes when the test ends, however it ends.
struct Workers(Vec<Child>);

impl Drop for Workers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_servers_and_two_workers_share_postgres_and_object_storage() {
    let (Some(db), Some((endpoint, bucket))) = (airlock_store::testdb::TestDb::postgres(), test_s3()) else {
        eprintln!("skipped: needs AIRLOCK_TEST_POSTGRES and AIRLOCK_TEST_S3 (run `eval \"$(scripts/s3-test-server)\"`; CI sets both)");
        return;
    };
    let package = Package::new("scale-demo", "1.0");
    let (wheel_name, wheel) = package.wheel();
    let upstream =
        LocalUpstream::start(vec![UpstreamFile::new("scale-demo", (wheel_name.clone(), wheel.clone())), UpstreamFile::new("scale-demo", package.sdist())]);
    let prefix = format!("e2e-{}", hex::encode(rand::random::<[u8; 6]>()));
    let blob_store = format!("s3://{bucket}/{prefix}");

    let mut airlock = Airlock::on(Some(db));
    airlock.set_config(&[("blob_store", &format!("\"{blob_store}\"")), ("db_pool_size", "4")]);
    let auditor = airlock.user_with_token("alice", "auditor");
    // Two servers without workers of their own, two worker processes with their own caches.
    airlock.serve_with(Some(&upstream.base_url), &["--workers", "0"]);
    let second = airlock.peer(Some(&upstream.base_url), &["--workers", "0"]);
    let nodes = tempfile::tempdir().expect("worker folders");
    let logs: Vec<_> = (0..2).map(|i| nodes.path().join(format!("worker-{i}.log"))).collect();
    let _workers = Workers(
        (0..2)
            .map(|i| {
                let dir = nodes.path().join(format!("worker-{i}"));
                worker_process(&airlock, &upstream.base_url, &blob_store, &dir, &logs[i])
            })
            .collect(),
    );

    for base in [airlock.base.as_str(), second.as_str()] {
        let ready = reqwest::get(format!("{base}/readyz")).await.expect("readyz");
        assert_eq!(ready.status(), 200, "{base}/readyz: {}", ready.text().await.unwrap_or_default());
    }
    assert_eq!(airlock.request(&auditor, "scale-demo==1.0").await.status(), 202);
    airlock.wait_for(&auditor, "scale-demo", "1.0", &["awaiting_review"]).await;
    assert_eq!(airlock.decide(&auditor, "scale-demo", "1.0", "approve", "reviewed").await.status(), 200);

    // The blobs are in the bucket, under their content address.
    let listing = reqwest::get(format!("{endpoint}/{bucket}?list-type=2&prefix={prefix}/")).await.expect("list the bucket").text().await.expect("listing");
    let wheel_sha = support::sha256_hex(&wheel);
    assert!(listing.contains(&format!("{prefix}/{}/{}/{wheel_sha}", &wheel_sha[..2], &wheel_sha[2..4])), "the wheel is not in the bucket: {listing}");
    assert!(!listing.contains(&format!("{prefix}/tmp/")), "a temporary upload was left behind: {listing}");
    // Only the worker processes wrote blobs, into their own caches: what pip
    // downloads from the second server is streamed from the bucket.

    let target = tempfile::tempdir().expect("pip target");
    let run = pip_install(&format!("{second}/simple/"), target.path(), &["scale-demo==1.0"]);
    assert!(run.success, "pip install from the second server failed: {}", run.output);
    assert!(target.path().join(package.dist_info()).is_dir(), "{}", run.output);

    // A range request for the wheel, on the second server: the bytes asked for, from the cached blob.
    let file_url = format!("{second}/files/{wheel_sha}/{wheel_name}");
    let part = reqwest::Client::new().get(&file_url).header("Range", "bytes=10-29").send().await.expect("range request");
    assert_eq!(part.status(), 206);
    assert_eq!(part.bytes().await.expect("body").as_ref(), &wheel[10..30]);

    // The worker processes log as JSON, each job's lines naming its id.
    let worked: Vec<String> = logs.iter().map(|l| std::fs::read_to_string(l).unwrap_or_default()).collect();
    let jobs_logged = worked.iter().flat_map(|log| log.lines()).filter(|l| l.starts_with('{') && l.contains("\"job_id\":")).count();
    assert!(jobs_logged > 0, "no JSON log line names its job: {worked:?}");

    // /metrics on a server shows the queue and the request latencies.
    let metrics = reqwest::get(format!("{second}/metrics")).await.expect("metrics").text().await.expect("text");
    assert!(metrics.contains("airlock_jobs{kind=\"mirror_release\",state=\"done\"} 1"), "{metrics}");
    assert!(metrics.contains("airlock_http_request_duration_seconds_count{route=\"/files/{sha256}/{filename}\"} "), "{metrics}");
    assert!(metrics.contains("airlock_index_cache_requests_total{result=\"hit\"} "), "{metrics}");
}

#[tokio::test(flavor = "multi_thread")]
async fn on_sigterm_the_server_exits_and_hands_its_running_job_back_to_the_queue() {
    let package = Package::new("slow-demo", "1.0");
    let (wheel_name, wheel) = package.wheel();
    let upstream = LocalUpstream::start(vec![UpstreamFile::new("slow-demo", (wheel_name.clone(), wheel))]);
    // The download hangs: the job is mid-flight when the server is told to stop.
    upstream.inject(&format!("/files/{wheel_name}"), &[Fault::Stall(Duration::from_secs(30))]);
    let mut airlock = Airlock::new();
    airlock.set_config(&[("upstream_timeout_secs", "60")]);
    let auditor = airlock.user_with_token("alice", "auditor");
    airlock.serve(Some(&upstream.base_url));
    assert_eq!(airlock.request(&auditor, "slow-demo==1.0").await.status(), 202);
    airlock.wait_for(&auditor, "slow-demo", "1.0", &["mirroring"]).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !upstream.requests().iter().any(|p| p.starts_with("/simple/slow-demo")) {
        assert!(Instant::now() < deadline, "the worker never read the project page");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let (status, took) = airlock.terminate(Duration::from_secs(30));
    assert!(status.success(), "airlock serve exited with {status}: {}", airlock.log());
    assert!(took < Duration::from_secs(15), "shutdown took {took:?}");
    let log = airlock.log();
    assert!(log.contains("the unfinished job went back to the queue"), "{log}");

    // The job is queued again, unleased, runnable now, its attempt given back.
    let url = format!("sqlite://{}", airlock.data_path().join("airlock.db").display());
    let pool = airlock_store::db::connect(&url, 1).expect("open the database");
    let mut conn = pool.get().expect("connection");
    let queued = airlock_store::jobs::list_in_state(&mut conn, airlock_store::jobs::QUEUED, 10).expect("jobs");
    let job = queued.iter().find(|j| j.kind == "mirror_release").unwrap_or_else(|| panic!("the mirror job is not queued: {queued:?}"));
    assert_eq!((job.leased_by.as_deref(), job.lease_until, job.attempts), (None, None, 0), "{job:?}");
    assert!(job.run_after <= airlock_store::now_ms());
    assert!(airlock_store::jobs::list_in_state(&mut conn, airlock_store::jobs::RUNNING, 10).expect("jobs").is_empty());
    drop(conn);

    // A new process takes it at once and finishes it (the stall answered one request only).
    airlock.serve(Some(&upstream.base_url));
    airlock.wait_for(&auditor, "slow-demo", "1.0", &["awaiting_review"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn readyz_and_metrics_answer_and_a_worker_process_serves_its_own() {
    let mut airlock = Airlock::new();
    airlock.serve(None);
    let ready = reqwest::get(airlock.url("/readyz")).await.expect("readyz");
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.text().await.unwrap(), "ready");
    reqwest::get(airlock.url("/simple/")).await.expect("index");
    let metrics = reqwest::get(airlock.url("/metrics")).await.expect("metrics");
    assert!(metrics.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = metrics.text().await.unwrap();
    for line in ["# TYPE airlock_http_request_duration_seconds histogram", "airlock_queue_ready_jobs ", "airlock_mirrored_bytes_total 0"] {
        assert!(text.contains(line), "{line:?} missing: {text}");
    }
    assert!(text.contains("airlock_http_request_duration_seconds_count{route=\"/simple/\"} 1"), "{text}");

    // The blob folder gone: not ready, and says why.
    std::fs::remove_dir_all(airlock.data_path().join("blobs")).expect("remove blobs");
    let not_ready = reqwest::get(airlock.url("/readyz")).await.expect("readyz");
    assert_eq!(not_ready.status(), 503);
    assert!(not_ready.text().await.unwrap().contains("blob store"));

    // A separate worker process serves its probes on --metrics-listen.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut worker = airlock.cli();
    worker.args(["worker", "--workers", "1", "--metrics-listen", &format!("127.0.0.1:{port}")]).stdout(Stdio::null()).stderr(Stdio::null());
    let _worker = Workers(vec![worker.spawn().expect("spawn worker")]);
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        if let Ok(resp) = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await {
            break resp.text().await.unwrap();
        }
        assert!(Instant::now() < deadline, "the worker's /metrics never answered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(text.contains("airlock_queue_ready_jobs ") && text.contains("airlock_jobs_released_total 0"), "{text}");
    assert_eq!(reqwest::get(format!("http://127.0.0.1:{port}/queue")).await.unwrap().status(), 404, "a worker serves probes only");
}
