//! Real, pip-installable Python distributions built in memory for tests: a
//! PEP 427 wheel with a correct RECORD, and a PEP 625 sdist that setuptools
//! can build.
//!
//! The archives are byte-for-byte deterministic (fixed timestamps, fixed
//! order), so the same `Package` always hashes the same. The metadata is
//! written verbatim and never cleaned up: a test may put hostile text in a
//! summary or a requirement on purpose, and it must reach Airlock as written.
//! Tests that need a malformed *archive* (duplicate names, path traversal)
//! build it themselves; this module only makes well-formed ones.

use std::io::Write;

use sha2::{Digest, Sha256};

/// One file inside a distribution, at a `/`-separated relative path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PyFile {
    pub path: String,
    pub content: Vec<u8>,
}

impl PyFile {
    pub fn new(path: impl Into<String>, content: impl Into<Vec<u8>>) -> PyFile {
        PyFile { path: path.into(), content: content.into() }
    }
}

/// A Python project release, from which a wheel and an sdist are built.
#[derive(Clone, Debug)]
pub struct Package {
    pub name: String,
    pub version: String,
    /// PEP 508 requirements, written as `Requires-Dist` lines.
    pub requires_dist: Vec<String>,
    pub requires_python: Option<String>,
    pub summary: String,
    /// Importable files, in both the wheel (at its root) and the sdist.
    pub modules: Vec<PyFile>,
    /// Files only the wheel carries, e.g. a `.pth` file or a data file.
    pub extra_wheel_files: Vec<PyFile>,
    /// The sdist's `setup.py`; `None` is a plain `setup()`.
    pub setup_py: Option<String>,
    /// The sdist's `[build-system]` (requires, backend); `None` is setuptools.
    pub build_system: Option<(Vec<String>, String)>,
}

/// Lowercase hex SHA-256 of `bytes`, as the simple API advertises it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The name as it appears in wheel and sdist filenames (PEP 427, PEP 625):
/// runs of `-`, `_` and `.` become one `_`, and letters are lowercased.
pub fn wheel_name(name: &str) -> String {
    collapse_separators(name, '_')
}

/// The PEP 503 normalized project name: runs of `-`, `_` and `.` become one
/// `-`, and letters are lowercased.
pub fn project_name(name: &str) -> String {
    collapse_separators(name, '-')
}

fn collapse_separators(name: &str, with: char) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push(with);
            }
            in_run = true;
        } else {
            out.push(c.to_ascii_lowercase());
            in_run = false;
        }
    }
    out
}

/// URL-safe base64 without padding, the encoding of RECORD hashes (PEP 376,
/// PEP 427), from the base64 crate: independent of the encoder under test.
pub fn b64_urlsafe_nopad(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The `sha256=...` value of a RECORD line.
pub fn record_hash(content: &[u8]) -> String {
    format!("sha256={}", b64_urlsafe_nopad(&Sha256::digest(content)))
}

/// A RECORD path as a CSV field: quoted only when it has to be.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn toml_list<'a>(items: impl IntoIterator<Item = &'a String>) -> String {
    let items: Vec<String> = items.into_iter().map(|s| toml_str(s)).collect();
    format!("[{}]", items.join(", "))
}

/// The default `setup.py` of an sdist: everything comes from pyproject.toml.
pub const PLAIN_SETUP_PY: &str = "from setuptools import setup\nsetup()\n";

/// Zip entries all carry this time, so wheels are reproducible.
fn zip_time() -> zip::DateTime {
    zip::DateTime::from_date_and_time(2024, 1, 1, 0, 0, 0).expect("a valid zip timestamp")
}

/// Tar entries all carry this time (2024-01-01), so sdists are reproducible.
const TAR_MTIME: u64 = 1_704_067_200;

impl Package {
    /// `name` at `version` with one module, `<import name>/__init__.py`, that
    /// has `__version__` and a `hello()` returning `"hello from <name>"`.
    pub fn new(name: &str, version: &str) -> Package {
        let import = wheel_name(name);
        let literal = name.replace('\\', "\\\\").replace('"', "\\\"");
        let init = format!("__version__ = \"{version}\"\n\n\ndef hello():\n    return \"hello from {literal}\"\n");
        Package {
            name: name.to_string(),
            version: version.to_string(),
            requires_dist: Vec::new(),
            requires_python: Some(">=3.8".into()),
            summary: format!("The {name} test package"),
            modules: vec![PyFile::new(format!("{import}/__init__.py"), init)],
            extra_wheel_files: Vec::new(),
            setup_py: None,
            build_system: None,
        }
    }

    /// Builds the sdist with `backend`, installed from `requires`.
    pub fn with_build_system(mut self, requires: &[&str], backend: &str) -> Package {
        self.build_system = Some((requires.iter().map(|r| r.to_string()).collect(), backend.to_string()));
        self
    }

