//! The test support itself: the fixture wheels and sdists are well-formed
//! (a valid zip whose RECORD matches, an sdist that untars), and the local
//! upstream serves JSON and HTML and lies about hashes when told to.
//!
//! The unit checks live beside the code, in `support/fixtures/tests.rs` and
//! `support/upstream/tests.rs`; this file is the binary that runs them on their
//! own, without starting Airlock. The stories below use the re-exports the
//! way the end-to-end tests do.

mod support;

use support::{sha256_hex, LocalUpstream, Package, UpstreamFile, UpstreamOptions};

#[tokio::test]
async fn a_fixture_package_round_trips_through_the_local_upstream() {
    let pkg = Package::new("selftest-pkg", "2.1");
    let (wheel, sdist) = (pkg.wheel(), pkg.sdist());
    let upstream = LocalUpstream::start(vec![UpstreamFile::new("selftest-pkg", wheel.clone()), UpstreamFile::new("selftest-pkg", sdist.clone())]);
    for (filename, bytes) in [&wheel, &sdist] {
        let got = reqwest::get(upstream.file_url(filename)).await.expect("download").bytes().await.expect("bytes");
        assert_eq!(sha256_hex(&got), sha256_hex(bytes), "{filename}");
    }
    assert_eq!(upstream.requests().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_html_only_upstream_answers_a_json_request_with_html() {
    let pkg = Package::new("html-only", "0.3");
    let upstream = LocalUpstream::start_with(vec![UpstreamFile::new("html-only", pkg.wheel())], UpstreamOptions { json: false, html: true });
    let resp = reqwest::Client::new()
        .get(upstream.project_url("html_only"))
        .header("accept", "application/vnd.pypi.simple.v1+json, text/html;q=0.01")
        .send()
        .await
        .expect("GET");
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let body = resp.text().await.unwrap();
    assert!(body.contains("html_only-0.3-py3-none-any.whl</a>"), "{body}");
}
