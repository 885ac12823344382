//! Checks of the local upstream over real HTTP, in both formats and when it lies.

use super::*;
use crate::support::fixtures::Package;

fn demo() -> (LocalUpstream, (String, Vec<u8>)) {
    let wheel = Package::new("airlock-demo", "1.0.0").wheel();
    let files = vec![
        UpstreamFile::new("Airlock_Demo", wheel.clone()).with_requires_python(">=3.8,<4"),
        UpstreamFile::new("airlock-demo", Package::new("airlock-demo", "0.9").sdist()).yanked("broken"),
    ];
    (LocalUpstream::start(files), wheel)
}

async fn get(url: &str, accept: &str) -> (u16, String, String) {
    let resp = reqwest::Client::new().get(url).header("accept", accept).send().await.expect("GET the local upstream");
    let status = resp.status().as_u16();
    let content_type = resp.headers().get("content-type").map(|v| v.to_str().unwrap_or("").to_string()).unwrap_or_default();
    (status, content_type, resp.text().await.expect("body"))
}

#[tokio::test]
async fn serves_pep_691_json_to_clients_that_ask_for_it() {
    let (upstream, (wheel_name, wheel_bytes)) = demo();
    let (status, content_type, body) = get(&upstream.project_url("AIRLOCK.demo"), JSON_TYPE).await;
    assert_eq!((status, content_type.as_str()), (200, JSON_TYPE), "{body}");
    let page: Value = serde_json::from_str(&body).expect("JSON page");
    assert_eq!(page["meta"]["api-version"], "1.1");
    assert_eq!(page["name"], "airlock-demo");
    assert_eq!(page["versions"], json!(["0.9", "1.0.0"]));
    let wheel = &page["files"][0];
    assert_eq!(wheel["filename"], wheel_name.as_str());
    assert_eq!(wheel["url"], upstream.file_url(&wheel_name).as_str());
    assert_eq!(wheel["hashes"]["sha256"], sha256_hex(&wheel_bytes).as_str());
    assert_eq!(wheel["requires-python"], ">=3.8,<4");
    assert_eq!(wheel["yanked"], false);
    assert_eq!(wheel["size"], wheel_bytes.len());
    assert_eq!(page["files"][1]["yanked"], "broken");
    assert!(page["files"][1].get("requires-python").is_none());

    let (_, _, root) = get(&upstream.base_url, JSON_TYPE).await;
    assert_eq!(serde_json::from_str::<Value>(&root).expect("JSON root"), json!({"meta": {"api-version": "1.0"}, "projects": [{"name": "airlock-demo"}]}));
}

#[tokio::test]
async fn serves_pep_503_html_otherwise_and_the_files_themselves() {
    let (upstream, (wheel_name, wheel_bytes)) = demo();
    let (status, content_type, body) = get(&upstream.project_url("airlock-demo"), "text/html").await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let link =
        format!("<a href=\"{}#sha256={}\" data-requires-python=\"&gt;=3.8,&lt;4\">{wheel_name}</a>", upstream.file_url(&wheel_name), sha256_hex(&wheel_bytes));
    assert!(body.contains(&link), "{link} not in\n{body}");
    assert!(body.contains("data-yanked=\"broken\""), "{body}");

    let resp = reqwest::get(upstream.file_url(&wheel_name)).await.expect("download");
    assert_eq!(resp.headers()["content-type"], "application/octet-stream");
    assert_eq!(resp.bytes().await.expect("bytes").as_ref(), wheel_bytes.as_slice());
    assert_eq!(upstream.downloads(&wheel_name), 1);

    assert_eq!(get(&upstream.project_url("nobody"), JSON_TYPE).await.0, 404);
    assert_eq!(get(&upstream.file_url("nothing.whl"), "").await.0, 404);
    assert_eq!(
        upstream.requests(),
        ["/simple/airlock-demo/".to_string(), format!("/files/{wheel_name}"), "/simple/nobody/".into(), "/files/nothing.whl".into()]
    );
}

#[test]
fn advertises_a_wrong_hash_when_told_and_speaks_only_the_formats_allowed() {
    let (name, bytes) = Package::new("tampered", "1.0").wheel();
    let lie = "ab".repeat(32);
    let file = UpstreamFile::new("tampered", (name, bytes)).with_advertised_sha256(&lie);
    let html_only = LocalUpstream::start_with(vec![file.clone()], UpstreamOptions::html_only());
    let json_only = LocalUpstream::start_with(vec![file], UpstreamOptions::json_only());
    // A plain #[test] has no runtime; the upstream brings its own.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let (_, content_type, body) = get(&html_only.project_url("tampered"), JSON_TYPE).await;
        assert!(content_type.starts_with("text/html"), "an HTML-only upstream answered {content_type}");
        assert!(body.contains(&format!("#sha256={lie}\"")), "{body}");
        let (_, _, body) = get(&json_only.project_url("tampered"), JSON_TYPE).await;
        assert_eq!(serde_json::from_str::<Value>(&body).expect("JSON")["files"][0]["hashes"]["sha256"], lie.as_str());
        assert_eq!(get(&json_only.project_url("tampered"), "text/html").await.0, 406);
    });
    assert_eq!(html_only.served()[0].accept, JSON_TYPE);
}

#[test]
fn dropping_the_upstream_frees_its_port() {
    let upstream = LocalUpstream::start(Vec::new());
    let addr = upstream.origin.trim_start_matches("http://").to_string();
    drop(upstream);
    assert!(std::net::TcpStream::connect(&addr).is_err(), "{addr} still accepts connections");
}