    pub fn with_summary(mut self, summary: &str) -> Package {
        self.summary = summary.to_string();
        self
    }

    pub fn with_requires_dist(mut self, requirement: &str) -> Package {
        self.requires_dist.push(requirement.to_string());
        self
    }

    pub fn with_requires_python(mut self, specifier: Option<&str>) -> Package {
        self.requires_python = specifier.map(str::to_string);
        self
    }

    /// Adds a file to both distributions (or replaces the one at `path`).
    pub fn with_module(mut self, path: &str, content: impl Into<Vec<u8>>) -> Package {
        self.modules.retain(|m| m.path != path);
        self.modules.push(PyFile::new(path, content));
        self
    }

    /// Adds a file to the wheel only.
    pub fn with_wheel_file(mut self, path: &str, content: impl Into<Vec<u8>>) -> Package {
        self.extra_wheel_files.push(PyFile::new(path, content));
        self
    }

    pub fn with_setup_py(mut self, source: &str) -> Package {
        self.setup_py = Some(source.to_string());
        self
    }

    /// The top-level import name the default module uses.
    pub fn import_name(&self) -> String {
        wheel_name(&self.name)
    }

    /// `{name}-{version}` with the name escaped for filenames.
    fn dist_stem(&self) -> String {
        format!("{}-{}", wheel_name(&self.name), self.version)
    }

    pub fn wheel_filename(&self) -> String {
        format!("{}-py3-none-any.whl", self.dist_stem())
    }

    pub fn sdist_filename(&self) -> String {
        format!("{}.tar.gz", self.dist_stem())
    }

    /// The wheel's `.dist-info` folder name.
    pub fn dist_info(&self) -> String {
        format!("{}.dist-info", self.dist_stem())
    }

    /// Core metadata 2.1: METADATA in the wheel, PKG-INFO in the sdist.
    pub fn metadata(&self) -> String {
        let mut m = format!("Metadata-Version: 2.1\nName: {}\nVersion: {}\nSummary: {}\n", self.name, self.version, self.summary);
        if let Some(rp) = &self.requires_python {
            m.push_str(&format!("Requires-Python: {rp}\n"));
        }
        // Installers only honour extras a release provides (core metadata 2.1).
        let mut extras: Vec<&str> = self.requires_dist.iter().filter_map(|r| r.split("extra == \"").nth(1)?.split('"').next()).collect();
        extras.dedup();
        for e in extras {
            m.push_str(&format!("Provides-Extra: {e}\n"));
        }
        for r in &self.requires_dist {
            m.push_str(&format!("Requires-Dist: {r}\n"));
        }
        m
    }

    /// Every member of the wheel, RECORD last, in archive order.
    pub fn wheel_members(&self) -> Vec<PyFile> {
        let info = self.dist_info();
        let mut files: Vec<PyFile> = self.modules.iter().chain(&self.extra_wheel_files).cloned().collect();
        files.push(PyFile::new(format!("{info}/METADATA"), self.metadata()));
        files.push(PyFile::new(format!("{info}/WHEEL"), "Wheel-Version: 1.0\nGenerator: airlock-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"));
        let mut record = String::new();
        for f in &files {
            record.push_str(&format!("{},{},{}\n", csv_field(&f.path), record_hash(&f.content), f.content.len()));
        }
        // RECORD cannot hash itself: its own line has empty hash and size.
        record.push_str(&format!("{},,\n", csv_field(&format!("{info}/RECORD"))));
        files.push(PyFile::new(format!("{info}/RECORD"), record));
        files
    }

