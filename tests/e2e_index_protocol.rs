//! Protocol conformance of the simple index over HTTP, against the real
//! binary: PEP 503 and PEP 691 negotiation (quality values, `?format=`,
//! `406`), name normalization redirects, PEP 592 yanks with hostile reasons,
//! PEP 658/714 metadata files, PEP 700 fields, `data-requires-python`
//! escaping, conditional and compressed responses, HEAD and ranges, and the
//! refusals: unapproved files, unknown hashes and bytes that changed on disk.

mod support;

use std::io::Read;

use reqwest::header::{ACCEPT, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH, LOCATION, RANGE};
use serde_json::Value;
use support::airlock::Airlock;
use support::{sha256_hex, LocalUpstream, Package, UpstreamFile};

const JSON_V1: &str = "application/vnd.pypi.simple.v1+json";
const HTML_V1: &str = "application/vnd.pypi.simple.v1+html";

struct Index {
    airlock: Airlock,
    auditor: String,
    http: reqwest::Client,
    wheel: (String, Vec<u8>),
    sdist: (String, Vec<u8>),
}

impl Index {
    async fn get(&self, path: &str, headers: &[(reqwest::header::HeaderName, &str)]) -> reqwest::Response {
        let mut req = self.http.get(self.airlock.url(path));
        for (k, v) in headers {
            req = req.header(k, *v);
        }
        req.send().await.unwrap()
    }

    async fn json(&self, path: &str) -> Value {
        let resp = self.get(path, &[(ACCEPT, JSON_V1)]).await;
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(resp.headers()[CONTENT_TYPE], JSON_V1);
        resp.json().await.unwrap()
    }

    async fn html(&self, path: &str) -> String {
        let resp = self.get(path, &[(ACCEPT, HTML_V1)]).await;
        assert_eq!(resp.status(), 200, "{path}");
        resp.text().await.unwrap()
    }
}

