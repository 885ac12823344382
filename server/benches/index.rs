//! Simple-index bench, part one (part two is `bench/index_bench.sh`).
//!
//! Builds an Airlock data folder with approved projects straight through the
//! store (no upstream needed), times the uncached render of a 2,000-file
//! project page (database query plus HTML and JSON), and writes the same
//! pages and three wheels (10 KB, 75 KB and 20 MB) as a static tree that nginx
//! serves as the baseline.
//!
//! Usage: `cargo bench -p airlock-server --bench index -- OUT_DIR`. It
//! prints the timings and writes `OUT_DIR/data` (Airlock's data folder),
//! `OUT_DIR/static` (nginx's root) and `OUT_DIR/paths.env` (URLs to load).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use airlock_server::index_render::{self, render_project, render_root, PageFormat, PageSource};
use airlock_store::auth::create_user;
use airlock_store::config::{Config, Settings};
use airlock_store::db::AnyConnection;
use airlock_store::decisions::{decide, ReviewPolicy, Verdict};
use airlock_store::domain::{PinnedRequirement, ProjectName, Role, Sha256, Version};
use airlock_store::files::{add_file, record_inspection, start_inspection, Inspection, NewFile};
use airlock_store::index::approved_files;
use airlock_store::releases::{find_release, request_release};
use airlock_store::Store;

/// The page the wrk runs load: a typical project, 40 releases of a 75 KB wheel and an sdist.
const SMALL: &str = "bench-small";
/// A project of small wheels (a pure-Python wheel such as six's is about 11 KB).
const TINY: &str = "bench-tiny";
/// The render target: 2,000 approved files.
const BIG: &str = "bench-big";
const WHEEL_BYTES: usize = 75 * 1024;
const SMALL_WHEEL_BYTES: usize = 10 * 1024;
/// A wheel too large for the memory cache (over 8 MiB): sent from disk.
const LARGE: &str = "bench-large";
const LARGE_WHEEL_BYTES: usize = 20 * 1024 * 1024;

fn main() {
    let out = std::env::args().skip(1).find(|a| !a.starts_with('-')).map(PathBuf::from);
    let Some(out) = out else {
        eprintln!("usage: cargo bench -p airlock-server --bench index -- OUT_DIR");
        return;
    };
    let data = out.join("data");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&data).expect("out dir");
    let config = Config::resolve(Settings { data_dir: Some(data.clone()), ..Settings::default() }).expect("config");
    let store = Store::open(&config, 2).expect("store");
    let conn = &mut store.conn().expect("conn");
    let auditor = create_user(conn, "bench", Role::Auditor, "correct horse battery").expect("user");

    let started = Instant::now();
    let wheel = populate(&store, conn, &auditor, SMALL, 40, 1, WHEEL_BYTES);
    let small_wheel = populate(&store, conn, &auditor, TINY, 3, 1, SMALL_WHEEL_BYTES);
    let large_wheel = populate(&store, conn, &auditor, LARGE, 1, 1, LARGE_WHEEL_BYTES);
    populate(&store, conn, &auditor, BIG, 400, 4, 512);
    // The inspections were recorded here: drop the inspect jobs `start_inspection` queued.
    diesel::RunQueryDsl::execute(diesel::sql_query("DELETE FROM jobs"), conn).expect("clear jobs");
    println!("populated {SMALL} (80 files), {TINY} (6 files), {LARGE} (2 files) and {BIG} (2,000 files) in {:.1} s", started.elapsed().as_secs_f64());

    // Uncached render: what the first request after a change costs.
    let big = ProjectName::parse(BIG).unwrap();
    // A miss renders only the format asked for (the other on its first request).
    let (mut query, mut html, mut json) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..200 {
        let t = Instant::now();
        let files = approved_files(conn, &big).expect("query");
        query.push(t.elapsed());
        assert_eq!(files.len(), 2000);
        let source = PageSource::Project(big.clone(), files);
        let t = Instant::now();
        std::hint::black_box(source.render(PageFormat::Html).expect("html"));
        html.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(source.render(PageFormat::Json).expect("json"));
        json.push(t.elapsed());
    }
    let page_html: Vec<Duration> = query.iter().zip(&html).map(|(q, r)| *q + *r).collect();
    let page_json: Vec<Duration> = query.iter().zip(&json).map(|(q, r)| *q + *r).collect();
    for (what, mut samples) in [("query + HTML", page_html), ("query + JSON", page_json)] {
        let (m, p99) = stats(&mut samples);
        println!("uncached {BIG} page (2,000 files), {what}: median {:.2} ms, p99 {:.2} ms (target < 5 ms)", ms(m), ms(p99));
    }
    for (what, mut samples) in [("the query", query), ("HTML rendering", html), ("JSON rendering", json)] {
        let (m, p99) = stats(&mut samples);
        println!("  of which {what}: median {:.2} ms, p99 {:.2} ms", ms(m), ms(p99));
    }

    write_static_tree(&out.join("static"), conn, &[&wheel, &small_wheel, &large_wheel]);
    let url = |(sha, filename): &(String, String)| index_render::file_url(sha, filename);
    std::fs::write(
        out.join("paths.env"),
        format!(
            "SMALL={SMALL}\nBIG={BIG}\nWHEEL_PATH={}\nWHEEL_BYTES={WHEEL_BYTES}\nSMALL_WHEEL_PATH={}\nSMALL_WHEEL_BYTES={SMALL_WHEEL_BYTES}\nLARGE_WHEEL_PATH={}\nLARGE_WHEEL_BYTES={LARGE_WHEEL_BYTES}\n",
            url(&wheel),
            url(&small_wheel),
            url(&large_wheel)
        ),
    )
    .expect("paths.env");
    println!("wrote {}", out.display());
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn stats(samples: &mut [Duration]) -> (Duration, Duration) {
    samples.sort();
    (samples[samples.len() / 2], samples[samples.len() * 99 / 100])
}