    /// `(filename, bytes)` of a deflated `py3-none-any` wheel.
    pub fn wheel(&self) -> (String, Vec<u8>) {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip_time())
            .unix_permissions(0o644);
        for f in self.wheel_members() {
            zip.start_file(f.path.as_str(), options).unwrap_or_else(|e| panic!("zip entry {}: {e}", f.path));
            zip.write_all(&f.content).expect("write to an in-memory zip");
        }
        let bytes = zip.finish().expect("finish an in-memory zip").into_inner();
        (self.wheel_filename(), bytes)
    }

    /// `(filename, bytes)` of a wheel tagged `tag` (`cp312-cp312-linux_x86_64`)
    /// that also carries `pads` zero-filled data files of `pad_bytes` each
    /// (`<import name>/pad_NN.bin`): a few KB to download, huge unpacked.
    /// The zeros are deflated once and the compressed entry copied, so the
    /// build costs one compression whatever `pads` is.
    pub fn padded_wheel(&self, tag: &str, pads: usize, pad_bytes: usize) -> (String, Vec<u8>) {
        let zeros = vec![0u8; pad_bytes];
        let pad_paths: Vec<String> = (0..pads).map(|i| format!("{}/pad_{i:02}.bin", self.import_name())).collect();
        let mut members = self.wheel_members();
        let mut record = String::from_utf8(members.pop().expect("RECORD is the last member").content).expect("RECORD is text");
        let own_line = format!("{},,\n", csv_field(&format!("{}/RECORD", self.dist_info())));
        record.truncate(record.len() - own_line.len());
        for p in &pad_paths {
            record.push_str(&format!("{},{},{pad_bytes}\n", csv_field(p), record_hash(&zeros)));
        }
        record.push_str(&own_line);

        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip_time())
            .unix_permissions(0o644);
        for f in members {
            zip.start_file(f.path.as_str(), options).unwrap_or_else(|e| panic!("zip entry {}: {e}", f.path));
            zip.write_all(&f.content).expect("write to an in-memory zip");
        }
        if let Some((first, rest)) = pad_paths.split_first() {
            zip.start_file(first.as_str(), options).expect("zip entry for the first pad");
            zip.write_all(&zeros).expect("write to an in-memory zip");
            for p in rest {
                zip.deep_copy_file(first, p).unwrap_or_else(|e| panic!("copy the pad to {p}: {e}"));
            }
        }
        zip.start_file(format!("{}/RECORD", self.dist_info()), options).expect("zip entry for RECORD");
        zip.write_all(record.as_bytes()).expect("write to an in-memory zip");
        let bytes = zip.finish().expect("finish an in-memory zip").into_inner();
        (format!("{}-{tag}.whl", self.dist_stem()), bytes)
    }

    /// pyproject.toml for setuptools, declaring the same metadata as PKG-INFO
    /// and listing the packages explicitly, so building it needs no discovery.
    pub fn pyproject_toml(&self) -> String {
        let mut packages: Vec<String> = Vec::new();
        let mut py_modules: Vec<String> = Vec::new();
        for m in self.modules.iter().filter(|m| m.path.ends_with(".py")) {
            let parts: Vec<&str> = m.path.split('/').collect();
            if parts.len() == 1 {
                py_modules.push(m.path.trim_end_matches(".py").to_string());
            }
            for depth in 1..parts.len() {
                packages.push(parts[..depth].join("."));
            }
        }
        packages.sort();
        packages.dedup();
        py_modules.sort();
        py_modules.dedup();

        let mut t = match &self.build_system {
            Some((requires, backend)) => format!("[build-system]\nrequires = {}\nbuild-backend = {}\n\n[project]\n", toml_list(requires), toml_str(backend)),
            None => String::from("[build-system]\nrequires = [\"setuptools>=61\"]\nbuild-backend = \"setuptools.build_meta\"\n\n[project]\n"),
        };
        t.push_str(&format!("name = {}\nversion = {}\ndescription = {}\n", toml_str(&self.name), toml_str(&self.version), toml_str(&self.summary)));
        if let Some(rp) = &self.requires_python {
            t.push_str(&format!("requires-python = {}\n", toml_str(rp)));
        }
        t.push_str(&format!("dependencies = {}\n", toml_list(&self.requires_dist)));
        t.push_str(&format!("\n[tool.setuptools]\npackages = {}\npy-modules = {}\n", toml_list(&packages), toml_list(&py_modules)));
        t
    }

    /// Every member of the sdist, relative to its top folder.
    pub fn sdist_members(&self) -> Vec<PyFile> {
        let mut files = vec![
            PyFile::new("PKG-INFO", self.metadata()),
            PyFile::new("pyproject.toml", self.pyproject_toml()),
            PyFile::new("setup.py", self.setup_py.as_deref().unwrap_or(PLAIN_SETUP_PY)),
        ];
        files.extend(self.modules.iter().cloned());
        files
    }

    /// `(filename, bytes)` of a `.tar.gz` sdist whose members sit under
    /// `{name}-{version}/`.
    pub fn sdist(&self) -> (String, Vec<u8>) {
        let top = self.dist_stem();
        // GzEncoder::new writes a zero mtime into the gzip header.
        let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default()));
        for f in self.sdist_members() {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(tar::EntryType::Regular);
            header.set_size(f.content.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(TAR_MTIME);
            header.set_uid(0);
            header.set_gid(0);
            let path = format!("{top}/{}", f.path);
            tar.append_data(&mut header, &path, f.content.as_slice()).unwrap_or_else(|e| panic!("tar entry {path}: {e}"));
        }
        let gz = tar.into_inner().expect("finish an in-memory tar");
        let bytes = gz.finish().expect("finish an in-memory gzip");
        (self.sdist_filename(), bytes)
    }
}

#[cfg(test)]
mod tests;