/// `airlock-demo 1.0` approved (wheel and sdist, `Requires-Python: >=3.8,<4`);
/// `airlock-demo 2.0` mirrored but awaiting review.
async fn demo_index() -> Index {
    let v1 = Package::new("airlock-demo", "1.0").with_requires_python(Some(">=3.8,<4"));
    let v2 = Package::new("airlock-demo", "2.0");
    let (wheel, sdist) = (v1.wheel(), v1.sdist());
    let files = vec![
        UpstreamFile::new("airlock-demo", wheel.clone()).with_requires_python(">=3.8,<4"),
        UpstreamFile::new("airlock-demo", sdist.clone()).with_requires_python(">=3.8,<4"),
        UpstreamFile::new("airlock-demo", v2.wheel()),
    ];
    let upstream = LocalUpstream::start(files);
    let mut airlock = Airlock::new();
    // The index serves an approved sdist beside its wheel here: keep sdists.
    airlock.set_config(&[("mirror_sdists", "\"always\"")]);
    let auditor = airlock.user_with_token("alice", "auditor");
    airlock.serve(Some(&upstream.base_url));
    for v in ["1.0", "2.0"] {
        assert_eq!(airlock.request(&auditor, &format!("airlock-demo=={v}")).await.status(), 202);
    }
    for v in ["1.0", "2.0"] {
        let r = airlock.wait_for(&auditor, "airlock-demo", v, &["awaiting_review", "failed"]).await;
        assert_eq!(r["status"], "awaiting_review", "{r}");
    }
    assert_eq!(airlock.decide(&auditor, "airlock-demo", "1.0", "approve", "ok").await.status(), 200);
    // Keep the upstream alive only as long as needed: everything is mirrored now.
    drop(upstream);
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    Index { airlock, auditor, http, wheel, sdist }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_simple_index_conforms_to_peps_503_691_592_658_700_714() {
    let ix = demo_index().await;
    let (wheel_name, wheel_bytes) = &ix.wheel;
    let (sdist_name, _) = &ix.sdist;
    let wheel_sha = sha256_hex(wheel_bytes);

    // Root: only projects with approved files, in both formats.
    let root = ix.json("/simple/").await;
    assert_eq!(root["meta"]["api-version"], "1.1");
    assert_eq!(root["projects"], serde_json::json!([{ "name": "airlock-demo" }]));
    let html = ix.html("/simple/").await;
    assert!(html.contains("<a href=\"/simple/airlock-demo/\">airlock-demo</a>"), "{html}");

    // Negotiation: no Accept is PEP 503 text/html; quality values pick; ?format= overrides; 406 otherwise.
    let resp = ix.get("/simple/airlock-demo/", &[]).await;
    assert_eq!(resp.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
    let vary = resp.headers()["vary"].to_str().unwrap().to_string();
    assert!(vary.contains("Accept") && vary.contains("Accept-Encoding"), "{vary}");
    let ix = &ix;
    let pick =
        |accept: &'static str| async move { ix.get("/simple/airlock-demo/", &[(ACCEPT, accept)]).await.headers()[CONTENT_TYPE].to_str().unwrap().to_string() };
    assert_eq!(
        pick("application/vnd.pypi.simple.v1+json;q=0.2, application/vnd.pypi.simple.v1+html;q=0.9").await,
        "application/vnd.pypi.simple.v1+html; charset=utf-8"
    );
    assert_eq!(pick("text/html;q=0.01, application/vnd.pypi.simple.v1+json").await, JSON_V1);
    assert_eq!(pick("application/vnd.pypi.simple.latest+json").await, JSON_V1);
    let resp = ix.get("/simple/airlock-demo/?format=application/vnd.pypi.simple.v1%2Bjson", &[(ACCEPT, "text/html")]).await;
    assert_eq!(resp.headers()[CONTENT_TYPE], JSON_V1);
    assert_eq!(ix.get("/simple/airlock-demo/", &[(ACCEPT, "application/xml")]).await.status(), 406);
    assert_eq!(ix.get("/simple/airlock-demo/", &[(ACCEPT, "application/vnd.pypi.simple.v2+json")]).await.status(), 406);

    // Names: non-normalized names and a missing slash redirect to the normal form.
    for (path, to) in [
        ("/simple/Airlock_Demo/", "/simple/airlock-demo/"),
        ("/simple/airlock.demo/", "/simple/airlock-demo/"),
        ("/simple/airlock-demo", "/simple/airlock-demo/"),
        ("/simple", "/simple/"),
    ] {
        let resp = ix.get(path, &[]).await;
        assert_eq!(resp.status(), 301, "{path}");
        assert_eq!(resp.headers()[LOCATION], to, "{path}");
    }

    // The project page in JSON: PEP 691 + 700 + 658/714; only the approved release.
    let page = ix.json("/simple/airlock-demo/").await;
    assert_eq!(page["name"], "airlock-demo");
    assert_eq!(page["meta"]["api-version"], "1.1");
    assert_eq!(page["versions"], serde_json::json!(["1.0"]), "2.0 is not approved: {page}");
    let files = page["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{page}");
    let wheel = files.iter().find(|f| f["filename"] == wheel_name.as_str()).unwrap();
    let sdist = files.iter().find(|f| f["filename"] == sdist_name.as_str()).unwrap();
    assert_eq!(wheel["hashes"]["sha256"], wheel_sha);
    assert_eq!(wheel["size"], wheel_bytes.len());
    assert_eq!(wheel["requires-python"], ">=3.8,<4");
    assert_eq!(wheel["yanked"], false);
    assert_eq!(wheel["upload-time"], "2024-01-01T00:00:00.000000Z");
    assert_eq!(wheel["url"], format!("/files/{wheel_sha}/{wheel_name}"));
    let metadata_sha = wheel["core-metadata"]["sha256"].as_str().expect("a wheel has core metadata").to_string();
    assert_eq!(wheel["dist-info-metadata"], wheel["core-metadata"], "PEP 714 keeps the old key too");
    assert_eq!(sdist["core-metadata"], false, "no metadata file for an sdist: {sdist}");

    // The metadata file is the wheel's METADATA, with the advertised hash.
    let resp = ix.get(&format!("/files/{wheel_sha}/{wheel_name}.metadata"), &[]).await;
    assert_eq!(resp.status(), 200);
    let metadata = resp.bytes().await.unwrap();
    assert_eq!(sha256_hex(&metadata), metadata_sha);
    let text = String::from_utf8(metadata.to_vec()).unwrap();
    assert!(text.contains("Name: airlock-demo") && text.contains("Version: 1.0"), "{text}");
    let sdist_sha = sdist["hashes"]["sha256"].as_str().unwrap();
    assert_eq!(ix.get(&format!("/files/{sdist_sha}/{sdist_name}.metadata"), &[]).await.status(), 404);

    // The same page in HTML: PEP 503 anchors with hash fragments and escaped data attributes.
    let html = ix.html("/simple/airlock-demo/").await;
    assert!(html.contains(&format!("href=\"/files/{wheel_sha}/{wheel_name}#sha256={wheel_sha}\"")), "{html}");
    assert!(html.contains("data-requires-python=\"&gt;=3.8,&lt;4\""), "{html}");
    assert!(html.contains(&format!("data-core-metadata=\"sha256={metadata_sha}\"")), "{html}");
    assert!(html.contains(&format!("data-dist-info-metadata=\"sha256={metadata_sha}\"")), "{html}");
    assert!(html.contains("<meta name=\"pypi:repository-version\" content=\"1.1\">"), "{html}");
    assert!(!html.contains("data-yanked"), "{html}");

    // Conditional requests: the ETag revalidates to 304 with no body.
    let resp = ix.get("/simple/airlock-demo/", &[(ACCEPT, JSON_V1)]).await;
    let etag = resp.headers()[ETAG].to_str().unwrap().to_string();
    assert_eq!(resp.headers()["cache-control"], "no-cache");
    let resp = ix.get("/simple/airlock-demo/", &[(ACCEPT, JSON_V1), (IF_NONE_MATCH, &etag)]).await;
    assert_eq!(resp.status(), 304);
    assert!(resp.bytes().await.unwrap().is_empty());
    let resp = ix.get("/simple/airlock-demo/", &[(ACCEPT, HTML_V1), (IF_NONE_MATCH, &etag)]).await;
    assert_eq!(resp.status(), 200, "the JSON ETag must not validate the HTML page");

    // Compression: gzip and brotli decode to the identity body, each with its own ETag.
    let identity = ix.get("/simple/airlock-demo/", &[(ACCEPT, JSON_V1)]).await.bytes().await.unwrap();
    let resp = ix.get("/simple/airlock-demo/", &[(ACCEPT, JSON_V1), (ACCEPT_ENCODING, "gzip")]).await;
    assert_eq!(resp.headers()[CONTENT_ENCODING], "gzip");
    let gzip_etag = resp.headers()[ETAG].to_str().unwrap().to_string();
    assert_ne!(gzip_etag, etag);
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&resp.bytes().await.unwrap()[..]).read_to_end(&mut decoded).unwrap();
    assert_eq!(decoded, identity);
    let resp = ix.get("/simple/airlock-demo/", &[(ACCEPT, JSON_V1), (ACCEPT_ENCODING, "gzip;q=0.5, br")]).await;
    assert_eq!(resp.headers()[CONTENT_ENCODING], "br");
    let mut decoded = Vec::new();
    brotli::Decompressor::new(&resp.bytes().await.unwrap()[..], 4096).read_to_end(&mut decoded).unwrap();
    assert_eq!(decoded, identity);

    // HEAD of a page and a file: headers only.
    let head = ix.http.head(ix.airlock.url("/simple/airlock-demo/")).send().await.unwrap();
    assert_eq!(head.status(), 200);
    let file_url = format!("/files/{wheel_sha}/{wheel_name}");
    let head = ix.http.head(ix.airlock.url(&file_url)).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-length"], wheel_bytes.len().to_string().as_str());
    assert!(head.bytes().await.unwrap().is_empty());

    // The file: exact bytes, a strong ETag, 304 and byte ranges.
    let resp = ix.get(&file_url, &[]).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()[ETAG], format!("\"{wheel_sha}\"").as_str());
    assert_eq!(resp.bytes().await.unwrap().as_ref(), wheel_bytes.as_slice());
    assert_eq!(ix.get(&file_url, &[(IF_NONE_MATCH, &format!("\"{wheel_sha}\""))]).await.status(), 304);
    let resp = ix.get(&file_url, &[(RANGE, "bytes=0-9")]).await;
    assert_eq!(resp.status(), 206);
    assert_eq!(resp.headers()["content-range"], format!("bytes 0-9/{}", wheel_bytes.len()).as_str());
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &wheel_bytes[..10]);
    let resp = ix.get(&file_url, &[(RANGE, "bytes=-4")]).await;
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &wheel_bytes[wheel_bytes.len() - 4..], "a suffix range, as a lazy wheel reader asks");
    assert_eq!(ix.get(&file_url, &[(RANGE, &format!("bytes={}-", wheel_bytes.len()))]).await.status(), 416);

    // Refusals: the unapproved 2.0 wheel, an unknown hash, a hash with another file's name.
    let pending = ix.airlock.release(&ix.auditor, "airlock-demo", "2.0").await;
    let pending_file = &pending["files"][0];
    let path = format!("/files/{}/{}", pending_file["sha256"].as_str().unwrap(), pending_file["filename"].as_str().unwrap());
    assert_eq!(ix.get(&path, &[]).await.status(), 404, "an unapproved file was served");
    assert_eq!(ix.get(&format!("/files/{}/{wheel_name}", "0".repeat(64)), &[]).await.status(), 404);
    assert_eq!(ix.get(&format!("/files/{wheel_sha}/{sdist_name}"), &[]).await.status(), 404);
    assert_eq!(ix.get(&format!("/files/{wheel_sha}/..%2F..%2Fetc%2Fpasswd"), &[]).await.status(), 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn yanks_carry_hostile_reasons_escaped_and_hostile_names_are_not_reflected() {
    let ix = demo_index().await;
    let reason = "\"><script>alert(1)</script><img src=x onerror=alert(2)> & 'quoted'";
    let resp = ix
        .http
        .post(ix.airlock.url("/api/v1/releases/airlock-demo/1.0/yank"))
        .bearer_auth(&ix.auditor)
        .json(&serde_json::json!({ "reason": reason }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());

    let page = ix.json("/simple/airlock-demo/").await;
    for f in page["files"].as_array().unwrap() {
        assert_eq!(f["yanked"], reason, "JSON carries the reason exactly");
    }
    let html = ix.html("/simple/airlock-demo/").await;
    assert!(!html.contains("<script>") && !html.contains("<img"), "{html}");
    assert!(html.contains("data-yanked=\"&quot;&gt;&lt;script&gt;"), "{html}");

    // A yank needs a reason and an auditor.
    let viewer = ix.airlock.user_with_token("vic", "viewer");
    let resp = ix
        .http
        .post(ix.airlock.url("/api/v1/releases/airlock-demo/1.0/yank"))
        .bearer_auth(&viewer)
        .json(&serde_json::json!({ "reason": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let resp = ix
        .http
        .post(ix.airlock.url("/api/v1/releases/airlock-demo/1.0/yank"))
        .bearer_auth(&ix.auditor)
        .json(&serde_json::json!({ "reason": "  " }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);

    // Unyank: the files are plain again, in both formats.
    let resp = ix.http.delete(ix.airlock.url("/api/v1/releases/airlock-demo/1.0/yank")).bearer_auth(&ix.auditor).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let page = ix.json("/simple/airlock-demo/").await;
    assert!(page["files"].as_array().unwrap().iter().all(|f| f["yanked"] == false), "{page}");
    assert!(!ix.html("/simple/airlock-demo/").await.contains("data-yanked"));

    // Hostile names in URLs are refused without echoing them.
    for path in ["/simple/%3Cscript%3Ealert(1)%3C%2Fscript%3E/", "/simple/a%22%3E%3Cimg%20src=x%3E/"] {
        let resp = ix.get(path, &[(ACCEPT, "text/html")]).await;
        assert_eq!(resp.status(), 404, "{path}");
        let body = resp.text().await.unwrap();
        assert!(!body.contains("<script") && !body.contains("<img"), "{body}");
    }
    let resp = ix.get("/api/v1/projects/%3Cscript%3E", &[]).await;
    assert_eq!(resp.status(), 400);
    assert!(!resp.text().await.unwrap().contains("<script"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_whose_stored_bytes_changed_is_refused_and_alerted() {
    let ix = demo_index().await;
    let (sdist_name, sdist_bytes) = &ix.sdist;
    let sha = sha256_hex(sdist_bytes);
    // Tamper with the stored blob (content-addressed under blobs/ab/cd/<sha>).
    let blob = ix.airlock.data_path().join("blobs").join(&sha[..2]).join(&sha[2..4]).join(&sha);
    let mut bytes = std::fs::read(&blob).expect("the approved blob is stored");
    bytes[10] ^= 0xff;
    std::fs::write(&blob, &bytes).unwrap();

    let resp = ix.get(&format!("/files/{sha}/{sdist_name}"), &[]).await;
    assert_eq!(resp.status(), 404, "tampered bytes were served");
    let resp = ix.get(&format!("/files/{sha}/{sdist_name}"), &[(RANGE, "bytes=0-3")]).await;
    assert_eq!(resp.status(), 404, "a range of tampered bytes was served");
    let log = ix.airlock.log();
    assert!(log.contains("blob-integrity") && log.contains(sdist_name.as_str()), "{log}");
    // The refusal is in the audit log, for auditors to see.
    let pool = airlock_store::db::connect(&format!("sqlite://{}", ix.airlock.data_path().join("airlock.db").display()), 1).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let (events, refused) = loop {
        let events = airlock_store::audit::list(&mut pool.get().unwrap(), 100, 0).unwrap();
        let refused: Vec<_> = events.iter().filter(|e| e.action == "integrity.refused").cloned().collect();
        if !refused.is_empty() || std::time::Instant::now() > deadline {
            break (events, refused);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(refused.len(), 1, "one audit event, not one per request: {events:?}");
    assert!(refused[0].detail.contains(&sha), "{:?}", refused[0]);
    // The wheel, untouched, is still served.
    let (wheel_name, wheel_bytes) = &ix.wheel;
    let resp = ix.get(&format!("/files/{}/{wheel_name}", sha256_hex(wheel_bytes)), &[]).await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn details_real_clients_hit_are_answered_as_they_expect() {
    let ix = demo_index().await;

    // `?format=` with a literal `+` (decoded as a space), short forms, any case.
    for (query, want) in [
        ("format=application/vnd.pypi.simple.v1+json", JSON_V1),
        ("format=application/vnd.pypi.simple.v1+html", "application/vnd.pypi.simple.v1+html; charset=utf-8"),
        ("format=Application/VND.pypi.simple.v1%2BJSON", JSON_V1),
        ("format=json", JSON_V1),
        ("format=JSON", JSON_V1),
        ("format=html", "text/html; charset=utf-8"),
    ] {
        let resp = ix.get(&format!("/simple/airlock-demo/?{query}"), &[(ACCEPT, "text/html")]).await;
        assert_eq!(resp.status(), 200, "{query}");
        assert_eq!(resp.headers()[CONTENT_TYPE], want, "{query}");
    }
    let resp = ix.get("/simple/airlock-demo/?format=xml", &[]).await;
    assert_eq!(resp.status(), 406);
    assert!(resp.text().await.unwrap().contains(JSON_V1));

    // `application/*` negotiates within application as `*/*` does across types.
    let content_type = |resp: &reqwest::Response| resp.headers()[CONTENT_TYPE].to_str().unwrap().to_string();
    let resp = ix.get("/simple/airlock-demo/", &[(ACCEPT, "application/*")]).await;
    assert_eq!((resp.status().as_u16(), content_type(&resp)), (200, JSON_V1.to_string()));
    let resp = ix.get("/simple/airlock-demo/", &[(ACCEPT, "application/*, application/vnd.pypi.simple.v1+json;q=0")]).await;
    assert_eq!((resp.status().as_u16(), content_type(&resp)), (200, "application/vnd.pypi.simple.v1+html; charset=utf-8".to_string()));
    let resp = ix.get("/simple/", &[(ACCEPT, "application/*;q=0.5, text/html;q=0.4")]).await;
    assert_eq!(content_type(&resp), JSON_V1);

    // A client that refuses every coding the index has gets a 406, not an unasked-for body.
    let resp = ix.get("/simple/airlock-demo/", &[(ACCEPT, JSON_V1), (ACCEPT_ENCODING, "identity;q=0")]).await;
    assert_eq!(resp.status(), 406);
    assert!(resp.text().await.unwrap().contains("gzip"));
    let resp = ix.get("/simple/airlock-demo/", &[(ACCEPT, JSON_V1), (ACCEPT_ENCODING, "*;q=0, gzip")]).await;
    assert_eq!(resp.headers()[CONTENT_ENCODING], "gzip");

    // A 404 from the index varies by Accept and is never stored.
    for accept in [JSON_V1, "text/html"] {
        let resp = ix.get("/simple/never-heard-of-it/", &[(ACCEPT, accept)]).await;
        assert_eq!(resp.status(), 404, "{accept}");
        assert_eq!(resp.headers()["vary"], "Accept", "{accept}");
        assert_eq!(resp.headers()["cache-control"], "no-store", "{accept}");
    }

    // A 404 under /files/ is for an installer: plain text, or JSON when asked; never the dashboard page.
    let missing = format!("/files/{}/airlock_demo-1.0-py3-none-any.whl", "0".repeat(64));
    let resp = ix.get(&missing, &[]).await;
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.headers()[CONTENT_TYPE], "text/plain; charset=utf-8");
    let body = resp.text().await.unwrap();
    assert!(body.contains("no such approved file") && !body.contains("<html"), "{body}");
    let resp = ix.get(&missing, &[(ACCEPT, "application/json")]).await;
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"], "no such approved file");
    let resp = ix.get("/files/not-a-hash/x.whl", &[(ACCEPT, "*/*")]).await;
    assert_eq!((resp.status().as_u16(), content_type(&resp)), (404, "text/plain; charset=utf-8".to_string()));

    // Revoked and rejected releases say so, by whom and when.
    let bob = ix.airlock.user_with_token("bob", "auditor");
    assert_eq!(ix.airlock.decide(&bob, "airlock-demo", "1.0", "revoke", "the maintainer's account was taken over").await.status(), 200);
    assert_eq!(ix.airlock.decide(&ix.auditor, "airlock-demo", "2.0", "reject", "same payload").await.status(), 200);
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let text = loop {
        let resp = ix.get("/simple/airlock-demo/", &[(ACCEPT, "text/html")]).await;
        let status = resp.status();
        let text = resp.text().await.unwrap();
        if status == 404 || std::time::Instant::now() > deadline {
            assert_eq!(status, 404, "a revoked release left the index: {text}");
            break text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(!text.contains("rejected by an auditor"), "{text}");
    assert!(text.contains(&format!("1.0 was approved, then revoked by bob on {today} ")), "{text}");
    assert!(text.contains(&format!("2.0 was rejected by alice on {today} ")) && text.contains(" UTC"), "{text}");
    let resp = ix.get("/simple/airlock-demo/", &[(ACCEPT, JSON_V1)]).await;
    assert_eq!(resp.headers()["vary"], "Accept");
    let body: Value = resp.json().await.unwrap();
    let revoked = body["releases"].as_array().unwrap().iter().find(|r| r["version"] == "1.0").unwrap().clone();
    assert_eq!((revoked["status"].as_str(), revoked["decided"]["by"].as_str()), (Some("revoked"), Some("bob")), "{body}");
}
