//! What a distribution declares it needs, read without running anything:
//! the wheel's `Requires-Dist` (METADATA), or the sdist's (PKG-INFO, else
//! `[project]` in pyproject.toml), and the sdist's build requirements
//! (`[build-system] requires`, PEP 518, or the PEP 517 fallback when the
//! sdist has no such table). Only those few files are read.

use std::io::{Read, Seek};

use crate::archive::{Keep, Limits};
use crate::metadata::CoreMetadata;
use crate::report::{classify, read_distribution_from, DistKind};

/// What pip installs to build an sdist that declares nothing (PEP 517's
/// fallback to the setuptools legacy backend).
pub const FALLBACK_BUILD_REQUIRES: &str = "setuptools>=40.8.0";

/// Largest metadata file read.
const MAX_METADATA_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Declared {
    /// Runtime requirements, as written (markers and extras included).
    pub requires_dist: Vec<String>,
    /// Build requirements (sdists only; empty for wheels).
    pub build_requires: Vec<String>,
    /// Where the runtime requirements were read from, for messages.
    pub source: Option<String>,
}

/// Metadata files at the top of a wheel or an sdist.
fn wanted(path: &str) -> bool {
    let mut parts = path.split('/');
    let (Some(top), Some(name), None) = (parts.next(), parts.next(), parts.next()) else { return false };
    (top.ends_with(".dist-info") && name == "METADATA") || name == "PKG-INFO" || name == "pyproject.toml"
}

/// Read the requirements `filename` declares from `source`; None when the
/// file is not a distribution or its archive cannot be read.
pub fn declared<R: Read + Seek>(filename: &str, source: R, limits: &Limits) -> Option<Declared> {
    let kind = classify(filename).0;
    let archive = read_distribution_from(filename, source, limits, Keep::Matching { wanted, max_bytes: MAX_METADATA_BYTES })?;
    let text = |pred: &dyn Fn(&str) -> bool| {
        archive.members.iter().find(|m| pred(&m.path) && !m.truncated).map(|m| (m.path.clone(), String::from_utf8_lossy(&m.content).into_owned()))
    };
    match kind {
        DistKind::Wheel => {
            let (path, meta) = text(&|p| p.ends_with(".dist-info/METADATA"))?;
            Some(Declared { requires_dist: CoreMetadata::parse(meta.as_bytes()).requires_dist, build_requires: Vec::new(), source: Some(path) })
        }
        DistKind::Sdist => {
            let pyproject = text(&|p| p.ends_with("/pyproject.toml"));
            let doc = pyproject.as_ref().and_then(|(_, t)| t.parse::<toml::Table>().ok());
            let build_requires = match doc.as_ref().and_then(|d| d.get("build-system")).and_then(|b| b.as_table()) {
                Some(table) => strings(table.get("requires")),
                None => vec![FALLBACK_BUILD_REQUIRES.to_string()],
            };
            let pkg_info = text(&|p| p.ends_with("/PKG-INFO"));
            let from_pkg_info =
                pkg_info.as_ref().map(|(path, t)| (path.clone(), CoreMetadata::parse(t.as_bytes()).requires_dist)).filter(|(_, r)| !r.is_empty());
            let (source, requires_dist) = match from_pkg_info {
                Some((path, reqs)) => (Some(path), reqs),
                None => match doc.as_ref().and_then(|d| d.get("project")).and_then(|p| p.as_table()) {
                    Some(project) => (pyproject.as_ref().map(|(p, _)| p.clone()), project_requirements(project)),
                    None => (pkg_info.map(|(p, _)| p), Vec::new()),
                },
            };
            Some(Declared { requires_dist, build_requires, source })
        }
        DistKind::Egg | DistKind::Unknown => None,
    }
}

/// `[project] dependencies`, and each optional-dependencies group as
/// requirements under `extra == "group"`, as a build would write them.
fn project_requirements(project: &toml::Table) -> Vec<String> {
    let mut out = strings(project.get("dependencies"));
    if let Some(groups) = project.get("optional-dependencies").and_then(|g| g.as_table()) {
        for (extra, reqs) in groups {
            for r in strings(Some(reqs)) {
                out.push(match r.split_once(';') {
                    Some((req, marker)) => format!("{}; ({}) and extra == \"{extra}\"", req.trim(), marker.trim()),
                    None => format!("{}; extra == \"{extra}\"", r.trim()),
                });
            }
        }
    }
    out
}

fn strings(value: Option<&toml::Value>) -> Vec<String> {
    value.and_then(|v| v.as_array()).map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};

    fn zip(files: &[(&str, &str)]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, body) in files {
            w.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
            w.write_all(body.as_bytes()).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn tar_gz(files: &[(&str, &str)]) -> Vec<u8> {
        let mut b = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
        for (name, body) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(body.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, body.as_bytes()).unwrap();
        }
        b.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn a_wheel_declares_its_requires_dist() {
        let w = zip(&[
            ("demo/__init__.py", "x = 1\n"),
            (
                "demo-1.0.dist-info/METADATA",
                "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nRequires-Dist: lib>=2\nRequires-Dist: extra-thing; extra == \"x\"\n",
            ),
        ]);
        let d = declared("demo-1.0-py3-none-any.whl", Cursor::new(w), &Limits::default()).unwrap();
        assert_eq!(d.requires_dist, ["lib>=2", "extra-thing; extra == \"x\""]);
        assert!(d.build_requires.is_empty());
    }

    #[test]
    fn an_sdist_declares_build_requirements_or_gets_the_fallback() {
        let with = tar_gz(&[
            ("demo-1.0/PKG-INFO", "Metadata-Version: 2.2\nName: demo\nVersion: 1.0\nRequires-Dist: lib\n"),
            ("demo-1.0/pyproject.toml", "[build-system]\nrequires = [\"flit_core>=3.2\"]\nbuild-backend = \"flit_core.buildapi\"\n"),
        ]);
        let d = declared("demo-1.0.tar.gz", Cursor::new(with), &Limits::default()).unwrap();
        assert_eq!((d.requires_dist.as_slice(), d.build_requires.as_slice()), (&["lib".to_string()][..], &["flit_core>=3.2".to_string()][..]));
        let legacy =
            tar_gz(&[("demo-1.0/PKG-INFO", "Metadata-Version: 1.1\nName: demo\nVersion: 1.0\n"), ("demo-1.0/setup.py", "from setuptools import setup\n")]);
        let d = declared("demo-1.0.tar.gz", Cursor::new(legacy), &Limits::default()).unwrap();
        assert_eq!(d.build_requires, [FALLBACK_BUILD_REQUIRES]);
        assert!(d.requires_dist.is_empty());
    }

    #[test]
    fn an_sdist_without_requires_dist_falls_back_to_its_project_table() {
        let s = tar_gz(&[
            ("demo-1.0/PKG-INFO", "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"),
            (
                "demo-1.0/pyproject.toml",
                "[project]\nname = \"demo\"\ndependencies = [\"lib>=1\"]\n[project.optional-dependencies]\nfast = [\"speed; os_name == 'posix'\", \"turbo\"]\n",
            ),
        ]);
        let d = declared("demo-1.0.tar.gz", Cursor::new(s), &Limits::default()).unwrap();
        assert_eq!(d.requires_dist, ["lib>=1", "speed; (os_name == 'posix') and extra == \"fast\"", "turbo; extra == \"fast\""]);
        assert_eq!(d.build_requires, [FALLBACK_BUILD_REQUIRES], "a pyproject.toml without [build-system] falls back too");
    }
}
