//! Backup and restore of a whole instance: `airlock backup` while the
//! server runs, `airlock restore` into a new data folder, and the restored
//! instance serves the same approved files to a real pip, with the same
//! decisions, users and append-only audit log.

mod support;

use support::airlock::{pip_install, Airlock};
use support::browser::Browser;
use support::{LocalUpstream, Package, UpstreamFile};

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_restores_to_an_instance_with_the_same_approvals_and_audit_log() {
    let pkg = Package::new("kept-lib", "1.0");
    let wheel = pkg.wheel();
    let upstream = LocalUpstream::start(vec![UpstreamFile::new("kept-lib", wheel.clone()), UpstreamFile::new("kept-lib", pkg.sdist())]);
    let mut original = Airlock::new();
    let auditor = original.user_with_token("alice", "auditor");
    original.add_user("root", "admin", "correct horse battery");
    original.serve(Some(&upstream.base_url));
    assert_eq!(original.request(&auditor, "kept-lib==1.0").await.status(), 202);
    let r = original.wait_for(&auditor, "kept-lib", "1.0", &["awaiting_review", "failed"]).await;
    assert_eq!(r["status"], "awaiting_review", "{r}");
    let resp = original.decide(&auditor, "kept-lib", "1.0", "approve", "read every line").await;
    assert_eq!(resp.status(), 200);

    // Taken while the server runs.
    let backup = tempfile::tempdir().unwrap();
    let dest = backup.path().join("snapshot");
    let out = original.run_cli(&["backup", dest.to_str().unwrap()], None);
    // The pure wheel fits every target, so the sdist is not mirrored (mirror_sdists = "needed").
    assert!(out.contains(" 2 blobs"), "the wheel and its METADATA: {out}");
    let before = original.release(&auditor, "kept-lib", "1.0").await;
    drop(original);

    let mut restored = Airlock::new();
    let out = restored.run_cli(&["restore", dest.to_str().unwrap()], None);
    assert!(out.contains("the database and the blob store agree"), "{out}");
    restored.serve(None);

    let after = restored.release(&auditor, "kept-lib", "1.0").await;
    assert_eq!(after["status"], "approved");
    assert_eq!(after["decisions"], before["decisions"], "decisions differ after restore");
    assert_eq!(after["files"], before["files"]);
    let target = tempfile::tempdir().unwrap();
    let run = pip_install(&restored.simple_url(), target.path(), &["kept-lib==1.0"]);
    assert!(run.success, "pip could not install from the restored instance: {}", run.output);

    // Users (with their passwords) and the audit log came along.
    let mut admin = Browser::new(&restored.base);
    assert_eq!(admin.login("root", "correct horse battery").await, 303);
    let (_, audit) = admin.get("/audit").await;
    assert!(audit.contains("read every line"), "the approval is missing from the restored audit log");

    // Restoring over an instance that exists is refused.
    let refused = restored.cli().args(["restore", dest.to_str().unwrap()]).output().unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("restore only into a new instance"), "{}", String::from_utf8_lossy(&refused.stderr));
}