/// Approve `versions` releases of `name`, each with `wheels` wheels and an
/// sdist; every file is a distinct blob of `size` bytes. Returns the newest
/// wheel as (sha256, filename).
fn populate(
    store: &Store,
    conn: &mut AnyConnection,
    auditor: &airlock_store::auth::User,
    name: &str,
    versions: u32,
    wheels: u32,
    size: usize,
) -> (String, String) {
    let mut newest = None;
    for v in 0..versions {
        let version = format!("1.{v}.0");
        let req = PinnedRequirement::parse(&format!("{name}=={version}")).unwrap();
        request_release(conn, &req, None, 3, &Default::default()).expect("request");
        let (_, release) = find_release(conn, &ProjectName::parse(name).unwrap(), &Version::parse(&version).unwrap()).unwrap().unwrap();
        let module = name.replace('-', "_");
        let mut filenames: Vec<String> = (0..wheels).map(|w| format!("{module}-{version}-cp3{}-cp3{}-manylinux_2_17_x86_64.whl", 9 + w, 9 + w)).collect();
        if wheels == 1 {
            filenames = vec![format!("{module}-{version}-py3-none-any.whl")];
        }
        filenames.push(format!("{module}-{version}.tar.gz"));
        let mut ids = Vec::new();
        for filename in &filenames {
            let mut bytes = vec![0u8; size];
            let seed = format!("{filename}:");
            for (i, b) in bytes.iter_mut().enumerate() {
                *b = seed.as_bytes()[i % seed.len()].wrapping_add((i / seed.len()) as u8);
            }
            let sha = store.blobs.put(&bytes).expect("blob");
            let metadata = format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nRequires-Python: >=3.9\n");
            let metadata_sha = store.blobs.put(metadata.as_bytes()).expect("metadata blob");
            let row = add_file(
                conn,
                &NewFile {
                    release_id: release.id,
                    filename: filename.clone(),
                    sha256: sha.clone(),
                    size: size as i64,
                    upstream_url: format!("http://upstream.invalid/{filename}"),
                    requires_python: Some(">=3.9".into()),
                    yanked: None,
                    upload_time: Some("2026-01-02T03:04:05.000000Z".into()),
                },
            )
            .expect("file");
            ids.push((row.id, filename.ends_with(".whl").then_some(metadata_sha)));
            if filename.ends_with(".whl") {
                newest = Some((sha.to_string(), filename.clone()));
            }
        }
        start_inspection(conn, release.id, &ids.iter().map(|(id, _)| *id).collect::<Vec<_>>(), 3).expect("start");
        for (id, metadata_sha256) in ids {
            let inspection = Inspection {
                dist_kind: airlock_inspect::DistKind::Wheel,
                core_metadata: None,
                metadata_sha256: metadata_sha256.map(|m: Sha256| m),
                capabilities: None,
                entries: None,
                findings: vec![],
            };
            record_inspection(conn, id, &inspection, &|_| Vec::new()).expect("inspection");
        }
        decide(conn, release.id, auditor, Verdict::Approve, "bench", &ReviewPolicy::default(), None).expect("approve");
    }
    newest.expect("a wheel")
}

/// nginx's root: the same HTML and JSON pages Airlock renders, and the wheels.
fn write_static_tree(root: &Path, conn: &mut AnyConnection, wheels: &[&(String, String)]) {
    let write = |path: PathBuf, body: &[u8]| {
        std::fs::create_dir_all(path.parent().unwrap()).expect("dir");
        std::fs::write(path, body).expect("write");
    };
    let projects = airlock_store::index::approved_projects(conn).expect("projects");
    let page = render_root(&projects).expect("root");
    write(root.join("simple/index.html"), page.html.as_bytes());
    write(root.join("json/index.json"), page.json.as_bytes());
    for p in &projects {
        let name = ProjectName::parse(p).unwrap();
        let page = render_project(&name, &approved_files(conn, &name).expect("files")).expect("render");
        write(root.join(format!("simple/{p}/index.html")), page.html.as_bytes());
        write(root.join(format!("json/{p}/index.json")), page.json.as_bytes());
    }
    let blob = airlock_store::blobs::BlobStore::open(root.parent().unwrap().join("data/blobs")).expect("blobs");
    for (sha, filename) in wheels {
        let bytes = std::fs::read(blob.path_of(&Sha256::parse(sha).unwrap())).expect("wheel blob");
        write(root.join(index_render::file_url(sha, filename).trim_start_matches('/')), &bytes);
    }
}
