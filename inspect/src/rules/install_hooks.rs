//! Install-time code: what runs when the package is built or installed,
//! before anyone imports it. `setup.py` runs on every sdist build; `.pth`
//! files in site-packages run their `import` lines at every Python start.

use crate::finding::{Finding, Severity};
use crate::report::{Dist, DistKind};
use crate::rules::finding;

/// Line prefixes and calls that mean a setup.py does more than declare metadata.
const ACTIVE_SETUP_MARKERS: [&str; 16] = [
    "import os", "import subprocess", "import socket", "import urllib", "import requests", "import base64", "import zlib",
    "import ctypes", "from os ", "from subprocess", "from urllib", "exec(", "eval(", "os.system", "__import__(", "getattr(__builtins__",
];

pub fn setup_py(dist: &Dist, out: &mut Vec<Finding>) {
    if dist.kind != DistKind::Sdist {
        return;
    }
    let path = format!("{}setup.py", dist.root);
    let Some(member) = dist.archive.member(&path) else { return };
    let text = String::from_utf8_lossy(&member.content);
    let active = text.lines().enumerate().find(|(_, line)| {
        let t = line.trim_start();
        !t.starts_with('#') && ACTIVE_SETUP_MARKERS.iter().any(|m| t.contains(m))
    });
    out.push(match active {
        Some((i, line)) => finding(
            "install-hook/setup-py",
            Severity::High,
            &path,
            Some((i as u32 + 1, line)),
            "setup.py runs when the sdist is built and does more than call setup(): it reaches for the system, network or dynamic code".into(),
        ),
        None => finding(
            "install-hook/setup-py",
            Severity::Medium,
            &path,
            None,
            "setup.py runs with the installing user's rights when the sdist is built".into(),
        ),
    });
}

pub fn pth_files(dist: &Dist, out: &mut Vec<Finding>) {
    if !matches!(dist.kind, DistKind::Wheel | DistKind::Egg) {
        return;
    }
    for member in dist.archive.members.iter().filter(|m| m.path.ends_with(".pth")) {
        let text = String::from_utf8_lossy(&member.content);
        let import = text.lines().enumerate().find(|(_, l)| {
            let t = l.trim_start();
            t.starts_with("import ") || t.starts_with("import\t")
        });
        out.push(match import {
            Some((i, line)) => finding(
                "install-hook/pth-file",
                Severity::High,
                &member.path,
                Some((i as u32 + 1, line)),
                "this .pth line is executed by every Python interpreter start once the wheel is installed".into(),
            ),
            None => finding(
                "install-hook/pth-file",
                Severity::Medium,
                &member.path,
                None,
                "the wheel installs a .pth file, which extends sys.path for every interpreter".into(),
            ),
        });
    }
}
