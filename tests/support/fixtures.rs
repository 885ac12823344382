//! Real, pip-installable Python distributions built in memory for tests: a
//! PEP 427 wheel (with a correct RECORD) and a PEP 625 sdist.

use std::io::Write;

use sha2::Digest;

pub struct PyFile {
    pub path: String,
    pub content: Vec<u8>,
}

pub struct Package {
    pub name: String,
    pub version: String,
    pub summary: String,
    pub requires_dist: Vec<String>,
    pub requires_python: Option<String>,
    pub modules: Vec<PyFile>,
    pub extra_wheel_files: Vec<PyFile>,
    pub setup_py: Option<String>,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

/// PEP 427 escaping of a distribution name: runs of `-_.` become `_`, lowercased.
pub fn wheel_name(name: &str) -> String {
    let mut out = String::new();
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !sep {
                out.push('_');
            }
            sep = true;
        } else {
            out.push(c.to_ascii_lowercase());
            sep = false;
        }
    }
    out
}

/// urlsafe base64 without padding, as RECORD uses.
pub fn b64_urlsafe_nopad(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

impl Package {
    /// One module, `<import name>/__init__.py`, with `__version__` and `hello()`.
    pub fn new(name: &str, version: &str) -> Package {
        let import = wheel_name(name);
        let init = format!("__version__ = \"{version}\"\n\n\ndef hello():\n    return \"hello from {name}\"\n");
        Package {
            name: name.to_string(),
            version: version.to_string(),
            summary: format!("The {name} test package"),
            requires_dist: Vec::new(),
            requires_python: Some(">=3.8".into()),
            modules: vec![PyFile { path: format!("{import}/__init__.py"), content: init.into_bytes() }],
            extra_wheel_files: Vec::new(),
            setup_py: None,
        }
    }

    fn metadata(&self) -> String {
        let mut m = format!("Metadata-Version: 2.1\nName: {}\nVersion: {}\nSummary: {}\n", self.name, self.version, self.summary);
        if let Some(rp) = &self.requires_python {
            m.push_str(&format!("Requires-Python: {rp}\n"));
        }
        for r in &self.requires_dist {
            m.push_str(&format!("Requires-Dist: {r}\n"));
        }
        m
    }

    /// `(filename, bytes)` of a `py3-none-any` wheel.
    pub fn wheel(&self) -> (String, Vec<u8>) {
        let dist = format!("{}-{}", wheel_name(&self.name), self.version);
        let info = format!("{dist}.dist-info");
        let mut files: Vec<(String, Vec<u8>)> = self.modules.iter().map(|f| (f.path.clone(), f.content.clone())).collect();
        files.extend(self.extra_wheel_files.iter().map(|f| (f.path.clone(), f.content.clone())));
        files.push((format!("{info}/METADATA"), self.metadata().into_bytes()));
        files.push((
            format!("{info}/WHEEL"),
            b"Wheel-Version: 1.0\nGenerator: airlock-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n".to_vec(),
        ));
        let mut record = String::new();
        for (path, content) in &files {
            record.push_str(&format!("{path},sha256={},{}\n", b64_urlsafe_nopad(&sha2::Sha256::digest(content)), content.len()));
        }
        record.push_str(&format!("{info}/RECORD,,\n"));
        files.push((format!("{info}/RECORD"), record.into_bytes()));

        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (path, content) in &files {
            zip.start_file(path.as_str(), options).expect("zip entry");
            zip.write_all(content).expect("zip write");
        }
        let bytes = zip.finish().expect("zip finish").into_inner();
        (format!("{dist}-py3-none-any.whl"), bytes)
    }

    /// `(filename, bytes)` of a `.tar.gz` sdist with PKG-INFO, pyproject.toml and setup.py.
    pub fn sdist(&self) -> (String, Vec<u8>) {
        let dist = format!("{}-{}", wheel_name(&self.name), self.version);
        let mut files: Vec<(String, Vec<u8>)> = vec![
            ("PKG-INFO".into(), self.metadata().into_bytes()),
            (
                "pyproject.toml".into(),
                b"[build-system]\nrequires = [\"setuptools>=61\"]\nbuild-backend = \"setuptools.build_meta\"\n".to_vec(),
            ),
            ("setup.py".into(), self.setup_py.clone().unwrap_or_else(|| "from setuptools import setup\nsetup()\n".into()).into_bytes()),
        ];
        files.extend(self.modules.iter().map(|f| (f.path.clone(), f.content.clone())));
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        for (path, content) in &files {
            let mut header = tar::Header::new_gnu();
            header.set_size(content.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(1_700_000_000);
            header.set_cksum();
            tar.append_data(&mut header, format!("{dist}/{path}"), content.as_slice()).expect("tar entry");
        }
        let bytes = tar.into_inner().expect("tar finish").finish().expect("gzip finish");
        (format!("{dist}.tar.gz"), bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_known_values() {
        assert_eq!(b64_urlsafe_nopad(b""), "");
        assert_eq!(b64_urlsafe_nopad(b"f"), "Zg");
        assert_eq!(b64_urlsafe_nopad(b"fo"), "Zm8");
        assert_eq!(b64_urlsafe_nopad(b"foo"), "Zm9v");
        assert_eq!(b64_urlsafe_nopad(&[0xfb, 0xff]), "-_8");
    }
}
